// Rule declarations (spec/rules.md) as plain data: what config/ produces from YAML and what
// the engine compiles. No YAML here; tests may build these directly.
#ifndef ABUSEWATCH_DETECTORS_RULE_SPEC_H_
#define ABUSEWATCH_DETECTORS_RULE_SPEC_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "detectors/decimal.h"
#include "detectors/event.h"

namespace abusewatch {

// Where a declaration came from, for messages ("pack.yaml:12:5").
struct SourcePos {
  std::string file;
  int line = 0;    // 1-based; 0 when unknown
  int column = 0;  // 1-based
  std::string ToString() const;
};

struct Condition {
  enum class Op : uint8_t { kEquals, kOneOf, kContainsAny, kRange };
  FieldId field = FieldId::kId;
  Op op = Op::kEquals;
  std::vector<std::string> strings;         // kEquals / kOneOf on strings, kContainsAny
  bool bool_value = false;                  // kEquals on bool fields
  Decimal number;                           // kEquals on decimal fields
  std::optional<Decimal> gt, gte, lt, lte;  // kRange
};

struct Selector {
  uint32_t type_mask = 0;  // bit i: EventType i
  std::vector<Condition> where;
  bool Matches(EventType t) const { return (type_mask >> static_cast<int>(t)) & 1u; }
};

enum class RuleKind : uint8_t { kThreshold, kAbsence, kSequence, kAllOf, kAnyOf };
enum class Aggregate : uint8_t { kCount, kSum, kDistinct };
enum class Severity : uint8_t { kInfo, kWarning, kCritical };

std::string_view RuleKindName(RuleKind k);
std::string_view AggregateName(Aggregate a);
std::string_view SeverityName(Severity s);

struct RuleSpec {
  std::string id;
  RuleKind kind = RuleKind::kThreshold;
  FieldId group_by = FieldId::kAccount;
  Severity severity = Severity::kWarning;
  std::string basis;
  std::string explain_zh;
  std::string explain_en;
  bool notify = true;
  bool enabled = true;
  SourcePos pos;

  // threshold
  Selector select;
  Aggregate aggregate = Aggregate::kCount;
  FieldId field = FieldId::kAmount;  // sum: amount; distinct: the counted field
  int64_t window_ms = 0;
  int64_t granularity_ms = 1000;
  Decimal threshold;
  std::optional<Selector> reset_on;
  std::vector<Decimal> warn_at;  // fractions in (0, 1)

  // absence: trigger / expect / within;  sequence: first / then / within / after / unless
  Selector trigger, expect, first, then;
  std::optional<Selector> unless;
  int64_t within_ms = 0;
  int64_t after_ms = 0;

  // all_of / any_of
  std::vector<std::string> children;
};

struct EngineConfig {
  int64_t timezone_offset_ms = 0;
  std::string timezone_text = "Z";
  std::string base_currency = "CNY";
  // 1 unit of the currency = rate × 1 unit of the base currency.
  std::map<std::string, Decimal> currency_rates;
  int64_t allowed_lateness_ms = 30'000;
  int64_t max_event_bytes = 65'536;
  int64_t dedup_horizon_ms = 730 * 86'400'000LL;
  std::vector<RuleSpec> rules;
};

}  // namespace abusewatch

#endif  // ABUSEWATCH_DETECTORS_RULE_SPEC_H_
