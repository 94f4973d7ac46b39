// Suppression: a false-positive decision silences a rule (or every rule) of a key for a period.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "daemon/review/review_service.h"
#include "tests/review/review_test_util.h"

namespace abusewatch::testing {
namespace {

using SuppressionTest = ReviewFixture;

constexpr int64_t kHour = 3'600'000;

// Opens a case for `key` on rule r1 and decides it false_positive with a suppression.
int64_t SuppressCase(ReviewService* s, const Actor& a, const std::string& key,
                     const std::string& scope, int64_t* suppression) {
  int64_t id = 0;
  RecordOutcome out;
  EXPECT_TRUE(s->RecordTransition(MakeTransition("r1", key, true, 1000), &out).ok());
  id = out.case_id;
  EXPECT_TRUE(s->StartReview(a, id).ok());
  ReviewResult r =
      s->Decide(a, id, {"false_positive", "known test account", kHour, scope}, suppression);
  EXPECT_TRUE(r.ok()) << r.message;
  return id;
}

TEST_P(SuppressionTest, RuleScopedUntilExactlyTheEnd) {
  int64_t sid = 0;
  const int64_t start = now_;
  int64_t id = SuppressCase(service_.get(), alice_, "acct-s", "r1", &sid);
  EXPECT_GT(sid, 0);
  EXPECT_TRUE(service_->IsSuppressed("r1", "acct-s", start));
  EXPECT_TRUE(service_->IsSuppressed("r1", "acct-s", start + kHour - 1));
  EXPECT_FALSE(service_->IsSuppressed("r1", "acct-s", start + kHour));  // the end is exclusive
  EXPECT_FALSE(service_->IsSuppressed("r1", "acct-s", start - 1));
  EXPECT_FALSE(service_->IsSuppressed("r2", "acct-s", start + 1));
  EXPECT_FALSE(service_->IsSuppressed("r1", "acct-other", start + 1));

  // The engine keeps evaluating: transitions join the timeline, firing ones marked suppressed.
  RecordOutcome out;
  ASSERT_TRUE(
      service_->RecordTransition(MakeTransition("r1", "acct-s", false, start + 10), &out).ok());
  EXPECT_FALSE(out.suppressed);  // a resolution is never suppressed
  ASSERT_TRUE(
      service_->RecordTransition(MakeTransition("r1", "acct-s", true, start + 20), &out).ok());
  EXPECT_TRUE(out.suppressed);
  EXPECT_TRUE(out.stored);
  ASSERT_TRUE(
      service_->RecordTransition(MakeTransition("r2", "acct-s", true, start + 30), &out).ok());
  EXPECT_FALSE(out.suppressed);
  ASSERT_TRUE(
      service_->RecordTransition(MakeTransition("r1", "acct-s", true, start + kHour), &out).ok());
  EXPECT_FALSE(out.suppressed);
  CaseDetail d;
  ASSERT_TRUE(service_->Get(id, &d).ok());
  ASSERT_EQ(d.timeline.size(), 5u);
  EXPECT_FALSE(d.timeline[0].suppressed);
  EXPECT_FALSE(d.timeline[1].suppressed);
  EXPECT_TRUE(d.timeline[2].suppressed);
  EXPECT_FALSE(d.timeline[3].suppressed);
  EXPECT_FALSE(d.timeline[4].suppressed);
  ASSERT_EQ(d.suppressions.size(), 1u);
  EXPECT_EQ(d.suppressions[0].rule_id, "r1");
  EXPECT_EQ(d.suppressions[0].until_ms, start + kHour);
  EXPECT_EQ(d.audit.back().action, "suppression_created");
  EXPECT_EQ(d.audit[d.audit.size() - 2].action, "decided");
}

TEST_P(SuppressionTest, AllRulesAndNoReopenWhileSuppressed) {
  int64_t sid = 0;
  const int64_t start = now_;
  int64_t id = SuppressCase(service_.get(), alice_, "acct-all", "", &sid);
  EXPECT_TRUE(service_->IsSuppressed("anything", "acct-all", start + 5));
  ASSERT_TRUE(service_->Close(alice_, id, "false positive").ok());
  RecordOutcome out;
  ASSERT_TRUE(
      service_->RecordTransition(MakeTransition("r9", "acct-all", true, start + 50), &out).ok());
  EXPECT_TRUE(out.suppressed);
  EXPECT_FALSE(out.reopened);
  EXPECT_EQ(CaseStatus(id), "closed");
  // Once the period is over, a notify firing reopens the case.
  ASSERT_TRUE(
      service_->RecordTransition(MakeTransition("r9", "acct-all", true, start + kHour), &out).ok());
  EXPECT_FALSE(out.suppressed);
  EXPECT_TRUE(out.reopened);
  EXPECT_EQ(CaseStatus(id), "open");
}

TEST_P(SuppressionTest, SuppressedFiringDoesNotOpenANewCase) {
  int64_t sid = 0;
  SuppressCase(service_.get(), alice_, "acct-n", "", &sid);
  RecordOutcome out;
  // Another key: not affected.
  ASSERT_TRUE(service_->RecordTransition(MakeTransition("r1", "acct-m", true, now_), &out).ok());
  EXPECT_TRUE(out.opened);
}

TEST_P(SuppressionTest, LiftByAdmin) {
  int64_t sid = 0;
  const int64_t start = now_;
  int64_t id = SuppressCase(service_.get(), alice_, "acct-l", "r1", &sid);
  EXPECT_EQ(service_->LiftSuppression(alice_, sid, "mistake").code, ReviewErrc::kForbidden);
  EXPECT_EQ(service_->LiftSuppression(admin_, sid, "").code, ReviewErrc::kBadInput);
  EXPECT_TRUE(service_->IsSuppressed("r1", "acct-l", start + 1));
  now_ += 10;
  ASSERT_TRUE(service_->LiftSuppression(admin_, sid, "mistake").ok());
  EXPECT_FALSE(service_->IsSuppressed("r1", "acct-l", start + 1));
  EXPECT_EQ(service_->LiftSuppression(admin_, sid, "again").code, ReviewErrc::kConflict);
  RecordOutcome out;
  ASSERT_TRUE(
      service_->RecordTransition(MakeTransition("r1", "acct-l", true, start + 20), &out).ok());
  EXPECT_FALSE(out.suppressed);
  CaseDetail d;
  ASSERT_TRUE(service_->Get(id, &d).ok());
  EXPECT_EQ(d.suppressions[0].lifted_at_ms, start + 10);
  EXPECT_EQ(d.suppressions[0].lifted_by, "ada");
  EXPECT_EQ(d.audit.back().action, "suppression_lifted");
  EXPECT_EQ(d.audit.back().reason, "mistake");
}

TEST_P(SuppressionTest, LiftingAnExpiredSuppressionConflicts) {
  int64_t sid = 0;
  SuppressCase(service_.get(), alice_, "acct-x", "r1", &sid);
  now_ += kHour;
  EXPECT_EQ(service_->LiftSuppression(admin_, sid, "late").code, ReviewErrc::kConflict);
}

TEST_P(SuppressionTest, RefreshSharesSuppressionsBetweenInstances) {
  std::unique_ptr<SqlDb> db2 = Direct();
  ReviewOptions options;
  options.now_ms = [this] { return now_; };
  ReviewService second(std::move(db2), options);
  ASSERT_TRUE(second.Open().ok());
  int64_t sid = 0;
  SuppressCase(service_.get(), alice_, "acct-shared", "r1", &sid);
  EXPECT_FALSE(second.IsSuppressed("r1", "acct-shared", now_));
  ASSERT_TRUE(second.Refresh().ok());
  EXPECT_TRUE(second.IsSuppressed("r1", "acct-shared", now_));
  // RecordTransition consults the database, not only the cache.
  RecordOutcome out;
  ASSERT_TRUE(
      second.RecordTransition(MakeTransition("r1", "acct-shared", true, now_ + 1), &out).ok());
  EXPECT_TRUE(out.suppressed);
  // A suppression survives a restart (the cache is loaded by Open).
  std::unique_ptr<SqlDb> db3 = Direct();
  ReviewService third(std::move(db3), options);
  ASSERT_TRUE(third.Open().ok());
  EXPECT_TRUE(third.IsSuppressed("r1", "acct-shared", now_));
}

INSTANTIATE_TEST_SUITE_P(Backends, SuppressionTest, ::testing::ValuesIn(TestBackends()));

}  // namespace
}  // namespace abusewatch::testing
