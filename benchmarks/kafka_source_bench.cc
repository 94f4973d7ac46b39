// KafkaSource consume throughput against librdkafka's in-process mock cluster, next to a bare
// rd_kafka_consumer_poll loop over the same data (the "consume-only" ceiling). Each benchmark
// consumes the whole topic once from a fresh group; the time runs from the first record to the
// last (the group join, ~3 s on the mock, is not counted).
//
//   build/benchmarks/abusewatch_bench --benchmark_filter=Kafka
#include <benchmark/benchmark.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "daemon/sources/kafka_source.h"

namespace abusewatch {
namespace {

using Clock = std::chrono::steady_clock;

// The mock keeps ~5 MiB per partition: 400 000 × 100 bytes over 16 partitions is ~2.5 MiB each.
constexpr int kPartitions = 16;
constexpr int kMessages = 400000;
constexpr int kValueBytes = 100;
constexpr const char* kTopic = "bench";

struct Mock {
  rd_kafka_t* rk = nullptr;
  rd_kafka_mock_cluster_t* mc = nullptr;
  std::string bootstrap;
  bool ok = false;
};

// One mock cluster with the topic filled, for the whole process.
Mock& SharedMock() {
  static Mock* mock = [] {
    auto* m = new Mock;
    char errstr[512];
    m->rk = rd_kafka_new(RD_KAFKA_PRODUCER, rd_kafka_conf_new(), errstr, sizeof(errstr));
    if (m->rk == nullptr) return m;
    m->mc = rd_kafka_mock_cluster_new(m->rk, 1);
    m->bootstrap = rd_kafka_mock_cluster_bootstraps(m->mc);
    rd_kafka_mock_topic_create(m->mc, kTopic, kPartitions, 1);
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", m->bootstrap.c_str(), errstr, sizeof(errstr));
    rd_kafka_conf_set(conf, "linger.ms", "20", errstr, sizeof(errstr));
    rd_kafka_conf_set(conf, "batch.num.messages", "10000", errstr, sizeof(errstr));
    rd_kafka_t* p = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (p == nullptr) return m;
    std::string value(kValueBytes, 'v');
    for (int i = 0; i < kMessages; ++i) {
      const std::string key = "acct-" + std::to_string(i % 10007);
      while (rd_kafka_producev(p, RD_KAFKA_V_TOPIC(kTopic),
                               RD_KAFKA_V_KEY(const_cast<char*>(key.data()), key.size()),
                               RD_KAFKA_V_VALUE(value.data(), value.size()),
                               RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                               RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        rd_kafka_poll(p, 10);
      }
    }
    m->ok = rd_kafka_flush(p, 60000) == RD_KAFKA_RESP_ERR_NO_ERROR;
    rd_kafka_destroy(p);
    return m;
  }();
  return *mock;
}

std::string NewGroup() {
  static int n = 0;
  return "bench-group-" + std::to_string(++n);
}

void BM_KafkaRawConsumerPoll(benchmark::State& state) {
  Mock& m = SharedMock();
  if (!m.ok) {
    state.SkipWithError("mock cluster setup failed");
    return;
  }
  for (auto _ : state) {
    char errstr[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    const std::string group = NewGroup();
    for (const auto& [k, v] :
         std::vector<std::pair<std::string, std::string>>{{"bootstrap.servers", m.bootstrap},
                                                          {"group.id", group},
                                                          {"auto.offset.reset", "earliest"},
                                                          {"enable.auto.commit", "false"},
                                                          {"fetch.wait.max.ms", "10"}}) {
      rd_kafka_conf_set(conf, k.c_str(), v.c_str(), errstr, sizeof(errstr));
    }
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t* t = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(t, kTopic, RD_KAFKA_PARTITION_UA);
    rd_kafka_subscribe(rk, t);
    rd_kafka_topic_partition_list_destroy(t);
    int n = 0;
    size_t bytes = 0;
    Clock::time_point first{};
    const auto deadline = Clock::now() + std::chrono::seconds(60);
    while (n < kMessages && Clock::now() < deadline) {
      rd_kafka_message_t* msg = rd_kafka_consumer_poll(rk, 100);
      if (msg == nullptr) continue;
      if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (n++ == 0) first = Clock::now();
        bytes += msg->len;
      }
      rd_kafka_message_destroy(msg);
    }
    const double secs = std::chrono::duration<double>(Clock::now() - first).count();
    state.SetIterationTime(secs);
    state.counters["msgs_per_s"] = n / secs;
    benchmark::DoNotOptimize(bytes);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    if (n < kMessages) state.SkipWithError("not every message consumed");
  }
}
BENCHMARK(BM_KafkaRawConsumerPoll)->UseManualTime()->Iterations(1)->Unit(benchmark::kMillisecond);

void BM_KafkaSourcePoll(benchmark::State& state) {
  Mock& m = SharedMock();
  if (!m.ok) {
    state.SkipWithError("mock cluster setup failed");
    return;
  }
  const size_t max = static_cast<size_t>(state.range(0));
  for (auto _ : state) {
    KafkaSource::Options o;
    o.brokers = m.bootstrap;
    o.group_id = NewGroup();
    o.topics = {kTopic};
    o.properties = {{"fetch.wait.max.ms", "10"}};
    std::unique_ptr<KafkaSource> source;
    if (!KafkaSource::Create(o, nullptr, &source).ok()) {
      state.SkipWithError("create failed");
      return;
    }
    std::vector<SourceRecord> records;
    std::vector<LaneEvent> events;
    std::vector<uint64_t> next(kPartitions, 0);
    int n = 0;
    size_t bytes = 0;
    Clock::time_point first{};
    const auto deadline = Clock::now() + std::chrono::seconds(60);
    while (n < kMessages && Clock::now() < deadline) {
      source->Poll(max, std::chrono::milliseconds(100), &records);
      source->TakeLaneEvents(&events);
      if (!records.empty() && n == 0) first = Clock::now();
      for (const SourceRecord& r : records) {
        bytes += r.payload.size();
        if (r.lane < next.size()) next[r.lane] = r.position + 1;
      }
      n += static_cast<int>(records.size());
      for (uint32_t lane = 0; lane < next.size(); ++lane) {
        if (next[lane] != 0) source->MarkDone(lane, next[lane]);
      }
    }
    const double secs = std::chrono::duration<double>(Clock::now() - first).count();
    state.SetIterationTime(secs);
    state.counters["msgs_per_s"] = n / secs;
    benchmark::DoNotOptimize(bytes);
    if (n < kMessages) state.SkipWithError("not every message consumed");
  }
}
BENCHMARK(BM_KafkaSourcePoll)
    ->Arg(1024)
    ->Arg(8192)
    ->UseManualTime()
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace abusewatch
