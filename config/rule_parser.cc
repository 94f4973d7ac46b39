#include "config/rule_parser.h"

#include <array>
#include <optional>
#include <string>
#include <utility>

#include "config/selector_parser.h"
#include "detectors/event.h"
#include "detectors/timeutil.h"

namespace abusewatch::config_internal {
namespace {

constexpr std::array<std::string_view, 5> kKindNames = {"threshold", "absence", "sequence",
                                                        "all_of", "any_of"};
constexpr std::array<std::string_view, 3> kAggregateNames = {"count", "sum", "distinct"};
constexpr std::array<std::string_view, 3> kSeverityNames = {"info", "warning", "critical"};

constexpr size_t kMaxIdBytes = 128;

// Keys every rule may have, then the keys of each kind.
const std::vector<std::string_view> kCommonKeys = {"id",    "kind",    "group_by", "severity",
                                                   "basis", "explain", "notify",   "enabled"};

std::vector<std::string_view> AllowedKeys(RuleKind k) {
  std::vector<std::string_view> keys = kCommonKeys;
  std::vector<std::string_view> extra;
  switch (k) {
    case RuleKind::kThreshold:
      extra = {"select",      "aggregate", "field",    "window",
               "granularity", "threshold", "reset_on", "warn_at"};
      break;
    case RuleKind::kAbsence:
      extra = {"trigger", "expect", "within"};
      break;
    case RuleKind::kSequence:
      extra = {"first", "then", "within", "after", "unless"};
      break;
    case RuleKind::kAllOf:
    case RuleKind::kAnyOf:
      extra = {"rules"};
      break;
  }
  keys.insert(keys.end(), extra.begin(), extra.end());
  return keys;
}

template <size_t N>
std::vector<std::string_view> Names(const std::array<std::string_view, N>& a) {
  return std::vector<std::string_view>(a.begin(), a.end());
}

template <typename E, size_t N>
Status ReadEnum(const Entry& e, std::string_view key, const std::string& context,
                const std::array<std::string_view, N>& names, E* out) {
  std::string text;
  Status s = ReadString(e, std::string(key) + " of " + context, &text);
  if (!s.ok()) return s;
  for (size_t i = 0; i < N; ++i) {
    if (names[i] == text) {
      *out = static_cast<E>(i);
      return Status::Ok();
    }
  }
  return ErrorAt(e.value_pos, "unknown " + std::string(key) + " " + Quote(text) + " in " + context +
                                  " (allowed: " + JoinNames(Names(names)) + ")");
}

bool ValidId(std::string_view id) {
  if (id.empty() || id.size() > kMaxIdBytes) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// Reads the field named `key` of the rule if present; the reader gets the entry.
class RuleReader {
 public:
  RuleReader(const std::string& file, const MapView& map, std::vector<std::string>* warnings)
      : file_(file), map_(map), warnings_(warnings) {}

  std::string What(std::string_view key) const { return std::string(key) + " of " + map_.what(); }

  Status Selector(std::string_view key, bool required, abusewatch::Selector* out,
                  bool* present = nullptr) {
    const Entry* e = map_.Find(key);
    if (present != nullptr) *present = e != nullptr;
    if (e == nullptr) {
      return required ? map_.Require(key, "a selector {stream: ..., where: {...}}") : Status::Ok();
    }
    return ParseSelector(file_, *e, What(key), out, warnings_);
  }

  Status Duration(std::string_view key, bool required, int64_t min_ms, int64_t* out) {
    const Entry* e = map_.Find(key);
    if (e == nullptr) return required ? map_.Require(key, "a duration such as 24h") : Status::Ok();
    return ReadDuration(*e, What(key), min_ms, out);
  }

  const Entry* Find(std::string_view key) const { return map_.Find(key); }

 private:
  const std::string& file_;
  const MapView& map_;
  std::vector<std::string>* warnings_;
};

Status ParseCommon(const MapView& map, ParsedRule* out, std::vector<std::string>* warnings) {
  RuleSpec& r = out->spec;
  RuleReader rd(map.file(), map, warnings);
  Status s;
  if (const Entry* e = map.Find("group_by")) {
    std::string name;
    s = ReadString(*e, rd.What("group_by"), &name);
    if (!s.ok()) return s;
    std::optional<FieldId> f = FieldFromName(name);
    if (!f || TypeOfField(*f) != FieldType::kString) {
      std::vector<std::string_view> allowed;
      for (std::string_view n : AllFieldNames()) {
        if (TypeOfField(*FieldFromName(n)) == FieldType::kString) allowed.push_back(n);
      }
      return ErrorAt(e->value_pos, std::string(f ? "group_by cannot use non-string field "
                                                 : "unknown group_by field ") +
                                       Quote(name) + " (allowed: " + JoinNames(allowed) + ")");
    }
    r.group_by = *f;
  }
  if (const Entry* e = map.Find("severity")) {
    s = ReadEnum(*e, "severity", map.what(), kSeverityNames, &r.severity);
    if (!s.ok()) return s;
  }
  if (const Entry* e = map.Find("basis")) {
    s = ReadString(*e, rd.What("basis"), &r.basis);
    if (!s.ok()) return s;
  }
  if (const Entry* e = map.Find("explain")) {
    MapView ex;
    s = MapView::Make(map.file(), e->value, e->value_pos, rd.What("explain"), &ex);
    if (!s.ok()) return s;
    s = ex.CheckAllowed({"zh", "en"});
    if (!s.ok()) return s;
    if (const Entry* zh = ex.Find("zh")) s = ReadString(*zh, "zh of " + ex.what(), &r.explain_zh);
    if (!s.ok()) return s;
    if (const Entry* en = ex.Find("en")) s = ReadString(*en, "en of " + ex.what(), &r.explain_en);
    if (!s.ok()) return s;
  }
  const Entry* notify = map.Find("notify");
  if (notify != nullptr) {
    s = ReadBool(*notify, rd.What("notify"), &r.notify);
    if (!s.ok()) return s;
  }
  if (const Entry* e = map.Find("enabled")) {
    s = ReadBool(*e, rd.What("enabled"), &r.enabled);
    if (!s.ok()) return s;
  }
  if (warnings != nullptr && notify != nullptr && r.notify && !r.enabled) {
    warnings->push_back(PosText(notify->key_pos) + ": " + map.what() +
                        " is disabled (enabled: false); notify: true has no effect");
  }
  return Status::Ok();
}

Status ParseField(const MapView& map, RuleSpec* r) {
  const Entry* e = map.Find("field");
  if (r->aggregate == Aggregate::kCount) {
    if (e != nullptr) {
      return ErrorAt(e->key_pos, "field is not used with aggregate count in " + map.what() +
                                     " (it applies to sum and distinct)");
    }
    return Status::Ok();
  }
  if (e == nullptr) {
    if (r->aggregate == Aggregate::kSum) return Status::Ok();  // default amount
    return map.Require("field",
                       "distinct needs the field whose different values are counted, "
                       "e.g. field: subject");
  }
  std::string name;
  Status s = ReadString(*e, "field of " + map.what(), &name);
  if (!s.ok()) return s;
  std::optional<FieldId> f = FieldFromName(name);
  if (r->aggregate == Aggregate::kSum) {
    if (f != FieldId::kAmount) {
      return ErrorAt(e->value_pos, "sum only adds up \"amount\" (got " + Quote(name) + ")");
    }
  } else if (!f || (TypeOfField(*f) != FieldType::kString &&
                    TypeOfField(*f) != FieldType::kStringArray)) {
    return ErrorAt(e->value_pos, "distinct needs a string or list field, got " + Quote(name) +
                                     " (e.g. subject, payer, ip, device, signals)");
  }
  r->field = *f;
  return Status::Ok();
}

Status ParseWarnAt(const Entry& e, const MapView& map, RuleSpec* r) {
  std::string what = "warn_at of " + map.what();
  if (!e.value.IsSequence() || e.value.size() == 0) {
    return ErrorAt(e.value_pos, what + " must be a non-empty list of fractions, e.g. [0.5, 0.8]");
  }
  std::vector<std::pair<int, SourcePos>> seen;  // derived percent, position
  for (auto it = e.value.begin(); it != e.value.end(); ++it) {
    SourcePos p = PosOf(map.file(), *it, e.value_pos);
    Decimal f;
    Status s = ReadDecimalNode(*it, p, what, DecimalLimits{}, &f);
    if (!s.ok()) return s;
    Decimal one{1, 0};
    if (IsZero(f) || CompareDecimal(f, one) >= 0) {
      return ErrorAt(p, what + ": " + Quote(it->Scalar()) +
                            " is not strictly between 0 and 1 (a fraction of the threshold)");
    }
    UInt128 pct = 0;
    RoundHalfUpScaled(f, 2, 100, &pct);
    for (const auto& [prev, prev_pos] : seen) {
      if (prev == static_cast<int>(pct)) {
        return ErrorAt(p, what + ": " + Quote(it->Scalar()) + " and the value at " +
                              PosText(prev_pos) + " both give derived rule " +
                              Quote(r->id + ":warn" + std::to_string(prev)));
      }
    }
    seen.emplace_back(static_cast<int>(pct), p);
    r->warn_at.push_back(f);
  }
  return Status::Ok();
}

Status ParseThreshold(const MapView& map, RuleSpec* r, std::vector<std::string>* warnings) {
  RuleReader rd(map.file(), map, warnings);
  Status s = rd.Selector("select", true, &r->select);
  if (!s.ok()) return s;
  s = map.Require("aggregate", "count, sum or distinct");
  if (!s.ok()) return s;
  s = ReadEnum(*map.Find("aggregate"), "aggregate", map.what(), kAggregateNames, &r->aggregate);
  if (!s.ok()) return s;
  s = ParseField(map, r);
  if (!s.ok()) return s;
  s = rd.Duration("window", true, 1, &r->window_ms);
  if (!s.ok()) return s;
  s = rd.Duration("granularity", false, 1, &r->granularity_ms);
  if (!s.ok()) return s;
  if (r->window_ms % r->granularity_ms != 0) {
    return ErrorAt(map.Find("window")->value_pos,
                   "window " + FormatDuration(r->window_ms) + " is not a multiple of granularity " +
                       FormatDuration(r->granularity_ms) + " in " + map.what());
  }
  s = map.Require("threshold", "a decimal > 0; the rule fires when the value is >= it");
  if (!s.ok()) return s;
  const Entry* t = map.Find("threshold");
  s = ReadDecimal(*t, rd.What("threshold"), DecimalLimits{}, &r->threshold);
  if (!s.ok()) return s;
  if (IsZero(r->threshold)) {
    return ErrorAt(t->value_pos, "threshold of " + map.what() + " must be greater than 0");
  }
  bool has_reset = false;
  Selector reset;
  s = rd.Selector("reset_on", false, &reset, &has_reset);
  if (!s.ok()) return s;
  if (has_reset) r->reset_on = std::move(reset);
  if (const Entry* w = map.Find("warn_at")) return ParseWarnAt(*w, map, r);
  return Status::Ok();
}

Status ParseAbsence(const MapView& map, RuleSpec* r, std::vector<std::string>* warnings) {
  RuleReader rd(map.file(), map, warnings);
  Status s = rd.Selector("trigger", true, &r->trigger);
  if (s.ok()) s = rd.Selector("expect", true, &r->expect);
  if (s.ok()) s = rd.Duration("within", true, 1, &r->within_ms);
  return s;
}

Status ParseSequence(const MapView& map, RuleSpec* r, std::vector<std::string>* warnings) {
  RuleReader rd(map.file(), map, warnings);
  Status s = rd.Selector("first", true, &r->first);
  if (s.ok()) s = rd.Selector("then", true, &r->then);
  if (s.ok()) s = rd.Duration("within", true, 1, &r->within_ms);
  if (s.ok()) s = rd.Duration("after", false, 0, &r->after_ms);
  if (!s.ok()) return s;
  if (r->after_ms >= r->within_ms) {
    return ErrorAt(map.Find("after")->value_pos,
                   "after " + FormatDuration(r->after_ms) + " must be shorter than within " +
                       FormatDuration(r->within_ms) + " in " + map.what());
  }
  bool has_unless = false;
  Selector unless;
  s = rd.Selector("unless", false, &unless, &has_unless);
  if (has_unless) r->unless = std::move(unless);
  return s;
}

Status ParseComposite(const MapView& map, ParsedRule* out) {
  Status s = map.Require("rules", "a non-empty list of rule ids");
  if (!s.ok()) return s;
  const Entry* e = map.Find("rules");
  s = ReadStringList(e->value, e->value_pos, "rules of " + map.what(), false, &out->spec.children,
                     &out->child_pos);
  if (!s.ok()) return s;
  for (size_t i = 0; i < out->spec.children.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (out->spec.children[i] == out->spec.children[j]) {
        return ErrorAt(out->child_pos[i], "rule " + Quote(out->spec.children[i]) +
                                              " is listed twice in rules of " + map.what());
      }
    }
  }
  return Status::Ok();
}

}  // namespace

std::string_view KindText(RuleKind k) { return kKindNames[static_cast<int>(k)]; }
std::string_view AggregateText(Aggregate a) { return kAggregateNames[static_cast<int>(a)]; }
std::string_view SeverityText(Severity s) { return kSeverityNames[static_cast<int>(s)]; }

Status ParseRule(const std::string& file, const YAML::Node& node, const SourcePos& fallback,
                 ParsedRule* out, std::vector<std::string>* warnings) {
  *out = ParsedRule();
  // Name the rule by its id in messages about its keys, when it has a readable one.
  std::string label = "rule";
  if (node.IsMap()) {
    for (auto it = node.begin(); it != node.end(); ++it) {
      YAML::Node k = it->first;
      YAML::Node v = it->second;
      if (k.IsScalar() && k.Scalar() == "id" && v.IsScalar()) {
        label = "rule " + Quote(v.Scalar());
        break;
      }
    }
  }
  MapView map;
  Status s = MapView::Make(file, node, fallback, label, &map);
  if (!s.ok()) return s;
  RuleSpec& r = out->spec;
  r.pos = map.pos();

  s = map.Require("id", "a unique name made of a-z 0-9 _ . -");
  if (!s.ok()) return s;
  const Entry* id = map.Find("id");
  s = ReadString(*id, "id of rule", &r.id);
  if (!s.ok()) return s;
  if (!ValidId(r.id)) {
    return ErrorAt(id->value_pos, "bad rule id " + Quote(r.id) +
                                      ": use 1 to 128 characters from a-z, 0-9, _, . and -");
  }
  out->id_pos = id->value_pos;
  map.set_what("rule " + Quote(r.id));

  s = map.Require("kind", "threshold, absence, sequence, all_of or any_of");
  if (!s.ok()) return s;
  s = ReadEnum(*map.Find("kind"), "kind", map.what(), kKindNames, &r.kind);
  if (!s.ok()) return s;
  s = map.CheckAllowed(AllowedKeys(r.kind));
  if (!s.ok()) return s;
  s = ParseCommon(map, out, warnings);
  if (!s.ok()) return s;

  switch (r.kind) {
    case RuleKind::kThreshold:
      return ParseThreshold(map, &r, warnings);
    case RuleKind::kAbsence:
      return ParseAbsence(map, &r, warnings);
    case RuleKind::kSequence:
      return ParseSequence(map, &r, warnings);
    case RuleKind::kAllOf:
    case RuleKind::kAnyOf:
      return ParseComposite(map, out);
  }
  return Status::Ok();
}

}  // namespace abusewatch::config_internal
