// Plain data of the review store: the result type, actors and roles, the transition the engine
// hands in, cases and their parts, filters. No behaviour beyond small conversions.
// Times are ms since the Unix epoch (UTC). Values and thresholds are text, never floating point.
#ifndef ABUSEWATCH_DAEMON_REVIEW_REVIEW_TYPES_H_
#define ABUSEWATCH_DAEMON_REVIEW_REVIEW_TYPES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "daemon/review/audit.h"

namespace abusewatch {

// What went wrong, in the classes a front end maps to HTTP statuses.
enum class ReviewErrc {
  kOk = 0,
  kBadInput,   // 400: missing reason, unknown value, malformed cursor, ...
  kForbidden,  // 403: role too low, approving one's own decision
  kNotFound,   // 404: no such case / suppression
  kConflict,   // 409: the action does not apply to the case's current state
  kStorage,    // 500: the database failed
};

struct ReviewResult {
  ReviewErrc code = ReviewErrc::kOk;
  std::string message;

  bool ok() const { return code == ReviewErrc::kOk; }
  int HttpStatus() const;  // 200, 400, 403, 404, 409, 500
  static ReviewResult Ok() { return {}; }
  static ReviewResult Error(ReviewErrc c, std::string msg) { return {c, std::move(msg)}; }
};

std::string_view ReviewErrcName(ReviewErrc c);

enum class Role { kViewer = 0, kReviewer = 1, kAdmin = 2 };
std::string_view RoleName(Role r);
bool ParseRole(std::string_view s, Role* r);

struct Actor {
  std::string name;  // non-empty, at most 200 bytes
  Role role = Role::kViewer;
};

// One engine transition (spec/rules.md "Output: transitions"), independent of the engine types.
struct CaseTransition {
  std::string transition_id;  // 32 hex digits, the idempotency key
  std::string rule_id;
  std::string key;  // the group key: account, subject, ...
  bool firing = false;
  int64_t at_ms = 0;      // event time
  std::string value;      // as in the JSON; empty when null
  std::string threshold;  // as in the JSON; empty when null
  std::string severity;   // info | warning | critical
  std::string basis;      // legal citation
  std::string explain_zh;
  std::string explain_en;
  bool notify = false;
  std::vector<std::string> event_ids;                         // oldest first
  std::vector<std::pair<std::string, std::string>> payloads;  // (event id, raw line), may be fewer
};

struct RecordOutcome {
  bool duplicate = false;   // this transition_id was recorded before: nothing changed
  bool stored = false;      // joined a case's timeline
  bool suppressed = false;  // a firing transition under an active suppression
  bool opened = false;      // opened a new case
  bool reopened = false;    // reopened a closed case
  int64_t case_id = 0;      // 0 when not stored
};

// Case statuses and decisions as stored and shown.
inline constexpr std::string_view kStatusOpen = "open";
inline constexpr std::string_view kStatusInReview = "in_review";
inline constexpr std::string_view kStatusAwaitingSecond = "awaiting_second_review";
inline constexpr std::string_view kStatusDecided = "decided";
inline constexpr std::string_view kStatusClosed = "closed";
inline constexpr std::string_view kDecisionConfirmed = "confirmed";
inline constexpr std::string_view kDecisionFalsePositive = "false_positive";
inline constexpr std::string_view kDecisionNeedsInformation = "needs_information";

struct CaseSummary {
  int64_t id = 0;
  std::string account;  // the group key
  std::string status;
  std::string decision;  // "" until decided
  std::string decision_reason;
  std::string decided_by;
  std::string assignee;    // "" when unassigned
  std::string severity;    // the highest severity of the case's clauses
  bool knowledge = false;  // a firing clause cites 第十一条 (presumed knowledge)
  bool serious = false;    // a firing clause cites 第十二条 (serious circumstances)
  int64_t opened_at_ms = 0;
  int64_t updated_at_ms = 0;
  int64_t closed_at_ms = 0;  // 0 unless closed
};

struct Clause {  // a rule's latest state for the case's key
  std::string rule_id;
  bool firing = false;
  std::string value, threshold, severity, basis, explain_zh, explain_en;
  int64_t first_at_ms = 0;
  int64_t last_at_ms = 0;
};

struct TimelineEntry {
  std::string transition_id, rule_id;
  bool firing = false;
  int64_t at_ms = 0;
  std::string value, threshold, severity, basis;
  bool notify = false;
  bool suppressed = false;
  std::vector<std::string> event_ids;
};

struct CaseEvidence {
  std::string event_id;
  std::string raw;  // the payload, cut to ReviewOptions::max_evidence_bytes when truncated
  bool truncated = false;
  int64_t original_bytes = 0;
};

struct Comment {
  int64_t id = 0;
  int64_t at_ms = 0;
  std::string author, body;
};

struct Suppression {
  int64_t id = 0;
  int64_t case_id = 0;
  std::string account;
  std::string rule_id;  // "*" = every rule for the key
  int64_t from_ms = 0;
  int64_t until_ms = 0;  // exclusive: a transition at exactly until_ms is no longer suppressed
  std::string created_by, reason;
  int64_t lifted_at_ms = 0;  // 0 unless lifted
  std::string lifted_by;
};

struct CaseDetail {
  CaseSummary summary;
  std::vector<Clause> clauses;            // by rule id
  std::vector<TimelineEntry> timeline;    // by event time, then arrival
  std::vector<CaseEvidence> evidence;     // by event id
  std::vector<Comment> comments;          // oldest first
  std::vector<AuditEntry> audit;          // this case's entries, by seq
  std::vector<Suppression> suppressions;  // oldest first
};

struct CaseFilter {
  std::optional<std::string> status;
  std::optional<std::string> decision;
  std::optional<std::string> rule_id;   // the case has a clause of this rule
  std::optional<std::string> severity;  // the case has a clause of this severity
  std::optional<std::string> clause;    // a clause's basis contains this text, e.g. 第十二条
  std::optional<std::string> account;   // exact, or a prefix with account_prefix
  bool account_prefix = false;
  std::optional<std::string> assignee;  // "" = unassigned
  enum class TimeField { kUpdated, kOpened } time_field = TimeField::kUpdated;
  std::optional<int64_t> from_ms;      // inclusive
  std::optional<int64_t> to_ms;        // exclusive
  bool knowledge_and_serious = false;  // both present
  std::string cursor;                  // from CasePage::next_cursor; "" = first page
  int limit = 0;                       // 0 = 50; at most 500
};

struct CasePage {
  std::vector<CaseSummary> cases;  // by updated_at desc, id desc
  std::string next_cursor;         // "" when this is the last page
};

struct StatusCount {
  std::string status;
  int64_t count = 0;
};

}  // namespace abusewatch

#endif  // ABUSEWATCH_DAEMON_REVIEW_REVIEW_TYPES_H_
