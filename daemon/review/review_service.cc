// ReviewService: construction, opening, the engine's input (RecordTransition) and suppression.
// Workflow actions are in review_workflow.cc, queries in review_query.cc.
#include "daemon/review/review_service.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <exception>
#include <utility>

#include "daemon/review/audit.h"
#include "daemon/review/review_internal.h"
#include "daemon/review/schema.h"

namespace abusewatch {

using review_internal::BadInput;
using review_internal::CaseStateJson;
using review_internal::Guarded;
using review_internal::JsonObject;
using review_internal::SeverityRank;
using review_internal::StorageError;

namespace {

constexpr size_t kMaxIdBytes = 1024;
constexpr size_t kMaxTextBytes = 64 * 1024;
constexpr size_t kMaxEventIds = 1000;

ReviewResult ValidateTransition(const CaseTransition& t) {
  if (t.transition_id.size() != 32) return BadInput("transition_id must be 32 hex digits");
  for (char c : t.transition_id) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) {
      return BadInput("transition_id must be 32 hex digits");
    }
  }
  if (t.rule_id.empty() || t.rule_id.size() > kMaxIdBytes || t.rule_id == "*") {
    return BadInput("rule_id must be 1 to 1024 bytes and not *");
  }
  if (t.key.empty() || t.key.size() > kMaxIdBytes) return BadInput("key must be 1 to 1024 bytes");
  if (SeverityRank(t.severity) < 0) return BadInput("severity must be info, warning or critical");
  if (t.event_ids.size() > kMaxEventIds) return BadInput("too many event ids");
  for (const std::string* s :
       {&t.rule_id, &t.key, &t.value, &t.threshold, &t.basis, &t.explain_zh, &t.explain_en}) {
    if (s->size() > kMaxTextBytes || !review_internal::IsValidUtf8WithoutNul(*s)) {
      return BadInput("transition text fields must be valid UTF-8 of at most 64 KiB");
    }
  }
  for (const std::string& id : t.event_ids) {
    if (id.size() > kMaxIdBytes || !review_internal::IsValidUtf8WithoutNul(id)) {
      return BadInput("event ids must be valid UTF-8 of at most 1024 bytes");
    }
  }
  for (const auto& [id, raw] : t.payloads) {
    if (id.empty() || id.size() > kMaxIdBytes || !review_internal::IsValidUtf8WithoutNul(id)) {
      return BadInput("payload event ids must be valid UTF-8 of 1 to 1024 bytes");
    }
  }
  return ReviewResult::Ok();
}

}  // namespace

ReviewService::ReviewService(std::unique_ptr<SqlDb> db, ReviewOptions options)
    : db_(std::move(db)), options_(std::move(options)) {}

ReviewService::~ReviewService() = default;

int64_t ReviewService::Now() const {
  if (options_.now_ms) return options_.now_ms();
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

ReviewResult ReviewService::CheckReady() const {
  if (db_ == nullptr) return ReviewResult::Error(ReviewErrc::kStorage, "review store: no database");
  if (!open_) return ReviewResult::Error(ReviewErrc::kStorage, "review store: not opened");
  return ReviewResult::Ok();
}

ReviewResult ReviewService::Open() {
  return Guarded([&] {
    std::lock_guard<std::mutex> lock(mu_);
    if (db_ == nullptr)
      return ReviewResult::Error(ReviewErrc::kStorage, "review store: no database");
    if (Status s = MigrateSchema(*db_); !s.ok()) return StorageError(s);
    if (ReviewResult r = BackfillArticles(); !r.ok()) return r;
    open_ = true;
    return ReloadCacheLocked();
  });
}

ReviewResult ReviewService::RetagCase(int64_t case_id) {
  std::vector<SqlRow> rows;
  if (Status s = db_->Exec("SELECT basis FROM clauses WHERE case_id = ?", {case_id}, &rows);
      !s.ok()) {
    return StorageError(s);
  }
  if (Status s = db_->Exec("DELETE FROM case_articles WHERE case_id = ?", {case_id}); !s.ok()) {
    return StorageError(s);
  }
  for (const SqlRow& r : rows) {
    for (const std::string& a : review_internal::CitedArticles(SqlText(r[0]))) {
      if (Status s = db_->Exec(
              "INSERT INTO case_articles (article, case_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
              {a, case_id});
          !s.ok()) {
        return StorageError(s);
      }
    }
  }
  return ReviewResult::Ok();
}

ReviewResult ReviewService::BackfillArticles() {
  return InTransaction([&] {
    std::vector<SqlRow> rows;
    if (Status s = db_->Exec("SELECT name FROM backfills WHERE name = 'case_articles'", {}, &rows);
        !s.ok()) {
      return StorageError(s);
    }
    if (rows.empty()) return ReviewResult::Ok();
    rows.clear();
    if (Status s = db_->Exec("SELECT id FROM cases", {}, &rows); !s.ok()) return StorageError(s);
    for (const SqlRow& r : rows) {
      if (ReviewResult t = RetagCase(SqlInt(r[0])); !t.ok()) return t;
    }
    if (Status s = db_->Exec("DELETE FROM backfills WHERE name = 'case_articles'"); !s.ok()) {
      return StorageError(s);
    }
    return ReviewResult::Ok();
  });
}

ReviewResult ReviewService::InTransaction(const std::function<ReviewResult()>& body) {
  if (Status s = db_->Begin(); !s.ok()) return StorageError(s);
  ReviewResult r;
  try {
    r = body();
  } catch (...) {
    db_->Rollback();
    throw;
  }
  if (!r.ok()) {
    db_->Rollback();
    return r;
  }
  if (Status s = db_->Commit(); !s.ok()) {
    db_->Rollback();
    return StorageError(s);
  }
  return r;
}

ReviewResult ReviewService::Audit(const Actor& actor, std::string_view action, int64_t case_id,
                                  std::string before, std::string after,
                                  const std::string& reason) {
  AuditEntry e;
  e.at_ms = Now();
  e.actor = actor.name;
  e.role = std::string(RoleName(actor.role));
  e.action = std::string(action);
  e.case_id = case_id;
  e.before_json = std::move(before);
  e.after_json = std::move(after);
  e.reason = reason;
  if (Status s = AppendAudit(*db_, &e); !s.ok()) return StorageError(s);
  return ReviewResult::Ok();
}

ReviewResult ReviewService::SystemAudit(std::string_view action, int64_t case_id,
                                        std::string before, std::string after,
                                        const std::string& reason) {
  AuditEntry e;
  e.at_ms = Now();
  e.actor = "system";
  e.role = "system";
  e.action = std::string(action);
  e.case_id = case_id;
  e.before_json = std::move(before);
  e.after_json = std::move(after);
  e.reason = reason;
  if (Status s = AppendAudit(*db_, &e); !s.ok()) return StorageError(s);
  return ReviewResult::Ok();
}

ReviewResult ReviewService::LoadCase(int64_t case_id, CaseRow* row) {
  std::vector<SqlRow> rows;
  if (Status s = db_->Exec(
          std::string("SELECT ") + review_internal::kCaseColumns + " FROM cases WHERE id = ?",
          {case_id}, &rows);
      !s.ok()) {
    return StorageError(s);
  }
  if (rows.empty()) {
    return ReviewResult::Error(ReviewErrc::kNotFound, "no case " + std::to_string(case_id));
  }
  review_internal::CaseRowFrom(rows[0], row);
  return ReviewResult::Ok();
}

ReviewResult ReviewService::RecomputeFlags(int64_t case_id) {
  Status s = db_->Exec(
      "UPDATE cases SET "
      "knowledge = CASE WHEN EXISTS (SELECT 1 FROM clauses c WHERE c.case_id = cases.id AND "
      "c.firing = 1 AND c.basis LIKE '%第十一条%') THEN 1 ELSE 0 END, "
      "serious = CASE WHEN EXISTS (SELECT 1 FROM clauses c WHERE c.case_id = cases.id AND "
      "c.firing = 1 AND c.basis LIKE '%第十二条%') THEN 1 ELSE 0 END "
      "WHERE id = ?",
      {case_id});
  return s.ok() ? ReviewResult::Ok() : StorageError(s);
}

ReviewResult ReviewService::RecordTransition(const CaseTransition& t, RecordOutcome* outcome) {
  RecordOutcome local;
  RecordOutcome* out = outcome != nullptr ? outcome : &local;
  *out = RecordOutcome();
  if (ReviewResult r = ValidateTransition(t); !r.ok()) return r;
  return Guarded([&] {
    std::lock_guard<std::mutex> lock(mu_);
    if (ReviewResult r = CheckReady(); !r.ok()) return r;
    RecordOutcome result;
    ReviewResult r = InTransaction([&] { return RecordLocked(t, &result); });
    if (!r.ok()) return r;
    *out = result;
    return ReviewResult::Ok();
  });
}

ReviewResult ReviewService::RecordLocked(const CaseTransition& t, RecordOutcome* out) {
  std::vector<SqlRow> rows;
  if (Status s =
          db_->Exec("SELECT 1 FROM timeline WHERE transition_id = ?", {t.transition_id}, &rows);
      !s.ok()) {
    return StorageError(s);
  }
  if (!rows.empty()) {
    out->duplicate = true;
    return ReviewResult::Ok();
  }
  const int64_t now = Now();
  rows.clear();
  if (t.firing) {
    if (Status s = db_->Exec(
            "SELECT 1 FROM suppressions WHERE account = ? AND (rule_id = ? OR rule_id = '*') AND "
            "lifted_at = 0 AND from_ms <= ? AND until_ms > ?",
            {t.key, t.rule_id, t.at_ms, t.at_ms}, &rows);
        !s.ok()) {
      return StorageError(s);
    }
    out->suppressed = !rows.empty();
  }
  const bool opens = t.notify && t.firing && !out->suppressed;
  rows.clear();
  if (Status s = db_->Exec(
          std::string("SELECT ") + review_internal::kCaseColumns + " FROM cases WHERE account = ?",
          {t.key}, &rows);
      !s.ok()) {
    return StorageError(s);
  }
  CaseRow c;
  const std::string why = "rule " + t.rule_id + " fired at " + std::to_string(t.at_ms);
  if (rows.empty()) {
    if (!opens) return ReviewResult::Ok();  // not stored: no case and none to open
    rows.clear();
    if (Status s = db_->Exec("SELECT COALESCE(MAX(id), 0) + 1 FROM cases", {}, &rows); !s.ok()) {
      return StorageError(s);
    }
    c.id = SqlInt(rows[0][0]);
    c.account = t.key;
    c.status = std::string(kStatusOpen);
    if (Status s =
            db_->Exec("INSERT INTO cases (id, account, status, severity, opened_at, updated_at) "
                      "VALUES (?, ?, ?, ?, ?, ?)",
                      {c.id, t.key, c.status, int64_t{SeverityRank(t.severity)}, now, now});
        !s.ok()) {
      return StorageError(s);
    }
    if (ReviewResult r = SystemAudit("case_opened", c.id, "{}",
                                     JsonObject()
                                         .Str("status", c.status)
                                         .Str("account", t.key)
                                         .Str("rule", t.rule_id)
                                         .Str("transition", t.transition_id)
                                         .Done(),
                                     why);
        !r.ok()) {
      return r;
    }
    out->opened = true;
  } else {
    review_internal::CaseRowFrom(rows[0], &c);
    if (opens && c.status == kStatusClosed) {
      std::string before = CaseStateJson(c);
      if (Status s = db_->Exec(
              "UPDATE cases SET status = ?, decision = '', decision_reason = '', decided_by = '', "
              "closed_at = 0 WHERE id = ?",
              {std::string(kStatusOpen), c.id});
          !s.ok()) {
        return StorageError(s);
      }
      c.status = std::string(kStatusOpen);
      c.decision.clear();
      if (ReviewResult r = SystemAudit("case_reopened", c.id, std::move(before),
                                       JsonObject()
                                           .Str("status", c.status)
                                           .Str("decision", "")
                                           .Str("assignee", c.assignee)
                                           .Str("rule", t.rule_id)
                                           .Str("transition", t.transition_id)
                                           .Done(),
                                       why);
          !r.ok()) {
        return r;
      }
      out->reopened = true;
    }
  }
  out->case_id = c.id;
  out->stored = true;

  rows.clear();
  if (Status s = db_->Exec("SELECT COALESCE(MAX(id), 0) + 1 FROM timeline", {}, &rows); !s.ok()) {
    return StorageError(s);
  }
  if (Status s = db_->Exec(
          "INSERT INTO timeline (id, case_id, transition_id, rule_id, firing, at_ms, value, "
          "threshold, severity, basis, notify, suppressed, events, recorded_at) "
          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
          {SqlInt(rows[0][0]), c.id, t.transition_id, t.rule_id, int64_t{t.firing}, t.at_ms,
           t.value, t.threshold, t.severity, t.basis, int64_t{t.notify}, int64_t{out->suppressed},
           review_internal::JsonStringArray(t.event_ids), now});
      !s.ok()) {
    return StorageError(s);
  }
  // The articles the clause cites, for the clause filter's counts: rewritten when the rule's
  // basis is new for the case or changed.
  std::vector<SqlRow> before;
  if (Status s = db_->Exec("SELECT basis FROM clauses WHERE case_id = ? AND rule_id = ?",
                           {c.id, t.rule_id}, &before);
      !s.ok()) {
    return StorageError(s);
  }
  // The clause keeps the latest transition by event time (a late re-emission does not roll
  // it back).
  if (Status s = db_->Exec(
          "INSERT INTO clauses (case_id, rule_id, firing, value, threshold, severity, basis, "
          "explain_zh, explain_en, first_at, last_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
          "ON CONFLICT (case_id, rule_id) DO UPDATE SET firing = excluded.firing, "
          "value = excluded.value, threshold = excluded.threshold, severity = excluded.severity, "
          "basis = excluded.basis, explain_zh = excluded.explain_zh, "
          "explain_en = excluded.explain_en, last_at = excluded.last_at "
          "WHERE clauses.last_at <= excluded.last_at",
          {c.id, t.rule_id, int64_t{t.firing}, t.value, t.threshold, t.severity, t.basis,
           t.explain_zh, t.explain_en, t.at_ms, t.at_ms});
      !s.ok()) {
    return StorageError(s);
  }
  if (before.empty() || SqlText(before[0][0]) != t.basis) {
    if (ReviewResult r = RetagCase(c.id); !r.ok()) return r;
  }
  // Evidence: unique per (case, event id), bounded in size and number.
  rows.clear();
  if (Status s = db_->Exec("SELECT COUNT(*) FROM evidence WHERE case_id = ?", {c.id}, &rows);
      !s.ok()) {
    return StorageError(s);
  }
  int64_t stored = SqlInt(rows[0][0]);
  const size_t max_bytes = static_cast<size_t>(std::max<int64_t>(0, options_.max_evidence_bytes));
  for (const auto& [id, raw] : t.payloads) {
    if (stored >= options_.max_evidence_per_case) break;
    bool cut = false;
    std::string clean = review_internal::CleanUtf8(raw, max_bytes, &cut);
    int64_t changed = 0;
    if (Status s = db_->Exec(
            "INSERT INTO evidence (case_id, event_id, raw, truncated, original_bytes, added_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (case_id, event_id) DO NOTHING",
            {c.id, id, clean, int64_t{cut}, static_cast<int64_t>(raw.size()), now}, nullptr,
            &changed);
        !s.ok()) {
      return StorageError(s);
    }
    stored += changed;
  }
  if (Status s = db_->Exec(
          "UPDATE cases SET updated_at = ?, severity = CASE WHEN severity < ? THEN ? ELSE "
          "severity END WHERE id = ?",
          {now, int64_t{SeverityRank(t.severity)}, int64_t{SeverityRank(t.severity)}, c.id});
      !s.ok()) {
    return StorageError(s);
  }
  return RecomputeFlags(c.id);
}

ReviewResult ReviewService::ReloadCacheLocked() {
  std::vector<SqlRow> rows;
  if (Status s = db_->Exec("SELECT id, account, rule_id, from_ms, until_ms FROM suppressions "
                           "WHERE lifted_at = 0 AND until_ms > ?",
                           {Now()}, &rows);
      !s.ok()) {
    return StorageError(s);
  }
  std::unordered_map<std::string, std::vector<CachedSuppression>> fresh;
  for (const SqlRow& r : rows) {
    fresh[SqlText(r[1])].push_back({SqlInt(r[0]), SqlText(r[2]), SqlInt(r[3]), SqlInt(r[4])});
  }
  std::unique_lock<std::shared_mutex> lock(cache_mu_);
  suppressions_.swap(fresh);
  return ReviewResult::Ok();
}

ReviewResult ReviewService::Refresh() {
  return Guarded([&] {
    std::lock_guard<std::mutex> lock(mu_);
    if (ReviewResult r = CheckReady(); !r.ok()) return r;
    return ReloadCacheLocked();
  });
}

bool ReviewService::IsSuppressed(const std::string& rule_id, const std::string& key,
                                 int64_t at_ms) const {
  std::shared_lock<std::shared_mutex> lock(cache_mu_);
  auto it = suppressions_.find(key);
  if (it == suppressions_.end()) return false;
  for (const CachedSuppression& s : it->second) {
    if ((s.rule_id == "*" || s.rule_id == rule_id) && s.from_ms <= at_ms && at_ms < s.until_ms) {
      return true;
    }
  }
  return false;
}

ReviewResult ReviewService::FindCase(const std::string& key, int64_t* case_id) {
  return Guarded([&] {
    std::lock_guard<std::mutex> lock(mu_);
    if (ReviewResult r = CheckReady(); !r.ok()) return r;
    std::vector<SqlRow> rows;
    if (Status s = db_->Exec("SELECT id FROM cases WHERE account = ?", {key}, &rows); !s.ok()) {
      return StorageError(s);
    }
    if (rows.empty()) return ReviewResult::Error(ReviewErrc::kNotFound, "no case for " + key);
    *case_id = SqlInt(rows[0][0]);
    return ReviewResult::Ok();
  });
}

}  // namespace abusewatch
