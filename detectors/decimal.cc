#include "detectors/decimal.h"

#include <algorithm>
#include <limits>

namespace abusewatch {
namespace {

constexpr UInt128 kMaxU128 = ~UInt128{0};

UInt128 SatMul(UInt128 a, UInt128 b) {
  UInt128 r;
  if (__builtin_mul_overflow(a, b, &r)) return kMaxU128;
  return r;
}

}  // namespace

UInt128 Pow10(int n) {
  UInt128 r = 1;
  for (int i = 0; i < n; ++i) r = SatMul(r, 10);
  return r;
}

bool ParseDecimal(std::string_view text, const DecimalLimits& limits, Decimal* out) {
  size_t i = 0;
  UInt128 m = 0;
  int int_digits = 0;
  auto push_digit = [&m](char c) {
    return !__builtin_mul_overflow(m, UInt128{10}, &m) &&
           !__builtin_add_overflow(m, static_cast<UInt128>(c - '0'), &m);
  };
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    if (!push_digit(text[i])) return false;
    ++int_digits;
    ++i;
  }
  if (int_digits == 0) return false;
  // Leading zeros do not count toward the integer-digit limit.
  size_t first_nonzero = 0;
  while (first_nonzero + 1 < static_cast<size_t>(int_digits) && text[first_nonzero] == '0') {
    ++first_nonzero;
  }
  if (int_digits - static_cast<int>(first_nonzero) > limits.max_int_digits) return false;
  int scale = 0;
  if (i < text.size()) {
    if (text[i] != '.') return false;
    ++i;
    if (i == text.size()) return false;
    while (i < text.size()) {
      char c = text[i];
      if (c < '0' || c > '9') return false;
      if (++scale > limits.max_scale || scale > Decimal::kMaxScale) return false;
      if (!push_digit(c)) return false;
      ++i;
    }
  }
  out->mantissa = m;
  out->scale = scale;
  return true;
}

int CompareDecimal(const Decimal& a, const Decimal& b) {
  // Integer parts first, then the fractions at a common scale (< 10^36: no overflow).
  const UInt128 ad = Pow10(a.scale), bd = Pow10(b.scale);
  const UInt128 ai = a.mantissa / ad, bi = b.mantissa / bd;
  if (ai != bi) return ai < bi ? -1 : 1;
  const int s = std::max(a.scale, b.scale);
  const UInt128 af = (a.mantissa % ad) * Pow10(s - a.scale);
  const UInt128 bf = (b.mantissa % bd) * Pow10(s - b.scale);
  return af < bf ? -1 : (af > bf ? 1 : 0);
}

bool MultiplyDecimal(const Decimal& a, const Decimal& b, Decimal* out) {
  UInt128 m;
  if (__builtin_mul_overflow(a.mantissa, b.mantissa, &m)) return false;
  int scale = a.scale + b.scale;
  // Drop trailing zeros beyond the maximal scale if possible.
  while (scale > Decimal::kMaxScale && m % 10 == 0) {
    m /= 10;
    --scale;
  }
  if (scale > Decimal::kMaxScale) return false;
  out->mantissa = m;
  out->scale = scale;
  return true;
}

Int128 CeilScaledWide(const Decimal& value, int digits) {
  UInt128 r;
  if (digits >= value.scale) {
    r = SatMul(value.mantissa, Pow10(digits - value.scale));
  } else {
    UInt128 div = Pow10(value.scale - digits);
    r = value.mantissa / div + (value.mantissa % div != 0 ? 1 : 0);
  }
  constexpr UInt128 kMax = ~UInt128{0} >> 1;
  return static_cast<Int128>(std::min(r, kMax));
}

int64_t CeilScaled(const Decimal& value, int digits) {
  UInt128 m = value.mantissa;
  UInt128 r;
  if (digits >= value.scale) {
    r = SatMul(m, Pow10(digits - value.scale));
  } else {
    UInt128 div = Pow10(value.scale - digits);
    r = m / div + (m % div != 0 ? 1 : 0);
  }
  constexpr UInt128 kMax = static_cast<UInt128>(std::numeric_limits<int64_t>::max());
  return static_cast<int64_t>(std::min(r, kMax));
}

bool RoundHalfUpScaled(const Decimal& value, int digits, UInt128 max_result, UInt128* out) {
  UInt128 r;
  if (digits >= value.scale) {
    r = SatMul(value.mantissa, Pow10(digits - value.scale));
  } else {
    UInt128 div = Pow10(value.scale - digits);
    UInt128 rem = value.mantissa % div;
    r = value.mantissa / div + (rem * 2 >= div ? 1 : 0);
  }
  if (r > max_result) return false;
  *out = r;
  return true;
}

int CompareProducts(UInt128 a, UInt128 b, UInt128 c, UInt128 d) {
  UInt128 l = SatMul(a, b);
  UInt128 r = SatMul(c, d);
  return l < r ? -1 : (l > r ? 1 : 0);
}

namespace {

std::string FormatUnsigned(UInt128 v) {
  if (v == 0) return "0";
  char buf[48];
  int n = 0;
  while (v > 0) {
    buf[n++] = static_cast<char>('0' + static_cast<int>(v % 10));
    v /= 10;
  }
  std::string s;
  while (n > 0) s.push_back(buf[--n]);
  return s;
}

UInt128 Magnitude(Int128 value) {
  return value < 0 ? static_cast<UInt128>(-(value + 1)) + 1 : static_cast<UInt128>(value);
}

std::string FormatUnsignedScaled(UInt128 v, int scale) {
  std::string digits = FormatUnsigned(v);
  if (scale > 0) {
    if (static_cast<int>(digits.size()) <= scale) {
      digits.insert(0, static_cast<size_t>(scale + 1 - static_cast<int>(digits.size())), '0');
    }
    digits.insert(digits.size() - static_cast<size_t>(scale), 1, '.');
  }
  return digits;
}

}  // namespace

std::string FormatInt(Int128 value) {
  return (value < 0 ? "-" : "") + FormatUnsigned(Magnitude(value));
}

std::string FormatScaled(Int128 value, int scale) {
  return (value < 0 ? "-" : "") + FormatUnsignedScaled(Magnitude(value), scale);
}

std::string FormatDecimal(const Decimal& d) { return FormatUnsignedScaled(d.mantissa, d.scale); }

}  // namespace abusewatch
