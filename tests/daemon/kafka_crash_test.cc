// Durable state of `abusewatch run` on a REAL Kafka broker (tests/kafka), spec/daemon.md
// "Guarantees":
//  - kill -9 at random moments (during start and restore, mid-stream, right after a checkpoint,
//    after the end of the stream) then a restart with the same config and state dir, over and
//    over: once deduplicated by transition id, the transitions equal `abusewatch replay` on the
//    same events up to the last run's watermark (the comparison of kafka_daemon_test.cc), and
//    transitions after the last checkpoint were really emitted again with the same ids;
//  - a restart with other rules follows state.on_rules_change and the command-line overrides;
//  - a damaged state directory refuses to start (exit 2, naming the directory) unless
//    --state-rebuild.
// AW_CRASH_SEED=N replays a kill schedule (the seed is printed; the timing still varies);
// AW_CRASH_GROUP_PER_RUN=1, see below.
#include <gtest/gtest.h>

#ifdef ABUSEWATCH_HAVE_KAFKA_TESTING

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <iterator>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "detectors/timeutil.h"
#include "tests/daemon/daemon_process.h"
#include "tests/kafka/kafka_broker.h"

namespace abusewatch {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using test::DaemonProcess;
using test::HttpGetRaw;
using test::MetricSum;
using test::Slurp;
using test::SplitLines;
using test::WaitFor;

constexpr int kPartitions = 3;
constexpr int64_t kAllowedLatenessMs = 30'000;  // the pack's allowed_lateness

// Helpers copied from kafka_daemon_test.cc.
int64_t AtOf(const std::string& transition) {
  const size_t p = transition.find("\"at\":\"");
  int64_t ms = 0;
  EXPECT_NE(p, std::string::npos) << transition;
  if (p == std::string::npos) return 0;
  EXPECT_TRUE(ParseRfc3339(transition.substr(p + 6, 24), &ms)) << transition;
  return ms;
}

std::string FieldOf(const std::string& json, const std::string& name) {
  const size_t p = json.find("\"" + name + "\":\"");
  if (p == std::string::npos) return "";
  const size_t b = p + name.size() + 4;
  return json.substr(b, json.find('"', b) - b);
}

int Shell(const std::string& cmd) { return std::system((cmd + " 2>>/dev/null").c_str()); }

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

// The largest event time of a JSON Lines event file.
int64_t MaxTs(const fs::path& file) {
  std::ifstream in(file);
  int64_t max = 0;
  for (std::string line; std::getline(in, line);) {
    int64_t ms = 0;
    const std::string ts = FieldOf(line, "ts");
    if (!ts.empty() && ParseRfc3339(ts, &ms)) max = std::max(max, ms);
  }
  return max;
}

bool Ready(int port) { return HttpGetRaw(port, "/readyz").rfind("HTTP/1.1 200", 0) == 0; }

// Waits for the HTTP port and /readyz (the consumer group gave the daemon its partitions).
bool WaitReady(const DaemonProcess& d, milliseconds limit, int* port) {
  const auto deadline = Clock::now() + limit;
  *port = -1;
  if (!WaitFor([&] { return d.Port() > 0; }, limit)) return false;
  *port = d.Port();
  const int p = *port;
  return WaitFor([&] { return Ready(p); },
                 std::chrono::duration_cast<milliseconds>(deadline - Clock::now()));
}

// Waits until the watermark metric reaches `ms` (every partition idle at its end: the largest
// event time minus the allowed lateness), then for it to stay put for a few commit intervals.
// Also after a rebalance that revoked partitions and gave them back under new lanes which
// redelivered only duplicates: the engine then drains what the closed lanes accepted.
bool WaitWatermark(int port, int64_t ms, milliseconds limit, double* watermark) {
  const bool reached = WaitFor(
      [&] {
        *watermark = MetricSum(HttpGetRaw(port, "/metrics"), "abusewatch_watermark_seconds");
        return *watermark * 1000 >= static_cast<double>(ms) - 1;
      },
      limit);
  if (!reached) return false;
  std::this_thread::sleep_for(milliseconds(1000));
  *watermark = MetricSum(HttpGetRaw(port, "/metrics"), "abusewatch_watermark_seconds");
  return true;
}

// kafka_daemon_test's comparison: the transitions of one uninterrupted run are exactly replay's
// before the watermark, in the same order.
void ExpectReplayUpToWatermark(const fs::path& replay, const std::vector<std::string>& got,
                               int64_t w_ms) {
  std::vector<std::string> expected;
  for (const std::string& t : SplitLines(Slurp(replay))) {
    if (AtOf(t) < w_ms) expected.push_back(t);
  }
  ASSERT_GT(expected.size(), 50u);
  for (size_t i = 0; i < std::max(got.size(), expected.size()); ++i) {
    ASSERT_EQ(i < got.size() ? got[i] : "(none)", i < expected.size() ? expected[i] : "(none)")
        << "transition " << i << " of " << got.size() << " (replay: " << expected.size() << ")";
  }
}

std::string Config(const std::string& brokers, const std::string& group, const std::string& topic,
                   const fs::path& state, const std::string& extra_rules) {
  const std::string pack = std::string(ABUSEWATCH_SOURCE_DIR) + "/config/packs/legal-cn-2019.yaml";
  std::ostringstream c;
  c << "version: 1\ninclude: [" << pack << "]\n"
    << extra_rules << "sources:\n  - {type: kafka, brokers: \"" << brokers << "\", group: " << group
    << ", topics: ["
    << topic
    // idle_timeout: a partition silent this long stops holding event time back. (Partitions
    // starting at their beginning once waited for another's whole backlog, went idle in slow
    // builds and had their records come back late: kafka_source.cc FirstOffset, KnownBacklog.)
    << "], idle_timeout: 5s, commit_interval: 200ms,"
    // A member killed with -9 stays in the group until its session times out, and the next run
    // waits for that in its first rebalance: the broker's minimum instead of 45 s.
    << " properties: {session.timeout.ms: \"6000\", heartbeat.interval.ms: \"1000\"}}\n"
    << "sinks: [{type: file, path: out.jsonl}]\n"
    << "dead_letter: {type: file, path: " << (state.parent_path() / "rejected.jsonl").string()
    << "}\n"
    << "state: {dir: " << state.string()
    << ", checkpoint_interval: 200ms, on_rules_change: refuse}\n"
    << "http: {listen: \"127.0.0.1:0\"}\n";
  return c.str();
}

// A topic with `events` generated events (keyed by account), the same events in a file, and
// replay's transitions on them under `replay_config`.
struct Stream {
  std::string brokers, topic, group;
  fs::path dir;
  int64_t max_ts = 0;
};

void MakeStream(const std::string& name, const std::string& gen_args, Stream* s) {
  std::string error;
  testing::KafkaBroker* broker = testing::SharedKafkaBroker(&error);
  ASSERT_NE(broker, nullptr) << error;
  const std::string id = testing::UniqueId();
  s->brokers = broker->bootstrap();
  s->topic = "aw-" + name + "-" + id;
  s->group = "aw-" + name + "-group-" + id;
  s->dir = fs::temp_directory_path() / ("aw-" + name + "-" + id);
  fs::remove_all(s->dir);
  fs::create_directories(s->dir);
  ASSERT_TRUE(broker->CreateTopic(s->topic, kPartitions, &error)) << error;
  const std::string gen = std::string(ABUSEWATCH_BINARY) + " gen " + gen_args;
  auto to_kafka = std::async(std::launch::async, [&] {
    return Shell(gen + " --kafka-brokers " + s->brokers + " --topic " + s->topic);
  });
  ASSERT_EQ(Shell(gen + " --output " + (s->dir / "stream.jsonl").string()), 0);
  s->max_ts = MaxTs(s->dir / "stream.jsonl");
  ASSERT_EQ(to_kafka.get(), 0);
}

void Replay(const Stream& s, const std::string& extra_rules, const fs::path& out) {
  const std::string pack = std::string(ABUSEWATCH_SOURCE_DIR) + "/config/packs/legal-cn-2019.yaml";
  std::ofstream(s.dir / "replay.yaml") << "version: 1\ninclude: [" << pack << "]\n" << extra_rules;
  ASSERT_EQ(Shell(std::string(ABUSEWATCH_BINARY) + " replay --config " +
                  (s.dir / "replay.yaml").string() + " --input " +
                  (s.dir / "stream.jsonl").string() + " --output " + out.string()),
            0);
}

// One uninterrupted run to the end of the stream, then SIGTERM; the watermark reached (ms).
void RunToEnd(const Stream& s, const std::vector<std::string>& extra_args, const fs::path& log,
              int64_t* w_ms) {
  std::vector<std::string> args = {"run", "--config", (s.dir / "aw.yaml").string()};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  DaemonProcess d;
  ASSERT_TRUE(d.Start(args, log));
  int port = -1;
  ASSERT_TRUE(WaitReady(d, milliseconds(60000), &port)) << d.Log();
  double w = 0;
  ASSERT_TRUE(WaitWatermark(port, s.max_ts - kAllowedLatenessMs, milliseconds(120000), &w))
      << "watermark " << w << "\n"
      << d.Log();
  d.Signal(SIGTERM);
  ASSERT_EQ(d.Wait(milliseconds(30000)), 0) << d.Log();
  *w_ms = std::llround(w * 1000);
}

// Runs the daemon and expects it to refuse to start: exit 2.
void ExpectRefusal(const Stream& s, const std::vector<std::string>& extra_args, const fs::path& log,
                   std::string* out_log) {
  std::vector<std::string> args = {"run", "--config", (s.dir / "aw.yaml").string()};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  DaemonProcess d;
  ASSERT_TRUE(d.Start(args, log));
  const int code = d.Wait(milliseconds(15000));
  *out_log = d.Log();
  EXPECT_EQ(code, 2) << *out_log;
}

uint64_t RestoredCheckpoint(const std::string& log) {
  const size_t p = log.find("restored checkpoint ");
  return p == std::string::npos ? 0 : std::stoull(log.substr(p + 20));
}

// 1 M events (the issue's size); 200 k under sanitizers, where the daemon is ~10x slower.
#if defined(__SANITIZE_ADDRESS__)
constexpr const char* kCrashEvents = "200000";
#else
constexpr const char* kCrashEvents = "1000000";
#endif

TEST(KafkaCrashTest, KillNineAtRandomMomentsGivesTheUninterruptedTransitions) {
  const auto t0 = Clock::now();
  Stream s;
  ASSERT_NO_FATAL_FAILURE(MakeStream("kc",
                                     std::string("--events ") + kCrashEvents +
                                         " --seed 2019 --accounts 50000 --span-days 30 "
                                         "--offenders 300",
                                     &s));
  const double t_gen = Seconds(t0);
  ASSERT_NO_FATAL_FAILURE(Replay(s, "", s.dir / "replay.jsonl"));
  const double t_replay = Seconds(t0) - t_gen;
  std::ofstream(s.dir / "aw.yaml") << Config(s.brokers, s.group, s.topic, s.dir / "state", "");

  uint32_t seed = std::random_device()();
  if (const char* e = std::getenv("AW_CRASH_SEED")) seed = static_cast<uint32_t>(std::stoul(e));
  std::cout << "AW_CRASH_SEED=" << seed << "\n";
  // Diagnostic: AW_CRASH_GROUP_PER_RUN=1 gives every run its own consumer group, so that no
  // member of a killed run is left in the group to take partitions in the next run's first
  // assignment.
  const bool group_per_run = std::getenv("AW_CRASH_GROUP_PER_RUN") != nullptr;
  std::mt19937 rng(seed);
  const auto uniform = [&](double lo, double hi) {
    return std::uniform_real_distribution<double>(lo, hi)(rng);
  };

  // Each run is killed in one of three ways: at a random moment after the start (start-up,
  // restore, group join), at a random moment once ready (mid-stream, or after its end), or a few
  // ms after a checkpoint completed.
  std::ostringstream schedule;
  int kills = 0, restored_kills = 0, run = 0;
  const auto t_kills = Clock::now();
  for (; restored_kills < 10 && run < 30; ++run) {
    SCOPED_TRACE("run " + std::to_string(run));
    const fs::path log = s.dir / ("log-" + std::to_string(run) + ".txt");
    if (group_per_run) {
      std::ofstream(s.dir / "aw.yaml")
          << Config(s.brokers, s.group + "-" + std::to_string(run), s.topic, s.dir / "state", "");
    }
    DaemonProcess d;
    ASSERT_TRUE(d.Start({"run", "--config", (s.dir / "aw.yaml").string()}, log));
    const auto started = Clock::now();
    const int mode = run == 0 ? 1 : static_cast<int>(rng() % 3);
    std::string what;
    if (mode == 0) {
      const double delay = uniform(0.05, 1.0);
      std::this_thread::sleep_for(std::chrono::duration<double>(delay));
      what = "start+" + std::to_string(std::lround(delay * 1000)) + "ms";
    } else {
      int port = -1;
      ASSERT_TRUE(WaitReady(d, milliseconds(60000), &port)) << d.Log();
      what = "ready@" + std::to_string(std::lround(Seconds(started) * 1000)) + "ms";
      if (mode == 1) {
        // Log-uniform: half the kills within 0.4 s of readiness (mid-stream), the rest up to 3 s.
        const double delay = 0.05 * std::exp(uniform(0, std::log(3.0 / 0.05)));
        std::this_thread::sleep_for(std::chrono::duration<double>(delay));
        what += "+" + std::to_string(std::lround(delay * 1000)) + "ms";
      } else {
        const auto ok = [&] {
          return MetricSum(HttpGetRaw(port, "/metrics"), "abusewatch_checkpoints_total");
        };
        const double before = ok();
        const auto limit = Clock::now() + milliseconds(3000);
        while (ok() == before && Clock::now() < limit) {
          std::this_thread::sleep_for(milliseconds(2));
        }
        const double delay = uniform(0, 0.03);
        std::this_thread::sleep_for(std::chrono::duration<double>(delay));
        what += " checkpoint+" + std::to_string(std::lround(delay * 1000)) + "ms";
      }
    }
    ASSERT_EQ(d.Wait(milliseconds(0)), -1) << "exited before the kill\n" << d.Log();
    d.Signal(SIGKILL);
    ASSERT_EQ(d.Wait(milliseconds(10000)), 128 + SIGKILL);
    ++kills;
    const std::string l = Slurp(log);
    const uint64_t restored = RestoredCheckpoint(l);
    if (restored > 0) ++restored_kills;
    size_t lines = 0;
    if (fs::exists(s.dir / "out.jsonl")) {
      fs::rename(s.dir / "out.jsonl", s.dir / ("out-" + std::to_string(run) + ".jsonl"));
      lines = SplitLines(Slurp(s.dir / ("out-" + std::to_string(run) + ".jsonl"))).size();
    }
    schedule << "run " << run << ": kill at " << what << ", restored checkpoint " << restored
             << ", " << lines << " transitions\n";
  }
  const double t_killing = Seconds(t_kills);
  std::cout << schedule.str();
  ASSERT_GE(restored_kills, 10) << schedule.str();

  // The last run consumes everything and stops gracefully.
  const auto t_last = Clock::now();
  int64_t w_ms = 0;
  const fs::path last_log = s.dir / ("log-" + std::to_string(run) + ".txt");
  if (group_per_run) {
    std::ofstream(s.dir / "aw.yaml")
        << Config(s.brokers, s.group + "-" + std::to_string(run), s.topic, s.dir / "state", "");
  }
  ASSERT_NO_FATAL_FAILURE(RunToEnd(s, {}, last_log, &w_ms)) << schedule.str();
  EXPECT_GT(RestoredCheckpoint(Slurp(last_log)), 0u) << Slurp(last_log);
  fs::rename(s.dir / "out.jsonl", s.dir / ("out-" + std::to_string(run) + ".jsonl"));
  const double t_final = Seconds(t_last);

  // Deduplicated by id: the same line every time, and exactly replay's up to the watermark.
  std::map<std::string, std::string> by_id;
  size_t total = 0, duplicates = 0;
  for (int r = 0; r <= run; ++r) {
    const fs::path f = s.dir / ("out-" + std::to_string(r) + ".jsonl");
    if (!fs::exists(f)) continue;
    const std::string text = Slurp(f);
    EXPECT_TRUE(text.empty() || text.back() == '\n') << "torn last line in " << f;
    for (const std::string& t : SplitLines(text)) {
      ++total;
      const std::string id = FieldOf(t, "id");
      ASSERT_FALSE(id.empty()) << f << ": " << t;
      auto [it, inserted] = by_id.emplace(id, t);
      if (!inserted) {
        ++duplicates;
        EXPECT_EQ(it->second, t) << "id " << id << " emitted twice with other contents";
      }
    }
  }
  std::set<std::string> got, expected;
  for (const auto& [id, t] : by_id) got.insert(t);
  size_t replay_all = 0;
  for (const std::string& t : SplitLines(Slurp(s.dir / "replay.jsonl"))) {
    ++replay_all;
    if (AtOf(t) < w_ms) {
      EXPECT_TRUE(expected.insert(t).second) << "replay repeats " << t;
    }
  }
  std::vector<std::string> missing, extra;
  std::set_difference(expected.begin(), expected.end(), got.begin(), got.end(),
                      std::back_inserter(missing));
  std::set_difference(got.begin(), got.end(), expected.begin(), expected.end(),
                      std::back_inserter(extra));
  std::ostringstream diff;
  for (size_t i = 0; i < std::min<size_t>(missing.size(), 20); ++i) {
    diff << "missing: " << missing[i] << "\n";
  }
  for (size_t i = 0; i < std::min<size_t>(extra.size(), 20); ++i) {
    diff << "extra:   " << extra[i] << "\n";
  }
  EXPECT_TRUE(missing.empty() && extra.empty())
      << missing.size() << " missing, " << extra.size() << " extra (of " << expected.size()
      << " expected, watermark " << w_ms << ")\n"
      << diff.str() << schedule.str() << "seed " << seed;
  EXPECT_GT(expected.size(), replay_all * 9 / 10) << "the watermark should be near the end";
  // Transitions emitted again after a kill show up only when the killed run had written them
  // out before dying (the file sink buffers between flushes), so their count is reported, not
  // asserted; the restores themselves are (kills after a restore, above).
  std::cout << "events " << kCrashEvents << ", transitions " << expected.size() << " (replay "
            << replay_all << "), emitted " << total << " (" << duplicates << " again), " << kills
            << " kills (" << restored_kills << " after a restore); gen+produce " << t_gen
            << " s, replay " << t_replay << " s, kill runs " << t_killing << " s, last run "
            << t_final << " s, total " << Seconds(t0) << " s\n";
  if (!HasFailure()) fs::remove_all(s.dir);
}

const char* const kRule =
    "rules:\n  - {id: custom_many_logins, kind: threshold, severity: info,"
    " select: {stream: login}, aggregate: count, window: 1h, threshold: ";

TEST(KafkaCrashTest, RestartAfterRulesChangeFollowsOnRulesChange) {
  Stream s;
  ASSERT_NO_FATAL_FAILURE(
      MakeStream("kr", "--events 5000 --seed 7 --accounts 200 --span-days 5", &s));
  const std::string old_rules = std::string(kRule) + "3}\n",
                    new_rules = std::string(kRule) + "2}\n";
  const fs::path state = s.dir / "state";
  std::ofstream(s.dir / "aw.yaml") << Config(s.brokers, s.group, s.topic, state, old_rules);
  int64_t w_ms = 0;
  ASSERT_NO_FATAL_FAILURE(RunToEnd(s, {}, s.dir / "log-0.txt", &w_ms));
  ASSERT_NO_FATAL_FAILURE(Replay(s, old_rules, s.dir / "replay-old.jsonl"));
  ExpectReplayUpToWatermark(s.dir / "replay-old.jsonl", SplitLines(Slurp(s.dir / "out.jsonl")),
                            w_ms);
  fs::rename(s.dir / "out.jsonl", s.dir / "out-0.jsonl");

  std::ofstream(s.dir / "aw.yaml") << Config(s.brokers, s.group, s.topic, state, new_rules);
  // on_rules_change: refuse.
  std::string log;
  ASSERT_NO_FATAL_FAILURE(ExpectRefusal(s, {}, s.dir / "log-1.txt", &log));
  EXPECT_NE(log.find("other rules"), std::string::npos) << log;
  EXPECT_NE(log.find("custom_many_logins"), std::string::npos) << log;
  EXPECT_NE(log.find(state.string()), std::string::npos) << log;
  EXPECT_FALSE(fs::exists(s.dir / "out.jsonl") && !Slurp(s.dir / "out.jsonl").empty());

  // --state-keep-unchanged: starts, the changed rule empty.
  {
    DaemonProcess d;
    ASSERT_TRUE(d.Start({"run", "--config", (s.dir / "aw.yaml").string(), "--state-keep-unchanged"},
                        s.dir / "log-2.txt"));
    int port = -1;
    ASSERT_TRUE(WaitReady(d, milliseconds(60000), &port)) << d.Log();
    EXPECT_NE(d.Log().find("rules started empty: custom_many_logins"), std::string::npos)
        << d.Log();
    EXPECT_GT(RestoredCheckpoint(d.Log()), 0u) << d.Log();
    std::this_thread::sleep_for(milliseconds(500));
    d.Signal(SIGTERM);
    ASSERT_EQ(d.Wait(milliseconds(30000)), 0) << d.Log();
  }
  if (fs::exists(s.dir / "out.jsonl")) fs::rename(s.dir / "out.jsonl", s.dir / "out-2.jsonl");

  // --state-rebuild: starts from scratch, reads the topic from its start: replay with the new
  // rules.
  ASSERT_NO_FATAL_FAILURE(RunToEnd(s, {"--state-rebuild"}, s.dir / "log-3.txt", &w_ms));
  const std::string l3 = Slurp(s.dir / "log-3.txt");
  EXPECT_NE(l3.find("rebuilding"), std::string::npos) << l3;
  EXPECT_NE(l3.find("reading the inputs from their start"), std::string::npos) << l3;
  ASSERT_NO_FATAL_FAILURE(Replay(s, new_rules, s.dir / "replay-new.jsonl"));
  ExpectReplayUpToWatermark(s.dir / "replay-new.jsonl", SplitLines(Slurp(s.dir / "out.jsonl")),
                            w_ms);
  if (!HasFailure()) fs::remove_all(s.dir);
}

// Flips a few bytes in the middle of `f` (or truncates it to half with `truncate`).
void Damage(const fs::path& f, bool truncate) {
  const auto size = fs::file_size(f);
  if (truncate) {
    fs::resize_file(f, size / 2);
    return;
  }
  std::fstream io(f, std::ios::in | std::ios::out | std::ios::binary);
  for (uint64_t at = size / 3; at < size / 3 + 16 && at < size; ++at) {
    io.seekg(static_cast<std::streamoff>(at));
    const char c = static_cast<char>(io.get() ^ 0x5a);
    io.seekp(static_cast<std::streamoff>(at));
    io.put(c);
  }
}

TEST(KafkaCrashTest, CorruptStateRefusesToStart) {
  Stream s;
  ASSERT_NO_FATAL_FAILURE(
      MakeStream("ks", "--events 20000 --seed 8 --accounts 2000 --span-days 10", &s));
  const fs::path state = s.dir / "state", pristine = s.dir / "pristine";
  std::ofstream(s.dir / "aw.yaml") << Config(s.brokers, s.group, s.topic, state, "");
  int64_t w_ms = 0;
  ASSERT_NO_FATAL_FAILURE(RunToEnd(s, {}, s.dir / "log-0.txt", &w_ms));
  fs::rename(s.dir / "out.jsonl", s.dir / "out-0.jsonl");
  fs::copy(state, pristine, fs::copy_options::recursive);

  // Every file kind RocksDB keeps the state in; each damaged on its own in a fresh copy. After a
  // short run the whole state is in the WAL (*.log: no flush, so no SST), which RocksDB replays
  // in point-in-time recovery mode: a damaged record ends the replay there, so without a check of
  // its own the store would open at an earlier checkpoint (or none) without a word.
  struct Case {
    std::string name;
    fs::path file;
    bool truncate;
  };
  std::vector<Case> cases;
  std::string listing;
  for (const auto& e : fs::directory_iterator(pristine)) {
    const std::string n = e.path().filename().string();
    listing += n + " (" + std::to_string(fs::file_size(e.path())) + " B) ";
    if (fs::file_size(e.path()) == 0) continue;
    if (e.path().extension() == ".sst") cases.push_back({"flipped " + n, n, false});
    if (n.rfind("MANIFEST-", 0) == 0) {
      cases.push_back({"flipped " + n, n, false});
      cases.push_back({"truncated " + n, n, true});
    }
    // (Not a truncated WAL: short of a record of the last checkpoint kept elsewhere, a WAL cut
    // after a record looks like one whose last writes were lost with the machine.)
    if (e.path().extension() == ".log") cases.push_back({"flipped " + n, n, false});
  }
  std::cout << "state files: " << listing << "\n";
  ASSERT_GE(cases.size(), 2u) << listing;
  int n = 1;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    fs::remove_all(state);
    fs::copy(pristine, state, fs::copy_options::recursive);
    Damage(state / c.file, c.truncate);
    std::string log;
    ASSERT_NO_FATAL_FAILURE(
        ExpectRefusal(s, {}, s.dir / ("log-" + std::to_string(n++) + ".txt"), &log));
    EXPECT_NE(log.find(state.string()), std::string::npos) << log;
    std::cout << c.name << ": " << log.substr(0, 400) << "\n";
  }

  // --state-rebuild recovers: the topic again from its start, replay's transitions.
  const fs::path out = s.dir / "out.jsonl";
  if (fs::exists(out)) fs::remove(out);
  ASSERT_NO_FATAL_FAILURE(RunToEnd(s, {"--state-rebuild"}, s.dir / "log-rebuild.txt", &w_ms));
  const std::string l = Slurp(s.dir / "log-rebuild.txt");
  EXPECT_NE(l.find("rebuilding"), std::string::npos) << l;
  ASSERT_NO_FATAL_FAILURE(Replay(s, "", s.dir / "replay.jsonl"));
  ExpectReplayUpToWatermark(s.dir / "replay.jsonl", SplitLines(Slurp(out)), w_ms);
  if (!HasFailure()) fs::remove_all(s.dir);
}

}  // namespace
}  // namespace abusewatch

#endif  // ABUSEWATCH_HAVE_KAFKA_TESTING
