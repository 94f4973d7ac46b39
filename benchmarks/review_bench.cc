// The review queue at 100 000 cases (issue 5: "list and filter responses under 100 ms at p99"):
// ReviewService::List for each filter of tests/review/review_query_test.cc and its second page
// (by cursor), ReviewService::Counts for each filter, and the same list requests end to end through
// the HTTP API (RegisterReviewRoutes on an HttpServer at 127.0.0.1:0, a viewer token, one
// keep-alive Beast connection; the answer includes the counts by status and the JSON). See
// benchmarks/README.md "Review queue at 100 k cases".
//
// The database (SQLite in a temp dir under /tmp; PostgreSQL when AW_BENCH_POSTGRES holds a libpq
// conninfo, in a schema of its own dropped at exit) is filled once per process, on first use,
// with one bulk INSERT ... SELECT per table (~2 s). Each benchmark runs its request
// AW_REVIEW_BENCH_ITERS times (default 200) after 5 untimed warm-up requests, times every
// request with steady_clock and publishes p50_ms, p99_ms and max_ms (nearest-rank percentiles of
// those samples) as counters; the "Time" column is the mean.
//
//   build-bench/benchmarks/abusewatch_bench --benchmark_filter=Review
//       --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "daemon/http/http_server.h"
#include "daemon/review/auth.h"
#include "daemon/review/review_api.h"
#include "daemon/review/review_service.h"
#include "daemon/review/sql_db.h"

namespace abusewatch {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int64_t kCases = 100'000;
constexpr int64_t kStartMs = 1'767'225'600'000;  // 2026-01-01T00:00:00Z
constexpr int kWarmup = 5;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "review_bench: %s\n", what.c_str());
  std::abort();
}

void Check(const Status& s, const char* what) {
  if (!s.ok()) Die(std::string(what) + ": " + s.message());
}

void Check(const ReviewResult& r, const char* what) {
  if (!r.ok()) Die(std::string(what) + ": " + r.message);
}

int Iterations() {
  const char* e = std::getenv("AW_REVIEW_BENCH_ITERS");
  const int n = e != nullptr ? std::atoi(e) : 0;
  return n > 0 ? n : 200;
}

// Fills an empty review database with kCases cases (ids 1..kCases):
//   status       20 % open, 10 % in_review, 10 % decided, 60 % closed
//   assignee     alice / bob / carol / unassigned (2 of 5)
//   clauses      1 per case, 2 for two cases in three: rule-(i % 50) and rule-((7 i + 3) % 50);
//                rules 0..19 cite 第十一条 (knowledge), 20..39 第十二条 (serious), 40..49 neither;
//                clause severity rule % 3 (info / warning / critical), the case's the highest
//   knowledge, serious   from the clauses' bases (both: ~25 % of the cases)
//   opened_at    one a minute over ~69 days; updated_at opened_at + up to 30 days, scattered
Status Fill(SqlDb* db) {
  const std::string cte =
      "WITH RECURSIVE n(i) AS (SELECT CAST(1 AS BIGINT) UNION ALL SELECT i + 1 FROM n WHERE i < " +
      std::to_string(kCases) +
      "), m AS (SELECT i, i % 50 AS r1, CASE WHEN i % 3 = 0 THEN -1 ELSE (i * 7 + 3) % 50 END "
      "AS r2 FROM n) ";
  Status s = db->Begin();
  if (!s.ok()) return s;
  s = db->Exec(
      cte +
          "INSERT INTO cases (id, account, status, assignee, severity, knowledge, serious, "
          "opened_at, updated_at) SELECT i, 'acct-' || CAST(i AS TEXT), CASE WHEN i % 10 < 2 "
          "THEN 'open' WHEN i % 10 = 2 THEN 'in_review' WHEN i % 10 = 3 THEN 'decided' ELSE "
          "'closed' END, CASE i % 5 WHEN 1 THEN 'alice' WHEN 2 THEN 'bob' WHEN 3 THEN 'carol' "
          "ELSE '' END, CASE WHEN r2 >= 0 AND r2 % 3 > r1 % 3 THEN r2 % 3 ELSE r1 % 3 END, CASE "
          "WHEN r1 < 20 OR (r2 >= 0 AND r2 < 20) THEN 1 ELSE 0 END, CASE WHEN (r1 >= 20 AND r1 < "
          "40) OR (r2 >= 20 AND r2 < 40) THEN 1 ELSE 0 END, ? + i * 60000, ? + i * 60000 + (i * "
          "7919) % 2592000000 FROM m",
      {kStartMs, kStartMs});
  for (const char* r : {"r1", "r2"}) {
    if (!s.ok()) break;
    const std::string rule = r;
    s = db->Exec(
        cte +
            "INSERT INTO clauses (case_id, rule_id, firing, value, threshold, severity, "
            "basis, explain_zh, explain_en, first_at, last_at) SELECT i, 'rule-' || CAST(" +
            rule + " AS TEXT), 1, '200000.00', '200000.00', CASE " + rule +
            " % 3 WHEN 0 THEN 'info' WHEN 1 THEN 'warning' ELSE 'critical' END, CASE WHEN " + rule +
            " < 20 THEN '法释〔2019〕15号 第十一条第（二）项' WHEN " + rule +
            " < 40 THEN '法释〔2019〕15号 第十二条第一款第（二）项' ELSE 'internal hygiene "
            "rule' END, '结算金额达到二十万元', 'settlement total reached CNY 200,000', ? + "
            "i * 60000, ? + i * 60000 FROM m WHERE " +
            rule + " >= 0",
        {kStartMs, kStartMs});
  }
  // The article tags ReviewService writes with each clause (written directly here, as the rows).
  for (const char* article : {"第十一条", "第十二条"}) {
    if (!s.ok()) break;
    s = db->Exec(
        "INSERT INTO case_articles (article, case_id) SELECT DISTINCT ?, case_id FROM clauses "
        "WHERE basis LIKE ?",
        {std::string(article), "%" + std::string(article) + "%"});
  }
  if (!s.ok()) {
    (void)db->Rollback();
    return s;
  }
  s = db->Commit();
  // PostgreSQL's autovacuum would analyze such a load soon; the daemon never runs ANALYZE on
  // SQLite, so neither does this.
  if (s.ok() && db->dialect() == "postgresql") s = db->ExecScript("ANALYZE");
  return s;
}

// A URL query value, percent-encoded (RFC 3986 unreserved characters kept).
std::string Encode(const std::string& v) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : v) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// One list request of the test, as a filter and as the query string of GET /api/v1/cases.
struct ListCase {
  const char* name;
  CaseFilter filter;
  std::string query;
  bool paged;  // more than one page of results
};

std::vector<ListCase> ListCases() {
  std::vector<ListCase> v;
  auto add = [&v](const char* name, CaseFilter f) {
    std::string q;
    auto param = [&q](const char* k, const std::string& value) {
      q += (q.empty() ? "?" : "&") + std::string(k) + "=" + Encode(value);
    };
    if (f.status) param("status", *f.status);
    if (f.rule_id) param("rule", *f.rule_id);
    if (f.clause) param("clause", *f.clause);
    if (f.account) param(f.account_prefix ? "account_prefix" : "account", *f.account);
    if (f.assignee) param("assignee", *f.assignee);
    if (f.knowledge_and_serious) param("both", "1");
    if (f.limit != 0) param("limit", std::to_string(f.limit));
    const bool paged = !f.account.has_value();  // the account prefix matches 11 cases
    v.push_back({name, std::move(f), std::move(q), paged});
  };
  CaseFilter f;
  add("all", f);
  f.status = "open";
  add("status", f);
  f.clause = "第十二条";
  add("status_clause", f);
  f = CaseFilter();
  f.rule_id = "rule-7";
  add("rule", f);
  f = CaseFilter();
  f.knowledge_and_serious = true;
  add("knowledge_serious", f);
  f = CaseFilter();
  f.assignee = "alice";
  f.limit = 500;
  add("assignee_500", f);
  f = CaseFilter();
  f.account = "acct-9999";
  f.account_prefix = true;
  add("account_prefix", f);
  return v;
}

// A keep-alive HTTP/1.1 client on one connection (reconnects when the server closed it).
class Client {
 public:
  Client(uint16_t port, std::string token) : port_(port), token_(std::move(token)) {}

  // GET `target`; returns the body, dies unless the answer is 200.
  std::string Get(const std::string& target) {
    namespace http = boost::beast::http;
    for (int attempt = 0;; ++attempt) {
      try {
        if (!socket_.is_open()) {
          socket_.connect({boost::asio::ip::make_address("127.0.0.1"), port_});
        }
        http::request<http::empty_body> req{http::verb::get, target, 11};
        req.set(http::field::host, "127.0.0.1");
        req.set(http::field::authorization, "Bearer " + token_);
        http::write(socket_, req);
        http::response_parser<http::string_body> parser;
        parser.body_limit(64 << 20);
        http::read(socket_, buffer_, parser);
        if (parser.get().result_int() != 200) {
          Die("GET " + target + ": " + std::to_string(parser.get().result_int()) + " " +
              parser.get().body());
        }
        if (!parser.keep_alive()) socket_.close();
        return std::move(parser.get().body());
      } catch (const std::exception& e) {
        boost::system::error_code ec;
        socket_.close(ec);
        buffer_.clear();
        if (attempt > 0) Die("GET " + target + ": " + e.what());
      }
    }
  }

 private:
  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::socket socket_{ioc_};
  boost::beast::flat_buffer buffer_;
  uint16_t port_;
  std::string token_;
};

// The "next_cursor" of a /api/v1/cases answer (hex digits: no escapes), "" when none.
std::string NextCursor(const std::string& body) {
  static const std::string kKey = "\"next_cursor\":\"";
  size_t at = body.find(kKey);
  if (at == std::string::npos) return "";
  at += kKey.size();
  return body.substr(at, body.find('"', at) - at);
}

// The database, the service and (SQLite only) the HTTP server of one backend, built once.
class Env {
 public:
  ~Env() {
    server_.reset();
    client_.reset();
    service_.reset();
    if (pg_admin_ != nullptr) {
      Status s = pg_admin_->Exec("DROP SCHEMA " + pg_schema_ + " CASCADE");
      if (!s.ok()) std::fprintf(stderr, "review_bench: drop schema: %s\n", s.message().c_str());
    }
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }

  static Env* Sqlite() {
    static std::unique_ptr<Env> env = [] {
      auto e = std::make_unique<Env>();
      char tmpl[] = "/tmp/aw_review_bench_XXXXXX";
      if (mkdtemp(tmpl) == nullptr) Die("mkdtemp failed");
      e->dir_ = tmpl;
      std::unique_ptr<SqlDb> db;
      Check(OpenSqliteDb(e->dir_ + "/review.db", &db), "open sqlite");
      e->Build(std::move(db), [&e](std::unique_ptr<SqlDb>* out) {
        return OpenSqliteDb(e->dir_ + "/review.db", out);
      });
      e->StartHttp();
      return e;
    }();
    return env.get();
  }

  // Null when AW_BENCH_POSTGRES is not set.
  static Env* Postgres() {
    static std::unique_ptr<Env> env = []() -> std::unique_ptr<Env> {
      const char* conninfo = std::getenv("AW_BENCH_POSTGRES");
      if (conninfo == nullptr || *conninfo == '\0') return nullptr;
      auto e = std::make_unique<Env>();
      Check(OpenPostgresDb(conninfo, &e->pg_admin_), "connect to AW_BENCH_POSTGRES");
      e->pg_schema_ = "aw_review_bench_" + std::to_string(getpid());
      Check(e->pg_admin_->Exec("CREATE SCHEMA " + e->pg_schema_), "create schema");
      // Every connection of the service works in that schema.
      std::string info = conninfo;
      const bool uri = info.rfind("postgres://", 0) == 0 || info.rfind("postgresql://", 0) == 0;
      if (uri) {
        info += (info.find('?') == std::string::npos ? "?" : "&");
        info += "options=-csearch_path%3D" + e->pg_schema_;
      } else {
        info += " options='-csearch_path=" + e->pg_schema_ + "'";
      }
      std::unique_ptr<SqlDb> db;
      Check(OpenPostgresDb(info, &db), "connect to the bench schema");
      e->Build(std::move(db),
               [info](std::unique_ptr<SqlDb>* out) { return OpenPostgresDb(info, out); });
      return e;
    }();
    return env.get();
  }

  ReviewService& service() { return *service_; }
  Client& client() { return *client_; }
  double setup_s() const { return setup_s_; }

 private:
  void Build(std::unique_ptr<SqlDb> db,
             const std::function<Status(std::unique_ptr<SqlDb>*)>& reopen) {
    const Clock::time_point start = Clock::now();
    ReviewOptions options;
    options.now_ms = [] { return kStartMs + kCases * 60000; };
    service_ = std::make_unique<ReviewService>(std::move(db), options);
    Check(service_->Open(), "open review service");
    std::unique_ptr<SqlDb> direct;
    Check(reopen(&direct), "reopen");
    Check(Fill(direct.get()), "fill");
    std::vector<StatusCount> counts;
    Check(service_->Counts({}, &counts), "counts");
    int64_t total = 0;
    for (const StatusCount& c : counts) total += c.count;
    if (total != kCases) Die("filled " + std::to_string(total) + " cases");
    setup_s_ = std::chrono::duration<double>(Clock::now() - start).count();
    std::fprintf(stderr, "review_bench: %lld cases in %.2f s\n", static_cast<long long>(total),
                 setup_s_);
  }

  void StartHttp() {
    std::string token;
    Check(GenerateToken(&token), "token");
    const std::string file = dir_ + "/tokens";
    {
      std::ofstream out(file);
      out << "bench viewer " << TokenHash(token) << "\n";
    }
    ::chmod(file.c_str(), 0600);
    Check(tokens_.Load(file), "load tokens");
    HttpServer::Options o;
    o.address = "127.0.0.1";
    o.port = 0;
    o.threads = 1;
    o.read_timeout = std::chrono::minutes(10);  // the keep-alive connection idles between cases
    server_ = std::make_unique<HttpServer>(o);
    RegisterReviewRoutes(*server_, *service_, tokens_, ReviewApiOptions());
    Check(server_->Start(), "start http");
    client_ = std::make_unique<Client>(server_->port(), token);
  }

  std::string dir_;
  std::unique_ptr<SqlDb> pg_admin_;
  std::string pg_schema_;
  std::unique_ptr<ReviewService> service_;
  TokenStore tokens_;
  std::unique_ptr<HttpServer> server_;
  std::unique_ptr<Client> client_;
  double setup_s_ = 0;
};

// Runs `request` (returning the number of cases it got) kWarmup times untimed, then once per
// benchmark iteration, timed; publishes the percentiles.
void Measure(benchmark::State& state, const std::function<size_t()>& request) {
  for (int i = 0; i < kWarmup; ++i) request();
  std::vector<double> ms;
  ms.reserve(static_cast<size_t>(state.max_iterations));
  size_t rows = 0;
  for (auto _ : state) {
    const Clock::time_point start = Clock::now();
    rows = request();
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  }
  std::sort(ms.begin(), ms.end());
  auto rank = [&ms](double p) {  // nearest rank
    size_t k = static_cast<size_t>(p * static_cast<double>(ms.size()) + 0.999999);
    return ms[std::clamp<size_t>(k, 1, ms.size()) - 1];
  };
  state.counters["p50_ms"] = rank(0.50);
  state.counters["p99_ms"] = rank(0.99);
  state.counters["max_ms"] = ms.back();
  state.counters["rows"] = static_cast<double>(rows);
}

Env* EnvFor(bool postgres) { return postgres ? Env::Postgres() : Env::Sqlite(); }

void BM_ReviewList(benchmark::State& state, bool postgres, const ListCase& c, bool page2) {
  ReviewService& service = EnvFor(postgres)->service();
  CaseFilter f = c.filter;
  if (page2) {
    CasePage first;
    Check(service.List(f, &first), c.name);
    if (first.next_cursor.empty()) Die(std::string(c.name) + ": one page only");
    f.cursor = first.next_cursor;
  }
  Measure(state, [&] {
    CasePage page;
    Check(service.List(f, &page), c.name);
    return page.cases.size();
  });
}

// Counts by status for the filter of `c` (its status ignored, as for the "counts" of every
// /api/v1/cases answer).
void BM_ReviewCounts(benchmark::State& state, bool postgres, const ListCase& c) {
  ReviewService& service = EnvFor(postgres)->service();
  Measure(state, [&] {
    std::vector<StatusCount> counts;
    Check(service.Counts(c.filter, &counts), "counts");
    return counts.size();
  });
}

void BM_ReviewHttp(benchmark::State& state, const ListCase& c, bool page2) {
  Client& client = Env::Sqlite()->client();
  std::string target = "/api/v1/cases" + c.query;
  if (page2) {
    const std::string cursor = NextCursor(client.Get(target));
    if (cursor.empty()) Die(std::string(c.name) + ": one page only (http)");
    target += (c.query.empty() ? "?" : "&") + std::string("cursor=") + cursor;
  }
  size_t bytes = 0;
  Measure(state, [&] {
    const std::string body = client.Get(target);
    bytes = body.size();
    size_t n = 0;  // summaries in the answer: one "account" member each
    for (size_t at = body.find("\"account\":"); at != std::string::npos;
         at = body.find("\"account\":", at + 1)) {
      ++n;
    }
    return n;
  });
  state.counters["bytes"] = static_cast<double>(bytes);
}

void BM_ReviewPostgresSkipped(benchmark::State& state) {
  state.SkipWithError(
      "AW_BENCH_POSTGRES not set (a libpq conninfo): PostgreSQL cases skipped, not failed");
  for (auto _ : state) {
  }
}

[[maybe_unused]] const bool kRegistered = [] {
  static const std::vector<ListCase> cases = ListCases();
  const int iters = Iterations();
  auto setup = [iters](benchmark::internal::Benchmark* b) {
    b->Iterations(iters)->UseRealTime()->Unit(benchmark::kMillisecond);
  };
  const char* pg = std::getenv("AW_BENCH_POSTGRES");
  const bool postgres = pg != nullptr && *pg != '\0';
  for (bool on_pg : {false, true}) {
    if (on_pg && !postgres) break;
    const std::string backend = on_pg ? "postgresql" : "sqlite";
    for (const ListCase& c : cases) {
      for (bool page2 : {false, true}) {
        if (page2 && !c.paged) continue;
        setup(benchmark::RegisterBenchmark(
            ("BM_ReviewList/" + backend + "/" + c.name + (page2 ? "/page2" : "")).c_str(),
            [on_pg, &c, page2](benchmark::State& s) { BM_ReviewList(s, on_pg, c, page2); }));
      }
    }
    for (const ListCase& c : cases) {
      setup(benchmark::RegisterBenchmark(
          ("BM_ReviewCounts/" + backend + "/" + c.name).c_str(),
          [on_pg, &c](benchmark::State& s) { BM_ReviewCounts(s, on_pg, c); }));
    }
    if (!on_pg) {
      for (const ListCase& c : cases) {
        for (bool page2 : {false, true}) {
          if (page2 && !c.paged) continue;
          setup(benchmark::RegisterBenchmark(
              ("BM_ReviewHttp/sqlite/" + std::string(c.name) + (page2 ? "/page2" : "")).c_str(),
              [&c, page2](benchmark::State& s) { BM_ReviewHttp(s, c, page2); }));
        }
      }
    }
  }
  if (!postgres) {
    benchmark::RegisterBenchmark("BM_ReviewList/postgresql", BM_ReviewPostgresSkipped)
        ->Iterations(1);
  }
  return true;
}();

}  // namespace
}  // namespace abusewatch
