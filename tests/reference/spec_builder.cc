#include "tests/reference/spec_builder.h"

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <utility>

namespace abusewatch::testing::ref {
namespace {

std::string Duration(int64_t ms) {
  struct Unit {
    int64_t ms;
    const char* name;
  };
  static constexpr Unit kUnits[] = {
      {86'400'000, "d"}, {3'600'000, "h"}, {60'000, "m"}, {1000, "s"}};
  for (const Unit& u : kUnits) {
    if (ms != 0 && ms % u.ms == 0) return std::to_string(ms / u.ms) + u.name;
  }
  return std::to_string(ms) + "ms";
}

std::string Offset(int64_t ms) {
  if (ms == 0) return "Z";
  char buf[16];
  int64_t a = ms < 0 ? -ms : ms;
  std::snprintf(buf, sizeof(buf), "%c%02d:%02d", ms < 0 ? '-' : '+',
                static_cast<int>(a / 3'600'000), static_cast<int>(a / 60'000 % 60));
  return buf;
}

std::string Quoted(const Decimal& d) { return "\"" + FormatDecimal(d) + "\""; }

std::string List(const std::vector<std::string>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + v[i];
  return out + "]";
}

std::string ConditionYaml(const Condition& c) {
  std::string out = std::string(FieldName(c.field)) + ": ";
  switch (c.op) {
    case Condition::Op::kEquals:
      if (TypeOfField(c.field) == FieldType::kBool) return out + (c.bool_value ? "true" : "false");
      if (TypeOfField(c.field) == FieldType::kDecimal) return out + Quoted(c.number);
      return out + c.strings.at(0);
    case Condition::Op::kOneOf:
      return out + List(c.strings);
    case Condition::Op::kContainsAny:
      return out + "{any: " + List(c.strings) + "}";
    case Condition::Op::kRange: {
      std::vector<std::string> bounds;
      if (c.gt) bounds.push_back("gt: " + Quoted(*c.gt));
      if (c.gte) bounds.push_back("gte: " + Quoted(*c.gte));
      if (c.lt) bounds.push_back("lt: " + Quoted(*c.lt));
      if (c.lte) bounds.push_back("lte: " + Quoted(*c.lte));
      std::string b = List(bounds);
      return out + "{" + b.substr(1, b.size() - 2) + "}";
    }
  }
  return out;
}

std::string SelectorYaml(const Selector& s) {
  std::vector<std::string> types;
  for (int t = 0; t < kNumEventTypes; ++t) {
    if ((s.type_mask >> t) & 1u) types.emplace_back(EventTypeName(static_cast<EventType>(t)));
  }
  std::string out = "{stream: " + List(types);
  if (!s.where.empty()) {
    out += ", where: {";
    for (size_t i = 0; i < s.where.size(); ++i) {
      out += (i ? ", " : "") + ConditionYaml(s.where[i]);
    }
    out += "}";
  }
  return out + "}";
}

}  // namespace

Decimal Dec(std::string_view text) {
  Decimal d;
  bool point = false, digits = false;
  for (char c : text) {
    if (c == '.' && !point && digits) {
      point = true;
    } else if (c >= '0' && c <= '9') {
      d.mantissa = d.mantissa * 10 + static_cast<unsigned>(c - '0');
      digits = true;
      if (point) ++d.scale;
    } else {
      std::fprintf(stderr, "Dec: bad decimal text\n");
      std::abort();
    }
  }
  if (!digits || (point && d.scale == 0)) std::abort();
  return d;
}

Selector Sel(std::initializer_list<EventType> types, std::vector<Condition> where) {
  Selector s;
  for (EventType t : types) s.type_mask |= 1u << static_cast<int>(t);
  s.where = std::move(where);
  return s;
}

Condition Eq(FieldId f, std::string value) {
  Condition c;
  c.field = f;
  c.op = Condition::Op::kEquals;
  c.strings = {std::move(value)};
  return c;
}

Condition EqBool(FieldId f, bool value) {
  Condition c;
  c.field = f;
  c.op = Condition::Op::kEquals;
  c.bool_value = value;
  return c;
}

Condition EqNumber(FieldId f, std::string_view decimal) {
  Condition c;
  c.field = f;
  c.op = Condition::Op::kEquals;
  c.number = Dec(decimal);
  return c;
}

Condition OneOf(FieldId f, std::vector<std::string> values) {
  Condition c;
  c.field = f;
  c.op = Condition::Op::kOneOf;
  c.strings = std::move(values);
  return c;
}

Condition Any(FieldId f, std::vector<std::string> values) {
  Condition c;
  c.field = f;
  c.op = Condition::Op::kContainsAny;
  c.strings = std::move(values);
  return c;
}

Condition Range(FieldId f, std::string_view gt, std::string_view gte, std::string_view lt,
                std::string_view lte) {
  Condition c;
  c.field = f;
  c.op = Condition::Op::kRange;
  if (!gt.empty()) c.gt = Dec(gt);
  if (!gte.empty()) c.gte = Dec(gte);
  if (!lt.empty()) c.lt = Dec(lt);
  if (!lte.empty()) c.lte = Dec(lte);
  return c;
}

RuleSpec Threshold(std::string id, Aggregate aggregate, Selector select, int64_t window_ms,
                   int64_t granularity_ms, std::string_view threshold) {
  RuleSpec r;
  r.id = std::move(id);
  r.kind = RuleKind::kThreshold;
  r.aggregate = aggregate;
  r.select = std::move(select);
  r.window_ms = window_ms;
  r.granularity_ms = granularity_ms;
  r.threshold = Dec(threshold);
  return r;
}

RuleSpec Absence(std::string id, Selector trigger, Selector expect, int64_t within_ms) {
  RuleSpec r;
  r.id = std::move(id);
  r.kind = RuleKind::kAbsence;
  r.trigger = std::move(trigger);
  r.expect = std::move(expect);
  r.within_ms = within_ms;
  return r;
}

RuleSpec Sequence(std::string id, Selector first, Selector then, int64_t within_ms,
                  int64_t after_ms) {
  RuleSpec r;
  r.id = std::move(id);
  r.kind = RuleKind::kSequence;
  r.first = std::move(first);
  r.then = std::move(then);
  r.within_ms = within_ms;
  r.after_ms = after_ms;
  return r;
}

RuleSpec Composite(std::string id, RuleKind kind, std::vector<std::string> children) {
  RuleSpec r;
  r.id = std::move(id);
  r.kind = kind;
  r.children = std::move(children);
  return r;
}

EngineConfig BaseConfig(int64_t timezone_offset_ms) {
  EngineConfig c;
  c.timezone_offset_ms = timezone_offset_ms;
  c.timezone_text = Offset(timezone_offset_ms);
  c.currency_rates["USD"] = Dec("7.10");
  return c;
}

std::string ConfigToYaml(const EngineConfig& c) {
  std::ostringstream o;
  o << "version: 1\ntimezone: \"" << Offset(c.timezone_offset_ms)
    << "\"\nbase_currency: " << c.base_currency << "\ncurrency_rates: {";
  bool first = true;
  for (const auto& [cur, rate] : c.currency_rates) {
    o << (first ? "" : ", ") << cur << ": " << Quoted(rate);
    first = false;
  }
  o << "}\nallowed_lateness: " << Duration(c.allowed_lateness_ms)
    << "\nmax_event_bytes: " << c.max_event_bytes
    << "\ndedup_horizon: " << Duration(c.dedup_horizon_ms) << "\nrules:\n";
  for (const RuleSpec& r : c.rules) {
    o << "  - id: " << r.id << "\n    kind: " << RuleKindName(r.kind)
      << "\n    group_by: " << FieldName(r.group_by)
      << "\n    severity: " << SeverityName(r.severity) << "\n";
    if (!r.enabled) o << "    enabled: false\n";
    if (!r.notify) o << "    notify: false\n";
    switch (r.kind) {
      case RuleKind::kThreshold: {
        o << "    select: " << SelectorYaml(r.select)
          << "\n    aggregate: " << AggregateName(r.aggregate) << "\n";
        if (r.aggregate != Aggregate::kCount) o << "    field: " << FieldName(r.field) << "\n";
        o << "    window: " << Duration(r.window_ms)
          << "\n    granularity: " << Duration(r.granularity_ms)
          << "\n    threshold: " << Quoted(r.threshold) << "\n";
        if (r.reset_on) o << "    reset_on: " << SelectorYaml(*r.reset_on) << "\n";
        std::vector<std::string> warn;
        for (const Decimal& f : r.warn_at) warn.push_back(Quoted(f));
        if (!warn.empty()) o << "    warn_at: " << List(warn) << "\n";
        break;
      }
      case RuleKind::kAbsence:
        o << "    trigger: " << SelectorYaml(r.trigger)
          << "\n    expect: " << SelectorYaml(r.expect) << "\n    within: " << Duration(r.within_ms)
          << "\n";
        break;
      case RuleKind::kSequence:
        o << "    first: " << SelectorYaml(r.first) << "\n    then: " << SelectorYaml(r.then)
          << "\n    within: " << Duration(r.within_ms) << "\n    after: " << Duration(r.after_ms)
          << "\n";
        if (r.unless) o << "    unless: " << SelectorYaml(*r.unless) << "\n";
        break;
      case RuleKind::kAllOf:
      case RuleKind::kAnyOf:
        o << "    rules: " << List(r.children) << "\n";
        break;
    }
  }
  return o.str();
}

}  // namespace abusewatch::testing::ref
