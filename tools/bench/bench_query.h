// The search benchmark's query mix (tools/bench/search_bench.cc): ten kinds of what archivists
// ask, with parameters drawn from the generated data, as the SearchQuery `tcd search` would
// send to Catalog::Search. The SQLite side (bench_sqlite.h) answers the same queries.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "node/search.h"
#include "tools/bench/bench_data.h"

namespace tcd::bench {

enum class Kind : int {
  kPointRecent = 0,   // --point P --from (now − 90 days)
  kProvinceMonth,     // --province V --from/--to one month
  kCase,              // --case KN-2024/00017
  kTypeProvince,      // --type T --province V
  kNameText,          // --text "nguyen van an" (a full name without diacritics)
  kTwoWordsType,      // --text "w1 w2" --type T
  kParticipantYear,   // --participant NAME --from/--to one year
  kConference,        // --conference HNTT-2024/00123
  kRareWord,          // --text 079203004512 (a citizen id number: one session)
  kCommonWord,        // --text nguyen (a common family name), first 50
};
constexpr int kKinds = 10;
const char* KindName(Kind k);  // "point+90d", …
const char* KindTitle(Kind k);  // "point + last 90 days", …

struct BenchQuery {
  Kind kind;
  node::SearchQuery q;
};
std::string Describe(const BenchQuery& b);  // the equivalent `tcd search` options

// `count` queries of kind `k`; `stream` separates warm-up from timed sets.
std::vector<BenchQuery> MakeQueries(const Dataset& d, Kind k, size_t count, uint64_t stream);

}  // namespace tcd::bench
