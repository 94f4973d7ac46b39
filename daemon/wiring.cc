#include "daemon/wiring.h"

#include <chrono>
#include <utility>

#include "daemon/sinks/alertmanager_sink.h"
#include "daemon/sinks/file_sink.h"
#include "daemon/sinks/kafka_writer.h"
#include "daemon/sinks/webhook_sink.h"
#include "daemon/sources/file_source.h"
#include "daemon/sources/kafka_source.h"

namespace abusewatch {
namespace {

using std::chrono::milliseconds;

KafkaTopicWriter::Options WriterOptions(const KafkaConnection& k, const std::string& topic,
                                        std::string label) {
  KafkaTopicWriter::Options o;
  o.brokers = k.brokers;
  o.topic = topic;
  o.client_id = k.client_id;
  o.properties = k.properties;
  o.metrics_label = std::move(label);
  return o;
}

}  // namespace

Status MakeSource(const SourceConfig& c, size_t max_record_bytes, Metrics* metrics,
                  std::unique_ptr<Source>* out, Logger* log) {
  if (c.type == "file") {
    *out = std::make_unique<FileSource>(c.path, c.follow, max_record_bytes, log);
    return Status::Ok();
  }
  KafkaSource::Options o;
  o.brokers = c.kafka.brokers;
  o.group_id = c.group;
  o.topics = c.topics;
  o.idle_timeout = milliseconds(c.idle_timeout_ms);
  o.start = c.start;
  o.max_record_bytes = max_record_bytes;
  o.client_id = c.kafka.client_id;
  o.properties = c.kafka.properties;
  std::unique_ptr<KafkaSource> source;
  if (Status s = KafkaSource::Create(std::move(o), metrics, &source); !s.ok()) return s;
  *out = std::move(source);
  return Status::Ok();
}

Status MakeSink(const SinkConfig& c, Metrics* metrics, std::unique_ptr<AlertSink>* out) {
  if (c.type == "stdout" || c.type == "file") {
    FileAlertSink::Options o;
    o.path = c.type == "stdout" ? "-" : c.path;
    o.append = true;
    o.notify_only = c.notify_only;
    std::unique_ptr<FileAlertSink> sink;
    if (Status s = FileAlertSink::Create(std::move(o), metrics, &sink); !s.ok()) return s;
    *out = std::move(sink);
  } else if (c.type == "alertmanager") {
    AlertmanagerSink::Options o;
    o.url = c.url;
    o.resend_interval = milliseconds(c.resend_interval_ms);
    o.ends_ahead = milliseconds(c.ends_ahead_ms);
    o.queue_capacity = static_cast<size_t>(c.queue_capacity);
    o.request_timeout = milliseconds(c.timeout_ms);
    o.max_attempts = static_cast<int>(c.max_attempts);
    std::unique_ptr<AlertmanagerSink> sink;
    if (Status s = AlertmanagerSink::Create(std::move(o), metrics, &sink); !s.ok()) return s;
    *out = std::move(sink);
  } else if (c.type == "webhook") {
    WebhookSink::Options o;
    o.url = c.url;
    o.secret = c.secret;
    o.notify_only = c.notify_only;
    o.queue_capacity = static_cast<size_t>(c.queue_capacity);
    o.request_timeout = milliseconds(c.timeout_ms);
    o.max_attempts = static_cast<int>(c.max_attempts);
    std::unique_ptr<WebhookSink> sink;
    if (Status s = WebhookSink::Create(std::move(o), metrics, &sink); !s.ok()) return s;
    *out = std::move(sink);
  } else if (c.type == "kafka") {
    KafkaAlertSink::Options o;
    o.writer = WriterOptions(c.kafka, c.topic, "kafka");
    o.notify_only = c.notify_only;
    std::unique_ptr<KafkaAlertSink> sink;
    if (Status s = KafkaAlertSink::Create(std::move(o), metrics, &sink); !s.ok()) return s;
    *out = std::move(sink);
  } else {
    return Status::InvalidArgument("unknown sink type " + c.type);
  }
  return Status::Ok();
}

Status MakeDeadLetter(const DeadLetterConfig& c, Metrics* metrics,
                      std::unique_ptr<RecordWriter>* out) {
  if (c.type == "file") {
    std::unique_ptr<FileRecordWriter> w;
    if (Status s = FileRecordWriter::Create(c.path, /*append=*/true, "dead_letter_file", &w);
        !s.ok()) {
      return s;
    }
    *out = std::move(w);
    return Status::Ok();
  }
  std::unique_ptr<KafkaTopicWriter> w;
  Status s =
      KafkaTopicWriter::Create(WriterOptions(c.kafka, c.topic, "dead_letter_kafka"), metrics, &w);
  if (!s.ok()) return s;
  *out = std::move(w);
  return Status::Ok();
}

}  // namespace abusewatch
