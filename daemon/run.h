// `abusewatch run`: the long-running daemon of spec/daemon.md — the same engine as replay, fed
// by a live source, with transitions to the configured sinks, rejects to the dead-letter file,
// and /metrics, /healthz, /readyz on one HTTP port.
//
// Signals: SIGTERM / SIGINT stop consuming, flush the sinks and exit 0; SIGHUP reloads the
// config after full validation and keeps the old one (counting the failure) when the new one
// is invalid. Until durable state lands, a reload that changes the rules restarts rule state
// from the current position (logged); one that changes only daemon sections keeps it.
#ifndef ABUSEWATCH_DAEMON_RUN_H_
#define ABUSEWATCH_DAEMON_RUN_H_

#include <ostream>
#include <string>

namespace abusewatch {

struct RunOptions {
  std::string config;
  bool log_json = false;  // --log-format json
};

// The composition root: builds everything, runs until stopped, shuts down in reverse order.
// Exit status: 0 after a clean stop (or a non-followed input read to its end), 2 for a config
// error at start, 1 for an I/O error (e.g. the HTTP port is taken).
int RunDaemon(const RunOptions& options, std::ostream& log);

}  // namespace abusewatch

#endif  // ABUSEWATCH_DAEMON_RUN_H_
