#include "daemon/review/review_api.h"

#include <cstdint>
#include <exception>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "daemon/review/audit.h"
#include "daemon/review/case_export.h"
#include "daemon/review/review_api_json.h"
#include "daemon/review/review_page.h"
#include "detectors/timeutil.h"

namespace abusewatch {
namespace {

using review_api::BodyField;

constexpr std::string_view kApiPrefix = "/api/v1/";
constexpr char kJson[] = "application/json; charset=utf-8";

HttpResponse Json(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.content_type = kJson;
  r.body = std::move(body);
  r.headers.emplace_back("Cache-Control", "no-store");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  return r;
}

HttpResponse Error(int status, std::string_view code, std::string_view message) {
  HttpResponse r = Json(status, review_api::ErrorJson(code, message));
  if (status == 401) r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"abusewatch\"");
  return r;
}

HttpResponse FromResult(const ReviewResult& result) {
  int status = result.HttpStatus();
  switch (status) {
    case 400:
      return Error(400, "bad_request", result.message);
    case 403:
      return Error(403, "forbidden", result.message);
    case 404:
      return Error(404, "not_found", result.message);
    case 409:
      return Error(409, "conflict", result.message);
    default:
      return Error(500, "internal", result.message);
  }
}

enum class Op {
  kList,
  kDetail,
  kExportJson,
  kExportCsv,
  kExportHtml,
  kStartReview,
  kDecide,
  kApprove,
  kReject,
  kClose,
  kReopen,
  kAssign,
  kComment,
  kLift,
  kAudit,
  kVerify,
};

struct Match {
  Op op;
  bool post;  // POST; else GET (and HEAD)
  Role role;
  std::string_view id;  // the {id} segment, when the route has one
};

std::vector<std::string_view> Split(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (;;) {
    size_t slash = path.find('/', start);
    parts.push_back(path.substr(start, slash - start));
    if (slash == std::string_view::npos) return parts;
    start = slash + 1;
  }
}

// The route for a path under /api/v1/ (without the prefix); false when there is none.
bool Resolve(std::string_view rest, Match* m) {
  std::vector<std::string_view> s = Split(rest);
  if (s.size() == 1 && s[0] == "cases") {
    *m = {Op::kList, false, Role::kViewer, {}};
    return true;
  }
  if (s.size() == 1 && s[0] == "audit") {
    *m = {Op::kAudit, false, Role::kViewer, {}};
    return true;
  }
  if (s.size() == 2 && s[0] == "audit" && s[1] == "verify") {
    *m = {Op::kVerify, false, Role::kAdmin, {}};
    return true;
  }
  if (s.size() == 3 && s[0] == "suppressions" && s[2] == "lift") {
    *m = {Op::kLift, true, Role::kAdmin, s[1]};
    return true;
  }
  if (s[0] != "cases" || s.size() < 2 || s.size() > 3) return false;
  if (s.size() == 2) {
    *m = {Op::kDetail, false, Role::kViewer, s[1]};
    return true;
  }
  static constexpr struct {
    std::string_view name;
    Op op;
    bool post;
    Role role;
  } kActions[] = {
      {"export.json", Op::kExportJson, false, Role::kViewer},
      {"export.csv", Op::kExportCsv, false, Role::kViewer},
      {"export.html", Op::kExportHtml, false, Role::kViewer},
      {"start-review", Op::kStartReview, true, Role::kReviewer},
      {"decide", Op::kDecide, true, Role::kReviewer},
      {"approve", Op::kApprove, true, Role::kReviewer},
      {"reject", Op::kReject, true, Role::kReviewer},
      {"close", Op::kClose, true, Role::kReviewer},
      {"reopen", Op::kReopen, true, Role::kAdmin},
      {"assign", Op::kAssign, true, Role::kReviewer},
      {"comments", Op::kComment, true, Role::kReviewer},
  };
  for (const auto& a : kActions) {
    if (a.name == s[2]) {
      *m = {a.op, a.post, a.role, s[1]};
      return true;
    }
  }
  return false;
}

class Api {
 public:
  Api(ReviewService& service, const TokenStore& tokens, ReviewApiOptions options)
      : service_(service), tokens_(tokens), options_(std::move(options)) {}

  HttpResponse Handle(const HttpRequest& req) {
    try {
      return HandleUnguarded(req);
    } catch (const std::exception& e) {
      return Error(500, "internal", std::string("internal error: ") + e.what());
    } catch (...) {
      return Error(500, "internal", "internal error");
    }
  }

 private:
  HttpResponse HandleUnguarded(const HttpRequest& req) {
    auto header = req.headers.find("authorization");
    AuthResult auth = tokens_.Authenticate(header == req.headers.end() ? "" : header->second);
    switch (auth.code) {
      case AuthResult::Code::kOk:
        break;
      case AuthResult::Code::kMissing:
        return Error(401, "unauthorized",
                     "missing Authorization header; send \"Authorization: Bearer <token>\"");
      case AuthResult::Code::kMalformed:
        return Error(401, "unauthorized",
                     "malformed Authorization header; expected \"Bearer <token>\"");
      case AuthResult::Code::kUnknown:
        return Error(401, "unauthorized", "unknown token");
    }
    const Actor& actor = auth.principal;

    Match m;
    if (!Resolve(std::string_view(req.path).substr(kApiPrefix.size()), &m)) {
      return Error(404, "not_found", "no API route " + req.path);
    }
    bool method_ok = m.post ? req.method == "POST" : (req.method == "GET" || req.method == "HEAD");
    if (!method_ok) {
      HttpResponse r = Error(
          405, "method_not_allowed",
          req.method + " is not allowed on " + req.path + "; use " + (m.post ? "POST" : "GET"));
      r.headers.emplace_back("Allow", m.post ? "POST" : "GET, HEAD");
      return r;
    }
    if (!Allows(actor.role, m.role)) {
      return Error(403, "forbidden",
                   "role " + std::string(RoleName(actor.role)) + " may not do this; it needs " +
                       std::string(RoleName(m.role)));
    }
    if (req.body.size() > options_.max_body_bytes) {
      return Error(413, "payload_too_large",
                   "request body over " + std::to_string(options_.max_body_bytes) + " bytes");
    }
    int64_t id = 0;
    if (m.op != Op::kList && m.op != Op::kAudit && m.op != Op::kVerify) {
      if (!review_api::ParseId(m.id, &id)) {
        return Error(400, "bad_request",
                     "bad id \"" + std::string(m.id) + "\": expected a positive integer");
      }
    }
    switch (m.op) {
      case Op::kList:
        return List(req);
      case Op::kDetail:
      case Op::kExportJson:
      case Op::kExportCsv:
      case Op::kExportHtml:
        return Read(m.op, id);
      case Op::kAudit:
        return Audit(req);
      case Op::kVerify:
        return Verify();
      default:
        return Action(m.op, actor, id, req.body);
    }
  }

  HttpResponse List(const HttpRequest& req) {
    CaseFilter filter;
    std::string error = review_api::ParseCaseQuery(req.query, &filter);
    if (!error.empty()) return Error(400, "bad_request", error);
    CasePage page;
    ReviewResult r = service_.List(filter, &page);
    if (!r.ok()) return FromResult(r);
    std::vector<StatusCount> counts;
    r = service_.Counts(filter, &counts);
    if (!r.ok()) return FromResult(r);
    return Json(200, review_api::CasePageJson(page, counts));
  }

  HttpResponse Read(Op op, int64_t id) {
    CaseDetail detail;
    ReviewResult r = service_.Get(id, &detail);
    if (!r.ok()) return FromResult(r);
    std::string name = "case-" + std::to_string(id);
    if (op == Op::kDetail) return Json(200, CaseToJson(detail));
    if (op == Op::kExportJson) {
      HttpResponse out = Json(200, CaseToJson(detail));
      out.headers.emplace_back("Content-Disposition", "attachment; filename=\"" + name + ".json\"");
      return out;
    }
    if (op == Op::kExportCsv) {
      HttpResponse out = Json(200, CaseTimelineCsv(detail));
      out.content_type = "text/csv; charset=utf-8";
      out.headers.emplace_back("Content-Disposition", "attachment; filename=\"" + name + ".csv\"");
      return out;
    }
    HttpResponse out = Json(200, CaseToHtml(detail));
    out.content_type = "text/html; charset=utf-8";
    out.headers.emplace_back(
        "Content-Security-Policy",
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'");
    out.headers.emplace_back("X-Frame-Options", "DENY");
    out.headers.emplace_back("Content-Disposition", "inline; filename=\"" + name + ".html\"");
    return out;
  }

  HttpResponse Audit(const HttpRequest& req) {
    std::vector<std::pair<std::string, std::string>> params;
    if (!review_api::SplitQuery(req.query, &params)) {
      return Error(400, "bad_request", "malformed query string (bad % escape)");
    }
    std::string case_param;
    bool have_case = false;
    for (const auto& [name, value] : params) {
      if (name != "case")
        return Error(400, "bad_request", "unknown query parameter \"" + name + "\"");
      if (have_case)
        return Error(400, "bad_request", "query parameter \"case\" appears more than once");
      have_case = true;
      case_param = value;
    }
    if (!have_case) return Error(400, "bad_request", "missing query parameter \"case\"");
    int64_t id = 0;
    if (!review_api::ParseId(case_param, &id)) {
      return Error(400, "bad_request", "bad value for query parameter \"case\"");
    }
    CaseDetail detail;
    ReviewResult r = service_.Get(id, &detail);
    if (!r.ok()) return FromResult(r);
    return Json(200, review_api::AuditEntriesJson(detail.audit));
  }

  HttpResponse Verify() {
    if (!options_.open_audit_db) {
      return Error(501, "not_configured", "audit verification is not configured on this server");
    }
    std::unique_ptr<SqlDb> db;
    Status s = options_.open_audit_db(&db);
    AuditVerification v;
    if (s.ok() && db == nullptr) s = Status::Internal("open_audit_db returned no database");
    if (s.ok()) s = VerifyAudit(*db, &v);
    if (!s.ok()) return Error(500, "internal", "cannot verify the audit log: " + s.message());
    return Json(200, review_api::VerificationJson(v));
  }

  HttpResponse Action(Op op, const Actor& actor, int64_t id, const std::string& body) {
    std::vector<BodyField> f;
    switch (op) {
      case Op::kDecide:
        f = {{"decision", true},
             {"reason", true},
             {"suppress_for", false},
             {"suppress_rule", false}};
        break;
      case Op::kReject:
      case Op::kClose:
      case Op::kReopen:
      case Op::kLift:
        f = {{"reason", true}};
        break;
      case Op::kAssign:
        f = {{"assignee", true}};
        break;
      case Op::kComment:
        f = {{"body", true}};
        break;
      default:
        break;
    }
    std::string error = review_api::ParseBody(body, &f);
    if (!error.empty()) return Error(400, "bad_request", error);
    ReviewResult r;
    std::string extra;
    switch (op) {
      case Op::kStartReview:
        r = service_.StartReview(actor, id);
        break;
      case Op::kDecide: {
        DecideRequest d;
        d.decision = f[0].value;
        d.reason = f[1].value;
        if (f[2].present && !ParseDuration(f[2].value, &d.suppress_for_ms)) {
          return Error(400, "bad_request",
                       "field \"suppress_for\" must be a duration such as \"30d\" or \"12h\"");
        }
        d.suppress_rule = f[3].value;
        int64_t suppression_id = 0;
        r = service_.Decide(actor, id, d, &suppression_id);
        if (suppression_id > 0) extra = ",\"suppression_id\":" + std::to_string(suppression_id);
        break;
      }
      case Op::kApprove:
        r = service_.Approve(actor, id);
        break;
      case Op::kReject:
        r = service_.Reject(actor, id, f[0].value);
        break;
      case Op::kClose:
        r = service_.Close(actor, id, f[0].value);
        break;
      case Op::kReopen:
        r = service_.Reopen(actor, id, f[0].value);
        break;
      case Op::kAssign:
        r = service_.Assign(actor, id, f[0].value);
        break;
      case Op::kComment: {
        int64_t comment_id = 0;
        r = service_.Comment(actor, id, f[0].value, &comment_id);
        extra = ",\"comment_id\":" + std::to_string(comment_id);
        break;
      }
      case Op::kLift:
        r = service_.LiftSuppression(actor, id, f[0].value);
        if (!r.ok()) return FromResult(r);
        return Json(200, "{\"suppression_id\":" + std::to_string(id) + ",\"lifted\":true}");
      default:
        return Error(500, "internal", "unhandled route");
    }
    if (!r.ok()) return FromResult(r);
    CaseDetail detail;
    r = service_.Get(id, &detail);
    if (!r.ok()) return FromResult(r);
    std::string out = "{\"case\":";
    review_api::AppendSummaryJson(detail.summary, &out);
    out += extra;
    out += "}";
    return Json(200, std::move(out));
  }

  ReviewService& service_;
  const TokenStore& tokens_;
  const ReviewApiOptions options_;
};

HttpResponse PageResponse(std::string_view body, std::string content_type) {
  HttpResponse r;
  r.content_type = std::move(content_type);
  r.body = std::string(body);
  r.headers.emplace_back("Content-Security-Policy",
                         "default-src 'self'; base-uri 'none'; form-action 'none'; "
                         "frame-ancestors 'none'");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("X-Frame-Options", "DENY");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  r.headers.emplace_back("Cache-Control", "no-cache");
  return r;
}

}  // namespace

void RegisterReviewRoutes(HttpServer& server, ReviewService& service, const TokenStore& tokens,
                          const ReviewApiOptions& options) {
  auto api = std::make_shared<Api>(service, tokens, options);
  server.RoutePrefix("*", std::string(kApiPrefix),
                     [api](const HttpRequest& req) { return api->Handle(req); });
  if (!options.enable_page) return;
  server.Route("GET", "/review", [](const HttpRequest&) {
    HttpResponse r;
    r.status = 308;
    r.body = "see /review/\n";
    r.headers.emplace_back("Location", "/review/");
    return r;
  });
  server.Route("GET", "/review/", [](const HttpRequest&) {
    return PageResponse(ReviewPageHtml(), "text/html; charset=utf-8");
  });
  server.Route("GET", "/review/app.js", [](const HttpRequest&) {
    return PageResponse(ReviewPageJs(), "text/javascript; charset=utf-8");
  });
  server.Route("GET", "/review/app.css", [](const HttpRequest&) {
    return PageResponse(ReviewPageCss(), "text/css; charset=utf-8");
  });
  server.Route("GET", "/review/favicon.svg",
               [](const HttpRequest&) { return PageResponse(ReviewPageIcon(), "image/svg+xml"); });
}

}  // namespace abusewatch
