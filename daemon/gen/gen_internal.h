// Internals of the stream generator (generator.h), shared by daemon/gen/*.cc. Not a public API.
#ifndef ABUSEWATCH_DAEMON_GEN_GEN_INTERNAL_H_
#define ABUSEWATCH_DAEMON_GEN_GEN_INTERNAL_H_

#include <cstdint>
#include <initializer_list>
#include <ostream>
#include <queue>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/gen/generator.h"

namespace abusewatch::gen_internal {

constexpr int64_t kMinute = 60'000;
constexpr int64_t kHour = 3'600'000;
constexpr int64_t kDay = 86'400'000;
constexpr int64_t kMaxDisorderMs = 20'000;  // below the pack's 30 s allowed lateness
constexpr int64_t kLocalOffsetMs = 8 * kHour;

// Deterministic randomness: std::mt19937_64 is fully specified by the standard; the
// distributions below are the generator's own (the std:: ones differ between libraries).
class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}
  uint64_t Next() { return engine_(); }
  // Uniform in [0, n) for n > 0 by multiply-shift: small n take a 32-bit half of a draw
  // (relative bias below n / 2^32 ≤ 2^-12), larger n a whole draw.
  uint64_t Below(uint64_t n) {
    if (n <= (uint64_t{1} << 20)) return (Half() * n) >> 32;
    return static_cast<uint64_t>((static_cast<unsigned __int128>(engine_()) * n) >> 64);
  }
  // Uniform in [lo, hi], lo <= hi.
  int64_t Between(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(Below(static_cast<uint64_t>(hi - lo) + 1));
  }
  // True with probability p (32-bit resolution).
  bool Chance(double p) { return static_cast<double>(Half()) * 0x1.0p-32 < p; }
  bool Percent(uint64_t pct) { return Below(100) < pct; }
  template <typename T, size_t N>
  const T& Pick(const T (&items)[N]) {
    return items[Below(N)];
  }

 private:
  uint64_t Half() {
    if (has_half_) {
      has_half_ = false;
      return half_;
    }
    uint64_t x = engine_();
    half_ = x >> 32;
    has_half_ = true;
    return x & 0xffffffffu;
  }

  std::mt19937_64 engine_;
  uint64_t half_ = 0;
  bool has_half_ = false;
};

enum class Ev : uint8_t { kReport, kNotice, kDisposition, kPayment, kLogin, kSanction, kLink };
std::string_view EvName(Ev t);

void AppendUint(std::string* s, uint64_t v);
// Integer fen as decimal digits with exactly two fractional digits ("1234.56").
void AppendFen(std::string* s, int64_t fen);
// Event time: kLocal "2026-01-01T08:00:00.123+08:00", kUtc "…Z", kEpoch integer ms.
enum class TsStyle : uint8_t { kLocal, kUtc, kEpoch };
struct DayCache {  // the date text of the last day formatted
  int64_t day = INT64_MIN;
  char date[11] = {};  // "YYYY-MM-DDT"
};
void AppendTs(std::string* s, int64_t ms, TsStyle style, DayCache* cache);
// "acct-000123" for background account `index`.
void AppendAccount(std::string* s, uint32_t index);
// 16 hex digits of a 64-bit mix of `x` (stable pseudonymous keys, devices).
void AppendHex(std::string* s, uint64_t x);
uint64_t Mix64(uint64_t x);

// Appends JSON members `,"key":value` to a line. Every value is generator-made ASCII without
// quotes or backslashes, so nothing needs escaping.
class Json {
 public:
  explicit Json(std::string* s) : s_(s) {}
  Json& Str(std::string_view key, std::string_view v);
  Json& Raw(std::string_view key, std::string_view raw);
  Json& Bool(std::string_view key, bool v) { return Raw(key, v ? "true" : "false"); }
  Json& Array(std::string_view key, std::initializer_list<std::string_view> items);
  // Money from integer fen: "12.30" (as_number: 12.30; whole: "12" or 12 when fen % 100 == 0).
  Json& Money(std::string_view key, int64_t fen, bool as_number, bool whole = false);
  Json& Key(std::string_view key);  // `,"key":` for a hand-written value
  std::string* out() { return s_; }

 private:
  std::string* s_;
};

// A line scheduled for a later time (a follow-up, or a planted account's event). The envelope
// (id, type, ts) is written when it is emitted, so ids stay in line order.
struct Pending {
  int64_t ts = 0;
  uint64_t seq = 0;  // ties keep scheduling order
  Ev type = Ev::kLogin;
  bool planted = false;
  int32_t link_set = -1;  // remember this line's id in links[link_set]
  int32_t link_use = -1;  // append `"ref":"e-<links[link_use]>"`
  std::string body;       // members after ts, starting with `,"account":…`
};
struct PendingLater {
  bool operator()(const Pending& a, const Pending& b) const {
    return a.ts != b.ts ? a.ts > b.ts : a.seq > b.seq;
  }
};

// Per background account: what keeps it below every line.
struct AcctState {
  int32_t conceal_day = INT32_MIN;  // day index of conceal_count
  uint32_t conceal_count = 0;       // concealment logins in that day (≤ 4, so ≤ 8 in any 24 h)
  uint32_t settle_fen = 0;          // cumulative settlement (capped far below 200 000)
  uint32_t ad_fen = 0;              // cumulative ad_funding (capped far below 50 000)
};

class Gen {
 public:
  Gen(const GenOptions& options, std::ostream& out, GenSummary* summary);

  // Writes `{"id":"e-N","type":"T","ts":TS` into the line buffer; returns N. Finish the line
  // with members on Line() and then End().
  uint64_t Begin(Ev type, int64_t ts);
  Json Line() { return Json(&buf_); }
  std::string* buf() { return &buf_; }
  // Closes a good line (updates the largest time and the last accepted id).
  void End(uint64_t id, int64_t ts);
  // Closes a line written to be rejected with `reason`.
  void EndBad(std::string_view reason);
  TsStyle PickTsStyle();
  // The time of a line, in a style picked by PickTsStyle.
  void AppendTime(std::string* s, int64_t ts);
  uint64_t NewId() { return next_id_++; }

  void Push(int64_t ts, Ev type, std::string body, bool planted, int32_t link_set = -1,
            int32_t link_use = -1);
  int32_t NewLink();
  bool HasPending() const { return !queue_.empty(); }
  size_t PendingCount() const { return queue_.size(); }
  int64_t NextPendingTs() const { return queue_.top().ts; }
  void EmitPending();

  // Writes buffered bytes when over `threshold`; false when the stream failed.
  bool Flush(size_t threshold);

  const GenOptions& opt;
  GenSummary* summary;
  Rng rng;
  int64_t end_ms;                 // start + span
  int64_t max_ts = INT64_MIN;     // largest time of a good line written so far
  uint64_t last_good_id = 0;      // id number of the last good line (for duplicates)
  std::string last_good_account;  // its account ("" if none)
  std::vector<AcctState> accts;   // background accounts

 private:
  std::ostream& out_;
  std::string buf_;
  uint64_t next_id_ = 1;
  uint64_t seq_ = 0;
  std::priority_queue<Pending, std::vector<Pending>, PendingLater> queue_;
  std::vector<uint64_t> links_;
  DayCache local_days_, utc_days_;
};

// gen_background.cc: one background line (maybe with follow-ups) at a time in [lo, hi).
void EmitBackground(Gen& g, int64_t lo, int64_t hi);
// gen_bad.cc: one line that breaks the contract, at time `ts` (≥ the largest time so far).
void EmitBad(Gen& g, int64_t ts);
// gen_offenders.cc: schedules every planted account's events; returns the planted line count.
uint64_t PlantOffenders(Gen& g);

}  // namespace abusewatch::gen_internal

#endif  // ABUSEWATCH_DAEMON_GEN_GEN_INTERNAL_H_
