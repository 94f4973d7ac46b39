#include "tests/reference/reference_selector.h"

#include <cstdio>
#include <cstdlib>

namespace abusewatch::testing::ref {
namespace {

Int128 Power10(int n) {
  Int128 r = 1;
  for (int i = 0; i < n; ++i) r = CheckedMul(r, 10);
  return r;
}

// All string values of a string or string-array field (present values only).
std::vector<std::string> StringValues(const Event& e, FieldId f) {
  std::vector<std::string> out;
  if (!e.Has(f)) return out;
  if (TypeOfField(f) == FieldType::kStringArray) {
    for (size_t i = 0; i < e.ArraySize(f); ++i) out.emplace_back(e.ArrayElement(f, i));
  } else if (TypeOfField(f) == FieldType::kString) {
    out.emplace_back(e.Str(f));
  }
  return out;
}

bool Contains(const std::vector<std::string>& set, const std::string& v) {
  for (const std::string& s : set) {
    if (s == v) return true;
  }
  return false;
}

bool RangeHolds(const Condition& c, const Fraction& v) {
  if (c.gt && !(CompareFractions(v, FromDecimal(*c.gt)) > 0)) return false;
  if (c.gte && !(CompareFractions(v, FromDecimal(*c.gte)) >= 0)) return false;
  if (c.lt && !(CompareFractions(v, FromDecimal(*c.lt)) < 0)) return false;
  if (c.lte && !(CompareFractions(v, FromDecimal(*c.lte)) <= 0)) return false;
  return true;
}

}  // namespace

Int128 CheckedMul(Int128 a, Int128 b) {
  Int128 r;
  if (__builtin_mul_overflow(a, b, &r)) {
    std::fprintf(stderr, "reference engine: 128-bit overflow in an exact product\n");
    std::abort();
  }
  return r;
}

Fraction FromDecimal(const Decimal& d) {
  if (d.mantissa > static_cast<UInt128>(Power10(36))) {
    std::fprintf(stderr, "reference engine: decimal too large\n");
    std::abort();
  }
  return Fraction{static_cast<Int128>(d.mantissa), Power10(d.scale)};
}

int CompareFractions(const Fraction& a, const Fraction& b) {
  Int128 l = CheckedMul(a.num, b.den);
  Int128 r = CheckedMul(b.num, a.den);
  return l < r ? -1 : (l > r ? 1 : 0);
}

std::string IntText(Int128 v) {
  if (v == 0) return "0";
  bool negative = v < 0;
  std::string digits;
  while (v != 0) {
    int d = static_cast<int>(v % 10);
    digits.insert(digits.begin(), static_cast<char>('0' + (d < 0 ? -d : d)));
    v /= 10;
  }
  return negative ? "-" + digits : digits;
}

std::string ScaledText(Int128 v, int scale) {
  bool negative = v < 0;
  std::string digits = IntText(negative ? -v : v);
  while (static_cast<int>(digits.size()) <= scale) digits.insert(digits.begin(), '0');
  if (scale > 0) digits.insert(digits.end() - scale, '.');
  return negative ? "-" + digits : digits;
}

std::optional<Fraction> NumericValue(const Event& e, FieldId f) {
  switch (f) {
    case FieldId::kAmount:
      if (e.type != EventType::kPayment) return std::nullopt;
      return Fraction{e.amount_base_fen, 100};
    case FieldId::kListPrice:
      if (!e.list_price) return std::nullopt;
      return FromDecimal(*e.list_price);
    case FieldId::kFeeRate:
      if (!e.fee_rate) return std::nullopt;
      return FromDecimal(*e.fee_rate);
    case FieldId::kPriceRatio: {
      if (e.type != EventType::kPayment || !e.list_price || e.list_price->mantissa == 0) {
        return std::nullopt;
      }
      // (amount_fen / 100) / (m / 10^s) = amount_fen * 10^s / (100 * m)
      Fraction price = FromDecimal(*e.list_price);
      return Fraction{CheckedMul(e.amount_fen, price.den), CheckedMul(100, price.num)};
    }
    default:
      return std::nullopt;
  }
}

bool ConditionHolds(const Condition& c, const Event& e) {
  FieldType type = TypeOfField(c.field);
  switch (c.op) {
    case Condition::Op::kEquals:
      if (type == FieldType::kBool) {
        // Only `verified` is a bool; it exists on the types that carry it (with its default).
        return e.has_verified && e.verified == c.bool_value;
      }
      if (type == FieldType::kDecimal) {
        std::optional<Fraction> v = NumericValue(e, c.field);
        return v && CompareFractions(*v, FromDecimal(c.number)) == 0;
      }
      if (type == FieldType::kString) {
        return e.Has(c.field) && !c.strings.empty() && std::string(e.Str(c.field)) == c.strings[0];
      }
      return false;  // not a form the generator or the spec uses
    case Condition::Op::kOneOf:
      if (type != FieldType::kString || !e.Has(c.field)) return false;
      return Contains(c.strings, std::string(e.Str(c.field)));
    case Condition::Op::kContainsAny:
      if (type != FieldType::kStringArray) return false;
      for (const std::string& v : StringValues(e, c.field)) {
        if (Contains(c.strings, v)) return true;
      }
      return false;
    case Condition::Op::kRange: {
      if (type != FieldType::kDecimal) return false;
      std::optional<Fraction> v = NumericValue(e, c.field);
      return v && RangeHolds(c, *v);
    }
  }
  return false;
}

bool SelectorMatches(const Selector& s, const Event& e) {
  if (((s.type_mask >> static_cast<int>(e.type)) & 1u) == 0) return false;
  for (const Condition& c : s.where) {
    if (!ConditionHolds(c, e)) return false;
  }
  return true;
}

std::optional<std::string> GroupKey(const Event& e, FieldId group_by) {
  if (TypeOfField(group_by) != FieldType::kString || !e.Has(group_by)) return std::nullopt;
  std::string v(e.Str(group_by));
  if (v.empty()) return std::nullopt;
  return v;
}

std::vector<std::string> DistinctValues(const Event& e, FieldId f) {
  std::vector<std::string> out;
  for (std::string& v : StringValues(e, f)) {
    if (!v.empty()) out.push_back(std::move(v));
  }
  return out;
}

}  // namespace abusewatch::testing::ref
