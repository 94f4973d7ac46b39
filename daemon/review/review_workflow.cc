// ReviewService: the reviewers' workflow actions. Each checks, in this order, the actor (400 /
// 403), the input (400), the case (404) and its state (409), then changes the case and appends
// its audit entry in one transaction.
#include <functional>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/review/review_internal.h"
#include "daemon/review/review_service.h"

namespace abusewatch {

using review_internal::BadInput;
using review_internal::CaseStateJson;
using review_internal::CheckActor;
using review_internal::CheckText;
using review_internal::Guarded;
using review_internal::JsonObject;
using review_internal::StorageError;

namespace {

constexpr size_t kMaxReasonBytes = 16 * 1024;
constexpr size_t kMaxCommentBytes = 64 * 1024;

ReviewResult Conflict(const std::string& msg) {
  return ReviewResult::Error(ReviewErrc::kConflict, msg);
}

// 409 for an action the case's status does not allow: "case ID is STATUS; WHY".
ReviewResult StateConflict(const ReviewService::CaseRow& c, std::string_view why) {
  return Conflict("case " + std::to_string(c.id) + " is " + c.status + "; " + std::string(why));
}

// The actor (400 / 403), then a required reason (400).
ReviewResult CheckActorAndReason(const Actor& actor, Role min, const std::string& reason) {
  if (ReviewResult r = CheckActor(actor, min); !r.ok()) return r;
  return CheckText("reason", reason, kMaxReasonBytes, true);
}

}  // namespace

ReviewResult ReviewService::ActOnCase(int64_t case_id,
                                      const std::function<ReviewResult(const CaseRow&)>& body,
                                      const std::function<ReviewResult()>& then) {
  return Guarded([&] {
    std::lock_guard<std::mutex> lock(mu_);
    if (ReviewResult r = CheckReady(); !r.ok()) return r;
    ReviewResult result = InTransaction([&] {
      CaseRow c;
      if (ReviewResult r = LoadCase(case_id, &c); !r.ok()) return r;
      return body(c);
    });
    if (!result.ok() || !then) return result;
    return then();
  });
}

ReviewResult ReviewService::SetStatus(const Actor& actor, std::string_view action, int64_t case_id,
                                      const CaseRow& before, const std::string& status,
                                      const std::string& decision, const std::string& decided_by,
                                      const std::string& decision_reason,
                                      const std::string& reason) {
  const int64_t now = Now();
  const int64_t closed_at = status == kStatusClosed ? now : 0;
  if (Status s = db_->Exec(
          "UPDATE cases SET status = ?, decision = ?, decided_by = ?, decision_reason = ?, "
          "closed_at = ?, updated_at = ? WHERE id = ?",
          {status, decision, decided_by, decision_reason, closed_at, now, case_id});
      !s.ok()) {
    return StorageError(s);
  }
  CaseRow after = before;
  after.status = status;
  after.decision = decision;
  return Audit(actor, action, case_id, CaseStateJson(before), CaseStateJson(after), reason);
}

ReviewResult ReviewService::StartReview(const Actor& actor, int64_t case_id) {
  if (ReviewResult r = CheckActor(actor, Role::kReviewer); !r.ok()) return r;
  return ActOnCase(case_id, [&](const CaseRow& c) {
    const bool needs_info = c.status == kStatusDecided && c.decision == kDecisionNeedsInformation;
    if (c.status != kStatusOpen && !needs_info) {
      return StateConflict(c, "a review starts from open or needs_information");
    }
    return SetStatus(actor, "review_started", case_id, c, std::string(kStatusInReview), "", "", "",
                     "");
  });
}

ReviewResult ReviewService::Decide(const Actor& actor, int64_t case_id,
                                   const DecideRequest& request, int64_t* suppression_id) {
  if (suppression_id != nullptr) *suppression_id = 0;
  if (ReviewResult r = CheckActor(actor, Role::kReviewer); !r.ok()) return r;
  if (request.decision != kDecisionConfirmed && request.decision != kDecisionFalsePositive &&
      request.decision != kDecisionNeedsInformation) {
    return BadInput("decision must be confirmed, false_positive or needs_information");
  }
  if (ReviewResult r = CheckText("reason", request.reason, kMaxReasonBytes, true); !r.ok()) {
    return r;
  }
  if (request.suppress_for_ms < 0) return BadInput("suppression period must not be negative");
  const bool suppress = request.suppress_for_ms > 0;
  if (!suppress && !request.suppress_rule.empty()) {
    return BadInput("a suppression rule needs a suppression period");
  }
  if (suppress && request.decision != kDecisionFalsePositive) {
    return BadInput("only a false_positive decision may suppress notifications");
  }
  const std::string scope =
      request.suppress_rule.empty() ? std::string("*") : request.suppress_rule;
  int64_t new_suppression = 0;
  return ActOnCase(
      case_id,
      [&](const CaseRow& c) {
        if (suppress && scope != "*") {
          std::vector<SqlRow> rows;
          if (Status s = db_->Exec("SELECT 1 FROM clauses WHERE case_id = ? AND rule_id = ?",
                                   {case_id, scope}, &rows);
              !s.ok()) {
            return StorageError(s);
          }
          if (rows.empty()) return BadInput("rule " + scope + " is not a clause of this case");
        }
        if (c.status != kStatusInReview) return StateConflict(c, "a decision needs in_review");
        const bool second = options_.four_eyes && request.decision == kDecisionConfirmed;
        const std::string status = std::string(second ? kStatusAwaitingSecond : kStatusDecided);
        if (ReviewResult r = SetStatus(actor, "decided", case_id, c, status, request.decision,
                                       actor.name, request.reason, request.reason);
            !r.ok()) {
          return r;
        }
        if (!suppress) return ReviewResult::Ok();
        const int64_t from = Now();
        const int64_t until = request.suppress_for_ms > std::numeric_limits<int64_t>::max() - from
                                  ? std::numeric_limits<int64_t>::max()
                                  : from + request.suppress_for_ms;
        std::vector<SqlRow> rows;
        if (Status s = db_->Exec("SELECT COALESCE(MAX(id), 0) + 1 FROM suppressions", {}, &rows);
            !s.ok()) {
          return StorageError(s);
        }
        new_suppression = SqlInt(rows[0][0]);
        if (Status s = db_->Exec(
                "INSERT INTO suppressions (id, case_id, account, rule_id, from_ms, until_ms, "
                "created_by, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                {new_suppression, case_id, c.account, scope, from, until, actor.name,
                 request.reason});
            !s.ok()) {
          return StorageError(s);
        }
        return Audit(actor, "suppression_created", case_id, "{}",
                     JsonObject()
                         .Int("suppression", new_suppression)
                         .Str("account", c.account)
                         .Str("rule", scope)
                         .Int("from_ms", from)
                         .Int("until_ms", until)
                         .Done(),
                     request.reason);
      },
      [&] {
        if (suppression_id != nullptr) *suppression_id = new_suppression;
        return suppress ? ReloadCacheLocked() : ReviewResult::Ok();
      });
}

ReviewResult ReviewService::Approve(const Actor& actor, int64_t case_id) {
  if (ReviewResult r = CheckActor(actor, Role::kReviewer); !r.ok()) return r;
  return ActOnCase(case_id, [&](const CaseRow& c) {
    if (c.status != kStatusAwaitingSecond) {
      return StateConflict(c, "only a decision awaiting second review can be approved");
    }
    if (c.decided_by == actor.name) {
      return ReviewResult::Error(
          ReviewErrc::kForbidden,
          "four-eyes: " + actor.name + " made this decision and cannot approve it");
    }
    return SetStatus(actor, "approved", case_id, c, std::string(kStatusDecided), c.decision,
                     c.decided_by, c.decision_reason, "");
  });
}

ReviewResult ReviewService::Reject(const Actor& actor, int64_t case_id, const std::string& reason) {
  if (ReviewResult r = CheckActorAndReason(actor, Role::kReviewer, reason); !r.ok()) return r;
  return ActOnCase(case_id, [&](const CaseRow& c) {
    if (c.status != kStatusAwaitingSecond) {
      return StateConflict(c, "only a decision awaiting second review can be rejected");
    }
    if (c.decided_by == actor.name) {
      return ReviewResult::Error(
          ReviewErrc::kForbidden,
          "four-eyes: " + actor.name + " made this decision and cannot review it");
    }
    return SetStatus(actor, "rejected", case_id, c, std::string(kStatusInReview), "", "", "",
                     reason);
  });
}

ReviewResult ReviewService::Close(const Actor& actor, int64_t case_id, const std::string& reason) {
  if (ReviewResult r = CheckActorAndReason(actor, Role::kReviewer, reason); !r.ok()) return r;
  return ActOnCase(case_id, [&](const CaseRow& c) {
    if (c.status != kStatusDecided) return StateConflict(c, "only a decided case can be closed");
    return SetStatus(actor, "closed", case_id, c, std::string(kStatusClosed), c.decision,
                     c.decided_by, c.decision_reason, reason);
  });
}

ReviewResult ReviewService::Reopen(const Actor& actor, int64_t case_id, const std::string& reason) {
  if (ReviewResult r = CheckActorAndReason(actor, Role::kAdmin, reason); !r.ok()) return r;
  return ActOnCase(case_id, [&](const CaseRow& c) {
    if (c.status != kStatusClosed) return StateConflict(c, "only a closed case can be reopened");
    return SetStatus(actor, "reopened", case_id, c, std::string(kStatusOpen), "", "", "", reason);
  });
}

ReviewResult ReviewService::Assign(const Actor& actor, int64_t case_id,
                                   const std::string& assignee) {
  if (ReviewResult r = CheckActor(actor, Role::kReviewer); !r.ok()) return r;
  if (assignee.size() > 200 || !review_internal::IsValidUtf8WithoutNul(assignee)) {
    return BadInput("assignee must be at most 200 bytes of UTF-8");
  }
  return ActOnCase(case_id, [&](const CaseRow& c) {
    if (c.status == kStatusClosed) {
      return Conflict("case " + std::to_string(case_id) + " is closed");
    }
    if (c.assignee == assignee) return ReviewResult::Ok();  // nothing changes
    if (Status s = db_->Exec("UPDATE cases SET assignee = ?, updated_at = ? WHERE id = ?",
                             {assignee, Now(), case_id});
        !s.ok()) {
      return StorageError(s);
    }
    CaseRow after = c;
    after.assignee = assignee;
    return Audit(actor, assignee.empty() ? "unassigned" : "assigned", case_id, CaseStateJson(c),
                 CaseStateJson(after), "");
  });
}

ReviewResult ReviewService::Comment(const Actor& actor, int64_t case_id, const std::string& body,
                                    int64_t* comment_id) {
  if (ReviewResult r = CheckActor(actor, Role::kReviewer); !r.ok()) return r;
  if (ReviewResult r = CheckText("comment", body, kMaxCommentBytes, true); !r.ok()) return r;
  return ActOnCase(case_id, [&](const CaseRow&) {
    std::vector<SqlRow> rows;
    if (Status s = db_->Exec("SELECT COALESCE(MAX(id), 0) + 1 FROM comments", {}, &rows); !s.ok()) {
      return StorageError(s);
    }
    const int64_t id = SqlInt(rows[0][0]);
    const int64_t now = Now();
    if (Status s = db_->Exec(
            "INSERT INTO comments (id, case_id, at_ms, author, body) VALUES (?, ?, ?, ?, ?)",
            {id, case_id, now, actor.name, body});
        !s.ok()) {
      return StorageError(s);
    }
    if (Status s = db_->Exec("UPDATE cases SET updated_at = ? WHERE id = ?", {now, case_id});
        !s.ok()) {
      return StorageError(s);
    }
    if (comment_id != nullptr) *comment_id = id;
    return Audit(actor, "commented", case_id, "{}",
                 JsonObject().Int("comment", id).Str("body", body).Done(), "");
  });
}

ReviewResult ReviewService::LiftSuppression(const Actor& actor, int64_t suppression_id,
                                            const std::string& reason) {
  if (ReviewResult r = CheckActorAndReason(actor, Role::kAdmin, reason); !r.ok()) return r;
  return Guarded([&] {
    std::lock_guard<std::mutex> lock(mu_);
    if (ReviewResult r = CheckReady(); !r.ok()) return r;
    ReviewResult result = InTransaction([&] {
      std::vector<SqlRow> rows;
      if (Status s =
              db_->Exec("SELECT case_id, account, rule_id, until_ms, lifted_at FROM suppressions "
                        "WHERE id = ?",
                        {suppression_id}, &rows);
          !s.ok()) {
        return StorageError(s);
      }
      if (rows.empty()) {
        return ReviewResult::Error(ReviewErrc::kNotFound,
                                   "no suppression " + std::to_string(suppression_id));
      }
      const int64_t case_id = SqlInt(rows[0][0]);
      const int64_t now = Now();
      if (SqlInt(rows[0][4]) != 0) return Conflict("the suppression was already lifted");
      if (SqlInt(rows[0][3]) <= now) return Conflict("the suppression has already expired");
      if (Status s = db_->Exec("UPDATE suppressions SET lifted_at = ?, lifted_by = ? WHERE id = ?",
                               {now, actor.name, suppression_id});
          !s.ok()) {
        return StorageError(s);
      }
      if (Status s = db_->Exec("UPDATE cases SET updated_at = ? WHERE id = ?", {now, case_id});
          !s.ok()) {
        return StorageError(s);
      }
      return Audit(actor, "suppression_lifted", case_id,
                   JsonObject()
                       .Int("suppression", suppression_id)
                       .Str("account", SqlText(rows[0][1]))
                       .Str("rule", SqlText(rows[0][2]))
                       .Int("until_ms", SqlInt(rows[0][3]))
                       .Done(),
                   JsonObject().Int("suppression", suppression_id).Int("lifted_at", now).Done(),
                   reason);
    });
    if (!result.ok()) return result;
    return ReloadCacheLocked();
  });
}

}  // namespace abusewatch
