// Helpers shared by the ReviewService tests (header only: the test binary globs *_test.cc).
#ifndef ABUSEWATCH_TESTS_REVIEW_REVIEW_TEST_UTIL_H_
#define ABUSEWATCH_TESTS_REVIEW_REVIEW_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "daemon/review/review_service.h"
#include "daemon/review/sql_db.h"
#include "tests/review/test_db.h"

namespace abusewatch::testing {

inline constexpr char kArt11[] = "法释〔2019〕15号 第十一条第（二）项";
inline constexpr char kArt12[] = "法释〔2019〕15号 第十二条第一款第（二）项";

// A deterministic 32-hex-digit transition id for the fields that identify a transition.
inline std::string FakeTransitionId(const std::string& rule, const std::string& key, bool firing,
                                    int64_t at) {
  uint64_t a = std::hash<std::string>()(rule + "\x1f" + key);
  uint64_t b = std::hash<std::string>()(std::to_string(at) + (firing ? "F" : "R")) ^ (a * 31);
  char buf[33];
  std::snprintf(buf, sizeof(buf), "%016llx%016llx", static_cast<unsigned long long>(a),
                static_cast<unsigned long long>(b));
  return buf;
}

inline CaseTransition MakeTransition(const std::string& rule, const std::string& key, bool firing,
                                     int64_t at, bool notify = true,
                                     const std::string& basis = kArt12,
                                     const std::string& severity = "warning") {
  CaseTransition t;
  t.rule_id = rule;
  t.key = key;
  t.firing = firing;
  t.at_ms = at;
  t.notify = notify;
  t.basis = basis;
  t.severity = severity;
  t.value = firing ? "200000.00" : "0.00";
  t.threshold = "200000.00";
  t.explain_zh = "结算金额达到二十万元";
  t.explain_en = "settlement total reached CNY 200,000";
  t.transition_id = FakeTransitionId(rule, key, firing, at);
  return t;
}

inline Status OpenAgain(const std::string& backend, const std::string& where,
                        std::unique_ptr<SqlDb>* db) {
  return backend == "sqlite" ? OpenSqliteDb(where, db) : OpenPostgresDb(where, db);
}

// A service on a fresh database of the test's backend, with a fake clock at *now.
class ReviewFixture : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { Start(false); }

  void Start(bool four_eyes) {
    service_.reset();
    std::unique_ptr<SqlDb> db;
    Status s = OpenTestDb(GetParam(), &db, &where_);
    ASSERT_TRUE(s.ok()) << s.message();
    ReviewOptions options;
    options.four_eyes = four_eyes;
    options.now_ms = [this] { return now_; };
    options.max_evidence_bytes = 64;
    options.max_evidence_per_case = 5;
    service_ = std::make_unique<ReviewService>(std::move(db), options);
    ReviewResult r = service_->Open();
    ASSERT_TRUE(r.ok()) << r.message;
  }

  // Records a notify firing for `key` and returns its case id.
  int64_t OpenCase(const std::string& key, const std::string& rule = "art12_2_settlement_total") {
    RecordOutcome out;
    ReviewResult r = service_->RecordTransition(MakeTransition(rule, key, true, now_), &out);
    EXPECT_TRUE(r.ok()) << r.message;
    EXPECT_TRUE(out.stored);
    return out.case_id;
  }

  std::string CaseStatus(int64_t id) {
    CaseDetail d;
    ReviewResult r = service_->Get(id, &d);
    EXPECT_TRUE(r.ok()) << r.message;
    return d.summary.status;
  }

  std::unique_ptr<SqlDb> Direct() {
    std::unique_ptr<SqlDb> db;
    abusewatch::Status s = OpenAgain(GetParam(), where_, &db);
    EXPECT_TRUE(s.ok()) << s.message();
    return db;
  }

  const Actor alice_{"alice", Role::kReviewer};
  const Actor bob_{"bob", Role::kReviewer};
  const Actor viewer_{"victor", Role::kViewer};
  const Actor admin_{"ada", Role::kAdmin};
  int64_t now_ = 1'767'225'600'000;  // 2026-01-01T00:00:00Z
  std::string where_;
  std::unique_ptr<ReviewService> service_;
};

}  // namespace abusewatch::testing

#endif  // ABUSEWATCH_TESTS_REVIEW_REVIEW_TEST_UTIL_H_
