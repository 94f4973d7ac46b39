// The `abusewatch` command line: subcommands replay, check-config, gen (and later run).
#ifndef ABUSEWATCH_DAEMON_CLI_H_
#define ABUSEWATCH_DAEMON_CLI_H_

namespace abusewatch {

// Parses arguments and runs the chosen command; returns the process exit status.
// Never throws.
int RunCli(int argc, char** argv);

}  // namespace abusewatch

#endif  // ABUSEWATCH_DAEMON_CLI_H_
