#include "daemon/review/case_export.h"

#include <string>
#include <vector>

#include "daemon/review/review_internal.h"
#include "detectors/timeutil.h"
#include "detectors/transition.h"

namespace abusewatch {
namespace {

std::string Time(int64_t ms) { return ms == 0 ? std::string() : FormatRfc3339Utc(ms); }

void Key(std::string_view key, std::string* out) {
  if (out->back() != '{') out->push_back(',');
  AppendJsonString(key, out);
  out->push_back(':');
}
void Str(std::string_view key, std::string_view v, std::string* out) {
  Key(key, out);
  AppendJsonString(v, out);
}
void Int(std::string_view key, int64_t v, std::string* out) {
  Key(key, out);
  *out += std::to_string(v);
}
void Bool(std::string_view key, bool v, std::string* out) {
  Key(key, out);
  *out += v ? "true" : "false";
}
void TimeField(std::string_view key, int64_t ms, std::string* out) {
  Int(std::string(key) + "_ms", ms, out);
  Str(key, Time(ms), out);
}

template <typename T, typename F>
void Array(std::string_view key, const std::vector<T>& items, F&& each, std::string* out) {
  Key(key, out);
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
  Int("id", s.id, &o);
  Str("account", s.account, &o);
  Str("status", s.status, &o);
  Str("decision", s.decision, &o);
  Str("decision_reason", s.decision_reason, &o);
  Str("decided_by", s.decided_by, &o);
  Str("assignee", s.assignee, &o);
  Str("severity", s.severity, &o);
  Bool("knowledge", s.knowledge, &o);
  Bool("serious", s.serious, &o);
  TimeField("opened_at", s.opened_at_ms, &o);
  TimeField("updated_at", s.updated_at_ms, &o);
  TimeField("closed_at", s.closed_at_ms, &o);
  Array(
      "clauses", c.clauses,
      [](const Clause& k, std::string* out) {
        Str("rule", k.rule_id, out);
        Str("state", k.firing ? "firing" : "resolved", out);
        Str("value", k.value, out);
        Str("threshold", k.threshold, out);
        Str("severity", k.severity, out);
        Str("basis", k.basis, out);
        Str("explain_zh", k.explain_zh, out);
        Str("explain_en", k.explain_en, out);
        TimeField("first_at", k.first_at_ms, out);
        TimeField("last_at", k.last_at_ms, out);
      },
      &o);
  Array(
      "timeline", c.timeline,
      [](const TimelineEntry& t, std::string* out) {
        Str("id", t.transition_id, out);
        Str("rule", t.rule_id, out);
        Str("state", t.firing ? "firing" : "resolved", out);
        TimeField("at", t.at_ms, out);
        Str("value", t.value, out);
        Str("threshold", t.threshold, out);
        Str("severity", t.severity, out);
        Str("basis", t.basis, out);
        Bool("notify", t.notify, out);
        Bool("suppressed", t.suppressed, out);
        Key("events", out);
        *out += review_internal::JsonStringArray(t.event_ids);
      },
      &o);
  Array(
      "evidence", c.evidence,
      [](const CaseEvidence& e, std::string* out) {
        Str("event_id", e.event_id, out);
        Str("raw", e.raw, out);
        Bool("truncated", e.truncated, out);
        Int("original_bytes", e.original_bytes, out);
      },
      &o);
  Array(
      "comments", c.comments,
      [](const Comment& m, std::string* out) {
        Int("id", m.id, out);
        TimeField("at", m.at_ms, out);
        Str("author", m.author, out);
        Str("body", m.body, out);
      },
      &o);
  Array(
      "suppressions", c.suppressions,
      [](const Suppression& p, std::string* out) {
        Int("id", p.id, out);
        Str("rule", p.rule_id, out);
        TimeField("from", p.from_ms, out);
        TimeField("until", p.until_ms, out);
        Str("created_by", p.created_by, out);
        Str("reason", p.reason, out);
        TimeField("lifted_at", p.lifted_at_ms, out);
        Str("lifted_by", p.lifted_by, out);
      },
      &o);
  Array(
      "audit", c.audit,
      [](const AuditEntry& a, std::string* out) {
        Int("seq", a.seq, out);
        TimeField("at", a.at_ms, out);
        Str("actor", a.actor, out);
        Str("role", a.role, out);
        Str("action", a.action, out);
        Str("before", a.before_json, out);
        Str("after", a.after_json, out);
        Str("reason", a.reason, out);
        Str("hash", a.hash, out);
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
