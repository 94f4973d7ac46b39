#include "daemon/review/case_export.h"

#include <string>
#include <vector>

#include "daemon/review/review_internal.h"
#include "detectors/timeutil.h"
#include "detectors/transition.h"

namespace abusewatch {
namespace {

std::string Time(int64_t ms) { return ms == 0 ? std::string() : FormatRfc3339Utc(ms); }

using review_internal::JsonBool;
using review_internal::JsonInt;
using review_internal::JsonKey;
using review_internal::JsonStr;
using review_internal::JsonTime;

template <typename T, typename F>
void Array(std::string_view key, const std::vector<T>& items, F&& each, std::string* out) {
  JsonKey(key, out);
  out->push_back('[');
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out->push_back(',');
    out->push_back('{');
    each(items[i], out);
    out->push_back('}');
  }
  out->push_back(']');
}

std::string Join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += sep;
    out += items[i];
  }
  return out;
}

}  // namespace

std::string CaseToJson(const CaseDetail& c) {
  std::string o = "{";
  const CaseSummary& s = c.summary;
  JsonInt("id", s.id, &o);
  JsonStr("account", s.account, &o);
  JsonStr("status", s.status, &o);
  JsonStr("decision", s.decision, &o);
  JsonStr("decision_reason", s.decision_reason, &o);
  JsonStr("decided_by", s.decided_by, &o);
  JsonStr("assignee", s.assignee, &o);
  JsonStr("severity", s.severity, &o);
  JsonBool("knowledge", s.knowledge, &o);
  JsonBool("serious", s.serious, &o);
  JsonTime("opened_at", s.opened_at_ms, &o);
  JsonTime("updated_at", s.updated_at_ms, &o);
  JsonTime("closed_at", s.closed_at_ms, &o);
  Array(
      "clauses", c.clauses,
      [](const Clause& k, std::string* out) {
        JsonStr("rule", k.rule_id, out);
        JsonStr("state", k.firing ? "firing" : "resolved", out);
        JsonStr("value", k.value, out);
        JsonStr("threshold", k.threshold, out);
        JsonStr("severity", k.severity, out);
        JsonStr("basis", k.basis, out);
        JsonStr("explain_zh", k.explain_zh, out);
        JsonStr("explain_en", k.explain_en, out);
        JsonTime("first_at", k.first_at_ms, out);
        JsonTime("last_at", k.last_at_ms, out);
      },
      &o);
  Array(
      "timeline", c.timeline,
      [](const TimelineEntry& t, std::string* out) {
        JsonStr("id", t.transition_id, out);
        JsonStr("rule", t.rule_id, out);
        JsonStr("state", t.firing ? "firing" : "resolved", out);
        JsonTime("at", t.at_ms, out);
        JsonStr("value", t.value, out);
        JsonStr("threshold", t.threshold, out);
        JsonStr("severity", t.severity, out);
        JsonStr("basis", t.basis, out);
        JsonBool("notify", t.notify, out);
        JsonBool("suppressed", t.suppressed, out);
        JsonKey("events", out);
        *out += review_internal::JsonStringArray(t.event_ids);
      },
      &o);
  Array(
      "evidence", c.evidence,
      [](const CaseEvidence& e, std::string* out) {
        JsonStr("event_id", e.event_id, out);
        JsonStr("raw", e.raw, out);
        JsonBool("truncated", e.truncated, out);
        JsonInt("original_bytes", e.original_bytes, out);
      },
      &o);
  Array(
      "comments", c.comments,
      [](const Comment& m, std::string* out) {
        JsonInt("id", m.id, out);
        JsonTime("at", m.at_ms, out);
        JsonStr("author", m.author, out);
        JsonStr("body", m.body, out);
      },
      &o);
  Array(
      "suppressions", c.suppressions,
      [](const Suppression& p, std::string* out) {
        JsonInt("id", p.id, out);
        JsonStr("rule", p.rule_id, out);
        JsonTime("from", p.from_ms, out);
        JsonTime("until", p.until_ms, out);
        JsonStr("created_by", p.created_by, out);
        JsonStr("reason", p.reason, out);
        JsonTime("lifted_at", p.lifted_at_ms, out);
        JsonStr("lifted_by", p.lifted_by, out);
      },
      &o);
  Array(
      "audit", c.audit,
      [](const AuditEntry& a, std::string* out) {
        JsonInt("seq", a.seq, out);
        JsonTime("at", a.at_ms, out);
        JsonStr("actor", a.actor, out);
        JsonStr("role", a.role, out);
        JsonStr("action", a.action, out);
        JsonStr("before", a.before_json, out);
        JsonStr("after", a.after_json, out);
        JsonStr("reason", a.reason, out);
        JsonStr("hash", a.hash, out);
      },
      &o);
  o.push_back('}');
  return o;
}

std::string CsvCell(std::string_view value) {
  std::string v;
  if (!value.empty() && (value[0] == '=' || value[0] == '+' || value[0] == '-' || value[0] == '@' ||
                         value[0] == '\t' || value[0] == '\r')) {
    v.push_back('\'');
  }
  v.append(value);
  if (v.find_first_of(",\"\r\n") == std::string::npos) return v;
  std::string q = "\"";
  for (char c : v) {
    if (c == '"') q.push_back('"');
    q.push_back(c);
  }
  q.push_back('"');
  return q;
}

std::string CaseTimelineCsv(const CaseDetail& c) {
  std::string out =
      "case_id,account,at,rule,state,value,threshold,severity,basis,notify,suppressed,events,"
      "transition_id\r\n";
  for (const TimelineEntry& t : c.timeline) {
    std::vector<std::string> cells = {std::to_string(c.summary.id),
                                      c.summary.account,
                                      Time(t.at_ms),
                                      t.rule_id,
                                      t.firing ? "firing" : "resolved",
                                      t.value,
                                      t.threshold,
                                      t.severity,
                                      t.basis,
                                      t.notify ? "true" : "false",
                                      t.suppressed ? "true" : "false",
                                      Join(t.event_ids, " "),
                                      t.transition_id};
    for (size_t i = 0; i < cells.size(); ++i) {
      if (i > 0) out.push_back(',');
      out += CsvCell(cells[i]);
    }
    out += "\r\n";
  }
  return out;
}

std::string HtmlEscape(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

namespace {

std::string Row(const std::vector<std::string>& cells, bool header = false) {
  std::string out = "<tr>";
  for (const std::string& c : cells) {
    out += header ? "<th>" : "<td>";
    out += HtmlEscape(c);
    out += header ? "</th>" : "</td>";
  }
  return out + "</tr>\n";
}

std::string Section(std::string_view zh, std::string_view en) {
  return "<h2>" + HtmlEscape(zh) + " / " + HtmlEscape(en) + "</h2>\n";
}

}  // namespace

std::string CaseToHtml(const CaseDetail& c) {
  const CaseSummary& s = c.summary;
  const std::string title = "案件 Case " + std::to_string(s.id) + " — " + s.account;
  std::string h =
      "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\n"
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src "
      "'unsafe-inline'\">\n<title>" +
      HtmlEscape(title) +
      "</title>\n<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;"
      "width:100%;margin-bottom:1em}th,td{border:1px solid #999;padding:4px;text-align:left;"
      "vertical-align:top;font-size:12px}pre{white-space:pre-wrap;word-break:break-all}"
      "@media print{h2{page-break-after:avoid}}</style></head><body>\n<h1>" +
      HtmlEscape(title) + "</h1>\n";
  h += Section("案件概要", "Summary");
  h += "<table>\n";
  auto kv = [&h](std::string_view zh, std::string_view en, const std::string& v) {
    h += Row({std::string(zh) + " / " + std::string(en), v});
  };
  kv("账户", "Account", s.account);
  kv("状态", "Status", s.status);
  kv("结论", "Decision", s.decision);
  kv("结论理由", "Decision reason", s.decision_reason);
  kv("决定人", "Decided by", s.decided_by);
  kv("承办人", "Assignee", s.assignee);
  kv("严重程度", "Severity", s.severity);
  kv("明知（第十一条）", "Knowledge (art. 11)", s.knowledge ? "是 yes" : "否 no");
  kv("情节严重（第十二条）", "Serious circumstances (art. 12)", s.serious ? "是 yes" : "否 no");
  kv("立案时间", "Opened", Time(s.opened_at_ms));
  kv("更新时间", "Updated", Time(s.updated_at_ms));
  kv("结案时间", "Closed", Time(s.closed_at_ms));
  h += "</table>\n";

  h += Section("触发条款", "Clauses");
  h += "<table>\n" + Row({"规则 Rule", "状态 State", "数值 Value", "标准 Threshold",
                          "严重程度 Severity", "依据 Basis", "说明", "Explanation", "最近 Last"},
                         true);
  for (const Clause& k : c.clauses) {
    h += Row({k.rule_id, k.firing ? "firing" : "resolved", k.value, k.threshold, k.severity,
              k.basis, k.explain_zh, k.explain_en, Time(k.last_at_ms)});
  }
  h += "</table>\n";

  h += Section("时间线", "Timeline");
  h += "<table>\n" + Row({"时间 At", "规则 Rule", "状态 State", "数值 Value", "标准 Threshold",
                          "已抑制 Suppressed", "事件 Events"},
                         true);
  for (const TimelineEntry& t : c.timeline) {
    h += Row({Time(t.at_ms), t.rule_id, t.firing ? "firing" : "resolved", t.value, t.threshold,
              t.suppressed ? "是 yes" : "", Join(t.event_ids, " ")});
  }
  h += "</table>\n";

  h += Section("证据", "Evidence");
  for (const CaseEvidence& e : c.evidence) {
    h += "<h3>" + HtmlEscape(e.event_id) + (e.truncated ? " (已截断 truncated)" : "") +
         "</h3>\n<pre>" + HtmlEscape(e.raw) + "</pre>\n";
  }

  h += Section("评论", "Comments");
  h += "<table>\n" + Row({"时间 At", "作者 Author", "内容 Comment"}, true);
  for (const Comment& m : c.comments) h += Row({Time(m.at_ms), m.author, m.body});
  h += "</table>\n";

  h += Section("通知抑制", "Suppressions");
  h += "<table>\n" +
       Row({"规则 Rule", "自 From", "至 Until", "设定人 By", "理由 Reason", "解除 Lifted"}, true);
  for (const Suppression& p : c.suppressions) {
    h += Row({p.rule_id, Time(p.from_ms), Time(p.until_ms), p.created_by, p.reason,
              p.lifted_at_ms != 0 ? Time(p.lifted_at_ms) + " " + p.lifted_by : ""});
  }
  h += "</table>\n";

  h += Section("审计记录", "Audit trail");
  h += "<table>\n" + Row({"序号 Seq", "时间 At", "操作人 Actor", "角色 Role", "操作 Action",
                          "之前 Before", "之后 After", "理由 Reason", "哈希 Hash"},
                         true);
  for (const AuditEntry& a : c.audit) {
    h += Row({std::to_string(a.seq), Time(a.at_ms), a.actor, a.role, a.action, a.before_json,
              a.after_json, a.reason, a.hash});
  }
  h += "</table>\n</body></html>\n";
  return h;
}

}  // namespace abusewatch
