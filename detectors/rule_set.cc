#include "detectors/rule_set.h"

#include <algorithm>
#include <map>
#include <numeric>

#include "detectors/timeutil.h"

namespace abusewatch {
namespace {

bool ValidId(const std::string& id) {
  if (id.empty()) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

Status RuleError(const RuleSpec& r, const std::string& what) {
  std::string where = r.pos.line > 0 ? r.pos.ToString() + ": " : std::string();
  return Status::InvalidArgument(where + "rule \"" + r.id + "\": " + what);
}

Status CheckSelector(const RuleSpec& r, const Selector& s, const char* role) {
  if (s.type_mask == 0) return RuleError(r, std::string(role) + " selects no event type");
  return Status::Ok();
}

std::string ThresholdSignature(const RuleSpec& r) {
  std::string sig = std::to_string(static_cast<int>(r.group_by)) + "|" +
                    std::to_string(static_cast<int>(r.aggregate)) + "|" +
                    std::to_string(static_cast<int>(r.field)) + "|" + std::to_string(r.window_ms) +
                    "|" + std::to_string(r.granularity_ms) + "|" + SelectorSignature(r.select);
  if (r.reset_on) sig += "|reset:" + SelectorSignature(*r.reset_on);
  return sig;
}

Status CheckRule(const RuleSpec& r) {
  if (!ValidId(r.id)) return RuleError(r, "id must match [a-z0-9_.-]+");
  FieldType gt = TypeOfField(r.group_by);
  if (gt != FieldType::kString) return RuleError(r, "group_by must name a string field");
  switch (r.kind) {
    case RuleKind::kThreshold: {
      if (Status s = CheckSelector(r, r.select, "select"); !s.ok()) return s;
      if (r.reset_on) {
        if (Status s = CheckSelector(r, *r.reset_on, "reset_on"); !s.ok()) return s;
      }
      if (r.window_ms <= 0 || r.granularity_ms <= 0) {
        return RuleError(r, "window and granularity must be positive");
      }
      if (r.window_ms % r.granularity_ms != 0) {
        return RuleError(r, "window " + FormatDuration(r.window_ms) +
                                " is not a multiple of granularity " +
                                FormatDuration(r.granularity_ms));
      }
      if (r.threshold.mantissa == 0) return RuleError(r, "threshold must be greater than 0");
      if (r.aggregate == Aggregate::kSum && r.field != FieldId::kAmount) {
        return RuleError(r, "sum supports field amount only");
      }
      if (r.aggregate == Aggregate::kDistinct && TypeOfField(r.field) != FieldType::kString &&
          TypeOfField(r.field) != FieldType::kStringArray) {
        return RuleError(r, "distinct needs a string or string-array field");
      }
      for (const Decimal& f : r.warn_at) {
        if (f.mantissa == 0 || CompareDecimal(f, Decimal{1, 0}) >= 0) {
          return RuleError(r, "warn_at fractions must be strictly between 0 and 1");
        }
      }
      return Status::Ok();
    }
    case RuleKind::kAbsence:
      if (Status s = CheckSelector(r, r.trigger, "trigger"); !s.ok()) return s;
      if (Status s = CheckSelector(r, r.expect, "expect"); !s.ok()) return s;
      if (r.within_ms < 0) return RuleError(r, "within must not be negative");
      return Status::Ok();
    case RuleKind::kSequence:
      if (Status s = CheckSelector(r, r.first, "first"); !s.ok()) return s;
      if (Status s = CheckSelector(r, r.then, "then"); !s.ok()) return s;
      if (r.unless) {
        if (Status s = CheckSelector(r, *r.unless, "unless"); !s.ok()) return s;
      }
      if (r.after_ms < 0 || r.within_ms <= r.after_ms) {
        return RuleError(r, "sequence needs 0 <= after < within");
      }
      return Status::Ok();
    case RuleKind::kAllOf:
    case RuleKind::kAnyOf:
      if (r.children.empty()) return RuleError(r, "rules must list at least one rule id");
      return Status::Ok();
  }
  return Status::Ok();
}

std::string WarnId(const std::string& id, const Decimal& f) {
  // round(100·f), half-up.
  UInt128 pct = 0;
  RoundHalfUpScaled(f, 2, ~UInt128{0}, &pct);
  return id + ":warn" + FormatInt(static_cast<Int128>(pct));
}

uint32_t TypeMaskOf(const RuleSpec& r) {
  switch (r.kind) {
    case RuleKind::kThreshold:
      return r.select.type_mask | (r.reset_on ? r.reset_on->type_mask : 0);
    case RuleKind::kAbsence:
      return r.trigger.type_mask | r.expect.type_mask;
    case RuleKind::kSequence:
      return r.first.type_mask | r.then.type_mask | (r.unless ? r.unless->type_mask : 0);
    default:
      return 0;
  }
}

}  // namespace

std::string SourcePos::ToString() const {
  return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

std::string SelectorSignature(const Selector& s) {
  std::string out;
  for (int t = 0; t < kNumEventTypes; ++t) {
    if (s.Matches(static_cast<EventType>(t))) {
      if (!out.empty()) out += ",";
      out += EventTypeName(static_cast<EventType>(t));
    }
  }
  out += "{";
  for (const Condition& c : s.where) {
    out += std::string(FieldName(c.field)) + ":" + std::to_string(static_cast<int>(c.op)) + "=";
    for (const std::string& v : c.strings) out += v + ",";
    if (TypeOfField(c.field) == FieldType::kBool) out += c.bool_value ? "true" : "false";
    if (c.op == Condition::Op::kEquals && TypeOfField(c.field) == FieldType::kDecimal) {
      out += FormatDecimal(c.number);
    }
    auto bound = [&](const char* n, const std::optional<Decimal>& d) {
      if (d) out += std::string(n) + FormatDecimal(*d);
    };
    bound("gt", c.gt);
    bound("gte", c.gte);
    bound("lt", c.lt);
    bound("lte", c.lte);
    out += ";";
  }
  return out + "}";
}

int RuleSet::Find(std::string_view id) const {
  for (size_t i = 0; i < rules_.size(); ++i) {
    if (rules_[i].spec.id == id) return static_cast<int>(i);
  }
  return -1;
}

Status RuleSet::Compile(EngineConfig config, std::shared_ptr<const RuleSet>* out) {
  auto rs = std::shared_ptr<RuleSet>(new RuleSet());
  if (config.allowed_lateness_ms < 0 || config.dedup_horizon_ms < 0 ||
      config.max_event_bytes <= 0) {
    return Status::InvalidArgument(
        "allowed_lateness, dedup_horizon and max_event_bytes must be positive");
  }
  // Expand warn_at into derived rules right after their parent.
  for (const RuleSpec& r : config.rules) {
    if (Status s = CheckRule(r); !s.ok()) return s;
    CompiledRule cr;
    cr.spec = r;
    cr.spec.warn_at.clear();
    rs->rules_.push_back(cr);
    if (r.kind != RuleKind::kThreshold) continue;
    for (const Decimal& f : r.warn_at) {
      CompiledRule w;
      w.spec = r;
      w.spec.warn_at.clear();
      w.spec.id = WarnId(r.id, f);
      w.spec.severity = Severity::kInfo;
      if (!MultiplyDecimal(r.threshold, f, &w.spec.threshold)) {
        return RuleError(r, "warn_at threshold overflows");
      }
      w.derived_warning = true;
      rs->rules_.push_back(std::move(w));
    }
  }
  std::map<std::string, int> by_id;
  for (size_t i = 0; i < rs->rules_.size(); ++i) {
    const RuleSpec& r = rs->rules_[i].spec;
    if (!by_id.emplace(r.id, static_cast<int>(i)).second) {
      return RuleError(r, "duplicate rule id");
    }
  }
  int rank = 0;
  for (auto& [id, idx] : by_id) rs->rules_[idx].order = rank++;

  // Composite references, group_by agreement, cycles (DFS colouring).
  for (size_t i = 0; i < rs->rules_.size(); ++i) {
    CompiledRule& cr = rs->rules_[i];
    for (const std::string& child : cr.spec.children) {
      auto it = by_id.find(child);
      if (it == by_id.end()) return RuleError(cr.spec, "unknown rule id \"" + child + "\"");
      if (rs->rules_[it->second].spec.group_by != cr.spec.group_by) {
        return RuleError(cr.spec, "rule \"" + child + "\" has a different group_by");
      }
      cr.children.push_back(it->second);
      rs->rules_[it->second].parents.push_back(static_cast<int>(i));
    }
  }
  std::vector<int> colour(rs->rules_.size(), 0);
  std::vector<int> stack;
  Status cycle;
  auto visit = [&](auto&& self, int v) -> bool {
    colour[v] = 1;
    stack.push_back(v);
    for (int c : rs->rules_[v].children) {
      if (colour[c] == 1) {
        std::string path;
        auto from = std::find(stack.begin(), stack.end(), c);
        for (auto it = from; it != stack.end(); ++it) path += rs->rules_[*it].spec.id + " -> ";
        cycle = RuleError(rs->rules_[c].spec, "composite cycle: " + path + rs->rules_[c].spec.id);
        return false;
      }
      if (colour[c] == 0 && !self(self, c)) return false;
    }
    stack.pop_back();
    colour[v] = 2;
    const RuleKind k = rs->rules_[v].spec.kind;
    if (k == RuleKind::kAllOf || k == RuleKind::kAnyOf) rs->composite_order_.push_back(v);
    return true;
  };
  for (size_t i = 0; i < rs->rules_.size(); ++i) {
    if (colour[i] == 0 && !visit(visit, static_cast<int>(i))) return cycle;
  }

  // Detectors: one per absence/sequence rule, one per distinct threshold aggregation.
  std::map<std::string, int> aggregators;
  for (size_t i = 0; i < rs->rules_.size(); ++i) {
    CompiledRule& cr = rs->rules_[i];
    const RuleSpec& r = cr.spec;
    if (!r.enabled || r.kind == RuleKind::kAllOf || r.kind == RuleKind::kAnyOf) continue;
    if (r.kind == RuleKind::kThreshold) {
      cr.line = CeilScaledWide(r.threshold, r.aggregate == Aggregate::kSum ? 2 : 0);
      std::string sig = ThresholdSignature(r);
      auto [it, fresh] = aggregators.emplace(sig, static_cast<int>(rs->detectors_.size()));
      if (fresh) {
        DetectorSpec d;
        d.kind = r.kind;
        d.group_by = r.group_by;
        d.spec = &cr.spec;
        d.type_mask = TypeMaskOf(r);
        rs->detectors_.push_back(d);
      }
      DetectorSpec& d = rs->detectors_[it->second];
      if (d.rules.size() >= 64) {
        return RuleError(r, "more than 64 thresholds share one aggregation");
      }
      cr.detector = it->second;
      cr.slot = static_cast<int>(d.rules.size());
      d.rules.push_back(static_cast<int>(i));
      continue;
    }
    DetectorSpec d;
    d.kind = r.kind;
    d.group_by = r.group_by;
    d.spec = &cr.spec;
    d.type_mask = TypeMaskOf(r);
    d.rules.push_back(static_cast<int>(i));
    cr.detector = static_cast<int>(rs->detectors_.size());
    rs->detectors_.push_back(d);
  }
  for (size_t d = 0; d < rs->detectors_.size(); ++d) {
    for (int t = 0; t < kNumEventTypes; ++t) {
      if ((rs->detectors_[d].type_mask >> t) & 1u) rs->by_type_[t].push_back(static_cast<int>(d));
    }
  }
  rs->config_ = std::move(config);
  *out = std::move(rs);
  return Status::Ok();
}

}  // namespace abusewatch
