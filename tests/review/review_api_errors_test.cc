// The review HTTP API's refusals: 401 (missing, malformed, unknown token), 403 per role, 404,
// 405, 409, 400 (bad JSON, unknown / mistyped / repeated field, missing reason, bad query),
// 413; and the review page's routes and headers. On SQLite (the API layer does not depend on
// the backend; review_api_test.cc runs the workflow on every backend).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "daemon/review/review_page.h"
#include "tests/review/review_api_test_util.h"

namespace abusewatch::testing {
namespace {

using ReviewApiErrorsTest = ReviewApiFixture;

void ExpectJsonError(const Reply& r, int status, const std::string& code,
                     const std::string& message_part = "") {
  EXPECT_EQ(r.status, status) << r.body;
  EXPECT_EQ(r.Header("content-type"), "application/json; charset=utf-8");
  EXPECT_EQ(r.Header("cache-control"), "no-store");
  Json j(r.body);
  EXPECT_TRUE(j.ok()) << r.body;
  EXPECT_EQ(j.S("/error"), code) << r.body;
  EXPECT_NE(j.S("/message").find(message_part), std::string::npos) << r.body;
}

TEST_P(ReviewApiErrorsTest, UnauthorizedWithoutAValidToken) {
  int64_t id = OpenCase("acct-1");
  for (const std::string& target :
       {std::string("/api/v1/cases"), CasePath(id), std::string("/api/v1/no-such-route")}) {
    Reply missing = Get(target, "");
    ExpectJsonError(missing, 401, "unauthorized", "missing Authorization");
    EXPECT_EQ(missing.Header("www-authenticate").rfind("Bearer", 0), 0u);
  }
  Reply basic = Call("GET", "/api/v1/cases", "", "", {{"Authorization", "Basic YWxpY2U6eA=="}});
  ExpectJsonError(basic, 401, "unauthorized", "malformed");
  Reply empty_bearer = Call("GET", "/api/v1/cases", "", "", {{"Authorization", "Bearer"}});
  ExpectJsonError(empty_bearer, 401, "unauthorized", "malformed");
  Reply unknown = Get("/api/v1/cases", "aw_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
  ExpectJsonError(unknown, 401, "unauthorized", "unknown token");
  EXPECT_FALSE(unknown.Header("www-authenticate").empty());
  // A refused action changes nothing.
  Reply post = Post(CasePath(id, "/start-review"), "");
  ExpectJsonError(post, 401, "unauthorized");
  EXPECT_EQ(AuditActions(id), std::vector<std::string>({"case_opened"}));
}

TEST_P(ReviewApiErrorsTest, EveryRouteAgainstEveryRole) {
  struct RouteCase {
    std::string method, suffix, body;
    Role need;
  };
  int64_t id = OpenCase("acct-roles");
  const std::vector<RouteCase> routes = {
      {"GET", "", "", Role::kViewer},
      {"GET", "/export.json", "", Role::kViewer},
      {"GET", "/export.csv", "", Role::kViewer},
      {"GET", "/export.html", "", Role::kViewer},
      {"POST", "/start-review", "", Role::kReviewer},
      {"POST", "/decide", R"({"decision":"confirmed","reason":"r"})", Role::kReviewer},
      {"POST", "/approve", "", Role::kReviewer},
      {"POST", "/reject", R"({"reason":"r"})", Role::kReviewer},
      {"POST", "/close", R"({"reason":"r"})", Role::kReviewer},
      {"POST", "/reopen", R"({"reason":"r"})", Role::kAdmin},
      {"POST", "/assign", R"({"assignee":"x"})", Role::kReviewer},
      {"POST", "/comments", R"({"body":"b"})", Role::kReviewer},
  };
  const std::vector<std::pair<Role, std::string>> roles = {{Role::kViewer, tokens_.viewer},
                                                           {Role::kReviewer, tokens_.reviewer},
                                                           {Role::kAdmin, tokens_.admin}};
  for (const auto& [role, token] : roles) {
    for (const RouteCase& rc : routes) {
      size_t before = AuditActions(id).size();
      Reply r = Call(rc.method, CasePath(id, rc.suffix), token, rc.body);
      SCOPED_TRACE(std::string(RoleName(role)) + " " + rc.method + " " + rc.suffix);
      if (Allows(role, rc.need)) {
        EXPECT_NE(r.status, 403) << r.body;
        EXPECT_NE(r.status, 401) << r.body;
      } else {
        ExpectJsonError(r, 403, "forbidden", std::string(RoleName(rc.need)));
        EXPECT_EQ(AuditActions(id).size(), before);
      }
    }
    Reply lift = Post("/api/v1/suppressions/1/lift", token, R"({"reason":"r"})");
    if (role == Role::kAdmin) {
      EXPECT_EQ(lift.status, 404) << lift.body;  // allowed, but there is none
    } else {
      ExpectJsonError(lift, 403, "forbidden", "admin");
    }
    Reply verify = Get("/api/v1/audit/verify", token);
    EXPECT_EQ(verify.status, role == Role::kAdmin ? 200 : 403) << verify.body;
    Reply list = Get("/api/v1/cases", token);
    EXPECT_EQ(list.status, 200) << list.body;
    Reply audit = Get("/api/v1/audit?case=" + std::to_string(id), token);
    EXPECT_EQ(audit.status, 200) << audit.body;
  }
}

TEST_P(ReviewApiErrorsTest, NotFoundConflictAndMethodNotAllowed) {
  int64_t id = OpenCase("acct-1");
  ExpectJsonError(Get(CasePath(999), tokens_.viewer), 404, "not_found");
  ExpectJsonError(Post(CasePath(999, "/start-review"), tokens_.reviewer), 404, "not_found");
  ExpectJsonError(Get("/api/v1/nothing", tokens_.viewer), 404, "not_found", "/api/v1/nothing");
  ExpectJsonError(Get(CasePath(id, "/unknown-action"), tokens_.viewer), 404, "not_found");
  ExpectJsonError(Get("/api/v1/cases/abc", tokens_.viewer), 400, "bad_request", "abc");
  ExpectJsonError(Get("/api/v1/cases/0", tokens_.viewer), 400, "bad_request");
  ExpectJsonError(Get("/api/v1/audit?case=999", tokens_.viewer), 404, "not_found");

  // 409: the action does not apply in the case's state.
  ExpectJsonError(Post(CasePath(id, "/approve"), tokens_.reviewer), 409, "conflict");
  ExpectJsonError(Post(CasePath(id, "/decide"), tokens_.reviewer,
                       R"({"decision":"confirmed","reason":"too early"})"),
                  409, "conflict");
  ExpectJsonError(Post(CasePath(id, "/reopen"), tokens_.admin, R"({"reason":"not closed"})"), 409,
                  "conflict");
  EXPECT_EQ(AuditActions(id), std::vector<std::string>({"case_opened"}));

  Reply get_action = Get(CasePath(id, "/decide"), tokens_.reviewer);
  ExpectJsonError(get_action, 405, "method_not_allowed");
  EXPECT_EQ(get_action.Header("allow"), "POST");
  Reply post_list = Post("/api/v1/cases", tokens_.reviewer, "{}");
  ExpectJsonError(post_list, 405, "method_not_allowed");
  EXPECT_EQ(post_list.Header("allow"), "GET, HEAD");
  ExpectJsonError(Call("DELETE", CasePath(id), tokens_.admin), 405, "method_not_allowed");

  Reply head = Call("HEAD", CasePath(id), tokens_.viewer);
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.body.empty());
}

TEST_P(ReviewApiErrorsTest, BadBodies) {
  int64_t id = OpenCase("acct-1");
  ASSERT_EQ(Post(CasePath(id, "/start-review"), tokens_.reviewer).status, 200);
  const std::string decide = CasePath(id, "/decide");
  struct BadBody {
    std::string body, message;
  };
  const std::vector<BadBody> bad = {
      {"{", "not valid JSON"},
      {"[1]", "must be a JSON object"},
      {"\"x\"", "must be a JSON object"},
      {R"({"decision":"confirmed","reason":"r"} trailing)", "not valid JSON"},
      {R"({"decision":"confirmed","reason":"r","actor":"mallory"})", "unknown field \"actor\""},
      {R"({"decision":"confirmed","reason":5})", "field \"reason\" must be a string"},
      {R"({"decision":null,"reason":"r"})", "field \"decision\" must be a string"},
      {R"({"decision":"confirmed"})", "missing field \"reason\""},
      {R"({"reason":"r"})", "missing field \"decision\""},
      {R"({"decision":"confirmed","reason":"a","reason":"b"})", "more than once"},
      {R"({"decision":"false_positive","reason":"r","suppress_for":"forever"})", "suppress_for"},
      {R"({"decision":"maybe","reason":"r"})", ""},                            // the service's 400
      {R"({"decision":"confirmed","reason":"   "})", ""},                      // blank reason
      {"{\"decision\":\"confirmed\",\"reason\":\"\xff\"}", "not valid JSON"},  // bad UTF-8
  };
  for (const BadBody& b : bad) {
    SCOPED_TRACE(b.body);
    ExpectJsonError(Post(decide, tokens_.reviewer, b.body), 400, "bad_request", b.message);
  }
  ExpectJsonError(Post(CasePath(id, "/comments"), tokens_.reviewer, "{}"), 400, "bad_request",
                  "missing field \"body\"");
  ExpectJsonError(Post(CasePath(id, "/close"), tokens_.reviewer, "{}"), 400, "bad_request",
                  "missing field \"reason\"");
  ExpectJsonError(Post(CasePath(id, "/approve"), tokens_.reviewer, R"({"reason":"x"})"), 400,
                  "bad_request", "unknown field \"reason\"");
  ExpectJsonError(Post(CasePath(id, "/assign"), tokens_.reviewer, R"({"assignee":["x"]})"), 400,
                  "bad_request", "field \"assignee\" must be a string");
  // Nothing above changed the case.
  EXPECT_EQ(AuditActions(id), std::vector<std::string>({"case_opened", "review_started"}));
}

TEST_P(ReviewApiErrorsTest, BodyOverTheLimitIs413) {
  ReviewApiOptions api;
  api.max_body_bytes = 1024;
  Start(false, api);
  int64_t id = OpenCase("acct-1");
  std::string big = R"({"body":")" + std::string(2000, 'x') + R"("})";
  ExpectJsonError(Post(CasePath(id, "/comments"), tokens_.reviewer, big), 413, "payload_too_large",
                  "1024");
  std::string fits = R"({"body":")" + std::string(900, 'x') + R"("})";
  EXPECT_EQ(Post(CasePath(id, "/comments"), tokens_.reviewer, fits).status, 200);
}

TEST_P(ReviewApiErrorsTest, BadQueries) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"?bogus=1", "unknown query parameter \"bogus\""},
      {"?limit=0", "limit"},
      {"?limit=501", "limit"},
      {"?limit=ten", "limit"},
      {"?from=yesterday", "from"},
      {"?to=2026-02-30T00:00:00Z", "to"},
      {"?both=maybe", "both"},
      {"?time=closed", "time"},
      {"?status=open&status=closed", "more than once"},
      {"?account=a&account_prefix=b", "account_prefix"},
      {"?account=%zz", "malformed"},
      {"?cursor=not-a-cursor", ""},  // the service's 400
  };
  for (const auto& [query, message] : bad) {
    SCOPED_TRACE(query);
    ExpectJsonError(Get("/api/v1/cases" + query, tokens_.viewer), 400, "bad_request", message);
  }
  ExpectJsonError(Get("/api/v1/audit", tokens_.viewer), 400, "bad_request", "case");
  ExpectJsonError(Get("/api/v1/audit?case=1&x=2", tokens_.viewer), 400, "bad_request", "x");
}

TEST_P(ReviewApiErrorsTest, VerifyNotConfiguredIs501) {
  Start(false, ReviewApiOptions(), /*verifier=*/false);
  ExpectJsonError(Get("/api/v1/audit/verify", tokens_.admin), 501, "not_configured");
}

TEST_P(ReviewApiErrorsTest, JsonOutputIsEscaped) {
  std::string key = "acct-\"\\\n</script>\x01";
  int64_t id = OpenCase(key);
  Reply r = Get(CasePath(id), tokens_.viewer);
  ASSERT_EQ(r.status, 200);
  Json j(r.body);
  ASSERT_TRUE(j.ok()) << r.body;
  EXPECT_EQ(j.S("/account"), key);
  Reply list = Get("/api/v1/cases", tokens_.viewer);
  EXPECT_EQ(Json(list.body).S("/cases/0/account"), key);
}

TEST_P(ReviewApiErrorsTest, PageIsServedWithSecurityHeaders) {
  Reply page = Get("/review/", "");
  ASSERT_EQ(page.status, 200);
  EXPECT_EQ(page.Header("content-type"), "text/html; charset=utf-8");
  EXPECT_NE(page.Header("content-security-policy").find("default-src 'self'"), std::string::npos);
  EXPECT_EQ(page.Header("x-content-type-options"), "nosniff");
  EXPECT_EQ(page.Header("x-frame-options"), "DENY");
  EXPECT_EQ(page.body, ReviewPageHtml());
  Reply js = Get("/review/app.js", "");
  EXPECT_EQ(js.status, 200);
  EXPECT_EQ(js.Header("content-type"), "text/javascript; charset=utf-8");
  Reply css = Get("/review/app.css", "");
  EXPECT_EQ(css.Header("content-type"), "text/css; charset=utf-8");
  EXPECT_EQ(Get("/review/favicon.svg", "").Header("content-type"), "image/svg+xml");
  Reply redirect = Get("/review", "");
  EXPECT_EQ(redirect.status, 308);
  EXPECT_EQ(redirect.Header("location"), "/review/");
  // Self-contained: no external resources, no inline script (CSP forbids it).
  for (std::string_view text : {ReviewPageHtml(), ReviewPageJs(), ReviewPageCss()}) {
    EXPECT_EQ(text.find("http://"), std::string_view::npos);
    EXPECT_EQ(text.find("https://"), std::string_view::npos);
    EXPECT_EQ(text.find("//cdn"), std::string_view::npos);
  }
  EXPECT_EQ(std::string(ReviewPageHtml()).find("<script>"), std::string::npos);
  EXPECT_EQ(std::string(ReviewPageHtml()).find("style="), std::string::npos);
}

TEST_P(ReviewApiErrorsTest, PageCanBeDisabled) {
  ReviewApiOptions api;
  api.enable_page = false;
  Start(false, api);
  EXPECT_EQ(Get("/review/", "").status, 404);
  EXPECT_EQ(Get("/api/v1/cases", tokens_.viewer).status, 200);
}

// review_page.cc is generated at build time from daemon/review/page/ by embed.sh (so it cannot be
// stale): the embedded texts are the page files byte for byte.
TEST(ReviewPage, EmbeddedPageIsItsSourcesByteForByte) {
  std::filesystem::path page =
      std::filesystem::path(ABUSEWATCH_SOURCE_DIR) / "daemon" / "review" / "page";
  auto read = [&](const char* name) {
    std::ifstream in(page / name, std::ios::binary);
    EXPECT_TRUE(in.good()) << (page / name);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  EXPECT_EQ(ReviewPageHtml(), read("index.html"));
  EXPECT_EQ(ReviewPageJs(), read("app.js"));
  EXPECT_EQ(ReviewPageCss(), read("app.css"));
  EXPECT_EQ(ReviewPageIcon(), read("favicon.svg"));
}

INSTANTIATE_TEST_SUITE_P(Sqlite, ReviewApiErrorsTest, ::testing::Values("sqlite"));

}  // namespace
}  // namespace abusewatch::testing
