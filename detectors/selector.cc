#include "detectors/selector.h"

namespace abusewatch {
namespace {

bool RangeHolds(const Condition& c, int cmp_gt, int cmp_gte, int cmp_lt, int cmp_lte) {
  return (!c.gt || cmp_gt > 0) && (!c.gte || cmp_gte >= 0) && (!c.lt || cmp_lt < 0) &&
         (!c.lte || cmp_lte <= 0);
}

bool MatchNumeric(const Condition& c, const Event& e) {
  if (c.field == FieldId::kPriceRatio) {
    int cmp = 0;
    auto cmp_with = [&](const std::optional<Decimal>& d) {
      int r = 0;
      if (d) ComparePriceRatio(e, *d, &r);
      return r;
    };
    if (!ComparePriceRatio(e, Decimal{}, &cmp)) return false;  // absent
    if (c.op == Condition::Op::kEquals) {
      ComparePriceRatio(e, c.number, &cmp);
      return cmp == 0;
    }
    return RangeHolds(c, cmp_with(c.gt), cmp_with(c.gte), cmp_with(c.lt), cmp_with(c.lte));
  }
  std::optional<Decimal> v = e.NumericField(c.field);
  if (!v) return false;
  if (c.op == Condition::Op::kEquals) return CompareDecimal(*v, c.number) == 0;
  auto cmp_with = [&](const std::optional<Decimal>& d) { return d ? CompareDecimal(*v, *d) : 0; };
  return RangeHolds(c, cmp_with(c.gt), cmp_with(c.gte), cmp_with(c.lt), cmp_with(c.lte));
}

}  // namespace

bool ComparePriceRatio(const Event& e, const Decimal& c, int* cmp) {
  if (e.type != EventType::kPayment || !e.list_price || e.list_price->mantissa == 0) return false;
  // amount_fen/100 / (lp/10^s)  vs  cm/10^t   <=>   amount_fen * 10^s * 10^t  vs  cm * 100 * lp
  const Decimal& lp = *e.list_price;
  UInt128 lhs = static_cast<UInt128>(e.amount_fen) * Pow10(lp.scale);
  *cmp = CompareProducts(lhs, Pow10(c.scale), c.mantissa * 100, lp.mantissa);
  return true;
}

bool MatchCondition(const Condition& c, const Event& e) {
  switch (TypeOfField(c.field)) {
    case FieldType::kBool:
      return e.has_verified && c.field == FieldId::kVerified && e.verified == c.bool_value;
    case FieldType::kDecimal:
      return MatchNumeric(c, e);
    case FieldType::kStringArray: {
      size_t n = e.ArraySize(c.field);
      for (size_t i = 0; i < n; ++i) {
        std::string_view el = e.ArrayElement(c.field, i);
        for (const std::string& s : c.strings) {
          if (s == el) return true;
        }
      }
      return false;
    }
    case FieldType::kString: {
      std::string_view v;
      if (c.field == FieldId::kType) {
        v = EventTypeName(e.type);
      } else {
        if (!e.Has(c.field)) return false;
        v = e.Str(c.field);
      }
      for (const std::string& s : c.strings) {
        if (s == v) return true;
      }
      return false;
    }
  }
  return false;
}

bool MatchSelector(const Selector& s, const Event& e) {
  if (!s.Matches(e.type)) return false;
  for (const Condition& c : s.where) {
    if (!MatchCondition(c, e)) return false;
  }
  return true;
}

}  // namespace abusewatch
