#include "tests/reference/reference_engine.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>

#include "detectors/event.h"
#include "tests/reference/reference_selector.h"

namespace abusewatch::testing {
namespace {

using ref::CheckedMul;
using ref::CompareFractions;
using ref::DistinctValues;
using ref::Fraction;
using ref::FromDecimal;
using ref::GroupKey;
using ref::IntText;
using ref::ScaledText;
using ref::SelectorMatches;

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "reference engine: %s\n", what.c_str());
  std::abort();
}

// One enabled rule after `warn_at` expansion.
struct RefRule {
  std::string id;
  const RuleSpec* spec = nullptr;
  Fraction threshold;  // threshold rules: T, or f * T for a derived warning rule
};

// What one processed event is for one rule.
struct Roles {
  std::optional<std::string> key;  // nullopt: the rule skips the event (no group_by value)
  bool select = false, reset = false;
  bool trigger = false, expect = false;
  bool first = false, then = false, unless = false;
};

bool IsComposite(RuleKind k) { return k == RuleKind::kAllOf || k == RuleKind::kAnyOf; }

// round(100 * f), half up, for f = m / 10^s.
Int128 Percent(const Decimal& f) {
  Fraction x = FromDecimal(f);
  return (CheckedMul(200, x.num) + x.den) / CheckedMul(2, x.den);
}

Int128 CeilDiv(Int128 num, Int128 den) { return (num + den - 1) / den; }

class Reference {
 public:
  Reference(const EngineConfig& config, const ReferenceOptions& options)
      : config_(config), options_(options) {}
  RefResult Run(const std::vector<std::string>& lines);

 private:
  void Expand();
  void Accept(const std::vector<std::string>& lines);
  void Classify();
  std::set<int64_t> TimerInstants() const;
  void EventStep(size_t pos);
  void TimerStep(int64_t d);
  // `pos`: the event of an event step, or nullopt for a timer step.
  void EvaluateThresholds(int64_t t, std::optional<size_t> pos);
  std::map<std::string, Int128> ThresholdValues(int r, int64_t t) const;
  void ResolveAbsences(size_t pos);
  void FireAbsences(int64_t d);
  void Sequences(size_t pos);
  void EvaluateComposites(int64_t t);
  bool Eval(const std::string& id, const std::string& key, int depth) const;
  bool State(int r, const std::string& key) const;
  void Emit(int r, const std::string& key, bool firing, int64_t at, const std::string& value);
  std::string ThresholdText(int r) const;
  std::string ValueText(int r, Int128 v) const;
  int64_t Bucket(int64_t x, int64_t g) const;

  const EngineConfig& config_;
  const ReferenceOptions options_;
  std::vector<RefRule> rules_;
  std::map<std::string, int> by_id_;
  std::vector<Event> events_;              // accepted, in processing order (stably sorted by ts)
  std::vector<int> lines_;                 // line of each events_ entry
  std::vector<std::vector<Roles>> roles_;  // [rule][position]
  std::vector<std::map<std::string, bool>> firing_;  // [rule][key]
  size_t processed_ = 0;                             // events_[0, processed_) have been processed
  std::vector<RefTransition> out_;
  RefResult result_;
};

RefResult Reference::Run(const std::vector<std::string>& lines) {
  Expand();
  Accept(lines);
  Classify();
  std::set<int64_t> instants = TimerInstants();
  auto next = instants.begin();
  for (size_t pos = 0; pos < events_.size(); ++pos) {
    // Timer steps at d come after every event with ts <= d and before events with ts > d.
    while (next != instants.end() && *next < events_[pos].ts_ms) TimerStep(*next++);
    EventStep(pos);
  }
  while (next != instants.end()) TimerStep(*next++);  // all are <= the largest accepted ts
  std::stable_sort(out_.begin(), out_.end(), [](const RefTransition& a, const RefTransition& b) {
    if (a.at_ms != b.at_ms) return a.at_ms < b.at_ms;
    if (a.rule != b.rule) return a.rule < b.rule;
    return a.key < b.key;
  });
  result_.transitions = std::move(out_);
  return std::move(result_);
}

void Reference::Expand() {
  for (const RuleSpec& spec : config_.rules) {
    if (!spec.enabled) continue;  // produces nothing; composites see it as never firing
    Fraction t = FromDecimal(spec.threshold);
    rules_.push_back(RefRule{spec.id, &spec, t});
    if (spec.kind != RuleKind::kThreshold) continue;
    for (const Decimal& f : spec.warn_at) {
      Fraction ff = FromDecimal(f);
      std::string id = spec.id + ":warn" + IntText(Percent(f));
      rules_.push_back(RefRule{id, &spec, {CheckedMul(ff.num, t.num), CheckedMul(ff.den, t.den)}});
    }
  }
  for (size_t r = 0; r < rules_.size(); ++r) {
    if (!by_id_.emplace(rules_[r].id, static_cast<int>(r)).second) Fail("duplicate rule id");
  }
  firing_.resize(rules_.size());
}

void Reference::Accept(const std::vector<std::string>& lines) {
  Decoder decoder(DecoderOptionsFor(config_));
  std::vector<Event> arrived;
  std::vector<int> arrived_lines;
  for (size_t i = 0; i < lines.size(); ++i) {
    int line = static_cast<int>(i) + 1;
    if (IsBlankLine(lines[i])) continue;
    Event e;
    Rejection rejection;
    if (!decoder.Decode(lines[i], &e, &rejection)) {
      result_.rejects.emplace_back(line, rejection.reason);
      continue;
    }
    if (!arrived.empty()) {
      int64_t m = arrived.front().ts_ms;  // M: the largest ts accepted so far
      for (const Event& a : arrived) m = std::max(m, a.ts_ms);
      if (e.ts_ms < m - config_.allowed_lateness_ms) {
        result_.rejects.emplace_back(line, RejectReason::kLate);
        continue;
      }
      bool duplicate = false;
      for (const Event& a : arrived) {
        if (a.id() == e.id() && a.ts_ms >= m - config_.dedup_horizon_ms) duplicate = true;
      }
      if (duplicate) {
        result_.rejects.emplace_back(line, RejectReason::kDuplicate);
        continue;
      }
    }
    result_.accepted.emplace_back(line, e.ts_ms);
    arrived.push_back(std::move(e));
    arrived_lines.push_back(line);
  }
  std::vector<size_t> order(arrived.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return arrived[a].ts_ms < arrived[b].ts_ms; });
  for (size_t i : order) {
    events_.push_back(std::move(arrived[i]));
    lines_.push_back(arrived_lines[i]);
  }
}

void Reference::Classify() {
  roles_.assign(rules_.size(), std::vector<Roles>(events_.size()));
  for (size_t r = 0; r < rules_.size(); ++r) {
    const RuleSpec& s = *rules_[r].spec;
    if (IsComposite(s.kind)) continue;
    for (size_t p = 0; p < events_.size(); ++p) {
      const Event& e = events_[p];
      Roles& x = roles_[r][p];
      x.key = GroupKey(e, s.group_by);
      if (!x.key) continue;
      x.select = s.kind == RuleKind::kThreshold && SelectorMatches(s.select, e);
      x.reset = s.kind == RuleKind::kThreshold && s.reset_on && SelectorMatches(*s.reset_on, e);
      x.trigger = s.kind == RuleKind::kAbsence && SelectorMatches(s.trigger, e);
      x.expect = s.kind == RuleKind::kAbsence && SelectorMatches(s.expect, e);
      x.first = s.kind == RuleKind::kSequence && SelectorMatches(s.first, e);
      x.then = s.kind == RuleKind::kSequence && SelectorMatches(s.then, e);
      x.unless = s.kind == RuleKind::kSequence && s.unless && SelectorMatches(*s.unless, e);
    }
  }
}

std::set<int64_t> Reference::TimerInstants() const {
  std::set<int64_t> out;
  if (events_.empty()) return out;
  int64_t max_ts = events_.back().ts_ms;
  for (size_t r = 0; r < rules_.size(); ++r) {
    const RuleSpec& s = *rules_[r].spec;
    for (size_t p = 0; p < events_.size(); ++p) {
      const Roles& x = roles_[r][p];
      int64_t ts = events_[p].ts_ms;
      std::optional<int64_t> d;
      if (x.select) d = Bucket(ts, s.granularity_ms) + s.window_ms;  // a window expiry
      if (x.trigger) d = ts + s.within_ms;                           // a deadline
      if (d && *d <= max_ts) out.insert(*d);
    }
  }
  return out;
}

void Reference::EventStep(size_t pos) {
  processed_ = pos + 1;
  int64_t t = events_[pos].ts_ms;
  EvaluateThresholds(t, pos);
  ResolveAbsences(pos);
  Sequences(pos);
  EvaluateComposites(t);
}

void Reference::TimerStep(int64_t d) {
  EvaluateThresholds(d, std::nullopt);
  FireAbsences(d);
  EvaluateComposites(d);
}

int64_t Reference::Bucket(int64_t x, int64_t g) const {
  int64_t shifted = x + config_.timezone_offset_ms;
  int64_t q = shifted / g;
  if (shifted % g != 0 && shifted < 0) --q;  // floor, not truncation
  return q * g - config_.timezone_offset_ms;
}

// The value of every key at time t, straight from the definition.
std::map<std::string, Int128> Reference::ThresholdValues(int r, int64_t t) const {
  const RuleSpec& s = *rules_[r].spec;
  std::map<std::string, size_t> last_reset;  // key -> position of its last processed reset
  for (size_t q = 0; q < processed_; ++q) {
    if (roles_[r][q].reset) last_reset[*roles_[r][q].key] = q;
  }
  std::map<std::string, Int128> value;
  std::map<std::string, std::set<std::string>> distinct;
  int64_t bt = Bucket(t, s.granularity_ms);
  for (size_t q = 0; q < processed_; ++q) {
    const Roles& x = roles_[r][q];
    if (!x.select) continue;
    auto reset = last_reset.find(*x.key);
    if (reset != last_reset.end() && reset->second > q) continue;  // cut by a later reset
    int64_t be = Bucket(events_[q].ts_ms, s.granularity_ms);
    if (!(bt - s.window_ms < be && be <= bt)) continue;  // outside the window at t
    Int128& v = value[*x.key];
    switch (s.aggregate) {
      case Aggregate::kCount:
        v += 1;
        break;
      case Aggregate::kSum:
        if (s.field != FieldId::kAmount) Fail("sum of a field other than amount");
        if (events_[q].type == EventType::kPayment) v += events_[q].amount_base_fen;
        break;
      case Aggregate::kDistinct:
        for (std::string& d : DistinctValues(events_[q], s.field)) {
          distinct[*x.key].insert(std::move(d));
        }
        break;
    }
  }
  if (s.aggregate == Aggregate::kDistinct) {
    for (auto& [key, v] : value) v = static_cast<Int128>(distinct[key].size());
  }
  return value;
}

void Reference::EvaluateThresholds(int64_t t, std::optional<size_t> pos) {
  for (size_t ri = 0; ri < rules_.size(); ++ri) {
    int r = static_cast<int>(ri);
    const RuleSpec& s = *rules_[r].spec;
    if (s.kind != RuleKind::kThreshold) continue;
    std::map<std::string, Int128> values = ThresholdValues(r, t);
    std::set<std::string> keys;
    if (pos && !options_.threshold_all_keys_every_step) {
      // An event step concerns only the event's key, and only if the event is selected by
      // the rule or matches its reset_on.
      const Roles& x = roles_[r][*pos];
      if (x.select || x.reset) keys.insert(*x.key);
    } else {
      for (const auto& [key, v] : values) keys.insert(key);
      for (const auto& [key, f] : firing_[r]) keys.insert(key);
    }
    for (const std::string& key : keys) {
      Int128 v = values.count(key) ? values[key] : 0;
      Fraction value{v, s.aggregate == Aggregate::kSum ? 100 : 1};
      bool now = CompareFractions(value, rules_[r].threshold) >= 0;
      if (now != State(r, key)) Emit(r, key, now, t, ValueText(r, v));
    }
  }
}

void Reference::ResolveAbsences(size_t pos) {
  for (size_t r = 0; r < rules_.size(); ++r) {
    const Roles& x = roles_[r][pos];
    if (x.expect && State(static_cast<int>(r), *x.key)) {
      Emit(static_cast<int>(r), *x.key, false, events_[pos].ts_ms, "null");
    }
  }
}

void Reference::FireAbsences(int64_t d) {
  for (size_t ri = 0; ri < rules_.size(); ++ri) {
    int r = static_cast<int>(ri);
    const RuleSpec& s = *rules_[r].spec;
    if (s.kind != RuleKind::kAbsence) continue;
    std::map<std::string, size_t> last_expect;  // key -> position of its last processed expect
    for (size_t q = 0; q < processed_; ++q) {
      if (roles_[r][q].expect) last_expect[*roles_[r][q].key] = q;
    }
    std::set<std::string> overdue;  // keys with an unhandled trigger whose deadline is <= d
    for (size_t q = 0; q < processed_; ++q) {
      const Roles& x = roles_[r][q];
      if (!x.trigger || events_[q].ts_ms + s.within_ms > d) continue;
      auto e = last_expect.find(*x.key);
      bool handled = e != last_expect.end() && e->second > q;  // an expect processed after it
      if (!handled) overdue.insert(*x.key);
    }
    for (const std::string& key : overdue) {
      if (!State(r, key)) Emit(r, key, true, d, "null");
    }
  }
}

void Reference::Sequences(size_t pos) {
  const Event& y = events_[pos];
  for (size_t ri = 0; ri < rules_.size(); ++ri) {
    int r = static_cast<int>(ri);
    const RuleSpec& s = *rules_[r].spec;
    const Roles& x = roles_[r][pos];
    if (s.kind != RuleKind::kSequence || !x.key) continue;
    if (x.then && !State(r, *x.key)) {
      // Latest unless event of the key processed before y.
      std::optional<int64_t> max_unless;
      for (size_t q = 0; q < pos; ++q) {
        if (roles_[r][q].unless && *roles_[r][q].key == *x.key) {
          max_unless = std::max(max_unless.value_or(events_[q].ts_ms), events_[q].ts_ms);
        }
      }
      bool fire = false;
      for (size_t q = 0; q < pos; ++q) {
        const Roles& f = roles_[r][q];
        if (!f.first || *f.key != *x.key) continue;
        int64_t fts = events_[q].ts_ms;
        bool in_time = fts + s.after_ms < y.ts_ms && y.ts_ms <= fts + s.within_ms;
        bool undone = max_unless && *max_unless >= fts;
        if (in_time && !undone) fire = true;
      }
      if (fire) Emit(r, *x.key, true, y.ts_ms, "null");
    }
    if (x.unless && State(r, *x.key)) Emit(r, *x.key, false, y.ts_ms, "null");
  }
}

bool Reference::Eval(const std::string& id, const std::string& key, int depth) const {
  if (depth > 64) Fail("composite nesting too deep (a cycle?)");
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return false;  // disabled (or unknown): never firing
  const RuleSpec& s = *rules_[it->second].spec;
  if (!IsComposite(s.kind)) return State(it->second, key);
  bool all = true, any = false;
  for (const std::string& child : s.children) {
    bool f = Eval(child, key, depth + 1);
    all = all && f;
    any = any || f;
  }
  return s.kind == RuleKind::kAllOf ? all : any;
}

void Reference::EvaluateComposites(int64_t t) {
  std::set<std::string> keys;
  for (const auto& states : firing_) {
    for (const auto& [key, f] : states) keys.insert(key);
  }
  for (size_t ri = 0; ri < rules_.size(); ++ri) {
    int r = static_cast<int>(ri);
    if (!IsComposite(rules_[r].spec->kind)) continue;
    for (const std::string& key : keys) {
      bool now = Eval(rules_[r].id, key, 0);
      if (now != State(r, key)) Emit(r, key, now, t, "null");
    }
  }
}

bool Reference::State(int r, const std::string& key) const {
  auto it = firing_[r].find(key);
  return it != firing_[r].end() && it->second;
}

void Reference::Emit(int r, const std::string& key, bool firing, int64_t at,
                     const std::string& value) {
  firing_[r][key] = firing;
  RefTransition t;
  t.rule = rules_[r].id;
  t.key = key;
  t.firing = firing;
  t.at_ms = at;
  t.has_value = rules_[r].spec->kind == RuleKind::kThreshold;
  t.value = value;
  t.threshold = t.has_value ? ThresholdText(r) : "null";
  out_.push_back(std::move(t));
}

std::string Reference::ValueText(int r, Int128 v) const {
  if (rules_[r].spec->aggregate == Aggregate::kSum) return "\"" + ScaledText(v, 2) + "\"";
  return IntText(v);
}

std::string Reference::ThresholdText(int r) const {
  const Fraction& t = rules_[r].threshold;
  if (rules_[r].spec->aggregate == Aggregate::kSum) {
    return "\"" + ScaledText(CeilDiv(CheckedMul(t.num, 100), t.den), 2) + "\"";
  }
  return IntText(CeilDiv(t.num, t.den));
}

}  // namespace

RefResult RunReference(const EngineConfig& config, const std::vector<std::string>& lines,
                       const ReferenceOptions& options) {
  return Reference(config, options).Run(lines);
}

std::string RefTransitionText(const RefTransition& t) {
  return t.rule + " " + t.key + " " + (t.firing ? "firing" : "resolved") + " " +
         std::to_string(t.at_ms) + " " + t.value + " " + t.threshold;
}

bool IsBlankLine(const std::string& line) {
  return line.find_first_not_of(" \t\r") == std::string::npos;
}

}  // namespace abusewatch::testing
