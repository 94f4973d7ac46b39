#include "config/daemon_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace abusewatch {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Pair;
using ::testing::StartsWith;

class DaemonConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("aw-dcfg-" + std::to_string(getpid()));
    fs::create_directories(dir_);
    path_ = (dir_ / "aw.yaml").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  Status Load(const std::string& text, DaemonConfig* out) {
    std::ofstream(path_) << text;
    return LoadDaemonConfig(path_, out);
  }
  // The error of loading `text`, which must fail.
  std::string Error(const std::string& text) {
    DaemonConfig c;
    Status s = Load(text, &c);
    EXPECT_FALSE(s.ok()) << text;
    return s.message();
  }

  fs::path dir_;
  std::string path_;
};

TEST_F(DaemonConfigTest, DefaultsWithoutSections) {
  DaemonConfig c;
  ASSERT_TRUE(Load("version: 1\n", &c).ok());
  EXPECT_TRUE(c.sources.empty());
  ASSERT_EQ(c.sinks.size(), 1u);
  EXPECT_EQ(c.sinks[0].type, "stdout");
  EXPECT_FALSE(c.has_dead_letter);
  EXPECT_EQ(c.http_address, "127.0.0.1");
  EXPECT_EQ(c.http_port, 9464);
}

TEST_F(DaemonConfigTest, KafkaSourceWithMixedTopic) {
  DaemonConfig c;
  Status s = Load(
      "sources:\n"
      "  - type: kafka\n"
      "    brokers: \"k1:9092,k2:9092\"\n"
      "    topics: [aw.events]\n"
      "    idle_timeout: 2s\n"
      "    commit_interval: 500ms\n"
      "    start: latest\n"
      "    properties: {security.protocol: SSL, ssl.ca.location: /etc/ca.pem}\n",
      &c);
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_EQ(c.sources.size(), 1u);
  const SourceConfig& k = c.sources[0];
  EXPECT_EQ(k.type, "kafka");
  EXPECT_EQ(k.kafka.brokers, "k1:9092,k2:9092");
  EXPECT_EQ(k.group, "abusewatch");
  EXPECT_THAT(k.topics, ElementsAre("aw.events"));
  EXPECT_EQ(k.idle_timeout_ms, 2000);
  EXPECT_EQ(k.commit_interval_ms, 500);
  EXPECT_EQ(k.start, "latest");
  EXPECT_THAT(k.kafka.properties, ElementsAre(Pair("security.protocol", "SSL"),
                                              Pair("ssl.ca.location", "/etc/ca.pem")));
}

TEST_F(DaemonConfigTest, KafkaSourceWithTopicPerStream) {
  DaemonConfig c;
  Status s = Load(
      "sources:\n"
      "  - type: kafka\n"
      "    brokers: k:9092\n"
      "    group: aw-prod\n"
      "    topics: {abuse_report: aw.reports, payment: aw.payments, login: aw.reports}\n",
      &c);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(c.sources[0].group, "aw-prod");
  EXPECT_THAT(c.sources[0].topics, ElementsAre("aw.reports", "aw.payments"));
  EXPECT_THAT(Error("sources:\n  - type: kafka\n    brokers: k:9092\n"
                    "    topics: {payments: aw.p}\n"),
              AllOf(StartsWith(path_ + ":4:14:"), HasSubstr("unknown stream \"payments\"")));
}

TEST_F(DaemonConfigTest, StateSection) {
  DaemonConfig c;
  ASSERT_TRUE(Load("version: 1\n", &c).ok());
  EXPECT_EQ(c.state.dir, "");  // no durable state by default
  ASSERT_TRUE(Load("state:\n  dir: st\n  checkpoint_interval: 2s\n  on_rules_change: "
                   "keep_unchanged\n  max_hot_keys: 1000\n",
                   &c)
                  .ok());
  EXPECT_EQ(c.state.dir, (dir_ / "st").string());  // relative to the config file
  EXPECT_EQ(c.state.checkpoint_interval_ms, 2000);
  EXPECT_EQ(c.state.on_rules_change, "keep_unchanged");
  EXPECT_EQ(c.state.max_hot_keys, 1000);
  EXPECT_THAT(DescribeDaemonConfig(c), HasSubstr("at most 1000 keys in memory"));
  EXPECT_THAT(Error("state:\n  checkpoint_interval: 2s\n"), HasSubstr("\"dir\""));
  EXPECT_THAT(Error("state:\n  dir: st\n  on_rules_change: merge\n"),
              AllOf(StartsWith(path_ + ":3:20:"), HasSubstr("refuse, keep_unchanged or rebuild")));
  EXPECT_THAT(Error("state:\n  dir: st\n  max_hot_keys: -1\n"), StartsWith(path_ + ":3:"));
  EXPECT_THAT(Error("state:\n  dir: st\n  checkpoint: 1s\n"), HasSubstr("checkpoint"));
}

TEST_F(DaemonConfigTest, DecodeThreads) {
  DaemonConfig c;
  ASSERT_TRUE(Load("version: 1\n", &c).ok());
  EXPECT_EQ(c.decode_threads, 0);  // off unless asked for
  EXPECT_THAT(DescribeDaemonConfig(c), Not(HasSubstr("decode_threads")));
  ASSERT_TRUE(Load("decode_threads: 2\n", &c).ok());
  EXPECT_EQ(c.decode_threads, 2);
  EXPECT_THAT(DescribeDaemonConfig(c), HasSubstr("decode_threads 2\n"));
  ASSERT_TRUE(Load("decode_threads: auto\n", &c).ok());
  EXPECT_EQ(c.decode_threads, -1);
  EXPECT_THAT(Error("version: 1\ndecode_threads: many\n"),
              AllOf(StartsWith(path_ + ":2:17:"), HasSubstr("from 0 to 64")));
  EXPECT_THAT(Error("decode_threads: 65\n"), HasSubstr("from 0 to 64"));
  EXPECT_THAT(Error("decode_threads: [1]\n"), HasSubstr("decode_threads"));
}

TEST_F(DaemonConfigTest, KafkaSourceErrorsNamePositions) {
  EXPECT_THAT(Error("sources:\n  - type: kafka\n    topics: [a]\n"),
              HasSubstr("missing required key \"brokers\""));
  EXPECT_THAT(Error("sources:\n  - type: kafka\n    brokers: k:1\n    topics: [a, b, a]\n"),
              AllOf(StartsWith(path_ + ":4:20:"), HasSubstr("listed twice")));
  EXPECT_THAT(Error("sources:\n  - type: kafka\n    brokers: k:1\n    topics: [a]\n"
                    "    start: newest\n"),
              AllOf(StartsWith(path_ + ":5:12:"), HasSubstr("earliest or latest")));
  EXPECT_THAT(Error("sources:\n  - type: kafka\n    brokers: k:1\n    topics: [a]\n"
                    "    properties: {group.id: other}\n"),
              AllOf(StartsWith(path_ + ":5:18:"), HasSubstr("managed by abusewatch")));
  EXPECT_THAT(Error("sources:\n  - type: kafka\n    brokers: k:1\n    topics: [a]\n"
                    "    folow: true\n"),
              AllOf(StartsWith(path_ + ":5:5:"), HasSubstr("folow")));
  EXPECT_THAT(Error("sources:\n  - type: rabbitmq\n"), HasSubstr("allowed: file, kafka"));
}

TEST_F(DaemonConfigTest, SecretsFromEnvironmentAndFiles) {
  std::ofstream(dir_ / "hook.key") << "0123456789abcdef-file\n";
  setenv("AW_TEST_KAFKA_PASSWORD", "p@ss", 1);
  DaemonConfig c;
  Status s = Load(
      "sources:\n"
      "  - type: kafka\n"
      "    brokers: k:9092\n"
      "    topics: aw.events\n"
      "    properties: {sasl.password: \"x-${env:AW_TEST_KAFKA_PASSWORD}-y\"}\n"
      "sinks:\n"
      "  - {type: webhook, url: \"http://127.0.0.1:1/h\", secret: \"${file:hook.key}\"}\n",
      &c);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_THAT(c.sources[0].kafka.properties, ElementsAre(Pair("sasl.password", "x-p@ss-y")));
  ASSERT_EQ(c.sinks.size(), 1u);
  EXPECT_EQ(c.sinks[0].secret, "0123456789abcdef-file");
  EXPECT_TRUE(c.sinks[0].notify_only);
  // Secrets never reach the description.
  EXPECT_THAT(DescribeDaemonConfig(c), Not(HasSubstr("p@ss")));
  EXPECT_THAT(DescribeDaemonConfig(c), Not(HasSubstr("0123456789abcdef")));

  unsetenv("AW_TEST_NOT_SET_ANYWHERE");
  EXPECT_THAT(Error("sinks:\n  - type: webhook\n    url: http://h/\n"
                    "    secret: ${env:AW_TEST_NOT_SET_ANYWHERE}\n"),
              AllOf(StartsWith(path_ + ":4:13:"), HasSubstr("is not set")));
  EXPECT_THAT(Error("sinks:\n  - {type: webhook, url: \"http://h/\", secret: \"${file:nope}\"}\n"),
              HasSubstr("cannot read secret file"));
  EXPECT_THAT(Error("sinks:\n  - {type: webhook, url: \"http://h/\", secret: short}\n"),
              HasSubstr("at least 16 bytes"));
  EXPECT_THAT(Error("sinks:\n  - {type: webhook, url: \"http://h/\", secret: \"${vault:x}\"}\n"),
              HasSubstr("unknown reference"));
}

TEST_F(DaemonConfigTest, AlertmanagerSink) {
  DaemonConfig c;
  Status s = Load(
      "sinks:\n"
      "  - type: alertmanager\n"
      "    url: http://127.0.0.1:9093\n"
      "    resend_interval: 30s\n"
      "    ends_ahead: 2m\n"
      "    timeout: 3s\n"
      "    max_attempts: 7\n"
      "    queue: 500\n",
      &c);
  ASSERT_TRUE(s.ok()) << s.message();
  const SinkConfig& k = c.sinks[0];
  EXPECT_EQ(k.type, "alertmanager");
  EXPECT_TRUE(k.notify_only);
  EXPECT_EQ(k.resend_interval_ms, 30'000);
  EXPECT_EQ(k.ends_ahead_ms, 120'000);
  EXPECT_EQ(k.timeout_ms, 3'000);
  EXPECT_EQ(k.max_attempts, 7);
  EXPECT_EQ(k.queue_capacity, 500);
  EXPECT_THAT(Error("sinks:\n  - {type: alertmanager, url: \"https://am:9093\"}\n"),
              HasSubstr("only http://"));
  EXPECT_THAT(Error("sinks:\n  - {type: alertmanager, url: \"http://am\", resend_interval: 5m}\n"),
              HasSubstr("ends_ahead must be longer than resend_interval"));
  EXPECT_THAT(Error("sinks:\n  - {type: alertmanager, url: \"http://am\", path: x}\n"),
              HasSubstr("\"path\""));
}

TEST_F(DaemonConfigTest, KafkaSinkAndDeadLetterTopic) {
  DaemonConfig c;
  Status s = Load(
      "sinks:\n"
      "  - {type: kafka, brokers: \"k:9092\", topic: aw.alerts, notify_only: true}\n"
      "  - {type: file, path: out/t.jsonl}\n"
      "dead_letter: {type: kafka, brokers: \"k:9092\", topic: aw.rejects}\n"
      "http: {listen: \"0.0.0.0:0\"}\n",
      &c);
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_EQ(c.sinks.size(), 2u);
  EXPECT_EQ(c.sinks[0].topic, "aw.alerts");
  EXPECT_TRUE(c.sinks[0].notify_only);
  EXPECT_EQ(c.sinks[1].path, (dir_ / "out/t.jsonl").string());
  EXPECT_FALSE(c.sinks[1].notify_only);
  ASSERT_TRUE(c.has_dead_letter);
  EXPECT_EQ(c.dead_letter.type, "kafka");
  EXPECT_EQ(c.dead_letter.topic, "aw.rejects");
  EXPECT_EQ(c.http_address, "0.0.0.0");
  EXPECT_EQ(c.http_port, 0);
  EXPECT_THAT(Error("dead_letter: {type: kafka, brokers: k}\n"),
              HasSubstr("missing required key \"topic\""));
  EXPECT_THAT(Error("http: {listen: \"localhost\"}\n"), HasSubstr("host:port"));
}

}  // namespace
}  // namespace abusewatch

namespace abusewatch {
namespace {

TEST(ShippedConfigs, KafkaExampleLoadsWithItsSecretsSet) {
  setenv("AW_KAFKA_PASSWORD", "example-password", 1);
  setenv("AW_WEBHOOK_SECRET", "example-webhook-secret", 1);
  DaemonConfig c;
  Status s =
      LoadDaemonConfig(std::string(ABUSEWATCH_SOURCE_DIR) + "/config/examples/kafka.yaml", &c);
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_EQ(c.sources.size(), 1u);
  EXPECT_EQ(c.sources[0].topics.size(), 7u);
  ASSERT_EQ(c.sinks.size(), 4u);
  EXPECT_EQ(c.sinks[0].type, "alertmanager");
  EXPECT_EQ(c.sinks[2].secret, "example-webhook-secret");
  EXPECT_EQ(c.dead_letter.type, "kafka");
  unsetenv("AW_KAFKA_PASSWORD");
  EXPECT_FALSE(
      LoadDaemonConfig(std::string(ABUSEWATCH_SOURCE_DIR) + "/config/examples/kafka.yaml", &c)
          .ok());
}

TEST(ShippedConfigs, DefaultConfigIsTheFileDemo) {
  DaemonConfig c;
  Status s = LoadDaemonConfig(std::string(ABUSEWATCH_SOURCE_DIR) + "/config/abusewatch.yaml", &c);
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_EQ(c.sources.size(), 1u);
  EXPECT_EQ(c.sources[0].type, "file");
  EXPECT_EQ(c.sources[0].path,
            std::string(ABUSEWATCH_SOURCE_DIR) + "/config/samples/sample-stream.jsonl");
}

}  // namespace
}  // namespace abusewatch
