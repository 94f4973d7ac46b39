// Tests for detectors/timeutil: RFC 3339 parsing and formatting, the event-time range,
// buckets, durations and UTC offsets (spec/events.md "ts", spec/rules.md "Time", "Buckets").
#include "detectors/timeutil.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <iterator>
#include <limits>
#include <random>
#include <string>

namespace abusewatch {
namespace {

constexpr int64_t kHourMs = 3'600'000;
constexpr int64_t kMinuteMs = 60'000;

// ---- A deliberately naive calendar, independent of the implementation under test. ----

bool BruteLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int BruteDaysInMonth(int64_t y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return (m == 2 && BruteLeap(y)) ? 29 : kDays[m - 1];
}

// Days since 1970-01-01, counting one day at a time per month (years >= 1970 only).
int64_t BruteDays(int64_t y, int m, int d) {
  int64_t days = 0;
  for (int64_t yy = 1970; yy < y; ++yy) days += BruteLeap(yy) ? 366 : 365;
  for (int mm = 1; mm < m; ++mm) days += BruteDaysInMonth(y, mm);
  return days + d - 1;
}

// "YYYY-MM-DDTHH:MM:SS.mmmZ" by walking years and months from 1970 (ms >= 0 only).
std::string BruteFormat(int64_t ms) {
  int64_t days = ms / kMsPerDay;
  int64_t rem = ms % kMsPerDay;
  int64_t y = 1970;
  while (days >= (BruteLeap(y) ? 366 : 365)) days -= BruteLeap(y++) ? 366 : 365;
  int m = 1;
  while (days >= BruteDaysInMonth(y, m)) days -= BruteDaysInMonth(y, m++);
  char buf[192];
  std::snprintf(buf, sizeof(buf), "%04lld-%02d-%02lldT%02lld:%02lld:%02lld.%03lldZ",
                static_cast<long long>(y), m, static_cast<long long>(days + 1),
                static_cast<long long>(rem / kHourMs), static_cast<long long>(rem / kMinuteMs % 60),
                static_cast<long long>(rem / 1000 % 60), static_cast<long long>(rem % 1000));
  return buf;
}

int64_t Parse(std::string_view s) {
  int64_t ms = std::numeric_limits<int64_t>::min();
  EXPECT_TRUE(ParseRfc3339(s, &ms)) << s;
  return ms;
}

bool Parses(std::string_view s) {
  int64_t ms = 0;
  return ParseRfc3339(s, &ms);
}

TEST(BruteCalendarTest, AgreesWithKnownEpochs) {
  EXPECT_EQ(BruteDays(2000, 1, 1) * kMsPerDay, 946'684'800'000);
  EXPECT_EQ(BruteDays(2101, 1, 1) * kMsPerDay, 4'133'980'800'000);
  EXPECT_EQ(BruteFormat(1'772'330'400'000), "2026-03-01T02:00:00.000Z");
}

TEST(ParseRfc3339Test, ZuluAndOffsets) {
  EXPECT_EQ(Parse("2026-03-01T02:00:00Z"), 1'772'330'400'000);
  EXPECT_EQ(Parse("2026-04-01T10:00:00+08:00"), 1'775'008'800'000);
  EXPECT_EQ(Parse("2026-04-01T10:00:00-05:30"), 1'775'057'400'000);
  EXPECT_EQ(Parse("2026-04-01T02:00:00+00:00"), Parse("2026-04-01T10:00:00+08:00"));
  EXPECT_EQ(Parse("2026-04-01T02:00:00-00:00"), Parse("2026-04-01T02:00:00Z"));
  // An offset can move the UTC date across a day, month and year boundary.
  EXPECT_EQ(Parse("2026-01-01T07:59:59+08:00"), Parse("2025-12-31T23:59:59Z"));
  EXPECT_EQ(Parse("2025-12-31T20:00:00-05:30"), Parse("2026-01-01T01:30:00Z"));
  EXPECT_EQ(Parse("2026-03-01T00:00:00+23:59"), Parse("2026-02-28T00:01:00Z"));
}

TEST(ParseRfc3339Test, LowercaseSeparatorAndZulu) {
  EXPECT_EQ(Parse("2026-03-01t02:00:00z"), 1'772'330'400'000);
  EXPECT_EQ(Parse("2026-03-01t02:00:00Z"), 1'772'330'400'000);
  EXPECT_EQ(Parse("2026-03-01T02:00:00z"), 1'772'330'400'000);
}

TEST(ParseRfc3339Test, FractionalSecondsTruncateBeyondMilliseconds) {
  const int64_t base = 1'772'330'400'000;
  EXPECT_EQ(Parse("2026-03-01T02:00:00.5Z"), base + 500);
  EXPECT_EQ(Parse("2026-03-01T02:00:00.05Z"), base + 50);
  EXPECT_EQ(Parse("2026-03-01T02:00:00.005Z"), base + 5);
  EXPECT_EQ(Parse("2026-03-01T02:00:00.1234Z"), base + 123);
  EXPECT_EQ(Parse("2026-03-01T02:00:00.99999Z"), base + 999);
  EXPECT_EQ(Parse("2026-03-01T02:00:00.999999Z"), base + 999);
  EXPECT_EQ(Parse("2026-03-01T02:00:00.123456789Z"), base + 123);
  EXPECT_EQ(Parse("2026-03-01T02:00:00.999999999Z"), base + 999);  // truncated, never rounded
  EXPECT_EQ(Parse("2026-03-01T02:00:00.000000001Z"), base);
  EXPECT_EQ(Parse("2026-03-01T10:00:00.999999999+08:00"), base + 999);
  EXPECT_FALSE(Parses("2026-03-01T02:00:00.Z"));
  EXPECT_FALSE(Parses("2026-03-01T02:00:00.+08:00"));
  EXPECT_FALSE(Parses("2026-03-01T02:00:00,5Z"));
  EXPECT_FALSE(Parses("2026-03-01T02:00:00.5.5Z"));
  EXPECT_FALSE(Parses("2026-03-01T02:00:00.5xZ"));
}

TEST(ParseRfc3339Test, CalendarValidation) {
  EXPECT_FALSE(Parses("2026-02-30T10:00:00+08:00"));
  EXPECT_FALSE(Parses("2026-02-29T00:00:00Z"));
  EXPECT_FALSE(Parses("2027-02-29T00:00:00Z"));
  EXPECT_EQ(Parse("2028-02-29T12:34:56.789Z"), 1'835'440'496'789);
  EXPECT_EQ(Parse("2000-02-29T00:00:00Z"), BruteDays(2000, 2, 29) * kMsPerDay);  // 400 rule
  EXPECT_FALSE(Parses("2100-02-29T00:00:00Z"));                                  // 100 rule
  EXPECT_FALSE(Parses("2026-04-31T00:00:00Z"));
  EXPECT_FALSE(Parses("2026-06-31T00:00:00Z"));
  EXPECT_FALSE(Parses("2026-09-31T00:00:00Z"));
  EXPECT_FALSE(Parses("2026-11-31T00:00:00Z"));
  EXPECT_TRUE(Parses("2026-12-31T00:00:00Z"));
  EXPECT_FALSE(Parses("2026-13-01T00:00:00Z"));
  EXPECT_FALSE(Parses("2026-00-10T00:00:00Z"));
  EXPECT_FALSE(Parses("2026-01-00T00:00:00Z"));
  EXPECT_FALSE(Parses("2026-01-32T00:00:00Z"));
  EXPECT_FALSE(Parses("2026-01-01T24:00:00Z"));
  EXPECT_FALSE(Parses("2026-01-01T23:60:00Z"));
  EXPECT_TRUE(Parses("2026-01-01T23:59:59Z"));
}

TEST(ParseRfc3339Test, RejectsMissingOffsetAndGarbage) {
  for (const char* s : {
           "",
           "2026-03-01",
           "2026-03-01T02:00:00",
           "2026-03-01T02:00:00.000",
           "2026-03-01T02:00Z",
           "2026-3-01T02:00:00Z",
           "2026-03-1T02:00:00Z",
           "26-03-01T02:00:00Z",
           "+2026-03-01T02:00:00Z",
           " 2026-03-01T02:00:00Z",
           "2026-03-01T02:00:00Z ",
           "2026-03-01T02:00:00Zx",
           "2026-03-01T02:00:00ZZ",
           "2026-03-01X02:00:00Z",
           "2026/03/01T02:00:00Z",
           "2026-03-01T02-00-00Z",
           "2026-0a-01T02:00:00Z",
           "2026-03-01T02:00:00+0800",
           "2026-03-01T02:00:00+08",
           "2026-03-01T02:00:00+08:0",
           "2026-03-01T02:00:00+8:00",
           "2026-03-01T02:00:00+08:00:00",
           "2026-03-01T02:00:00+24:00",
           "2026-03-01T02:00:00+08:60",
           "2026-03-01T02:00:00UTC",
           "2026-03-01T02:00:00 +08:00",
           "1775008800000",
           "now",
           "\xef\xbc\x92\xef\xbc\x90\xef\xbc\x92\xef\xbc\x96-03-01T02:00:00Z",  // fullwidth digits
       }) {
    EXPECT_FALSE(Parses(s)) << '"' << s << '"';
  }
  // Embedded NUL after a valid prefix.
  EXPECT_FALSE(Parses(std::string_view("2026-03-01T02:00:00Z\0", 21)));
  EXPECT_FALSE(Parses(std::string_view("2026-03-01T02:00:00\0Z", 21)));
}

TEST(ParseRfc3339Test, DoesNotWriteOutputOnFailure) {
  int64_t ms = 12345;
  EXPECT_FALSE(ParseRfc3339("2026-02-30T00:00:00Z", &ms));
  EXPECT_EQ(ms, 12345);
}

TEST(EventTimeRangeTest, YearsTwoThousandToTwentyOneHundred) {
  EXPECT_FALSE(InEventTimeRange(Parse("1999-12-31T23:59:59Z")));
  EXPECT_FALSE(InEventTimeRange(Parse("1999-12-31T23:59:59.999Z")));
  EXPECT_TRUE(InEventTimeRange(Parse("2000-01-01T00:00:00Z")));
  EXPECT_TRUE(InEventTimeRange(Parse("2100-12-31T23:59:59.999Z")));
  EXPECT_FALSE(InEventTimeRange(Parse("2101-01-01T00:00:00Z")));
  EXPECT_EQ(Parse("2000-01-01T00:00:00Z"), kMinEventTimeMs);
  EXPECT_EQ(Parse("2101-01-01T00:00:00Z"), kMaxEventTimeMsExclusive);
  // The range applies to the instant, not to the local date.
  EXPECT_FALSE(InEventTimeRange(Parse("2000-01-01T07:59:59+08:00")));
  EXPECT_TRUE(InEventTimeRange(Parse("2000-01-01T08:00:00+08:00")));
  EXPECT_TRUE(InEventTimeRange(Parse("2101-01-01T07:59:59+08:00")));
  EXPECT_FALSE(InEventTimeRange(Parse("2100-12-31T19:00:00-05:00")));
  EXPECT_FALSE(InEventTimeRange(0));
  EXPECT_FALSE(InEventTimeRange(-1));
  EXPECT_FALSE(InEventTimeRange(std::numeric_limits<int64_t>::max()));
}

TEST(FormatRfc3339UtcTest, KnownValues) {
  EXPECT_EQ(FormatRfc3339Utc(1'772'330'400'000), "2026-03-01T02:00:00.000Z");
  EXPECT_EQ(FormatRfc3339Utc(kMinEventTimeMs), "2000-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatRfc3339Utc(kMaxEventTimeMsExclusive - 1), "2100-12-31T23:59:59.999Z");
  EXPECT_EQ(FormatRfc3339Utc(1'835'440'496'789), "2028-02-29T12:34:56.789Z");
  EXPECT_EQ(FormatRfc3339Utc(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatRfc3339Utc(-1), "1969-12-31T23:59:59.999Z");
}

TEST(FormatRfc3339UtcTest, WritesExactlyTwentyFourBytes) {
  char buf[32];
  std::fill(std::begin(buf), std::end(buf), '#');
  FormatRfc3339UtcTo(1'772'330'400'123, buf);
  EXPECT_EQ(std::string(buf, 24), "2026-03-01T02:00:00.123Z");
  for (int i = 24; i < 32; ++i) EXPECT_EQ(buf[i], '#') << i;
}

TEST(FormatRfc3339UtcTest, RandomRoundTripsMatchBruteForce) {
  std::mt19937_64 rng(20260301);
  std::uniform_int_distribution<int64_t> any_ms(kMinEventTimeMs, kMaxEventTimeMsExclusive - 1);
  for (int i = 0; i < 100'000; ++i) {
    int64_t ms = any_ms(rng);
    // Bias every fourth sample onto a day boundary, and every eighth one ms before it.
    if (i % 4 == 0) ms -= ms % kMsPerDay;
    if (i % 8 == 0 && ms > kMinEventTimeMs) --ms;
    std::string text = FormatRfc3339Utc(ms);
    ASSERT_EQ(text, BruteFormat(ms)) << ms;
    int64_t back = 0;
    ASSERT_TRUE(ParseRfc3339(text, &back)) << text;
    ASSERT_EQ(back, ms) << text;
  }
}

TEST(ParseRfc3339Test, RandomLocalTimesMatchBruteForce) {
  std::mt19937_64 rng(287'2);
  auto uniform = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  for (int i = 0; i < 100'000; ++i) {
    int64_t y = uniform(1999, 2101);
    int m = static_cast<int>(uniform(1, 12));
    int d = static_cast<int>(uniform(1, BruteDaysInMonth(y, m)));
    int hh = static_cast<int>(uniform(0, 23));
    int mi = static_cast<int>(uniform(0, 59));
    int ss = static_cast<int>(uniform(0, 59));
    int frac_digits = static_cast<int>(uniform(0, 9));
    std::string frac;
    for (int k = 0; k < frac_digits; ++k) frac.push_back(static_cast<char>('0' + uniform(0, 9)));
    int offset_min = static_cast<int>(uniform(-(23 * 60 + 59), 23 * 60 + 59));
    if (i % 5 == 0) offset_min = 0;
    char buf[192];
    std::string zone;
    if (offset_min == 0 && i % 2 == 0) {
      zone = uniform(0, 1) ? "Z" : "z";
    } else {
      int a = offset_min < 0 ? -offset_min : offset_min;
      std::snprintf(buf, sizeof(buf), "%c%02d:%02d", offset_min < 0 ? '-' : '+', a / 60, a % 60);
      zone = buf;
    }
    std::snprintf(buf, sizeof(buf), "%04lld-%02d-%02d%c%02d:%02d:%02d", static_cast<long long>(y),
                  m, d, uniform(0, 1) ? 'T' : 't', hh, mi, ss);
    std::string text = std::string(buf) + (frac_digits ? "." + frac : "") + zone;
    int64_t millis = 0;
    for (int k = 0; k < 3; ++k) {
      millis = millis * 10 + (k < frac_digits ? frac[static_cast<size_t>(k)] - '0' : 0);
    }
    int64_t expected = BruteDays(y, m, d) * kMsPerDay + hh * kHourMs + mi * kMinuteMs +
                       ss * 1000LL + millis - offset_min * kMinuteMs;
    int64_t got = 0;
    ASSERT_TRUE(ParseRfc3339(text, &got)) << text;
    ASSERT_EQ(got, expected) << text;
    ASSERT_EQ(InEventTimeRange(got), expected >= BruteDays(2000, 1, 1) * kMsPerDay &&
                                         expected < BruteDays(2101, 1, 1) * kMsPerDay)
        << text;
  }
}

TEST(ParseRfc3339Test, RandomInvalidDaysRejected) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 20'000; ++i) {
    int64_t y = std::uniform_int_distribution<int64_t>(2000, 2100)(rng);
    int m = std::uniform_int_distribution<int>(1, 12)(rng);
    int d = std::uniform_int_distribution<int>(BruteDaysInMonth(y, m) + 1, 39)(rng);
    char buf[192];
    std::snprintf(buf, sizeof(buf), "%04lld-%02d-%02dT00:00:00Z", static_cast<long long>(y), m, d);
    ASSERT_FALSE(Parses(buf)) << buf;
  }
}

TEST(FloorDivTest, RoundsTowardNegativeInfinity) {
  EXPECT_EQ(FloorDiv(7, 2), 3);
  EXPECT_EQ(FloorDiv(-7, 2), -4);
  EXPECT_EQ(FloorDiv(7, -2), -4);
  EXPECT_EQ(FloorDiv(-7, -2), 3);
  EXPECT_EQ(FloorDiv(-6, 2), -3);
  EXPECT_EQ(FloorDiv(0, 5), 0);
  EXPECT_EQ(FloorDiv(-1, kMsPerDay), -1);
}

TEST(BucketStartTest, LocalDaysInPlusEight) {
  const int64_t z = 8 * kHourMs;
  // 2026-03-01T23:59:59.999+08:00 belongs to local day 2026-03-01, which starts at
  // 2026-02-28T16:00:00Z.
  EXPECT_EQ(BucketStart(Parse("2026-03-01T23:59:59.999+08:00"), kMsPerDay, z),
            Parse("2026-02-28T16:00:00Z"));
  EXPECT_EQ(BucketStart(Parse("2026-03-02T00:00:00+08:00"), kMsPerDay, z),
            Parse("2026-03-01T16:00:00Z"));
  EXPECT_EQ(BucketStart(Parse("2026-03-01T00:00:00+08:00"), kMsPerDay, z),
            Parse("2026-03-01T00:00:00+08:00"));
  // With z = 0 the same instant falls in the UTC day.
  EXPECT_EQ(BucketStart(Parse("2026-03-01T23:59:59.999+08:00"), kMsPerDay, 0),
            Parse("2026-03-01T00:00:00Z"));
}

TEST(BucketStartTest, NegativeOffsets) {
  const int64_t z = -(5 * kHourMs + 30 * kMinuteMs);
  EXPECT_EQ(BucketStart(Parse("2026-03-01T00:00:00-05:30"), kMsPerDay, z),
            Parse("2026-03-01T00:00:00-05:30"));
  EXPECT_EQ(BucketStart(Parse("2026-02-28T23:59:59.999-05:30"), kMsPerDay, z),
            Parse("2026-02-28T00:00:00-05:30"));
  EXPECT_EQ(BucketStart(Parse("2026-03-01T03:00:00Z"), kMsPerDay, z),
            Parse("2026-02-28T00:00:00-05:30"));
  EXPECT_EQ(BucketStart(Parse("2026-03-01T05:30:00Z"), kMsPerDay, z),
            Parse("2026-03-01T00:00:00-05:30"));
  // An hour bucket with a half-hour offset starts at local whole hours.
  EXPECT_EQ(BucketStart(Parse("2026-03-01T10:59:00-05:30"), kHourMs, z),
            Parse("2026-03-01T10:00:00-05:30"));
}

TEST(BucketStartTest, NegativeNumerators) {
  EXPECT_EQ(BucketStart(-1, 1000, 0), -1000);
  EXPECT_EQ(BucketStart(-1000, 1000, 0), -1000);
  EXPECT_EQ(BucketStart(-1001, 1000, 0), -2000);
  EXPECT_EQ(BucketStart(0, kMsPerDay, 8 * kHourMs), -8 * kHourMs);
  EXPECT_EQ(BucketStart(-8 * kHourMs - 1, kMsPerDay, 8 * kHourMs), -kMsPerDay - 8 * kHourMs);
  EXPECT_EQ(BucketStart(-1, kMsPerDay, -5 * kHourMs), -kMsPerDay + 5 * kHourMs);
  EXPECT_EQ(BucketStart(5 * kHourMs - 1, kMsPerDay, -5 * kHourMs), -kMsPerDay + 5 * kHourMs);
  EXPECT_EQ(BucketStart(5 * kHourMs, kMsPerDay, -5 * kHourMs), 5 * kHourMs);
}

TEST(BucketStartTest, RandomPropertiesIncludingNegativeTimes) {
  std::mt19937_64 rng(99);
  const int64_t grains[] = {1, 1000, kMinuteMs, kHourMs, kMsPerDay, 7 * kMsPerDay, 1500};
  const int64_t zones[] = {0,
                           8 * kHourMs,
                           -5 * kHourMs - 30 * kMinuteMs,
                           23 * kHourMs + 59 * kMinuteMs,
                           -(23 * kHourMs + 59 * kMinuteMs),
                           5 * kHourMs + 45 * kMinuteMs};
  std::uniform_int_distribution<int64_t> any_ms(-kMaxEventTimeMsExclusive,
                                                kMaxEventTimeMsExclusive);
  for (int i = 0; i < 50'000; ++i) {
    int64_t x = any_ms(rng);
    int64_t g = grains[i % 7];
    int64_t z = zones[(i / 7) % 6];
    int64_t b = BucketStart(x, g, z);
    ASSERT_LE(b, x) << x << " " << g << " " << z;
    ASSERT_GT(b + g, x) << x << " " << g << " " << z;
    int64_t local = b + z;
    ASSERT_EQ(((local % g) + g) % g, 0) << x << " " << g << " " << z;
    ASSERT_EQ(BucketStart(b, g, z), b);
  }
}

TEST(DurationTest, ParsesEveryUnit) {
  int64_t ms = -1;
  ASSERT_TRUE(ParseDuration("730d", &ms));
  EXPECT_EQ(ms, 730 * kMsPerDay);
  ASSERT_TRUE(ParseDuration("24h", &ms));
  EXPECT_EQ(ms, 24 * kHourMs);
  ASSERT_TRUE(ParseDuration("90m", &ms));
  EXPECT_EQ(ms, 90 * kMinuteMs);
  ASSERT_TRUE(ParseDuration("30s", &ms));
  EXPECT_EQ(ms, 30'000);
  ASSERT_TRUE(ParseDuration("1500ms", &ms));
  EXPECT_EQ(ms, 1500);
  ASSERT_TRUE(ParseDuration("0s", &ms));
  EXPECT_EQ(ms, 0);
  ASSERT_TRUE(ParseDuration("007s", &ms));
  EXPECT_EQ(ms, 7000);
  ASSERT_TRUE(ParseDuration("106751991167d", &ms));  // just fits in int64 ms
  EXPECT_EQ(ms, 106'751'991'167 * kMsPerDay);
}

TEST(DurationTest, RejectsMalformedAndOverflow) {
  for (const char* s : {"",
                        "d",
                        "10",
                        "10x",
                        "-1s",
                        "+1s",
                        "1.5s",
                        " 1s",
                        "1s ",
                        "1 s",
                        "1S",
                        "1D",
                        "1sec",
                        "1w",
                        "1y",
                        "1us",
                        "s1",
                        "1s1",
                        "1d2h",
                        "106751991168d",
                        "99999999999999999999d",
                        "9223372036854775808ms"}) {
    int64_t ms = 777;
    EXPECT_FALSE(ParseDuration(s, &ms)) << '"' << s << '"';
  }
}

TEST(DurationTest, FormatIsShortestExactAndRoundTrips) {
  EXPECT_EQ(FormatDuration(730 * kMsPerDay), "730d");
  EXPECT_EQ(FormatDuration(kMsPerDay), "1d");
  EXPECT_EQ(FormatDuration(24 * kHourMs), "1d");
  EXPECT_EQ(FormatDuration(25 * kHourMs), "25h");
  EXPECT_EQ(FormatDuration(90 * kMinuteMs), "90m");
  EXPECT_EQ(FormatDuration(120 * kMinuteMs), "2h");
  EXPECT_EQ(FormatDuration(30'000), "30s");
  EXPECT_EQ(FormatDuration(90'000), "90s");
  EXPECT_EQ(FormatDuration(1500), "1500ms");
  EXPECT_EQ(FormatDuration(1), "1ms");
  std::mt19937_64 rng(5);
  const int64_t units[] = {1, 1000, kMinuteMs, kHourMs, kMsPerDay};
  for (int i = 0; i < 20'000; ++i) {
    int64_t ms = std::uniform_int_distribution<int64_t>(0, 100'000)(rng) * units[i % 5];
    int64_t back = -1;
    std::string text = FormatDuration(ms);
    ASSERT_TRUE(ParseDuration(text, &back)) << text;
    ASSERT_EQ(back, ms) << text;
  }
}

TEST(UtcOffsetTest, ParsesFixedOffsets) {
  int64_t z = -1;
  ASSERT_TRUE(ParseUtcOffset("+08:00", &z));
  EXPECT_EQ(z, 8 * kHourMs);
  ASSERT_TRUE(ParseUtcOffset("-05:30", &z));
  EXPECT_EQ(z, -(5 * kHourMs + 30 * kMinuteMs));
  ASSERT_TRUE(ParseUtcOffset("+05:45", &z));
  EXPECT_EQ(z, 5 * kHourMs + 45 * kMinuteMs);
  ASSERT_TRUE(ParseUtcOffset("-23:59", &z));
  EXPECT_EQ(z, -(23 * kHourMs + 59 * kMinuteMs));
  for (const char* s : {"Z", "z", "UTC", "+00:00", "-00:00"}) {
    z = -1;
    ASSERT_TRUE(ParseUtcOffset(s, &z)) << s;
    EXPECT_EQ(z, 0) << s;
  }
}

TEST(UtcOffsetTest, RejectsMalformed) {
  for (const char* s : {"", "+8:00", "+0800", "08:00", "+08", "+24:00", "+08:60", "+08:00 ",
                        " +08:00", "Asia/Shanghai", "GMT", "+08:00Z", "0", "++08:00"}) {
    int64_t z = 0;
    EXPECT_FALSE(ParseUtcOffset(s, &z)) << '"' << s << '"';
  }
}

}  // namespace
}  // namespace abusewatch
