// SqlDb on PostgreSQL through libpq (see sql_db.h for the contract).
//
// Statements: PQexecParams with text-format parameters (int64 as decimal text typed int8, text
// untyped so that the server infers it from the context, NULL as a null pointer). `?`
// placeholders become `$1..$n`; a `?` inside a single-quoted literal (also E'...' with backslash
// escapes), a double-quoted identifier, a dollar-quoted string or a comment is left alone.
// Result columns typed int2, int4 or int8 come back as int64_t; every other type as its text
// form (bool is "t"/"f", numeric -- e.g. SUM(bigint) -- is text: cast to BIGINT when an integer
// is wanted); NULL as monostate.
//
// Transactions: Begin() is BEGIN ISOLATION LEVEL READ COMMITTED plus
// pg_advisory_xact_lock(kWriterLockKey), so that writers of one database, in any process,
// are serialized until their COMMIT or ROLLBACK (advisory locks are per database). READ
// COMMITTED is explicit (whatever default_transaction_isolation says) because every statement
// after the lock must see what the previous writer committed while this one waited.
//
// Connection loss: outside a transaction, a connection the server has closed (server restart,
// pg_terminate_backend, idle_session_timeout) is re-established once with PQreset and the
// statement runs on the new connection. That happens when the loss is seen before the statement
// is sent, or when the server's answer to the statement was a FATAL error (the session ended and
// the statement's implicit transaction was rolled back, so running it again cannot apply it
// twice). A connection that breaks without such an answer (a crash, a network failure) leaves
// the statement's fate unknown: kIoError, and the next call reconnects. Inside a transaction
// nothing is retried: the statement and every later one fail with kIoError until Rollback()
// (which then succeeds: the server rolled the transaction back when the session ended).
#include <libpq-fe.h>
#include <poll.h>

#include <charconv>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "daemon/review/sql_db.h"

namespace abusewatch {
namespace {

// pg_type OIDs (catalog/pg_type_d.h is in the server headers, not in libpq-dev).
constexpr Oid kInt8Oid = 20;
constexpr Oid kInt2Oid = 21;
constexpr Oid kInt4Oid = 23;

// The key of the transaction-level advisory lock every Begin() takes: "awreview" in ASCII.
// Any other user of advisory locks in the same database must avoid this key.
constexpr int64_t kWriterLockKey = 0x6177726576696577;

bool IsIdentChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         static_cast<unsigned char>(c) >= 0x80;
}

// Rewrites `?` to `$1..$n` outside literals, quoted identifiers and comments; *count receives n.
// Returns false (with *error) for an unterminated literal, identifier or comment.
bool RewritePlaceholders(std::string_view sql, std::string* out, int* count, std::string* error) {
  out->clear();
  out->reserve(sql.size() + 16);
  *count = 0;
  const size_t n = sql.size();
  size_t i = 0;
  while (i < n) {
    const char c = sql[i];
    if (c == '?') {
      *out += '$';
      *out += std::to_string(++*count);
      ++i;
    } else if (c == '\'') {
      // E'...' (escape string syntax): a backslash escapes the next character.
      const bool backslashes =
          i > 0 && (sql[i - 1] == 'E' || sql[i - 1] == 'e') && (i < 2 || !IsIdentChar(sql[i - 2]));
      size_t j = i + 1;
      while (true) {
        if (j >= n) {
          *error = "unterminated quoted string in SQL";
          return false;
        }
        if (backslashes && sql[j] == '\\') {
          j += 2;
        } else if (sql[j] == '\'') {
          if (j + 1 < n && sql[j + 1] == '\'') {
            j += 2;  // '' inside a literal
          } else {
            ++j;
            break;
          }
        } else {
          ++j;
        }
      }
      out->append(sql.substr(i, j - i));
      i = j;
    } else if (c == '"') {
      size_t j = i + 1;
      while (true) {
        if (j >= n) {
          *error = "unterminated quoted identifier in SQL";
          return false;
        }
        if (sql[j] == '"') {
          if (j + 1 < n && sql[j + 1] == '"') {
            j += 2;
          } else {
            ++j;
            break;
          }
        } else {
          ++j;
        }
      }
      out->append(sql.substr(i, j - i));
      i = j;
    } else if (c == '-' && i + 1 < n && sql[i + 1] == '-') {
      size_t j = sql.find('\n', i);
      j = j == std::string_view::npos ? n : j;
      out->append(sql.substr(i, j - i));
      i = j;
    } else if (c == '/' && i + 1 < n && sql[i + 1] == '*') {
      // Block comments nest in PostgreSQL.
      size_t j = i + 2;
      int depth = 1;
      while (depth > 0) {
        if (j + 1 >= n) {
          *error = "unterminated /* comment in SQL";
          return false;
        }
        if (sql[j] == '/' && sql[j + 1] == '*') {
          ++depth;
          j += 2;
        } else if (sql[j] == '*' && sql[j + 1] == '/') {
          --depth;
          j += 2;
        } else {
          ++j;
        }
      }
      out->append(sql.substr(i, j - i));
      i = j;
    } else if (c == '$' && (i == 0 || !IsIdentChar(sql[i - 1]))) {
      // A dollar-quoted string $tag$...$tag$ (the tag does not start with a digit: $1 is a
      // parameter, which this dialect writes `?`, and is copied as is).
      size_t j = i + 1;
      while (j < n && IsIdentChar(sql[j]) && sql[j] != '$') ++j;
      const bool is_tag =
          j < n && sql[j] == '$' && !(j > i + 1 && sql[i + 1] >= '0' && sql[i + 1] <= '9');
      if (!is_tag) {
        *out += c;
        ++i;
        continue;
      }
      const std::string_view tag = sql.substr(i, j + 1 - i);
      const size_t end = sql.find(tag, j + 1);
      if (end == std::string_view::npos) {
        *error = "unterminated dollar-quoted string in SQL";
        return false;
      }
      out->append(sql.substr(i, end + tag.size() - i));
      i = end + tag.size();
    } else {
      *out += c;
      ++i;
    }
  }
  return true;
}

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Result = std::unique_ptr<PGresult, ResultDeleter>;

struct ConnDeleter {
  void operator()(PGconn* c) const { PQfinish(c); }
};
using Conn = std::unique_ptr<PGconn, ConnDeleter>;

std::string TrimNewlines(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

// A connection-class SQLSTATE: the session or the server went away rather than the SQL being
// wrong (08: connection exception; 57P01..57P05: admin shutdown, crash shutdown, cannot
// connect now, database dropped, idle session timeout).
bool IsConnectionSqlState(std::string_view state) {
  return state.substr(0, 2) == "08" || state.substr(0, 3) == "57P";
}

class PostgresDb final : public SqlDb {
 public:
  explicit PostgresDb(Conn conn) : conn_(std::move(conn)) {
    // Notices (and warnings) are not printed. A FATAL message that arrives while the
    // connection is idle (the server ending the session) comes this way too: remembered.
    PQsetNoticeReceiver(conn_.get(), &PostgresDb::OnNotice, this);
  }
  PostgresDb(const PostgresDb&) = delete;  // the notice receiver holds `this`
  PostgresDb& operator=(const PostgresDb&) = delete;

  std::string_view dialect() const override { return "postgresql"; }

  Status Exec(std::string_view sql, const std::vector<SqlValue>& params, std::vector<SqlRow>* rows,
              int64_t* changed) override {
    std::string rewritten;
    std::string error;
    int count = 0;
    if (!RewritePlaceholders(sql, &rewritten, &count, &error)) {
      return Status::InvalidArgument("postgresql: " + error);
    }
    if (static_cast<size_t>(count) != params.size()) {
      return Status::InvalidArgument("postgresql: the statement has " + std::to_string(count) +
                                     " placeholders but " + std::to_string(params.size()) +
                                     " parameters were given");
    }
    std::vector<std::string> texts(params.size());
    std::vector<const char*> values(params.size(), nullptr);
    std::vector<int> lengths(params.size(), 0);
    std::vector<Oid> types(params.size(), 0);  // 0: inferred by the server
    for (size_t k = 0; k < params.size(); ++k) {
      if (const int64_t* v = std::get_if<int64_t>(&params[k])) {
        texts[k] = std::to_string(*v);
        types[k] = kInt8Oid;
      } else if (const std::string* s = std::get_if<std::string>(&params[k])) {
        if (s->find('\0') != std::string::npos) {
          return Status::InvalidArgument("postgresql: parameter " + std::to_string(k + 1) +
                                         " contains a NUL byte, which PostgreSQL text cannot hold");
        }
        texts[k] = *s;
      } else {
        continue;  // NULL: values[k] stays nullptr
      }
      values[k] = texts[k].c_str();
      lengths[k] = static_cast<int>(texts[k].size());
    }
    Result result;
    Status s = Run(
        [&] {
          return PQexecParams(conn_.get(), rewritten.c_str(), static_cast<int>(params.size()),
                              types.data(), values.data(), lengths.data(), nullptr, 0);
        },
        &result);
    if (!s.ok()) return s;
    if (changed != nullptr) {
      *changed = 0;
      // PQcmdTuples also counts the rows of SELECT, FETCH, COPY...: only DML counts here.
      const std::string_view status = PQcmdStatus(result.get());
      const bool dml = status.starts_with("INSERT ") || status.starts_with("UPDATE ") ||
                       status.starts_with("DELETE ") || status.starts_with("MERGE ");
      const char* tuples = PQcmdTuples(result.get());
      if (dml && tuples != nullptr && *tuples != '\0') {
        const std::string_view t(tuples);
        std::from_chars(t.data(), t.data() + t.size(), *changed);
      }
    }
    if (rows != nullptr && PQresultStatus(result.get()) == PGRES_TUPLES_OK) {
      return AppendRows(result.get(), rows);
    }
    return Status::Ok();
  }

  Status ExecScript(std::string_view sql) override {
    const std::string script(sql);
    Result result;
    return Run([&] { return PQexec(conn_.get(), script.c_str()); }, &result);
  }

  Status Begin() override {
    if (in_txn_) return Status::InvalidArgument("postgresql: Begin() inside a transaction");
    Result result;
    Status s =
        Run([&] { return PQexec(conn_.get(), "BEGIN ISOLATION LEVEL READ COMMITTED"); }, &result);
    if (!s.ok()) return s;
    in_txn_ = true;
    static const std::string kLock =
        "SELECT pg_advisory_xact_lock(" + std::to_string(kWriterLockKey) + ")";
    s = Run([&] { return PQexec(conn_.get(), kLock.c_str()); }, &result);
    if (!s.ok()) {
      Rollback();
      return s;
    }
    return Status::Ok();
  }

  Status Commit() override {
    if (!in_txn_) return Status::InvalidArgument("postgresql: Commit() outside a transaction");
    if (txn_lost_) {
      ClearTxn();
      return Status::IoError(
          "postgresql: the connection was lost inside the transaction, which the server rolled "
          "back");
    }
    Result result;
    Status s = Run([&] { return PQexec(conn_.get(), "COMMIT"); }, &result);
    if (!s.ok()) {
      // Whatever happened, the transaction is over: the server rolled it back, or (connection
      // lost during COMMIT) its outcome is unknown and the connection is gone.
      ClearTxn();
      return s;
    }
    ClearTxn();
    // COMMIT of a transaction in which a statement failed answers "ROLLBACK", not an error.
    if (std::string_view(PQcmdStatus(result.get())) == "ROLLBACK") {
      return Status::InvalidArgument(
          "postgresql: the transaction was rolled back at COMMIT because a statement in it "
          "failed");
    }
    return Status::Ok();
  }

  Status Rollback() override {
    if (!in_txn_) return Status::Ok();
    if (txn_lost_) {
      ClearTxn();
      return Status::Ok();  // the server rolled it back when the session ended
    }
    Result result;
    Status s = Run([&] { return PQexec(conn_.get(), "ROLLBACK"); }, &result);
    ClearTxn();
    if (!s.ok() && s.code() == Status::Code::kIoError) {
      return Status::Ok();  // the session is gone, and the transaction with it
    }
    return s;
  }

 private:
  void ClearTxn() {
    in_txn_ = false;
    txn_lost_ = false;
  }

  static void OnNotice(void* self, const PGresult* notice) {
    const char* severity = PQresultErrorField(notice, PG_DIAG_SEVERITY_NONLOCALIZED);
    if (severity != nullptr &&
        (std::strcmp(severity, "FATAL") == 0 || std::strcmp(severity, "PANIC") == 0)) {
      static_cast<PostgresDb*>(self)->session_ended_ = true;
    }
  }

  // True when the server has ended the session, learnt without a round trip: reads what is
  // pending on the socket (a FATAL message, then the end of the stream; libpq needs one read
  // for each).
  bool ConnectionLost() {
    for (int i = 0; i < 8 && PQstatus(conn_.get()) != CONNECTION_BAD; ++i) {
      pollfd p{};
      p.fd = PQsocket(conn_.get());
      p.events = POLLIN;
      if (p.fd < 0 || poll(&p, 1, 0) <= 0) break;  // nothing pending
      if (PQconsumeInput(conn_.get()) == 0) break;
    }
    return session_ended_ || PQstatus(conn_.get()) == CONNECTION_BAD;
  }

  bool Reset() {
    PQreset(conn_.get());
    session_ended_ = false;
    return PQstatus(conn_.get()) == CONNECTION_OK;
  }

  std::string ConnectionError(std::string_view what) const {
    return "postgresql: " + std::string(what) + ": " + TrimNewlines(PQerrorMessage(conn_.get()));
  }

  // Runs `exec` (which returns a PGresult, or nullptr when out of memory or the connection is
  // unusable) under the reconnection policy of the file comment. On success *result holds the
  // result (PGRES_COMMAND_OK or PGRES_TUPLES_OK).
  template <typename F>
  Status Run(F exec, Result* result) {
    if (txn_lost_) {
      return Status::IoError(
          "postgresql: the connection was lost inside the transaction; Rollback() and retry");
    }
    if (!in_txn_ && ConnectionLost() && !Reset()) {
      return Status::IoError(ConnectionError("reconnecting failed"));
    }
    for (int attempt = 0;; ++attempt) {
      const bool was_in_txn = in_txn_;
      result->reset(exec());
      const ExecStatusType st =
          *result == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(result->get());
      if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY) {
        return Status::Ok();
      }
      const char* state_field =
          *result == nullptr ? nullptr : PQresultErrorField(result->get(), PG_DIAG_SQLSTATE);
      const std::string_view state = state_field != nullptr ? state_field : "";
      const bool lost = PQstatus(conn_.get()) == CONNECTION_BAD || IsConnectionSqlState(state);
      if (!lost) {
        std::string msg;
        if (*result != nullptr) {
          const char* primary = PQresultErrorField(result->get(), PG_DIAG_MESSAGE_PRIMARY);
          const char* detail = PQresultErrorField(result->get(), PG_DIAG_MESSAGE_DETAIL);
          msg = primary != nullptr ? primary : TrimNewlines(PQresultErrorMessage(result->get()));
          if (detail != nullptr) msg += std::string(" (") + detail + ")";
        } else {
          msg = TrimNewlines(PQerrorMessage(conn_.get()));
        }
        if (msg.empty()) msg = "unexpected result " + std::string(PQresStatus(st));
        return Status::InvalidArgument(
            "postgresql: " + msg + (state.empty() ? "" : " [SQLSTATE " + std::string(state) + "]"));
      }
      std::string msg = *result != nullptr ? TrimNewlines(PQresultErrorMessage(result->get()))
                                           : TrimNewlines(PQerrorMessage(conn_.get()));
      if (!state.empty()) msg += " [SQLSTATE " + std::string(state) + "]";
      if (was_in_txn) {
        txn_lost_ = true;
        return Status::IoError("postgresql: connection lost inside a transaction: " + msg);
      }
      // The server ended the session with a FATAL answer to this statement: its implicit
      // transaction was rolled back, so it is safe to run it once more on a new connection.
      const char* severity = *result == nullptr
                                 ? nullptr
                                 : PQresultErrorField(result->get(), PG_DIAG_SEVERITY_NONLOCALIZED);
      const bool fatal =
          (severity != nullptr && std::string_view(severity) == "FATAL") || session_ended_;
      if (attempt == 0 && fatal) {
        if (!Reset()) return Status::IoError(ConnectionError("reconnecting failed"));
        continue;
      }
      return Status::IoError("postgresql: connection lost: " + msg);
    }
  }

  static Status AppendRows(PGresult* result, std::vector<SqlRow>* rows) {
    const int nrows = PQntuples(result);
    const int ncols = PQnfields(result);
    std::vector<bool> integer(ncols);
    for (int c = 0; c < ncols; ++c) {
      const Oid type = PQftype(result, c);
      integer[c] = type == kInt2Oid || type == kInt4Oid || type == kInt8Oid;
    }
    rows->reserve(rows->size() + nrows);
    for (int r = 0; r < nrows; ++r) {
      SqlRow row;
      row.reserve(ncols);
      for (int c = 0; c < ncols; ++c) {
        if (PQgetisnull(result, r, c)) {
          row.emplace_back(std::monostate());
          continue;
        }
        const char* v = PQgetvalue(result, r, c);
        const int len = PQgetlength(result, r, c);
        if (integer[c]) {
          int64_t i = 0;
          const auto [end, ec] = std::from_chars(v, v + len, i);
          if (ec != std::errc() || end != v + len) {
            return Status::Internal("postgresql: integer column " + std::to_string(c + 1) +
                                    " holds '" + std::string(v, len) + "'");
          }
          row.emplace_back(i);
        } else {
          row.emplace_back(std::string(v, len));
        }
      }
      rows->push_back(std::move(row));
    }
    return Status::Ok();
  }

  Conn conn_;
  bool in_txn_ = false;
  bool txn_lost_ = false;       // the connection broke inside the current transaction
  bool session_ended_ = false;  // the server sent FATAL while the connection was idle
};

}  // namespace

Status OpenPostgresDb(const std::string& conninfo, std::unique_ptr<SqlDb>* db) {
  // The connection string is expanded in place of "dbname"; client_encoding (text is UTF-8)
  // and a default application_name come after it, so client_encoding always wins.
  const char* keywords[] = {"dbname", "client_encoding", "fallback_application_name", nullptr};
  const char* values[] = {conninfo.c_str(), "UTF8", "abusewatch", nullptr};
  Conn conn(PQconnectdbParams(keywords, values, /*expand_dbname=*/1));
  if (conn == nullptr) return Status::IoError("postgresql: out of memory");
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    return Status::IoError("postgresql: cannot connect: " +
                           TrimNewlines(PQerrorMessage(conn.get())));
  }
  *db = std::make_unique<PostgresDb>(std::move(conn));
  return Status::Ok();
}

}  // namespace abusewatch
