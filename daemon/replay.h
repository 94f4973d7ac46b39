// `abusewatch replay`: runs the engine over a JSON Lines file (rules.md "Command line").
#ifndef ABUSEWATCH_DAEMON_REPLAY_H_
#define ABUSEWATCH_DAEMON_REPLAY_H_

#include <ostream>
#include <string>

namespace abusewatch {

struct ReplayOptions {
  std::string config;
  std::string input = "-";
  std::string output = "-";
  std::string rejects;  // empty: not written
  // Only check each line against the event contract (events.md): no rules, no lateness or
  // duplicate checks, no output. For validating a backfill file, and as the decode ceiling in
  // benchmarks.
  bool decode_only = false;
  // Threads decoding alongside the engine's (0: none; -1: auto, one per CPU beyond the
  // engine's, at most 3). The output does not depend on it.
  int decode_threads = -1;
};

// Exit status: 0 when the input was read to its end (rejected events included), 2 for a config
// or usage error, 1 for an I/O failure. The summary and errors go to `err`.
int RunReplay(const ReplayOptions& options, std::ostream& err);

}  // namespace abusewatch

#endif  // ABUSEWATCH_DAEMON_REPLAY_H_
