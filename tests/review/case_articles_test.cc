// The article tags behind the clause filter's counts (migration 2): which articles a basis
// cites, tags kept in step with the clauses (also when a rule's basis changes), and the backfill
// of cases stored before the migration.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "daemon/review/review_internal.h"
#include "tests/review/review_test_util.h"

namespace abusewatch::testing {
namespace {

using review_internal::CitedArticles;
using review_internal::IsArticleToken;

TEST(CitedArticlesTest, EveryArticleOnceInOrder) {
  EXPECT_EQ(
      CitedArticles("刑法第二百八十七条之二；法释〔2019〕15号 第十二条第一款第（二）项、第十六条"),
      (std::vector<std::string>{"第二百八十七条", "第十二条", "第十六条"}));
  EXPECT_EQ(CitedArticles("法释〔2019〕15号 第十一条第（一）项；第十一条"),
            (std::vector<std::string>{"第十一条"}));
  EXPECT_TRUE(CitedArticles("internal hygiene rule").empty());
  EXPECT_TRUE(CitedArticles("第条 条 第").empty());              // nothing between
  EXPECT_TRUE(CitedArticles("第一二三四五六七八九条").empty());  // more than 8 characters
  EXPECT_EQ(CitedArticles("第第十三条"), (std::vector<std::string>{"第十三条"}));
  EXPECT_TRUE(IsArticleToken("第十二条"));
  EXPECT_FALSE(IsArticleToken("十二条"));
  EXPECT_FALSE(IsArticleToken("第十二条第一款"));
  EXPECT_FALSE(IsArticleToken("第十二条、第十六条"));
}

class CaseArticlesTest : public ReviewFixture {
 protected:
  int64_t Count(const std::string& clause) {
    CaseFilter f;
    f.clause = clause;
    std::vector<StatusCount> counts;
    ReviewResult r = service_->Counts(f, &counts);
    EXPECT_TRUE(r.ok()) << r.message;
    int64_t n = 0;
    for (const StatusCount& c : counts) n += c.count;
    return n;
  }
};

TEST_P(CaseArticlesTest, CountsFollowTheClausesAndTheBackfill) {
  OpenCase("acct-1");  // basis kArt12
  ASSERT_TRUE(
      service_->RecordTransition(MakeTransition("art11_2", "acct-2", true, now_, true, kArt11))
          .ok());
  EXPECT_EQ(Count("第十二条"), 1);
  EXPECT_EQ(Count("第十一条"), 1);
  // acct-2's rule now cites 第十二条 (a pack change): the tags follow the clause.
  ASSERT_TRUE(service_
                  ->RecordTransition(MakeTransition("art11_2", "acct-2", false, now_ + 1000, true,
                                                    "法释〔2019〕15号 第十二条"))
                  .ok());
  EXPECT_EQ(Count("第十二条"), 2);
  EXPECT_EQ(Count("第十一条"), 0);
  // Cases stored before migration 2 have no tags: Open() tags them once.
  {
    std::unique_ptr<SqlDb> db = Direct();
    ASSERT_TRUE(db->Exec("DELETE FROM case_articles").ok());
    ASSERT_TRUE(db->Exec("INSERT INTO backfills (name) VALUES ('case_articles')").ok());
  }
  EXPECT_EQ(Count("第十二条"), 0);
  std::unique_ptr<SqlDb> db = Direct();
  service_ = std::make_unique<ReviewService>(std::move(db), ReviewOptions{});
  ASSERT_TRUE(service_->Open().ok());
  EXPECT_EQ(Count("第十二条"), 2);
  std::vector<SqlRow> rows;
  ASSERT_TRUE(Direct()->Exec("SELECT COUNT(*) FROM backfills", {}, &rows).ok());
  EXPECT_EQ(SqlInt(rows[0][0]), 0);
  // A clause filter that is not one article keeps the substring match.
  EXPECT_EQ(Count("第十二条"), Count("15号 第十二"));
}

INSTANTIATE_TEST_SUITE_P(Backends, CaseArticlesTest, ::testing::ValuesIn(TestBackends()));

}  // namespace
}  // namespace abusewatch::testing
