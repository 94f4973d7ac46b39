// The review: section of the daemon config (config/daemon_config.h).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "config/daemon_config.h"

namespace abusewatch {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

class ReviewConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("aw-rcfg-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    path_ = (dir_ / "aw.yaml").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  Status Load(const std::string& text, DaemonConfig* out) {
    std::ofstream(path_) << text;
    return LoadDaemonConfig(path_, out);
  }
  std::string Error(const std::string& text) {
    DaemonConfig c;
    Status s = Load(text, &c);
    EXPECT_FALSE(s.ok()) << text;
    return s.message();
  }

  fs::path dir_;
  std::string path_;
};

TEST_F(ReviewConfigTest, AbsentSectionMeansDisabled) {
  DaemonConfig c;
  ASSERT_TRUE(Load("sources: [{type: file, path: x.jsonl}]\n", &c).ok());
  EXPECT_FALSE(c.review.enabled);
  EXPECT_THAT(DescribeDaemonConfig(c), Not(HasSubstr("review")));
}

TEST_F(ReviewConfigTest, DefaultsWhenPresent) {
  DaemonConfig c;
  ASSERT_TRUE(Load("review: {path: r.sqlite, tokens: t.tokens}\n", &c).ok());
  EXPECT_TRUE(c.review.enabled);
  EXPECT_EQ(c.review.store, "sqlite");
  EXPECT_EQ(c.review.path, (dir_ / "r.sqlite").string());  // relative to the config
  EXPECT_EQ(c.review.tokens, (dir_ / "t.tokens").string());
  EXPECT_FALSE(c.review.four_eyes);
  EXPECT_TRUE(c.review.page);
  EXPECT_EQ(c.review.max_evidence_bytes, 64 * 1024);
  EXPECT_EQ(c.review.evidence_buffer_bytes, 64 * 1024 * 1024);
  EXPECT_THAT(DescribeDaemonConfig(c), HasSubstr("review sqlite " + (dir_ / "r.sqlite").string()));
}

TEST_F(ReviewConfigTest, EverySetting) {
  DaemonConfig c;
  ASSERT_TRUE(Load("review:\n  enabled: true\n  store: sqlite\n  path: /abs/r.sqlite\n"
                   "  tokens: /etc/t\n  four_eyes: true\n  max_evidence_bytes: 4KiB\n"
                   "  evidence_buffer: 1MiB\n  page: false\n",
                   &c)
                  .ok());
  EXPECT_EQ(c.review.path, "/abs/r.sqlite");
  EXPECT_TRUE(c.review.four_eyes);
  EXPECT_FALSE(c.review.page);
  EXPECT_EQ(c.review.max_evidence_bytes, 4096);
  EXPECT_EQ(c.review.evidence_buffer_bytes, 1 << 20);
  EXPECT_THAT(DescribeDaemonConfig(c), HasSubstr("four-eyes"));
}

TEST_F(ReviewConfigTest, ByteSizesAcceptPlainIntegersAndUnits) {
  DaemonConfig c;
  ASSERT_TRUE(
      Load("review: {path: r, tokens: t, evidence_buffer: 0, max_evidence_bytes: 100}\n", &c).ok());
  EXPECT_EQ(c.review.evidence_buffer_bytes, 0);
  EXPECT_EQ(c.review.max_evidence_bytes, 100);
  ASSERT_TRUE(Load("review: {path: r, tokens: t, evidence_buffer: 2GiB}\n", &c).ok());
  EXPECT_EQ(c.review.evidence_buffer_bytes, int64_t{2} << 30);
}

TEST_F(ReviewConfigTest, SqlitePathDefaultsBesideTheStateDirectory) {
  DaemonConfig c;
  ASSERT_TRUE(Load("state: {dir: st/}\nreview: {tokens: t}\n", &c).ok());
  EXPECT_EQ(c.review.path, (dir_ / "review.sqlite").string());
  ASSERT_TRUE(Load("review: {tokens: t}\nstate: {dir: /var/aw/state}\n", &c).ok());
  EXPECT_EQ(c.review.path, "/var/aw/review.sqlite");
}

TEST_F(ReviewConfigTest, DisabledNeedsNothing) {
  DaemonConfig c;
  ASSERT_TRUE(Load("review: {enabled: false}\n", &c).ok());
  EXPECT_FALSE(c.review.enabled);
}

TEST_F(ReviewConfigTest, PostgresInlineOrFromAFile) {
  DaemonConfig c;
  ASSERT_TRUE(
      Load("review: {store: postgresql, postgres: \"host=db password=s3cret\", tokens: t}\n", &c)
          .ok());
  EXPECT_EQ(c.review.postgres, "host=db password=s3cret");
  EXPECT_THAT(DescribeDaemonConfig(c), Not(HasSubstr("s3cret")));
  std::ofstream(dir_ / "pg.conninfo") << "host=db password=fromfile\n";
  ASSERT_TRUE(
      Load("review: {store: postgresql, postgres_file: pg.conninfo, tokens: t}\n", &c).ok());
  EXPECT_EQ(c.review.postgres, "host=db password=fromfile");
  EXPECT_THAT(DescribeDaemonConfig(c), Not(HasSubstr("fromfile")));
  EXPECT_THAT(DescribeDaemonConfig(c), HasSubstr("conninfo from"));
}

TEST_F(ReviewConfigTest, Errors) {
  const std::string at = path_ + ":";
  EXPECT_THAT(Error("review: {path: r}\n"), AllOf(StartsWith(at + "1:"), HasSubstr("tokens")));
  EXPECT_THAT(Error("review: {tokens: t}\n"), AllOf(StartsWith(at + "1:"), HasSubstr("path")));
  EXPECT_THAT(Error("review: {path: r, tokens: t, store: mysql}\n"),
              AllOf(StartsWith(at + "1:"), HasSubstr("sqlite or postgresql")));
  EXPECT_THAT(Error("review: {path: r, tokens: t, colour: red}\n"),
              AllOf(StartsWith(at + "1:"), HasSubstr("colour")));
  EXPECT_THAT(Error("review:\n  path: r\n  tokens: t\n  enabled: maybe\n"), StartsWith(at + "4:"));
  EXPECT_THAT(Error("review:\n  path: r\n  tokens: t\n  evidence_buffer: 64MB\n"),
              AllOf(StartsWith(at + "4:20"), HasSubstr("evidence_buffer")));
  EXPECT_THAT(Error("review:\n  path: r\n  tokens: t\n  max_evidence_bytes: 0\n"),
              AllOf(StartsWith(at + "4:"), HasSubstr("max_evidence_bytes")));
  EXPECT_THAT(Error("review:\n  path: r\n  tokens: t\n  max_evidence_bytes: [1]\n"),
              StartsWith(at + "4:"));
  EXPECT_THAT(Error("review: {store: postgresql, tokens: t}\n"), HasSubstr("postgres"));
  EXPECT_THAT(Error("review:\n  store: postgresql\n  tokens: t\n  path: r\n"),
              AllOf(StartsWith(at + "4:3"), HasSubstr("store: sqlite")));
  EXPECT_THAT(Error("review:\n  path: r\n  tokens: t\n  postgres: \"host=x\"\n"),
              AllOf(StartsWith(at + "4:3"), HasSubstr("postgresql")));
  EXPECT_THAT(Error("review:\n  store: postgresql\n  tokens: t\n  postgres: a\n"
                    "  postgres_file: f\n"),
              AllOf(StartsWith(at + "5:3"), HasSubstr("not both")));
  EXPECT_THAT(Error("review:\n  store: postgresql\n  tokens: t\n  postgres_file: missing\n"),
              AllOf(StartsWith(at + "4:"), HasSubstr("cannot read")));
  EXPECT_THAT(Error("review:\n  path: r\n  tokens: \"\"\n"),
              AllOf(StartsWith(at + "3:"), HasSubstr("empty")));
  EXPECT_THAT(Error("review: [1, 2]\n"), StartsWith(at + "1:"));
}

}  // namespace
}  // namespace abusewatch
