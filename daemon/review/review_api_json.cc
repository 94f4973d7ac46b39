#include "daemon/review/review_api_json.h"

#include <simdjson.h>

#include <charconv>
#include <cstdint>
#include <string>

#include "daemon/review/review_internal.h"
#include "detectors/timeutil.h"
#include "detectors/transition.h"

namespace abusewatch::review_api {
namespace {

constexpr int kMaxLimit = 500;

using review_internal::JsonBool;
using review_internal::JsonInt;
using review_internal::JsonKey;
using review_internal::JsonStr;
using review_internal::JsonTime;

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool PercentDecode(std::string_view in, std::string* out) {
  out->clear();
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '+') {
      out->push_back(' ');
    } else if (c == '%') {
      if (i + 2 >= in.size()) return false;
      int hi = HexValue(in[i + 1]), lo = HexValue(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out->push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out->push_back(c);
    }
  }
  return true;
}

bool ParseInt64(std::string_view text, int64_t* v) {
  if (text.empty()) return false;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), *v);
  return ec == std::errc() && p == text.data() + text.size();
}

// RFC 3339 or integer ms.
bool ParseTime(std::string_view text, int64_t* ms) {
  if (!text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos) {
    return ParseInt64(text, ms);
  }
  return ParseRfc3339(text, ms);
}

}  // namespace

std::string ParseBody(std::string_view body, std::vector<BodyField>* fields) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) body = "{}";
  simdjson::dom::parser parser;
  simdjson::padded_string padded(body);
  simdjson::dom::element doc;
  if (auto err = parser.parse(padded).get(doc); err) {
    return std::string("body is not valid JSON: ") + simdjson::error_message(err);
  }
  simdjson::dom::object object;
  if (doc.get(object)) return "body must be a JSON object";
  for (simdjson::dom::key_value_pair member : object) {
    BodyField* field = nullptr;
    for (BodyField& f : *fields) {
      if (f.name == member.key) field = &f;
    }
    std::string name(member.key);
    if (field == nullptr) return "unknown field \"" + name + "\"";
    if (field->present) return "field \"" + name + "\" appears more than once";
    std::string_view value;
    if (member.value.get(value)) return "field \"" + name + "\" must be a string";
    field->value.assign(value);
    field->present = true;
  }
  for (const BodyField& f : *fields) {
    if (f.required && !f.present) return "missing field \"" + std::string(f.name) + "\"";
  }
  return "";
}

bool SplitQuery(std::string_view query, std::vector<std::pair<std::string, std::string>>* out) {
  out->clear();
  size_t start = 0;
  while (start <= query.size()) {
    size_t amp = query.find('&', start);
    if (amp == std::string_view::npos) amp = query.size();
    std::string_view part = query.substr(start, amp - start);
    if (!part.empty()) {
      size_t eq = part.find('=');
      std::string name, value;
      if (!PercentDecode(part.substr(0, eq), &name)) return false;
      if (eq != std::string_view::npos && !PercentDecode(part.substr(eq + 1), &value)) {
        return false;
      }
      out->emplace_back(std::move(name), std::move(value));
    }
    start = amp + 1;
  }
  return true;
}

std::string ParseCaseQuery(std::string_view query, CaseFilter* filter) {
  std::vector<std::pair<std::string, std::string>> params;
  if (!SplitQuery(query, &params)) return "malformed query string (bad % escape)";
  std::vector<std::string> seen;
  for (const auto& [name, value] : params) {
    for (const std::string& s : seen) {
      if (s == name) return "query parameter \"" + name + "\" appears more than once";
    }
    seen.push_back(name);
    const std::string bad = "bad value for query parameter \"" + name + "\"";
    if (name == "status") {
      filter->status = value;
    } else if (name == "decision") {
      filter->decision = value;
    } else if (name == "rule") {
      filter->rule_id = value;
    } else if (name == "severity") {
      filter->severity = value;
    } else if (name == "clause") {
      filter->clause = value;
    } else if (name == "account" || name == "account_prefix") {
      if (filter->account) return "give either \"account\" or \"account_prefix\", not both";
      filter->account = value;
      filter->account_prefix = name == "account_prefix";
    } else if (name == "assignee") {
      filter->assignee = value;
    } else if (name == "time") {
      if (value == "updated") {
        filter->time_field = CaseFilter::TimeField::kUpdated;
      } else if (value == "opened") {
        filter->time_field = CaseFilter::TimeField::kOpened;
      } else {
        return bad + " (updated or opened)";
      }
    } else if (name == "from" || name == "to") {
      int64_t ms = 0;
      if (!ParseTime(value, &ms)) return bad + " (RFC 3339 or ms since the epoch)";
      (name == "from" ? filter->from_ms : filter->to_ms) = ms;
    } else if (name == "both") {
      if (value == "1" || value == "true") {
        filter->knowledge_and_serious = true;
      } else if (value == "0" || value == "false") {
        filter->knowledge_and_serious = false;
      } else {
        return bad + " (1 or 0)";
      }
    } else if (name == "limit") {
      int64_t limit = 0;
      if (!ParseInt64(value, &limit) || limit < 1 || limit > kMaxLimit) {
        return bad + " (1.." + std::to_string(kMaxLimit) + ")";
      }
      filter->limit = static_cast<int>(limit);
    } else if (name == "cursor") {
      filter->cursor = value;
    } else {
      return "unknown query parameter \"" + name + "\"";
    }
  }
  return "";
}

bool ParseId(std::string_view text, int64_t* id) {
  if (text.empty() || text.find_first_not_of("0123456789") != std::string_view::npos) {
    return false;
  }
  return ParseInt64(text, id) && *id > 0;
}

std::string ErrorJson(std::string_view code, std::string_view message) {
  std::string out = "{";
  JsonStr("error", code, &out);
  JsonStr("message", message, &out);
  out += "}";
  return out;
}

void AppendSummaryJson(const CaseSummary& s, std::string* out) {
  out->push_back('{');
  JsonInt("id", s.id, out);
  JsonStr("account", s.account, out);
  JsonStr("status", s.status, out);
  JsonStr("decision", s.decision, out);
  JsonStr("decision_reason", s.decision_reason, out);
  JsonStr("decided_by", s.decided_by, out);
  JsonStr("assignee", s.assignee, out);
  JsonStr("severity", s.severity, out);
  JsonBool("knowledge", s.knowledge, out);
  JsonBool("serious", s.serious, out);
  JsonTime("opened_at", s.opened_at_ms, out);
  JsonTime("updated_at", s.updated_at_ms, out);
  JsonTime("closed_at", s.closed_at_ms, out);
  out->push_back('}');
}

std::string CasePageJson(const CasePage& page, const std::vector<StatusCount>& counts) {
  std::string out = "{";
  JsonKey("cases", &out);
  out.push_back('[');
  for (size_t i = 0; i < page.cases.size(); ++i) {
    if (i > 0) out.push_back(',');
    AppendSummaryJson(page.cases[i], &out);
  }
  out.push_back(']');
  JsonStr("next_cursor", page.next_cursor, &out);
  JsonKey("counts", &out);
  out.push_back('{');
  for (const StatusCount& c : counts) JsonInt(c.status, c.count, &out);
  out += "}}";
  return out;
}

std::string AuditEntriesJson(const std::vector<AuditEntry>& entries) {
  std::string out = "{";
  JsonKey("entries", &out);
  out.push_back('[');
  for (size_t i = 0; i < entries.size(); ++i) {
    const AuditEntry& a = entries[i];
    if (i > 0) out.push_back(',');
    out.push_back('{');
    JsonInt("seq", a.seq, &out);
    JsonTime("at", a.at_ms, &out);
    JsonStr("actor", a.actor, &out);
    JsonStr("role", a.role, &out);
    JsonStr("action", a.action, &out);
    JsonInt("case_id", a.case_id, &out);
    JsonStr("before", a.before_json, &out);
    JsonStr("after", a.after_json, &out);
    JsonStr("reason", a.reason, &out);
    JsonStr("prev_hash", a.prev_hash, &out);
    JsonStr("hash", a.hash, &out);
    out.push_back('}');
  }
  out += "]}";
  return out;
}

std::string VerificationJson(const AuditVerification& v) {
  std::string out = "{";
  JsonBool("intact", v.intact, &out);
  JsonStr("problem", AuditProblemName(v.problem), &out);
  JsonInt("bad_seq", v.bad_seq, &out);
  JsonStr("detail", v.detail, &out);
  JsonInt("entries", v.entries, &out);
  JsonKey("head", &out);
  out.push_back('{');
  JsonInt("seq", v.head.seq, &out);
  JsonStr("hash", v.head.hash, &out);
  out += "}}";
  return out;
}

}  // namespace abusewatch::review_api
