#include "daemon/sources/kafka_source.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <exception>
#include <string_view>

#include "daemon/metrics/metrics.h"

namespace abusewatch {

namespace {

constexpr int kCommitTimeoutMs = 10000;         // rd_kafka_committed() on a re-assignment
constexpr int kWatermarkQueryTimeoutMs = 1000;  // a lane about to go idle: is it behind?
// A start cursor's lane id at or above this is not used (the engine's kMaxLanes).
constexpr uint32_t kMaxLaneHint = 4096;

std::string TopicPartitionName(std::string_view topic, int32_t partition) {
  std::string s(topic);
  s += '/';
  s += std::to_string(partition);
  return s;
}

bool SetConf(rd_kafka_conf_t* conf, const std::string& key, const std::string& value,
             Status* status) {
  char errstr[512];
  if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), errstr, sizeof(errstr)) !=
      RD_KAFKA_CONF_OK) {
    *status = Status::InvalidArgument("kafka property " + key + ": " + errstr);
    return false;
  }
  return true;
}

}  // namespace

// librdkafka calls these on the thread that polls (rd_kafka_poll_set_consumer), i.e. inside
// Poll(), Commit() or Close(). No exception may leave them.
struct KafkaSource::Callbacks {
  static void Rebalance(rd_kafka_t* /*rk*/, rd_kafka_resp_err_t err,
                        rd_kafka_topic_partition_list_t* parts, void* opaque) {
    try {
      static_cast<KafkaSource*>(opaque)->OnRebalance(static_cast<int>(err), parts);
    } catch (const std::exception& e) {
      static_cast<KafkaSource*>(opaque)->NoteError(std::string("rebalance: ") + e.what());
    } catch (...) {
      static_cast<KafkaSource*>(opaque)->NoteError("rebalance: unknown exception");
    }
  }
  static void Commit(rd_kafka_t* /*rk*/, rd_kafka_resp_err_t err,
                     rd_kafka_topic_partition_list_t* offsets, void* opaque) {
    try {
      static_cast<KafkaSource*>(opaque)->OnCommitResult(static_cast<int>(err), offsets);
    } catch (...) {
    }
  }
  static void Error(rd_kafka_t* /*rk*/, int err, const char* reason, void* opaque) {
    try {
      static_cast<KafkaSource*>(opaque)->NoteError(
          std::string(rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err))) + ": " +
          (reason != nullptr ? reason : ""));
    } catch (...) {
    }
  }
};

KafkaSource::KafkaSource(Options options, Metrics* metrics)
    : opt_(std::move(options)), metrics_(metrics) {
  name_ = "kafka:";
  for (size_t i = 0; i < opt_.topics.size(); ++i) {
    if (i > 0) name_ += ',';
    name_ += opt_.topics[i];
  }
}

Status KafkaSource::Create(Options options, Metrics* metrics, std::unique_ptr<KafkaSource>* out) {
  out->reset();
  if (options.brokers.empty()) return Status::InvalidArgument("kafka: brokers is empty");
  if (options.group_id.empty()) return Status::InvalidArgument("kafka: group_id is empty");
  if (options.topics.empty()) return Status::InvalidArgument("kafka: no topics");
  for (const std::string& t : options.topics) {
    if (t.empty()) return Status::InvalidArgument("kafka: empty topic name");
  }
  if (options.start != "earliest" && options.start != "latest") {
    return Status::InvalidArgument("kafka: start must be earliest or latest, not \"" +
                                   options.start + "\"");
  }
  if (options.idle_timeout.count() <= 0) {
    return Status::InvalidArgument("kafka: idle_timeout must be positive");
  }
  for (const auto& [key, value] : options.properties) {
    if (key == "enable.auto.commit" || key == "enable.auto.offset.store" ||
        key == "enable.partition.eof") {
      return Status::InvalidArgument("kafka property " + key + ": managed by the source");
    }
  }

  std::unique_ptr<KafkaSource> src(new KafkaSource(std::move(options), metrics));
  const Options& o = src->opt_;
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  Status st;
  const std::pair<std::string, std::string> settings[] = {
      {"bootstrap.servers", o.brokers},
      {"group.id", o.group_id},
      {"client.id", o.client_id},
      {"auto.offset.reset", o.start},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"enable.partition.eof", "true"},
      {"fetch.wait.max.ms", "100"},
      // A full local queue is looked at again only once a second: it must hold more than a
      // second of the loop's work (see "Fetching" in kafka_source.h).
      {"queued.min.messages", "1000000"},
      {"queued.max.messages.kbytes", "262144"},
  };
  for (const auto& [key, value] : settings) {
    if (!SetConf(conf, key, value, &st)) {
      rd_kafka_conf_destroy(conf);
      return st;
    }
  }
  for (const auto& [key, value] : o.properties) {
    if (!SetConf(conf, key, value, &st)) {
      rd_kafka_conf_destroy(conf);
      return st;
    }
  }
  rd_kafka_conf_set_opaque(conf, src.get());
  rd_kafka_conf_set_rebalance_cb(conf, &Callbacks::Rebalance);
  rd_kafka_conf_set_offset_commit_cb(conf, &Callbacks::Commit);
  rd_kafka_conf_set_error_cb(conf, &Callbacks::Error);

  char errstr[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
  if (rk == nullptr) {  // conf is still ours
    rd_kafka_conf_destroy(conf);
    return Status::InvalidArgument(std::string("kafka: ") + errstr);
  }
  src->rk_ = rk;
  rd_kafka_poll_set_consumer(rk);  // every callback is served by rd_kafka_consumer_poll

  rd_kafka_topic_partition_list_t* topics =
      rd_kafka_topic_partition_list_new(static_cast<int>(o.topics.size()));
  for (const std::string& t : o.topics) {
    rd_kafka_topic_partition_list_add(topics, t.c_str(), RD_KAFKA_PARTITION_UA);
  }
  const rd_kafka_resp_err_t err = rd_kafka_subscribe(rk, topics);
  rd_kafka_topic_partition_list_destroy(topics);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::InvalidArgument(std::string("kafka: subscribe: ") + rd_kafka_err2str(err));
  }
  src->next_lag_update_ = Clock::now();
  *out = std::move(src);
  return Status::Ok();
}

KafkaSource::~KafkaSource() { Close(); }

void KafkaSource::NoteError(const std::string& what) {
  ++errors_;
  last_error_ = what;
  if (status_.ok()) status_ = Status::IoError("kafka: " + what);
}

void KafkaSource::FreeBatch() {
  for (rd_kafka_message_t* m : batch_) rd_kafka_message_destroy(m);
  batch_.clear();
}

int KafkaSource::LaneOf(rd_kafka_topic_t* rkt, int32_t partition) {
  if (rkt == cache_rkt_ && partition == cache_partition_) return cache_lane_;
  auto it = lane_of_.find(std::make_pair(std::string(rd_kafka_topic_name(rkt)), partition));
  const int lane = it == lane_of_.end() ? -1 : static_cast<int>(it->second);
  cache_rkt_ = rkt;
  cache_partition_ = partition;
  cache_lane_ = lane;
  return lane;
}

void KafkaSource::SetIdle(uint32_t lane, Lane& l) {
  if (l.state != LaneState::kActive) return;
  l.state = LaneState::kIdle;
  events_.push_back({lane, LaneState::kIdle, TopicPartitionName(l.topic, l.partition)});
}

bool KafkaSource::KnownBacklog(const Lane& l) {
  // A partition holding records past what was handed out is behind (another partition's backlog
  // fills the consumer queue), not silent: it keeps holding event time back. librdkafka's cached
  // high watermark comes from fetch responses; a partition not fetched yet has none, so then the
  // broker is asked (at most once per idle_timeout of silence, blocking up to 1 s). Unknown
  // position (no cursor, the group's committed offset) or a failed query: no known backlog.
  if (l.next < 0) return false;
  int64_t low = -1;
  int64_t high = -1;
  if (rd_kafka_get_watermark_offsets(rk_, l.topic.c_str(), l.partition, &low, &high) !=
          RD_KAFKA_RESP_ERR_NO_ERROR ||
      high < 0) {
    if (rd_kafka_query_watermark_offsets(rk_, l.topic.c_str(), l.partition, &low, &high,
                                         kWatermarkQueryTimeoutMs) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return false;
    }
  }
  return high > std::max(l.next, low);
}

void KafkaSource::CheckIdle(Clock::time_point now) {
  for (uint32_t i = 0; i < lanes_.size(); ++i) {
    Lane& l = lanes_[i];
    if (l.in_use && l.state == LaneState::kActive && now - l.last_activity >= opt_.idle_timeout) {
      if (KnownBacklog(l)) {
        l.last_activity = now;  // behind, not silent: look again after another idle_timeout
      } else {
        SetIdle(i, l);
      }
    }
  }
}

std::string KafkaSource::ConfigValue(const std::string& name) const {
  if (rk_ == nullptr) return "";
  char value[512];
  size_t size = sizeof(value);
  if (rd_kafka_conf_get(rd_kafka_conf(rk_), name.c_str(), value, &size) != RD_KAFKA_CONF_OK) {
    return "";
  }
  return value;
}

bool KafkaSource::Poll(size_t max, std::chrono::milliseconds timeout,
                       std::vector<SourceRecord>* out) {
  out->clear();
  FreeBatch();
  if (closed_) return false;
  polled_ = true;
  cache_rkt_ = nullptr;
  cache_lane_ = -1;
  const size_t events_before = events_.size();
  polling_ = out;
  const Clock::time_point start = Clock::now();
  const Clock::time_point deadline = start + timeout;
  Clock::time_point now = start;
  while (out->size() < max) {
    int wait_ms = 0;  // once there is something to return, take only what is already there
    if (out->empty() && events_.size() == events_before) {
      now = Clock::now();
      const int64_t left = std::chrono::ceil<std::chrono::milliseconds>(deadline - now).count();
      wait_ms = static_cast<int>(std::clamp<int64_t>(left, 0, 100));  // 100: idle checks
    }
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_, wait_ms);
    if (m == nullptr) {
      if (!out->empty() || events_.size() != events_before) break;
      now = Clock::now();
      CheckIdle(now);
      if (events_.size() != events_before || now >= deadline) break;
      continue;
    }
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        // Not idle by itself (producers may be about to write more): only noted, for the lag
        // metric. Idleness is CheckIdle()'s, after idle_timeout without a record.
        if (m->rkt != nullptr) {
          const int lane = LaneOf(m->rkt, m->partition);
          if (lane >= 0) {
            Lane& l = lanes_[lane];
            l.known_end = m->offset;
            if (l.next < 0 || l.next < m->offset) l.next = m->offset;
          }
        }
      } else {
        std::string what = rd_kafka_err2name(m->err);
        what += ": ";
        what += rd_kafka_message_errstr(m);
        if (m->rkt != nullptr) {
          what += " (" + TopicPartitionName(rd_kafka_topic_name(m->rkt), m->partition) + ")";
        }
        NoteError(what);
      }
      rd_kafka_message_destroy(m);
      continue;
    }
    const int lane = LaneOf(m->rkt, m->partition);
    if (lane < 0) {  // not (or no longer) ours: its owner reads it from the committed offset
      rd_kafka_message_destroy(m);
      continue;
    }
    Lane& l = lanes_[lane];
    if (l.state != LaneState::kActive) {
      l.state = LaneState::kActive;
      events_.push_back({static_cast<uint32_t>(lane), LaneState::kActive,
                         TopicPartitionName(l.topic, l.partition)});
    }
    batch_.push_back(m);
    SourceRecord r;
    r.position = static_cast<uint64_t>(m->offset);
    r.length = m->len;
    r.lane = static_cast<uint32_t>(lane);
    if (m->len > opt_.max_record_bytes) {
      r.oversized = true;
    } else if (m->payload != nullptr) {
      r.payload = std::string_view(static_cast<const char*>(m->payload), m->len);
    }
    out->push_back(r);
    l.next = m->offset + 1;
  }
  polling_ = nullptr;
  now = Clock::now();
  if (!out->empty()) {
    // Lanes that delivered in this batch are active now; others may have gone idle.
    uint32_t prev = UINT32_MAX;
    for (const SourceRecord& r : *out) {
      if (r.lane != prev) {
        lanes_[r.lane].last_activity = now;
        prev = r.lane;
      }
    }
  }
  CheckIdle(now);
  if (metrics_ != nullptr && now >= next_lag_update_) {
    UpdateLag();
    next_lag_update_ = now + std::chrono::seconds(1);
  }
  return true;
}

void KafkaSource::UpdateLag() {
  for (Lane& l : lanes_) {
    if (!l.in_use || l.next < 0) continue;
    int64_t low = -1;
    int64_t high = -1;
    if (rd_kafka_get_watermark_offsets(rk_, l.topic.c_str(), l.partition, &low, &high) !=
            RD_KAFKA_RESP_ERR_NO_ERROR ||
        high < 0) {
      continue;
    }
    if (l.lag == nullptr) l.lag = &metrics_->ConsumerLag(l.topic, l.partition);
    l.lag->Set(static_cast<double>(std::max<int64_t>(0, high - l.next)));
  }
}

void KafkaSource::TakeLaneEvents(std::vector<LaneEvent>* out) {
  out->clear();
  out->swap(events_);
  // The kClosed events are out: their lane ids may be reused.
  for (Lane& l : lanes_) l.pending_free = false;
}

void KafkaSource::MarkDone(uint32_t lane, uint64_t next) {
  if (lane >= lanes_.size()) return;
  Lane& l = lanes_[lane];
  if (!l.in_use || l.next < 0) return;
  const int64_t n = static_cast<int64_t>(next);
  if (n <= l.marked || n > l.next) return;
  l.marked = n;
}

Status KafkaSource::Commit(bool sync) {
  if (closed_) return Status::Ok();
  std::vector<uint32_t> lanes;
  for (uint32_t i = 0; i < lanes_.size(); ++i) {
    if (lanes_[i].in_use) lanes.push_back(i);
  }
  return CommitLanes(lanes, sync);
}

Status KafkaSource::CommitLanes(const std::vector<uint32_t>& lanes, bool sync) {
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(4);
  for (uint32_t i : lanes) {
    Lane& l = lanes_[i];
    if (l.marked < 0 || l.marked == l.committed) continue;
    rd_kafka_topic_partition_list_add(list, l.topic.c_str(), l.partition)->offset = l.marked;
  }
  if (list->cnt == 0) {
    rd_kafka_topic_partition_list_destroy(list);
    return Status::Ok();
  }
  // Optimistic: a failure reported later (OnCommitResult) sets `committed` back.
  for (int i = 0; i < list->cnt; ++i) {
    auto it =
        lane_of_.find(std::make_pair(std::string(list->elems[i].topic), list->elems[i].partition));
    if (it != lane_of_.end()) lanes_[it->second].committed = list->elems[i].offset;
  }
  rd_kafka_resp_err_t err = rd_kafka_commit(rk_, list, sync ? 0 : 1);
  Status result;
  if (sync) {
    std::string failed;
    for (int i = 0; i < list->cnt; ++i) {
      const rd_kafka_topic_partition_t& p = list->elems[i];
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR && p.err == RD_KAFKA_RESP_ERR_NO_ERROR) continue;
      auto it = lane_of_.find(std::make_pair(std::string(p.topic), p.partition));
      if (it != lane_of_.end() && lanes_[it->second].committed == p.offset) {
        lanes_[it->second].committed = -1;
      }
      if (failed.empty()) {
        failed = TopicPartitionName(p.topic, p.partition) + ": " +
                 rd_kafka_err2name(p.err != RD_KAFKA_RESP_ERR_NO_ERROR ? p.err : err);
      }
    }
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR || !failed.empty()) {
      const std::string what = std::string("commit: ") + rd_kafka_err2str(err) +
                               (failed.empty() ? "" : " (" + failed + ")");
      NoteError(what);
      result = Status::IoError("kafka " + what);
    }
  } else if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    for (int i = 0; i < list->cnt; ++i) {
      auto it = lane_of_.find(
          std::make_pair(std::string(list->elems[i].topic), list->elems[i].partition));
      if (it != lane_of_.end()) lanes_[it->second].committed = -1;
    }
    NoteError(std::string("commit: ") + rd_kafka_err2str(err));
    result = Status::IoError(std::string("kafka commit: ") + rd_kafka_err2str(err));
  }
  rd_kafka_topic_partition_list_destroy(list);
  return result;
}

void KafkaSource::OnCommitResult(int err, rd_kafka_topic_partition_list_t* offsets) {
  if (err == RD_KAFKA_RESP_ERR__NO_OFFSET) return;
  bool failed = err != RD_KAFKA_RESP_ERR_NO_ERROR;
  if (offsets != nullptr) {
    for (int i = 0; i < offsets->cnt; ++i) {
      const rd_kafka_topic_partition_t& p = offsets->elems[i];
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR && p.err == RD_KAFKA_RESP_ERR_NO_ERROR) continue;
      failed = true;
      auto it = lane_of_.find(std::make_pair(std::string(p.topic), p.partition));
      if (it != lane_of_.end() && lanes_[it->second].committed == p.offset) {
        lanes_[it->second].committed = -1;  // retried by the next Commit()
      }
    }
  }
  if (failed) {
    NoteError(std::string("commit: ") + rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err)));
  }
}

void KafkaSource::OnRebalance(int err, rd_kafka_topic_partition_list_t* parts) {
  const bool cooperative = std::strcmp(rd_kafka_rebalance_protocol(rk_), "COOPERATIVE") == 0;
  cache_rkt_ = nullptr;
  cache_lane_ = -1;
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    Assign(parts, cooperative);
    joined_ = true;
  } else if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
    Revoke(parts, cooperative);
  } else {
    NoteError(std::string("rebalance: ") + rd_kafka_err2str(static_cast<rd_kafka_resp_err_t>(err)));
    Revoke(nullptr, cooperative);  // everything
    joined_ = false;
  }
}

int64_t KafkaSource::FirstOffset(const char* topic, int32_t partition) {
  // An explicit offset (the partition's low watermark), not RD_KAFKA_OFFSET_BEGINNING: with the
  // logical offset, a partition starting at its beginning next to one resuming at an explicit
  // offset with a backlog delivered nothing until that whole backlog was through (observed with
  // librdkafka 2.0; tests/daemon/kafka_source_test.cc), long enough in slow builds for it to go
  // idle and have its records come back late. Falls back to the logical offset when the query
  // fails.
  int64_t low = -1;
  int64_t high = -1;
  const rd_kafka_resp_err_t e =
      rd_kafka_query_watermark_offsets(rk_, topic, partition, &low, &high, kCommitTimeoutMs);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR || low < 0) return RD_KAFKA_OFFSET_BEGINNING;
  return low;
}

void KafkaSource::Assign(rd_kafka_topic_partition_list_t* parts, bool cooperative) {
  const Clock::time_point now = Clock::now();
  // Partitions this instance consumed earlier in the session resume after what it handed out
  // (unless the group's committed offset is further); others with a start cursor start at it.
  rd_kafka_topic_partition_list_t* again = rd_kafka_topic_partition_list_new(1);
  for (int i = 0; i < parts->cnt; ++i) {
    rd_kafka_topic_partition_t& p = parts->elems[i];
    auto key = std::make_pair(std::string(p.topic), p.partition);
    if (resume_.count(key) != 0) {
      rd_kafka_topic_partition_list_add(again, p.topic, p.partition);
    } else if (auto it = start_.find(key); it != start_.end()) {
      p.offset = it->second.next;
    } else if (from_beginning_) {
      p.offset = FirstOffset(p.topic, p.partition);  // not the group's committed offset
    }
  }
  if (again->cnt > 0) {
    const rd_kafka_resp_err_t e = rd_kafka_committed(rk_, again, kCommitTimeoutMs);
    for (int i = 0; i < again->cnt; ++i) {
      const rd_kafka_topic_partition_t& c = again->elems[i];
      const int64_t mine = resume_[std::make_pair(std::string(c.topic), c.partition)].next;
      const int64_t committed =
          e == RD_KAFKA_RESP_ERR_NO_ERROR && c.err == RD_KAFKA_RESP_ERR_NO_ERROR ? c.offset : -1;
      rd_kafka_topic_partition_t* p =
          rd_kafka_topic_partition_list_find(parts, c.topic, c.partition);
      if (p != nullptr) p->offset = std::max(mine, committed);
    }
  }
  rd_kafka_topic_partition_list_destroy(again);

  auto lane_free = [&](uint32_t lane) {
    return lane >= lanes_.size() || (!lanes_[lane].in_use && !lanes_[lane].pending_free);
  };
  auto open_lane = [&](const rd_kafka_topic_partition_t& p, uint32_t lane) {
    if (lane >= lanes_.size()) lanes_.resize(lane + 1);
    Lane& l = lanes_[lane];
    l = Lane();
    l.in_use = true;
    l.topic = p.topic;
    l.partition = p.partition;
    l.state = LaneState::kActive;
    l.last_activity = now;
    if (p.offset >= 0) l.next = p.offset;  // an explicit resume position
    lane_of_.emplace(std::make_pair(l.topic, l.partition), lane);
    events_.push_back({lane, LaneState::kActive, TopicPartitionName(l.topic, l.partition)});
  };
  // First the partitions starting from a cursor, on the cursor's lane id when it is free...
  std::vector<bool> placed(static_cast<size_t>(parts->cnt), false);
  for (int i = 0; i < parts->cnt; ++i) {
    const rd_kafka_topic_partition_t& p = parts->elems[i];
    auto key = std::make_pair(std::string(p.topic), p.partition);
    if (lane_of_.count(key) != 0) {
      placed[i] = true;
      continue;
    }
    if (resume_.count(key) != 0) continue;
    auto it = start_.find(key);
    if (it == start_.end() || it->second.lane >= kMaxLaneHint || !lane_free(it->second.lane)) {
      continue;
    }
    open_lane(p, it->second.lane);
    placed[i] = true;
  }
  // ... then the others on the lowest free ids.
  for (int i = 0; i < parts->cnt; ++i) {
    if (placed[i]) continue;
    uint32_t lane = 0;
    while (!lane_free(lane)) ++lane;
    open_lane(parts->elems[i], lane);
  }
  if (cooperative) {
    rd_kafka_error_t* e = rd_kafka_incremental_assign(rk_, parts);
    if (e != nullptr) {
      NoteError(std::string("assign: ") + rd_kafka_error_string(e));
      rd_kafka_error_destroy(e);
    }
  } else {
    const rd_kafka_resp_err_t e = rd_kafka_assign(rk_, parts);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) NoteError(std::string("assign: ") + rd_kafka_err2str(e));
  }
}

void KafkaSource::Revoke(rd_kafka_topic_partition_list_t* parts, bool cooperative) {
  std::vector<uint32_t> lanes;
  if (parts == nullptr) {
    for (const auto& [key, lane] : lane_of_) lanes.push_back(lane);
  } else {
    for (int i = 0; i < parts->cnt; ++i) {
      auto it = lane_of_.find(
          std::make_pair(std::string(parts->elems[i].topic), parts->elems[i].partition));
      if (it != lane_of_.end()) lanes.push_back(it->second);
    }
  }
  // Records of these lanes already in this Poll()'s batch are taken back: not handed out.
  if (polling_ != nullptr && !polling_->empty()) {
    std::vector<SourceRecord>& out = *polling_;
    for (uint32_t lane : lanes) {
      for (const SourceRecord& r : out) {
        if (r.lane == lane) {
          lanes_[lane].next = static_cast<int64_t>(r.position);
          break;
        }
      }
    }
    out.erase(std::remove_if(out.begin(), out.end(),
                             [&](const SourceRecord& r) {
                               return std::find(lanes.begin(), lanes.end(), r.lane) != lanes.end();
                             }),
              out.end());
  }
  if (!rd_kafka_assignment_lost(rk_)) {
    Status s = CommitLanes(lanes, /*sync=*/true);
    (void)s;  // counted in NoteError; the new owner starts from the last good commit
  }
  for (uint32_t lane : lanes) {
    Lane& l = lanes_[lane];
    auto key = std::make_pair(l.topic, l.partition);
    if (l.next >= 0) resume_[key] = Resume{l.next, lane};
    if (l.lag != nullptr && metrics_ != nullptr) metrics_->RemoveConsumerLag(l.topic, l.partition);
    events_.push_back({lane, LaneState::kClosed, TopicPartitionName(l.topic, l.partition)});
    lane_of_.erase(key);
    l = Lane();
    l.pending_free = true;
  }
  if (cooperative) {
    if (parts != nullptr) {
      rd_kafka_error_t* e = rd_kafka_incremental_unassign(rk_, parts);
      if (e != nullptr) rd_kafka_error_destroy(e);
    }
  } else {
    rd_kafka_assign(rk_, nullptr);
  }
}

std::vector<SourceCursor> KafkaSource::Cursors() const {
  // Later sources supersede earlier ones: start cursors, then revoked partitions, then the
  // assigned ones.
  std::map<std::pair<std::string, int32_t>, SourceCursor> by_partition;
  auto put = [&](const std::pair<std::string, int32_t>& key, uint32_t lane, int64_t next) {
    SourceCursor& c = by_partition[key];
    c.input = TopicPartitionName(key.first, key.second);
    c.lane = lane;
    c.next = static_cast<uint64_t>(next);
  };
  for (const auto& [key, start] : start_) put(key, start.lane, start.next);
  for (const auto& [key, resume] : resume_) put(key, resume.lane, resume.next);
  for (const auto& [key, lane] : lane_of_) {
    const Lane& l = lanes_[lane];
    if (l.next >= 0) {
      put(key, lane, l.next);
    } else if (auto it = by_partition.find(key); it != by_partition.end()) {
      it->second.lane = lane;
    }
  }
  std::vector<SourceCursor> out;
  out.reserve(by_partition.size());
  for (auto& [key, c] : by_partition) out.push_back(std::move(c));
  return out;
}

Status KafkaSource::SetStartCursors(const std::vector<SourceCursor>& cursors) {
  if (polled_) return Status::InvalidArgument("kafka: start cursors given after the first poll");
  std::map<std::pair<std::string, int32_t>, StartCursor> start;
  for (const SourceCursor& c : cursors) {
    const size_t slash = c.input.rfind('/');
    const std::string_view digits = slash == std::string::npos
                                        ? std::string_view()
                                        : std::string_view(c.input).substr(slash + 1);
    int64_t partition = 0;
    bool ok = slash != std::string::npos && slash > 0 && !digits.empty() && digits.size() <= 10;
    for (size_t i = 0; ok && i < digits.size(); ++i) {
      if (digits[i] < '0' || digits[i] > '9') {
        ok = false;
      } else {
        partition = partition * 10 + (digits[i] - '0');
      }
    }
    ok = ok && partition <= INT32_MAX;
    if (!ok) {
      return Status::InvalidArgument("kafka: cursor input \"" + c.input +
                                     "\" is not topic/partition");
    }
    if (c.next > static_cast<uint64_t>(INT64_MAX)) {
      return Status::InvalidArgument("kafka: cursor " + c.input + ": offset out of range");
    }
    std::string topic = c.input.substr(0, slash);
    if (std::find(opt_.topics.begin(), opt_.topics.end(), topic) == opt_.topics.end()) continue;
    auto key = std::make_pair(std::move(topic), static_cast<int32_t>(partition));
    if (!start.emplace(std::move(key), StartCursor{static_cast<int64_t>(c.next), c.lane}).second) {
      return Status::InvalidArgument("kafka: two cursors for " + c.input);
    }
  }
  start_ = std::move(start);
  return Status::Ok();
}

void KafkaSource::Close() {
  if (closed_) return;
  if (rk_ != nullptr) {
    Status s = Commit(/*sync=*/true);
    (void)s;
    FreeBatch();
    rd_kafka_consumer_close(rk_);  // revokes: the rebalance callback commits and closes lanes
    rd_kafka_destroy(rk_);
    rk_ = nullptr;
  }
  FreeBatch();
  closed_ = true;
}

}  // namespace abusewatch
