// A review API + page server for the browser test (and for trying the page by hand): a
// ReviewService on a fresh SQLite file in DIR, seeded with a few cases, a token file with one
// token per role, and an HttpServer on 127.0.0.1 (port 0 unless given).
//
//   review_demo_server DIR [PORT]
//
// Prints "port N", then "token ROLE TOKEN" for viewer, reviewer, reviewer2 and admin, then
// "ready", one per line on stdout, and serves until stdin is closed (or reads "quit").
#include <sys/stat.h>

#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <utility>

#include "daemon/http/http_server.h"
#include "daemon/review/auth.h"
#include "daemon/review/review_api.h"
#include "daemon/review/review_service.h"
#include "daemon/review/sql_db.h"

namespace abusewatch {
namespace {

constexpr char kArt11[] = "法释〔2019〕15号 第十一条第（二）项";
constexpr char kArt12[] = "法释〔2019〕15号 第十二条第一款第（二）项";

CaseTransition Firing(const std::string& rule, const std::string& key, int64_t at,
                      const std::string& basis, const std::string& severity, int n) {
  CaseTransition t;
  char id[33];
  std::snprintf(id, sizeof(id), "%032x", n);
  t.transition_id = id;
  t.rule_id = rule;
  t.key = key;
  t.firing = true;
  t.at_ms = at;
  t.notify = true;
  t.basis = basis;
  t.severity = severity;
  t.value = basis == kArt12 ? "236000.00" : "3";
  t.threshold = basis == kArt12 ? "200000.00" : "2";
  t.explain_zh = basis == kArt12 ? "支付结算金额超过二十万元" : "经监管部门告知后仍然提供服务";
  t.explain_en = basis == kArt12 ? "settlement total over CNY 200,000"
                                 : "kept serving after a regulator's notice";
  std::string ev = "ev-" + key + "-" + std::to_string(n);
  t.event_ids = {ev};
  t.payloads = {{ev, "{\"account\":\"" + key + "\",\"type\":\"payment\",\"amount\":\"236000\"}"}};
  return t;
}

int Run(const std::string& dir, uint16_t port) {
  std::unique_ptr<SqlDb> db;
  const std::string db_path = dir + "/review.db";
  if (Status s = OpenSqliteDb(db_path, &db); !s.ok()) {
    std::cerr << s.message() << "\n";
    return 1;
  }
  ReviewService service(std::move(db), ReviewOptions());
  if (ReviewResult r = service.Open(); !r.ok()) {
    std::cerr << r.message << "\n";
    return 1;
  }
  const int64_t t0 = 1'767'225'600'000;  // 2026-01-01T00:00:00Z
  int n = 0;
  for (int i = 0; i < 6; ++i) {
    std::string key = "acct-" + std::to_string(100 + i);
    service.RecordTransition(
        Firing("art12_2_settlement_total", key, t0 + i * 60'000, kArt12, "warning", ++n));
    if (i % 2 == 0) {
      service.RecordTransition(
          Firing("art11_2_after_notice", key, t0 + i * 60'000 + 1, kArt11, "critical", ++n));
    }
  }

  const std::string token_file = dir + "/tokens";
  std::ofstream out(token_file);
  std::string tokens[4];
  const char* names[4][2] = {
      {"victor", "viewer"}, {"alice", "reviewer"}, {"bob", "reviewer"}, {"ada", "admin"}};
  for (int i = 0; i < 4; ++i) {
    if (!GenerateToken(&tokens[i]).ok()) return 1;
    out << names[i][0] << " " << names[i][1] << " " << TokenHash(tokens[i]) << "\n";
  }
  out.close();
  ::chmod(token_file.c_str(), 0600);
  TokenStore store;
  if (Status s = store.Load(token_file); !s.ok()) {
    std::cerr << s.message() << "\n";
    return 1;
  }

  HttpServer::Options o;
  o.address = "127.0.0.1";
  o.port = port;
  o.threads = 2;
  HttpServer server(o);
  ReviewApiOptions api;
  api.open_audit_db = [db_path](std::unique_ptr<SqlDb>* out) { return OpenSqliteDb(db_path, out); };
  RegisterReviewRoutes(server, service, store, api);
  if (Status s = server.Start(); !s.ok()) {
    std::cerr << s.message() << "\n";
    return 1;
  }
  std::cout << "port " << server.port() << "\n";
  const char* roles[4] = {"viewer", "reviewer", "reviewer2", "admin"};
  for (int i = 0; i < 4; ++i) std::cout << "token " << roles[i] << " " << tokens[i] << "\n";
  std::cout << "ready" << std::endl;
  std::string line;
  while (std::getline(std::cin, line) && line != "quit") {
  }
  server.Stop();
  return 0;
}

}  // namespace
}  // namespace abusewatch

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::cerr << "usage: review_demo_server DIR [PORT]\n";
    return 2;
  }
  try {
    return abusewatch::Run(argv[1], argc == 3 ? static_cast<uint16_t>(std::stoi(argv[2])) : 0);
  } catch (const std::exception& e) {
    std::cerr << "review_demo_server: " << e.what() << "\n";
    return 1;
  }
}
