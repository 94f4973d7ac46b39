// `abusewatch run`: the long-running daemon of spec/daemon.md — the same engine as replay, fed
// by a live source (a JSON Lines file or stdin, or Kafka), with transitions to the configured
// sinks, rejects to the dead-letter file or topic, and /metrics, /healthz, /readyz on one HTTP
// port.
//
// Kafka: each assigned partition is an engine lane, so event-time progress is the minimum over
// the partitions (a partition silent for idle_timeout, at its end or not, stops holding it back).
// Offsets: every commit_interval the loop marks, per partition, the offset before which every
// record is fully processed (Engine::LaneDone: rejected, or processed with its transitions
// handed to the sinks) and commits it once every sink has delivered what it was handed
// (AlertSink::Flush(0) — the loop never waits on a sink; a sink that is behind only delays the
// commit). Records still in the reorder buffer are not committed: after a restart they are
// consumed again.
//
// Signals: SIGTERM / SIGINT stop consuming, flush the sinks (up to 10 s), commit synchronously
// and exit 0 (1 if a sink could not deliver). SIGHUP reloads the config after full validation
// and keeps the old one (counting the failure) when the new one is invalid; changes to sources,
// sinks, http or state take effect at the next restart (logged).
//
// Durable state (config `state:`, daemon/state/checkpointer.h): at start the engine and the
// source's positions are restored from the last checkpoint; every checkpoint_interval, once
// every sink has delivered what it was handed, the engine's changes and the positions are
// written atomically; and at a graceful stop. A kill -9 then a restart gives the same
// transitions as an uninterrupted run: those after the last checkpoint are emitted again, with
// the same transition ids. Kafka offsets are still committed, for lag monitoring only.
// A reload that changes the rules checkpoints, then restores under the new rules following
// state.on_rules_change (refuse: the reload is refused; keep_unchanged: the state of the
// unchanged rules is kept, the others start empty; rebuild: refused, needs a restart).
// Without durable state, a reload that changes the rules restarts rule state from here.
#ifndef ABUSEWATCH_DAEMON_RUN_H_
#define ABUSEWATCH_DAEMON_RUN_H_

#include <ostream>
#include <string>

namespace abusewatch {

struct RunOptions {
  std::string config;
  bool log_json = false;              // --log-format json
  bool state_rebuild = false;         // --state-rebuild
  bool state_keep_unchanged = false;  // --state-keep-unchanged
};

// The composition root: builds everything, runs until stopped, shuts down in reverse order.
// Exit status: 0 after a clean stop (or a non-followed input read to its end), 2 for a config
// error at start, 1 for an I/O error (e.g. the HTTP port is taken).
int RunDaemon(const RunOptions& options, std::ostream& log);

}  // namespace abusewatch

#endif  // ABUSEWATCH_DAEMON_RUN_H_
