#include "detectors/timeutil.h"

#include <cstdio>
#include <limits>

namespace abusewatch {
namespace {

bool Digits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    char c = s[i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned DaysInMonth(int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

struct Civil {
  int64_t year;
  unsigned month;
  unsigned day;
};

Civil CivilFromDays(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {m <= 2 ? y + 1 : y, m, d};
}

}  // namespace

int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool ParseRfc3339(std::string_view s, int64_t* ms) {
  int year, month, day, hour, minute, second;
  if (!Digits(s, 0, 4, &year) || s.size() < 19 || s[4] != '-' || !Digits(s, 5, 2, &month) ||
      s[7] != '-' || !Digits(s, 8, 2, &day) || (s[10] != 'T' && s[10] != 't') ||
      !Digits(s, 11, 2, &hour) || s[13] != ':' || !Digits(s, 14, 2, &minute) || s[16] != ':' ||
      !Digits(s, 17, 2, &second)) {
    return false;
  }
  if (month < 1 || month > 12 || day < 1 ||
      static_cast<unsigned>(day) > DaysInMonth(year, static_cast<unsigned>(month)) || hour > 23 ||
      minute > 59 || second > 59) {
    return false;
  }
  size_t i = 19;
  int millis = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      if (i - start < 3) millis = millis * 10 + (s[i] - '0');
      ++i;
    }
    size_t n = i - start;
    if (n == 0) return false;
    for (size_t k = n; k < 3; ++k) millis *= 10;
  }
  if (i >= s.size()) return false;
  int64_t offset_min = 0;
  if (s[i] == 'Z' || s[i] == 'z') {
    ++i;
  } else if (s[i] == '+' || s[i] == '-') {
    int oh, om;
    if (!Digits(s, i + 1, 2, &oh) || i + 3 >= s.size() || s[i + 3] != ':' ||
        !Digits(s, i + 4, 2, &om) || oh > 23 || om > 59) {
      return false;
    }
    offset_min = (oh * 60 + om) * (s[i] == '-' ? -1 : 1);
    i += 6;
  } else {
    return false;
  }
  if (i != s.size()) return false;
  int64_t days = DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  int64_t secs = days * 86400 + hour * 3600 + minute * 60 + second - offset_min * 60;
  *ms = secs * 1000 + millis;
  return true;
}

bool InEventTimeRange(int64_t ms) { return ms >= kMinEventTimeMs && ms < kMaxEventTimeMsExclusive; }

void FormatRfc3339UtcTo(int64_t ms, char* out) {
  int64_t days = FloorDiv(ms, kMsPerDay);
  int64_t rem = ms - days * kMsPerDay;
  Civil c = CivilFromDays(days);
  int h = static_cast<int>(rem / 3'600'000);
  int mi = static_cast<int>(rem / 60'000 % 60);
  int se = static_cast<int>(rem / 1000 % 60);
  int mil = static_cast<int>(rem % 1000);
  auto put = [&](int pos, int v, int width) {
    for (int k = width - 1; k >= 0; --k) {
      out[pos + k] = static_cast<char>('0' + v % 10);
      v /= 10;
    }
  };
  put(0, static_cast<int>(c.year), 4);
  out[4] = '-';
  put(5, static_cast<int>(c.month), 2);
  out[7] = '-';
  put(8, static_cast<int>(c.day), 2);
  out[10] = 'T';
  put(11, h, 2);
  out[13] = ':';
  put(14, mi, 2);
  out[16] = ':';
  put(17, se, 2);
  out[19] = '.';
  put(20, mil, 3);
  out[23] = 'Z';
}

std::string FormatRfc3339Utc(int64_t ms) {
  std::string s(24, '\0');
  FormatRfc3339UtcTo(ms, s.data());
  return s;
}

bool ParseDuration(std::string_view s, int64_t* ms) {
  size_t i = 0;
  int64_t n = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
    if (n > std::numeric_limits<int64_t>::max() / 10 - 10) return false;
    n = n * 10 + (s[i] - '0');
    ++i;
  }
  if (i == 0) return false;
  std::string_view unit = s.substr(i);
  int64_t mult;
  if (unit == "ms") {
    mult = 1;
  } else if (unit == "s") {
    mult = 1000;
  } else if (unit == "m") {
    mult = 60'000;
  } else if (unit == "h") {
    mult = 3'600'000;
  } else if (unit == "d") {
    mult = kMsPerDay;
  } else {
    return false;
  }
  if (n > std::numeric_limits<int64_t>::max() / mult) return false;
  *ms = n * mult;
  return true;
}

std::string FormatDuration(int64_t ms) {
  struct Unit {
    int64_t ms;
    const char* name;
  };
  static constexpr Unit kUnits[] = {{kMsPerDay, "d"}, {3'600'000, "h"}, {60'000, "m"}, {1000, "s"}};
  for (const Unit& u : kUnits) {
    if (ms != 0 && ms % u.ms == 0) return std::to_string(ms / u.ms) + u.name;
  }
  return std::to_string(ms) + "ms";
}

bool ParseUtcOffset(std::string_view s, int64_t* offset_ms) {
  if (s == "Z" || s == "UTC" || s == "z") {
    *offset_ms = 0;
    return true;
  }
  int h, m;
  if (s.size() != 6 || (s[0] != '+' && s[0] != '-') || !Digits(s, 1, 2, &h) || s[3] != ':' ||
      !Digits(s, 4, 2, &m) || h > 23 || m > 59) {
    return false;
  }
  *offset_ms = (static_cast<int64_t>(h) * 60 + m) * 60'000 * (s[0] == '-' ? -1 : 1);
  return true;
}

}  // namespace abusewatch
