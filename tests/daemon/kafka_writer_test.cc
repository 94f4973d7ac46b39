// KafkaTopicWriter, KafkaAlertSink and `abusewatch gen --kafka-brokers` against a real broker
// (tests/kafka: SharedKafkaBroker). Fails (never skips) when no broker can be had.
#include "daemon/sinks/kafka_writer.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "daemon/metrics/metrics.h"
#include "detectors/rule_set.h"

#ifdef ABUSEWATCH_HAVE_KAFKA_TESTING
#include <librdkafka/rdkafkacpp.h>

#include "tests/daemon/sink_test_util.h"
#include "tests/kafka/kafka_broker.h"
#endif

namespace abusewatch {
namespace {

using std::chrono::milliseconds;

std::shared_ptr<const RuleSet> MakeRules() { return test::TwoRules(); }

Transition Tr(const RuleSet& rules, std::string_view rule, std::string key, bool firing,
              int64_t at_ms, int64_t value) {
  return test::MakeTransition(rules, rule, std::move(key), firing, at_ms, value,
                              {"e-" + std::to_string(value)});
}

uint16_t ClosedPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

TEST(KafkaTopicWriter, CreateRejectsBadOptions) {
  std::unique_ptr<KafkaTopicWriter> w;
  KafkaTopicWriter::Options o;
  o.brokers = "127.0.0.1:1";
  o.topic = "t";
  o.properties = {{"no.such.property", "1"}};
  Status s = KafkaTopicWriter::Create(o, nullptr, &w);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("no.such.property"), std::string::npos) << s.message();
  o.properties = {{"compression.type", "bogus"}};
  EXPECT_FALSE(KafkaTopicWriter::Create(o, nullptr, &w).ok());
  o.properties = {{"linger.ms", "-5"}};
  EXPECT_FALSE(KafkaTopicWriter::Create(o, nullptr, &w).ok());
  o.properties.clear();
  o.compression = "nope";
  EXPECT_FALSE(KafkaTopicWriter::Create(o, nullptr, &w).ok());
  o.compression = "lz4";
  o.brokers.clear();
  EXPECT_FALSE(KafkaTopicWriter::Create(o, nullptr, &w).ok());
  o.brokers = "127.0.0.1:1";
  o.topic.clear();
  EXPECT_FALSE(KafkaTopicWriter::Create(o, nullptr, &w).ok());
  o.topic = "t";
  o.properties = {{"security.protocol", "sasl_plaintext"},
                  {"sasl.mechanism", "PLAIN"},
                  {"sasl.username", "u"},
                  {"sasl.password", "p"}};
  ASSERT_TRUE(KafkaTopicWriter::Create(o, nullptr, &w).ok());  // valid, never contacted
  EXPECT_EQ(w->name(), "kafka");
}

TEST(KafkaTopicWriter, UndeliverableRecordsFailFlushAndAreCounted) {
  Metrics metrics("test");
  KafkaTopicWriter::Options o;
  o.brokers = "127.0.0.1:" + std::to_string(ClosedPort());
  o.topic = "nowhere";
  o.metrics_label = "dead_letter_kafka";
  o.properties = {{"message.timeout.ms", "300"}, {"reconnect.backoff.max.ms", "100"}};
  std::unique_ptr<KafkaTopicWriter> w;
  ASSERT_TRUE(KafkaTopicWriter::Create(o, &metrics, &w).ok());
  w->Write("k", "v1");
  w->Write("", "v2");
  EXPECT_EQ(w->stats().written, 2u);
  Status s = w->Flush(milliseconds(10'000));
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("2 failed"), std::string::npos) << s.message();
  EXPECT_EQ(w->stats().failed, 2u);
  EXPECT_EQ(metrics.AlertsSent("dead_letter_kafka", "failed").Value(), 2);
  EXPECT_EQ(metrics.AlertsSent("dead_letter_kafka", "ok").Value(), 0);
  EXPECT_TRUE(w->Flush(milliseconds(100)).ok());  // errors are reported once
  EXPECT_TRUE(w->Close().ok());
  w->Write("k", "after close");
  EXPECT_EQ(w->stats().dropped, 1u);
  EXPECT_EQ(metrics.AlertsSent("dead_letter_kafka", "dropped").Value(), 1);
}

#ifdef ABUSEWATCH_HAVE_KAFKA_TESTING

using testing::KafkaBroker;
using testing::SharedKafkaBroker;

struct Record {
  std::string key;
  bool null_key = false;
  std::string value;
  int32_t partition = 0;
};

// Reads every partition of `topic` from the beginning until `n` records arrived (then 500 ms
// more, to catch extras) or 60 s passed.
std::vector<Record> ConsumeAll(const std::string& bootstrap, const std::string& topic,
                               int partitions, size_t n) {
  std::string err;
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  conf->set("bootstrap.servers", bootstrap, err);
  conf->set("group.id", topic + "-reader", err);
  conf->set("enable.auto.commit", "false", err);
  conf->set("fetch.wait.max.ms", "50", err);
  std::unique_ptr<RdKafka::KafkaConsumer> c(RdKafka::KafkaConsumer::create(conf.get(), err));
  EXPECT_NE(c, nullptr) << err;
  if (c == nullptr) return {};
  std::vector<RdKafka::TopicPartition*> tps;
  for (int p = 0; p < partitions; ++p) {
    tps.push_back(RdKafka::TopicPartition::create(topic, p, RdKafka::Topic::OFFSET_BEGINNING));
  }
  EXPECT_EQ(c->assign(tps), RdKafka::ERR_NO_ERROR);
  RdKafka::TopicPartition::destroy(tps);
  std::vector<Record> out;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  auto quiet_until = std::chrono::steady_clock::time_point::max();
  while (std::chrono::steady_clock::now() < std::min(deadline, quiet_until)) {
    std::unique_ptr<RdKafka::Message> m(c->consume(100));
    if (m->err() == RdKafka::ERR__TIMED_OUT || m->err() == RdKafka::ERR__PARTITION_EOF) continue;
    EXPECT_EQ(m->err(), RdKafka::ERR_NO_ERROR) << m->errstr();
    if (m->err() != RdKafka::ERR_NO_ERROR) continue;
    Record r;
    r.null_key = m->key() == nullptr;
    if (!r.null_key) r.key = *m->key();
    r.value.assign(static_cast<const char*>(m->payload()), m->len());
    r.partition = m->partition();
    out.push_back(std::move(r));
    if (out.size() == n) quiet_until = std::chrono::steady_clock::now() + milliseconds(500);
  }
  c->close();
  return out;
}

KafkaBroker* Broker() {
  std::string error;
  KafkaBroker* b = SharedKafkaBroker(&error);
  EXPECT_NE(b, nullptr) << error;
  return b;
}

TEST(KafkaAlertSink, TransitionsKeyedByGroupKeyInPerKeyOrder) {
  KafkaBroker* broker = Broker();
  ASSERT_NE(broker, nullptr);
  const std::string topic = "aw-alerts-" + testing::UniqueId();
  std::string error;
  ASSERT_TRUE(broker->CreateTopic(topic, 3, &error)) << error;

  auto rules = MakeRules();
  Metrics metrics("test");
  KafkaAlertSink::Options o;
  o.writer.brokers = broker->bootstrap();
  o.writer.topic = topic;
  o.writer.compression = "lz4";
  std::unique_ptr<KafkaAlertSink> sink;
  Status s = KafkaAlertSink::Create(o, &metrics, &sink);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(sink->name(), "kafka");

  // 600 transitions over 11 keys, alternating firing / resolved per key, both rules
  // (notify_only is false by default: the notify: false rule is sent too).
  constexpr int kN = 600;
  std::map<std::string, std::vector<std::string>> expected;
  for (int i = 0; i < kN; ++i) {
    const std::string key = "acct-" + std::to_string(i % 11);
    const Transition t = Tr(*rules, i % 3 == 0 ? "art12_2_settlement" : "art287_2_case", key,
                            (i / 11) % 2 == 0, 1'772'330'400'000 + i * 1000, i);
    std::string json;
    AppendTransitionJson(t, *rules, &json);
    expected[key].push_back(json);
    sink->OnTransition(t, *rules);
    if (i % 100 == 0) sink->Tick();
  }
  ASSERT_TRUE(sink->Flush(milliseconds(30'000)));
  EXPECT_TRUE(sink->last_flush_status().ok()) << sink->last_flush_status().message();
  EXPECT_EQ(metrics.AlertsSent("kafka", "ok").Value(), kN);
  EXPECT_EQ(metrics.AlertsSent("kafka", "failed").Value(), 0);

  std::vector<Record> got = ConsumeAll(broker->bootstrap(), topic, 3, kN);
  ASSERT_EQ(got.size(), static_cast<size_t>(kN));
  std::map<std::string, std::vector<std::string>> by_key;
  std::map<std::string, std::set<int32_t>> partitions;
  for (const Record& r : got) {
    ASSERT_FALSE(r.null_key);
    by_key[r.key].push_back(r.value);
    partitions[r.key].insert(r.partition);
  }
  EXPECT_EQ(by_key, expected);  // same records, each key's in the order sent
  std::set<int32_t> used;
  for (const auto& [key, ps] : partitions) {
    EXPECT_EQ(ps.size(), 1u) << key;
    used.insert(ps.begin(), ps.end());
  }
  EXPECT_GT(used.size(), 1u);
  sink->Stop();
  sink->Stop();
  EXPECT_TRUE(sink->Flush(milliseconds(10)));  // nothing left after Stop
}

TEST(KafkaAlertSink, NotifyOnlySendsNotifyingRulesOnly) {
  KafkaBroker* broker = Broker();
  ASSERT_NE(broker, nullptr);
  const std::string topic = "aw-alerts-notify-" + testing::UniqueId();
  std::string error;
  ASSERT_TRUE(broker->CreateTopic(topic, 1, &error)) << error;
  auto rules = MakeRules();
  KafkaAlertSink::Options o;
  o.writer.brokers = broker->bootstrap();
  o.writer.topic = topic;
  o.notify_only = true;
  std::unique_ptr<KafkaAlertSink> sink;
  ASSERT_TRUE(KafkaAlertSink::Create(o, nullptr, &sink).ok());
  sink->OnTransition(Tr(*rules, "art12_2_settlement", "a", true, 1'772'330'400'000, 1), *rules);
  sink->OnTransition(Tr(*rules, "art287_2_case", "b", true, 1'772'330'400'000, 2), *rules);
  ASSERT_TRUE(sink->Flush(milliseconds(30'000)));
  std::vector<Record> got = ConsumeAll(broker->bootstrap(), topic, 1, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].key, "b");
  EXPECT_EQ(sink->writer()->stats().ok, 1u);
}

int RunCommand(const std::string& cmd) {
  int st = std::system(cmd.c_str());
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

// The account of a generated line, by the test's own reading (any JSON string value of
// "account"); empty when absent or not a plain string.
std::string TestAccountOf(const std::string& line) {
  const std::string field = "\"account\":\"";
  size_t p = line.find(field);
  if (p == std::string::npos) return "";
  p += field.size();
  size_t q = line.find('"', p);
  if (q == std::string::npos || line.find('\\', p) < q) return "";
  return line.substr(p, q - p);
}

TEST(GenToKafka, ProducesExactlyNMessagesKeyedByAccount) {
  KafkaBroker* broker = Broker();
  ASSERT_NE(broker, nullptr);
  const std::string topic = "aw-gen-" + testing::UniqueId();
  std::string error;
  ASSERT_TRUE(broker->CreateTopic(topic, 3, &error)) << error;
  const auto dir = std::filesystem::temp_directory_path() / ("aw-gen-kafka-" + topic);
  std::filesystem::create_directories(dir);
  const std::string file = (dir / "stream.jsonl").string();
  const std::string log = (dir / "gen.log").string();
  const std::string common = std::string(ABUSEWATCH_BINARY) +
                             " gen --events 3000 --accounts 40 --seed 11 --bad-fraction 0.02";

  ASSERT_EQ(RunCommand(common + " --output " + file + " 2>" + log), 0);
  ASSERT_EQ(RunCommand(common + " --kafka-brokers " + broker->bootstrap() + " --topic " + topic +
                       " --kafka-property compression.type=lz4 --rate 20000 2>" + log),
            0);
  std::ifstream summary(log);
  std::string text((std::istreambuf_iterator<char>(summary)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("wrote 3000 lines to kafka topic " + topic), std::string::npos) << text;

  // The same stream, per key in file order.
  std::map<std::string, std::vector<std::string>> expected;
  std::ifstream in(file);
  size_t lines = 0, keyless = 0;
  for (std::string line; std::getline(in, line); ++lines) {
    const std::string key = TestAccountOf(line);
    keyless += key.empty();
    expected[key].push_back(line);
  }
  ASSERT_EQ(lines, 3000u);
  EXPECT_GT(keyless, 0u);  // bad lines without a readable account: null key

  std::vector<Record> got = ConsumeAll(broker->bootstrap(), topic, 3, 3000);
  ASSERT_EQ(got.size(), 3000u);
  std::map<std::string, std::vector<std::string>> by_key;
  for (const Record& r : got) {
    EXPECT_EQ(r.null_key, r.key.empty());
    EXPECT_EQ(r.key, TestAccountOf(r.value)) << r.value;
    by_key[r.key].push_back(r.value);
  }
  // Keyed records keep their order per key; null-keyed ones are spread over partitions, so
  // only their multiset is compared.
  std::sort(by_key[""].begin(), by_key[""].end());
  std::sort(expected[""].begin(), expected[""].end());
  EXPECT_EQ(by_key, expected);

  // A bad property is a usage error (exit 2) before anything is produced.
  EXPECT_EQ(RunCommand(common + " --kafka-brokers " + broker->bootstrap() + " --topic " + topic +
                       " --kafka-property no.such=1 2>" + log),
            2);
  EXPECT_EQ(RunCommand(common + " --topic " + topic + " 2>" + log), 2);  // needs brokers
  std::filesystem::remove_all(dir);
}

#endif  // ABUSEWATCH_HAVE_KAFKA_TESTING

}  // namespace
}  // namespace abusewatch
