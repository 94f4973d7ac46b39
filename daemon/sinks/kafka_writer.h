// Kafka outputs (spec/daemon.md "Outputs"): KafkaTopicWriter, a RecordWriter over a librdkafka
// producer (C API), and KafkaAlertSink, the alerts topic (transition objects of rules.md keyed
// by group key).
//
// KafkaTopicWriter
//   Producer configuration, applied in this order (later settings win):
//     bootstrap.servers = brokers, client.id = client_id,
//     enable.idempotence = true (per-partition order and no duplicates across retries; implies
//       acks=all), linger.ms = 5, compression.type = compression (when not empty),
//     then Options::properties verbatim (TLS: security.protocol, ssl.*; SASL: sasl.*; or any
//       other producer property). An unknown property or a bad value fails Create().
//   Write(key, value) copies both into librdkafka's queue (rd_kafka_producev, RD_KAFKA_MSG_F_COPY)
//   and never blocks on the network. An empty key is sent as a null key (partitioner's choice).
//   When librdkafka's local queue is full (queue.buffering.max.messages / .kbytes), Write()
//   serves delivery reports (rd_kafka_poll) and retries for up to Options::queue_full_wait,
//   then gives up: the record counts as AlertsSent(<metrics_label>, "dropped"). Any other
//   immediate error (e.g. message too large) counts as "failed".
//   Delivery reports (invoked by librdkafka from Tick(), Write() on a full queue, Flush() and
//   Close(), on the calling thread) count AlertsSent(<metrics_label>, "ok" | "failed").
//   librdkafka retries transient broker errors itself until message.timeout.ms (default 300 s).
//   Flush(timeout) = rd_kafka_flush: an error Status when messages remain after `timeout`, or
//   when any record was dropped or failed since the previous Flush() (the first error's text).
//   Close() flushes for at most Options::close_timeout, then purges what is left (counted
//   "failed") and destroys the producer. Idempotent; the destructor Close()s.
//
// KafkaAlertSink: AlertSink "kafka". Each transition becomes one record: key = the group key
// (Transition::key), value = AppendTransitionJson. With notify_only only transitions of rules
// with `notify: true` are sent. Per-key order is the engine's output order: the same key always
// goes to the same partition (default partitioner) and idempotence keeps a partition's order
// across retries.
//
// Thread safety: Write(), Tick(), Flush(), stats() and in_flight() may be called from any thread
// concurrently (librdkafka's producer is thread-safe; the writer's counters are atomics and a
// mutex guards the first-error text). Close() must not race any other call nor the destructor.
// No exception escapes a public function or a librdkafka callback.
#ifndef ABUSEWATCH_DAEMON_SINKS_KAFKA_WRITER_H_
#define ABUSEWATCH_DAEMON_SINKS_KAFKA_WRITER_H_

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "daemon/sinks/sink.h"
#include "detectors/status.h"
#include "detectors/transition.h"

struct rd_kafka_s;
struct rd_kafka_topic_s;
struct rd_kafka_message_s;

namespace prometheus {
class Counter;
}

namespace abusewatch {

class Metrics;

class KafkaTopicWriter : public RecordWriter {
 public:
  struct Options {
    std::string brokers;  // bootstrap.servers, "host:port[,host:port...]"; required
    std::string topic;    // required; must exist (or be auto-created by the brokers)
    std::string client_id = "abusewatch";
    // Extra producer properties for rd_kafka_conf_set, applied last (TLS, SASL, tuning).
    std::vector<std::pair<std::string, std::string>> properties;
    bool idempotence = true;  // enable.idempotence
    int linger_ms = 5;        // linger.ms
    std::string compression;  // compression.type: "" (librdkafka's default), "lz4", "zstd", ...
    // The `sink` label of abusewatch_alerts_sent_total and name(): e.g. "kafka" for alerts,
    // "dead_letter_kafka" for dead letters.
    std::string metrics_label = "kafka";
    std::chrono::milliseconds queue_full_wait{1'000};  // see the file comment
    std::chrono::milliseconds close_timeout{10'000};
  };

  struct Stats {
    uint64_t written = 0;  // records accepted into librdkafka's queue
    uint64_t ok = 0;       // delivery reports without error
    uint64_t failed = 0;   // delivery reports with an error, immediate errors, purged at Close
    uint64_t dropped = 0;  // local queue full for queue_full_wait, or written after Close()
  };

  // Builds the configuration and the producer. InvalidArgument for missing brokers/topic or a
  // property librdkafka refuses (its message included); Internal when the producer cannot be
  // created. `metrics` may be null; else it must outlive the writer. Does not contact brokers.
  static Status Create(Options options, Metrics* metrics, std::unique_ptr<KafkaTopicWriter>* out);

  ~KafkaTopicWriter() override;  // Close()s
  KafkaTopicWriter(const KafkaTopicWriter&) = delete;
  KafkaTopicWriter& operator=(const KafkaTopicWriter&) = delete;

  const std::string& name() const override { return options_.metrics_label; }
  const std::string& topic() const { return options_.topic; }
  void Write(std::string_view key, std::string_view value) override;
  void Tick() override;  // rd_kafka_poll(0): serves delivery reports
  Status Flush(std::chrono::milliseconds timeout) override;
  Status Close() override;

  // Counts one record the caller could not even build (out of memory) as "dropped".
  void CountDropped() { Count(dropped_counter_, &dropped_); }

  // Records handed to librdkafka and not yet reported (rd_kafka_outq_len); 0 after Close().
  size_t in_flight() const;
  Stats stats() const;

 private:
  KafkaTopicWriter(Options options, Metrics* metrics);
  static void OnDelivery(rd_kafka_s* rk, const rd_kafka_message_s* msg, void* opaque);
  void NoteError(std::string_view error);
  void Count(prometheus::Counter* c, std::atomic<uint64_t>* n);

  const Options options_;
  Metrics* const metrics_;
  prometheus::Counter* ok_counter_ = nullptr;  // cached children; null without metrics
  prometheus::Counter* failed_counter_ = nullptr;
  prometheus::Counter* dropped_counter_ = nullptr;
  rd_kafka_s* rk_ = nullptr;
  rd_kafka_topic_s* rkt_ = nullptr;
  std::atomic<bool> closed_{false};
  std::atomic<uint64_t> written_{0}, ok_{0}, failed_{0}, dropped_{0};
  std::atomic<uint64_t> failed_at_flush_{0}, dropped_at_flush_{0};  // as of the last Flush()
  std::mutex error_mu_;
  std::string first_error_;  // since the last Flush(); guarded by error_mu_
  Status close_status_;
};

class KafkaAlertSink : public AlertSink {
 public:
  struct Options {
    KafkaTopicWriter::Options writer;  // metrics_label defaults to "kafka"
    bool notify_only = false;          // only transitions of rules with `notify: true`
  };

  // Creates the writer (see KafkaTopicWriter::Create). `metrics` as there.
  static Status Create(Options options, Metrics* metrics, std::unique_ptr<KafkaAlertSink>* out);

  ~KafkaAlertSink() override;  // Stop()s
  KafkaAlertSink(const KafkaAlertSink&) = delete;
  KafkaAlertSink& operator=(const KafkaAlertSink&) = delete;

  const std::string& name() const override { return name_; }  // "kafka"
  void OnTransition(const Transition& t, const RuleSet& rules) override;
  void Tick() override { writer_->Tick(); }
  // True when nothing is in flight any more (failures are counted, as AlertSink says); the
  // writer's Status of the same flush is in last_flush_status().
  bool Flush(std::chrono::milliseconds timeout) override;
  // Idempotent: Close()s the writer (bounded flush, then the rest is purged and counted).
  void Stop() override;

  Status last_flush_status() const;
  KafkaTopicWriter* writer() { return writer_.get(); }

 private:
  KafkaAlertSink(bool notify_only, std::unique_ptr<KafkaTopicWriter> writer)
      : notify_only_(notify_only), writer_(std::move(writer)) {}

  const bool notify_only_;
  const std::string name_ = "kafka";
  std::unique_ptr<KafkaTopicWriter> writer_;
  mutable std::mutex mu_;
  Status last_flush_status_;  // guarded by mu_
};

}  // namespace abusewatch

#endif  // ABUSEWATCH_DAEMON_SINKS_KAFKA_WRITER_H_
