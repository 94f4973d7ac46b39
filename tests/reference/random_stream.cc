// RandomStream (random_stream.h): random JSON Lines event streams for a config.
#include "tests/reference/random_stream.h"

#include <algorithm>
#include <cstdio>
#include <deque>
#include <span>
#include <string_view>

namespace abusewatch::testing::ref {
namespace {

using ET = EventType;
constexpr int64_t kSec = 1000;
constexpr int64_t kDayMs = 86'400'000;

int64_t FloorDivide(int64_t a, int64_t b) { return a / b - ((a % b != 0 && a < 0) ? 1 : 0); }

std::string Quote(const std::string& s) { return "\"" + s + "\""; }

// A JSON decimal: quoted text, or (sometimes) a bare JSON number.
std::string DecimalJson(Rng& rng, const std::string& text) {
  return rng.Percent(25) ? text : Quote(text);
}

std::string AmountText(Rng& rng) {
  int64_t units, cents;
  switch (rng.Range(0, 19)) {
    case 0:
      return "999999999999999.99";
    case 1:
    case 2:
    case 3:
    case 4:
      units = 0;
      cents = rng.Range(0, 99);
      break;
    case 5:
    case 6:
      units = rng.Range(1000, 120'000);  // reaches the default pack's lines in a few events
      cents = rng.Range(0, 99);
      break;
    default:
      units = rng.Range(0, 300);
      cents = rng.Range(0, 99);
  }
  char buf[48];
  switch (rng.Range(0, 2)) {
    case 0:
      std::snprintf(buf, sizeof(buf), "%lld", static_cast<long long>(units));
      break;
    case 1:
      std::snprintf(buf, sizeof(buf), "%lld.%lld", static_cast<long long>(units),
                    static_cast<long long>(cents / 10));
      break;
    default:
      std::snprintf(buf, sizeof(buf), "%lld.%02lld", static_cast<long long>(units),
                    static_cast<long long>(cents));
  }
  return buf;
}

std::string StringArray(Rng& rng, std::span<const std::string_view> from, int min_n) {
  std::string out = "[";
  int n = static_cast<int>(rng.Range(min_n, 3));
  for (int i = 0; i < n; ++i) out += (i ? "," : "") + Quote(std::string(rng.Pick(from)));
  return out + "]";
}

class StreamGen {
 public:
  StreamGen(const EngineConfig& c, Rng& rng) : c_(c), rng_(rng) {}
  std::vector<std::string> Run();

 private:
  std::string Event(int64_t ts);
  std::string Malformed(int64_t ts);
  std::string TsJson(int64_t ts);
  int64_t NextTs();
  void AddInstants(int64_t ts);
  ET PickType();

  const EngineConfig& c_;
  Rng& rng_;
  std::vector<std::string> accounts_, subjects_, ids_;
  std::deque<int64_t> instants_;  // interesting future times: bucket edges, deadlines
  int64_t cur_ = 0;               // the largest ts generated so far
  int64_t max_step_ = 0;
  int next_id_ = 0;
};

std::vector<std::string> StreamGen::Run() {
  // JSON string contents (escapes included): keys with quotes, backslashes and non-ASCII.
  constexpr std::string_view kAccounts[] = {"acct-1", "acct-2", "acct-10", "Acct-3",       "a",
                                            "a-b",    "z.9",    "账户",    "q\\\"x\\u00e9"};
  int na = static_cast<int>(rng_.Range(2, 4));
  while (static_cast<int>(accounts_.size()) < na) {
    std::string a(rng_.Pick(kAccounts));
    if (std::find(accounts_.begin(), accounts_.end(), a) == accounts_.end()) accounts_.push_back(a);
  }
  int ns = static_cast<int>(rng_.Range(0, 3));
  for (int i = 0; i < ns; ++i) subjects_.emplace_back(vocab::kSubjects[i]);
  // 2026-03-01T00:00:00Z plus up to ten days; sometimes on a whole second or minute.
  cur_ = 1'772'323'200'000 + rng_.Range(0, 10 * kDayMs);
  if (rng_.Percent(50)) cur_ -= cur_ % (rng_.Percent(50) ? kSec : 60 * kSec);
  constexpr int64_t kSteps[] = {50,        500,       2 * kSec,    5 * kSec,
                                20 * kSec, 20 * kSec, 1200 * kSec, 6 * 3600 * kSec};
  max_step_ = rng_.Pick(kSteps);
  int n = static_cast<int>(rng_.Range(20, 300));
  std::vector<std::string> lines;
  for (int i = 0; i < n; ++i) {
    int r = static_cast<int>(rng_.Range(0, 99));
    if (r < 2) {
      lines.push_back(rng_.Percent(50) ? "" : "  ");
    } else if (r < 5) {
      lines.push_back(Malformed(NextTs()));
    } else {
      lines.push_back(Event(NextTs()));
      if (rng_.Percent(3)) lines.back() = " " + lines.back() + (rng_.Percent(50) ? "\r" : " ");
    }
  }
  return lines;
}

int64_t StreamGen::NextTs() {
  int64_t lateness = c_.allowed_lateness_ms;
  int64_t ts;
  int p = static_cast<int>(rng_.Range(0, 99));
  // Instants that would now be late are no longer interesting.
  std::erase_if(instants_, [&](int64_t d) { return d < cur_ - lateness; });
  if (p < 18 && !instants_.empty()) {
    size_t i = static_cast<size_t>(rng_.Range(0, static_cast<int64_t>(instants_.size()) - 1));
    ts = instants_[i];
    instants_.erase(instants_.begin() + static_cast<std::ptrdiff_t>(i));
  } else if (p < 28) {
    ts = cur_ - rng_.Range(0, lateness);  // out of order, within the allowed lateness
  } else if (p < 31) {
    ts = cur_ - lateness - (rng_.Percent(30) ? 1 : rng_.Range(1, 5 * kSec));  // late
  } else {
    if (!rng_.Percent(25)) cur_ += rng_.Range(1, max_step_);
    if (rng_.Percent(20)) cur_ += max_step_ * rng_.Range(2, 6);  // a gap: windows expire
    ts = cur_;
  }
  cur_ = std::max(cur_, ts);
  return ts;
}

void StreamGen::AddInstants(int64_t ts) {
  for (const RuleSpec& r : c_.rules) {
    if (!rng_.Percent(30)) continue;
    std::vector<int64_t> add;
    switch (r.kind) {
      case RuleKind::kThreshold: {
        int64_t z = c_.timezone_offset_ms, g = r.granularity_ms;
        int64_t edge = FloorDivide(ts + z, g) * g - z + r.window_ms;
        add = {edge, edge - 1};
        break;
      }
      case RuleKind::kAbsence:
        add = {ts + r.within_ms, ts + r.within_ms + 1};
        break;
      case RuleKind::kSequence:
        add = {ts + r.after_ms, ts + r.after_ms + 1, ts + r.within_ms, ts + r.within_ms + 1};
        break;
      default:
        break;
    }
    for (int64_t d : add) {
      if (d > cur_ && d - cur_ < 20 * max_step_ + 60 * kSec) instants_.push_back(d);
    }
  }
  while (instants_.size() > 48) instants_.pop_front();
}

ET StreamGen::PickType() {
  std::vector<int> weight(kNumEventTypes, 1);
  auto add = [&](const Selector& s) {
    for (int t = 0; t < kNumEventTypes; ++t)
      weight[static_cast<size_t>(t)] += ((s.type_mask >> t) & 1u) * 3;
  };
  for (const RuleSpec& r : c_.rules) {
    add(r.select);
    add(r.trigger);
    add(r.expect);
    add(r.first);
    add(r.then);
    if (r.reset_on) add(*r.reset_on);
    if (r.unless) add(*r.unless);
  }
  int total = 0;
  for (int w : weight) total += w;
  int x = static_cast<int>(rng_.Range(0, total - 1));
  for (int t = 0; t < kNumEventTypes; ++t) {
    x -= weight[static_cast<size_t>(t)];
    if (x < 0) return static_cast<ET>(t);
  }
  return ET::kLogin;
}

std::string StreamGen::TsJson(int64_t ts) {
  if (rng_.Percent(50)) return std::to_string(ts);
  constexpr int kOffsets[] = {0, 0, 480, -300, 330, -570, 840};
  int digits = static_cast<int>(rng_.Range(0, 3)) * 3;  // 0, 3, 6 or 9
  if (digits == 0 && ts % 1000 != 0) digits = 3;
  return Quote(FormatRfc3339(ts, rng_.Pick(kOffsets), digits, rng_));
}

std::string StreamGen::Event(int64_t ts) {
  std::string id;
  if (!ids_.empty() && rng_.Percent(6)) {
    id = rng_.Pick(ids_);
  } else {
    id = "e" + std::to_string(next_id_++);
    ids_.push_back(id);
  }
  ET type = PickType();
  std::string j = "{\"id\":" + Quote(id) + ",\"type\":" + Quote(std::string(EventTypeName(type))) +
                  ",\"ts\":" + TsJson(ts) + ",\"account\":" + Quote(rng_.Pick(accounts_));
  if (!subjects_.empty() && rng_.Percent(60)) {
    j += ",\"subject\":" + Quote(rng_.Pick(subjects_));
  } else if (rng_.Percent(8)) {
    j += ",\"subject\":\"\"";
  }
  if (rng_.Percent(10)) j += ",\"source\":\"crm\"";
  auto opt = [&](int percent, const char* name, const std::string& json) {
    if (rng_.Percent(percent)) j += ",\"" + std::string(name) + "\":" + json;
  };
  auto str = [&](std::span<const std::string_view> v) { return Quote(std::string(rng_.Pick(v))); };
  switch (type) {
    case ET::kAbuseReport:
      opt(70, "category", str(vocab::kCategories));
      opt(60, "verified", rng_.Percent(60) ? "true" : "false");
      opt(50, "severity", str(vocab::kSeverities));
      opt(20, "reporter", "\"rep\"");
      break;
    case ET::kRegulatorNotice:
      opt(50, "authority", str(vocab::kAuthorities));
      opt(30, "verified", rng_.Percent(70) ? "true" : "false");
      opt(30, "notice_id", "\"n-1\"");
      break;
    case ET::kDisposition:
      j += ",\"action\":" + str(vocab::kActions);
      opt(30, "ref", "\"e1\"");
      break;
    case ET::kPayment: {
      j += ",\"flow\":" + str(vocab::kFlows) + ",\"amount\":" + DecimalJson(rng_, AmountText(rng_));
      constexpr std::string_view kCurrencies[] = {"CNY", "USD", "USD", "HKD"};
      constexpr std::string_view kListPrices[] = {"10", "0", "33.33", "0.02", "100.5"};
      constexpr std::string_view kFeeRates[] = {"0.05", "0.049", "0.1", "0.050"};
      if (rng_.Percent(50)) {
        std::string cur(rng_.Pick(kCurrencies));
        if (!c_.currency_rates.count(cur) && cur != c_.base_currency) cur = "USD";
        j += ",\"currency\":" + Quote(cur);
      }
      opt(60, "method", str(vocab::kMethods));
      opt(35, "list_price", DecimalJson(rng_, std::string(rng_.Pick(kListPrices))));
      opt(35, "fee_rate", DecimalJson(rng_, std::string(rng_.Pick(kFeeRates))));
      opt(30, "payer", str(vocab::kPayers));
      break;
    }
    case ET::kLogin:
      opt(50, "ip", str(vocab::kIps));
      opt(60, "signals", StringArray(rng_, vocab::kSignals, 0));
      opt(50, "device", str(vocab::kDevices));
      break;
    case ET::kSanction:
      opt(50, "kind", str(vocab::kKinds));
      opt(30, "authority", str(vocab::kAuthorities));
      break;
    case ET::kAccountLink:
      j += ",\"entity_keys\":" + StringArray(rng_, vocab::kEntityKeys, 1);
      break;
  }
  if (c_.max_event_bytes < 1000 && rng_.Percent(5))
    j += ",\"pad\":\"" + std::string(400, 'x') + "\"";
  AddInstants(ts);
  return j + "}";
}

std::string StreamGen::Malformed(int64_t ts) {
  std::string id = Quote("m" + std::to_string(next_id_++));
  std::string head = "{\"id\":" + id + ",\"ts\":" + std::to_string(ts) + ",\"account\":\"a\",";
  switch (rng_.Range(0, 12)) {
    case 0:
      return "{\"id\":" + id + ",\"type\":\"login\"";
    case 1:
      return "[\"not\",\"an\",\"object\"]";
    case 2:
      return "{\"id\":" + id + ",\"type\":\"login\",\"ts\":" + std::to_string(ts) + "}";
    case 3:
      return head + R"("type":"payment","flow":"gain","amount":"-5"})";
    case 4:
      return head + R"("type":"payment","flow":"gain","amount":"1.234"})";
    case 5:
      return head + R"("type":"teleport"})";
    case 6:
      return "{\"id\":" + id + R"(,"type":"login","account":"a","ts":"2026-02-30T00:00:00Z"})";
    case 7:
      return "{\"id\":" + id + R"(,"type":"login","account":"a","ts":12345})";
    case 8:
      return head + R"("type":"payment","flow":"gain","amount":"5","currency":"EUR"})";
    case 9:
      return head + R"("type":"payment","flow":"bribe","amount":"5"})";
    case 10:
      return "{\"id\":" + id + ",\"type\":\"login\",\"ts\":" + std::to_string(ts) +
             ",\"account\":42}";
    case 11:
      return head + R"("type":"disposition"})";
    default:
      return head + R"("type":"login","id":"again"})";
  }
}

}  // namespace

std::string FormatRfc3339(int64_t ms, int offset_minutes, int fraction_digits, Rng& rng) {
  int64_t local = ms + offset_minutes * 60 * kSec;
  int64_t days = FloorDivide(local, kDayMs);
  int64_t in_day = local - days * kDayMs;
  // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
  int64_t z = days + 719468;
  int64_t era = FloorDivide(z, 146097);
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  int64_t d = doy - (153 * mp + 2) / 5 + 1;
  int64_t m = mp < 10 ? mp + 3 : mp - 9;
  int64_t y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  char buf[160];  // room for any int64 fields (keeps -Wformat-truncation quiet at -O0)
  std::snprintf(buf, sizeof(buf), "%04lld-%02lld-%02lld%c%02lld:%02lld:%02lld",
                static_cast<long long>(y), static_cast<long long>(m), static_cast<long long>(d),
                rng.Percent(10) ? 't' : 'T', static_cast<long long>(in_day / 3'600'000),
                static_cast<long long>(in_day / 60'000 % 60),
                static_cast<long long>(in_day / 1000 % 60));
  std::string out = buf;
  if (fraction_digits > 0) {
    std::snprintf(buf, sizeof(buf), ".%03lld", static_cast<long long>(in_day % 1000));
    out += buf;
    for (int i = 3; i < fraction_digits; ++i) out += static_cast<char>('0' + rng.Range(0, 9));
  }
  if (offset_minutes == 0) return out + (rng.Percent(10) ? "z" : "Z");
  int a = offset_minutes < 0 ? -offset_minutes : offset_minutes;
  std::snprintf(buf, sizeof(buf), "%c%02d:%02d", offset_minutes < 0 ? '-' : '+', a / 60, a % 60);
  return out + buf;
}

std::vector<std::string> RandomStream(const EngineConfig& config, Rng& rng) {
  return StreamGen(config, rng).Run();
}

}  // namespace abusewatch::testing::ref
