// Daemon-side outputs. An AlertSink receives the engine's transitions (on the daemon's loop
// thread) and delivers them somewhere: Alertmanager, a Kafka topic, a webhook, a JSON Lines
// file. A RecordWriter appends keyed records to a file or a topic (dead letters, alert topics).
//
// Contract shared by every implementation:
//  - OnTransition() and Write() never block on the network: they serialize and enqueue.
//  - Delivery failures are retried where that makes sense, then counted
//    (abusewatch_alerts_sent_total{sink,result}), never thrown. No exception leaves a public
//    function, a callback or a background thread.
//  - Flush(timeout) waits until everything handed over so far is delivered (or given up on and
//    counted); true when nothing is left. The daemon calls it before committing input offsets
//    and at stop.
//  - Stop() is idempotent; what is still queued afterwards is discarded (Flush() first).
#ifndef ABUSEWATCH_DAEMON_SINKS_SINK_H_
#define ABUSEWATCH_DAEMON_SINKS_SINK_H_

#include <chrono>
#include <string>
#include <string_view>

#include "detectors/status.h"
#include "detectors/transition.h"

namespace abusewatch {

class AlertSink : public TransitionSink {
 public:
  ~AlertSink() override = default;
  // The `sink` label of the metrics and the name in logs, e.g. "alertmanager", "kafka".
  virtual const std::string& name() const = 0;
  // Periodic work, called on the loop thread about every 100 ms (re-sends, producer polling).
  virtual void Tick() {}
  virtual bool Flush(std::chrono::milliseconds timeout) = 0;
  virtual void Stop() = 0;
};

class RecordWriter {
 public:
  virtual ~RecordWriter() = default;
  virtual const std::string& name() const = 0;
  // Appends one record (`value` is one JSON object, no newline; files add the newline). `key`
  // is the Kafka message key; files ignore it.
  virtual void Write(std::string_view key, std::string_view value) = 0;
  virtual void Tick() {}
  // As AlertSink::Flush; the Status says what failed (the first error).
  virtual Status Flush(std::chrono::milliseconds timeout) = 0;
  virtual Status Close() = 0;
};

}  // namespace abusewatch

#endif  // ABUSEWATCH_DAEMON_SINKS_SINK_H_
