// Selector matching and exact numbers for the brute-force reference engine (tests only).
//
// Written from spec/rules.md and spec/events.md alone, independent of the engine's selector
// code: numbers are exact fractions of checked 128-bit integers (the reference aborts with a
// message rather than silently overflowing; generated inputs stay far below the limits).
#ifndef ABUSEWATCH_TESTS_REFERENCE_REFERENCE_SELECTOR_H_
#define ABUSEWATCH_TESTS_REFERENCE_REFERENCE_SELECTOR_H_

#include <optional>
#include <string>
#include <vector>

#include "detectors/decimal.h"
#include "detectors/event.h"
#include "detectors/rule_spec.h"

namespace abusewatch::testing::ref {

// An exact non-negative rational num / den with den > 0.
struct Fraction {
  Int128 num = 0;
  Int128 den = 1;
};

Fraction FromDecimal(const Decimal& d);
// -1, 0 or 1.
int CompareFractions(const Fraction& a, const Fraction& b);
// Checked product; aborts the process with a message on overflow.
Int128 CheckedMul(Int128 a, Int128 b);
// Decimal text of an integer and of a scaled integer ("12.30" for (1230, 2)).
std::string IntText(Int128 v);
std::string ScaledText(Int128 v, int scale);

// The numeric value of `f` in `e` per rules.md: `amount` in base currency (2 digits),
// `list_price`, `fee_rate`, and `price_ratio` = amount in the event's own currency divided by
// list_price (absent when list_price is absent or zero).
std::optional<Fraction> NumericValue(const Event& e, FieldId f);

bool ConditionHolds(const Condition& c, const Event& e);
bool SelectorMatches(const Selector& s, const Event& e);

// The alert key of `e` for `group_by`: the string field's value; nullopt when absent or empty.
std::optional<std::string> GroupKey(const Event& e, FieldId group_by);

// The non-empty values of `f` for `distinct` (array fields: each element).
std::vector<std::string> DistinctValues(const Event& e, FieldId f);

}  // namespace abusewatch::testing::ref

#endif  // ABUSEWATCH_TESTS_REFERENCE_REFERENCE_SELECTOR_H_
