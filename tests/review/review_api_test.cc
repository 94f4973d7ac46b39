// The review HTTP API end to end: a real HttpServer on port 0, real sockets, a ReviewService on
// each test backend (workflow, exports, filters) or on SQLite (auth, roles, errors).
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "tests/review/review_api_test_util.h"

namespace abusewatch::testing {
namespace {

using ReviewApiTest = ReviewApiFixture;

TEST_P(ReviewApiTest, WorkflowThroughTheApiWithAuditAfterEachAction) {
  int64_t id = OpenCase("acct-1");
  ASSERT_GT(id, 0);
  EXPECT_EQ(AuditActions(id), std::vector<std::string>({"case_opened"}));

  Reply r = Post(CasePath(id, "/start-review"), tokens_.reviewer);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Header("content-type"), "application/json; charset=utf-8");
  EXPECT_EQ(r.Header("cache-control"), "no-store");
  Json started(r.body);
  EXPECT_EQ(started.S("/case/status"), "in_review");
  EXPECT_EQ(started.I("/case/id"), id);
  EXPECT_EQ(AuditActions(id).back(), "review_started");

  r = Post(CasePath(id, "/assign"), tokens_.reviewer, R"({"assignee":"bob"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Json(r.body).S("/case/assignee"), "bob");
  EXPECT_EQ(AuditActions(id).back(), "assigned");

  r = Post(CasePath(id, "/comments"), tokens_.reviewer2, R"({"body":"结算流水可疑 \"x\""})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_GT(Json(r.body).I("/comment_id"), 0);
  EXPECT_EQ(AuditActions(id).back(), "commented");

  r = Post(CasePath(id, "/decide"), tokens_.reviewer,
           R"({"decision":"confirmed","reason":"流水超过二十万元"})");
  ASSERT_EQ(r.status, 200) << r.body;
  Json decided(r.body);
  EXPECT_EQ(decided.S("/case/status"), "decided");
  EXPECT_EQ(decided.S("/case/decision"), "confirmed");
  EXPECT_EQ(decided.S("/case/decided_by"), "alice");  // the token's name, not a body field
  EXPECT_EQ(AuditActions(id).back(), "decided");

  r = Post(CasePath(id, "/close"), tokens_.reviewer, R"({"reason":"reported"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Json(r.body).S("/case/status"), "closed");
  EXPECT_EQ(AuditActions(id).back(), "closed");

  r = Post(CasePath(id, "/reopen"), tokens_.admin, R"({"reason":"new evidence"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Json(r.body).S("/case/status"), "open");
  EXPECT_EQ(AuditActions(id).back(), "reopened");

  // The detail has everything, and the audit entries carry the token names and roles.
  r = Get(CasePath(id), tokens_.viewer);
  ASSERT_EQ(r.status, 200) << r.body;
  Json detail(r.body);
  ASSERT_TRUE(detail.ok()) << r.body;
  EXPECT_EQ(detail.S("/account"), "acct-1");
  EXPECT_EQ(detail.S("/clauses/0/rule"), "art12_2_settlement_total");
  EXPECT_EQ(detail.S("/clauses/0/threshold"), "200000.00");
  EXPECT_EQ(detail.S("/comments/0/author"), "bob");
  EXPECT_EQ(detail.S("/comments/0/body"), "结算流水可疑 \"x\"");
  EXPECT_EQ(detail.S("/evidence/0/event_id"), "ev-acct-1-1");
  EXPECT_EQ(detail.Size("/audit"), 7);
  Reply audit = Get("/api/v1/audit?case=" + std::to_string(id), tokens_.viewer);
  Json entries(audit.body);
  EXPECT_EQ(entries.S("/entries/1/actor"), "alice");
  EXPECT_EQ(entries.S("/entries/1/role"), "reviewer");
  EXPECT_EQ(entries.S("/entries/6/actor"), "ada");
  EXPECT_EQ(entries.S("/entries/6/reason"), "new evidence");
  EXPECT_EQ(entries.S("/entries/6/hash").size(), 64u);

  r = Get("/api/v1/audit/verify", tokens_.admin);
  ASSERT_EQ(r.status, 200) << r.body;
  Json verify(r.body);
  EXPECT_TRUE(verify.B("/intact"));
  EXPECT_EQ(verify.I("/entries"), 7);
  EXPECT_EQ(verify.I("/head/seq"), 7);
}

TEST_P(ReviewApiTest, FourEyesApproveAndReject) {
  Start(/*four_eyes=*/true);
  int64_t a = OpenCase("acct-a");
  int64_t b = OpenCase("acct-b");
  for (int64_t id : {a, b}) {
    ASSERT_EQ(Post(CasePath(id, "/start-review"), tokens_.reviewer).status, 200);
    Reply r = Post(CasePath(id, "/decide"), tokens_.reviewer,
                   R"({"decision":"confirmed","reason":"clear"})");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(Json(r.body).S("/case/status"), "awaiting_second_review");
  }
  Reply own = Post(CasePath(a, "/approve"), tokens_.reviewer);
  EXPECT_EQ(own.status, 403) << own.body;
  EXPECT_EQ(Json(own.body).S("/error"), "forbidden");

  Reply ok = Post(CasePath(a, "/approve"), tokens_.reviewer2, "{}");
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(Json(ok.body).S("/case/status"), "decided");
  EXPECT_EQ(AuditActions(a).back(), "approved");

  Reply no_reason = Post(CasePath(b, "/reject"), tokens_.reviewer2, "{}");
  EXPECT_EQ(no_reason.status, 400);
  EXPECT_EQ(Json(no_reason.body).S("/message"), "missing field \"reason\"");
  Reply rejected = Post(CasePath(b, "/reject"), tokens_.reviewer2, R"({"reason":"not enough"})");
  ASSERT_EQ(rejected.status, 200) << rejected.body;
  EXPECT_EQ(Json(rejected.body).S("/case/status"), "in_review");
  EXPECT_EQ(AuditActions(b).back(), "rejected");

  Reply again = Post(CasePath(a, "/approve"), tokens_.reviewer2);  // already decided
  EXPECT_EQ(again.status, 409) << again.body;
  EXPECT_EQ(Json(again.body).S("/error"), "conflict");
}

TEST_P(ReviewApiTest, FalsePositiveSuppressionAndLift) {
  int64_t id = OpenCase("acct-fp");
  ASSERT_EQ(Post(CasePath(id, "/start-review"), tokens_.reviewer).status, 200);
  Reply r = Post(CasePath(id, "/decide"), tokens_.reviewer,
                 R"({"decision":"false_positive","reason":"payroll","suppress_for":"30d",)"
                 R"("suppress_rule":"art12_2_settlement_total"})");
  ASSERT_EQ(r.status, 200) << r.body;
  int64_t sid = Json(r.body).I("/suppression_id");
  ASSERT_GT(sid, 0) << r.body;
  EXPECT_TRUE(service_->IsSuppressed("art12_2_settlement_total", "acct-fp", now_.load() + 1));
  std::vector<std::string> actions = AuditActions(id);
  EXPECT_NE(std::find(actions.begin(), actions.end(), "suppression_created"), actions.end());

  std::string lift = "/api/v1/suppressions/" + std::to_string(sid) + "/lift";
  EXPECT_EQ(Post(lift, tokens_.reviewer, R"({"reason":"x"})").status, 403);
  EXPECT_EQ(Post(lift, tokens_.admin, "{}").status, 400);
  Reply lifted = Post(lift, tokens_.admin, R"({"reason":"owner asked"})");
  ASSERT_EQ(lifted.status, 200) << lifted.body;
  EXPECT_TRUE(Json(lifted.body).B("/lifted"));
  EXPECT_EQ(AuditActions(id).back(), "suppression_lifted");
  EXPECT_FALSE(service_->IsSuppressed("art12_2_settlement_total", "acct-fp", now_.load() + 1));
  EXPECT_EQ(Post(lift, tokens_.admin, R"({"reason":"again"})").status, 409);
  EXPECT_EQ(Post("/api/v1/suppressions/999/lift", tokens_.admin, R"({"reason":"x"})").status, 404);
  Json detail(Get(CasePath(id), tokens_.viewer).body);
  EXPECT_EQ(detail.S("/suppressions/0/lifted_by"), "ada");
}

TEST_P(ReviewApiTest, FiltersCountsAndPagination) {
  const char* kArt11Basis = kArt11;
  int64_t k1 = OpenCase("shop-1", "art11_concealment", kArt11Basis, "critical");
  OpenCase("shop-1", "art12_2_settlement_total", kArt12, "warning");  // both clauses: k1
  now_ += 1000;
  int64_t s2 = OpenCase("shop-2", "art12_2_settlement_total", kArt12, "warning");
  now_ += 1000;
  int64_t v3 = OpenCase("vps-3", "art11_concealment", kArt11Basis, "critical");
  for (int i = 0; i < 7; ++i) {
    now_ += 1000;
    OpenCase("bulk-" + std::to_string(i));
  }
  ASSERT_EQ(Post(CasePath(s2, "/start-review"), tokens_.reviewer).status, 200);
  ASSERT_EQ(Post(CasePath(v3, "/assign"), tokens_.reviewer, R"({"assignee":"bob"})").status, 200);

  auto ids = [&](const std::string& query) {
    Reply r = Get("/api/v1/cases" + query, tokens_.viewer);
    EXPECT_EQ(r.status, 200) << query << " " << r.body;
    Json j(r.body);
    std::set<int64_t> out;
    for (int64_t i = 0; i < j.Size("/cases"); ++i)
      out.insert(j.I("/cases/" + std::to_string(i) + "/id"));
    return out;
  };
  EXPECT_EQ(ids("").size(), 10u);
  EXPECT_EQ(ids("?status=in_review"), std::set<int64_t>({s2}));
  EXPECT_EQ(ids("?rule=art11_concealment"), std::set<int64_t>({k1, v3}));
  EXPECT_EQ(ids("?severity=critical"), std::set<int64_t>({k1, v3}));
  // clause=第十一条, percent-encoded UTF-8.
  EXPECT_EQ(ids("?clause=%E7%AC%AC%E5%8D%81%E4%B8%80%E6%9D%A1"), std::set<int64_t>({k1, v3}));
  EXPECT_EQ(ids("?both=1"), std::set<int64_t>({k1}));
  EXPECT_EQ(ids("?account=shop-2"), std::set<int64_t>({s2}));
  EXPECT_EQ(ids("?account_prefix=shop-"), std::set<int64_t>({k1, s2}));
  EXPECT_EQ(ids("?assignee=bob"), std::set<int64_t>({v3}));
  EXPECT_EQ(ids("?assignee=").size(), 9u);
  int64_t t0 = 1'767'225'600'000;
  EXPECT_EQ(
      ids("?time=opened&from=" + std::to_string(t0 + 1000) + "&to=" + std::to_string(t0 + 2000)),
      std::set<int64_t>({s2}));
  EXPECT_EQ(ids("?time=opened&from=2026-01-01T00:00:01Z&to=2026-01-01T08:00:02%2B08:00"),
            std::set<int64_t>({s2}));

  Reply counts = Get("/api/v1/cases?status=open&limit=1", tokens_.viewer);
  Json c(counts.body);
  EXPECT_EQ(c.I("/counts/open"), 9);
  EXPECT_EQ(c.I("/counts/in_review"), 1);
  EXPECT_EQ(c.Size("/cases"), 1);

  // Walking the pages with limit=3 visits every case once, newest first.
  std::vector<int64_t> walked;
  std::string cursor;
  for (int page = 0; page < 10; ++page) {
    std::string q = "/api/v1/cases?limit=3";
    if (!cursor.empty()) q += "&cursor=" + cursor;
    Reply r = Get(q, tokens_.viewer);
    ASSERT_EQ(r.status, 200) << r.body;
    Json j(r.body);
    for (int64_t i = 0; i < j.Size("/cases"); ++i)
      walked.push_back(j.I("/cases/" + std::to_string(i) + "/id"));
    cursor = j.S("/next_cursor");
    if (cursor.empty()) break;
    EXPECT_EQ(j.Size("/cases"), 3);
  }
  EXPECT_EQ(walked.size(), 10u);
  EXPECT_EQ(std::set<int64_t>(walked.begin(), walked.end()).size(), 10u);
}

TEST_P(ReviewApiTest, ExportsContentTypesAndContent) {
  int64_t id = OpenCase("acct-\"<x>\"");
  Reply json = Get(CasePath(id, "/export.json"), tokens_.viewer);
  ASSERT_EQ(json.status, 200);
  EXPECT_EQ(json.Header("content-type"), "application/json; charset=utf-8");
  EXPECT_EQ(json.Header("content-disposition"),
            "attachment; filename=\"case-" + std::to_string(id) + ".json\"");
  EXPECT_EQ(Json(json.body).S("/account"), "acct-\"<x>\"");

  Reply csv = Get(CasePath(id, "/export.csv"), tokens_.viewer);
  ASSERT_EQ(csv.status, 200);
  EXPECT_EQ(csv.Header("content-type"), "text/csv; charset=utf-8");
  EXPECT_NE(csv.body.find("art12_2_settlement_total"), std::string::npos) << csv.body;
  EXPECT_NE(csv.body.find("\r\n"), std::string::npos);

  Reply html = Get(CasePath(id, "/export.html"), tokens_.viewer);
  ASSERT_EQ(html.status, 200);
  EXPECT_EQ(html.Header("content-type"), "text/html; charset=utf-8");
  EXPECT_NE(html.Header("content-security-policy").find("default-src 'none'"), std::string::npos);
  EXPECT_NE(html.body.find("acct-&quot;&lt;x&gt;&quot;"), std::string::npos);
  EXPECT_EQ(html.body.find("<x>"), std::string::npos);
  EXPECT_EQ(html.body.find("<script"), std::string::npos);

  EXPECT_EQ(Get(CasePath(999, "/export.csv"), tokens_.viewer).status, 404);
}

INSTANTIATE_TEST_SUITE_P(Backends, ReviewApiTest, ::testing::ValuesIn(TestBackends()));

}  // namespace
}  // namespace abusewatch::testing
