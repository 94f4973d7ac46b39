// `abusewatch run` on a REAL Kafka broker (tests/kafka): a generated stream is produced with
// `abusewatch gen --kafka-brokers` into a 3-partition topic, the daemon consumes it in a consumer
// group, and
//  - its transitions equal `abusewatch replay` on the same events, up to its watermark (the
//    daemon never ends its input, so it has processed exactly the events and timers before it);
//  - the same transitions reach the Kafka alerts topic, keyed by group key;
//  - every rejected record reaches the dead-letter topic with its reason and raw payload;
//  - the committed offset of every partition is exactly where processing stopped: every record
//    before it is processed, the record at it is not.
#include <gtest/gtest.h>

#ifdef ABUSEWATCH_HAVE_KAFKA_TESTING

#include <librdkafka/rdkafkacpp.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "config/config_loader.h"
#include "detectors/decoder.h"
#include "detectors/event.h"
#include "detectors/timeutil.h"
#include "detectors/transition.h"
#include "tests/daemon/daemon_process.h"
#include "tests/kafka/kafka_broker.h"

namespace abusewatch {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using test::DaemonProcess;
using test::HttpGetRaw;
using test::MetricSum;
using test::Slurp;
using test::SplitLines;
using test::WaitFor;

constexpr int kPartitions = 3;
constexpr int kEvents = 30000;

struct Message {
  std::string key, value;
  int32_t partition = 0;
  int64_t offset = 0;
};

// Reads a topic from the beginning (no group offsets kept) until `expected` messages, or 3 s
// without one, or `limit`.
std::vector<Message> ReadTopic(const std::string& brokers, const std::string& topic,
                               size_t expected, milliseconds limit) {
  std::string err;
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  conf->set("bootstrap.servers", brokers, err);
  conf->set("group.id", "reader-" + topic, err);
  conf->set("auto.offset.reset", "earliest", err);
  conf->set("enable.auto.commit", "false", err);
  std::unique_ptr<RdKafka::KafkaConsumer> c(RdKafka::KafkaConsumer::create(conf.get(), err));
  EXPECT_NE(c, nullptr) << err;
  std::vector<Message> out;
  if (c == nullptr) return out;
  c->subscribe({topic});
  const auto deadline = std::chrono::steady_clock::now() + limit;
  auto last = std::chrono::steady_clock::now();
  while (out.size() < expected && std::chrono::steady_clock::now() < deadline &&
         (out.empty() || std::chrono::steady_clock::now() - last < milliseconds(3000))) {
    std::unique_ptr<RdKafka::Message> m(c->consume(200));
    if (m->err() != RdKafka::ERR_NO_ERROR) continue;
    last = std::chrono::steady_clock::now();
    out.push_back({m->key() ? *m->key() : "",
                   std::string(static_cast<const char*>(m->payload()), m->len()), m->partition(),
                   m->offset()});
  }
  c->close();
  return out;
}

// The offsets committed by `group` for each partition of `topic` (-1001 when none).
std::map<int32_t, int64_t> Committed(const std::string& brokers, const std::string& group,
                                     const std::string& topic) {
  std::string err;
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  conf->set("bootstrap.servers", brokers, err);
  conf->set("group.id", group, err);
  std::unique_ptr<RdKafka::KafkaConsumer> c(RdKafka::KafkaConsumer::create(conf.get(), err));
  std::vector<RdKafka::TopicPartition*> parts;
  for (int p = 0; p < kPartitions; ++p) parts.push_back(RdKafka::TopicPartition::create(topic, p));
  EXPECT_EQ(c->committed(parts, 10000), RdKafka::ERR_NO_ERROR);
  std::map<int32_t, int64_t> out;
  for (auto* tp : parts) out[tp->partition()] = tp->offset();
  RdKafka::TopicPartition::destroy(parts);
  c->close();
  return out;
}

int64_t AtOf(const std::string& transition) {
  const size_t p = transition.find("\"at\":\"");
  int64_t ms = 0;
  EXPECT_NE(p, std::string::npos) << transition;
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

// Produces every line of `file` to one partition of `topic` and waits for delivery.
void ProduceToPartition(const std::string& brokers, const std::string& topic, int32_t partition,
                        const fs::path& file) {
  std::string err;
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  conf->set("bootstrap.servers", brokers, err);
  std::unique_ptr<RdKafka::Producer> p(RdKafka::Producer::create(conf.get(), err));
  ASSERT_NE(p, nullptr) << err;
  for (std::string& line : SplitLines(Slurp(file))) {
    RdKafka::ErrorCode rc;
    while ((rc = p->produce(topic, partition, RdKafka::Producer::RK_MSG_COPY, line.data(),
                            line.size(), nullptr, 0, 0, nullptr)) == RdKafka::ERR__QUEUE_FULL) {
      p->poll(10);
    }
    ASSERT_EQ(rc, RdKafka::ERR_NO_ERROR);
  }
  ASSERT_EQ(p->flush(30000), RdKafka::ERR_NO_ERROR);
}

// A reload that changes the rules starts a new engine; it must learn that a silent partition is
// idle (the source reports changes only), or that partition would hold event time back forever.
TEST(KafkaDaemonTest, ReloadWithNewRulesKeepsIdlePartitionsIdle) {
  std::string error;
  testing::KafkaBroker* broker = testing::SharedKafkaBroker(&error);
  if (broker == nullptr) FAIL() << error;
  const std::string b = broker->bootstrap(), id = testing::UniqueId();
  const std::string events = "aw-rl-" + id;
  ASSERT_TRUE(broker->CreateTopic(events, 2, &error)) << error;
  const fs::path dir = fs::temp_directory_path() / ("aw-kr-" + id);
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string bin = ABUSEWATCH_BINARY;
  ASSERT_EQ(Shell(bin + " gen --events 3000 --accounts 300 --seed 5 --span-days 10 --start " +
                  "2026-01-01T00:00:00Z --output " + (dir / "a.jsonl").string()),
            0);
  ASSERT_EQ(Shell(bin + " gen --events 3000 --accounts 300 --seed 6 --span-days 10 --start " +
                  "2026-03-01T00:00:00Z --output " + (dir / "b.jsonl").string()),
            0);
  const std::string pack = std::string(ABUSEWATCH_SOURCE_DIR) + "/config/packs/legal-cn-2019.yaml";
  const auto write_config = [&](bool extra_rule) {
    std::ofstream(dir / "aw.yaml")
        << "version: 1\ninclude: [" << pack << "]\n"
        << (extra_rule ? "rules:\n  - {id: custom_many_logins, kind: threshold, severity: info,"
                         " select: {stream: login}, aggregate: count, window: 1h,"
                         " threshold: 1000000}\n"
                       : "")
        << "sources: [{type: kafka, brokers: \"" << b << "\", group: aw-rl-" << id << ", topics: ["
        << events << "], idle_timeout: 1s, commit_interval: 200ms}]\n"
        << "sinks: [{type: file, path: out.jsonl}]\nhttp: {listen: \"127.0.0.1:0\"}\n";
  };
  write_config(false);
  ProduceToPartition(b, events, 0, dir / "a.jsonl");  // partition 1 stays silent

  DaemonProcess daemon;
  ASSERT_TRUE(daemon.Start({"run", "--config", (dir / "aw.yaml").string()}, dir / "log.txt"));
  ASSERT_TRUE(WaitFor([&] { return daemon.Port() > 0; }, milliseconds(20000))) << daemon.Log();
  const int port = daemon.Port();
  const auto counted = [&] {
    const std::string m = HttpGetRaw(port, "/metrics");
    return MetricSum(m, "abusewatch_events_total") +
           MetricSum(m, "abusewatch_events_rejected_total");
  };
  ASSERT_TRUE(WaitFor([&] { return counted() == 3000; }, milliseconds(60000))) << daemon.Log();
  // Partition 1 has gone idle: the watermark has reached a's last event time − 30 s.
  const auto max_ts = [&](const char* file) {
    int64_t max = 0;
    for (const std::string& line : SplitLines(Slurp(dir / file))) {
      int64_t ms = 0;
      const std::string ts = FieldOf(line, "ts");
      if (!ts.empty() && ParseRfc3339(ts, &ms)) max = std::max(max, ms);
    }
    return max;
  };
  const auto watermark_reaches = [&](int64_t ms) {
    return WaitFor(
        [&] {
          const double w = MetricSum(HttpGetRaw(port, "/metrics"), "abusewatch_watermark_seconds");
          return w * 1000 >= static_cast<double>(ms) - 1;
        },
        milliseconds(30000));
  };
  ASSERT_TRUE(watermark_reaches(max_ts("a.jsonl") - 30'000)) << daemon.Log();

  write_config(true);
  daemon.Signal(SIGHUP);
  ASSERT_TRUE(WaitFor([&] { return daemon.Log().find("rules changed") != std::string::npos; },
                      milliseconds(20000)))
      << daemon.Log();
  ProduceToPartition(b, events, 0, dir / "b.jsonl");
  // The new engine moves on with partition 0 alone: its watermark reaches b's last event time
  // minus the allowed lateness (30 s).
  EXPECT_TRUE(watermark_reaches(max_ts("b.jsonl") - 30'000)) << daemon.Log();
  daemon.Signal(SIGTERM);
  EXPECT_EQ(daemon.Wait(milliseconds(30000)), 0) << daemon.Log();
  fs::remove_all(dir);
}

TEST(KafkaDaemonTest, TransitionsEqualReplayAndOffsetsCommitWhereProcessingStopped) {
  std::string error;
  testing::KafkaBroker* broker = testing::SharedKafkaBroker(&error);
  if (broker == nullptr) FAIL() << error;
  const std::string b = broker->bootstrap(), id = testing::UniqueId();
  const std::string events = "aw-ev-" + id, alerts = "aw-al-" + id, rejects = "aw-dl-" + id;
  const std::string group = "aw-daemon-" + id;
  ASSERT_TRUE(broker->CreateTopic(events, kPartitions, &error)) << error;
  ASSERT_TRUE(broker->CreateTopic(alerts, 1, &error)) << error;
  ASSERT_TRUE(broker->CreateTopic(rejects, 1, &error)) << error;

  const fs::path dir = fs::temp_directory_path() / ("aw-kd-" + id);
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string bin = ABUSEWATCH_BINARY;
  const std::string gen = bin + " gen --events " + std::to_string(kEvents) +
                          " --accounts 3000 --seed 11 --bad-fraction 0.003";
  ASSERT_EQ(Shell(gen + " --output " + (dir / "stream.jsonl").string()), 0);
  ASSERT_EQ(Shell(gen + " --kafka-brokers " + b + " --topic " + events), 0);

  const std::string pack = std::string(ABUSEWATCH_SOURCE_DIR) + "/config/packs/legal-cn-2019.yaml";
  std::ofstream(dir / "replay.yaml") << "version: 1\ninclude: [" << pack << "]\n";
  ASSERT_EQ(Shell(bin + " replay --config " + (dir / "replay.yaml").string() + " --input " +
                  (dir / "stream.jsonl").string() + " --output " + (dir / "replay.jsonl").string() +
                  " --rejects " + (dir / "replay-rej.jsonl").string() + " --decode-threads 0"),
            0);
  // The daemon decodes with two threads beside the engine's (batches of 256+ records): the
  // transitions must still be replay's, which decodes on the engine's thread alone.
  std::ofstream(dir / "aw.yaml") << "version: 1\ninclude: [" << pack << "]\n"
                                 << "decode_threads: 2\n"
                                 << "sources: [{type: kafka, brokers: \"" << b
                                 << "\", group: " << group << ", topics: [" << events
                                 << "], idle_timeout: 2s, commit_interval: 200ms}]\n"
                                 << "sinks:\n  - {type: file, path: out.jsonl}\n"
                                 << "  - {type: kafka, brokers: \"" << b << "\", topic: " << alerts
                                 << "}\n"
                                 << "dead_letter: {type: kafka, brokers: \"" << b
                                 << "\", topic: " << rejects << "}\n"
                                 << "http: {listen: \"127.0.0.1:0\"}\n";

  DaemonProcess daemon;
  ASSERT_TRUE(daemon.Start({"run", "--config", (dir / "aw.yaml").string()}, dir / "log.txt"));
  ASSERT_TRUE(WaitFor([&] { return daemon.Port() > 0; }, milliseconds(20000))) << daemon.Log();
  const int port = daemon.Port();
  // Ready once the consumer group gave it its partitions.
  ASSERT_TRUE(WaitFor([&] { return HttpGetRaw(port, "/readyz").rfind("HTTP/1.1 200", 0) == 0; },
                      milliseconds(30000)))
      << daemon.Log();
  // Everything consumed, and the watermark settled (every partition idle at its end).
  std::string metrics;
  double watermark = -1;
  ASSERT_TRUE(WaitFor(
      [&] {
        metrics = HttpGetRaw(port, "/metrics");
        const double n = MetricSum(metrics, "abusewatch_events_total") +
                         MetricSum(metrics, "abusewatch_events_rejected_total");
        const double w = MetricSum(metrics, "abusewatch_watermark_seconds");
        const bool settled = n == kEvents && w == watermark;
        watermark = w;
        return settled;
      },
      milliseconds(90000)))
      << daemon.Log() << metrics;
  std::this_thread::sleep_for(milliseconds(1000));  // a few commit intervals
  daemon.Signal(SIGTERM);
  ASSERT_EQ(daemon.Wait(milliseconds(30000)), 0) << daemon.Log();
  const int64_t w_ms = std::llround(watermark * 1000);

  // Transitions: exactly replay's before the watermark, in the same order.
  std::vector<std::string> expected;
  for (const std::string& t : SplitLines(Slurp(dir / "replay.jsonl"))) {
    if (AtOf(t) < w_ms) expected.push_back(t);
  }
  const std::vector<std::string> got = SplitLines(Slurp(dir / "out.jsonl"));
  ASSERT_GT(expected.size(), 100u);
  for (size_t i = 0; i < std::max(got.size(), expected.size()); ++i) {
    ASSERT_EQ(i < got.size() ? got[i] : "(none)", i < expected.size() ? expected[i] : "(none)")
        << "transition " << i << " of " << got.size() << " (replay: " << expected.size() << ")";
  }
  const size_t all = SplitLines(Slurp(dir / "replay.jsonl")).size();
  EXPECT_GT(got.size(), all * 9 / 10) << "the watermark should be near the end";

  // The alerts topic: the same transitions, keyed by group key, in order per key.
  const std::vector<Message> al = ReadTopic(b, alerts, got.size(), milliseconds(30000));
  ASSERT_EQ(al.size(), got.size());
  for (size_t i = 0; i < al.size(); ++i) {
    EXPECT_EQ(al[i].value, got[i]);
    EXPECT_EQ(al[i].key, FieldOf(got[i], "key"));
  }

  // Dead letters: every record replay rejected for a reason other than `late` (decided per
  // partition by the daemon), with the same reason and the raw payload.
  std::multiset<std::pair<std::string, std::string>> want_dl;  // (reason, id)
  for (const std::string& r : SplitLines(Slurp(dir / "replay-rej.jsonl"))) {
    if (FieldOf(r, "reason") != "late") want_dl.insert({FieldOf(r, "reason"), FieldOf(r, "id")});
  }
  const std::vector<Message> dl = ReadTopic(b, rejects, SIZE_MAX, milliseconds(30000));
  std::multiset<std::pair<std::string, std::string>> got_dl;
  std::set<std::string> rejected_raw;  // as JSON strings
  for (const Message& m : dl) {
    const size_t raw = m.value.find(",\"raw\":");
    ASSERT_NE(raw, std::string::npos) << m.value;
    rejected_raw.insert(m.value.substr(raw + 7, m.value.size() - raw - 8));
    if (FieldOf(m.value, "reason") != "late") {
      got_dl.insert({FieldOf(m.value, "reason"), FieldOf(m.value, "id")});
    }
  }
  EXPECT_EQ(got_dl, want_dl);
  ASSERT_GT(want_dl.size(), 20u);

  // Committed offsets: everything before is processed (rejected, or accepted with ts <= W),
  // the record at the offset is accepted and not processed yet (ts > W).
  EngineConfig cfg;
  ASSERT_TRUE(LoadConfigFile((dir / "replay.yaml").string(), &cfg).ok());
  Decoder decoder(DecoderOptionsFor(cfg));
  const std::vector<Message> ev = ReadTopic(b, events, kEvents, milliseconds(60000));
  ASSERT_EQ(ev.size(), static_cast<size_t>(kEvents));
  std::map<int32_t, std::vector<const Message*>> by_part;
  for (const Message& m : ev) by_part[m.partition].push_back(&m);
  const std::map<int32_t, int64_t> committed = Committed(b, group, events);
  for (auto& [p, msgs] : by_part) {
    std::sort(msgs.begin(), msgs.end(),
              [](const Message* x, const Message* y) { return x->offset < y->offset; });
    const int64_t c = committed.at(p);
    SCOPED_TRACE("partition " + std::to_string(p) + " committed " + std::to_string(c));
    ASSERT_GE(c, 0);
    ASSERT_LE(c, static_cast<int64_t>(msgs.size()));
    Event e;
    Rejection rej;
    for (int64_t o = 0; o < c; ++o) {
      if (decoder.Decode(msgs[o]->value, &e, &rej)) {
        std::string raw;
        AppendJsonString(msgs[o]->value, &raw);
        const bool rejected = rejected_raw.count(raw) > 0;
        if (!rejected) {
          EXPECT_LE(e.ts_ms, w_ms) << "offset " << o << " " << msgs[o]->value;
        }
      }
    }
    if (c < static_cast<int64_t>(msgs.size())) {
      ASSERT_TRUE(decoder.Decode(msgs[c]->value, &e, &rej)) << msgs[c]->value;
      EXPECT_GT(e.ts_ms, w_ms);
    }
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace abusewatch

#endif  // ABUSEWATCH_HAVE_KAFKA_TESTING
