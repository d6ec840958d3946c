// The search benchmark's query mix (tools/bench/bench_query.h).
#include "tools/bench/bench_query.h"

#include <unordered_map>

#include "base/time_format.h"
#include "node/text_fold.h"

namespace tcd::bench {
namespace {

constexpr int64_t kDayUs = 86400 * int64_t{1000000};
constexpr int64_t kVietnamUs = 7 * 3600 * int64_t{1000000};

// The first instant (UTC µs) of the Vietnamese calendar month holding `t`, and of the next one.
std::pair<int64_t, int64_t> MonthOf(int64_t t) {
  int64_t z = (t + kVietnamUs) / kDayUs + 719468;  // H. Hinnant's civil_from_days
  const int64_t era = z / 146097, doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
  const int64_t day_of_month = doy - (153 * mp + 2) / 5;  // 0-based
  const int64_t start_day = (t + kVietnamUs) / kDayUs - day_of_month;
  const int64_t m = mp < 10 ? mp + 3 : mp - 9;
  static const int kLen[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int64_t len = kLen[m - 1];
  const int64_t y = yoe + era * 400 + (m <= 2);
  if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) len = 29;
  return {start_day * kDayUs - kVietnamUs, (start_day + len) * kDayUs - kVietnamUs};
}

// Typed the way archivists do: half with diacritics, half without.
std::string AsTyped(Rng& r, const std::string& s) { return r.Chance(0.5) ? s : node::FoldText(s); }

}  // namespace

const char* KindName(Kind k) {
  static const char* const kNames[kKinds] = {
      "point_90d", "province_month", "case",        "type_province", "name_text",
      "two_words_type", "participant_year", "conference", "rare_word", "common_word"};
  return kNames[static_cast<int>(k)];
}

const char* KindTitle(Kind k) {
  static const char* const kTitles[kKinds] = {
      "point + last 90 days",  "province + one month", "exact case number",
      "type + province",       "full name, no accents", "two words + type",
      "participant + one year", "conference id",       "rare word (1 hit)",
      "common word, first 50"};
  return kTitles[static_cast<int>(k)];
}

std::string Describe(const BenchQuery& b) {
  const auto& q = b.q;
  std::string s;
  auto add = [&](const char* opt, const std::string& v) {
    if (!v.empty()) s += std::string(s.empty() ? "" : " ") + opt + " '" + v + "'";
  };
  add("--text", q.text);
  add("--point", q.point);
  add("--province", q.province);
  add("--case", q.case_number);
  add("--type", q.type);
  add("--chair", q.chair);
  add("--participant", q.participant);
  add("--conference", q.conference);
  if (q.from_us) add("--from", FormatUtc(*q.from_us));
  if (q.to_us) add("--to", FormatUtc(*q.to_us));
  return s + " --limit " + std::to_string(q.limit);
}

std::vector<BenchQuery> MakeQueries(const Dataset& d, Kind k, size_t count, uint64_t stream) {
  Rng r(SubSeed(d.params.seed, 100 + stream, static_cast<uint64_t>(k)));
  const auto& ss = d.sessions;
  std::vector<size_t> pool;  // sessions a query of this kind can start from
  if (k == Kind::kConference || k == Kind::kRareWord || k == Kind::kCase) {
    std::unordered_map<std::string, int> cccd_count;
    if (k == Kind::kRareWord)
      for (const auto& s : ss)
        if (!s.cccd.empty()) ++cccd_count[s.cccd];
    for (size_t i = 0; i < ss.size(); ++i) {
      if (k == Kind::kConference && !ss[i].conference.empty()) pool.push_back(i);
      if (k == Kind::kRareWord && !ss[i].cccd.empty() && cccd_count[ss[i].cccd] == 1)
        pool.push_back(i);
      if (k == Kind::kCase && !ss[i].annotation.empty() && ss[i].annotation[0].first == "case")
        pool.push_back(i);  // amended case numbers: one query in ten
    }
  }
  if (pool.empty() && (k == Kind::kConference || k == Kind::kRareWord)) return {};
  static const char* const kCommon[] = {"nguyen", "van", "thi", "tran", "le", "dat", "cong dan"};
  std::vector<BenchQuery> out;
  for (size_t n = 0; n < count; ++n) {
    BenchQuery b{k, {}};
    node::SearchQuery& q = b.q;
    const bool from_pool = !pool.empty() && (k != Kind::kCase || r.Chance(0.1));
    const Session& s = from_pool ? ss[pool[r.Below(pool.size())]] : ss[r.Below(ss.size())];
    const Point& pt = d.points[s.point];
    switch (k) {
      case Kind::kPointRecent:
        q.point = pt.id;
        q.from_us = d.end_us - 90 * kDayUs;
        break;
      case Kind::kProvinceMonth: {
        q.province = AsTyped(r, d.provinces[pt.province]);
        auto [from, to] = MonthOf(s.start_us);
        q.from_us = from;
        q.to_us = to;
        break;
      }
      case Kind::kCase:
        q.case_number = from_pool ? s.annotation[0].second : s.case_no;
        break;
      case Kind::kTypeProvince:
        q.type = kTypes[s.type];
        q.province = AsTyped(r, d.provinces[pt.province]);
        break;
      case Kind::kNameText:
        q.text = node::FoldText(r.Chance(0.8) ? s.participants[r.Below(s.participants.size())]
                                              : s.chair);
        break;
      case Kind::kTwoWordsType: {
        std::vector<std::string> w = node::FoldWords(s.note);
        const std::string a = w[r.Below(w.size())];
        std::string b2 = w[r.Below(w.size())];
        for (int tries = 0; b2 == a && tries < 10; ++tries) b2 = w[r.Below(w.size())];
        q.text = a + " " + b2;
        q.type = kTypes[s.type];
        break;
      }
      case Kind::kParticipantYear:
        q.participant = AsTyped(r, s.participants[r.Below(s.participants.size())]);
        q.from_us = s.start_us - r.Range(0, 364) * kDayUs;
        q.to_us = *q.from_us + 365 * kDayUs;
        break;
      case Kind::kConference:
        q.conference = s.conference;
        break;
      case Kind::kRareWord:
        q.text = s.cccd;
        break;
      case Kind::kCommonWord:
        q.text = kCommon[r.Below(std::size(kCommon))];
        break;
    }
    q.limit = 50;
    out.push_back(std::move(b));
  }
  return out;
}

}  // namespace tcd::bench
