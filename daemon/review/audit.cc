#include "daemon/review/audit.h"

#include <openssl/evp.h>

#include <cctype>
#include <charconv>
#include <string>
#include <utility>

namespace abusewatch {
namespace {

void AppendField(std::string_view value, std::string* out) {
  out->append(std::to_string(value.size()));
  out->push_back(':');
  out->append(value);
  out->push_back('\n');
}

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr) != 1) {
    return std::string();  // never equal to a stored 64-digit hash
  }
  static const char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    hex.push_back(kHex[digest[i] >> 4]);
    hex.push_back(kHex[digest[i] & 15]);
  }
  return hex;
}

constexpr const char* kSelect =
    "SELECT seq, at_ms, actor, role, action, case_id, before_json, after_json, reason, "
    "prev_hash, hash FROM audit_log ";

AuditEntry FromRow(const SqlRow& r) {
  AuditEntry e;
  e.seq = SqlInt(r[0]);
  e.at_ms = SqlInt(r[1]);
  e.actor = SqlText(r[2]);
  e.role = SqlText(r[3]);
  e.action = SqlText(r[4]);
  e.case_id = SqlInt(r[5]);
  e.before_json = SqlText(r[6]);
  e.after_json = SqlText(r[7]);
  e.reason = SqlText(r[8]);
  e.prev_hash = SqlText(r[9]);
  e.hash = SqlText(r[10]);
  return e;
}

// The seq (other than e.seq, in [1, max_seq]) with which e's content hashes to e.hash, or 0.
int64_t WrittenAsSeq(const AuditEntry& e, int64_t max_seq) {
  AuditEntry copy = e;
  for (int64_t s = 1; s <= max_seq; ++s) {
    if (s == e.seq) continue;
    copy.seq = s;
    if (AuditHash(copy) == e.hash) return s;
  }
  return 0;
}

}  // namespace

std::string AuditHash(const AuditEntry& e) {
  std::string buf = "abusewatch-audit-v1\n";
  buf.reserve(buf.size() + e.before_json.size() + e.after_json.size() + e.reason.size() + 256);
  AppendField(e.prev_hash, &buf);
  AppendField(std::to_string(e.seq), &buf);
  AppendField(std::to_string(e.at_ms), &buf);
  AppendField(e.actor, &buf);
  AppendField(e.role, &buf);
  AppendField(e.action, &buf);
  AppendField(std::to_string(e.case_id), &buf);
  AppendField(e.before_json, &buf);
  AppendField(e.after_json, &buf);
  AppendField(e.reason, &buf);
  return Sha256Hex(buf);
}

Status AppendAudit(SqlDb& db, AuditEntry* e) {
  std::vector<SqlRow> rows;
  if (Status s = db.Exec("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1", {}, &rows);
      !s.ok()) {
    return s;
  }
  e->seq = rows.empty() ? 1 : SqlInt(rows[0][0]) + 1;
  e->prev_hash = rows.empty() ? std::string(kAuditGenesisHash) : SqlText(rows[0][1]);
  e->hash = AuditHash(*e);
  if (e->hash.empty()) return Status::Internal("audit: SHA-256 failed");
  return db.Exec(
      "INSERT INTO audit_log (seq, at_ms, actor, role, action, case_id, before_json, after_json, "
      "reason, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      {e->seq, e->at_ms, e->actor, e->role, e->action, e->case_id, e->before_json, e->after_json,
       e->reason, e->prev_hash, e->hash});
}

Status ReadAudit(SqlDb& db, int64_t case_id, std::vector<AuditEntry>* out) {
  std::vector<SqlRow> rows;
  Status s = case_id > 0 ? db.Exec(std::string(kSelect) + "WHERE case_id = ? ORDER BY seq",
                                   {case_id}, &rows)
                         : db.Exec(std::string(kSelect) + "ORDER BY seq", {}, &rows);
  if (!s.ok()) return s;
  out->clear();
  out->reserve(rows.size());
  for (const SqlRow& r : rows) out->push_back(FromRow(r));
  return Status::Ok();
}

bool ParseAuditHead(std::string_view text, AuditHead* head) {
  size_t colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  int64_t seq = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + colon, seq);
  if (ec != std::errc() || p != text.data() + colon || seq < 0) return false;
  std::string_view hash = text.substr(colon + 1);
  if (hash.size() != 64) return false;
  std::string lower;
  for (char c : hash) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
    lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  head->seq = seq;
  head->hash = std::move(lower);
  return true;
}

std::string_view AuditProblemName(AuditVerification::Problem p) {
  using P = AuditVerification::Problem;
  switch (p) {
    case P::kNone:
      return "none";
    case P::kEdited:
      return "edited";
    case P::kGap:
      return "deleted entry (seq gap)";
    case P::kReordered:
      return "reordered";
    case P::kBrokenLink:
      return "broken link";
    case P::kTruncated:
      return "truncated";
    case P::kHeadMismatch:
      return "head mismatch";
  }
  return "unknown";
}

Status VerifyAudit(SqlDb& db, AuditVerification* result,
                   const std::optional<AuditHead>& expected_head) {
  using P = AuditVerification::Problem;
  *result = AuditVerification();
  std::vector<SqlRow> rows;
  if (Status s = db.Exec("SELECT COALESCE(MAX(seq), 0) FROM audit_log", {}, &rows); !s.ok()) {
    return s;
  }
  const int64_t max_seq = rows.empty() ? 0 : SqlInt(rows[0][0]);
  auto fail = [result](P problem, int64_t seq, std::string detail) {
    result->intact = false;
    result->problem = problem;
    result->bad_seq = seq;
    result->detail = "audit entry seq " + std::to_string(seq) + ": " +
                     std::string(AuditProblemName(problem)) + ": " + std::move(detail);
  };
  std::string prev_hash(kAuditGenesisHash);
  int64_t expected_seq = 1;
  bool broken = false;
  std::string hash_at_expected_head;
  // Pages of entries by seq, so a long log is not held in memory at once.
  for (int64_t after = 0;;) {
    rows.clear();
    if (Status s =
            db.Exec(std::string(kSelect) + "WHERE seq > ? ORDER BY seq LIMIT 5000", {after}, &rows);
        !s.ok()) {
      return s;
    }
    if (rows.empty()) break;
    for (const SqlRow& r : rows) {
      AuditEntry e = FromRow(r);
      after = e.seq;
      ++result->entries;
      result->head.seq = e.seq;
      result->head.hash = e.hash;
      if (expected_head && e.seq == expected_head->seq) hash_at_expected_head = e.hash;
      if (broken) continue;
      if (e.seq != expected_seq) {
        fail(P::kGap, expected_seq,
             "missing; the next stored entry is seq " + std::to_string(e.seq));
        broken = true;
        continue;
      }
      const bool self_consistent = AuditHash(e) == e.hash;
      if (!self_consistent) {
        if (int64_t s = WrittenAsSeq(e, max_seq + 1); s != 0) {
          fail(P::kReordered, e.seq, "this entry was written as seq " + std::to_string(s));
        } else if (e.prev_hash != prev_hash) {
          fail(P::kEdited, e.seq, "prev_hash was changed (its hash no longer matches)");
        } else {
          fail(P::kEdited, e.seq, "its content no longer matches its hash");
        }
        broken = true;
      } else if (e.prev_hash != prev_hash) {
        fail(P::kBrokenLink, e.seq,
             "prev_hash does not match the hash of seq " + std::to_string(e.seq - 1));
        broken = true;
      }
      prev_hash = e.hash;
      ++expected_seq;
    }
  }
  if (broken) return Status::Ok();
  if (expected_head && expected_head->seq > 0) {
    if (result->head.seq < expected_head->seq) {
      fail(P::kTruncated, result->head.seq + 1,
           "missing; the log ends at seq " + std::to_string(result->head.seq) +
               " but the expected head is seq " + std::to_string(expected_head->seq));
      return Status::Ok();
    }
    if (hash_at_expected_head != expected_head->hash) {
      fail(P::kHeadMismatch, expected_head->seq,
           "hash " + hash_at_expected_head + " differs from the expected head " +
               expected_head->hash);
      return Status::Ok();
    }
  }
  result->intact = true;
  result->detail = result->entries == 0 ? "empty log" : "intact";
  return Status::Ok();
}

}  // namespace abusewatch
