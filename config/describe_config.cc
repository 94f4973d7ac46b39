// DescribeConfig: the human summary printed by `abusewatch check-config`.
#include <algorithm>
#include <string>
#include <vector>

#include "config/config_loader.h"
#include "config/rule_parser.h"
#include "detectors/timeutil.h"

namespace abusewatch {
namespace {

using config_internal::AggregateText;
using config_internal::KindText;
using config_internal::SeverityText;

std::string JoinStrings(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += sep;
    out += items[i];
  }
  return out;
}

std::string ConditionText(const Condition& c) {
  std::string f(FieldName(c.field));
  switch (c.op) {
    case Condition::Op::kEquals:
      if (TypeOfField(c.field) == FieldType::kBool)
        return f + "=" + (c.bool_value ? "true" : "false");
      if (TypeOfField(c.field) == FieldType::kDecimal) return f + "=" + FormatDecimal(c.number);
      return f + "=" + (c.strings.empty() ? std::string() : c.strings[0]);
    case Condition::Op::kOneOf:
      return f + " in [" + JoinStrings(c.strings, ", ") + "]";
    case Condition::Op::kContainsAny:
      return f + " any [" + JoinStrings(c.strings, ", ") + "]";
    case Condition::Op::kRange: {
      std::vector<std::string> parts;
      if (c.gt) parts.push_back(f + ">" + FormatDecimal(*c.gt));
      if (c.gte) parts.push_back(f + ">=" + FormatDecimal(*c.gte));
      if (c.lt) parts.push_back(f + "<" + FormatDecimal(*c.lt));
      if (c.lte) parts.push_back(f + "<=" + FormatDecimal(*c.lte));
      return JoinStrings(parts, ", ");
    }
  }
  return f;
}

std::string SelectorText(const Selector& s) {
  std::vector<std::string> types;
  for (int i = 0; i < kNumEventTypes; ++i) {
    if (s.Matches(static_cast<EventType>(i))) {
      types.emplace_back(EventTypeName(static_cast<EventType>(i)));
    }
  }
  std::string out = types.empty() ? std::string("(no stream)") : JoinStrings(types, "|");
  if (!s.where.empty()) {
    std::vector<std::string> conds;
    for (const Condition& c : s.where) conds.push_back(ConditionText(c));
    out += "{" + JoinStrings(conds, ", ") + "}";
  }
  return out;
}

std::string Definition(const RuleSpec& r) {
  std::string out;
  switch (r.kind) {
    case RuleKind::kThreshold: {
      out = std::string(AggregateText(r.aggregate));
      if (r.aggregate != Aggregate::kCount) out += "(" + std::string(FieldName(r.field)) + ")";
      out += " of " + SelectorText(r.select) + " over " + FormatDuration(r.window_ms);
      if (r.granularity_ms != 1000) out += "/" + FormatDuration(r.granularity_ms);
      out += " >= " + FormatDecimal(r.threshold);
      if (r.reset_on) out += " reset_on " + SelectorText(*r.reset_on);
      if (!r.warn_at.empty()) {
        std::vector<std::string> w;
        for (const Decimal& d : r.warn_at) w.push_back(FormatDecimal(d));
        out += " warn_at [" + JoinStrings(w, ", ") + "]";
      }
      break;
    }
    case RuleKind::kAbsence:
      out = SelectorText(r.trigger) + " not followed by " + SelectorText(r.expect) + " within " +
            FormatDuration(r.within_ms);
      break;
    case RuleKind::kSequence:
      out = SelectorText(r.first) + " then " + SelectorText(r.then);
      if (r.after_ms > 0) out += " after " + FormatDuration(r.after_ms);
      out += " within " + FormatDuration(r.within_ms);
      if (r.unless) out += " unless " + SelectorText(*r.unless);
      break;
    case RuleKind::kAllOf:
    case RuleKind::kAnyOf:
      out = std::string(KindText(r.kind)) + "(" + JoinStrings(r.children, ", ") + ")";
      break;
  }
  if (!r.enabled) out = "DISABLED " + out;
  return out;
}

std::string Pad(std::string_view s, size_t width) {
  std::string out(s);
  if (out.size() < width) out.append(width - out.size(), ' ');
  return out;
}

}  // namespace

std::string DescribeConfig(const EngineConfig& c) {
  std::string out;
  auto setting = [&out](std::string_view name, const std::string& value) {
    out += Pad(name, 18) + value + "\n";
  };
  setting("timezone", c.timezone_text);
  setting("base_currency", c.base_currency);
  std::vector<std::string> rates;
  for (const auto& [code, rate] : c.currency_rates)
    rates.push_back(code + " " + FormatDecimal(rate));
  setting("currency_rates", rates.empty() ? std::string("(none)") : JoinStrings(rates, ", "));
  setting("allowed_lateness", FormatDuration(c.allowed_lateness_ms));
  setting("max_event_bytes", std::to_string(c.max_event_bytes));
  setting("dedup_horizon", FormatDuration(c.dedup_horizon_ms));
  size_t enabled = 0, notifying = 0;
  for (const RuleSpec& r : c.rules) {
    enabled += r.enabled ? 1 : 0;
    notifying += (r.enabled && r.notify) ? 1 : 0;
  }
  setting("rules", std::to_string(c.rules.size()) + " (" + std::to_string(enabled) + " enabled, " +
                       std::to_string(notifying) + " notify)");
  if (c.rules.empty()) return out;

  size_t id_width = 2, key_width = 3;
  for (const RuleSpec& r : c.rules) {
    id_width = std::max(id_width, r.id.size());
    key_width = std::max(key_width, FieldName(r.group_by).size());
  }
  out += "\n" + Pad("id", id_width + 2) + Pad("kind", 11) + Pad("key", key_width + 2) +
         Pad("severity", 10) + Pad("notify", 8) + "definition\n";
  for (const RuleSpec& r : c.rules) {
    out += Pad(r.id, id_width + 2) + Pad(KindText(r.kind), 11) +
           Pad(FieldName(r.group_by), key_width + 2) + Pad(SeverityText(r.severity), 10) +
           Pad(r.notify ? "yes" : "no", 8) + Definition(r) + "\n";
  }
  return out;
}

}  // namespace abusewatch
