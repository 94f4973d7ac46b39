// Event-time utilities. All times are int64_t milliseconds since the Unix epoch (UTC); all
// durations are int64_t milliseconds. No wall clock is read here. Pure, thread-compatible.
#ifndef ABUSEWATCH_DETECTORS_TIMEUTIL_H_
#define ABUSEWATCH_DETECTORS_TIMEUTIL_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace abusewatch {

constexpr int64_t kMsPerSecond = 1000;
constexpr int64_t kMsPerDay = 86'400'000;
// Accepted event-time range: [2000-01-01T00:00:00Z, 2101-01-01T00:00:00Z).
constexpr int64_t kMinEventTimeMs = 946'684'800'000;
constexpr int64_t kMaxEventTimeMsExclusive = 4'133'980'800'000;

// Days since 1970-01-01 of a proleptic Gregorian civil date (no range check).
int64_t DaysFromCivil(int64_t year, unsigned month, unsigned day);

// Parses RFC 3339 `YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)` ('T'/'Z' case-insensitive).
// Digits beyond milliseconds are truncated. Validates calendar dates (2026-02-30 fails).
// Returns false when unparsable. Does not apply the 2000–2100 range (see InEventTimeRange).
bool ParseRfc3339(std::string_view text, int64_t* ms);

bool InEventTimeRange(int64_t ms);

// "2026-03-01T02:00:00.000Z": UTC, exactly three fractional digits.
std::string FormatRfc3339Utc(int64_t ms);
// Writes the same 24 characters into `out` (which must have room for 24 bytes).
void FormatRfc3339UtcTo(int64_t ms, char* out);

// `<integer><unit>` with unit in ms, s, m, h, d. Returns false when malformed or overflowing.
bool ParseDuration(std::string_view text, int64_t* ms);
// Shortest exact rendering ("730d", "24h", "30s", "1500ms").
std::string FormatDuration(int64_t ms);

// Fixed UTC offset "+08:00", "-05:30", "Z" or "UTC" → milliseconds east of UTC.
bool ParseUtcOffset(std::string_view text, int64_t* offset_ms);

// floor division for possibly negative numerators.
inline int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

// bucket(x) = floor((x + z) / g) * g - z  (rules.md "Buckets").
inline int64_t BucketStart(int64_t x, int64_t g, int64_t z) { return FloorDiv(x + z, g) * g - z; }

}  // namespace abusewatch

#endif  // ABUSEWATCH_DETECTORS_TIMEUTIL_H_
