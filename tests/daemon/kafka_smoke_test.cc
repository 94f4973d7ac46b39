// Smoke test of the real-Kafka harness (tests/kafka): keyed messages through a real broker,
// consumed back in a consumer group, exactly once and in per-key order, with offsets committed
// and read back by a second consumer. Fails (never skips) when no broker can be had.
#include <gtest/gtest.h>

#ifdef ABUSEWATCH_HAVE_KAFKA_TESTING  // Defined by linking aw_kafka_testing (tests/kafka).

#include <librdkafka/rdkafkacpp.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "tests/kafka/kafka_broker.h"

namespace abusewatch {
namespace {

using testing::KafkaBroker;
using testing::SharedKafkaBroker;

constexpr int kPartitions = 3;
constexpr int kMessages = 10000;
constexpr int kKeys = 97;

std::string Key(int i) { return "acct-" + std::to_string(i % kKeys); }

std::unique_ptr<RdKafka::Conf> MakeConf(const std::map<std::string, std::string>& settings) {
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string errstr;
  for (const auto& [name, value] : settings) {
    EXPECT_EQ(conf->set(name, value, errstr), RdKafka::Conf::CONF_OK) << name << ": " << errstr;
  }
  return conf;
}

class DeliveryCounter : public RdKafka::DeliveryReportCb {
 public:
  void dr_cb(RdKafka::Message& message) override {
    if (message.err() == RdKafka::ERR_NO_ERROR) {
      ++delivered;
      partition_of_key[*message.key()].insert(message.partition());
    } else {
      ++failed;
      if (first_error.empty()) first_error = message.errstr();
    }
  }
  int delivered = 0;
  int failed = 0;
  std::string first_error;
  std::map<std::string, std::set<int32_t>> partition_of_key;
};

struct Received {
  std::string value;
  int32_t partition;
  int64_t offset;
};

double SecondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

TEST(KafkaSmokeTest, KeyedMessagesArriveOnceInKeyOrderAndOffsetsAreCommitted) {
  const auto t0 = std::chrono::steady_clock::now();
  std::string error;
  KafkaBroker* broker = SharedKafkaBroker(&error);
  if (broker == nullptr) FAIL() << error;
  const std::string topic = "aw-smoke-" + testing::UniqueId();
  ASSERT_TRUE(broker->CreateTopic(topic, kPartitions, &error)) << error;
  const auto t_topic = std::chrono::steady_clock::now();

  // Produce: value "<key>:<n>" where n counts that key's messages from 0.
  DeliveryCounter counter;
  {
    std::unique_ptr<RdKafka::Conf> conf = MakeConf({{"bootstrap.servers", broker->bootstrap()},
                                                    {"enable.idempotence", "true"},
                                                    {"acks", "all"},
                                                    {"linger.ms", "5"}});
    ASSERT_EQ(conf->set("dr_cb", &counter, error), RdKafka::Conf::CONF_OK) << error;
    std::unique_ptr<RdKafka::Producer> producer(RdKafka::Producer::create(conf.get(), error));
    ASSERT_NE(producer, nullptr) << error;
    std::map<std::string, int> next;
    for (int i = 0; i < kMessages; ++i) {
      const std::string key = Key(i);
      const std::string value = key + ":" + std::to_string(next[key]++);
      while (true) {
        const RdKafka::ErrorCode err = producer->produce(
            topic, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
            const_cast<char*>(value.data()), value.size(), key.data(), key.size(), 0, nullptr);
        if (err == RdKafka::ERR__QUEUE_FULL) {
          producer->poll(10);
          continue;
        }
        ASSERT_EQ(err, RdKafka::ERR_NO_ERROR) << RdKafka::err2str(err);
        break;
      }
      producer->poll(0);
    }
    ASSERT_EQ(producer->flush(30000), RdKafka::ERR_NO_ERROR) << "flush timed out";
    EXPECT_EQ(producer->outq_len(), 0);
  }
  ASSERT_EQ(counter.failed, 0) << counter.first_error;
  ASSERT_EQ(counter.delivered, kMessages);
  std::set<int32_t> used_partitions;
  for (const auto& [key, partitions] : counter.partition_of_key) {
    EXPECT_EQ(partitions.size(), 1u) << key << " went to several partitions";
    used_partitions.insert(partitions.begin(), partitions.end());
  }
  EXPECT_EQ(used_partitions.size(), static_cast<size_t>(kPartitions));
  const auto t_produced = std::chrono::steady_clock::now();

  // Consume in a group, commit.
  const std::string group = topic + "-group";
  std::map<std::string, std::vector<Received>> by_key;
  std::map<int32_t, int64_t> next_offset;  // Per partition: last consumed offset + 1.
  int received = 0;
  {
    std::unique_ptr<RdKafka::Conf> conf = MakeConf({{"bootstrap.servers", broker->bootstrap()},
                                                    {"group.id", group},
                                                    {"auto.offset.reset", "earliest"},
                                                    {"enable.auto.commit", "false"},
                                                    {"enable.partition.eof", "false"},
                                                    {"fetch.wait.max.ms", "50"}});
    std::unique_ptr<RdKafka::KafkaConsumer> consumer(
        RdKafka::KafkaConsumer::create(conf.get(), error));
    ASSERT_NE(consumer, nullptr) << error;
    ASSERT_EQ(consumer->subscribe({topic}), RdKafka::ERR_NO_ERROR);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    // Read until all arrived, then 1 s more to catch duplicates.
    auto quiet_until = std::chrono::steady_clock::time_point::max();
    while (std::chrono::steady_clock::now() < std::min(deadline, quiet_until)) {
      std::unique_ptr<RdKafka::Message> msg(consumer->consume(100));
      if (msg->err() == RdKafka::ERR__TIMED_OUT) continue;
      ASSERT_EQ(msg->err(), RdKafka::ERR_NO_ERROR) << msg->errstr();
      ASSERT_NE(msg->key(), nullptr);
      by_key[*msg->key()].push_back(
          {std::string(static_cast<const char*>(msg->payload()), msg->len()), msg->partition(),
           msg->offset()});
      next_offset[msg->partition()] = msg->offset() + 1;
      if (++received == kMessages) {
        quiet_until = std::chrono::steady_clock::now() + std::chrono::seconds(1);
      }
    }
    ASSERT_EQ(received, kMessages) << "consumed " << received << " of " << kMessages;
    ASSERT_EQ(consumer->commitSync(), RdKafka::ERR_NO_ERROR);
    consumer->close();
  }
  const auto t_consumed = std::chrono::steady_clock::now();

  ASSERT_EQ(by_key.size(), static_cast<size_t>(kKeys));
  for (const auto& [key, messages] : by_key) {
    for (size_t n = 0; n < messages.size(); ++n) {
      ASSERT_EQ(messages[n].value, key + ":" + std::to_string(n))
          << "key " << key << ": message " << n << " missing, repeated or out of order";
      if (n > 0) {
        ASSERT_EQ(messages[n].partition, messages[0].partition) << key;
        ASSERT_GT(messages[n].offset, messages[n - 1].offset) << key;
      }
    }
  }

  // A second consumer of the same group reads the committed offsets back.
  {
    std::unique_ptr<RdKafka::Conf> conf = MakeConf({{"bootstrap.servers", broker->bootstrap()},
                                                    {"group.id", group},
                                                    {"enable.auto.commit", "false"}});
    std::unique_ptr<RdKafka::KafkaConsumer> consumer(
        RdKafka::KafkaConsumer::create(conf.get(), error));
    ASSERT_NE(consumer, nullptr) << error;
    std::vector<RdKafka::TopicPartition*> partitions;
    for (int p = 0; p < kPartitions; ++p) {
      partitions.push_back(RdKafka::TopicPartition::create(topic, p));
    }
    const RdKafka::ErrorCode err = consumer->committed(partitions, 10000);
    int64_t total = 0;
    for (RdKafka::TopicPartition* tp : partitions) {
      int64_t low = -1;
      int64_t high = -1;
      EXPECT_EQ(consumer->query_watermark_offsets(topic, tp->partition(), &low, &high, 10000),
                RdKafka::ERR_NO_ERROR);
      EXPECT_EQ(tp->err(), RdKafka::ERR_NO_ERROR) << "partition " << tp->partition();
      EXPECT_EQ(tp->offset(), next_offset[tp->partition()]) << "partition " << tp->partition();
      EXPECT_EQ(tp->offset(), high) << "partition " << tp->partition();
      total += tp->offset();
    }
    RdKafka::TopicPartition::destroy(partitions);
    ASSERT_EQ(err, RdKafka::ERR_NO_ERROR) << RdKafka::err2str(err);
    EXPECT_EQ(total, kMessages);  // Offsets start at 0; an idempotent producer adds no markers.
    consumer->close();
  }

  std::fprintf(stderr,
               "[kafka] broker+topic %.2f s, produce %.2f s, consume+commit %.2f s, "
               "total %.2f s\n",
               std::chrono::duration<double>(t_topic - t0).count(),
               std::chrono::duration<double>(t_produced - t_topic).count(),
               std::chrono::duration<double>(t_consumed - t_produced).count(), SecondsSince(t0));
}

}  // namespace
}  // namespace abusewatch

#else  // !ABUSEWATCH_HAVE_KAFKA_TESTING

TEST(KafkaSmokeTest, KeyedMessagesArriveOnceInKeyOrderAndOffsetsAreCommitted) {
  FAIL() << "this test binary is not linked with aw_kafka_testing (tests/kafka/CMakeLists.txt): "
            "add it to the daemon_test libraries in tests/daemon/CMakeLists.txt";
}

#endif  // ABUSEWATCH_HAVE_KAFKA_TESTING
