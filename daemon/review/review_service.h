// ReviewService: the compliance review store. Every account the engine flags becomes a case with
// the clauses that fired, the timeline of transitions, the raw evidence, the reviewers' comments,
// their decisions and an audit trail (audit.h), on SQLite or PostgreSQL (sql_db.h).
//
// Workflow (the service enforces roles, so every front end agrees):
//   (engine: a notify rule fires)  -> open
//   open --StartReview--> in_review --Decide--> decided            --Close--> closed
//                                         \--> awaiting_second_review (four-eyes, confirmed)
//   awaiting_second_review --Approve (another reviewer)--> decided
//   awaiting_second_review --Reject (another reviewer, reason)--> in_review
//   decided(needs_information) --StartReview--> in_review
//   closed --Reopen (admin) or a new notify firing (system)--> open
// Assign / Comment: reviewer or admin, any status but closed (Comment: any status).
// LiftSuppression: admin. Reads need no role (every actor may read).
//
// Thread safety: every public member function may be called from any thread. One mutex
// serializes database access; IsSuppressed reads an in-memory cache under its own shared lock and
// never touches the database. No exception leaves a public function.
#ifndef ABUSEWATCH_DAEMON_REVIEW_REVIEW_SERVICE_H_
#define ABUSEWATCH_DAEMON_REVIEW_REVIEW_SERVICE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "daemon/review/review_types.h"
#include "daemon/review/sql_db.h"

namespace abusewatch {

struct ReviewOptions {
  // A confirmed decision needs the approval of a second, different reviewer.
  bool four_eyes = false;
  // Wall clock in ms since the epoch (audit times, opened/updated). Tests pass a fake clock.
  std::function<int64_t()> now_ms;  // null: the system clock
  // A raw evidence payload longer than this is stored cut (at a UTF-8 boundary), marked truncated.
  int64_t max_evidence_bytes = 64 * 1024;
  // At most this many evidence payloads per case; later ones are not stored.
  int64_t max_evidence_per_case = 1000;
};

struct DecideRequest {
  std::string decision;  // confirmed | false_positive | needs_information
  std::string reason;    // required
  // false_positive only: suppress notifications for this long (0: no suppression) ...
  int64_t suppress_for_ms = 0;
  // ... for this rule of the case, or "" / "*" for every rule of the key.
  std::string suppress_rule;
};

class ReviewService {
 public:
  // Takes ownership of `db` (not yet used by anyone else).
  ReviewService(std::unique_ptr<SqlDb> db, ReviewOptions options);
  ~ReviewService();
  ReviewService(const ReviewService&) = delete;
  ReviewService& operator=(const ReviewService&) = delete;

  // Runs the schema migrations (refusing a newer schema) and loads the suppression cache. Must
  // succeed before any other call; other calls return kStorage until it has.
  ReviewResult Open();

  // Input from the engine; idempotent by transition_id. See README.md for what is stored.
  ReviewResult RecordTransition(const CaseTransition& t, RecordOutcome* outcome = nullptr);

  // Whether a notification of `rule_id` for `key` at `at_ms` is suppressed. Cheap (memory only).
  bool IsSuppressed(const std::string& rule_id, const std::string& key, int64_t at_ms) const;
  // Reloads the suppression cache from the database (other instances sharing it).
  ReviewResult Refresh();

  // Workflow. `reason` is required where noted (non-empty after trimming).
  ReviewResult StartReview(const Actor& actor, int64_t case_id);
  ReviewResult Decide(const Actor& actor, int64_t case_id, const DecideRequest& request,
                      int64_t* suppression_id = nullptr);
  ReviewResult Approve(const Actor& actor, int64_t case_id);
  ReviewResult Reject(const Actor& actor, int64_t case_id, const std::string& reason);
  ReviewResult Close(const Actor& actor, int64_t case_id, const std::string& reason);
  ReviewResult Reopen(const Actor& actor, int64_t case_id, const std::string& reason);
  ReviewResult Assign(const Actor& actor, int64_t case_id, const std::string& assignee);
  ReviewResult Comment(const Actor& actor, int64_t case_id, const std::string& body,
                       int64_t* comment_id = nullptr);
  ReviewResult LiftSuppression(const Actor& actor, int64_t suppression_id,
                               const std::string& reason);

  // Queries.
  ReviewResult List(const CaseFilter& filter, CasePage* page);
  // Cases matching `filter` (its status, cursor and limit ignored) by status.
  ReviewResult Counts(const CaseFilter& filter, std::vector<StatusCount>* counts);
  ReviewResult Get(int64_t case_id, CaseDetail* detail);
  // The case id for a key, or kNotFound.
  ReviewResult FindCase(const std::string& key, int64_t* case_id);

  struct CaseRow;  // internal (review_internal.h)

 private:
  struct CachedSuppression {
    int64_t id;
    std::string rule_id;
    int64_t from_ms, until_ms;
  };

  int64_t Now() const;
  ReviewResult CheckReady() const;
  ReviewResult LoadCase(int64_t case_id, CaseRow* row);
  ReviewResult RecordLocked(const CaseTransition& t, RecordOutcome* outcome);
  ReviewResult Audit(const Actor& actor, std::string_view action, int64_t case_id,
                     std::string before, std::string after, const std::string& reason);
  ReviewResult SystemAudit(std::string_view action, int64_t case_id, std::string before,
                           std::string after, const std::string& reason);
  ReviewResult RecomputeFlags(int64_t case_id);
  ReviewResult SetStatus(const Actor& actor, std::string_view action, int64_t case_id,
                         const CaseRow& before, const std::string& status,
                         const std::string& decision, const std::string& decided_by,
                         const std::string& decision_reason, const std::string& reason);
  ReviewResult ReloadCacheLocked();
  // case_articles: the articles cited by the case's clauses, rewritten from its clauses.
  ReviewResult RetagCase(int64_t case_id);
  // Tags the cases stored before migration 2 (once: while the backfills row is there).
  ReviewResult BackfillArticles();
  // Runs `body` in one write transaction; commits when it returns OK, rolls back otherwise.
  ReviewResult InTransaction(const std::function<ReviewResult()>& body);
  // The frame of a workflow action on one case, once its actor and input are checked: under
  // mu_, once open, in one write transaction, loads the case (kNotFound when there is none) and
  // runs body(case); then, when that succeeded (committed), `then` if given, still under mu_. No
  // exception escapes (kStorage).
  ReviewResult ActOnCase(int64_t case_id, const std::function<ReviewResult(const CaseRow&)>& body,
                         const std::function<ReviewResult()>& then = nullptr);

  mutable std::mutex mu_;  // serializes db_
  std::unique_ptr<SqlDb> db_;
  const ReviewOptions options_;
  bool open_ = false;

  mutable std::shared_mutex cache_mu_;  // guards suppressions_ (taken after mu_, never before)
  std::unordered_map<std::string, std::vector<CachedSuppression>> suppressions_;  // by key
};

}  // namespace abusewatch

#endif  // ABUSEWATCH_DAEMON_REVIEW_REVIEW_SERVICE_H_
