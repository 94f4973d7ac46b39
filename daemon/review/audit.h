// The audit log: an append-only table in which every state-changing action of the review store
// leaves one entry, chained by SHA-256 so that editing, deleting or reordering entries is
// detected.
//
// Entry hash (hex, lower case) = SHA-256 of
//   "abusewatch-audit-v1\n" followed by, for each of prev_hash, seq, at_ms, actor, role,
//   action, case_id, before, after, reason (in that order): the field's byte length in decimal,
//   ':', the bytes, '\n'. Integers are written in decimal. The first entry's prev_hash is 64 '0'.
// Length prefixes make the serialization unambiguous (no separator can be forged inside a
// field).
//
// Thread safety: none here; AppendAudit must run inside the caller's write transaction
// (SqlDb::Begin), which is what keeps the chain linear across processes.
#ifndef ABUSEWATCH_DAEMON_REVIEW_AUDIT_H_
#define ABUSEWATCH_DAEMON_REVIEW_AUDIT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/review/sql_db.h"
#include "detectors/status.h"

namespace abusewatch {

inline constexpr std::string_view kAuditGenesisHash =
    "0000000000000000000000000000000000000000000000000000000000000000";

struct AuditEntry {
  int64_t seq = 0;  // 1, 2, 3, ... without gaps
  int64_t at_ms = 0;
  std::string actor;  // "system" for the engine's own actions
  std::string role;   // viewer | reviewer | admin | system
  std::string action;
  int64_t case_id = 0;      // 0 when the action concerns no case
  std::string before_json;  // a JSON object ("{}" when nothing existed before)
  std::string after_json;
  std::string reason;
  std::string prev_hash;
  std::string hash;
};

// The hash of `e` (every field but e.hash), as defined above.
std::string AuditHash(const AuditEntry& e);

// Appends an entry with the next seq, prev_hash = the current head's hash, and its hash; fills
// e->seq, e->prev_hash and e->hash. Must be called inside a write transaction on `db`.
Status AppendAudit(SqlDb& db, AuditEntry* e);

// Entries of one case (case_id > 0) or all (case_id == 0), by seq.
Status ReadAudit(SqlDb& db, int64_t case_id, std::vector<AuditEntry>* out);

struct AuditHead {
  int64_t seq = 0;  // 0: empty log
  std::string hash = std::string(kAuditGenesisHash);
};

// Parses "SEQ:HASH" (64 hex digits).
bool ParseAuditHead(std::string_view text, AuditHead* head);

struct AuditVerification {
  enum class Problem {
    kNone,
    kEdited,        // an entry's content no longer matches its hash
    kGap,           // a seq is missing (an entry was deleted)
    kReordered,     // an entry sits at another seq than the one it was written with
    kBrokenLink,    // prev_hash does not match the previous entry's hash
    kTruncated,     // the log ends before the expected head
    kHeadMismatch,  // the entry at the expected head's seq has another hash
  };
  bool intact = false;
  Problem problem = Problem::kNone;
  int64_t bad_seq = 0;  // the first entry found wrong (kTruncated: the first missing seq)
  std::string detail;   // human-readable, names the seq and the problem
  AuditHead head;       // the last entry (seq, hash) as stored, to be recorded elsewhere
  int64_t entries = 0;
};

std::string_view AuditProblemName(AuditVerification::Problem p);

// Recomputes the whole chain. A non-OK Status means the log could not be read; a broken chain
// is an OK Status with result->intact == false. With `expected_head` (a head recorded earlier),
// a log that no longer reaches it (truncated tail) or reaches it with another hash is broken.
Status VerifyAudit(SqlDb& db, AuditVerification* result,
                   const std::optional<AuditHead>& expected_head = std::nullopt);

}  // namespace abusewatch

#endif  // ABUSEWATCH_DAEMON_REVIEW_AUDIT_H_
