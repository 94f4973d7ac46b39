// Shared by the review API tests (header only; the test binary globs *_test.cc): a real
// HttpServer on 127.0.0.1:0 with the review routes over a ReviewService on a fresh test
// database, a token file with one token per role, a Boost.Beast client and a JSON reader.
#ifndef ABUSEWATCH_TESTS_REVIEW_REVIEW_API_TEST_UTIL_H_
#define ABUSEWATCH_TESTS_REVIEW_REVIEW_API_TEST_UTIL_H_

#include <gtest/gtest.h>
#include <simdjson.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "daemon/http/http_server.h"
#include "daemon/review/auth.h"
#include "daemon/review/review_api.h"
#include "daemon/review/review_service.h"
#include "tests/review/review_test_util.h"
#include "tests/review/test_db.h"

namespace abusewatch::testing {

struct Reply {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

// A parsed JSON body; lookups by JSON Pointer ("/cases/0/id"), "<missing>" / -1 when absent.
class Json {
 public:
  explicit Json(const std::string& text) { ok_ = !parser_.parse(text).get(root_); }
  bool ok() const { return ok_; }
  std::string S(std::string_view ptr) {
    std::string_view v;
    if (!ok_ || root_.at_pointer(ptr).get(v)) return "<missing>";
    return std::string(v);
  }
  int64_t I(std::string_view ptr) {
    int64_t v = -1;
    if (!ok_ || root_.at_pointer(ptr).get(v)) return -1;
    return v;
  }
  bool B(std::string_view ptr) {
    bool v = false;
    if (!ok_ || root_.at_pointer(ptr).get(v)) return false;
    return v;
  }
  int64_t Size(std::string_view ptr) {  // array length or member count; -1 when absent
    simdjson::dom::element e;
    if (!ok_ || root_.at_pointer(ptr).get(e)) return -1;
    simdjson::dom::array a;
    if (!e.get(a)) return static_cast<int64_t>(a.size());
    simdjson::dom::object o;
    if (!e.get(o)) return static_cast<int64_t>(o.size());
    return -1;
  }

 private:
  simdjson::dom::parser parser_;
  simdjson::dom::element root_;
  bool ok_ = false;
};

struct Tokens {
  std::string viewer, reviewer, reviewer2, admin;
};

class ReviewApiFixture : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { Start(false); }
  void TearDown() override {
    server_.reset();
    service_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  void Start(bool four_eyes, ReviewApiOptions api = ReviewApiOptions(), bool verifier = true) {
    server_.reset();
    service_.reset();
    if (dir_.empty()) {
      std::string templ = (std::filesystem::temp_directory_path() / "aw-api-XXXXXX").string();
      ASSERT_NE(mkdtemp(templ.data()), nullptr);
      dir_ = templ;
      WriteTokens();
    }
    std::unique_ptr<SqlDb> db;
    Status s = OpenTestDb(GetParam(), &db, &where_);
    ASSERT_TRUE(s.ok()) << s.message();
    ReviewOptions options;
    options.four_eyes = four_eyes;
    options.now_ms = [this] { return now_.load(); };
    service_ = std::make_unique<ReviewService>(std::move(db), options);
    ReviewResult r = service_->Open();
    ASSERT_TRUE(r.ok()) << r.message;
    if (verifier) {
      std::string backend = GetParam(), where = where_;
      api.open_audit_db = [backend, where](std::unique_ptr<SqlDb>* out) {
        return ReopenTestDb(backend, where, out);
      };
    }
    HttpServer::Options o;
    o.address = "127.0.0.1";
    o.port = 0;
    o.threads = 2;
    server_ = std::make_unique<HttpServer>(o);
    RegisterReviewRoutes(*server_, *service_, store_, api);
    s = server_->Start();
    ASSERT_TRUE(s.ok()) << s.message();
  }

  void WriteTokens() {
    std::string file = dir_ + "/tokens";
    std::ofstream out(file);
    auto add = [&](const char* name, const char* role, std::string* token) {
      ASSERT_TRUE(GenerateToken(token).ok());
      out << name << " " << role << " " << TokenHash(*token) << "\n";
    };
    add("victor", "viewer", &tokens_.viewer);
    add("alice", "reviewer", &tokens_.reviewer);
    add("bob", "reviewer", &tokens_.reviewer2);
    add("ada", "admin", &tokens_.admin);
    out.close();
    ::chmod(file.c_str(), 0600);
    Status s = store_.Load(file);
    ASSERT_TRUE(s.ok()) << s.message();
  }

  // One request on a new connection. `token` "" sends no Authorization header.
  Reply Call(const std::string& method, const std::string& target, const std::string& token,
             const std::string& body = "",
             const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    namespace http = boost::beast::http;
    Reply out;
    try {
      boost::asio::io_context ioc;
      boost::asio::ip::tcp::socket socket(ioc);
      socket.connect({boost::asio::ip::make_address("127.0.0.1"), server_->port()});
      http::request<http::string_body> req;
      req.method_string(method);
      req.target(target);
      req.version(11);
      req.set(http::field::host, "127.0.0.1");
      if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
      for (const auto& [name, value] : headers) req.set(name, value);
      if (!body.empty() || method == "POST") {
        req.set(http::field::content_type, "application/json");
        req.body() = body;
      }
      req.prepare_payload();
      http::write(socket, req);
      boost::beast::flat_buffer buffer;
      http::response_parser<http::string_body> parser;
      parser.body_limit(64 << 20);
      if (method == "HEAD") parser.skip(true);
      http::read(socket, buffer, parser);
      const auto& res = parser.get();
      out.status = static_cast<int>(res.result_int());
      for (const auto& f : res) {
        std::string name(f.name_string().data(), f.name_string().size());
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        out.headers[name] = std::string(f.value().data(), f.value().size());
      }
      out.body = res.body();
    } catch (const std::exception& e) {
      ADD_FAILURE() << method << " " << target << ": " << e.what();
    }
    return out;
  }

  Reply Get(const std::string& target, const std::string& token) {
    return Call("GET", target, token);
  }
  Reply Post(const std::string& target, const std::string& token, const std::string& body = "") {
    return Call("POST", target, token, body);
  }

  // Records a notify firing of `rule` for `key` (at now_) and returns the case id.
  int64_t OpenCase(const std::string& key, const std::string& rule = "art12_2_settlement_total",
                   const std::string& basis = kArt12, const std::string& severity = "warning") {
    RecordOutcome out;
    CaseTransition t = MakeTransition(rule, key, true, now_.load(), true, basis, severity);
    t.event_ids = {"ev-" + key + "-1"};
    t.payloads = {{"ev-" + key + "-1", "{\"account\":\"" + key + "\",\"amount\":\"250000\"}"}};
    ReviewResult r = service_->RecordTransition(t, &out);
    EXPECT_TRUE(r.ok()) << r.message;
    return out.case_id;
  }

  // Actions of the case's audit entries, by seq, through the API.
  std::vector<std::string> AuditActions(int64_t id) {
    Reply r = Get("/api/v1/audit?case=" + std::to_string(id), tokens_.viewer);
    EXPECT_EQ(r.status, 200) << r.body;
    Json j(r.body);
    std::vector<std::string> out;
    for (int64_t i = 0; i < j.Size("/entries"); ++i) {
      out.push_back(j.S("/entries/" + std::to_string(i) + "/action"));
    }
    return out;
  }

  std::string CasePath(int64_t id, const std::string& suffix = "") {
    return "/api/v1/cases/" + std::to_string(id) + suffix;
  }

  std::atomic<int64_t> now_{1'767'225'600'000};  // 2026-01-01T00:00:00Z
  std::string dir_, where_;
  Tokens tokens_;
  TokenStore store_;
  std::unique_ptr<ReviewService> service_;
  std::unique_ptr<HttpServer> server_;
};

}  // namespace abusewatch::testing

#endif  // ABUSEWATCH_TESTS_REVIEW_REVIEW_API_TEST_UTIL_H_
