#include "daemon/review/review_internal.h"

#include <algorithm>
#include <charconv>
#include <string>

#include "detectors/timeutil.h"
#include "detectors/transition.h"
#include "detectors/utf8.h"

namespace abusewatch {

int ReviewResult::HttpStatus() const {
  switch (code) {
    case ReviewErrc::kOk:
      return 200;
    case ReviewErrc::kBadInput:
      return 400;
    case ReviewErrc::kForbidden:
      return 403;
    case ReviewErrc::kNotFound:
      return 404;
    case ReviewErrc::kConflict:
      return 409;
    case ReviewErrc::kStorage:
      return 500;
  }
  return 500;
}

std::string_view ReviewErrcName(ReviewErrc c) {
  switch (c) {
    case ReviewErrc::kOk:
      return "ok";
    case ReviewErrc::kBadInput:
      return "bad_input";
    case ReviewErrc::kForbidden:
      return "forbidden";
    case ReviewErrc::kNotFound:
      return "not_found";
    case ReviewErrc::kConflict:
      return "conflict";
    case ReviewErrc::kStorage:
      return "storage";
  }
  return "unknown";
}

std::string_view RoleName(Role r) {
  switch (r) {
    case Role::kViewer:
      return "viewer";
    case Role::kReviewer:
      return "reviewer";
    case Role::kAdmin:
      return "admin";
  }
  return "unknown";
}

bool ParseRole(std::string_view s, Role* r) {
  for (Role x : {Role::kViewer, Role::kReviewer, Role::kAdmin}) {
    if (s == RoleName(x)) {
      *r = x;
      return true;
    }
  }
  return false;
}

namespace review_internal {

void CaseRowFrom(const SqlRow& r, ReviewService::CaseRow* c) {
  c->id = SqlInt(r[0]);
  c->account = SqlText(r[1]);
  c->status = SqlText(r[2]);
  c->decision = SqlText(r[3]);
  c->decision_reason = SqlText(r[4]);
  c->decided_by = SqlText(r[5]);
  c->assignee = SqlText(r[6]);
  c->severity = SqlInt(r[7]);
  c->knowledge = SqlInt(r[8]) != 0;
  c->serious = SqlInt(r[9]) != 0;
  c->opened_at = SqlInt(r[10]);
  c->updated_at = SqlInt(r[11]);
  c->closed_at = SqlInt(r[12]);
}

CaseSummary SummaryFrom(const ReviewService::CaseRow& c) {
  CaseSummary s;
  s.id = c.id;
  s.account = c.account;
  s.status = c.status;
  s.decision = c.decision;
  s.decision_reason = c.decision_reason;
  s.decided_by = c.decided_by;
  s.assignee = c.assignee;
  s.severity = std::string(SeverityByRank(c.severity));
  s.knowledge = c.knowledge;
  s.serious = c.serious;
  s.opened_at_ms = c.opened_at;
  s.updated_at_ms = c.updated_at;
  s.closed_at_ms = c.closed_at;
  return s;
}

int SeverityRank(std::string_view name) {
  if (name == "info") return 0;
  if (name == "warning") return 1;
  if (name == "critical") return 2;
  return -1;
}

std::string_view SeverityByRank(int64_t rank) {
  return rank >= 2 ? "critical" : rank == 1 ? "warning" : "info";
}

ReviewResult StorageError(const Status& s) {
  return ReviewResult::Error(ReviewErrc::kStorage, "review store: " + s.message());
}

ReviewResult BadInput(std::string msg) {
  return ReviewResult::Error(ReviewErrc::kBadInput, std::move(msg));
}

ReviewResult CheckActor(const Actor& actor, Role min) {
  if (actor.name.empty() || actor.name.size() > 200 || !IsValidUtf8WithoutNul(actor.name)) {
    return BadInput("actor name must be 1 to 200 bytes of UTF-8");
  }
  if (actor.role != Role::kViewer && actor.role != Role::kReviewer && actor.role != Role::kAdmin) {
    return BadInput("unknown role");
  }
  if (static_cast<int>(actor.role) < static_cast<int>(min)) {
    return ReviewResult::Error(ReviewErrc::kForbidden,
                               "this action needs the role " + std::string(RoleName(min)) + "; " +
                                   actor.name + " is " + std::string(RoleName(actor.role)));
  }
  return ReviewResult::Ok();
}

ReviewResult CheckText(std::string_view what, const std::string& text, size_t max_bytes,
                       bool required) {
  if (required && text.find_first_not_of(" \t\r\n") == std::string::npos) {
    return BadInput(std::string(what) + " is required");
  }
  if (text.size() > max_bytes) {
    return BadInput(std::string(what) + " is longer than " + std::to_string(max_bytes) + " bytes");
  }
  if (!IsValidUtf8WithoutNul(text)) return BadInput(std::string(what) + " is not valid UTF-8");
  return ReviewResult::Ok();
}

namespace {

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

}  // namespace

namespace {

constexpr std::string_view kDi = "\u7b2c";    // 第
constexpr std::string_view kTiao = "\u6761";  // 条
constexpr size_t kMaxArticleChars = 8;

}  // namespace

std::vector<std::string> CitedArticles(std::string_view basis) {
  std::vector<std::string> out;
  for (size_t end = basis.find(kTiao); end != std::string_view::npos;
       end = basis.find(kTiao, end + kTiao.size())) {
    const size_t di = basis.rfind(kDi, end);
    if (di == std::string_view::npos) continue;
    const std::string_view between = basis.substr(di + kDi.size(), end - di - kDi.size());
    size_t chars = 0;
    for (unsigned char ch : between) chars += (ch & 0xC0) != 0x80;
    if (chars == 0 || chars > kMaxArticleChars || between.find(kTiao) != std::string_view::npos) {
      continue;
    }
    std::string token(basis.substr(di, end + kTiao.size() - di));
    if (std::find(out.begin(), out.end(), token) == out.end()) out.push_back(std::move(token));
  }
  return out;
}

bool IsArticleToken(std::string_view s) {
  const std::vector<std::string> a = CitedArticles(s);
  return a.size() == 1 && a[0] == s;
}

bool IsValidUtf8WithoutNul(std::string_view s) {
  return s.find('\0') == std::string_view::npos && IsValidUtf8(s);
}

std::string CleanUtf8(std::string_view s, size_t max_bytes, bool* cut) {
  std::string out;
  out.reserve(std::min(s.size(), max_bytes));
  *cut = false;
  for (size_t i = 0; i < s.size();) {
    const size_t n = s[i] == '\0' ? 0 : Utf8SequenceLength(s, i);
    std::string_view piece = n == 0 ? std::string_view("\xEF\xBF\xBD") : s.substr(i, n);
    if (out.size() + piece.size() > max_bytes) {
      *cut = true;
      break;
    }
    out.append(piece);
    i += n == 0 ? 1 : n;
  }
  return out;
}

void JsonKey(std::string_view key, std::string* out) {
  const char last = out->empty() ? '{' : out->back();
  if (last != '{' && last != '[') out->push_back(',');
  AppendJsonString(key, out);
  out->push_back(':');
}

void JsonStr(std::string_view key, std::string_view value, std::string* out) {
  JsonKey(key, out);
  AppendJsonString(value, out);
}

void JsonInt(std::string_view key, int64_t value, std::string* out) {
  JsonKey(key, out);
  *out += std::to_string(value);
}

void JsonBool(std::string_view key, bool value, std::string* out) {
  JsonKey(key, out);
  *out += value ? "true" : "false";
}

void JsonTime(std::string_view key, int64_t ms, std::string* out) {
  JsonInt(std::string(key) + "_ms", ms, out);
  JsonStr(key, ms == 0 ? std::string() : FormatRfc3339Utc(ms), out);
}

JsonObject& JsonObject::Str(std::string_view key, std::string_view value) {
  JsonStr(key, value, &out_);
  return *this;
}

JsonObject& JsonObject::Int(std::string_view key, int64_t value) {
  JsonInt(key, value, &out_);
  return *this;
}

JsonObject& JsonObject::Bool(std::string_view key, bool value) {
  JsonBool(key, value, &out_);
  return *this;
}

std::string JsonStringArray(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out.push_back(',');
    AppendJsonString(items[i], &out);
  }
  out.push_back(']');
  return out;
}

bool ParseJsonStringArray(std::string_view json, std::vector<std::string>* out) {
  out->clear();
  size_t i = 0;
  auto skip = [&] {
    while (i < json.size() && (json[i] == ' ' || json[i] == '\n' || json[i] == '\t')) ++i;
  };
  auto hex4 = [&](uint32_t* v) {
    if (i + 4 > json.size()) return false;
    auto [p, ec] = std::from_chars(json.data() + i, json.data() + i + 4, *v, 16);
    if (ec != std::errc() || p != json.data() + i + 4) return false;
    i += 4;
    return true;
  };
  skip();
  if (i >= json.size() || json[i++] != '[') return false;
  skip();
  if (i < json.size() && json[i] == ']') return ++i, skip(), i == json.size();
  for (;;) {
    skip();
    if (i >= json.size() || json[i++] != '"') return false;
    std::string s;
    for (;;) {
      if (i >= json.size()) return false;
      char c = json[i++];
      if (c == '"') break;
      if (c != '\\') {
        s.push_back(c);
        continue;
      }
      if (i >= json.size()) return false;
      char e = json[i++];
      switch (e) {
        case '"':
        case '\\':
        case '/':
          s.push_back(e);
          break;
        case 'b':
          s.push_back('\b');
          break;
        case 'f':
          s.push_back('\f');
          break;
        case 'n':
          s.push_back('\n');
          break;
        case 'r':
          s.push_back('\r');
          break;
        case 't':
          s.push_back('\t');
          break;
        case 'u': {
          uint32_t cp = 0;
          if (!hex4(&cp)) return false;
          if (cp >= 0xD800 && cp < 0xDC00 && i + 1 < json.size() && json[i] == '\\' &&
              json[i + 1] == 'u') {
            i += 2;
            uint32_t lo = 0;
            if (!hex4(&lo) || lo < 0xDC00 || lo > 0xDFFF) return false;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
          AppendUtf8(cp, &s);
          break;
        }
        default:
          return false;
      }
    }
    out->push_back(std::move(s));
    skip();
    if (i >= json.size()) return false;
    char c = json[i++];
    if (c == ']') break;
    if (c != ',') return false;
  }
  skip();
  return i == json.size();
}

std::string CaseStateJson(const ReviewService::CaseRow& c) {
  return JsonObject()
      .Str("status", c.status)
      .Str("decision", c.decision)
      .Str("assignee", c.assignee)
      .Done();
}

}  // namespace review_internal
}  // namespace abusewatch
