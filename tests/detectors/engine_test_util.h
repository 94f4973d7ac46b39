// Helpers for engine tests: rule specs built in code, events as JSON, transitions as text.
#ifndef ABUSEWATCH_TESTS_DETECTORS_ENGINE_TEST_UTIL_H_
#define ABUSEWATCH_TESTS_DETECTORS_ENGINE_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "detectors/engine.h"
#include "detectors/timeutil.h"

namespace abusewatch::testing {

inline int64_t T(const std::string& rfc3339) {
  int64_t ms = 0;
  EXPECT_TRUE(ParseRfc3339(rfc3339, &ms)) << rfc3339;
  return ms;
}

inline Decimal D(const std::string& text) {
  Decimal d;
  EXPECT_TRUE(ParseDecimal(text, DecimalLimits{9, 18}, &d)) << text;
  return d;
}

inline Selector Sel(std::initializer_list<EventType> types, std::vector<Condition> where = {}) {
  Selector s;
  for (EventType t : types) s.type_mask |= 1u << static_cast<int>(t);
  s.where = std::move(where);
  return s;
}

inline Condition Is(FieldId f, std::vector<std::string> values) {
  Condition c;
  c.field = f;
  c.op = values.size() == 1 ? Condition::Op::kEquals : Condition::Op::kOneOf;
  c.strings = std::move(values);
  return c;
}

inline Condition IsTrue(FieldId f) {
  Condition c;
  c.field = f;
  c.op = Condition::Op::kEquals;
  c.bool_value = true;
  return c;
}

inline RuleSpec Threshold(std::string id, Selector select, Aggregate agg, int64_t window,
                          int64_t gran, std::string threshold) {
  RuleSpec r;
  r.id = std::move(id);
  r.kind = RuleKind::kThreshold;
  r.select = std::move(select);
  r.aggregate = agg;
  r.field = agg == Aggregate::kDistinct ? FieldId::kSubject : FieldId::kAmount;
  r.window_ms = window;
  r.granularity_ms = gran;
  r.threshold = D(threshold);
  return r;
}

struct Recorder : TransitionSink {
  std::vector<std::string> lines;
  void OnTransition(const Transition& t, const RuleSet& rules) override {
    const CompiledRule& r = rules.rules()[t.rule];
    std::string v;
    if (t.has_value) {
      v = r.spec.aggregate == Aggregate::kSum ? FormatScaled(t.value, 2) : FormatInt(t.value);
    }
    lines.push_back(r.spec.id + " " + t.key + " " + (t.firing ? "firing" : "resolved") + " " +
                    FormatRfc3339Utc(t.at_ms) + (v.empty() ? "" : " " + v));
  }
};

struct RunResult {
  std::vector<std::string> transitions;
  std::vector<std::string> rejects;  // "<line> <reason>"
};

inline RunResult RunEngine(EngineConfig config, const std::vector<std::string>& lines) {
  std::shared_ptr<const RuleSet> rules;
  Status s = RuleSet::Compile(std::move(config), &rules);
  EXPECT_TRUE(s.ok()) << s.message();
  RunResult out;
  if (!s.ok()) return out;
  Recorder rec;
  Engine engine(rules, &rec);
  Rejection rej;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (!engine.Offer(lines[i], &rej)) {
      out.rejects.push_back(std::to_string(i + 1) + " " +
                            std::string(RejectReasonName(rej.reason)));
    }
  }
  engine.Finish();
  out.transitions = rec.lines;
  return out;
}

// {"id":id,"type":type,"ts":ts,"account":account, extra...}
inline std::string Ev(const std::string& id, const std::string& type, const std::string& ts,
                      const std::string& account, const std::string& extra = "") {
  return "{\"id\":\"" + id + "\",\"type\":\"" + type + "\",\"ts\":\"" + ts + "\",\"account\":\"" +
         account + "\"" + (extra.empty() ? "" : "," + extra) + "}";
}

inline EngineConfig BaseConfig() {
  EngineConfig c;
  c.timezone_offset_ms = 8 * 3'600'000;
  c.allowed_lateness_ms = 30'000;
  c.currency_rates["USD"] = D("7.10");
  return c;
}

}  // namespace abusewatch::testing

#endif  // ABUSEWATCH_TESTS_DETECTORS_ENGINE_TEST_UTIL_H_
