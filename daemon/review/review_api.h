// The review HTTP API (JSON over the daemon's HttpServer) and the review page.
//
// Routes (all under the server's port; every /api/v1/ response has `Cache-Control: no-store`):
//   GET  /api/v1/cases                          viewer    queue: filters from the query string
//   GET  /api/v1/cases/{id}                     viewer    the case (CaseToJson)
//   GET  /api/v1/cases/{id}/export.json|.csv|.html  viewer
//   POST /api/v1/cases/{id}/start-review|decide|approve|reject|close|assign|comments  reviewer
//   POST /api/v1/cases/{id}/reopen              admin
//   POST /api/v1/suppressions/{id}/lift         admin
//   GET  /api/v1/audit?case=ID                  viewer    the case's audit entries
//   GET  /api/v1/audit/verify                   admin     recomputes the whole chain
//   GET  /review/ (+ app.js, app.css, favicon.svg)        the page (no token needed to load it;
//                                                         its API calls carry the token)
// Query of GET /api/v1/cases (every parameter optional, each at most once, unknown ones are
// 400): status, decision, rule, severity, clause, account (exact), account_prefix (a prefix of
// the account; not with account), assignee ("" = unassigned), time=updated|opened, from, to
// (RFC 3339 or ms since the epoch; from inclusive, to exclusive), both=1 (knowledge and
// serious), limit (1..500, default 50), cursor (next_cursor of the previous page). Answer:
// {"cases":[summary…],"next_cursor":"…","counts":{"open":n,…}} (counts ignore status/cursor).
//
// Request bodies are JSON objects (an empty body counts as {}); unknown, repeated or mistyped
// fields are 400 naming the field:
//   decide   {"decision":…, "reason":…, "suppress_for":"30d", "suppress_rule":"rule|*"}
//   reject | close | reopen | lift   {"reason":…}
//   assign   {"assignee":…}          ("" unassigns)
//   comments {"body":…}
//   start-review | approve           {}
// Actions answer 200 {"case":{summary}} (decide: also "suppression_id" when one was made;
// comments: "comment_id"; lift: {"suppression_id":n,"lifted":true}).
//
// Auth: `Authorization: Bearer <token>` (TokenStore); the actor is the token's name and role,
// never a body field. Errors are JSON {"error":code,"message":…}: 401 unauthorized (with
// `WWW-Authenticate: Bearer`; missing, malformed or unknown token), 403 forbidden (role too
// low, or the service refuses, e.g. approving one's own decision), 400 bad_request, 404
// not_found, 405 method_not_allowed (with `Allow`), 409 conflict, 413 payload_too_large
// (body over ReviewApiOptions::max_body_bytes), 500 internal, 501 not_configured.
// Authentication is checked first, then the route, the role, the body size and the body.
//
// Thread safety: the handlers only call thread-safe members of ReviewService and TokenStore;
// `service` and `tokens` must outlive the server's routes (i.e. the server). No exception
// leaves a handler (unexpected ones are answered 500 with a JSON body).
#ifndef ABUSEWATCH_DAEMON_REVIEW_REVIEW_API_H_
#define ABUSEWATCH_DAEMON_REVIEW_REVIEW_API_H_

#include <cstddef>
#include <functional>
#include <memory>

#include "daemon/http/http_server.h"
#include "daemon/review/auth.h"
#include "daemon/review/review_service.h"
#include "daemon/review/sql_db.h"
#include "detectors/status.h"

namespace abusewatch {

struct ReviewApiOptions {
  // Larger request bodies are answered 413 (the server's own limit applies first).
  size_t max_body_bytes = 64 * 1024;
  // Serve the review page at /review/.
  bool enable_page = true;
  // Opens a new connection to the review database for GET /api/v1/audit/verify (ReviewService
  // does not expose its own). Null: that route answers 501 not_configured.
  std::function<Status(std::unique_ptr<SqlDb>*)> open_audit_db;
};

// Registers the routes above on `server` (before server.Start()).
void RegisterReviewRoutes(HttpServer& server, ReviewService& service, const TokenStore& tokens,
                          const ReviewApiOptions& options);

}  // namespace abusewatch

#endif  // ABUSEWATCH_DAEMON_REVIEW_REVIEW_API_H_
