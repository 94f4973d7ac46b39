// KafkaSource: the records of one or more Kafka topics, read in a consumer group through
// librdkafka (C API). Each assigned partition is a lane (source.h).
//
//   KafkaSource::Options o;
//   o.brokers = "kafka-1:9092";
//   o.group_id = "abusewatch";
//   o.topics = {"events"};
//   std::unique_ptr<KafkaSource> source;
//   Status s = KafkaSource::Create(std::move(o), &metrics, &source);
//
// Records. Poll() hands out the payloads of librdkafka's own messages (no copy); they stay alive
// until the next Poll() or Close(). position = the Kafka offset. A record longer than
// max_record_bytes is handed out oversized (empty payload, true length). A tombstone (null
// payload) is an ordinary record with an empty payload (the daemon rejects it as
// malformed_json). Keys and headers are ignored.
//
// Lanes. Each assigned (topic, partition) gets the lowest lane id not in use (or its start
// cursor's id, see Cursors below); a revoked partition's id is reused only after
// TakeLaneEvents() has returned its kClosed event. Events:
// assignment → kActive; no record for `idle_timeout` of wall time (counted from the lane's last
// record, or from its assignment if it has delivered none) → kIdle, once, whether or not the
// partition is at its end, unless its high watermark (librdkafka's cached one; the broker's when
// none is cached yet) shows records past the last one handed out: a partition behind another's
// backlog is slow, not silent (idling it let event time run ahead and its records come back
// late), and its idle clock restarts; the next record of an idle lane → kActive,
// queued before that record is handed out; revocation → kClosed. Records of a lane revoked during a
// Poll() are taken back out of that Poll()'s batch (never handed out), so a lane id in a batch
// always means the partition named by the latest kActive event of that id. EAGER (range,
// roundrobin) and COOPERATIVE (cooperative-sticky) assignors are both handled.
//
// Why end of partition (RD_KAFKA_RESP_ERR__PARTITION_EOF) does not make a lane idle: at a steady
// load the consumer reaches the end of every partition constantly while producers keep writing.
// An idle lane stops holding back the engine's watermark (the minimum over ACTIVE lanes,
// detectors/engine.h), so idling at EOF made the watermark jump to the most advanced partition,
// and the records of the others, arriving a few ms later, were rejected as late unless
// allowed_lateness covered the skew. Like Kafka Streams' max.task.idle.ms, an empty partition is
// waited for: only `idle_timeout` of silence makes it idle. The price: once every backlog is
// consumed, the watermark waits `idle_timeout` before moving past the partitions gone silent.
// The end is still noted: a partition that reaches it without delivering gets its lag metric.
//
// Fetching. librdkafka 2.0.2 stops fetching a partition once the local queue holds
// queued.min.messages records or queued.max.messages.kbytes, and looks again only about once a
// second (later versions made that fetch.queue.backoff.ms); if the loop empties the queue sooner,
// it waits for the rest of that second. So the queue must hold more than a second of the loop's
// work while it catches up on a backlog: the source sets queued.min.messages=1000000 (default
// 100000: 2 M events in 17.8 s instead of 8.6 s) and queued.max.messages.kbytes=262144, i.e.
// 256 MiB of prefetched records at most (default 64 MiB, ~400 k records of 160 B: the loop sat
// idle 0.1-0.35 s of every second, 3.1 s instead of 2.1 s for 2 M events). Like
// fetch.wait.max.ms=100, they may be overridden through Options::properties (e.g. a smaller
// queue to save memory); ConfigValue() reads the value in effect.
//
// Offsets. Nothing is committed automatically (enable.auto.commit=false,
// enable.auto.offset.store=false). MarkDone(lane, next) records the next offset to commit for the
// lane's current partition (only forward, never beyond what was handed out); Commit() commits
// every marked-but-uncommitted offset of the assigned partitions. On revocation the revoked
// partitions' marked offsets are committed synchronously first; only what was already marked
// can be committed there (the rebalance runs inside Poll(), before the daemon has processed that
// batch), so the daemon should MarkDone() + Commit() after each processed batch. If a partition
// is assigned again later in the same session, consumption resumes at
// max(committed offset, offset after the last record handed out), so a failed or rejected
// revocation commit never makes this instance process a record twice. Close() (and the
// destructor) commit synchronously, leave the group and destroy the consumer.
//
// Cursors (source.h). Cursors() has one cursor per partition with a known resume point: one
// this session handed records out from, reached the end of, or was given by SetStartCursors()
// (until superseded): input "topic/partition", lane = its lane id (while assigned; else the id
// it had last, or the start cursor's), next = the offset after the last record handed out (or
// the end of partition reached, or the start cursor's `next` if nothing since). Records taken
// back on a revocation count as not handed out. SetStartCursors() (before the first Poll()):
// when the group assigns a partition that has a start cursor and that this session has not
// consumed before, the partition starts at the cursor's `next` — not at the group's committed
// offset, not by auto.offset.reset — and gets the cursor's lane id if that id is free (not
// assigned, its kClosed not pending, below 4096; hinted partitions of one assignment claim
// their ids before the others take the lowest free ones), else the lowest free id. A partition
// this session consumed before resumes as described above (its own record wins over a start
// cursor). A cursor offset the partition no longer has (deleted by retention, or beyond its
// end) falls back to auto.offset.reset (`start`). Cursors of topics not subscribed are ignored; a
// malformed input name, a partition given twice or a call after the first Poll() is an
// InvalidArgument (nothing is applied).
//
// Errors. Broker and consumer errors (broker down, unknown topic, failed commits) never end the
// source: they are counted, the first one is kept in status() and the latest in last_error(),
// and Poll() goes on returning true (possibly with no records). Poll() returns false only after
// Close().
//
// Metrics (optional): abusewatch_consumer_lag{topic,partition} = high watermark − (last handed
// out offset + 1), from librdkafka's cached watermarks, about once a second per assigned
// partition that has delivered a record or reached its end; removed on revocation.
//
// Thread safety: not thread-safe; use from one thread (librdkafka's callbacks — rebalance,
// commit results, errors — run on the calling thread, inside Poll(), Commit() and Close()).
#ifndef ABUSEWATCH_DAEMON_SOURCES_KAFKA_SOURCE_H_
#define ABUSEWATCH_DAEMON_SOURCES_KAFKA_SOURCE_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "daemon/sources/source.h"

struct rd_kafka_s;
struct rd_kafka_message_s;
struct rd_kafka_topic_s;
struct rd_kafka_topic_partition_list_s;

namespace prometheus {
class Gauge;
}  // namespace prometheus

namespace abusewatch {

class Metrics;

class KafkaSource final : public Source {
 public:
  struct Options {
    std::string brokers;              // bootstrap.servers, e.g. "kafka-1:9092,kafka-2:9092"
    std::string group_id;             // group.id
    std::vector<std::string> topics;  // subscribed topics (at least one)
    // No record for this long on an active lane (wall time) → kIdle, at its end or not.
    std::chrono::milliseconds idle_timeout{5000};
    std::string start = "earliest";        // auto.offset.reset: "earliest" or "latest"
    size_t max_record_bytes = 1u << 20;    // longer records are handed out oversized
    std::string client_id = "abusewatch";  // client.id
    // Passed to rd_kafka_conf_set in order, after the settings above and the source's defaults
    // (so they may override e.g. fetch.wait.max.ms, queued.min.messages or
    // partition.assignment.strategy): TLS, SASL, tuning. The three settings the source manages
    // (enable.auto.commit, enable.auto.offset.store, enable.partition.eof) are rejected.
    std::vector<std::pair<std::string, std::string>> properties;
  };

  // Validates `options`, creates the consumer and subscribes (connecting happens in the
  // background; the group is joined during the first Poll() calls). On success sets *out and
  // returns OK; otherwise returns InvalidArgument naming the offending option or property.
  // `metrics` may be null; if not, it must outlive the source.
  static Status Create(Options options, Metrics* metrics, std::unique_ptr<KafkaSource>* out);

  ~KafkaSource() override;  // Close()
  KafkaSource(const KafkaSource&) = delete;
  KafkaSource& operator=(const KafkaSource&) = delete;

  const std::string& name() const override { return name_; }  // "kafka:<topic>,<topic>…"
  // Returns up to `max` records, waiting at most `timeout` for the first record or lane event.
  // Returns false (and no records) only after Close().
  bool Poll(size_t max, std::chrono::milliseconds timeout, std::vector<SourceRecord>* out) override;
  Status status() const override { return status_; }
  void TakeLaneEvents(std::vector<LaneEvent>* out) override;
  // Ignored for a lane not in use, a `next` not beyond the lane's mark, or a `next` beyond the
  // last record handed out on the lane. After a lane's kClosed event, do not mark the records
  // received on it before (they belong to a partition this instance no longer owns).
  void MarkDone(uint32_t lane, uint64_t next) override;
  // Commits marked offsets of the assigned partitions. With `sync`, waits for the result and
  // returns an IoError naming the failure (e.g. a rebalance in progress; the offsets are
  // retried by the next Commit()). Without, returns at once; a failure seen later (inside
  // Poll()) is counted and the offsets retried by the next Commit(). OK when nothing to commit.
  Status Commit(bool sync) override;
  // True once the group gave this instance an assignment (possibly empty); false again after
  // the assignment was lost (an error rebalance) until the next one.
  bool connected() const override { return joined_; }
  // See "Cursors" above. Sorted by topic, then partition.
  std::vector<SourceCursor> Cursors() const override;
  Status SetStartCursors(const std::vector<SourceCursor>& cursors) override;
  // Partitions without a start cursor, first assigned in this session, start at their
  // beginning (RD_KAFKA_OFFSET_BEGINNING), not at the group's committed offset.
  void StartFromBeginning() override { from_beginning_ = true; }
  // Commits marked offsets (sync), leaves the group (revoking every lane: kClosed events stay
  // available to TakeLaneEvents), destroys the consumer and the last batch. Idempotent.
  void Close();

  // The consumer's setting of librdkafka property `name` in effect ("" if unknown or closed).
  std::string ConfigValue(const std::string& name) const;

  // Broker/consumer errors seen so far, and the latest one ("" if none).
  uint64_t errors() const { return errors_; }
  const std::string& last_error() const { return last_error_; }

 private:
  using Clock = std::chrono::steady_clock;

  struct Lane {
    bool in_use = false;
    bool pending_free = false;  // revoked; its kClosed not yet taken
    std::string topic;
    int32_t partition = 0;
    LaneState state = LaneState::kActive;
    int64_t next = -1;                // offset after the last record handed out (-1: none yet)
    int64_t known_end = -1;           // offset of the last end-of-partition seen (-1: none)
    int64_t marked = -1;              // MarkDone
    int64_t committed = -1;           // last commit issued (or known) for `marked`
    Clock::time_point last_activity;  // its last record handed out, else its assignment
    prometheus::Gauge* lag = nullptr;
  };

  KafkaSource(Options options, Metrics* metrics);

  struct Callbacks;  // librdkafka's C callbacks (kafka_source.cc)

  void OnRebalance(int err, rd_kafka_topic_partition_list_s* parts);
  // Whether the lane's partition is known to have records past the last one handed out.
  bool KnownBacklog(const Lane& l);
  // The first offset `partition` has (its low watermark), queried from the broker.
  int64_t FirstOffset(const char* topic, int32_t partition);
  void Assign(rd_kafka_topic_partition_list_s* parts, bool cooperative);
  void Revoke(rd_kafka_topic_partition_list_s* parts, bool cooperative);
  void OnCommitResult(int err, rd_kafka_topic_partition_list_s* offsets);
  void NoteError(const std::string& what);
  // The lane of a message's partition; -1 if it is not assigned.
  int LaneOf(rd_kafka_topic_s* rkt, int32_t partition);
  void SetIdle(uint32_t lane, Lane& l);
  void CheckIdle(Clock::time_point now);
  void UpdateLag();
  void FreeBatch();
  Status CommitLanes(const std::vector<uint32_t>& lanes, bool sync);

  const Options opt_;
  Metrics* const metrics_;
  std::string name_;
  rd_kafka_s* rk_ = nullptr;
  bool closed_ = false;
  bool joined_ = false;
  Status status_;
  uint64_t errors_ = 0;
  std::string last_error_;

  std::vector<Lane> lanes_;
  std::map<std::pair<std::string, int32_t>, uint32_t> lane_of_;  // assigned partitions
  // Where a revoked partition stopped: the offset after the last record handed out, and the
  // lane id it had.
  struct Resume {
    int64_t next = -1;
    uint32_t lane = 0;
  };
  struct StartCursor {
    int64_t next = 0;
    uint32_t lane = 0;
  };
  // Per partition revoked in this session (with a known position).
  std::map<std::pair<std::string, int32_t>, Resume> resume_;
  // SetStartCursors(), for the subscribed topics.
  std::map<std::pair<std::string, int32_t>, StartCursor> start_;
  bool from_beginning_ = false;
  bool polled_ = false;  // Poll() was called
  std::vector<LaneEvent> events_;
  std::vector<rd_kafka_message_s*> batch_;        // messages behind the last Poll()'s views
  std::vector<SourceRecord>* polling_ = nullptr;  // Poll()'s output while it runs
  // One-entry cache for LaneOf (reset on every rebalance and Poll()).
  rd_kafka_topic_s* cache_rkt_ = nullptr;
  int32_t cache_partition_ = -1;
  int cache_lane_ = -1;
  Clock::time_point next_lag_update_;
};

}  // namespace abusewatch

#endif  // ABUSEWATCH_DAEMON_SOURCES_KAFKA_SOURCE_H_
