// SqlDb on SQLite (the sqlite3 C API): one connection, prepared statements per call.
#include <sqlite3.h>

#include <cctype>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "daemon/review/sql_db.h"

namespace abusewatch {
namespace {

bool IsIoCode(int rc) {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_FULL:
    case SQLITE_NOMEM:
    case SQLITE_READONLY:
    case SQLITE_PROTOCOL:
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      return true;
    default:
      return false;
  }
}

Status Error(sqlite3* db, int rc, std::string_view what) {
  std::string msg = "sqlite: ";
  msg += what;
  msg += ": ";
  msg += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  return IsIoCode(rc) ? Status::IoError(msg) : Status::InvalidArgument(msg);
}

bool OnlySpaceOrComments(const char* p) {
  while (*p != '\0') {
    if (std::isspace(static_cast<unsigned char>(*p)) || *p == ';') {
      ++p;
    } else if (p[0] == '-' && p[1] == '-') {
      while (*p != '\0' && *p != '\n') ++p;
    } else {
      return false;
    }
  }
  return true;
}

struct StmtCloser {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Stmt = std::unique_ptr<sqlite3_stmt, StmtCloser>;

class SqliteDb final : public SqlDb {
 public:
  explicit SqliteDb(sqlite3* db) : db_(db) {}
  ~SqliteDb() override {
    if (sqlite3_get_autocommit(db_) == 0) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    sqlite3_close_v2(db_);
  }
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  std::string_view dialect() const override { return "sqlite"; }

  Status Exec(std::string_view sql, const std::vector<SqlValue>& params, std::vector<SqlRow>* rows,
              int64_t* changed) override {
    sqlite3_stmt* raw = nullptr;
    const char* tail = nullptr;
    int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &raw, &tail);
    Stmt stmt(raw);
    if (rc != SQLITE_OK) return Error(db_, rc, "prepare");
    if (stmt == nullptr) return Status::InvalidArgument("sqlite: empty statement");
    if (tail != nullptr && tail < sql.data() + sql.size()) {
      std::string rest(tail, sql.data() + sql.size() - tail);
      if (!OnlySpaceOrComments(rest.c_str())) {
        return Status::InvalidArgument("sqlite: Exec takes one statement (use ExecScript)");
      }
    }
    if (static_cast<size_t>(sqlite3_bind_parameter_count(stmt.get())) != params.size()) {
      return Status::InvalidArgument("sqlite: statement has " +
                                     std::to_string(sqlite3_bind_parameter_count(stmt.get())) +
                                     " parameters, " + std::to_string(params.size()) + " given");
    }
    for (size_t i = 0; i < params.size(); ++i) {
      int idx = static_cast<int>(i) + 1;
      const SqlValue& v = params[i];
      if (const int64_t* n = std::get_if<int64_t>(&v)) {
        rc = sqlite3_bind_int64(stmt.get(), idx, *n);
      } else if (const std::string* s = std::get_if<std::string>(&v)) {
        rc = sqlite3_bind_text64(stmt.get(), idx, s->data(), s->size(), SQLITE_TRANSIENT,
                                 SQLITE_UTF8);
      } else {
        rc = sqlite3_bind_null(stmt.get(), idx);
      }
      if (rc != SQLITE_OK) return Error(db_, rc, "bind");
    }
    for (;;) {
      rc = sqlite3_step(stmt.get());
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) return Error(db_, rc, "step");
      if (rows == nullptr) continue;
      int n = sqlite3_column_count(stmt.get());
      SqlRow row;
      row.reserve(n);
      for (int c = 0; c < n; ++c) {
        switch (sqlite3_column_type(stmt.get(), c)) {
          case SQLITE_INTEGER:
            row.emplace_back(static_cast<int64_t>(sqlite3_column_int64(stmt.get(), c)));
            break;
          case SQLITE_NULL:
            row.emplace_back(std::monostate{});
            break;
          case SQLITE_BLOB: {
            const void* p = sqlite3_column_blob(stmt.get(), c);
            int len = sqlite3_column_bytes(stmt.get(), c);
            row.emplace_back(p != nullptr ? std::string(static_cast<const char*>(p), len)
                                          : std::string());
            break;
          }
          default: {  // TEXT (and FLOAT, which the review store never writes), as text
            const unsigned char* p = sqlite3_column_text(stmt.get(), c);
            int len = sqlite3_column_bytes(stmt.get(), c);
            row.emplace_back(p != nullptr ? std::string(reinterpret_cast<const char*>(p), len)
                                          : std::string());
            break;
          }
        }
      }
      rows->push_back(std::move(row));
    }
    if (changed != nullptr) *changed = sqlite3_changes64(db_);
    return Status::Ok();
  }

  Status ExecScript(std::string_view sql) override {
    std::string text(sql);
    char* err = nullptr;
    int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
      std::string msg = "sqlite: script: ";
      msg += err != nullptr ? err : sqlite3_errstr(rc);
      sqlite3_free(err);
      return IsIoCode(rc) ? Status::IoError(msg) : Status::InvalidArgument(msg);
    }
    return Status::Ok();
  }

  Status Begin() override { return Simple("BEGIN IMMEDIATE"); }
  Status Commit() override { return Simple("COMMIT"); }
  Status Rollback() override {
    if (sqlite3_get_autocommit(db_) != 0) return Status::Ok();
    return Simple("ROLLBACK");
  }

 private:
  Status Simple(const char* sql) {
    int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) return Error(db_, rc, sql);
    return Status::Ok();
  }

  sqlite3* db_;
};

}  // namespace

Status OpenSqliteDb(const std::string& path, std::unique_ptr<SqlDb>* db) {
  sqlite3* raw = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    Status s = Status::IoError("sqlite: cannot open " + path + ": " +
                               (raw != nullptr ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
    sqlite3_close_v2(raw);
    return s;
  }
  auto out = std::make_unique<SqliteDb>(raw);
  sqlite3_busy_timeout(raw, 5000);
  sqlite3_extended_result_codes(raw, 1);
  // journal_mode returns a row; the others do not.
  if (Status s = out->Exec("PRAGMA journal_mode=WAL", {}, nullptr, nullptr); !s.ok()) {
    return Status::IoError("sqlite: cannot open " + path + ": " + s.message());
  }
  // case_sensitive_like: LIKE compares like PostgreSQL's (case-sensitive).
  for (const char* pragma :
       {"PRAGMA foreign_keys=ON", "PRAGMA synchronous=FULL", "PRAGMA case_sensitive_like=ON"}) {
    if (Status s = out->ExecScript(pragma); !s.ok()) return s;
  }
  *db = std::move(out);
  return Status::Ok();
}

}  // namespace abusewatch
