// ReviewService queries: every filter and the keyset pagination against a brute-force filter over
// a seeded random population, Counts, and List / Counts over 100 000 cases (their response times
// are measured by benchmarks/review_bench.cc, not here).
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "daemon/review/review_service.h"
#include "tests/review/review_test_util.h"

namespace abusewatch::testing {
namespace {

using QueryTest = ReviewFixture;

const char* const kRules[] = {"art11_1", "art11_2", "art12_2", "art12_5", "hygiene"};
const char* const kSeverities[] = {"info", "warning", "critical"};
const char* const kUsers[] = {"alice", "bob", "carol"};

std::string BasisFor(int rule) {
  if (rule < 2) return std::string(kArt11) + " (" + kRules[rule] + ")";
  if (rule < 4) return std::string(kArt12) + " (" + kRules[rule] + ")";
  return "internal hygiene rule, 100% fine_print";  // LIKE metacharacters in the text
}

bool Matches(const CaseFilter& f, const CaseDetail& d) {
  const CaseSummary& s = d.summary;
  if (f.status && s.status != *f.status) return false;
  if (f.decision && s.decision != *f.decision) return false;
  auto any_clause = [&](auto pred) {
    return std::any_of(d.clauses.begin(), d.clauses.end(), pred);
  };
  if (f.rule_id && !any_clause([&](const Clause& c) { return c.rule_id == *f.rule_id; })) {
    return false;
  }
  if (f.severity && !any_clause([&](const Clause& c) { return c.severity == *f.severity; })) {
    return false;
  }
  if (f.clause &&
      !any_clause([&](const Clause& c) { return c.basis.find(*f.clause) != std::string::npos; })) {
    return false;
  }
  if (f.account) {
    if (f.account_prefix ? s.account.rfind(*f.account, 0) != 0 : s.account != *f.account) {
      return false;
    }
  }
  if (f.assignee && s.assignee != *f.assignee) return false;
  int64_t t = f.time_field == CaseFilter::TimeField::kOpened ? s.opened_at_ms : s.updated_at_ms;
  if (f.from_ms && t < *f.from_ms) return false;
  if (f.to_ms && t >= *f.to_ms) return false;
  if (f.knowledge_and_serious && !(s.knowledge && s.serious)) return false;
  return true;
}

TEST_P(QueryTest, FiltersAndPaginationMatchBruteForce) {
  std::mt19937_64 rng(20260101);
  auto pick = [&rng](int n) { return static_cast<int>(rng() % n); };
  const int64_t t0 = now_;
  // Population: 150 keys, 2-3 transitions each, random workflow steps; the clock moves in
  // coarse steps so many cases share updated_at (ties are broken by id).
  for (int k = 0; k < 150; ++k) {
    now_ += pick(3) * 1000;
    std::string key = (k % 3 == 0 ? "acct-" : k % 3 == 1 ? "acct_x" : "sub-") + std::to_string(k);
    int n = 1 + pick(3);
    for (int i = 0; i < n; ++i) {
      int rule = pick(5);
      CaseTransition t = MakeTransition(kRules[rule], key, pick(4) != 0, now_ + i,
                                        i == 0 || pick(2), BasisFor(rule), kSeverities[pick(3)]);
      ASSERT_TRUE(service_->RecordTransition(t).ok());
    }
    int64_t id = 0;
    if (!service_->FindCase(key, &id).ok()) continue;
    if (pick(2)) {
      ASSERT_TRUE(service_->Assign(alice_, id, kUsers[pick(3)]).ok());
    }
    if (pick(3) == 0) continue;
    ASSERT_TRUE(service_->StartReview(alice_, id).ok());
    if (pick(2)) {
      const char* decisions[] = {"confirmed", "false_positive", "needs_information"};
      const char* decision = decisions[pick(3)];
      ASSERT_TRUE(service_->Decide(alice_, id, {decision, "because"}).ok());
      if (pick(2) && std::string(decision) != "needs_information") {
        ASSERT_TRUE(service_->Close(bob_, id, "done").ok());
      }
    }
  }
  // Every case, in full.
  CasePage all;
  CaseFilter every;
  every.limit = 500;
  ASSERT_TRUE(service_->List(every, &all).ok());
  ASSERT_GT(all.cases.size(), 100u);
  ASSERT_TRUE(all.next_cursor.empty());
  std::vector<CaseDetail> details;
  for (const CaseSummary& s : all.cases) {
    details.emplace_back();
    ASSERT_TRUE(service_->Get(s.id, &details.back()).ok());
  }
  std::sort(details.begin(), details.end(), [](const CaseDetail& a, const CaseDetail& b) {
    return std::make_pair(a.summary.updated_at_ms, a.summary.id) >
           std::make_pair(b.summary.updated_at_ms, b.summary.id);
  });
  const char* const kStatuses[] = {"open", "in_review", "decided", "closed"};
  for (int round = 0; round < 300; ++round) {
    CaseFilter f;
    if (pick(4) == 0) f.status = kStatuses[pick(4)];
    if (pick(6) == 0) f.decision = pick(2) ? "confirmed" : "false_positive";
    if (pick(5) == 0) f.rule_id = kRules[pick(5)];
    if (pick(5) == 0) f.severity = kSeverities[pick(3)];
    if (pick(5) == 0) {
      const char* clauses[] = {"第十二条", "第十一条", "100%", "_", "fine_print", "FINE"};
      f.clause = clauses[pick(6)];
    }
    if (pick(5) == 0) {
      const char* prefixes[] = {"acct-", "acct_", "acct", "sub-1", "acct-3"};
      f.account = prefixes[pick(5)];
      f.account_prefix = pick(3) != 0;
    }
    if (pick(6) == 0) f.assignee = pick(4) == 0 ? "" : kUsers[pick(3)];
    if (pick(4) == 0) {
      f.time_field = pick(2) ? CaseFilter::TimeField::kOpened : CaseFilter::TimeField::kUpdated;
      int64_t a = t0 + pick(200) * 1000, b = a + pick(200) * 1000;
      if (pick(3)) f.from_ms = a;
      if (pick(3)) f.to_ms = b;
    }
    if (pick(6) == 0) f.knowledge_and_serious = true;
    f.limit = 1 + pick(40);
    std::vector<int64_t> expected;
    std::map<std::string, int64_t> expected_counts;
    for (const CaseDetail& d : details) {
      if (Matches(f, d)) expected.push_back(d.summary.id);
      CaseFilter no_status = f;
      no_status.status.reset();
      if (Matches(no_status, d)) ++expected_counts[d.summary.status];
    }
    std::vector<int64_t> got;
    CaseFilter page_filter = f;
    for (int pages = 0;; ++pages) {
      ASSERT_LT(pages, 200);
      CasePage page;
      ReviewResult r = service_->List(page_filter, &page);
      ASSERT_TRUE(r.ok()) << r.message;
      ASSERT_LE(page.cases.size(), static_cast<size_t>(f.limit));
      for (const CaseSummary& s : page.cases) got.push_back(s.id);
      if (page.next_cursor.empty()) break;
      ASSERT_EQ(page.cases.size(), static_cast<size_t>(f.limit));
      page_filter.cursor = page.next_cursor;
    }
    ASSERT_EQ(got, expected) << "round " << round;
    std::vector<StatusCount> counts;
    ASSERT_TRUE(service_->Counts(f, &counts).ok());
    std::map<std::string, int64_t> got_counts;
    for (const StatusCount& c : counts) got_counts[c.status] = c.count;
    ASSERT_EQ(got_counts, expected_counts) << "round " << round;
  }
}

TEST_P(QueryTest, LimitsAndCursorValidation) {
  for (int i = 0; i < 60; ++i) OpenCase("acct-" + std::to_string(i));
  CasePage page;
  ASSERT_TRUE(service_->List({}, &page).ok());
  EXPECT_EQ(page.cases.size(), 50u);  // the default limit
  EXPECT_FALSE(page.next_cursor.empty());
  CaseFilter f;
  f.limit = 501;
  EXPECT_EQ(service_->List(f, &page).code, ReviewErrc::kBadInput);
  f.limit = -1;
  EXPECT_EQ(service_->List(f, &page).code, ReviewErrc::kBadInput);
  f.limit = 500;
  ASSERT_TRUE(service_->List(f, &page).ok());
  EXPECT_EQ(page.cases.size(), 60u);
  f.cursor = "not-a-cursor";
  EXPECT_EQ(service_->List(f, &page).code, ReviewErrc::kBadInput);
  f.cursor = "zz";
  EXPECT_EQ(service_->List(f, &page).code, ReviewErrc::kBadInput);
  CaseFilter bad;
  bad.severity = "fatal";
  EXPECT_EQ(service_->List(bad, &page).code, ReviewErrc::kBadInput);
  bad = CaseFilter();
  bad.clause = "";
  EXPECT_EQ(service_->List(bad, &page).code, ReviewErrc::kBadInput);
}

// Results, pagination and counts at 100 000 cases. No timing here: the response times at this
// scale are measured by benchmarks/review_bench.cc (see benchmarks/README.md).
TEST_P(QueryTest, HundredThousandCasesListAndCount) {
  std::unique_ptr<SqlDb> db = Direct();
  ASSERT_TRUE(db->Begin().ok());
  const std::string seq =
      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000) ";
  Status s = db->Exec(
      seq +
          "INSERT INTO cases (id, account, status, assignee, severity, knowledge, serious, "
          "opened_at, "
          "updated_at) SELECT i, 'acct-' || CAST(i AS TEXT), CASE i % 4 WHEN 0 THEN 'open' WHEN 1 "
          "THEN 'in_review' WHEN 2 THEN 'decided' ELSE 'closed' END, CASE i % 3 WHEN 0 THEN "
          "'alice' "
          "ELSE '' END, i % 3, CASE WHEN i % 7 = 0 THEN 1 ELSE 0 END, CASE WHEN i % 11 = 0 THEN 1 "
          "ELSE 0 END, ? + i * 10, ? + (i % 20000) * 10 FROM n",
      {now_, now_});
  ASSERT_TRUE(s.ok()) << s.message();
  s = db->Exec(seq +
               "INSERT INTO clauses (case_id, rule_id, firing, value, threshold, severity, basis, "
               "explain_zh, explain_en, first_at, last_at) SELECT i, 'rule-' || CAST(i % 50 AS "
               "TEXT), 1, '1', '1', CASE i % 3 WHEN 0 THEN 'info' WHEN 1 THEN 'warning' ELSE "
               "'critical' END, CASE WHEN i % 2 = 0 THEN '法释〔2019〕15号 第十二条' ELSE "
               "'法释〔2019〕15号 第十一条' END, '', '', 0, 0 FROM n");
  ASSERT_TRUE(s.ok()) << s.message();
  // The article tags ReviewService writes with each clause (here written directly, as the rows).
  for (const char* article : {"第十一条", "第十二条"}) {
    s = db->Exec(
        "INSERT INTO case_articles (article, case_id) SELECT DISTINCT ?, case_id FROM clauses "
        "WHERE basis LIKE ?",
        {std::string(article), "%" + std::string(article) + "%"});
    ASSERT_TRUE(s.ok()) << s.message();
  }
  ASSERT_TRUE(db->Commit().ok());
  if (GetParam() == "postgresql") {
    ASSERT_TRUE(db->ExecScript("ANALYZE").ok());
  }

  // The first page matches, is full (or holds at least `expect_min`), is in (updated_at desc,
  // id desc) order, and the next page (by cursor) continues strictly after it.
  auto check = [&](const char* what, const CaseFilter& f, size_t expect_min,
                   const std::function<bool(const CaseSummary&)>& matches) {
    CasePage page;
    ReviewResult r = service_->List(f, &page);
    ASSERT_TRUE(r.ok()) << what << ": " << r.message;
    EXPECT_GE(page.cases.size(), expect_min) << what;
    std::vector<CaseSummary> seen = page.cases;
    if (!page.next_cursor.empty()) {
      EXPECT_EQ(page.cases.size(), static_cast<size_t>(f.limit == 0 ? 50 : f.limit)) << what;
      CaseFilter next = f;
      next.cursor = page.next_cursor;
      r = service_->List(next, &page);
      ASSERT_TRUE(r.ok()) << what << " (second page): " << r.message;
      EXPECT_FALSE(page.cases.empty()) << what << " (second page)";
      seen.insert(seen.end(), page.cases.begin(), page.cases.end());
    }
    for (size_t i = 0; i < seen.size(); ++i) {
      EXPECT_TRUE(matches(seen[i])) << what << ": case " << seen[i].id;
      if (i > 0) {
        EXPECT_GT(std::make_pair(seen[i - 1].updated_at_ms, seen[i - 1].id),
                  std::make_pair(seen[i].updated_at_ms, seen[i].id))
            << what << ": order at " << i;
      }
    }
  };
  // Case i (its account is acct-i) has status by i % 4, assignee alice when i % 3 == 0, a
  // 第十二条 clause when i is even (else 第十一条), rule rule-(i % 50), knowledge when i % 7 == 0
  // and serious when i % 11 == 0.
  auto index = [](const CaseSummary& s) { return std::stoll(s.account.substr(5)); };
  CaseFilter f;
  check("all", f, 50, [](const CaseSummary&) { return true; });
  f.status = "open";
  check("status", f, 50,
        [&](const CaseSummary& s) { return s.status == "open" && index(s) % 4 == 0; });
  f.clause = "第十二条";
  check("status + clause", f, 50,
        [&](const CaseSummary& s) { return s.status == "open" && index(s) % 2 == 0; });
  f = CaseFilter();
  f.rule_id = "rule-7";
  check("rule", f, 50, [&](const CaseSummary& s) { return index(s) % 50 == 7; });
  f = CaseFilter();
  f.knowledge_and_serious = true;
  check("knowledge + serious", f, 50,
        [&](const CaseSummary& s) { return s.knowledge && s.serious && index(s) % 77 == 0; });
  f = CaseFilter();
  f.assignee = "alice";
  f.limit = 500;
  check("assignee, 500", f, 500,
        [&](const CaseSummary& s) { return s.assignee == "alice" && index(s) % 3 == 0; });
  f = CaseFilter();
  f.account = "acct-9999";
  f.account_prefix = true;
  check("account prefix", f, 11,
        [&](const CaseSummary& s) { return s.account.rfind("acct-9999", 0) == 0; });

  // Walking every page of one filter returns each matching case once: 100 000 / 77 of them.
  f = CaseFilter();
  f.knowledge_and_serious = true;
  f.limit = 500;
  std::set<int64_t> ids;
  for (int pages = 0;; ++pages) {
    ASSERT_LT(pages, 10);
    CasePage page;
    ReviewResult r = service_->List(f, &page);
    ASSERT_TRUE(r.ok()) << r.message;
    for (const CaseSummary& s : page.cases) EXPECT_TRUE(ids.insert(s.id).second) << s.id;
    if (page.next_cursor.empty()) break;
    f.cursor = page.next_cursor;
  }
  EXPECT_EQ(ids.size(), 100000u / 77);

  // Counts by an article (from the tags) equal the substring match over every basis.
  {
    CaseFilter by_article;
    by_article.clause = "第十二条";
    std::vector<StatusCount> counts;
    ASSERT_TRUE(service_->Counts(by_article, &counts).ok());
    std::vector<SqlRow> rows;
    ASSERT_TRUE(db->Exec("SELECT status, COUNT(*) FROM cases WHERE EXISTS (SELECT 1 FROM clauses "
                         "k WHERE k.case_id = cases.id AND k.basis LIKE ?) GROUP BY status "
                         "ORDER BY status",
                         {std::string("%第十二条%")}, &rows)
                    .ok());
    ASSERT_EQ(counts.size(), rows.size());
    for (size_t i = 0; i < rows.size(); ++i) {
      EXPECT_EQ(counts[i].status, SqlText(rows[i][0]));
      EXPECT_EQ(counts[i].count, SqlInt(rows[i][1])) << counts[i].status;
    }
  }
  std::vector<StatusCount> counts;
  ASSERT_TRUE(service_->Counts({}, &counts).ok());
  int64_t total = 0;
  for (const StatusCount& c : counts) {
    EXPECT_EQ(c.count, 25000) << c.status;
    total += c.count;
  }
  EXPECT_EQ(total, 100000);
}

INSTANTIATE_TEST_SUITE_P(Backends, QueryTest, ::testing::ValuesIn(TestBackends()));

}  // namespace
}  // namespace abusewatch::testing
