#include "daemon/sinks/kafka_writer.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <exception>
#include <limits>

#include "daemon/metrics/metrics.h"

namespace abusewatch {
namespace {

// Sets one property; InvalidArgument with librdkafka's message on refusal.
Status Set(rd_kafka_conf_t* conf, const std::string& name, const std::string& value,
           const std::string& label) {
  char err[512] = {0};
  if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
    return Status::InvalidArgument(label + ": kafka property " + name + ": " + err);
  }
  return Status::Ok();
}

struct ConfDeleter {
  void operator()(rd_kafka_conf_t* c) const {
    if (c != nullptr) rd_kafka_conf_destroy(c);
  }
};

}  // namespace

Status KafkaTopicWriter::Create(Options options, Metrics* metrics,
                                std::unique_ptr<KafkaTopicWriter>* out) {
  const std::string label = options.metrics_label;
  if (options.brokers.empty()) return Status::InvalidArgument(label + ": kafka brokers not set");
  if (options.topic.empty()) return Status::InvalidArgument(label + ": kafka topic not set");
  try {
    std::unique_ptr<rd_kafka_conf_t, ConfDeleter> conf(rd_kafka_conf_new());
    std::vector<std::pair<std::string, std::string>> settings = {
        {"bootstrap.servers", options.brokers},
        {"client.id", options.client_id},
        {"enable.idempotence", options.idempotence ? "true" : "false"},
        {"linger.ms", std::to_string(options.linger_ms)},
    };
    if (!options.compression.empty())
      settings.emplace_back("compression.type", options.compression);
    settings.insert(settings.end(), options.properties.begin(), options.properties.end());
    for (const auto& [name, value] : settings) {
      if (Status s = Set(conf.get(), name, value, label); !s.ok()) return s;
    }
    std::unique_ptr<KafkaTopicWriter> w(new KafkaTopicWriter(std::move(options), metrics));
    rd_kafka_conf_set_dr_msg_cb(conf.get(), &KafkaTopicWriter::OnDelivery);
    rd_kafka_conf_set_opaque(conf.get(), w.get());
    char err[512] = {0};
    // On success rd_kafka_new() takes ownership of conf.
    w->rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), err, sizeof err);
    if (w->rk_ == nullptr) {
      // Some combinations are only checked here (e.g. ssl.* files that cannot be read).
      return Status::InvalidArgument(label + ": cannot create kafka producer: " + err);
    }
    conf.release();
    w->rkt_ = rd_kafka_topic_new(w->rk_, w->options_.topic.c_str(), nullptr);
    if (w->rkt_ == nullptr) {
      return Status::InvalidArgument(label + ": kafka topic " + w->options_.topic + ": " +
                                     rd_kafka_err2str(rd_kafka_last_error()));
    }
    *out = std::move(w);
  } catch (const std::exception& e) {
    return Status::Internal(label + ": " + e.what());
  }
  return Status::Ok();
}

KafkaTopicWriter::KafkaTopicWriter(Options options, Metrics* metrics)
    : options_(std::move(options)), metrics_(metrics) {
  if (metrics_ != nullptr) {
    ok_counter_ = &metrics_->AlertsSent(options_.metrics_label, "ok");
    failed_counter_ = &metrics_->AlertsSent(options_.metrics_label, "failed");
    dropped_counter_ = &metrics_->AlertsSent(options_.metrics_label, "dropped");
  }
}

KafkaTopicWriter::~KafkaTopicWriter() { Close(); }

void KafkaTopicWriter::Count(prometheus::Counter* c, std::atomic<uint64_t>* n) {
  n->fetch_add(1, std::memory_order_relaxed);
  if (c != nullptr) c->Increment();
}

void KafkaTopicWriter::NoteError(std::string_view error) {
  try {
    std::lock_guard<std::mutex> lk(error_mu_);
    if (first_error_.empty()) first_error_ = std::string(error);
  } catch (...) {
  }
}

void KafkaTopicWriter::OnDelivery(rd_kafka_t* /*rk*/, const rd_kafka_message_t* msg, void* opaque) {
  auto* self = static_cast<KafkaTopicWriter*>(opaque);
  if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    self->Count(self->ok_counter_, &self->ok_);
  } else {
    self->Count(self->failed_counter_, &self->failed_);
    self->NoteError(std::string("delivery failed: ") + rd_kafka_err2str(msg->err));
  }
}

void KafkaTopicWriter::Write(std::string_view key, std::string_view value) {
  if (closed_.load(std::memory_order_acquire) || rk_ == nullptr) {
    Count(dropped_counter_, &dropped_);
    NoteError("write after close");
    return;
  }
  const auto deadline = std::chrono::steady_clock::now() + options_.queue_full_wait;
  while (true) {
    rd_kafka_resp_err_t err;
    if (key.empty()) {
      err = rd_kafka_producev(rk_, RD_KAFKA_V_RKT(rkt_), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                              RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                              RD_KAFKA_V_END);
    } else {
      err = rd_kafka_producev(rk_, RD_KAFKA_V_RKT(rkt_), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                              RD_KAFKA_V_KEY(key.data(), key.size()),
                              RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                              RD_KAFKA_V_END);
    }
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      written_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL && std::chrono::steady_clock::now() < deadline) {
      rd_kafka_poll(rk_, 10);  // serves delivery reports, which frees queue space
      continue;
    }
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      Count(dropped_counter_, &dropped_);
      NoteError("local producer queue full");
    } else {
      Count(failed_counter_, &failed_);
      NoteError(std::string("produce failed: ") + rd_kafka_err2str(err));
    }
    return;
  }
}

void KafkaTopicWriter::Tick() {
  if (!closed_.load(std::memory_order_acquire) && rk_ != nullptr) rd_kafka_poll(rk_, 0);
}

size_t KafkaTopicWriter::in_flight() const {
  if (closed_.load(std::memory_order_acquire) || rk_ == nullptr) return 0;
  int n = rd_kafka_outq_len(rk_);
  return n > 0 ? static_cast<size_t>(n) : 0;
}

Status KafkaTopicWriter::Flush(std::chrono::milliseconds timeout) {
  if (closed_.load(std::memory_order_acquire) || rk_ == nullptr) {
    return Status::IoError(options_.metrics_label + ": flush after close");
  }
  const int ms =
      static_cast<int>(std::clamp<int64_t>(timeout.count(), 0, std::numeric_limits<int>::max()));
  rd_kafka_resp_err_t err = rd_kafka_flush(rk_, ms);
  const uint64_t failed = failed_.load(), dropped = dropped_.load();
  const uint64_t new_failed = failed - failed_at_flush_.exchange(failed);
  const uint64_t new_dropped = dropped - dropped_at_flush_.exchange(dropped);
  std::string first;
  {
    std::lock_guard<std::mutex> lk(error_mu_);
    first.swap(first_error_);
  }
  const std::string where = options_.metrics_label + " (topic " + options_.topic + "): ";
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::IoError(where + std::to_string(in_flight()) + " records still in flight after " +
                           std::to_string(ms) + " ms");
  }
  if (new_failed > 0 || new_dropped > 0) {
    return Status::IoError(where + std::to_string(new_failed) + " failed, " +
                           std::to_string(new_dropped) +
                           " dropped since the last flush; first: " + first);
  }
  return Status::Ok();
}

Status KafkaTopicWriter::Close() {
  if (closed_.exchange(true) || rk_ == nullptr) return close_status_;
  const int ms = static_cast<int>(
      std::clamp<int64_t>(options_.close_timeout.count(), 0, std::numeric_limits<int>::max()));
  rd_kafka_resp_err_t err = rd_kafka_flush(rk_, ms);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    const int left = rd_kafka_outq_len(rk_);
    // What is left is purged; its delivery reports (ERR__PURGE_*) count it as failed.
    rd_kafka_purge(rk_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_flush(rk_, 1000);
    close_status_ = Status::IoError(options_.metrics_label + " (topic " + options_.topic +
                                    "): " + std::to_string(left) + " records undelivered at close");
  }
  const uint64_t failed = failed_.load() - failed_at_flush_.load();
  const uint64_t dropped = dropped_.load() - dropped_at_flush_.load();
  if (close_status_.ok() && (failed > 0 || dropped > 0)) {
    std::lock_guard<std::mutex> lk(error_mu_);
    close_status_ = Status::IoError(options_.metrics_label + " (topic " + options_.topic + "): " +
                                    std::to_string(failed) + " failed, " + std::to_string(dropped) +
                                    " dropped since the last flush; first: " + first_error_);
  }
  rd_kafka_topic_destroy(rkt_);
  rkt_ = nullptr;
  rd_kafka_destroy(rk_);
  rk_ = nullptr;
  return close_status_;
}

KafkaTopicWriter::Stats KafkaTopicWriter::stats() const {
  Stats s;
  s.written = written_.load();
  s.ok = ok_.load();
  s.failed = failed_.load();
  s.dropped = dropped_.load();
  return s;
}

// ---------------------------------------------------------------------------------------

Status KafkaAlertSink::Create(Options options, Metrics* metrics,
                              std::unique_ptr<KafkaAlertSink>* out) {
  std::unique_ptr<KafkaTopicWriter> writer;
  if (Status s = KafkaTopicWriter::Create(std::move(options.writer), metrics, &writer); !s.ok()) {
    return s;
  }
  try {
    out->reset(new KafkaAlertSink(options.notify_only, std::move(writer)));
  } catch (const std::exception& e) {
    return Status::Internal(std::string("kafka sink: ") + e.what());
  }
  return Status::Ok();
}

KafkaAlertSink::~KafkaAlertSink() { Stop(); }

void KafkaAlertSink::OnTransition(const Transition& t, const RuleSet& rules) {
  if (t.rule < 0 || static_cast<size_t>(t.rule) >= rules.rules().size()) return;
  if (notify_only_ && !rules.rules()[t.rule].spec.notify) return;
  try {
    std::string value;
    AppendTransitionJson(t, rules, &value);
    writer_->Write(t.key, value);
  } catch (...) {
    writer_->CountDropped();  // out of memory building the record: counted, not thrown
  }
}

bool KafkaAlertSink::Flush(std::chrono::milliseconds timeout) {
  Status s = writer_->Flush(timeout);
  bool drained = writer_->in_flight() == 0;
  try {
    std::lock_guard<std::mutex> lk(mu_);
    last_flush_status_ = std::move(s);
  } catch (...) {
  }
  return drained;
}

void KafkaAlertSink::Stop() { writer_->Close(); }

Status KafkaAlertSink::last_flush_status() const {
  std::lock_guard<std::mutex> lk(mu_);
  return last_flush_status_;
}

}  // namespace abusewatch
