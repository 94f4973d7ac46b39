// Wiring: builds the daemon's parts from the validated config sections (config/daemon_config.h).
// Part of the composition root (run.cc); kept apart so that each builder can be tested alone.
// Every builder returns a Status naming the config section on failure and never throws.
#ifndef ABUSEWATCH_DAEMON_WIRING_H_
#define ABUSEWATCH_DAEMON_WIRING_H_

#include <memory>

#include "config/daemon_config.h"
#include "daemon/sinks/sink.h"
#include "daemon/sources/source.h"
#include "detectors/status.h"

namespace abusewatch {

class Metrics;

class Logger;

// `metrics` and `log` may be null (tests); otherwise they must outlive what is built.
Status MakeSource(const SourceConfig& config, size_t max_record_bytes, Metrics* metrics,
                  std::unique_ptr<Source>* out, Logger* log = nullptr);
Status MakeSink(const SinkConfig& config, Metrics* metrics, std::unique_ptr<AlertSink>* out);
Status MakeDeadLetter(const DeadLetterConfig& config, Metrics* metrics,
                      std::unique_ptr<RecordWriter>* out);

}  // namespace abusewatch

#endif  // ABUSEWATCH_DAEMON_WIRING_H_
