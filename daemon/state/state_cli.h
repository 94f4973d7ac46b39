// `abusewatch state info|inspect|export`: looks at a daemon's durable state for support.
//   info     the store (format, last checkpoint, size, input positions) and whether it was
//            written with the rules of the config file
//   inspect  one group key's state: per rule kind, value, firing rules, evidence ids
//   export   every key's state as JSON Lines
// The state directory comes from the config's `state.dir`. RocksDB allows one process per
// directory: stop the daemon first, or inspect a copy of the directory.
#ifndef ABUSEWATCH_DAEMON_STATE_STATE_CLI_H_
#define ABUSEWATCH_DAEMON_STATE_STATE_CLI_H_

#include <ostream>
#include <string>

namespace abusewatch {

struct StateCliOptions {
  std::string command;  // info | inspect | export
  std::string config;
  std::string key;     // inspect
  std::string output;  // export: file, or "-" for standard output
};

// Exit status: 0 done, 1 the key has no state (inspect) or an I/O error, 2 a config or state
// error (message on `err`).
int RunStateCli(const StateCliOptions& options, std::ostream& out, std::ostream& err);

}  // namespace abusewatch

#endif  // ABUSEWATCH_DAEMON_STATE_STATE_CLI_H_
