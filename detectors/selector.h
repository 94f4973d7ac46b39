// Selector matching (rules.md "A selector is ...") over decoded events. Pure functions.
#ifndef ABUSEWATCH_DETECTORS_SELECTOR_H_
#define ABUSEWATCH_DETECTORS_SELECTOR_H_

#include <string_view>

#include "detectors/event.h"
#include "detectors/rule_spec.h"

namespace abusewatch {

// True when `e`'s type is one of the selector's streams and every condition holds.
bool MatchSelector(const Selector& s, const Event& e);

// One `where` condition. A condition on a field the event does not have does not hold.
bool MatchCondition(const Condition& c, const Event& e);

// Value of a string field used as a group key; empty when absent (such events are skipped).
inline std::string_view GroupValue(const Event& e, FieldId f) {
  if (f == FieldId::kType) return EventTypeName(e.type);
  return e.Has(f) ? e.Str(f) : std::string_view();
}

// Exact three-way comparison of the event's price_ratio (amount / list_price, both in the
// event's own currency) with `c`. Returns false (no comparison) when price_ratio is absent.
bool ComparePriceRatio(const Event& e, const Decimal& c, int* cmp);

}  // namespace abusewatch

#endif  // ABUSEWATCH_DETECTORS_SELECTOR_H_
