// Helpers of the KafkaSource tests: see kafka_source_test_util.h.
#include "tests/daemon/kafka_source_test_util.h"

#include <gtest/gtest.h>

#include <thread>

namespace abusewatch::kafka_source_test {

namespace {

void OnDelivery(rd_kafka_t* /*rk*/, const rd_kafka_message_t* m, void* opaque) {
  auto* d = static_cast<Delivery*>(opaque);
  if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    ++d->delivered;
  } else {
    ++d->failed;
  }
}

}  // namespace

rd_kafka_t* MakeProducer(const std::string& bootstrap, Delivery* delivery,
                         const std::vector<std::pair<std::string, std::string>>& extra) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char errstr[512];
  std::vector<std::pair<std::string, std::string>> settings = {
      {"bootstrap.servers", bootstrap}, {"enable.idempotence", "true"}, {"linger.ms", "5"}};
  settings.insert(settings.end(), extra.begin(), extra.end());
  for (const auto& [k, v] : settings) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
      ADD_FAILURE() << k << ": " << errstr;
      rd_kafka_conf_destroy(conf);
      return nullptr;
    }
  }
  rd_kafka_conf_set_opaque(conf, delivery);
  rd_kafka_conf_set_dr_msg_cb(conf, &OnDelivery);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  if (rk == nullptr) {
    ADD_FAILURE() << errstr;
    rd_kafka_conf_destroy(conf);
  }
  return rk;
}

bool Produce(rd_kafka_t* rk, const std::string& topic, const std::string& key,
             const std::string& value, bool tombstone, int32_t partition) {
  while (true) {
    const rd_kafka_resp_err_t err =
        rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(partition),
                          RD_KAFKA_V_KEY(const_cast<char*>(key.data()), key.size()),
                          RD_KAFKA_V_VALUE(tombstone ? nullptr : const_cast<char*>(value.data()),
                                           tombstone ? 0 : value.size()),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      rd_kafka_poll(rk, 10);
      continue;
    }
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      ADD_FAILURE() << "produce: " << rd_kafka_err2str(err);
      return false;
    }
    rd_kafka_poll(rk, 0);
    return true;
  }
}

bool Flush(rd_kafka_t* rk) {
  const rd_kafka_resp_err_t err = rd_kafka_flush(rk, 60000);
  EXPECT_EQ(err, RD_KAFKA_RESP_ERR_NO_ERROR) << rd_kafka_err2str(err);
  return err == RD_KAFKA_RESP_ERR_NO_ERROR;
}

std::string Key(int i) { return "acct-" + std::to_string(i % 101); }

// ---- consuming -------------------------------------------------------------------------------

size_t Driver::Step(milliseconds timeout, size_t max) {
  std::vector<SourceRecord> records;
  EXPECT_TRUE(source_->Poll(max, timeout, &records));
  std::vector<LaneEvent> events;
  source_->TakeLaneEvents(&events);
  for (const LaneEvent& e : events) {
    log.push_back(e);
    if (e.state == LaneState::kActive) {
      partition_of_lane[e.lane] = std::stoi(e.name.substr(e.name.rfind('/') + 1));
    }
    if (e.state == LaneState::kClosed) partition_of_lane.erase(e.lane);
    state[e.lane] = e.state;
  }
  std::map<uint32_t, uint64_t> next;
  for (const SourceRecord& r : records) {
    auto it = partition_of_lane.find(r.lane);
    if (it == partition_of_lane.end()) {
      ADD_FAILURE() << "record on lane " << r.lane << " with no kActive event";
      continue;
    }
    EXPECT_EQ(state[r.lane], LaneState::kActive) << "record on a lane not active";
    const int32_t p = it->second;
    const int64_t off = static_cast<int64_t>(r.position);
    if (!seen_offsets_.insert({p, off}).second) ++duplicates;
    auto last = last_offset.find(p);
    if (last != last_offset.end() && off <= last->second) ++out_of_order;
    last_offset[p] = off;
    seen.push_back({std::string(r.payload), p, off});
    next[r.lane] = r.position + 1;
    if (r.oversized) oversized.push_back(r);
  }
  for (const auto& [lane, n] : next) source_->MarkDone(lane, n);
  return records.size();
}

void Driver::AwaitLanes(size_t lanes, milliseconds timeout) {
  const Clock::time_point deadline = Clock::now() + timeout;
  while (Clock::now() < deadline && partition_of_lane.size() < lanes) Step();
}

bool Driver::AllIdle(size_t lanes) const {
  if (partition_of_lane.size() != lanes) return false;
  for (const auto& [lane, p] : partition_of_lane) {
    auto it = state.find(lane);
    if (it == state.end() || it->second != LaneState::kIdle) return false;
  }
  return true;
}

void ReadCommitted(const std::string& bootstrap, const std::string& group, const std::string& topic,
                   int partitions, std::map<int32_t, int64_t>* committed,
                   std::map<int32_t, int64_t>* high) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char errstr[512];
  ASSERT_EQ(rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), errstr, sizeof(errstr)),
            RD_KAFKA_CONF_OK);
  ASSERT_EQ(rd_kafka_conf_set(conf, "group.id", group.c_str(), errstr, sizeof(errstr)),
            RD_KAFKA_CONF_OK);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
  ASSERT_NE(rk, nullptr) << errstr;
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; ++p) rd_kafka_topic_partition_list_add(list, topic.c_str(), p);
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
  for (int attempt = 0; attempt < 10; ++attempt) {
    err = rd_kafka_committed(rk, list, 10000);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;
    std::this_thread::sleep_for(milliseconds(500));
  }
  EXPECT_EQ(err, RD_KAFKA_RESP_ERR_NO_ERROR) << rd_kafka_err2str(err);
  for (int i = 0; i < list->cnt; ++i) {
    (*committed)[list->elems[i].partition] = list->elems[i].offset;
    int64_t lo = -1;
    int64_t hi = -1;
    EXPECT_EQ(rd_kafka_query_watermark_offsets(rk, topic.c_str(), list->elems[i].partition, &lo,
                                               &hi, 10000),
              RD_KAFKA_RESP_ERR_NO_ERROR);
    (*high)[list->elems[i].partition] = hi;
  }
  rd_kafka_topic_partition_list_destroy(list);
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t begin = 0;
  while (begin < text.size()) {
    size_t end = text.find('\n', begin);
    if (end == std::string::npos) end = text.size();
    lines.push_back(text.substr(begin, end - begin));
    begin = end + 1;
  }
  return lines;
}

KafkaSource::Options BaseOptions(const std::string& bootstrap, const std::string& group,
                                 const std::string& topic) {
  KafkaSource::Options o;
  o.brokers = bootstrap;
  o.group_id = group;
  o.topics = {topic};
  // Short, to keep the tests fast: a lane at its end turns kIdle only after this.
  o.idle_timeout = milliseconds(400);
  o.client_id = "kafka-source-test";
  return o;
}

// ---- options ---------------------------------------------------------------------------------
}  // namespace abusewatch::kafka_source_test
