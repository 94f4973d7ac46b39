// The audit hash chain: format, verification, and detection of every kind of tampering, plus the
// schema migrations and the `abusewatch audit verify` command end to end.
#include "daemon/review/audit.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <sys/wait.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "daemon/review/schema.h"
#include "tests/review/review_test_util.h"

namespace abusewatch::testing {
namespace {

using AuditTest = ReviewFixture;
using SchemaTest = ReviewFixture;
using AuditCliTest = ReviewFixture;

std::string Sha256Hex(const std::string& data) {
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(data.data(), data.size(), d, &n, EVP_sha256(), nullptr);
  std::string out;
  char buf[3];
  for (unsigned i = 0; i < n; ++i) {
    std::snprintf(buf, sizeof(buf), "%02x", d[i]);
    out += buf;
  }
  return out;
}

TEST(AuditHashTest, MatchesTheDocumentedSerialization) {
  AuditEntry e{7, 1700, "alice",     "reviewer", "closed",
               3, "{}", "{\"a\":1}", "理由",     std::string(kAuditGenesisHash),
               ""};
  std::string expected = "abusewatch-audit-v1\n64:" + std::string(kAuditGenesisHash) +
                         "\n1:7\n4:1700\n5:alice\n8:reviewer\n6:closed\n1:3\n2:{}\n7:{\"a\":1}\n"
                         "6:理由\n";
  EXPECT_EQ(AuditHash(e), Sha256Hex(expected));
  // Moving a byte from one field to the next changes the hash (length prefixes).
  AuditEntry f = e;
  f.actor = "alic";
  f.role = "ereviewer";
  EXPECT_NE(AuditHash(e), AuditHash(f));
}

TEST(AuditHeadTest, Parse) {
  AuditHead h;
  EXPECT_TRUE(ParseAuditHead("12:" + std::string(64, 'A'), &h));
  EXPECT_EQ(h.seq, 12);
  EXPECT_EQ(h.hash, std::string(64, 'a'));
  EXPECT_FALSE(ParseAuditHead("12:" + std::string(63, 'a'), &h));
  EXPECT_FALSE(ParseAuditHead("x:" + std::string(64, 'a'), &h));
  EXPECT_FALSE(ParseAuditHead(std::string(64, 'a'), &h));
  EXPECT_FALSE(ParseAuditHead("1:" + std::string(63, 'a') + "g", &h));
}

// Eight entries: open, assign, start, comment, decide, close, reopen, comment.
void MakeHistory(ReviewService* s, int64_t* now) {
  RecordOutcome out;
  ASSERT_TRUE(s->RecordTransition(MakeTransition("r", "acct-a", true, *now), &out).ok());
  const int64_t id = out.case_id;
  const Actor alice{"alice", Role::kReviewer}, ada{"ada", Role::kAdmin};
  ASSERT_TRUE(s->Assign(alice, id, "alice").ok());
  ++*now;
  ASSERT_TRUE(s->StartReview(alice, id).ok());
  ASSERT_TRUE(s->Comment(alice, id, "first look").ok());
  ++*now;
  ASSERT_TRUE(s->Decide(alice, id, {"confirmed", "proof"}).ok());
  ASSERT_TRUE(s->Close(alice, id, "done").ok());
  ASSERT_TRUE(s->Reopen(ada, id, "new report").ok());
  ASSERT_TRUE(s->Comment(alice, id, "again").ok());
}

AuditVerification Verify(SqlDb& db, std::optional<AuditHead> head = std::nullopt) {
  AuditVerification v;
  Status s = VerifyAudit(db, &v, head);
  EXPECT_TRUE(s.ok()) << s.message();
  return v;
}

TEST_P(AuditTest, IntactChainVerifies) {
  std::unique_ptr<SqlDb> db = Direct();
  AuditVerification empty = Verify(*db);
  EXPECT_TRUE(empty.intact);
  EXPECT_EQ(empty.head.seq, 0);
  MakeHistory(service_.get(), &now_);
  AuditVerification v = Verify(*db);
  EXPECT_TRUE(v.intact) << v.detail;
  EXPECT_EQ(v.entries, 8);
  EXPECT_EQ(v.head.seq, 8);
  std::vector<AuditEntry> all;
  ASSERT_TRUE(ReadAudit(*db, 0, &all).ok());
  ASSERT_EQ(all.size(), 8u);
  EXPECT_EQ(all[0].prev_hash, kAuditGenesisHash);
  for (size_t i = 1; i < all.size(); ++i) EXPECT_EQ(all[i].prev_hash, all[i - 1].hash);
  EXPECT_EQ(v.head.hash, all.back().hash);
  EXPECT_TRUE(Verify(*db, v.head).intact);
}

TEST_P(AuditTest, EditingAnyFieldIsDetectedAtThatEntry) {
  MakeHistory(service_.get(), &now_);
  std::unique_ptr<SqlDb> db = Direct();
  const int64_t seq = 5;
  struct Edit {
    const char* column;
    SqlValue value;
  };
  const std::vector<Edit> edits = {
      {"at_ms", int64_t{1}},
      {"actor", std::string("mallory")},
      {"role", std::string("admin")},
      {"action", std::string("commented")},
      {"case_id", int64_t{99}},
      {"before_json", std::string("{}")},
      {"after_json", std::string(R"({"status":"decided","decision":"false_positive"})")},
      {"reason", std::string("nothing to see")},
      {"prev_hash", std::string(64, 'b')},
      {"hash", std::string(64, 'c')},
  };
  for (const Edit& e : edits) {
    std::vector<SqlRow> rows;
    ASSERT_TRUE(
        db->Exec(std::string("SELECT ") + e.column + " FROM audit_log WHERE seq = ?", {seq}, &rows)
            .ok());
    SqlValue original = rows.at(0).at(0);
    ASSERT_TRUE(db->Exec(std::string("UPDATE audit_log SET ") + e.column + " = ? WHERE seq = ?",
                         {e.value, seq})
                    .ok());
    AuditVerification v = Verify(*db);
    EXPECT_FALSE(v.intact) << e.column;
    EXPECT_EQ(v.bad_seq, seq) << e.column << ": " << v.detail;
    EXPECT_EQ(v.problem, AuditVerification::Problem::kEdited) << e.column << ": " << v.detail;
    ASSERT_TRUE(db->Exec(std::string("UPDATE audit_log SET ") + e.column + " = ? WHERE seq = ?",
                         {original, seq})
                    .ok());
    EXPECT_TRUE(Verify(*db).intact) << e.column;
  }
}

TEST_P(AuditTest, DeletedEntryIsAGap) {
  MakeHistory(service_.get(), &now_);
  std::unique_ptr<SqlDb> db = Direct();
  ASSERT_TRUE(db->Exec("DELETE FROM audit_log WHERE seq = 4").ok());
  AuditVerification v = Verify(*db);
  EXPECT_FALSE(v.intact);
  EXPECT_EQ(v.bad_seq, 4);
  EXPECT_EQ(v.problem, AuditVerification::Problem::kGap);
  EXPECT_NE(v.detail.find("seq 4"), std::string::npos) << v.detail;
}

TEST_P(AuditTest, SwappedEntriesAreReordered) {
  MakeHistory(service_.get(), &now_);
  std::unique_ptr<SqlDb> db = Direct();
  // Exchange seq 3 and 6 (three steps through a free seq).
  ASSERT_TRUE(db->Exec("UPDATE audit_log SET seq = 1000 WHERE seq = 3").ok());
  ASSERT_TRUE(db->Exec("UPDATE audit_log SET seq = 3 WHERE seq = 6").ok());
  ASSERT_TRUE(db->Exec("UPDATE audit_log SET seq = 6 WHERE seq = 1000").ok());
  AuditVerification v = Verify(*db);
  EXPECT_FALSE(v.intact);
  EXPECT_EQ(v.bad_seq, 3);
  EXPECT_EQ(v.problem, AuditVerification::Problem::kReordered) << v.detail;
  EXPECT_NE(v.detail.find("written as seq 6"), std::string::npos) << v.detail;
}

TEST_P(AuditTest, RehashedEntryBreaksTheLink) {
  MakeHistory(service_.get(), &now_);
  std::unique_ptr<SqlDb> db = Direct();
  // A forger edits entry 6 and recomputes its own hash: entry 7 no longer links to it.
  std::vector<AuditEntry> all;
  ASSERT_TRUE(ReadAudit(*db, 0, &all).ok());
  AuditEntry e = all[5];
  e.reason = "forged";
  e.hash = AuditHash(e);
  ASSERT_TRUE(
      db->Exec("UPDATE audit_log SET reason = ?, hash = ? WHERE seq = 6", {e.reason, e.hash}).ok());
  AuditVerification v = Verify(*db);
  EXPECT_FALSE(v.intact);
  EXPECT_EQ(v.bad_seq, 7);
  EXPECT_EQ(v.problem, AuditVerification::Problem::kBrokenLink) << v.detail;
}

TEST_P(AuditTest, TruncationNeedsTheExpectedHead) {
  MakeHistory(service_.get(), &now_);
  std::unique_ptr<SqlDb> db = Direct();
  AuditHead head = Verify(*db).head;
  ASSERT_EQ(head.seq, 8);
  ASSERT_TRUE(db->Exec("DELETE FROM audit_log WHERE seq >= 7").ok());
  EXPECT_TRUE(Verify(*db).intact);  // undetectable without a recorded head
  AuditVerification v = Verify(*db, head);
  EXPECT_FALSE(v.intact);
  EXPECT_EQ(v.problem, AuditVerification::Problem::kTruncated);
  EXPECT_EQ(v.bad_seq, 7);
  AuditHead wrong{6, std::string(64, 'e')};
  v = Verify(*db, wrong);
  EXPECT_EQ(v.problem, AuditVerification::Problem::kHeadMismatch);
  EXPECT_EQ(v.bad_seq, 6);
}

TEST_P(AuditTest, NewEntriesExtendTheChainAfterVerification) {
  MakeHistory(service_.get(), &now_);
  std::unique_ptr<SqlDb> db = Direct();
  AuditHead head = Verify(*db).head;
  int64_t id = 0;
  ASSERT_TRUE(service_->FindCase("acct-a", &id).ok());
  ASSERT_TRUE(service_->Comment(alice_, id, "later").ok());
  AuditVerification v = Verify(*db, head);  // an older head is still on the chain
  EXPECT_TRUE(v.intact) << v.detail;
  EXPECT_EQ(v.head.seq, 9);
}

TEST_P(SchemaTest, MigrationsAreIdempotentAndRefuseNewerVersions) {
  std::unique_ptr<SqlDb> db = Direct();
  int64_t version = -1;
  ASSERT_TRUE(ReadSchemaVersion(*db, &version).ok());
  EXPECT_EQ(version, LatestSchemaVersion());
  int applied = -1;
  ASSERT_TRUE(MigrateSchema(*db, &applied).ok());
  EXPECT_EQ(applied, 0);
  ASSERT_TRUE(db->Exec("UPDATE schema_version SET version = ?", {LatestSchemaVersion() + 1}).ok());
  Status s = MigrateSchema(*db);
  EXPECT_EQ(s.code(), Status::Code::kCorruption);
  EXPECT_NE(s.message().find("newer than this binary"), std::string::npos) << s.message();
  ReviewService again(Direct(), {});
  ReviewResult r = again.Open();
  EXPECT_EQ(r.code, ReviewErrc::kStorage);
  EXPECT_NE(r.message.find("schema version " + std::to_string(LatestSchemaVersion() + 1)),
            std::string::npos)
      << r.message;
  // Refused means untouched.
  ASSERT_TRUE(ReadSchemaVersion(*db, &version).ok());
  EXPECT_EQ(version, LatestSchemaVersion() + 1);
}

TEST_P(SchemaTest, FreshDatabaseGetsEveryMigration) {
  std::unique_ptr<SqlDb> db;
  ASSERT_TRUE(OpenTestDb(GetParam(), &db).ok());
  int64_t version = -1;
  ASSERT_TRUE(ReadSchemaVersion(*db, &version).ok());
  EXPECT_EQ(version, 0);
  int applied = 0;
  ASSERT_TRUE(MigrateSchema(*db, &applied).ok());
  EXPECT_EQ(applied, LatestSchemaVersion());
  std::vector<SqlRow> rows;
  ASSERT_TRUE(db->Exec("SELECT COUNT(*) FROM schema_version", {}, &rows).ok());
  EXPECT_EQ(SqlInt(rows[0][0]), 1);
  for (const char* table :
       {"cases", "clauses", "timeline", "evidence", "comments", "suppressions", "audit_log"}) {
    EXPECT_TRUE(db->Exec(std::string("SELECT COUNT(*) FROM ") + table, {}, &rows).ok()) << table;
  }
}

struct CliRun {
  int code = -1;
  std::string output;
};

CliRun RunBinary(const std::string& args) {
  CliRun r;
  std::string cmd = std::string(ABUSEWATCH_BINARY) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) r.output.append(buf, n);
  int status = pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

TEST_P(AuditCliTest, VerifyEndToEnd) {
  MakeHistory(service_.get(), &now_);
  const std::string target = (GetParam() == "sqlite" ? "--db " : "--postgres ") + Quote(where_);
  CliRun ok = RunBinary("audit verify " + target);
  EXPECT_EQ(ok.code, 0) << ok.output;
  std::unique_ptr<SqlDb> db = Direct();
  AuditHead head = Verify(*db).head;
  const std::string head_text = std::to_string(head.seq) + ":" + head.hash;
  EXPECT_NE(ok.output.find("intact: 8 entries, head " + head_text), std::string::npos) << ok.output;
  EXPECT_EQ(RunBinary("audit verify " + target + " --expect-head " + head_text).code, 0);

  ASSERT_TRUE(db->Exec("UPDATE audit_log SET reason = 'nothing' WHERE seq = 6").ok());
  CliRun broken = RunBinary("audit verify " + target);
  EXPECT_EQ(broken.code, 1) << broken.output;
  EXPECT_NE(broken.output.find("BROKEN at seq 6 (edited)"), std::string::npos) << broken.output;
  ASSERT_TRUE(db->Exec("UPDATE audit_log SET reason = 'done' WHERE seq = 6").ok());
  EXPECT_EQ(RunBinary("audit verify " + target).code, 0);
  ASSERT_TRUE(db->Exec("DELETE FROM audit_log WHERE seq = 8").ok());
  CliRun truncated = RunBinary("audit verify " + target + " --expect-head " + head_text);
  EXPECT_EQ(truncated.code, 1) << truncated.output;
  EXPECT_NE(truncated.output.find("BROKEN at seq 8 (truncated)"), std::string::npos)
      << truncated.output;
}

TEST_P(AuditCliTest, UsageErrors) {
  EXPECT_EQ(RunBinary("audit verify").code, 2);
  EXPECT_EQ(RunBinary("audit").code, 2);
  EXPECT_EQ(RunBinary("audit check --db x").code, 2);
  EXPECT_EQ(RunBinary("audit verify --db a --postgres b").code, 2);
  EXPECT_EQ(RunBinary("audit verify --db " + Quote(where_) + " --expect-head 3:abc").code, 2);
  CliRun missing = RunBinary("audit verify --db /nonexistent/review.sqlite");
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.output.find("no such database file"), std::string::npos) << missing.output;
}

INSTANTIATE_TEST_SUITE_P(Backends, AuditTest, ::testing::ValuesIn(TestBackends()));
INSTANTIATE_TEST_SUITE_P(Backends, SchemaTest, ::testing::ValuesIn(TestBackends()));
INSTANTIATE_TEST_SUITE_P(Backends, AuditCliTest, ::testing::ValuesIn(TestBackends()));

}  // namespace
}  // namespace abusewatch::testing
