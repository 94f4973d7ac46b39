// ReviewService: the engine's input (RecordTransition) and the reviewers' workflow, on every
// backend of TestBackends().
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "daemon/review/audit.h"
#include "daemon/review/review_service.h"
#include "tests/review/review_test_util.h"

namespace abusewatch::testing {
namespace {

using RecordTest = ReviewFixture;
using WorkflowTest = ReviewFixture;

std::vector<std::string> Actions(const CaseDetail& d) {
  std::vector<std::string> out;
  for (const AuditEntry& e : d.audit) out.push_back(e.action);
  return out;
}

TEST_P(RecordTest, NotifyFiringOpensCaseAndJoinsTimeline) {
  CaseTransition t = MakeTransition("art12_2_settlement_total", "acct-1", true, now_);
  t.event_ids = {"p-1", "p-2"};
  t.payloads = {{"p-1", R"({"id":"p-1","amount":"100000.00"})"}};
  RecordOutcome out;
  ASSERT_TRUE(service_->RecordTransition(t, &out).ok());
  EXPECT_TRUE(out.opened);
  EXPECT_TRUE(out.stored);
  EXPECT_FALSE(out.suppressed);
  EXPECT_FALSE(out.duplicate);
  CaseDetail d;
  ASSERT_TRUE(service_->Get(out.case_id, &d).ok());
  EXPECT_EQ(d.summary.account, "acct-1");
  EXPECT_EQ(d.summary.status, "open");
  EXPECT_EQ(d.summary.severity, "warning");
  EXPECT_EQ(d.summary.opened_at_ms, now_);
  ASSERT_EQ(d.timeline.size(), 1u);
  EXPECT_EQ(d.timeline[0].transition_id, t.transition_id);
  EXPECT_EQ(d.timeline[0].event_ids, (std::vector<std::string>{"p-1", "p-2"}));
  ASSERT_EQ(d.clauses.size(), 1u);
  EXPECT_TRUE(d.clauses[0].firing);
  EXPECT_EQ(d.clauses[0].value, "200000.00");
  EXPECT_EQ(d.clauses[0].explain_zh, t.explain_zh);
  ASSERT_EQ(d.evidence.size(), 1u);
  EXPECT_EQ(d.evidence[0].raw, t.payloads[0].second);
  EXPECT_FALSE(d.evidence[0].truncated);
  EXPECT_EQ(Actions(d), (std::vector<std::string>{"case_opened"}));
  EXPECT_EQ(d.audit[0].actor, "system");
}

TEST_P(RecordTest, IdempotentByTransitionId) {
  CaseTransition t = MakeTransition("r1", "acct-1", true, now_);
  RecordOutcome first, again;
  ASSERT_TRUE(service_->RecordTransition(t, &first).ok());
  ASSERT_TRUE(service_->RecordTransition(t, &again).ok());
  EXPECT_TRUE(again.duplicate);
  EXPECT_FALSE(again.stored);
  CaseDetail d;
  ASSERT_TRUE(service_->Get(first.case_id, &d).ok());
  EXPECT_EQ(d.timeline.size(), 1u);
  EXPECT_EQ(d.audit.size(), 1u);
  // Re-emitted after the case was closed: still ignored, the case stays closed.
  ASSERT_TRUE(service_->StartReview(alice_, first.case_id).ok());
  ASSERT_TRUE(service_->Decide(alice_, first.case_id, {"confirmed", "proof"}).ok());
  ASSERT_TRUE(service_->Close(alice_, first.case_id, "done").ok());
  ASSERT_TRUE(service_->RecordTransition(t, &again).ok());
  EXPECT_TRUE(again.duplicate);
  EXPECT_EQ(CaseStatus(first.case_id), "closed");
}

TEST_P(RecordTest, KeysWithoutCaseAreNotStored) {
  RecordOutcome out;
  // Not notify, firing; notify but resolved: neither opens a case.
  ASSERT_TRUE(service_->RecordTransition(MakeTransition("r", "k", true, now_, false), &out).ok());
  EXPECT_FALSE(out.stored);
  ASSERT_TRUE(service_->RecordTransition(MakeTransition("r", "k", false, now_ + 1), &out).ok());
  EXPECT_FALSE(out.stored);
  int64_t id = 0;
  EXPECT_EQ(service_->FindCase("k", &id).code, ReviewErrc::kNotFound);
  CasePage page;
  ASSERT_TRUE(service_->List({}, &page).ok());
  EXPECT_TRUE(page.cases.empty());
}

TEST_P(RecordTest, EveryTransitionOfAKeyWithACaseJoins) {
  int64_t id = OpenCase("acct-9", "notify_rule");
  RecordOutcome out;
  ASSERT_TRUE(service_
                  ->RecordTransition(
                      MakeTransition("silent_rule", "acct-9", true, now_ + 5, false, kArt11), &out)
                  .ok());
  EXPECT_TRUE(out.stored);
  EXPECT_FALSE(out.opened);
  ASSERT_TRUE(
      service_->RecordTransition(MakeTransition("notify_rule", "acct-9", false, now_ + 9), &out)
          .ok());
  CaseDetail d;
  ASSERT_TRUE(service_->Get(id, &d).ok());
  ASSERT_EQ(d.timeline.size(), 3u);
  ASSERT_EQ(d.clauses.size(), 2u);
  EXPECT_EQ(d.clauses[0].rule_id, "notify_rule");
  EXPECT_FALSE(d.clauses[0].firing);
  EXPECT_EQ(d.clauses[0].value, "0.00");
  EXPECT_EQ(d.clauses[0].last_at_ms, now_ + 9);
  EXPECT_EQ(d.clauses[0].first_at_ms, now_);
  EXPECT_TRUE(d.clauses[1].firing);
}

TEST_P(RecordTest, KnowledgeAndSeriousFollowFiringClauses) {
  int64_t id = OpenCase("acct-2", "art12_rule");
  CaseDetail d;
  ASSERT_TRUE(service_->Get(id, &d).ok());
  EXPECT_TRUE(d.summary.serious);
  EXPECT_FALSE(d.summary.knowledge);
  ASSERT_TRUE(service_
                  ->RecordTransition(MakeTransition("art11_rule", "acct-2", true, now_ + 1, true,
                                                    kArt11, "critical"))
                  .ok());
  ASSERT_TRUE(service_->Get(id, &d).ok());
  EXPECT_TRUE(d.summary.serious);
  EXPECT_TRUE(d.summary.knowledge);
  EXPECT_EQ(d.summary.severity, "critical");
  ASSERT_TRUE(
      service_->RecordTransition(MakeTransition("art12_rule", "acct-2", false, now_ + 2)).ok());
  ASSERT_TRUE(service_->Get(id, &d).ok());
  EXPECT_FALSE(d.summary.serious);
  EXPECT_TRUE(d.summary.knowledge);
}

TEST_P(RecordTest, EvidenceUniqueTruncatedAndBounded) {
  CaseTransition t = MakeTransition("r", "acct-e", true, now_);
  std::string big(100, 'x');
  big += "汉";  // the cut must not split it: the limit is 64 bytes
  t.payloads = {{"e1", "small"}, {"e2", big}, {"e1", "other"}};
  RecordOutcome out;
  ASSERT_TRUE(service_->RecordTransition(t, &out).ok());
  CaseTransition t2 = MakeTransition("r", "acct-e", false, now_ + 1);
  for (int i = 3; i <= 9; ++i) t2.payloads.push_back({"e" + std::to_string(i), "p"});
  ASSERT_TRUE(service_->RecordTransition(t2).ok());
  CaseDetail d;
  ASSERT_TRUE(service_->Get(out.case_id, &d).ok());
  ASSERT_EQ(d.evidence.size(), 5u);  // max_evidence_per_case
  EXPECT_EQ(d.evidence[0].event_id, "e1");
  EXPECT_EQ(d.evidence[0].raw, "small");  // first one kept
  EXPECT_EQ(d.evidence[1].event_id, "e2");
  EXPECT_TRUE(d.evidence[1].truncated);
  EXPECT_EQ(d.evidence[1].raw, std::string(64, 'x'));
  EXPECT_EQ(d.evidence[1].original_bytes, static_cast<int64_t>(big.size()));
}

TEST_P(RecordTest, RejectsMalformedTransitions) {
  CaseTransition t = MakeTransition("r", "k", true, now_);
  t.transition_id = "xyz";
  EXPECT_EQ(service_->RecordTransition(t).code, ReviewErrc::kBadInput);
  t = MakeTransition("r", "k", true, now_);
  t.severity = "fatal";
  EXPECT_EQ(service_->RecordTransition(t).code, ReviewErrc::kBadInput);
  t = MakeTransition("r", "", true, now_);
  EXPECT_EQ(service_->RecordTransition(t).code, ReviewErrc::kBadInput);
  t = MakeTransition("r", "k\xff", true, now_);
  EXPECT_EQ(service_->RecordTransition(t).code, ReviewErrc::kBadInput);
}

TEST_P(RecordTest, NotifyFiringReopensClosedCase) {
  int64_t id = OpenCase("acct-r");
  ASSERT_TRUE(service_->StartReview(alice_, id).ok());
  ASSERT_TRUE(service_->Decide(alice_, id, {"false_positive", "test account"}).ok());
  ASSERT_TRUE(service_->Close(alice_, id, "done").ok());
  // A non-notify firing joins the timeline but does not reopen.
  RecordOutcome out;
  ASSERT_TRUE(
      service_->RecordTransition(MakeTransition("quiet", "acct-r", true, now_ + 1, false), &out)
          .ok());
  EXPECT_TRUE(out.stored);
  EXPECT_FALSE(out.reopened);
  EXPECT_EQ(CaseStatus(id), "closed");
  now_ += 1000;
  ASSERT_TRUE(service_->RecordTransition(MakeTransition("loud", "acct-r", true, now_), &out).ok());
  EXPECT_TRUE(out.reopened);
  EXPECT_EQ(out.case_id, id);
  CaseDetail d;
  ASSERT_TRUE(service_->Get(id, &d).ok());
  EXPECT_EQ(d.summary.status, "open");
  EXPECT_EQ(d.summary.decision, "");
  EXPECT_EQ(d.audit.back().action, "case_reopened");
  EXPECT_EQ(d.audit.back().actor, "system");
}

TEST_P(WorkflowTest, FullPathWithAuditTrail) {
  int64_t id = OpenCase("acct-w");
  ASSERT_TRUE(service_->Assign(alice_, id, "alice").ok());
  ASSERT_TRUE(service_->StartReview(alice_, id).ok());
  EXPECT_EQ(CaseStatus(id), "in_review");
  int64_t comment = 0;
  ASSERT_TRUE(service_->Comment(bob_, id, "looks like a mule account", &comment).ok());
  EXPECT_GT(comment, 0);
  ASSERT_TRUE(service_->Decide(alice_, id, {"confirmed", "regulator notice + volume"}).ok());
  CaseDetail d;
  ASSERT_TRUE(service_->Get(id, &d).ok());
  EXPECT_EQ(d.summary.status, "decided");
  EXPECT_EQ(d.summary.decision, "confirmed");
  EXPECT_EQ(d.summary.decided_by, "alice");
  EXPECT_EQ(d.summary.decision_reason, "regulator notice + volume");
  EXPECT_EQ(d.summary.assignee, "alice");
  ASSERT_EQ(d.comments.size(), 1u);
  EXPECT_EQ(d.comments[0].author, "bob");
  ASSERT_TRUE(service_->Close(alice_, id, "reported to police").ok());
  ASSERT_TRUE(service_->Get(id, &d).ok());
  EXPECT_EQ(d.summary.status, "closed");
  EXPECT_EQ(d.summary.closed_at_ms, now_);
  EXPECT_EQ(Actions(d), (std::vector<std::string>{"case_opened", "assigned", "review_started",
                                                  "commented", "decided", "closed"}));
  EXPECT_EQ(d.audit[4].before_json, R"({"status":"in_review","decision":"","assignee":"alice"})");
  EXPECT_EQ(d.audit[4].after_json,
            R"({"status":"decided","decision":"confirmed","assignee":"alice"})");
  EXPECT_EQ(d.audit[5].reason, "reported to police");
  EXPECT_EQ(d.audit[5].role, "reviewer");
  // Admin reopens.
  EXPECT_EQ(service_->Reopen(alice_, id, "new facts").code, ReviewErrc::kForbidden);
  EXPECT_EQ(service_->Reopen(admin_, id, "").code, ReviewErrc::kBadInput);
  ASSERT_TRUE(service_->Reopen(admin_, id, "new facts").ok());
  EXPECT_EQ(CaseStatus(id), "open");
  EXPECT_EQ(service_->Reopen(admin_, id, "again").code, ReviewErrc::kConflict);
  AuditVerification v;
  std::unique_ptr<SqlDb> db = Direct();
  ASSERT_TRUE(VerifyAudit(*db, &v).ok());
  EXPECT_TRUE(v.intact) << v.detail;
  EXPECT_EQ(v.entries, 7);
}

TEST_P(WorkflowTest, UnassignAndNoOpAssign) {
  int64_t id = OpenCase("acct-a");
  ASSERT_TRUE(service_->Assign(alice_, id, "bob").ok());
  ASSERT_TRUE(service_->Assign(alice_, id, "bob").ok());  // unchanged: no audit entry
  ASSERT_TRUE(service_->Assign(alice_, id, "").ok());
  CaseDetail d;
  ASSERT_TRUE(service_->Get(id, &d).ok());
  EXPECT_EQ(d.summary.assignee, "");
  EXPECT_EQ(Actions(d), (std::vector<std::string>{"case_opened", "assigned", "unassigned"}));
}

TEST_P(WorkflowTest, RolesAreEnforced) {
  int64_t id = OpenCase("acct-roles");
  EXPECT_EQ(service_->StartReview(viewer_, id).code, ReviewErrc::kForbidden);
  EXPECT_EQ(service_->Assign(viewer_, id, "x").code, ReviewErrc::kForbidden);
  EXPECT_EQ(service_->Comment(viewer_, id, "hi").code, ReviewErrc::kForbidden);
  EXPECT_EQ(service_->Decide(viewer_, id, {"confirmed", "r"}).code, ReviewErrc::kForbidden);
  EXPECT_EQ(service_->Close(viewer_, id, "r").code, ReviewErrc::kForbidden);
  EXPECT_EQ(service_->Approve(viewer_, id).code, ReviewErrc::kForbidden);
  EXPECT_EQ(service_->Reject(viewer_, id, "r").code, ReviewErrc::kForbidden);
  EXPECT_EQ(service_->Reopen(viewer_, id, "r").code, ReviewErrc::kForbidden);
  EXPECT_EQ(service_->LiftSuppression(viewer_, 1, "r").code, ReviewErrc::kForbidden);
  EXPECT_EQ(service_->LiftSuppression(alice_, 1, "r").code, ReviewErrc::kForbidden);
  EXPECT_EQ(service_->StartReview({"", Role::kAdmin}, id).code, ReviewErrc::kBadInput);
  EXPECT_EQ(service_->StartReview({"x", static_cast<Role>(7)}, id).code, ReviewErrc::kBadInput);
  ReviewResult forbidden = service_->StartReview(viewer_, id);
  EXPECT_EQ(forbidden.HttpStatus(), 403);
  // Admin can do what a reviewer can.
  ASSERT_TRUE(service_->StartReview(admin_, id).ok());
  EXPECT_EQ(CaseStatus(id), "in_review");
  CaseDetail d;
  ASSERT_TRUE(service_->Get(id, &d).ok());
  EXPECT_EQ(d.audit.size(), 2u);  // refused actions left no trace
}

TEST_P(WorkflowTest, ErrorKinds) {
  int64_t id = OpenCase("acct-err");
  // 404
  EXPECT_EQ(service_->StartReview(alice_, 999).code, ReviewErrc::kNotFound);
  EXPECT_EQ(service_->StartReview(alice_, 999).HttpStatus(), 404);
  EXPECT_EQ(service_->Close(alice_, 999, "r").code, ReviewErrc::kNotFound);
  EXPECT_EQ(service_->Comment(alice_, 999, "c").code, ReviewErrc::kNotFound);
  EXPECT_EQ(service_->Assign(alice_, 999, "c").code, ReviewErrc::kNotFound);
  EXPECT_EQ(service_->Approve(alice_, 999).code, ReviewErrc::kNotFound);
  EXPECT_EQ(service_->LiftSuppression(admin_, 999, "r").code, ReviewErrc::kNotFound);
  CaseDetail d;
  EXPECT_EQ(service_->Get(999, &d).code, ReviewErrc::kNotFound);
  // 409: not in review yet.
  EXPECT_EQ(service_->Decide(alice_, id, {"confirmed", "r"}).code, ReviewErrc::kConflict);
  EXPECT_EQ(service_->Decide(alice_, id, {"confirmed", "r"}).HttpStatus(), 409);
  EXPECT_EQ(service_->Close(alice_, id, "r").code, ReviewErrc::kConflict);
  EXPECT_EQ(service_->Approve(bob_, id).code, ReviewErrc::kConflict);
  EXPECT_EQ(service_->Reject(bob_, id, "r").code, ReviewErrc::kConflict);
  ASSERT_TRUE(service_->StartReview(alice_, id).ok());
  EXPECT_EQ(service_->StartReview(alice_, id).code, ReviewErrc::kConflict);
  // 400: reason, decision, suppression arguments.
  EXPECT_EQ(service_->Decide(alice_, id, {"confirmed", ""}).code, ReviewErrc::kBadInput);
  EXPECT_EQ(service_->Decide(alice_, id, {"confirmed", "  \n"}).HttpStatus(), 400);
  EXPECT_EQ(service_->Decide(alice_, id, {"guilty", "r"}).code, ReviewErrc::kBadInput);
  EXPECT_EQ(service_->Decide(alice_, id, {"confirmed", "r", 1000}).code, ReviewErrc::kBadInput);
  EXPECT_EQ(service_->Decide(alice_, id, {"false_positive", "r", -1}).code, ReviewErrc::kBadInput);
  EXPECT_EQ(service_->Decide(alice_, id, {"false_positive", "r", 1000, "no_such_rule"}).code,
            ReviewErrc::kBadInput);
  EXPECT_EQ(service_->Comment(alice_, id, "").code, ReviewErrc::kBadInput);
  EXPECT_EQ(service_->Close(alice_, id, "").code, ReviewErrc::kBadInput);
  EXPECT_EQ(CaseStatus(id), "in_review");  // nothing changed
  // needs_information goes back to review; then a closed case refuses assignment.
  ASSERT_TRUE(service_->Decide(alice_, id, {"needs_information", "ask the KYC team"}).ok());
  EXPECT_EQ(service_->Decide(alice_, id, {"confirmed", "r"}).code, ReviewErrc::kConflict);
  ASSERT_TRUE(service_->StartReview(bob_, id).ok());
  ASSERT_TRUE(service_->Decide(bob_, id, {"confirmed", "KYC confirms"}).ok());
  ASSERT_TRUE(service_->Close(bob_, id, "done").ok());
  EXPECT_EQ(service_->Assign(alice_, id, "alice").code, ReviewErrc::kConflict);
  EXPECT_EQ(service_->Close(bob_, id, "again").code, ReviewErrc::kConflict);
  ASSERT_TRUE(service_->Comment(alice_, id, "comments stay possible").ok());
}

TEST_P(WorkflowTest, ConflictMessagesNameTheCaseAndItsStatus) {
  const int64_t id = OpenCase("acct-msg");
  const std::string c = "case " + std::to_string(id) + " is ";
  EXPECT_EQ(service_->Decide(alice_, id, {"confirmed", "r"}).message,
            c + "open; a decision needs in_review");
  EXPECT_EQ(service_->Close(alice_, id, "r").message,
            c + "open; only a decided case can be closed");
  EXPECT_EQ(service_->Approve(bob_, id).message,
            c + "open; only a decision awaiting second review can be approved");
  EXPECT_EQ(service_->Reject(bob_, id, "r").message,
            c + "open; only a decision awaiting second review can be rejected");
  ASSERT_TRUE(service_->StartReview(alice_, id).ok());
  EXPECT_EQ(service_->StartReview(alice_, id).message,
            c + "in_review; a review starts from open or needs_information");
  EXPECT_EQ(service_->Reopen(admin_, id, "r").message,
            c + "in_review; only a closed case can be reopened");
  ASSERT_TRUE(service_->Decide(alice_, id, {"confirmed", "proof"}).ok());
  ASSERT_TRUE(service_->Close(alice_, id, "done").ok());
  EXPECT_EQ(service_->Assign(alice_, id, "bob").message, c + "closed");
  EXPECT_EQ(service_->StartReview(alice_, 999).message, "no case 999");
}

TEST_P(WorkflowTest, StorageErrorBeforeOpen) {
  std::unique_ptr<SqlDb> db;
  ASSERT_TRUE(OpenTestDb(GetParam(), &db).ok());
  ReviewService unopened(std::move(db), {});
  EXPECT_EQ(unopened.StartReview(alice_, 1).code, ReviewErrc::kStorage);
  EXPECT_EQ(unopened.StartReview(alice_, 1).HttpStatus(), 500);
  ReviewService none(nullptr, {});
  EXPECT_EQ(none.Open().code, ReviewErrc::kStorage);
}

TEST_P(WorkflowTest, FourEyes) {
  Start(true);
  int64_t id = OpenCase("acct-4");
  ASSERT_TRUE(service_->StartReview(alice_, id).ok());
  ASSERT_TRUE(service_->Decide(alice_, id, {"confirmed", "clear pattern"}).ok());
  EXPECT_EQ(CaseStatus(id), "awaiting_second_review");
  EXPECT_EQ(service_->Close(alice_, id, "r").code, ReviewErrc::kConflict);
  EXPECT_EQ(service_->Approve(alice_, id).code, ReviewErrc::kForbidden);  // same person
  EXPECT_EQ(service_->Reject(alice_, id, "hmm").code, ReviewErrc::kForbidden);
  EXPECT_EQ(service_->Reject(bob_, id, "").code, ReviewErrc::kBadInput);
  ASSERT_TRUE(service_->Reject(bob_, id, "evidence too thin").ok());
  EXPECT_EQ(CaseStatus(id), "in_review");
  ASSERT_TRUE(service_->Decide(alice_, id, {"confirmed", "more evidence now"}).ok());
  ASSERT_TRUE(service_->Approve(bob_, id).ok());
  CaseDetail d;
  ASSERT_TRUE(service_->Get(id, &d).ok());
  EXPECT_EQ(d.summary.status, "decided");
  EXPECT_EQ(d.summary.decided_by, "alice");
  EXPECT_EQ(d.audit.back().action, "approved");
  EXPECT_EQ(d.audit.back().actor, "bob");
  EXPECT_EQ(service_->Approve(bob_, id).code, ReviewErrc::kConflict);
  ASSERT_TRUE(service_->Close(bob_, id, "done").ok());
  // Only `confirmed` waits for a second reviewer.
  int64_t other = OpenCase("acct-5");
  ASSERT_TRUE(service_->StartReview(alice_, other).ok());
  ASSERT_TRUE(service_->Decide(alice_, other, {"false_positive", "test traffic"}).ok());
  EXPECT_EQ(CaseStatus(other), "decided");
}

TEST_P(WorkflowTest, WithoutFourEyesConfirmedIsDecided) {
  int64_t id = OpenCase("acct-6");
  ASSERT_TRUE(service_->StartReview(alice_, id).ok());
  ASSERT_TRUE(service_->Decide(alice_, id, {"confirmed", "r"}).ok());
  EXPECT_EQ(CaseStatus(id), "decided");
  EXPECT_EQ(service_->Approve(bob_, id).code, ReviewErrc::kConflict);
}

INSTANTIATE_TEST_SUITE_P(Backends, RecordTest, ::testing::ValuesIn(TestBackends()));
INSTANTIATE_TEST_SUITE_P(Backends, WorkflowTest, ::testing::ValuesIn(TestBackends()));

}  // namespace
}  // namespace abusewatch::testing
