// `abusewatch audit verify`: recomputes the review store's audit hash chain (audit.h).
//   abusewatch audit verify --db FILE | --postgres CONNINFO [--expect-head SEQ:HASH]
// Opens the database without migrating it and without creating a missing SQLite file.
#ifndef ABUSEWATCH_DAEMON_REVIEW_AUDIT_CLI_H_
#define ABUSEWATCH_DAEMON_REVIEW_AUDIT_CLI_H_

#include <ostream>
#include <string>

namespace abusewatch {

struct AuditCliOptions {
  std::string command;      // verify
  std::string db;           // SQLite file
  std::string postgres;     // libpq conninfo
  std::string expect_head;  // "SEQ:HASH", optional
};

// Exit status: 0 intact (prints "audit log intact: N entries, head SEQ:HASH" on `out`);
// 1 broken (prints the first bad entry and why on `err`) or the database cannot be read;
// 2 usage error (neither or both of --db / --postgres, malformed --expect-head).
int RunAuditCli(const AuditCliOptions& options, std::ostream& out, std::ostream& err);

}  // namespace abusewatch

#endif  // ABUSEWATCH_DAEMON_REVIEW_AUDIT_CLI_H_
