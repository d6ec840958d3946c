// The search benchmark's SQLite + FTS5 side (tools/bench/bench_sqlite.h).
#include "tools/bench/bench_sqlite.h"

#include <sqlite3.h>

#include <cstring>

#include "node/text_fold.h"

namespace tcd::bench {
namespace {

// Where the session is, as the catalog's cards keep it (received from its province, held here:
// node/search_index.h kPlace*), so that a row carries what a tcd result carries.
constexpr int kPlace = 0x09;

constexpr const char* kCols =
    "SELECT s.id, s.start_us, s.point, s.province, s.case_no, s.type, s.chair, s.state, "
    "s.duration_us, s.conference, s.place ";

std::string Sql(Kind k) {
  const std::string c = kCols;
  const std::string text = c +
      "FROM text_fts f JOIN sessions s ON s.rowid = f.rowid WHERE text_fts MATCH ?1 ";
  switch (k) {
    case Kind::kPointRecent:
      return c + "FROM sessions s WHERE s.point = ?1 AND s.start_us >= ?2 "
                 "ORDER BY s.start_us DESC LIMIT ?9";
    case Kind::kProvinceMonth:
      return c + "FROM sessions s WHERE s.province = ?1 AND s.start_us >= ?2 AND "
                 "s.start_us < ?3 ORDER BY s.start_us DESC LIMIT ?9";
    case Kind::kCase:
      return c + "FROM sessions s WHERE s.case_no = ?1 OR s.rowid IN (SELECT rid FROM amended "
                 "WHERE key = 'case' AND value = ?1) ORDER BY s.start_us DESC LIMIT ?9";
    case Kind::kTypeProvince:
      return c + "FROM sessions s WHERE s.province = ?1 AND s.type = ?4 "
                 "ORDER BY s.start_us DESC LIMIT ?9";
    case Kind::kTwoWordsType:
      return text + "AND s.type = ?4 ORDER BY f.rowid DESC LIMIT ?9";
    case Kind::kParticipantYear:
      // '+' keeps the planner off the start_us index: a year holds a fifth of all sessions,
      // a full name a few thousand at most.
      return c + "FROM sessions s WHERE s.rowid IN (SELECT rowid >> 3 FROM participant_fts "
                 "WHERE participant_fts MATCH ?1) AND +s.start_us >= ?2 AND +s.start_us < ?3 "
                 "ORDER BY s.start_us DESC LIMIT ?9";
    case Kind::kConference:
      return c + "FROM sessions s WHERE s.conference = ?1 ORDER BY s.start_us DESC LIMIT ?9";
    case Kind::kNameText:
    case Kind::kRareWord:
    case Kind::kCommonWord:
      return text + "ORDER BY f.rowid DESC LIMIT ?9";
  }
  return "";
}

// An FTS5 query: every folded word, quoted (so no word is read as an operator), all required;
// in `column` only, unless it is null.
std::string Match(const std::string& words, const char* column) {
  std::string m = column ? std::string(column) + " : (" : "(";
  bool first = true;
  for (const auto& w : node::FoldWords(words)) {
    m += (first ? "\"" : " \"") + w + "\"";
    first = false;
  }
  return m + ")";
}

class Stmt {  // a statement finalized on scope exit
 public:
  Stmt() = default;
  ~Stmt() { sqlite3_finalize(st_); }
  sqlite3_stmt** out() { return &st_; }
  sqlite3_stmt* get() { return st_; }

 private:
  sqlite3_stmt* st_ = nullptr;
};

}  // namespace

Result<std::unique_ptr<SqliteIndex>> SqliteIndex::Open(const std::string& path) {
  std::unique_ptr<SqliteIndex> x(new SqliteIndex());
  if (sqlite3_open(path.c_str(), &x->db_) != SQLITE_OK)
    return Status::IOError("sqlite: open " + path + ": " + sqlite3_errmsg(x->db_));
  TCD_RETURN_IF_ERROR(x->Exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; "
                              "PRAGMA cache_size = -262144; PRAGMA mmap_size = 1073741824; "
                              "PRAGMA temp_store = MEMORY"));
  return x;
}

SqliteIndex::~SqliteIndex() {
  for (auto* st : statements_) sqlite3_finalize(st);
  sqlite3_close(db_);
}

Status SqliteIndex::Error(const std::string& what) {
  return Status::IOError("sqlite: " + what + ": " + sqlite3_errmsg(db_));
}

Status SqliteIndex::Exec(const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) == SQLITE_OK) return Status::OK();
  std::string m = err ? err : "?";
  sqlite3_free(err);
  return Status::IOError("sqlite: " + m + " in: " + sql.substr(0, 200));
}

Status SqliteIndex::Build(const Dataset& d) {
  for (auto*& st : statements_) {
    sqlite3_finalize(st);
    st = nullptr;
  }
  TCD_RETURN_IF_ERROR(Exec(
      "PRAGMA synchronous = OFF;"
      "DROP TABLE IF EXISTS sessions; DROP TABLE IF EXISTS amended;"
      "DROP TABLE IF EXISTS text_fts; DROP TABLE IF EXISTS participant_fts;"
      "CREATE TABLE sessions(id BLOB PRIMARY KEY, start_us INTEGER NOT NULL, point TEXT NOT NULL,"
      " province TEXT NOT NULL, case_no TEXT NOT NULL, type TEXT NOT NULL, chair TEXT NOT NULL,"
      " conference TEXT, state INTEGER NOT NULL, duration_us INTEGER NOT NULL, meta BLOB NOT NULL,"
      " place INTEGER NOT NULL);"
      "CREATE TABLE amended(rid INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL);"
      "CREATE VIRTUAL TABLE text_fts USING fts5(text, chair, content='', detail=column,"
      " tokenize='unicode61');"
      "CREATE VIRTUAL TABLE participant_fts USING fts5(name, content='', detail=none,"
      " tokenize='unicode61');"
      "BEGIN"));
  Stmt ins_s, ins_t, ins_p, ins_a;
  auto prep = [&](const char* sql, Stmt* st) {
    return sqlite3_prepare_v2(db_, sql, -1, st->out(), nullptr) == SQLITE_OK
               ? Status::OK()
               : Error(std::string("prepare ") + sql);
  };
  TCD_RETURN_IF_ERROR(prep("INSERT INTO sessions(rowid, id, start_us, point, province, case_no,"
                           " type, chair, conference, state, duration_us, meta, place)"
                           " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)", &ins_s));
  TCD_RETURN_IF_ERROR(prep("INSERT INTO text_fts(rowid, text, chair) VALUES(?1,?2,?3)", &ins_t));
  TCD_RETURN_IF_ERROR(prep("INSERT INTO participant_fts(rowid, name) VALUES(?1,?2)", &ins_p));
  TCD_RETURN_IF_ERROR(prep("INSERT INTO amended(rid, key, value) VALUES(?1,?2,?3)", &ins_a));
  auto text = [](sqlite3_stmt* st, int i, const std::string& v) {
    sqlite3_bind_text(st, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  };
  auto step = [&](Stmt& st, const char* what) {
    int rc = sqlite3_step(st.get());
    sqlite3_reset(st.get());
    return rc == SQLITE_DONE ? Status::OK() : Error(what);
  };
  for (size_t i = 0; i < d.sessions.size(); ++i) {
    const Session& s = d.sessions[i];
    const Point& pt = d.points[s.point];
    const int64_t rid = static_cast<int64_t>(i) + 1;
    sqlite3_bind_int64(ins_s.get(), 1, rid);
    sqlite3_bind_blob(ins_s.get(), 2, s.id.data(), 16, SQLITE_TRANSIENT);
    sqlite3_bind_int64(ins_s.get(), 3, s.start_us);
    text(ins_s.get(), 4, node::FoldText(pt.id));
    text(ins_s.get(), 5, node::FoldText(d.provinces[pt.province]));
    text(ins_s.get(), 6, node::FoldText(s.case_no));
    text(ins_s.get(), 7, kTypes[s.type]);
    text(ins_s.get(), 8, s.chair);
    if (s.conference.empty()) sqlite3_bind_null(ins_s.get(), 9);
    else text(ins_s.get(), 9, node::FoldText(s.conference));
    sqlite3_bind_int(ins_s.get(), 10, static_cast<int>(s.state()));
    sqlite3_bind_int64(ins_s.get(), 11, s.media_duration_us());
    crypto::Metadata all = OpenMetadata(d, s);
    all.insert(all.end(), s.annotation.begin(), s.annotation.end());
    Bytes meta;
    crypto::EncodeMeta(all, &meta);
    sqlite3_bind_blob(ins_s.get(), 12, meta.data(), static_cast<int>(meta.size()), SQLITE_TRANSIENT);
    sqlite3_bind_int(ins_s.get(), 13, kPlace);
    TCD_RETURN_IF_ERROR(step(ins_s, "insert session"));

    std::string words, chair;
    int64_t k = 0;
    for (const auto& [key, value] : all) {
      std::string f = node::FoldText(value);
      words += (words.empty() ? "" : " ") + f;
      if (key == "chair") chair += (chair.empty() ? "" : " ") + f;
      if (key == "participant") {
        sqlite3_bind_int64(ins_p.get(), 1, rid * 8 + k++);
        text(ins_p.get(), 2, f);
        TCD_RETURN_IF_ERROR(step(ins_p, "insert participant"));
      }
    }
    for (const auto& [key, value] : s.annotation) {
      if (key != "point" && key != "province" && key != "case" && key != "type" &&
          key != "conference")
        continue;
      sqlite3_bind_int64(ins_a.get(), 1, rid);
      text(ins_a.get(), 2, key);
      text(ins_a.get(), 3, node::FoldText(value));
      TCD_RETURN_IF_ERROR(step(ins_a, "insert amendment"));
    }
    sqlite3_bind_int64(ins_t.get(), 1, rid);
    text(ins_t.get(), 2, words);
    text(ins_t.get(), 3, chair);
    TCD_RETURN_IF_ERROR(step(ins_t, "insert text"));
  }
  return Exec(
      "COMMIT;"
      "CREATE INDEX sessions_point ON sessions(point, start_us);"
      "CREATE INDEX sessions_province ON sessions(province, start_us);"
      "CREATE INDEX sessions_province_type ON sessions(province, type, start_us);"
      "CREATE INDEX sessions_case ON sessions(case_no);"
      "CREATE INDEX sessions_type ON sessions(type, start_us);"
      "CREATE INDEX sessions_conference ON sessions(conference) WHERE conference IS NOT NULL;"
      "CREATE INDEX sessions_start ON sessions(start_us);"
      "CREATE INDEX amended_value ON amended(key, value);"
      "INSERT INTO text_fts(text_fts) VALUES('optimize');"
      "INSERT INTO participant_fts(participant_fts) VALUES('optimize');"
      "ANALYZE; PRAGMA wal_checkpoint(TRUNCATE); PRAGMA synchronous = NORMAL");
}

Result<sqlite3_stmt*> SqliteIndex::Statement(Kind k) {
  sqlite3_stmt*& st = statements_[static_cast<int>(k)];
  if (!st && sqlite3_prepare_v3(db_, Sql(k).c_str(), -1, SQLITE_PREPARE_PERSISTENT, &st,
                                nullptr) != SQLITE_OK)
    return Error("prepare " + Sql(k));
  return st;
}

Status SqliteIndex::Bind(sqlite3_stmt* st, const BenchQuery& b) {
  const node::SearchQuery& q = b.q;
  auto text = [&](int i, const std::string& v) {
    sqlite3_bind_text(st, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  };
  switch (b.kind) {
    case Kind::kPointRecent: text(1, node::FoldText(q.point)); break;
    case Kind::kProvinceMonth:
    case Kind::kTypeProvince: text(1, node::FoldText(q.province)); break;
    case Kind::kCase: text(1, node::FoldText(q.case_number)); break;
    case Kind::kConference: text(1, node::FoldText(q.conference)); break;
    case Kind::kParticipantYear: text(1, Match(q.participant, nullptr)); break;
    default: text(1, Match(q.text, "text")); break;
  }
  if (q.from_us) sqlite3_bind_int64(st, 2, *q.from_us);
  if (q.to_us) sqlite3_bind_int64(st, 3, *q.to_us);
  if (!q.type.empty()) text(4, node::FoldText(q.type));
  sqlite3_bind_int64(st, 9, q.limit == 0 ? -1 : static_cast<int64_t>(q.limit));
  return Status::OK();
}

Result<std::vector<crypto::SessionId>> SqliteIndex::Run(const BenchQuery& b) {
  TCD_ASSIGN_OR_RETURN(sqlite3_stmt * st, Statement(b.kind));
  TCD_RETURN_IF_ERROR(Bind(st, b));
  std::vector<crypto::SessionId> ids;
  int rc;
  size_t touched = 0;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    crypto::SessionId id{};
    if (sqlite3_column_bytes(st, 0) == 16) std::memcpy(id.data(), sqlite3_column_blob(st, 0), 16);
    ids.push_back(id);
    for (int c = 1; c < 10; ++c) touched += static_cast<size_t>(sqlite3_column_bytes(st, c));
    touched += static_cast<size_t>(sqlite3_column_int(st, 10));  // where it is
  }
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  if (rc != SQLITE_DONE) return Error("query " + Describe(b));
  (void)touched;
  return ids;
}

std::string SqliteIndex::Plan(const BenchQuery& b) {
  Stmt st;
  std::string out;
  if (sqlite3_prepare_v2(db_, ("EXPLAIN QUERY PLAN " + Sql(b.kind)).c_str(), -1, st.out(),
                         nullptr) != SQLITE_OK)
    return sqlite3_errmsg(db_);
  (void)Bind(st.get(), b);
  while (sqlite3_step(st.get()) == SQLITE_ROW)
    out += std::string("    ") + reinterpret_cast<const char*>(sqlite3_column_text(st.get(), 3)) +
           "\n";
  return out;
}

}  // namespace tcd::bench
