// Exact non-negative decimal arithmetic for money and ratios. Never uses binary floating point.
//
// A Decimal is mantissa / 10^scale with a non-negative 128-bit mantissa. Money in the engine is
// integer fen (1/100 of the base currency unit) held in int64_t or __int128.
// All functions are pure and thread-compatible.
#ifndef ABUSEWATCH_DETECTORS_DECIMAL_H_
#define ABUSEWATCH_DETECTORS_DECIMAL_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace abusewatch {

using Int128 = __int128;
using UInt128 = unsigned __int128;

struct Decimal {
  UInt128 mantissa = 0;
  int scale = 0;  // number of fractional digits, 0..kMaxScale
  static constexpr int kMaxScale = 18;
};

// Limits for parsing. `max_scale`: most fractional digits accepted; `max_int_digits`: most digits
// before the point.
struct DecimalLimits {
  int max_scale = 9;
  int max_int_digits = 18;
};

// Parses `[0-9]+(\.[0-9]+)?` exactly (no sign, no exponent, no leading '+', no surrounding
// spaces). Leading zeros are allowed. Returns false when the text is not of that form or breaks
// `limits`. Trailing zeros in the fraction count toward the scale ("1.50" has scale 2).
bool ParseDecimal(std::string_view text, const DecimalLimits& limits, Decimal* out);

// Three-way exact comparison: -1, 0 or 1.
int CompareDecimal(const Decimal& a, const Decimal& b);

// a * b exactly (scales add). Returns false on overflow of the 128-bit mantissa or scale limit.
bool MultiplyDecimal(const Decimal& a, const Decimal& b, Decimal* out);

// Smallest integer n with n >= value * 10^digits (ceiling), saturating at INT64_MAX.
int64_t CeilScaled(const Decimal& value, int digits);
// The same without the int64 limit (saturating at the Int128 maximum).
Int128 CeilScaledWide(const Decimal& value, int digits);

// value * 10^digits rounded half-up to an integer. Returns false when the result exceeds
// `max_result`.
bool RoundHalfUpScaled(const Decimal& value, int digits, UInt128 max_result, UInt128* out);

// Compares a * b against c * d exactly, where each product saturates on overflow (sufficient
// when one side is known to be far below 2^127). Returns -1, 0 or 1.
int CompareProducts(UInt128 a, UInt128 b, UInt128 c, UInt128 d);

// 10^n for n in [0, 38]; saturates beyond.
UInt128 Pow10(int n);

// "1234.5" style text with exactly `scale` fractional digits for a scaled integer value.
std::string FormatScaled(Int128 value, int scale);
// Canonical text of a decimal with trailing fractional zeros kept as parsed.
std::string FormatDecimal(const Decimal& d);
// Integer to text (supports __int128).
std::string FormatInt(Int128 value);

}  // namespace abusewatch

#endif  // ABUSEWATCH_DETECTORS_DECIMAL_H_
