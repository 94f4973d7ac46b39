// kafka_tool: the helpers of benchmarks/kafka_e2e.sh that need librdkafka.
//
//   kafka_tool create-topic BROKERS TOPIC PARTITIONS
//       creates TOPIC (replication 1) with the admin API; an existing topic is an error.
//   kafka_tool consume BROKERS TOPIC COUNT [GROUP] [FETCH_WAIT_MS] [K=V,K=V...]
//       the consume-only baseline: a fresh consumer group subscribed to TOPIC (like the daemon's
//       KafkaSource: auto.offset.reset=earliest, no auto commit, partition EOF events,
//       fetch.wait.max.ms=100 unless given), rd_kafka_consumer_poll one message at a time,
//       touching each payload (a byte sum) and nothing else, until COUNT messages were read;
//       the last argument adds librdkafka properties (e.g. queued.min.messages=1000000).
//       Prints one line:
//         consumed=N total_s=T join_s=J first_to_last_s=F raw_eps=N/T adjusted_eps=N/F
//       where join_s is start → first message (group join + first fetch) and the adjusted rate
//       runs from the first message to the last.
#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

using Clock = std::chrono::steady_clock;

bool Set(rd_kafka_conf_t* conf, const char* k, const std::string& v) {
  char errstr[512];
  if (rd_kafka_conf_set(conf, k, v.c_str(), errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
    std::fprintf(stderr, "kafka_tool: %s: %s\n", k, errstr);
    return false;
  }
  return true;
}

int CreateTopic(const std::string& brokers, const std::string& name, int partitions) {
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  if (!Set(conf, "bootstrap.servers", brokers)) return 1;
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (rk == nullptr) {
    std::fprintf(stderr, "kafka_tool: rd_kafka_new: %s\n", errstr);
    return 1;
  }
  rd_kafka_NewTopic_t* topic =
      rd_kafka_NewTopic_new(name.c_str(), partitions, 1, errstr, sizeof errstr);
  if (topic == nullptr) {
    std::fprintf(stderr, "kafka_tool: NewTopic: %s\n", errstr);
    return 1;
  }
  rd_kafka_AdminOptions_t* options = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_operation_timeout(options, 30000, errstr, sizeof errstr);
  rd_kafka_queue_t* queue = rd_kafka_queue_new(rk);
  rd_kafka_CreateTopics(rk, &topic, 1, options, queue);
  rd_kafka_event_t* event = rd_kafka_queue_poll(queue, 60000);
  int rc = 0;
  if (event == nullptr) {
    std::fprintf(stderr, "kafka_tool: CreateTopics(%s): no answer\n", name.c_str());
    rc = 1;
  } else if (rd_kafka_event_error(event) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    std::fprintf(stderr, "kafka_tool: CreateTopics(%s): %s\n", name.c_str(),
                 rd_kafka_event_error_string(event));
    rc = 1;
  } else {
    const rd_kafka_CreateTopics_result_t* result = rd_kafka_event_CreateTopics_result(event);
    size_t n = 0;
    const rd_kafka_topic_result_t** results = rd_kafka_CreateTopics_result_topics(result, &n);
    for (size_t i = 0; i < n; ++i) {
      if (rd_kafka_topic_result_error(results[i]) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        std::fprintf(stderr, "kafka_tool: CreateTopics(%s): %s\n", name.c_str(),
                     rd_kafka_topic_result_error_string(results[i]));
        rc = 1;
      }
    }
  }
  if (event != nullptr) rd_kafka_event_destroy(event);
  rd_kafka_queue_destroy(queue);
  rd_kafka_AdminOptions_destroy(options);
  rd_kafka_NewTopic_destroy(topic);
  rd_kafka_destroy(rk);
  return rc;
}

int Consume(const std::string& brokers, const std::string& topic, long long count,
            const std::string& group, const std::string& fetch_wait, const std::string& extra) {
  const auto t0 = Clock::now();
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  if (!Set(conf, "bootstrap.servers", brokers) || !Set(conf, "group.id", group) ||
      !Set(conf, "auto.offset.reset", "earliest") || !Set(conf, "enable.auto.commit", "false") ||
      !Set(conf, "enable.auto.offset.store", "false") ||
      !Set(conf, "enable.partition.eof", "true") || !Set(conf, "fetch.wait.max.ms", fetch_wait)) {
    return 2;
  }
  for (size_t b = 0; b < extra.size();) {
    size_t e = extra.find(',', b);
    if (e == std::string::npos) e = extra.size();
    const std::string kv = extra.substr(b, e - b);
    const size_t eq = kv.find('=');
    if (eq == std::string::npos || !Set(conf, kv.substr(0, eq).c_str(), kv.substr(eq + 1))) {
      std::fprintf(stderr, "kafka_tool: bad property '%s'\n", kv.c_str());
      return 2;
    }
    b = e + 1;
  }
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
  if (rk == nullptr) {
    std::fprintf(stderr, "kafka_tool: rd_kafka_new: %s\n", errstr);
    return 1;
  }
  rd_kafka_poll_set_consumer(rk);
  rd_kafka_topic_partition_list_t* t = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(t, topic.c_str(), RD_KAFKA_PARTITION_UA);
  rd_kafka_subscribe(rk, t);
  rd_kafka_topic_partition_list_destroy(t);
  long long n = 0;
  uint64_t sum = 0;
  Clock::time_point first{}, last{};
  const auto deadline = Clock::now() + std::chrono::minutes(10);
  while (n < count && Clock::now() < deadline) {
    rd_kafka_message_t* msg = rd_kafka_consumer_poll(rk, 100);
    if (msg == nullptr) continue;
    if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (n++ == 0) first = Clock::now();
      const auto* p = static_cast<const unsigned char*>(msg->payload);
      for (size_t i = 0; i < msg->len; i += 64) sum += p[i];
    }
    rd_kafka_message_destroy(msg);
  }
  last = Clock::now();
  const double total = std::chrono::duration<double>(last - t0).count();
  const double join = std::chrono::duration<double>(first - t0).count();
  const double ftl = std::chrono::duration<double>(last - first).count();
  std::printf(
      "consumed=%lld total_s=%.3f join_s=%.3f first_to_last_s=%.3f raw_eps=%.0f "
      "adjusted_eps=%.0f checksum=%llu\n",
      n, total, join, ftl, n / total, n / ftl, static_cast<unsigned long long>(sum));
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return n == count ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string cmd = argc > 1 ? argv[1] : "";
  if (cmd == "create-topic" && argc == 5) {
    return CreateTopic(argv[2], argv[3], std::atoi(argv[4]));
  }
  if (cmd == "consume" && argc >= 5 && argc <= 8) {
    return Consume(argv[2], argv[3], std::atoll(argv[4]),
                   argc > 5 ? argv[5] : "consume-only-" + std::to_string(::time(nullptr)),
                   argc > 6 ? argv[6] : "100", argc > 7 ? argv[7] : "");
  }
  std::fprintf(stderr,
               "usage: kafka_tool create-topic BROKERS TOPIC PARTITIONS\n"
               "       kafka_tool consume BROKERS TOPIC COUNT [GROUP] [FETCH_WAIT_MS] [K=V,...]\n");
  return 2;
}
