// Test helpers for the sink tests: a two-rule set and transitions built by hand.
#ifndef ABUSEWATCH_TESTS_DAEMON_SINK_TEST_UTIL_H_
#define ABUSEWATCH_TESTS_DAEMON_SINK_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "detectors/decimal.h"
#include "detectors/rule_set.h"
#include "detectors/transition.h"

namespace abusewatch::test {

// Rules: 0 art287_2_case (notify: true), 1 art12_2_settlement (notify: false); each a count of
// payments >= 3 over 1 h, basis "刑法 287-2".
inline std::shared_ptr<const RuleSet> TwoRules() {
  EngineConfig c;
  for (bool notify : {true, false}) {
    RuleSpec r;
    r.id = notify ? "art287_2_case" : "art12_2_settlement";
    r.kind = RuleKind::kThreshold;
    r.select.type_mask = 1u << static_cast<int>(EventType::kPayment);
    r.aggregate = Aggregate::kCount;
    r.window_ms = 3'600'000;
    r.granularity_ms = 1000;
    EXPECT_TRUE(ParseDecimal("3", DecimalLimits{9, 18}, &r.threshold));
    r.notify = notify;
    r.basis = "刑法 287-2";
    c.rules.push_back(r);
  }
  std::shared_ptr<const RuleSet> rules;
  Status s = RuleSet::Compile(std::move(c), &rules);
  EXPECT_TRUE(s.ok()) << s.message();
  return rules;
}

inline Transition MakeTransition(const RuleSet& rules, std::string_view rule, std::string key,
                                 bool firing, int64_t at_ms, int64_t value,
                                 std::vector<std::string> events) {
  Transition t;
  t.rule = rules.Find(rule);
  EXPECT_GE(t.rule, 0) << rule;
  t.key = std::move(key);
  t.firing = firing;
  t.at_ms = at_ms;
  t.has_value = true;
  t.value = value;
  t.events = std::move(events);
  return t;
}

}  // namespace abusewatch::test

#endif  // ABUSEWATCH_TESTS_DAEMON_SINK_TEST_UTIL_H_
