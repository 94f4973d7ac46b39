// Tests for detectors/decimal: exact parsing, comparison, multiplication, rounding and
// formatting, checked by hand and against a digit-string big-decimal written here.
#include "detectors/decimal.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <random>
#include <string>

namespace abusewatch {
namespace {

constexpr UInt128 kMaxU128 = ~UInt128{0};
constexpr Int128 kMaxI128 = static_cast<Int128>(kMaxU128 >> 1);
constexpr Int128 kMinI128 = -kMaxI128 - 1;

// ---- Digit-string arithmetic: slow, obviously correct, independent of decimal.cc. ----

std::string Strip(std::string s) {
  size_t i = 0;
  while (i + 1 < s.size() && s[i] == '0') ++i;
  return s.substr(i);
}

int CompareDigits(const std::string& a0, const std::string& b0) {
  std::string a = Strip(a0), b = Strip(b0);
  if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
  return a < b ? -1 : (a > b ? 1 : 0);
}

std::string MulDigits(const std::string& a, const std::string& b) {
  std::vector<int> r(a.size() + b.size(), 0);
  for (size_t i = a.size(); i-- > 0;) {
    for (size_t j = b.size(); j-- > 0;) r[i + j + 1] += (a[i] - '0') * (b[j] - '0');
  }
  for (size_t k = r.size(); k-- > 1;) {
    r[k - 1] += r[k] / 10;
    r[k] %= 10;
  }
  std::string s;
  for (int d : r) s.push_back(static_cast<char>('0' + d));
  return Strip(s);
}

std::string AddOne(std::string s) {
  size_t i = s.size();
  while (i-- > 0) {
    if (s[i] == '9') {
      s[i] = '0';
    } else {
      ++s[i];
      return s;
    }
  }
  return "1" + s;
}

std::string U128ToDigits(UInt128 v) {
  std::string s;
  do {
    s.insert(s.begin(), static_cast<char>('0' + static_cast<int>(v % 10)));
    v /= 10;
  } while (v != 0);
  return s;
}

UInt128 DigitsToU128(const std::string& s) {
  UInt128 v = 0;
  for (char c : s) v = v * 10 + static_cast<unsigned>(c - '0');
  return v;
}

const std::string& MaxU128Digits() {
  static const std::string s = "340282366920938463463374607431768211455";
  return s;
}

// Integer digits of d * 10^(target - d.scale), target >= d.scale.
std::string AtScale(const Decimal& d, int target) {
  return U128ToDigits(d.mantissa) + std::string(static_cast<size_t>(target - d.scale), '0');
}

int BruteCompare(const Decimal& a, const Decimal& b) {
  int s = std::max(a.scale, b.scale);
  return CompareDigits(AtScale(a, s), AtScale(b, s));
}

// value * 10^digits with the fraction split off: {integer part, fraction digits}.
std::pair<std::string, std::string> Shift(const Decimal& v, int digits) {
  std::string m = U128ToDigits(v.mantissa);
  if (digits >= v.scale) return {m + std::string(static_cast<size_t>(digits - v.scale), '0'), ""};
  size_t cut = static_cast<size_t>(v.scale - digits);
  if (m.size() <= cut) m.insert(0, cut + 1 - m.size(), '0');
  return {Strip(m.substr(0, m.size() - cut)), m.substr(m.size() - cut)};
}

std::string BruteRoundHalfUp(const Decimal& v, int digits) {
  auto [whole, frac] = Shift(v, digits);
  return (!frac.empty() && frac[0] >= '5') ? AddOne(whole) : whole;
}

std::string BruteCeil(const Decimal& v, int digits) {
  auto [whole, frac] = Shift(v, digits);
  return frac.find_first_not_of('0') != std::string::npos ? AddOne(whole) : whole;
}

std::string BruteFormat(const std::string& sign, std::string digits, int scale) {
  digits = Strip(digits);
  if (scale == 0) return sign + digits;
  if (digits.size() <= static_cast<size_t>(scale)) {
    digits.insert(0, static_cast<size_t>(scale) + 1 - digits.size(), '0');
  }
  digits.insert(digits.size() - static_cast<size_t>(scale), 1, '.');
  return sign + digits;
}

Decimal D(std::string_view text) {
  Decimal d;
  EXPECT_TRUE(ParseDecimal(text, DecimalLimits{18, 38}, &d)) << text;
  return d;
}

bool Parses(std::string_view text, DecimalLimits limits = {}) {
  Decimal d;
  return ParseDecimal(text, limits, &d);
}

// ---- Hand-checked cases. ----

TEST(ParseDecimalTest, AcceptedForms) {
  Decimal d;
  ASSERT_TRUE(ParseDecimal("1", {}, &d));
  EXPECT_EQ(d.mantissa, 1u);
  EXPECT_EQ(d.scale, 0);
  ASSERT_TRUE(ParseDecimal("1.5", {}, &d));
  EXPECT_EQ(d.mantissa, 15u);
  EXPECT_EQ(d.scale, 1);
  ASSERT_TRUE(ParseDecimal("01.50", {}, &d));
  EXPECT_EQ(d.mantissa, 150u);
  EXPECT_EQ(d.scale, 2);
  ASSERT_TRUE(ParseDecimal("0", {}, &d));
  EXPECT_EQ(d.mantissa, 0u);
  ASSERT_TRUE(ParseDecimal("0.00", {}, &d));
  EXPECT_EQ(d.mantissa, 0u);
  EXPECT_EQ(d.scale, 2);
  ASSERT_TRUE(ParseDecimal("200000.00", {}, &d));
  EXPECT_EQ(d.mantissa, 20'000'000u);
  EXPECT_EQ(d.scale, 2);
}

TEST(ParseDecimalTest, RejectedForms) {
  for (const char* s : {"",      ".5",  "1.", "-1",   "+1",   "-0",           "1e3",  "1E3",
                        "1.5e2", " 1",  "1 ", "1 .5", "1,5",  "1.2.3",        "0x10", "1_000",
                        "NaN",   "inf", ".",  "..",   "1..2", "\xef\xbc\x91", "１.5"}) {
    EXPECT_FALSE(Parses(s, DecimalLimits{18, 38})) << '"' << s << '"';
  }
  EXPECT_FALSE(Parses(std::string_view("1\0", 2)));
  EXPECT_FALSE(Parses(std::string_view("1.5\0", 4)));
}

TEST(ParseDecimalTest, Limits) {
  EXPECT_TRUE(Parses("1.12", {2, 16}));
  EXPECT_FALSE(Parses("1.123", {2, 16}));
  EXPECT_FALSE(Parses("1.120", {2, 16}));  // trailing zeros count toward the scale
  EXPECT_TRUE(Parses("1234", {2, 4}));
  EXPECT_FALSE(Parses("12345", {2, 4}));
  EXPECT_TRUE(Parses("00001234", {2, 4}));  // leading zeros do not count
  EXPECT_TRUE(Parses("0000", {2, 1}));
  EXPECT_TRUE(Parses("0.5", {2, 1}));
  EXPECT_TRUE(Parses("1000000000000000.00", {2, 16}));  // 10^15 with 2 fractional digits
  EXPECT_FALSE(Parses("10000000000000000", {2, 16}));
  EXPECT_TRUE(Parses("0.123456789012345678", {30, 38}));    // 18 digits: Decimal::kMaxScale
  EXPECT_FALSE(Parses("0.1234567890123456789", {30, 38}));  // 19 digits
  EXPECT_TRUE(Parses(std::string(38, '9'), {0, 38}));
  EXPECT_FALSE(Parses(std::string(39, '9'), {0, 39}));
}

// When a parse succeeds, the value must be exactly the text: no silent 128-bit wraparound,
// whatever the limits allow.
TEST(ParseDecimalTest, NeverWrapsTheMantissa) {
  const std::string text = std::string(30, '9') + "." + std::string(18, '9');
  Decimal d;
  if (ParseDecimal(text, DecimalLimits{18, 38}, &d)) {
    EXPECT_EQ(FormatDecimal(d), text) << "accepted but the value wrapped";
  }
}

TEST(CompareDecimalTest, AcrossScales) {
  EXPECT_EQ(CompareDecimal(D("1.5"), D("1.50")), 0);
  EXPECT_EQ(CompareDecimal(D("1.5"), D("1.49")), 1);
  EXPECT_EQ(CompareDecimal(D("1.49"), D("1.5")), -1);
  EXPECT_EQ(CompareDecimal(D("0"), D("0.000")), 0);
  EXPECT_EQ(CompareDecimal(D("200000"), D("199999.99")), 1);
  EXPECT_EQ(CompareDecimal(D("199999.99"), D("200000.00")), -1);
  EXPECT_EQ(CompareDecimal(D("3"), D("2.999999999999999999")), 1);
  EXPECT_EQ(CompareDecimal(D("0.000000000000000001"), D("0")), 1);
  EXPECT_EQ(CompareDecimal(D(std::string(20, '9')), D("0.000000000000000001")), 1);
}

TEST(CompareDecimalTest, HugeMantissas) {
  // 2^128-1 units is far more than (2^128-1) / 10.
  EXPECT_EQ(CompareDecimal(Decimal{kMaxU128, 0}, Decimal{kMaxU128, 1}), 1);
  EXPECT_EQ(CompareDecimal(Decimal{kMaxU128, 1}, Decimal{kMaxU128, 0}), -1);
  EXPECT_EQ(CompareDecimal(Decimal{kMaxU128 / 2, 0}, Decimal{kMaxU128, 18}), 1);
  EXPECT_EQ(CompareDecimal(Decimal{kMaxU128, 0}, Decimal{kMaxU128, 0}), 0);
}

TEST(MultiplyDecimalTest, ExactProducts) {
  Decimal p;
  ASSERT_TRUE(MultiplyDecimal(D("1408.45"), D("7.10"), &p));
  EXPECT_EQ(FormatDecimal(p), "9999.9950");
  ASSERT_TRUE(MultiplyDecimal(D("1408.44"), D("7.10"), &p));
  EXPECT_EQ(FormatDecimal(p), "9999.9240");
  ASSERT_TRUE(MultiplyDecimal(D("0"), D("7.10"), &p));
  EXPECT_EQ(CompareDecimal(p, D("0")), 0);
  ASSERT_TRUE(MultiplyDecimal(D("200000"), D("0.05"), &p));
  EXPECT_EQ(CompareDecimal(p, D("10000")), 0);
}

TEST(MultiplyDecimalTest, OverflowAndScaleLimit) {
  Decimal p;
  const UInt128 two64 = static_cast<UInt128>(1) << 64;
  EXPECT_FALSE(MultiplyDecimal(Decimal{two64, 0}, Decimal{two64, 0}, &p));
  EXPECT_TRUE(MultiplyDecimal(Decimal{two64 - 1, 0}, Decimal{two64 - 1, 0}, &p));
  EXPECT_FALSE(MultiplyDecimal(Decimal{1, 10}, Decimal{1, 10}, &p));   // 10^-20
  ASSERT_TRUE(MultiplyDecimal(Decimal{100, 10}, Decimal{1, 10}, &p));  // 100 x 10^-20 = 10^-18
  EXPECT_LE(p.scale, Decimal::kMaxScale);
  EXPECT_EQ(CompareDecimal(p, Decimal{1, 18}), 0);
}

TEST(CeilScaledTest, Values) {
  EXPECT_EQ(CeilScaled(D("9999.995"), 2), 1'000'000);
  EXPECT_EQ(CeilScaled(D("1"), 2), 100);
  EXPECT_EQ(CeilScaled(D("200000"), 2), 20'000'000);
  EXPECT_EQ(CeilScaled(D("0.123"), 2), 13);
  EXPECT_EQ(CeilScaled(D("0.120"), 2), 12);
  EXPECT_EQ(CeilScaled(D("0.001"), 2), 1);
  EXPECT_EQ(CeilScaled(D("0.000"), 2), 0);
  EXPECT_EQ(CeilScaled(D("2.5"), 0), 3);
  EXPECT_EQ(CeilScaled(D("3"), 0), 3);
  EXPECT_EQ(CeilScaled(D("1000000000000000000000000000000"), 2),
            std::numeric_limits<int64_t>::max());
  EXPECT_EQ(CeilScaled(Decimal{kMaxU128, 1}, 0), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(CeilScaled(D("92233720368547758.07"), 2), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(CeilScaled(D("92233720368547758.06"), 2), std::numeric_limits<int64_t>::max() - 1);
}

TEST(RoundHalfUpScaledTest, FenRounding) {
  UInt128 out = 0;
  Decimal p;
  ASSERT_TRUE(MultiplyDecimal(D("1408.45"), D("7.10"), &p));
  ASSERT_TRUE(RoundHalfUpScaled(p, 2, kMaxU128, &out));
  EXPECT_EQ(out, 1'000'000u);  // 9999.995 -> 10000.00
  ASSERT_TRUE(MultiplyDecimal(D("1408.44"), D("7.10"), &p));
  ASSERT_TRUE(RoundHalfUpScaled(p, 2, kMaxU128, &out));
  EXPECT_EQ(out, 999'992u);  // 9999.924 -> 9999.92
  struct Case {
    const char* value;
    int digits;
    uint64_t expected;
  } cases[] = {{"0.0049", 2, 0},   {"0.005", 2, 1},
               {"0.0050", 2, 1},   {"0.00499999", 2, 0},
               {"0.015", 2, 2},    {"2.5", 0, 3},
               {"2.4999", 0, 2},   {"3.5", 0, 4},
               {"0.5", 0, 1},      {"0.4", 0, 0},
               {"12.34", 2, 1234}, {"12.3", 2, 1230},
               {"7", 2, 700},      {"0.000000000000000005", 17, 1}};
  for (const Case& c : cases) {
    ASSERT_TRUE(RoundHalfUpScaled(D(c.value), c.digits, kMaxU128, &out)) << c.value;
    EXPECT_EQ(out, c.expected) << c.value << " @" << c.digits;
  }
}

TEST(RoundHalfUpScaledTest, MaxResultIsInclusive) {
  UInt128 out = 0;
  EXPECT_TRUE(RoundHalfUpScaled(D("1000000000000000"), 2, 100'000'000'000'000'000u, &out));
  EXPECT_EQ(out, 100'000'000'000'000'000u);
  EXPECT_FALSE(RoundHalfUpScaled(D("1000000000000000.01"), 2, 100'000'000'000'000'000u, &out));
  EXPECT_FALSE(RoundHalfUpScaled(D("999.995"), 2, 99'999u, &out));  // rounds up past the max
  EXPECT_TRUE(RoundHalfUpScaled(D("999.994"), 2, 99'999u, &out));
  EXPECT_FALSE(RoundHalfUpScaled(Decimal{kMaxU128, 0}, 2, kMaxU128 - 1, &out));
}

TEST(CompareProductsTest, ExactAndSaturating) {
  EXPECT_EQ(CompareProducts(3, 4, 2, 6), 0);
  EXPECT_EQ(CompareProducts(3, 4, 2, 5), 1);
  EXPECT_EQ(CompareProducts(0, kMaxU128, 1, 1), -1);
  const UInt128 two64 = static_cast<UInt128>(1) << 64;
  EXPECT_EQ(CompareProducts(two64, two64, 1'000'000, 1'000'000), 1);  // left saturates
  EXPECT_EQ(CompareProducts(1, 1, kMaxU128, 2), -1);                  // right saturates
  EXPECT_EQ(CompareProducts(two64 - 1, two64 - 1, two64 - 1, two64 - 2), 1);
}

TEST(Pow10Test, ExactThenSaturating) {
  EXPECT_EQ(Pow10(0), 1u);
  EXPECT_EQ(Pow10(2), 100u);
  EXPECT_EQ(U128ToDigits(Pow10(18)), "1" + std::string(18, '0'));
  EXPECT_EQ(U128ToDigits(Pow10(38)), "1" + std::string(38, '0'));
  EXPECT_EQ(Pow10(39), kMaxU128);
}

TEST(FormatTest, FormatScaled) {
  EXPECT_EQ(FormatScaled(12345, 2), "123.45");
  EXPECT_EQ(FormatScaled(5, 2), "0.05");
  EXPECT_EQ(FormatScaled(0, 2), "0.00");
  EXPECT_EQ(FormatScaled(100, 2), "1.00");
  EXPECT_EQ(FormatScaled(-5, 2), "-0.05");
  EXPECT_EQ(FormatScaled(-12345, 2), "-123.45");
  EXPECT_EQ(FormatScaled(100, 0), "100");
  EXPECT_EQ(FormatScaled(-1, 0), "-1");
  EXPECT_EQ(FormatScaled(20'000'000, 2), "200000.00");
  EXPECT_EQ(FormatScaled(kMaxI128, 2), "1701411834604692317316873037158841057.27");
  EXPECT_EQ(FormatScaled(kMinI128, 0), "-170141183460469231731687303715884105728");
  EXPECT_EQ(FormatScaled(kMinI128, 2), "-1701411834604692317316873037158841057.28");
}

TEST(FormatTest, FormatInt) {
  EXPECT_EQ(FormatInt(0), "0");
  EXPECT_EQ(FormatInt(7), "7");
  EXPECT_EQ(FormatInt(-7), "-7");
  EXPECT_EQ(FormatInt(std::numeric_limits<int64_t>::max()), "9223372036854775807");
  EXPECT_EQ(FormatInt(std::numeric_limits<int64_t>::min()), "-9223372036854775808");
  EXPECT_EQ(FormatInt(kMaxI128), "170141183460469231731687303715884105727");
  EXPECT_EQ(FormatInt(kMinI128), "-170141183460469231731687303715884105728");
}

TEST(FormatTest, FormatDecimal) {
  EXPECT_EQ(FormatDecimal(D("1.50")), "1.50");
  EXPECT_EQ(FormatDecimal(D("01.50")), "1.50");
  EXPECT_EQ(FormatDecimal(D("0")), "0");
  EXPECT_EQ(FormatDecimal(D("0.005")), "0.005");
  EXPECT_EQ(FormatDecimal(Decimal{static_cast<UInt128>(1) << 127, 0}),
            "170141183460469231731687303715884105728");
  EXPECT_EQ(FormatDecimal(Decimal{kMaxU128, 2}), "3402823669209384634633746074317682114.55");
}

// ---- Randomized comparison against the digit-string arithmetic. ----

class DecimalRandomTest : public ::testing::Test {
 protected:
  std::string RandomDigits(int max_len) {
    int n = std::uniform_int_distribution<int>(1, max_len)(rng_);
    std::string s;
    for (int i = 0; i < n; ++i) s.push_back(static_cast<char>('0' + Uniform(0, 9)));
    if (Uniform(0, 3) == 0) s.insert(0, "000");  // leading zeros
    return s;
  }
  Decimal RandomDecimal(int max_digits, int max_scale) {
    return Decimal{DigitsToU128(RandomDigits(max_digits)), Uniform(0, max_scale)};
  }
  int Uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }

  std::mt19937_64 rng_{0xdec1a1};
};

TEST_F(DecimalRandomTest, CompareMatchesBruteForce) {
  for (int i = 0; i < 100'000; ++i) {
    Decimal a = RandomDecimal(20, 18);
    // Half of the time compare against a re-scaled copy of a, +-0 or 1 unit in the last place.
    Decimal b = RandomDecimal(20, 18);
    if (i % 2 == 0 && a.scale < 18 && a.mantissa < Pow10(19)) {
      int extra = Uniform(0, 18 - a.scale);
      b = Decimal{a.mantissa * Pow10(extra), a.scale + extra};
      if (Uniform(0, 2) == 1) ++b.mantissa;
      if (Uniform(0, 2) == 1 && b.mantissa > 0) --b.mantissa;
    }
    ASSERT_EQ(CompareDecimal(a, b), BruteCompare(a, b))
        << FormatDecimal(a) << " vs " << FormatDecimal(b);
  }
}

TEST_F(DecimalRandomTest, MultiplyMatchesBruteForce) {
  for (int i = 0; i < 100'000; ++i) {
    Decimal a = RandomDecimal(22, 12), b = RandomDecimal(22, 12);
    std::string exact = MulDigits(U128ToDigits(a.mantissa), U128ToDigits(b.mantissa));
    int scale = a.scale + b.scale;
    // Smallest scale at which the exact product is an integer mantissa.
    int min_scale = exact == "0" ? 0 : scale;
    while (min_scale > 0 &&
           exact[exact.size() - 1 - static_cast<size_t>(scale - min_scale)] == '0') {
      --min_scale;
    }
    bool representable =
        CompareDigits(exact, MaxU128Digits()) <= 0 && min_scale <= Decimal::kMaxScale;
    Decimal p{7, 3};
    bool ok = MultiplyDecimal(a, b, &p);
    ASSERT_EQ(ok, representable) << FormatDecimal(a) << " x " << FormatDecimal(b);
    if (!ok) continue;
    ASSERT_LE(p.scale, Decimal::kMaxScale);
    int s = std::max(scale, p.scale);
    ASSERT_EQ(
        CompareDigits(exact + std::string(static_cast<size_t>(s - scale), '0'), AtScale(p, s)), 0)
        << FormatDecimal(a) << " x " << FormatDecimal(b) << " = " << FormatDecimal(p);
  }
}

TEST_F(DecimalRandomTest, RoundingMatchesBruteForce) {
  for (int i = 0; i < 100'000; ++i) {
    Decimal v = RandomDecimal(24, 18);
    int digits = Uniform(0, 6);
    std::string expected = BruteRoundHalfUp(v, digits);
    UInt128 out = 0;
    if (CompareDigits(expected, MaxU128Digits()) <= 0) {
      UInt128 want = DigitsToU128(expected);
      ASSERT_TRUE(RoundHalfUpScaled(v, digits, kMaxU128, &out)) << FormatDecimal(v);
      ASSERT_EQ(U128ToDigits(out), Strip(expected)) << FormatDecimal(v) << " @" << digits;
      ASSERT_TRUE(RoundHalfUpScaled(v, digits, want, &out));
      if (want > 0) {
        ASSERT_FALSE(RoundHalfUpScaled(v, digits, want - 1, &out)) << FormatDecimal(v);
      }
    }
    std::string ceil = BruteCeil(v, digits);
    int64_t want_ceil = CompareDigits(ceil, "9223372036854775807") > 0
                            ? std::numeric_limits<int64_t>::max()
                            : static_cast<int64_t>(DigitsToU128(ceil));
    ASSERT_EQ(CeilScaled(v, digits), want_ceil) << FormatDecimal(v) << " @" << digits;
  }
}

TEST_F(DecimalRandomTest, CompareProductsMatchesBruteForce) {
  for (int i = 0; i < 50'000; ++i) {
    UInt128 a = DigitsToU128(RandomDigits(19)), b = DigitsToU128(RandomDigits(19));
    UInt128 c = DigitsToU128(RandomDigits(19)), d = DigitsToU128(RandomDigits(19));
    if (i % 3 == 0) {  // equal products with different factors
      c = a * 2;
      d = b;
      b = b * 2;
    }
    ASSERT_EQ(CompareProducts(a, b, c, d),
              CompareDigits(MulDigits(U128ToDigits(a), U128ToDigits(b)),
                            MulDigits(U128ToDigits(c), U128ToDigits(d))));
  }
}

TEST_F(DecimalRandomTest, ParseMatchesGrammarAndFormatRoundTrips) {
  const std::string alphabet = "0123456789..-+e ";
  for (int i = 0; i < 100'000; ++i) {
    int len = Uniform(0, 12);
    std::string s;
    for (int k = 0; k < len; ++k) {
      s.push_back(alphabet[static_cast<size_t>(Uniform(0, static_cast<int>(alphabet.size()) - 1))]);
    }
    if (i % 2 == 0) s = RandomDigits(10) + (Uniform(0, 1) ? "." + RandomDigits(6) : "");
    DecimalLimits limits{Uniform(0, 5), Uniform(1, 8)};
    // Grammar [0-9]+(\.[0-9]+)? plus the limits, checked by hand.
    size_t dot = s.find('.');
    std::string whole = s.substr(0, dot);
    std::string frac = dot == std::string::npos ? "" : s.substr(dot + 1);
    auto all_digits = [](const std::string& t) {
      return !t.empty() && t.find_first_not_of("0123456789") == std::string::npos;
    };
    bool valid = all_digits(whole) && (dot == std::string::npos || all_digits(frac)) &&
                 static_cast<int>(frac.size()) <= limits.max_scale &&
                 static_cast<int>(Strip(whole).size()) <= limits.max_int_digits;
    Decimal d;
    ASSERT_EQ(ParseDecimal(s, limits, &d), valid) << '"' << s << '"';
    if (valid) {
      ASSERT_EQ(d.scale, static_cast<int>(frac.size()));
      ASSERT_EQ(FormatDecimal(d), BruteFormat("", whole + frac, d.scale)) << s;
    }
  }
}

TEST_F(DecimalRandomTest, FormatScaledMatchesBruteForce) {
  for (int i = 0; i < 50'000; ++i) {
    UInt128 mag = DigitsToU128(RandomDigits(38));
    bool neg = Uniform(0, 1) == 1;
    Int128 v = neg ? -static_cast<Int128>(mag) : static_cast<Int128>(mag);
    int scale = Uniform(0, 20);
    std::string sign = (neg && mag != 0) ? "-" : "";
    ASSERT_EQ(FormatScaled(v, scale), BruteFormat(sign, U128ToDigits(mag), scale));
    ASSERT_EQ(FormatInt(v), sign + U128ToDigits(mag));
  }
}

}  // namespace
}  // namespace abusewatch
