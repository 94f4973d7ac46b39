// Two `abusewatch run` instances sharing one review queue on PostgreSQL (review: {store:
// postgresql}): the bundled sample split by account into two files, one daemon per file, both
// running at the same time against the same database. Expectations from `abusewatch replay` of
// each half: one case per key with a notifying firing in either half (none missing, none extra),
// every timeline within its half's transitions, no duplicates, and an intact audit chain holding
// entries of both instances (the chain stays linear with concurrent writers). Then a
// false-positive suppression decided through another store connection for a key of half B, and
// a second run of instance B on later events of that key: the new firings join the case's
// timeline marked suppressed, and the case stays decided.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "config/config_loader.h"
#include "daemon/review/audit.h"
#include "daemon/review/review_service.h"
#include "daemon/review/sql_db.h"
#include "detectors/rule_set.h"
#include "tests/daemon/daemon_process.h"
#include "tests/review/test_db.h"

namespace abusewatch {
namespace {

namespace fs = std::filesystem;
using test::DaemonProcess;
using test::Slurp;
using test::SplitLines;

// The half (0: A, 1: B) an account goes to: a fixed hash, so the split is the same everywhere.
int Half(const std::string& account) {
  uint32_t h = 2166136261u;  // FNV-1a
  for (const char c : account) h = (h ^ static_cast<unsigned char>(c)) * 16777619u;
  return static_cast<int>(h % 2);
}

// Moves the event time ("ts": RFC 3339 text in 2026, or ms since the epoch) a year on.
bool ShiftByAYear(std::string* line) {
  const size_t p = line->find("\"ts\":");
  if (p == std::string::npos) return false;
  const size_t v = p + 5;
  if (line->compare(v, 6, "\"2026-") == 0) {
    line->replace(v + 1, 4, "2027");
    return true;
  }
  size_t end = v;
  while (end < line->size() && std::isdigit(static_cast<unsigned char>((*line)[end]))) ++end;
  if (end == v) return false;
  const int64_t ms = std::stoll(line->substr(v, end - v)) + int64_t{365} * 24 * 3600 * 1000;
  line->replace(v, end - v, std::to_string(ms));
  return true;
}

// What replay says about one input file.
struct Expectation {
  std::set<std::string> keys;                          // keys with a notifying firing
  std::map<std::string, std::set<std::string>> ids;    // every transition id, by key
  std::map<std::string, std::set<std::string>> fired;  // notifying firing ids, by key
};

class SharedStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    bool postgres = false;
    for (const std::string& b : testing::TestBackends()) postgres |= b == "postgresql";
    if (!postgres) {
      GTEST_SKIP() << "no PostgreSQL binaries (set AW_REQUIRE_POSTGRES=1 to fail instead)";
    }
    dir_ = fs::temp_directory_path() / ("aw-shared-" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "a");
    fs::create_directories(dir_ / "b");
    EngineConfig config;
    ASSERT_TRUE(
        LoadConfigFile(std::string(ABUSEWATCH_SOURCE_DIR) + "/config/abusewatch.yaml", &config)
            .ok());
    std::shared_ptr<const RuleSet> rules;
    ASSERT_TRUE(RuleSet::Compile(std::move(config), &rules).ok());
    for (const CompiledRule& r : rules->rules()) notify_[r.spec.id] = r.spec.notify;
    std::unique_ptr<SqlDb> db;
    const Status s = testing::OpenTestDb("postgresql", &db, &conninfo_);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  // The config of one instance, in `dir` (its own state and output), reading `input`.
  std::string Config(const fs::path& dir, const fs::path& input, const std::string& state) {
    return "version: 1\ninclude: [" + std::string(ABUSEWATCH_SOURCE_DIR) +
           "/config/packs/legal-cn-2019.yaml]\nsources: [{type: file, path: " + input.string() +
           ", follow: false}]\nsinks:\n  - {type: file, path: " + (dir / "out.jsonl").string() +
           "}\nhttp: {listen: \"127.0.0.1:0\"}\nstate: {dir: " + (dir / state).string() +
           "}\nreview: {store: postgresql, postgres: \"" + conninfo_ +
           "\", tokens: " + (dir_ / "review.tokens").string() + "}\n";
  }
  Expectation Replay(const fs::path& config, const fs::path& input, const fs::path& output) {
    const std::string cmd = std::string(ABUSEWATCH_BINARY) + " replay --config " + config.string() +
                            " --input " + input.string() + " --output " + output.string() +
                            " 2>/dev/null";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    Expectation e;
    for (const std::string& l : SplitLines(Slurp(output))) {
      const std::string key = test::StringField(l, "key");
      e.ids[key].insert(test::StringField(l, "id"));
      if (test::StringField(l, "state") == "firing" && notify_.at(test::StringField(l, "rule"))) {
        e.keys.insert(key);
        e.fired[key].insert(test::StringField(l, "id"));
      }
    }
    return e;
  }
  std::unique_ptr<ReviewService> OpenStore(ReviewOptions o = {}) {
    std::unique_ptr<SqlDb> db;
    const Status s = testing::ReopenTestDb("postgresql", conninfo_, &db);
    EXPECT_TRUE(s.ok()) << s.ToString();
    if (!s.ok()) return nullptr;
    auto store = std::make_unique<ReviewService>(std::move(db), std::move(o));
    const ReviewResult r = store->Open();
    EXPECT_TRUE(r.ok()) << r.message;
    return r.ok() ? std::move(store) : nullptr;
  }
  // Every case with its detail, by account.
  std::map<std::string, CaseDetail> Cases(ReviewService& s) {
    std::map<std::string, CaseDetail> out;
    CaseFilter f;
    f.limit = 500;
    while (true) {
      CasePage page;
      EXPECT_TRUE(s.List(f, &page).ok());
      for (const CaseSummary& c : page.cases) {
        EXPECT_FALSE(out.count(c.account)) << "two cases for " << c.account;
        EXPECT_TRUE(s.Get(c.id, &out[c.account]).ok());
      }
      if (page.next_cursor.empty()) break;
      f.cursor = page.next_cursor;
    }
    return out;
  }
  AuditVerification Verify(std::vector<AuditEntry>* entries) {
    std::unique_ptr<SqlDb> db;
    EXPECT_TRUE(testing::ReopenTestDb("postgresql", conninfo_, &db).ok());
    AuditVerification v;
    if (db == nullptr) return v;
    EXPECT_TRUE(VerifyAudit(*db, &v).ok());
    EXPECT_TRUE(ReadAudit(*db, 0, entries).ok());
    return v;
  }

  fs::path dir_;
  std::string conninfo_;
  std::map<std::string, bool> notify_;
};

TEST_F(SharedStoreTest, TwoDaemonsShareOneQueueAndASuppressionReachesTheOther) {
  const std::string token_cmd = std::string(ABUSEWATCH_BINARY) +
                                " token new --name admin --role admin --append " +
                                (dir_ / "review.tokens").string() + " >/dev/null 2>&1";
  ASSERT_EQ(std::system(token_cmd.c_str()), 0);

  // The sample split by account: every account lives in one half; lines without one go to A.
  const fs::path in_a = dir_ / "a" / "in.jsonl", in_b = dir_ / "b" / "in.jsonl";
  std::set<std::string> accounts_a, accounts_b;
  std::vector<std::string> lines_b;
  {
    std::ofstream a(in_a), b(in_b);
    for (const std::string& l : SplitLines(
             Slurp(std::string(ABUSEWATCH_SOURCE_DIR) + "/config/samples/sample-stream.jsonl"))) {
      const std::string account = test::StringField(l, "account");
      if (!account.empty() && Half(account) == 1) {
        b << l << "\n";
        accounts_b.insert(account);
        lines_b.push_back(l);
      } else {
        a << l << "\n";
        if (!account.empty()) accounts_a.insert(account);
      }
    }
  }
  ASSERT_FALSE(accounts_a.empty());
  ASSERT_FALSE(accounts_b.empty());

  const fs::path conf_a = dir_ / "a" / "aw.yaml", conf_b = dir_ / "b" / "aw.yaml";
  std::ofstream(conf_a) << Config(dir_ / "a", in_a, "state");
  std::ofstream(conf_b) << Config(dir_ / "b", in_b, "state");
  const Expectation want_a = Replay(conf_a, in_a, dir_ / "a" / "replay.jsonl");
  const Expectation want_b = Replay(conf_b, in_b, dir_ / "b" / "replay.jsonl");
  ASSERT_FALSE(want_a.keys.empty());
  ASSERT_FALSE(want_b.keys.empty());
  // Each half's keys are its own (the split holds for the pack's group keys).
  for (const std::string& k : want_b.keys) EXPECT_FALSE(want_a.ids.count(k)) << k;
  std::set<std::string> want_keys = want_a.keys;
  want_keys.insert(want_b.keys.begin(), want_b.keys.end());

  // Both instances at the same time on the same database; each stops at the end of its file.
  {
    DaemonProcess a, b;
    ASSERT_TRUE(a.Start({"run", "--config", conf_a.string()}, dir_ / "a" / "log.txt"));
    ASSERT_TRUE(b.Start({"run", "--config", conf_b.string()}, dir_ / "b" / "log.txt"));
    EXPECT_EQ(a.Wait(std::chrono::seconds(300)), 0) << a.Log();
    EXPECT_EQ(b.Wait(std::chrono::seconds(300)), 0) << b.Log();
  }
  ASSERT_FALSE(HasFailure());

  std::map<int64_t, int> case_half;  // case id -> 0 (A) or 1 (B)
  std::set<std::string> first_ids;   // every timeline transition id after the first run
  {
    auto store = OpenStore();
    ASSERT_NE(store, nullptr);
    const auto cases = Cases(*store);
    std::set<std::string> keys;
    for (const auto& [k, c] : cases) keys.insert(k);
    EXPECT_EQ(keys, want_keys);  // one case per key with a notifying firing, in either half
    for (const auto& [key, c] : cases) {
      const bool in_b = want_b.keys.count(key) > 0;
      const Expectation& want = in_b ? want_b : want_a;
      case_half[c.summary.id] = in_b ? 1 : 0;
      EXPECT_EQ(c.summary.status, "open") << key;
      std::set<std::string> ids;
      for (const TimelineEntry& t : c.timeline) {
        EXPECT_TRUE(ids.insert(t.transition_id).second) << "duplicate " << t.transition_id;
        EXPECT_TRUE(want.ids.count(key) && want.ids.at(key).count(t.transition_id))
            << key << ": " << t.transition_id << " is not in its half's replay";
        EXPECT_FALSE(t.suppressed) << key;
      }
      // Every notifying firing of the key's half is on its timeline.
      if (want.fired.count(key)) {
        for (const std::string& id : want.fired.at(key)) EXPECT_TRUE(ids.count(id)) << key << id;
      }
      first_ids.insert(ids.begin(), ids.end());
    }
  }

  // The audit chain: intact, linear, with entries of both instances' cases, one case_opened per
  // case.
  size_t audit_entries = 0;
  {
    std::vector<AuditEntry> entries;
    const AuditVerification v = Verify(&entries);
    EXPECT_TRUE(v.intact) << v.detail;
    EXPECT_EQ(v.entries, static_cast<int64_t>(entries.size()));
    size_t from_a = 0, from_b = 0, opened = 0, switches = 0;
    int last = -1;
    std::set<int64_t> opened_cases;
    for (size_t i = 0; i < entries.size(); ++i) {
      const AuditEntry& e = entries[i];
      EXPECT_EQ(e.seq, static_cast<int64_t>(i + 1));
      const auto it = case_half.find(e.case_id);
      ASSERT_NE(it, case_half.end()) << "audit entry " << e.seq << " of unknown case " << e.case_id;
      (it->second == 1 ? from_b : from_a) += 1;
      if (last >= 0 && last != it->second) ++switches;
      last = it->second;
      if (e.action == "case_opened") {
        ++opened;
        EXPECT_TRUE(opened_cases.insert(e.case_id).second) << "case opened twice: " << e.case_id;
      }
    }
    EXPECT_GT(from_a, 0u);
    EXPECT_GT(from_b, 0u);
    EXPECT_EQ(opened, want_keys.size());
    audit_entries = entries.size();
    // How much the two writers interleaved (informative only: it depends on scheduling).
    RecordProperty("audit_entries", static_cast<int>(entries.size()));
    RecordProperty("audit_instance_switches", static_cast<int>(switches));
    std::cout << "audit: " << entries.size() << " entries (" << from_a << " A, " << from_b
              << " B), writer switches along the chain: " << switches << "\n";
  }

  // Later events of one key of half B: its lines with new ids and times a year on, so they make
  // new transitions. Pick a key whose shifted events fire a notifying rule again on their own.
  std::string key_b;
  fs::path extra;
  Expectation want_extra;
  int tried = 0;
  for (const std::string& k : want_b.keys) {
    if (++tried > 25) break;
    const fs::path in = dir_ / "b" / ("extra-" + std::to_string(tried) + ".jsonl");
    {
      std::ofstream out(in);
      for (std::string l : lines_b) {
        if (test::StringField(l, "account") != k) continue;
        const size_t id = l.find("\"id\":\"");
        ASSERT_NE(id, std::string::npos) << l;
        l.insert(id + 6, "later-");
        ASSERT_TRUE(ShiftByAYear(&l)) << l;
        out << l << "\n";
      }
    }
    const fs::path conf = dir_ / "b" / "extra.yaml";
    std::ofstream(conf) << Config(dir_ / "b", in, "state2");
    Expectation e = Replay(conf, in, dir_ / "b" / "extra-replay.jsonl");
    if (e.fired.count(k)) {
      key_b = k;
      extra = in;
      want_extra = std::move(e);
      break;
    }
  }
  ASSERT_FALSE(key_b.empty()) << "no key of half B fires again on its own shifted events";
  for (const std::string& id : want_extra.fired.at(key_b)) {
    ASSERT_FALSE(first_ids.count(id)) << id << " is not a new transition";
  }

  // A reviewer decides the key's case a false positive through another store connection,
  // suppressing every rule of the key (the clock set back so the window covers the events).
  int64_t case_id = 0;
  {
    ReviewOptions o;
    o.now_ms = [] { return int64_t{0}; };
    auto store = OpenStore(std::move(o));
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->FindCase(key_b, &case_id).ok());
    const Actor admin{"admin", Role::kAdmin};
    ASSERT_TRUE(store->StartReview(admin, case_id).ok());
    DecideRequest fp;
    fp.decision = "false_positive";
    fp.reason = "test account of the provider";
    fp.suppress_for_ms = int64_t{4'000'000'000'000};  // until 2096
    fp.suppress_rule = "*";
    const ReviewResult r = store->Decide(admin, case_id, fp);
    ASSERT_TRUE(r.ok()) << r.message;
  }

  // Instance B again (fresh engine state) on the later events.
  {
    std::ofstream(conf_b) << Config(dir_ / "b", extra, "state2");
    DaemonProcess b;
    ASSERT_TRUE(b.Start({"run", "--config", conf_b.string()}, dir_ / "b" / "log2.txt"));
    ASSERT_EQ(b.Wait(std::chrono::seconds(300)), 0) << b.Log();
  }
  {
    auto store = OpenStore();
    ASSERT_NE(store, nullptr);
    const auto cases = Cases(*store);
    std::set<std::string> keys;
    for (const auto& [k, c] : cases) keys.insert(k);
    EXPECT_EQ(keys, want_keys);  // no new case
    const CaseDetail& d = cases.at(key_b);
    EXPECT_EQ(d.summary.status, "decided");  // not reopened
    EXPECT_EQ(d.summary.decision, "false_positive");
    std::map<std::string, const TimelineEntry*> by_id;
    for (const TimelineEntry& t : d.timeline) by_id[t.transition_id] = &t;
    std::cout << "suppressed key " << key_b << ": " << want_extra.fired.at(key_b).size()
              << " new notifying firing(s), timeline " << d.timeline.size() << " entries\n";
    for (const std::string& id : want_extra.fired.at(key_b)) {
      ASSERT_TRUE(by_id.count(id)) << "new firing " << id << " missing from the timeline";
      EXPECT_TRUE(by_id.at(id)->firing);
      EXPECT_TRUE(by_id.at(id)->suppressed) << id;
    }
    for (const TimelineEntry& t : d.timeline) {
      EXPECT_TRUE(first_ids.count(t.transition_id) ||
                  want_extra.ids.at(key_b).count(t.transition_id))
          << t.transition_id;
    }
  }
  std::vector<AuditEntry> entries;
  const AuditVerification v = Verify(&entries);
  EXPECT_TRUE(v.intact) << v.detail;
  EXPECT_GT(entries.size(), audit_entries);  // the decision (and its suppression) added entries
}

}  // namespace
}  // namespace abusewatch
