#include "daemon/review/audit_cli.h"

#include <filesystem>
#include <memory>
#include <optional>
#include <system_error>

#include "daemon/review/audit.h"
#include "daemon/review/sql_db.h"

namespace abusewatch {

int RunAuditCli(const AuditCliOptions& options, std::ostream& out, std::ostream& err) {
  if (options.command != "verify") {
    err << "abusewatch: audit: unknown command " << options.command << " (expected verify)\n";
    return 2;
  }
  if (options.db.empty() == options.postgres.empty()) {
    err << "abusewatch: audit verify needs exactly one of --db FILE or --postgres CONNINFO\n";
    return 2;
  }
  std::optional<AuditHead> expected;
  if (!options.expect_head.empty()) {
    AuditHead head;
    if (!ParseAuditHead(options.expect_head, &head)) {
      err << "abusewatch: --expect-head must be SEQ:HASH (a number, ':', 64 hex digits)\n";
      return 2;
    }
    expected = head;
  }
  std::unique_ptr<SqlDb> db;
  Status s;
  if (!options.db.empty()) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(options.db, ec)) {
      err << "abusewatch: audit verify: no such database file: " << options.db << "\n";
      return 1;
    }
    s = OpenSqliteDb(options.db, &db);
  } else {
    s = OpenPostgresDb(options.postgres, &db);
  }
  if (!s.ok()) {
    err << "abusewatch: audit verify: " << s.message() << "\n";
    return 1;
  }
  AuditVerification v;
  if (s = VerifyAudit(*db, &v, expected); !s.ok()) {
    err << "abusewatch: audit verify: cannot read the audit log: " << s.message() << "\n";
    return 1;
  }
  if (!v.intact) {
    err << "abusewatch: audit log BROKEN at seq " << v.bad_seq << " ("
        << AuditProblemName(v.problem) << "): " << v.detail << "\n";
    err << "stored head: " << v.head.seq << ":" << v.head.hash << " (" << v.entries
        << " entries)\n";
    return 1;
  }
  out << "audit log intact: " << v.entries << " entries, head " << v.head.seq << ":" << v.head.hash
      << "\n";
  return 0;
}

}  // namespace abusewatch
