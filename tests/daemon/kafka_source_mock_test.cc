// KafkaSource (daemon/sources/kafka_source.h) against librdkafka's mock cluster: idleness at
// the end of a partition, and injected faults (broker down and up, request errors, leader
// change) that must lose nothing and repeat nothing.
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "daemon/metrics/metrics.h"
#include "daemon/sources/kafka_source.h"
#include "tests/daemon/kafka_source_test_util.h"

namespace abusewatch {
namespace {

using namespace kafka_source_test;  // NOLINT(build/namespaces): test helpers

struct MockCluster {
  rd_kafka_t* rk = nullptr;  // owns the cluster's thread
  rd_kafka_mock_cluster_t* mc = nullptr;
  std::string bootstrap;
  // `brokers` brokers and `topic` with `partitions` partitions, each on `replicas` of them.
  bool Start(int brokers, const std::string& topic, int partitions, int replicas) {
    char errstr[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (rk == nullptr) return false;
    mc = rd_kafka_mock_cluster_new(rk, brokers);
    if (mc == nullptr) return false;
    bootstrap = rd_kafka_mock_cluster_bootstraps(mc);
    return rd_kafka_mock_topic_create(mc, topic.c_str(), partitions, replicas) ==
           RD_KAFKA_RESP_ERR_NO_ERROR;
  }
  ~MockCluster() {
    if (mc != nullptr) rd_kafka_mock_cluster_destroy(mc);
    if (rk != nullptr) rd_kafka_destroy(rk);
  }
};

// End of partition alone never idles a lane (Kafka Streams' max.task.idle.ms): under a steady
// trickle, where the consumer reaches the end of both partitions between records, no lane goes
// kIdle; once the producer stops, each lane stays kActive at its end for about idle_timeout after
// its last record, then goes kIdle.
TEST(KafkaSourceMockTest, EndOfPartitionIdlesOnlyAfterIdleTimeout) {
  constexpr int kPartitions = 2;
  constexpr milliseconds kIdleTimeout(1500);
  const std::string topic = "aw-mock-eof";
  const std::string group = "aw-mock-eof-group";
  MockCluster cluster;
  ASSERT_TRUE(cluster.Start(1, topic, kPartitions, 1));

  KafkaSource::Options o = BaseOptions(cluster.bootstrap, group, topic);
  o.idle_timeout = kIdleTimeout;
  o.properties = {{"fetch.wait.max.ms", "10"}};
  std::unique_ptr<KafkaSource> source;
  ASSERT_TRUE(KafkaSource::Create(o, nullptr, &source).ok());
  Driver d(source.get());
  d.AwaitLanes(kPartitions, seconds(30));
  ASSERT_EQ(d.partition_of_lane.size(), static_cast<size_t>(kPartitions));

  // One Step(); notes when each partition delivered and when its lane went idle.
  std::map<int32_t, Clock::time_point> first_record, last_record;
  std::map<int32_t, std::vector<Clock::time_point>> idle_at;
  auto step = [&](milliseconds timeout) {
    const size_t log_before = d.log.size();
    const size_t seen_before = d.seen.size();
    d.Step(timeout);
    const Clock::time_point now = Clock::now();
    for (size_t i = seen_before; i < d.seen.size(); ++i) {
      first_record.emplace(d.seen[i].partition, now);
      last_record[d.seen[i].partition] = now;
    }
    for (size_t i = log_before; i < d.log.size(); ++i) {
      const LaneEvent& e = d.log[i];
      if (e.state == LaneState::kIdle) {
        idle_at[std::stoi(e.name.substr(e.name.rfind('/') + 1))].push_back(now);
      }
    }
  };

  // ~3 s of one record per partition every 50 ms.
  Delivery delivery;
  rd_kafka_t* producer = MakeProducer(cluster.bootstrap, &delivery, {{"linger.ms", "1"}});
  ASSERT_NE(producer, nullptr);
  int produced = 0;
  const Clock::time_point t0 = Clock::now();
  Clock::time_point next_produce = t0;
  while (Clock::now() < t0 + seconds(3)) {
    if (Clock::now() >= next_produce) {
      for (int32_t p = 0; p < kPartitions; ++p) {
        ASSERT_TRUE(Produce(producer, topic, "k", "m" + std::to_string(produced++),
                            /*tombstone=*/false, p));
      }
      next_produce += milliseconds(50);
    }
    rd_kafka_poll(producer, 0);
    step(milliseconds(10));
  }
  ASSERT_TRUE(Flush(producer));
  rd_kafka_destroy(producer);
  ASSERT_EQ(delivery.delivered.load(), produced);

  // Then silence: every lane goes idle, idle_timeout after its last record.
  auto deadline = Clock::now() + seconds(20);
  auto idle_after_last = [&](int32_t p) {
    return last_record.count(p) != 0 && !idle_at[p].empty() && idle_at[p].back() > last_record[p];
  };
  while (Clock::now() < deadline && !(idle_after_last(0) && idle_after_last(1))) {
    step(milliseconds(50));
  }
  EXPECT_EQ(static_cast<int>(d.seen.size()), produced);
  EXPECT_EQ(d.duplicates, 0);
  EXPECT_EQ(d.out_of_order, 0);
  for (int32_t p = 0; p < kPartitions; ++p) {
    ASSERT_TRUE(first_record.count(p) != 0) << "partition " << p << " delivered nothing";
    ASSERT_TRUE(idle_after_last(p)) << "partition " << p << " never went idle after its end";
    // None while records kept coming, though the lane reached its end between them.
    int idle_while_producing = 0;
    for (const Clock::time_point t : idle_at[p]) {
      idle_while_producing += t > first_record[p] && t <= last_record[p];
    }
    EXPECT_EQ(idle_while_producing, 0) << "partition " << p << " went idle at its end";
    const auto delay = std::chrono::duration_cast<milliseconds>(idle_at[p].back() - last_record[p]);
    std::fprintf(stderr, "[kafka_source] partition %d: kIdle %lld ms after its last record\n", p,
                 static_cast<long long>(delay.count()));
    EXPECT_GE(delay, milliseconds(1000)) << "partition " << p << " idle too early";
    EXPECT_LE(delay, milliseconds(4000)) << "partition " << p << " idle too late";
  }
  source.reset();
}

TEST(KafkaSourceMockTest, FaultsLoseNothingAndRepeatNothing) {
  constexpr int kPartitions = 3;
  constexpr int kMessages = 50000;
  const std::string topic = "aw-mock";
  const std::string group = "aw-mock-group";
  MockCluster cluster;
  ASSERT_TRUE(cluster.Start(3, topic, kPartitions, 3));
  // Fixed leaders (partition p on broker p+1) and coordinator (broker 1).
  for (int p = 0; p < kPartitions; ++p) {
    rd_kafka_mock_partition_set_leader(cluster.mc, topic.c_str(), p, p + 1);
  }
  rd_kafka_mock_coordinator_set(cluster.mc, "group", group.c_str(), 1);

  KafkaSource::Options o = BaseOptions(cluster.bootstrap, group, topic);
  o.properties = {{"fetch.wait.max.ms", "10"}, {"reconnect.backoff.max.ms", "200"}};
  std::unique_ptr<KafkaSource> source;
  ASSERT_TRUE(KafkaSource::Create(o, nullptr, &source).ok());
  Driver d(source.get());
  // Join the group before producing (the mock keeps little data).
  d.AwaitLanes(kPartitions, seconds(30));
  ASSERT_EQ(d.partition_of_lane.size(), static_cast<size_t>(kPartitions));

  // Producer thread: ~10 s of paced keyed messages.
  Delivery delivery;
  std::atomic<int> produced{0};
  std::atomic<bool> produce_ok{true};
  std::thread producer_thread([&] {
    rd_kafka_t* producer = MakeProducer(cluster.bootstrap, &delivery, {{"linger.ms", "2"}});
    if (producer == nullptr) {
      produce_ok = false;
      return;
    }
    const auto t0 = Clock::now();
    for (int i = 0; i < kMessages; ++i) {
      if (!Produce(producer, topic, Key(i), "m" + std::to_string(i))) produce_ok = false;
      produced = i + 1;
      if (i % 500 == 499) {
        std::this_thread::sleep_until(t0 + milliseconds(i / 5));  // 5 000 msg/s
      }
    }
    if (rd_kafka_flush(producer, 60000) != RD_KAFKA_RESP_ERR_NO_ERROR) produce_ok = false;
    rd_kafka_destroy(producer);
  });

  // Faults, by time since the producer started (it runs ~10 s).
  struct Fault {
    int at_ms;
    const char* what;
    std::function<void()> apply;
  };
  rd_kafka_mock_cluster_t* mc = cluster.mc;
  std::vector<Fault> faults = {
      {1500, "broker 2 down", [&] { rd_kafka_mock_broker_set_down(mc, 2); }},
      {3000, "broker 2 up", [&] { rd_kafka_mock_broker_set_up(mc, 2); }},
      {3500, "Fetch errors",
       [&] {
         rd_kafka_mock_push_request_errors(
             mc, 1 /* Fetch */, 4, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
             RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART,
             RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION);
       }},
      {4000, "OffsetCommit errors",
       [&] {
         rd_kafka_mock_push_request_errors(
             mc, 8 /* OffsetCommit */, 3, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
             RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS, RD_KAFKA_RESP_ERR_NOT_COORDINATOR);
       }},
      {5000, "leader of partition 0 → broker 3",
       [&] { rd_kafka_mock_partition_set_leader(mc, topic.c_str(), 0, 3); }},
      {6000, "leader of partition 1 → broker 1",
       [&] { rd_kafka_mock_partition_set_leader(mc, topic.c_str(), 1, 1); }},
      {7000, "broker 3 down", [&] { rd_kafka_mock_broker_set_down(mc, 3); }},
      {8000, "broker 3 up", [&] { rd_kafka_mock_broker_set_up(mc, 3); }},
  };
  size_t next_fault = 0;
  const auto t0 = Clock::now();
  auto next_commit = Clock::now();
  auto deadline = Clock::now() + seconds(50);
  int commit_failures = 0;
  while (Clock::now() < deadline) {
    const auto now = Clock::now();
    const int elapsed =
        static_cast<int>(std::chrono::duration_cast<milliseconds>(now - t0).count());
    while (next_fault < faults.size() && elapsed >= faults[next_fault].at_ms) {
      std::fprintf(stderr, "[kafka_source] %5d ms: %s (consumed %zu, produced %d)\n", elapsed,
                   faults[next_fault].what, d.seen.size(), produced.load());
      faults[next_fault++].apply();
    }
    d.Step(milliseconds(50));
    if (now >= next_commit) {
      if (!source->Commit(false).ok()) ++commit_failures;
      next_commit = now + milliseconds(300);
    }
    if (next_fault == faults.size() && delivery.delivered + delivery.failed == kMessages &&
        static_cast<int>(d.seen.size()) >= delivery.delivered) {
      break;
    }
  }
  producer_thread.join();
  ASSERT_TRUE(produce_ok);
  ASSERT_EQ(delivery.failed.load(), 0);
  ASSERT_EQ(delivery.delivered.load(), kMessages);
  // A moment more to catch repeats.
  const auto quiet = Clock::now() + milliseconds(500);
  while (Clock::now() < quiet) d.Step(milliseconds(50));

  EXPECT_EQ(d.duplicates, 0);
  EXPECT_EQ(d.out_of_order, 0);
  std::set<std::string> values;
  int repeated_values = 0;
  for (const Seen& s : d.seen) repeated_values += !values.insert(s.value).second;
  EXPECT_EQ(repeated_values, 0);
  EXPECT_EQ(static_cast<int>(values.size()), kMessages) << "messages lost";
  EXPECT_EQ(static_cast<int>(d.seen.size()), kMessages);

  // Final synchronous commit (a rejected one is retried), then the group's offsets are the ends.
  Status st;
  for (int attempt = 0; attempt < 20; ++attempt) {
    st = source->Commit(true);
    if (st.ok()) break;
    d.Step(milliseconds(200));
  }
  ASSERT_TRUE(st.ok()) << st.message();
  std::fprintf(stderr,
               "[kafka_source] errors seen by the source: %llu (last: %s), %d async "
               "commit calls failed\n",
               static_cast<unsigned long long>(source->errors()), source->last_error().c_str(),
               commit_failures);
  std::map<int32_t, int64_t> committed, high;
  ReadCommitted(cluster.bootstrap, group, topic, kPartitions, &committed, &high);
  EXPECT_EQ(committed, high);
  int64_t total = 0;
  for (const auto& [p, off] : high) total += off;
  EXPECT_EQ(total, kMessages);
  source.reset();
}

}  // namespace
}  // namespace abusewatch
