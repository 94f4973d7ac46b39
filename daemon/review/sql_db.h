// SqlDb: the little the review store needs from a SQL database, behind one small interface so
// that the same ReviewService code (and the same test suite) runs on SQLite (the default, a file
// in the state directory) and on PostgreSQL (several daemon instances sharing one review queue).
//
// SQL dialect: statements are written once, in the subset both databases accept (INTEGER /
// BIGINT / TEXT columns, standard DML, `ON CONFLICT ... DO ...`). Parameters are positional and
// written `?`; the PostgreSQL adapter rewrites them to `$1, $2, ...` (a `?` inside a quoted
// literal is left alone). Values are NULL, a signed 64-bit integer or text (UTF-8 or bytes).
//
// Transactions: Begin() starts a write transaction that excludes every other writer of the same
// database, in this process or another (SQLite: BEGIN IMMEDIATE with a busy timeout; PostgreSQL:
// BEGIN plus a transaction-level advisory lock). That is what keeps the audit hash chain linear
// when several instances append to it. Every statement outside Begin()/Commit() runs in its own
// implicit transaction.
//
// Thread safety: an SqlDb is not thread-safe; the caller serializes (ReviewService holds a
// mutex). No exception leaves a public function; errors are Status (kIoError for connection and
// I/O failures, kInvalidArgument for SQL errors and constraint violations, with the database's
// message).
#ifndef ABUSEWATCH_DAEMON_REVIEW_SQL_DB_H_
#define ABUSEWATCH_DAEMON_REVIEW_SQL_DB_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "detectors/status.h"

namespace abusewatch {

// NULL, INTEGER (int64) or TEXT.
using SqlValue = std::variant<std::monostate, int64_t, std::string>;
using SqlRow = std::vector<SqlValue>;

class SqlDb {
 public:
  virtual ~SqlDb() = default;

  // "sqlite" or "postgresql".
  virtual std::string_view dialect() const = 0;

  // Runs one statement. Rows (when the statement returns any) are appended to *rows when rows
  // is not null; *changed (when not null) receives the number of rows inserted, updated or
  // deleted. Integer columns come back as int64_t, text as std::string, NULL as monostate.
  virtual Status Exec(std::string_view sql, const std::vector<SqlValue>& params = {},
                      std::vector<SqlRow>* rows = nullptr, int64_t* changed = nullptr) = 0;

  // Runs a script of several statements without parameters (schema migrations).
  virtual Status ExecScript(std::string_view sql) = 0;

  virtual Status Begin() = 0;
  virtual Status Commit() = 0;
  virtual Status Rollback() = 0;  // a no-op (OK) outside a transaction
};

// Opens (creating when missing) the SQLite database file at `path` (":memory:" for tests), in
// WAL mode with foreign keys on and a 5 s busy timeout.
Status OpenSqliteDb(const std::string& path, std::unique_ptr<SqlDb>* db);

// Connects to PostgreSQL with a libpq connection string ("host=... dbname=..." or a
// postgresql:// URI). The connection is re-established once when it was lost between calls.
Status OpenPostgresDb(const std::string& conninfo, std::unique_ptr<SqlDb>* db);

// Small helpers for reading rows.
inline int64_t SqlInt(const SqlValue& v, int64_t if_null = 0) {
  const int64_t* i = std::get_if<int64_t>(&v);
  return i != nullptr ? *i : if_null;
}
inline std::string SqlText(const SqlValue& v) {
  const std::string* s = std::get_if<std::string>(&v);
  return s != nullptr ? *s : std::string();
}
inline bool SqlIsNull(const SqlValue& v) { return std::holds_alternative<std::monostate>(v); }

}  // namespace abusewatch

#endif  // ABUSEWATCH_DAEMON_REVIEW_SQL_DB_H_
