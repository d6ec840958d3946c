// The search benchmark's reference engine: the same sessions in SQLite with FTS5, laid out as a
// competent DBA would for the benchmark's queries (tools/bench/bench_query.h).
//
//   sessions(id BLOB PRIMARY KEY, start_us, point, province, case_no, type, chair, conference,
//            state, duration_us, meta)  rowid = rank in (start_us, id) order, so rowid order
//            is time order; point, province, case_no, type, conference hold the folded value
//            (node/text_fold.h), the form both engines compare; meta = every metadata pair
//            (MetaBody), as a search hit carries it.
//            Indexes (point,start_us) (province,start_us) (province,type,start_us) (case_no)
//            (type,start_us) (conference) (start_us).
//   amended(rid, key, value)          whole-value fields added by annotations (a case number
//                                     amended later still finds the session, as in tcd)
//   text_fts(text, chair)             FTS5, contentless, unicode61, detail=column: text = every
//                                     metadata value and annotation, folded
//   participant_fts(name)             FTS5, one row per participant (rowid = rid·8 + k): tcd
//                                     matches a participant's words within one participant
//
// Not thread-safe.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "crypto/session_crypto.h"
#include "tools/bench/bench_data.h"
#include "tools/bench/bench_query.h"

struct sqlite3;
struct sqlite3_stmt;

namespace tcd::bench {

class SqliteIndex {
 public:
  // Opens (creating) the database at `path` with a 256 MiB page cache, 1 GiB mmap and WAL.
  static Result<std::unique_ptr<SqliteIndex>> Open(const std::string& path);
  ~SqliteIndex();

  // Drops everything and loads `d` in one transaction, then indexes, optimizes and analyzes.
  Status Build(const Dataset& d);
  // The ids of the sessions matching `q`, newest first, at most q.q.limit; the other columns
  // (start, point, province, case, type, chair, state, duration, all metadata) are read too,
  // as Catalog::Search returns them.
  Result<std::vector<crypto::SessionId>> Run(const BenchQuery& q);
  // EXPLAIN QUERY PLAN of the statement for `q`'s kind, one line per step.
  std::string Plan(const BenchQuery& q);

 private:
  SqliteIndex() = default;
  Status Exec(const std::string& sql);
  Status Error(const std::string& what);
  Result<sqlite3_stmt*> Statement(Kind k);
  Status Bind(sqlite3_stmt* st, const BenchQuery& q);

  sqlite3* db_ = nullptr;
  std::vector<sqlite3_stmt*> statements_ = std::vector<sqlite3_stmt*>(kKinds, nullptr);
};

}  // namespace tcd::bench
