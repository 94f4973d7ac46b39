// Small helpers to build RuleSpec / Selector / Condition values directly as structs, for the
// reference self-tests and the random config generator. Tests only.
//
// The helpers of tests/reference live in namespace abusewatch::testing::ref, apart from the
// other test suites' utilities in abusewatch::testing (aw_reference is linked into them).
#ifndef ABUSEWATCH_TESTS_REFERENCE_SPEC_BUILDER_H_
#define ABUSEWATCH_TESTS_REFERENCE_SPEC_BUILDER_H_

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "detectors/decimal.h"
#include "detectors/event.h"
#include "detectors/rule_spec.h"

namespace abusewatch::testing::ref {

// "12.50" -> Decimal{1250, 2}. Aborts on text that is not [0-9]+(.[0-9]+)?.
Decimal Dec(std::string_view text);

Selector Sel(std::initializer_list<EventType> types, std::vector<Condition> where = {});
Condition Eq(FieldId f, std::string value);
Condition EqBool(FieldId f, bool value);
Condition EqNumber(FieldId f, std::string_view decimal);
Condition OneOf(FieldId f, std::vector<std::string> values);
Condition Any(FieldId f, std::vector<std::string> values);
// Empty strings leave a bound unset.
Condition Range(FieldId f, std::string_view gt, std::string_view gte, std::string_view lt,
                std::string_view lte);

RuleSpec Threshold(std::string id, Aggregate aggregate, Selector select, int64_t window_ms,
                   int64_t granularity_ms, std::string_view threshold);
RuleSpec Absence(std::string id, Selector trigger, Selector expect, int64_t within_ms);
RuleSpec Sequence(std::string id, Selector first, Selector then, int64_t within_ms,
                  int64_t after_ms = 0);
RuleSpec Composite(std::string id, RuleKind kind, std::vector<std::string> children);

// A config with base currency CNY, USD at 7.10 and the given timezone offset.
EngineConfig BaseConfig(int64_t timezone_offset_ms = 0);

// The config as YAML in the shape of spec/rules.md (for failure messages and reproduction).
std::string ConfigToYaml(const EngineConfig& config);

}  // namespace abusewatch::testing::ref

#endif  // ABUSEWATCH_TESTS_REFERENCE_SPEC_BUILDER_H_
