#include "daemon/gen/generator.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <utility>

#include "daemon/gen/gen_internal.h"
#include "detectors/timeutil.h"

namespace abusewatch {
namespace gen_internal {

constexpr size_t kFlushBytes = 1 << 20;

std::string_view EvName(Ev t) {
  static constexpr std::array<std::string_view, 7> kNames = {
      "abuse_report", "regulator_notice", "disposition", "payment",
      "login",        "sanction",         "account_link"};
  return kNames[static_cast<int>(t)];
}

void AppendUint(std::string* s, uint64_t v) {
  char tmp[20];
  char* p = tmp + sizeof(tmp);
  do {
    *--p = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  s->append(p, static_cast<size_t>(tmp + sizeof(tmp) - p));
}

void AppendFen(std::string* s, int64_t fen) {
  AppendUint(s, static_cast<uint64_t>(fen / 100));
  const char cents[3] = {'.', static_cast<char>('0' + fen % 100 / 10),
                         static_cast<char>('0' + fen % 10)};
  s->append(cents, 3);
}

void AppendTs(std::string* s, int64_t ms, TsStyle style, DayCache* cache) {
  if (style == TsStyle::kEpoch) {
    AppendUint(s, static_cast<uint64_t>(ms));
    return;
  }
  const int64_t t = style == TsStyle::kLocal ? ms + kLocalOffsetMs : ms;
  const int64_t day = FloorDiv(t, kDay);
  if (day != cache->day) {
    char tmp[24];
    FormatRfc3339UtcTo(day * kDay, tmp);
    std::memcpy(cache->date, tmp, sizeof(cache->date));
    cache->day = day;
  }
  int64_t rem = t - day * kDay;
  char out[32];
  out[0] = '"';
  std::memcpy(out + 1, cache->date, sizeof(cache->date));  // "YYYY-MM-DDT"
  auto put2 = [&](int pos, int64_t v) {
    out[pos] = static_cast<char>('0' + v / 10);
    out[pos + 1] = static_cast<char>('0' + v % 10);
  };
  put2(12, rem / kHour);
  out[14] = ':';
  put2(15, rem / kMinute % 60);
  out[17] = ':';
  put2(18, rem / 1000 % 60);
  out[20] = '.';
  out[21] = static_cast<char>('0' + rem % 1000 / 100);
  put2(22, rem % 100);
  size_t n = 24;
  if (style == TsStyle::kLocal) {
    std::memcpy(out + n, "+08:00\"", 7);
    n += 7;
  } else {
    std::memcpy(out + n, "Z\"", 2);
    n += 2;
  }
  s->append(out, n);
}

void AppendAccount(std::string* s, uint32_t index) {
  s->append("acct-");
  for (uint32_t p = 100000; p > 1 && index < p; p /= 10) s->push_back('0');
  AppendUint(s, index);
}

uint64_t Mix64(uint64_t x) {  // splitmix64 finalizer
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

void AppendHex(std::string* s, uint64_t x) {
  static constexpr char kDigits[] = "0123456789abcdef";
  for (int shift = 60; shift >= 0; shift -= 4) s->push_back(kDigits[(x >> shift) & 15]);
}

Json& Json::Key(std::string_view key) {
  s_->append(",\"");
  s_->append(key);
  s_->append("\":");
  return *this;
}

Json& Json::Str(std::string_view key, std::string_view v) {
  Key(key);
  s_->push_back('"');
  s_->append(v);
  s_->push_back('"');
  return *this;
}

Json& Json::Raw(std::string_view key, std::string_view raw) {
  Key(key);
  s_->append(raw);
  return *this;
}

Json& Json::Array(std::string_view key, std::initializer_list<std::string_view> items) {
  Key(key);
  s_->push_back('[');
  bool first = true;
  for (std::string_view item : items) {
    if (!first) s_->push_back(',');
    first = false;
    s_->push_back('"');
    s_->append(item);
    s_->push_back('"');
  }
  s_->push_back(']');
  return *this;
}

Json& Json::Money(std::string_view key, int64_t fen, bool as_number, bool whole) {
  Key(key);
  if (!as_number) s_->push_back('"');
  if (whole && fen % 100 == 0) {
    AppendUint(s_, static_cast<uint64_t>(fen / 100));
  } else {
    AppendFen(s_, fen);
  }
  if (!as_number) s_->push_back('"');
  return *this;
}

Gen::Gen(const GenOptions& options, std::ostream& out, GenSummary* sum)
    : opt(options),
      summary(sum),
      rng(options.seed),
      end_ms(options.start_ms + options.span_ms),
      accts(options.accounts),
      out_(out) {
  buf_.reserve(kFlushBytes + 128 * 1024);
}

TsStyle Gen::PickTsStyle() {
  if (!opt.rfc3339) return TsStyle::kEpoch;
  uint64_t r = rng.Below(100);
  return r < 94 ? TsStyle::kLocal : (r < 97 ? TsStyle::kUtc : TsStyle::kEpoch);
}

void Gen::AppendTime(std::string* s, int64_t ts) {
  TsStyle style = PickTsStyle();
  AppendTs(s, ts, style, style == TsStyle::kUtc ? &utc_days_ : &local_days_);
}

uint64_t Gen::Begin(Ev type, int64_t ts) {
  uint64_t id = next_id_++;
  buf_.append("{\"id\":\"e-");
  AppendUint(&buf_, id);
  buf_.append("\",\"type\":\"");
  buf_.append(EvName(type));
  buf_.append("\",\"ts\":");
  AppendTime(&buf_, ts);
  return id;
}

void Gen::End(uint64_t id, int64_t ts) {
  buf_.append("}\n");
  if (ts < max_ts) ++summary->disordered;
  max_ts = std::max(max_ts, ts);
  last_good_id = id;
  // Its account, for duplicates (a re-sent event stays with its account, hence its partition).
  const size_t begin = buf_.rfind('\n', buf_.size() - 2) + 1;  // npos + 1 == 0
  const size_t a = buf_.find("\"account\":\"", begin);
  last_good_account.clear();
  if (a != std::string::npos) {
    const size_t v = a + 11;
    last_good_account.assign(buf_, v, buf_.find('"', v) - v);
  }
}

void Gen::EndBad(std::string_view reason) {
  buf_.push_back('\n');
  ++summary->bad;
  ++summary->bad_by_reason[std::string(reason)];
}

void Gen::Push(int64_t ts, Ev type, std::string body, bool planted, int32_t link_set,
               int32_t link_use) {
  Pending p;
  p.ts = ts;
  p.seq = seq_++;
  p.type = type;
  p.planted = planted;
  p.link_set = link_set;
  p.link_use = link_use;
  p.body = std::move(body);
  queue_.push(std::move(p));
}

int32_t Gen::NewLink() {
  links_.push_back(0);
  return static_cast<int32_t>(links_.size() - 1);
}

void Gen::EmitPending() {
  // priority_queue::top is const; moving out of it right before pop() is safe.
  Pending p = std::move(const_cast<Pending&>(queue_.top()));
  queue_.pop();
  uint64_t id = Begin(p.type, p.ts);
  buf_.append(p.body);
  if (p.link_use >= 0) {
    buf_.append(",\"ref\":\"e-");
    AppendUint(&buf_, links_[p.link_use]);
    buf_.push_back('"');
  }
  End(id, p.ts);
  if (p.link_set >= 0) links_[p.link_set] = id;
  if (p.planted) ++summary->planted;
}

bool Gen::Flush(size_t threshold) {
  if (buf_.size() < threshold) return true;
  out_.write(buf_.data(), static_cast<std::streamsize>(buf_.size()));
  buf_.clear();
  return static_cast<bool>(out_);
}

namespace {

Status Validate(const GenOptions& o) {
  if (o.events > 0 && o.accounts == 0) return Status::InvalidArgument("accounts must be > 0");
  if (o.span_ms <= 0) return Status::InvalidArgument("span_ms must be > 0");
  // Room for late lines before the start and follow-ups after the end.
  if (o.start_ms < kMinEventTimeMs + kDay || o.span_ms > kMaxEventTimeMsExclusive ||
      o.start_ms > kMaxEventTimeMsExclusive - o.span_ms - 7 * kDay) {
    return Status::InvalidArgument("start_ms .. start_ms + span_ms must lie within 2000-2100");
  }
  if (!(o.disorder >= 0.0 && o.disorder <= 0.5)) {
    return Status::InvalidArgument("disorder must be within [0, 0.5]");
  }
  if (!(o.bad_fraction >= 0.0 && o.bad_fraction <= 1.0)) {
    return Status::InvalidArgument("bad_fraction must be within [0, 1]");
  }
  if (o.offenders_per_line > 0 && o.events > 0) {
    if (o.span_ms < 5 * kDay) {
      return Status::InvalidArgument("planting offenders needs span_ms >= 5 days");
    }
    if (static_cast<uint64_t>(o.offenders_per_line) * 100 > o.events) {
      return Status::InvalidArgument("too few events for offenders_per_line");
    }
  }
  return Status::Ok();
}

}  // namespace
}  // namespace gen_internal

Status GenerateStream(const GenOptions& options, std::ostream& out, GenSummary* summary) {
  using namespace gen_internal;
  if (Status s = Validate(options); !s.ok()) return s;
  GenSummary local;
  GenSummary* sum = summary != nullptr ? summary : &local;
  *sum = GenSummary();
  Gen g(options, out, sum);
  const uint64_t n = options.events;
  if (options.offenders_per_line > 0 && n > 0) {
    uint64_t planted = PlantOffenders(g);
    if (planted > n / 2) {
      *sum = GenSummary();
      return Status::InvalidArgument("planted offenders need " + std::to_string(planted) +
                                     " lines, more than half of events; lower "
                                     "offenders_per_line or raise events");
    }
  }
  const bool bad = options.bad_fraction > 0.0;
  const __int128 span = options.span_ms;
  for (uint64_t i = 0; i < n; ++i) {
    int64_t lo = options.start_ms + static_cast<int64_t>(span * i / n);
    int64_t hi = options.start_ms + static_cast<int64_t>(span * (i + 1) / n);
    if (g.HasPending() && n - i <= g.PendingCount()) {
      g.EmitPending();  // the end is near: write every scheduled line
    } else if (bad && g.rng.Chance(options.bad_fraction)) {
      EmitBad(g, std::max(lo, g.max_ts));
    } else if (g.HasPending() && g.NextPendingTs() < hi) {
      g.EmitPending();
    } else {
      EmitBackground(g, lo, hi);
    }
    if (!g.Flush(kFlushBytes)) return Status::IoError("writing the generated stream failed");
  }
  if (!g.Flush(0)) return Status::IoError("writing the generated stream failed");
  out.flush();
  if (!out) return Status::IoError("writing the generated stream failed");
  sum->lines = n;
  return Status::Ok();
}

}  // namespace abusewatch
