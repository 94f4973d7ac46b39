// `abusewatch run` with a review store (config review:, SQLite): the real binary on the bundled
// sample and the default pack, then the store opened with ReviewService: one case per key with a
// notifying firing in replay's output, timelines of replay's transitions, raw evidence equal to
// the input lines, no duplicates when the transitions come again, and a false-positive
// suppression holding firings back from the webhook while the file sink keeps them.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "config/config_loader.h"
#include "daemon/review/review_service.h"
#include "daemon/review/sql_db.h"
#include "detectors/rule_set.h"
#include "tests/daemon/daemon_process.h"
#include "tests/daemon/fake_http_receiver.h"

namespace abusewatch {
namespace {

namespace fs = std::filesystem;
using test::DaemonProcess;
using test::Slurp;
using test::SplitLines;

std::vector<std::string> Events(const std::string& line) {
  std::vector<std::string> out;
  const size_t p = line.find("\"events\":[");
  const size_t e = line.find(']', p);
  std::string list = line.substr(p + 10, e - p - 10);
  for (size_t i = 0; (i = list.find('"', i)) != std::string::npos;) {
    const size_t j = list.find('"', i + 1);
    out.push_back(list.substr(i + 1, j - i - 1));
    i = j + 1;
  }
  return out;
}

// GET with a bearer token; the status code of the answer, or -1.
int GetStatus(int port, const std::string& path, const std::string& token) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  std::string resp;
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0) {
    std::string req = "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n";
    if (!token.empty()) req += "Authorization: Bearer " + token + "\r\n";
    req += "\r\n";
    (void)!write(fd, req.data(), req.size());
    char buf[65536];
    for (ssize_t n; (n = read(fd, buf, sizeof(buf))) > 0;) resp.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return resp.size() > 12 ? std::atoi(resp.c_str() + 9) : -1;
}

class ReviewDaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("aw-review-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    input_ = std::string(ABUSEWATCH_SOURCE_DIR) + "/config/samples/sample-stream.jsonl";
    EngineConfig config;
    ASSERT_TRUE(
        LoadConfigFile(std::string(ABUSEWATCH_SOURCE_DIR) + "/config/abusewatch.yaml", &config)
            .ok());
    std::shared_ptr<const RuleSet> rules;
    ASSERT_TRUE(RuleSet::Compile(std::move(config), &rules).ok());
    for (const CompiledRule& r : rules->rules()) notify_[r.spec.id] = r.spec.notify;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Config(const std::string& extra_sinks) {
    return "version: 1\ninclude: [" + std::string(ABUSEWATCH_SOURCE_DIR) +
           "/config/packs/legal-cn-2019.yaml]\nsources: [{type: file, path: " + input_ +
           ", follow: false}]\nsinks:\n  - {type: file, path: out.jsonl}\n" + extra_sinks +
           "http: {listen: \"127.0.0.1:0\"}\nstate: {dir: state}\n"
           "review: {tokens: review.tokens}\n";  // path: review.sqlite beside state/
  }
  // Runs the daemon to the end of the input (it stops by itself: follow: false) and returns its
  // exit status.
  int RunDaemon(const std::string& config) {
    std::ofstream(dir_ / "aw.yaml") << config;
    DaemonProcess d;
    EXPECT_TRUE(d.Start({"run", "--config", (dir_ / "aw.yaml").string()}, dir_ / "log.txt"));
    const int code = d.Wait(std::chrono::seconds(120));
    EXPECT_EQ(code, 0) << d.Log();
    return code;
  }
  std::vector<std::string> Replay() {
    std::ofstream(dir_ / "replay.yaml") << Config("");
    const std::string cmd = std::string(ABUSEWATCH_BINARY) + " replay --config " +
                            (dir_ / "replay.yaml").string() + " --input " + input_ + " --output " +
                            (dir_ / "replay.jsonl").string() + " 2>/dev/null";
    EXPECT_EQ(std::system(cmd.c_str()), 0);
    return SplitLines(Slurp(dir_ / "replay.jsonl"));
  }
  std::unique_ptr<ReviewService> OpenStore(ReviewOptions o = {}) {
    std::unique_ptr<SqlDb> db;
    EXPECT_TRUE(OpenSqliteDb((dir_ / "review.sqlite").string(), &db).ok());
    auto s = std::make_unique<ReviewService>(std::move(db), std::move(o));
    EXPECT_TRUE(s->Open().ok());
    return s;
  }
  // Every case, with its detail.
  std::map<std::string, CaseDetail> Cases(ReviewService& s) {
    std::map<std::string, CaseDetail> out;
    CaseFilter f;
    f.limit = 500;
    while (true) {
      CasePage page;
      EXPECT_TRUE(s.List(f, &page).ok());
      for (const CaseSummary& c : page.cases) EXPECT_TRUE(s.Get(c.id, &out[c.account]).ok());
      if (page.next_cursor.empty()) break;
      f.cursor = page.next_cursor;
    }
    return out;
  }

  fs::path dir_;
  std::string input_;
  std::map<std::string, bool> notify_;
};

TEST_F(ReviewDaemonTest, CasesTimelinesEvidenceIdempotenceAndSuppression) {
  // A token, made by the CLI (the daemon refuses to start without a valid token file).
  const std::string token_cmd =
      std::string(ABUSEWATCH_BINARY) + " token new --name admin --role admin --append " +
      (dir_ / "review.tokens").string() + " >" + (dir_ / "token.txt").string() + " 2>/dev/null";
  ASSERT_EQ(std::system(token_cmd.c_str()), 0);
  EXPECT_THAT(Slurp(dir_ / "review.tokens"), ::testing::HasSubstr("admin"));
  EXPECT_EQ(Slurp(dir_ / "token.txt").rfind("aw_", 0), 0u);

  const std::vector<std::string> replayed = Replay();
  ASSERT_FALSE(replayed.empty());
  std::set<std::string> expected_keys;
  std::map<std::string, std::set<std::string>> ids_by_key;  // transition ids of replay
  for (const std::string& l : replayed) {
    ids_by_key[test::StringField(l, "key")].insert(test::StringField(l, "id"));
    if (test::StringField(l, "state") == "firing" && notify_.at(test::StringField(l, "rule"))) {
      expected_keys.insert(test::StringField(l, "key"));
    }
  }
  ASSERT_FALSE(expected_keys.empty());
  std::map<std::string, std::set<std::string>> lines_by_id;
  for (const std::string& l : SplitLines(Slurp(input_))) {
    const std::string id = test::StringField(l, "id");
    if (!id.empty()) lines_by_id[id].insert(l);
  }

  ASSERT_EQ(RunDaemon(Config("")), 0);
  size_t timeline_total = 0, evidence_total = 0;
  {
    auto store = OpenStore();
    const auto cases = Cases(*store);
    std::set<std::string> keys;
    for (const auto& [k, c] : cases) keys.insert(k);
    EXPECT_EQ(keys, expected_keys);  // one case per key with a notifying firing
    for (const auto& [key, c] : cases) {
      std::set<std::string> seen;
      std::set<std::string> evidence_ids;
      for (const CaseEvidence& e : c.evidence) {
        evidence_ids.insert(e.event_id);
        EXPECT_FALSE(e.truncated);
        ASSERT_TRUE(lines_by_id.count(e.event_id)) << e.event_id;
        EXPECT_TRUE(lines_by_id.at(e.event_id).count(e.raw)) << e.event_id << ": " << e.raw;
      }
      bool notify_firing = false;
      for (const TimelineEntry& t : c.timeline) {
        EXPECT_TRUE(seen.insert(t.transition_id).second) << "duplicate " << t.transition_id;
        EXPECT_TRUE(ids_by_key[key].count(t.transition_id)) << key << " " << t.transition_id;
        notify_firing |= t.firing && t.notify;
        // The buffer (64 MiB) holds the whole sample: every evidence id has its raw event.
        for (const std::string& id : t.event_ids) EXPECT_TRUE(evidence_ids.count(id)) << id;
      }
      EXPECT_TRUE(notify_firing) << key;
      timeline_total += c.timeline.size();
      evidence_total += c.evidence.size();
    }
    // Every notifying firing of replay is in its key's timeline.
    for (const std::string& l : replayed) {
      if (test::StringField(l, "state") != "firing" || !notify_.at(test::StringField(l, "rule")))
        continue;
      std::set<std::string> ids;
      for (const TimelineEntry& t : cases.at(test::StringField(l, "key")).timeline)
        ids.insert(t.transition_id);
      EXPECT_TRUE(ids.count(test::StringField(l, "id"))) << l;
      for (const std::string& e : Events(l)) EXPECT_FALSE(lines_by_id[e].empty()) << e;
    }
  }
  EXPECT_GT(evidence_total, 0u);
  // The audit chain of the store, found through the daemon's config.
  const std::string verify = std::string(ABUSEWATCH_BINARY) + " audit verify --config " +
                             (dir_ / "aw.yaml").string() + " >/dev/null 2>&1";
  EXPECT_EQ(std::system(verify.c_str()), 0);

  // A restart with the durable state: it resumes at the end of the input, nothing changes.
  struct Totals {
    size_t cases = 0, timeline = 0, evidence = 0;
    std::set<std::string> ids;
    bool operator==(const Totals&) const = default;
  };
  auto totals = [&] {
    auto store = OpenStore();
    Totals t;
    for (const auto& [k, c] : Cases(*store)) {
      ++t.cases;
      t.evidence += c.evidence.size();
      for (const TimelineEntry& e : c.timeline) {
        ++t.timeline;
        EXPECT_TRUE(t.ids.insert(e.transition_id).second) << "duplicate " << e.transition_id;
      }
    }
    return t;
  };
  const Totals first = totals();
  EXPECT_EQ(first.timeline, timeline_total);
  EXPECT_EQ(first.evidence, evidence_total);
  ASSERT_EQ(RunDaemon(Config("")), 0);
  EXPECT_TRUE(totals() == first);
  // From an empty state (as after a kill -9 before the first checkpoint) every transition comes
  // again with the same id: no duplicates. Transitions of the keys' other rules from before
  // their case opened now join too (the cases exist from the start), so a second such run is
  // the one that must change nothing.
  fs::remove_all(dir_ / "state");
  ASSERT_EQ(RunDaemon(Config("")), 0);
  const Totals again = totals();
  EXPECT_EQ(again.cases, first.cases);
  EXPECT_GE(again.timeline, first.timeline);
  EXPECT_TRUE(
      std::includes(again.ids.begin(), again.ids.end(), first.ids.begin(), first.ids.end()));
  fs::remove_all(dir_ / "state");
  ASSERT_EQ(RunDaemon(Config("")), 0);
  EXPECT_TRUE(totals() == again);
  std::string suppressed_key;

  // A reviewer decides a case false positive, suppressing every rule of its key. The clock is
  // set back so that the window covers the sample's event times.
  {
    ReviewOptions o;
    o.now_ms = [] { return int64_t{0}; };
    auto store = OpenStore(std::move(o));
    suppressed_key = *expected_keys.begin();
    int64_t id = 0;
    ASSERT_TRUE(store->FindCase(suppressed_key, &id).ok());
    const Actor admin{"admin", Role::kAdmin};
    ASSERT_TRUE(store->StartReview(admin, id).ok());
    DecideRequest fp;
    fp.decision = "false_positive";
    fp.reason = "test account of the provider";
    fp.suppress_for_ms = int64_t{4'000'000'000'000};  // until 2096
    fp.suppress_rule = "*";
    ASSERT_TRUE(store->Decide(admin, id, fp).ok());
  }
  fs::remove_all(dir_ / "state");
  fs::remove(dir_ / "out.jsonl");
  test::FakeHttpReceiver hook("/hook");
  ASSERT_EQ(RunDaemon(Config("  - {type: webhook, url: \"" + hook.base_url() +
                             "/hook\", secret: \"0123456789abcdef0123\"}\n")),
            0);
  size_t file_firings = 0, hook_firings = 0, file_others = 0;
  for (const std::string& l : SplitLines(Slurp(dir_ / "out.jsonl"))) {
    if (test::StringField(l, "state") != "firing" || !notify_.at(test::StringField(l, "rule")))
      continue;
    (test::StringField(l, "key") == suppressed_key ? file_firings : file_others) += 1;
  }
  size_t hook_others = 0;
  for (const std::string& b : hook.bodies()) {
    if (test::StringField(b, "state") != "firing") continue;
    (test::StringField(b, "key") == suppressed_key ? hook_firings : hook_others) += 1;
  }
  EXPECT_GT(file_firings, 0u);  // the transition record keeps everything
  EXPECT_EQ(hook_firings, 0u);  // nobody is paged for the suppressed key
  EXPECT_GT(hook_others, 0u);
  EXPECT_EQ(hook_others, file_others);  // everyone else is
  // The store marks the suppressed firings in the timeline instead of reopening the case.
  auto store = OpenStore();
  int64_t id = 0;
  ASSERT_TRUE(store->FindCase(suppressed_key, &id).ok());
  CaseDetail d;
  ASSERT_TRUE(store->Get(id, &d).ok());
  EXPECT_EQ(d.summary.status, "decided");
}

TEST_F(ReviewDaemonTest, ServesTheApiAndPageReloadsTokensAndStopsOnSigterm) {
  const std::string tokens = (dir_ / "review.tokens").string();
  const std::string cmd = std::string(ABUSEWATCH_BINARY) + " token new --name alice --role viewer" +
                          " --append " + tokens + " >" + (dir_ / "alice").string() + " 2>/dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  std::string alice = Slurp(dir_ / "alice");
  alice.erase(alice.find_last_not_of("\r\n") + 1);
  std::string config = Config("");
  config.replace(config.find("follow: false"), 13, "follow: true");
  std::ofstream(dir_ / "aw.yaml") << config;
  DaemonProcess d;
  ASSERT_TRUE(d.Start({"run", "--config", (dir_ / "aw.yaml").string()}, dir_ / "log.txt"));
  ASSERT_TRUE(test::WaitFor([&] { return d.Port() > 0; }, std::chrono::seconds(30))) << d.Log();
  const int port = d.Port();
  EXPECT_EQ(GetStatus(port, "/review/", ""), 200);
  EXPECT_EQ(GetStatus(port, "/api/v1/cases", ""), 401);
  EXPECT_EQ(GetStatus(port, "/api/v1/cases", alice), 200);
  const std::string metrics = test::HttpGetRaw(port, "/metrics");
  EXPECT_NE(metrics.find("abusewatch_review_cases{status=\"open\"}"), std::string::npos);
  EXPECT_NE(metrics.find("abusewatch_alerts_sent_total{result=\"dropped\",sink=\"review\"}"),
            std::string::npos);
  // An invalid token file: the reload fails, the old tokens stay.
  std::ofstream(tokens, std::ios::app) << "this line is not an entry\n";
  d.Signal(SIGHUP);
  ASSERT_TRUE(test::WaitFor(
      [&] {
        return test::HttpGetRaw(port, "/metrics")
                   .find("abusewatch_config_reload_total{result=\"failed\"} 1") !=
               std::string::npos;
      },
      std::chrono::seconds(10)));
  EXPECT_EQ(GetStatus(port, "/api/v1/cases", alice), 200);
  // A valid one without alice: she is out after the reload.
  std::ofstream(tokens, std::ios::trunc) << "bob viewer "
                                         << "sha256:" << std::string(64, '0') << "\n";
  d.Signal(SIGHUP);
  EXPECT_TRUE(test::WaitFor([&] { return GetStatus(port, "/api/v1/cases", alice) == 401; },
                            std::chrono::seconds(10)));
  d.Signal(SIGTERM);
  EXPECT_EQ(d.Wait(std::chrono::seconds(30)), 0) << d.Log();
}

TEST_F(ReviewDaemonTest, MissingTokenFileIsAConfigErrorAtStart) {
  std::ofstream(dir_ / "aw.yaml") << Config("");
  DaemonProcess d;
  ASSERT_TRUE(d.Start({"run", "--config", (dir_ / "aw.yaml").string()}, dir_ / "log.txt"));
  EXPECT_EQ(d.Wait(std::chrono::seconds(30)), 2);
  EXPECT_THAT(d.Log(), ::testing::HasSubstr("review tokens"));
  EXPECT_FALSE(fs::exists(dir_ / "out.jsonl") && !Slurp(dir_ / "out.jsonl").empty());
}

}  // namespace
}  // namespace abusewatch
