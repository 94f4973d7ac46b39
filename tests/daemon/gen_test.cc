// Tests of the synthetic stream generator (daemon/gen/generator.h).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "daemon/gen/generator.h"
#include "daemon/replay.h"
#include "detectors/decimal.h"
#include "detectors/decoder.h"
#include "detectors/event.h"
#include "detectors/timeutil.h"

namespace abusewatch {
namespace {

constexpr int64_t kHourMs = 3'600'000;
constexpr int64_t kAllowedLatenessMs = 30'000;

// A strict RFC 8259 syntax check of one compact JSON object (the generator writes neither
// whitespace nor escapes, so neither is accepted).
class JsonSyntax {
 public:
  static bool IsObject(std::string_view s) {
    JsonSyntax p(s);
    return !s.empty() && s[0] == '{' && p.Value(0) && p.i_ == s.size();
  }

 private:
  explicit JsonSyntax(std::string_view s) : s_(s) {}
  bool Is(char c) { return i_ < s_.size() && s_[i_] == c && ++i_ > 0; }
  bool Digits() {
    size_t begin = i_;
    while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
    return i_ > begin;
  }
  bool String() {
    if (!Is('"')) return false;
    while (i_ < s_.size() && s_[i_] != '"' && s_[i_] != '\\' &&
           static_cast<unsigned char>(s_[i_]) >= 0x20) {
      ++i_;
    }
    return Is('"');
  }
  bool Number() {
    Is('-');
    if (!Is('0') && !Digits()) return false;
    if (Is('.') && !Digits()) return false;
    if (Is('e') || Is('E')) {
      if (!Is('+')) Is('-');
      return Digits();
    }
    return true;
  }
  bool Value(int depth) {
    if (depth > 64 || i_ >= s_.size()) return false;
    if (Is('{')) {
      if (Is('}')) return true;
      do {
        if (!String() || !Is(':') || !Value(depth + 1)) return false;
      } while (Is(','));
      return Is('}');
    }
    if (Is('[')) {
      if (Is(']')) return true;
      do {
        if (!Value(depth + 1)) return false;
      } while (Is(','));
      return Is(']');
    }
    if (s_[i_] == '"') return String();
    for (std::string_view word : {"true", "false", "null"}) {
      if (s_.substr(i_, word.size()) == word) return (i_ += word.size()) > 0;
    }
    return Number();
  }

  std::string_view s_;
  size_t i_ = 0;
};

DecoderOptions PackDecoderOptions() {
  DecoderOptions o;
  for (auto [code, rate] : {std::pair{"USD", "7.10"}, std::pair{"HKD", "0.91"},
                            std::pair{"EUR", "7.70"}, std::pair{"JPY", "0.048"}}) {
    Decimal d;
    EXPECT_TRUE(ParseDecimal(rate, DecimalLimits{}, &d));
    o.currency_rates[code] = d;
  }
  return o;
}

std::string Generate(const GenOptions& o, GenSummary* summary = nullptr) {
  std::ostringstream out;
  Status s = GenerateStream(o, out, summary);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out.str();
}

std::vector<std::string_view> Lines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    EXPECT_NE(nl, std::string_view::npos) << "the last line must end with a newline";
    if (nl == std::string_view::npos) nl = text.size();
    lines.push_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return lines;
}

// Replays the contract checks of events.md and rules.md "Time" (contract → late → duplicate)
// over every line; returns the rejection counts by reason and keeps the accepted events.
struct Replayed {
  std::map<std::string, uint64_t> rejected;
  std::vector<Event> accepted;
  uint64_t disordered = 0;
  int64_t min_ts = INT64_MAX, max_ts = INT64_MIN;
  int64_t max_lag = 0;  // largest amount by which an accepted time lies below an earlier one
};
Replayed Replay(const std::vector<std::string_view>& lines, bool keep_events) {
  Replayed r;
  Decoder decoder(PackDecoderOptions());
  std::unordered_set<std::string> ids;
  Event ev;
  Rejection rej;
  for (std::string_view line : lines) {
    if (!decoder.Decode(line, &ev, &rej)) {
      ++r.rejected[std::string(RejectReasonName(rej.reason))];
      continue;
    }
    if (r.max_ts != INT64_MIN && ev.ts_ms < r.max_ts - kAllowedLatenessMs) {
      ++r.rejected["late"];
      continue;
    }
    if (!ids.emplace(ev.id()).second) {
      ++r.rejected["duplicate"];
      continue;
    }
    if (ev.ts_ms < r.max_ts) {
      ++r.disordered;
      r.max_lag = std::max(r.max_lag, r.max_ts - ev.ts_ms);
    }
    r.min_ts = std::min(r.min_ts, ev.ts_ms);
    r.max_ts = std::max(r.max_ts, ev.ts_ms);
    if (keep_events) r.accepted.push_back(std::move(ev));
  }
  return r;
}

TEST(GenTest, DeterministicForASeed) {
  GenOptions o;
  o.events = 20000;
  o.accounts = 1000;
  o.bad_fraction = 0.02;
  std::string a = Generate(o), b = Generate(o);
  EXPECT_EQ(a, b);
  o.seed = 2;
  EXPECT_NE(a, Generate(o));
}

TEST(GenTest, WritesExactlyTheRequestedLines) {
  for (uint64_t n : {0, 1, 2, 7, 999, 5000}) {
    GenOptions o;
    o.events = n;
    o.accounts = 50;
    o.offenders_per_line = 0;
    o.bad_fraction = n % 2 == 0 ? 0.0 : 0.1;
    GenSummary summary;
    std::string text = Generate(o, &summary);
    EXPECT_EQ(static_cast<uint64_t>(std::count(text.begin(), text.end(), '\n')), n);
    EXPECT_EQ(summary.lines, n);
  }
  GenOptions o;
  o.events = 12345;
  GenSummary summary;
  std::string text = Generate(o, &summary);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 12345);
  EXPECT_EQ(summary.lines, 12345u);
}

TEST(GenTest, EveryLineIsAnAcceptedEventInTimeOrder) {
  GenOptions o;
  o.events = 60000;
  o.accounts = 2000;
  GenSummary summary;
  std::string text = Generate(o, &summary);
  std::vector<std::string_view> lines = Lines(text);
  ASSERT_EQ(lines.size(), o.events);
  for (std::string_view line : lines) {
    ASSERT_TRUE(JsonSyntax::IsObject(line)) << line;
    ASSERT_EQ(line.substr(0, 9), "{\"id\":\"e-") << line;
    for (std::string_view field : {"\",\"type\":\"", "\",\"ts\":", ",\"account\":\""}) {
      ASSERT_NE(line.find(field), std::string_view::npos) << field << " in " << line;
    }
  }
  Replayed r = Replay(lines, /*keep_events=*/false);
  EXPECT_TRUE(r.rejected.empty());  // nothing malformed, late or duplicate
  EXPECT_LE(r.max_lag, 20'000);     // out of order by up to 20 s, no more
  EXPECT_GT(r.max_lag, 10'000);
  EXPECT_GE(r.min_ts, o.start_ms);
  EXPECT_LE(r.max_ts, o.start_ms + o.span_ms);
  EXPECT_GT(r.max_ts, o.start_ms + o.span_ms - 2 * kHourMs);  // the span is used to its end
  EXPECT_EQ(r.disordered, summary.disordered);
  EXPECT_GT(r.disordered, o.events / 400);  // about 1 %
  EXPECT_LT(r.disordered, o.events / 50);
  EXPECT_EQ(summary.bad, 0u);
}

TEST(GenTest, TimestampStyles) {
  GenOptions o;
  o.events = 5000;
  o.offenders_per_line = 0;
  size_t local = 0, epoch = 0;
  const std::string text1 = Generate(o);
  for (std::string_view line : Lines(text1)) {
    size_t at = line.find("\"ts\":") + 5;
    local += line.substr(at, 31).find("+08:00\"") != std::string_view::npos;
    epoch += line[at] >= '0' && line[at] <= '9';
  }
  EXPECT_GT(local, 4500u);
  EXPECT_GT(epoch, 50u);
  o.rfc3339 = false;
  const std::string text2 = Generate(o);
  for (std::string_view line : Lines(text2)) {
    size_t at = line.find("\"ts\":") + 5;
    ASSERT_TRUE(line[at] >= '0' && line[at] <= '9') << line;
  }
}

TEST(GenTest, PlantsOffendersForEveryLegalLine) {
  GenOptions o;
  o.events = 30000;
  GenSummary summary;
  std::string text = Generate(o, &summary);
  std::istringstream names(
      "art11_1_service_after_notice art11_2_report_unhandled art11_3_price_above_list "
      "art11_3_fee_rate art11_3_unusual_method art11_4_crime_tooling art11_5_concealment "
      "art11_6_evasion_help art12_1_three_parties art12_2_settlement art12_3_ad_funding "
      "art12_4_gains art12_5_repeat_after_penalty art12_6_serious_consequences "
      "art12_p2_settlement_x5 art12_p2_ad_funding_x5 art12_p2_gains_x5 "
      "art12_p2_especially_serious art287_2_case");
  std::vector<std::string> want_rules{std::istream_iterator<std::string>(names), {}};
  EXPECT_EQ(summary.offenders.size(), want_rules.size());
  std::set<std::string> accounts;
  for (const std::string& rule : want_rules) {
    ASSERT_EQ(summary.offenders[rule].size(), o.offenders_per_line) << rule;
    for (const std::string& account : summary.offenders[rule]) {
      EXPECT_EQ(account.rfind("off-", 0), 0u) << account;
      EXPECT_TRUE(accounts.insert(account).second) << account;
      const std::vector<std::string>& expected = summary.expected[account];
      EXPECT_TRUE(std::find(expected.begin(), expected.end(), rule) != expected.end());
      EXPECT_EQ(expected.size(), rule == "art287_2_case" ? 3u : 1u) << account;
    }
  }
  EXPECT_EQ(summary.near_misses.size(), 10u);
  for (const std::string& account : summary.near_misses) {
    EXPECT_TRUE(summary.expected.at(account).empty());
    accounts.insert(account);
  }
  EXPECT_EQ(summary.expected.size(), accounts.size());
  // Every planted account shows up, and the planted line count is right.
  uint64_t planted = 0;
  std::set<std::string> seen;
  for (std::string_view line : Lines(text)) {
    size_t at = line.find(",\"account\":\"") + 12;
    std::string account(line.substr(at, line.find('"', at) - at));
    if (accounts.count(account) != 0) {
      ++planted;
      seen.insert(account);
    }
  }
  EXPECT_EQ(seen, accounts);
  EXPECT_EQ(planted, summary.planted);
  EXPECT_LT(planted, o.events / 10);
}

// Per-account facts of the default pack's lines, from accepted events.
struct Facts {
  int64_t settlement = 0, ad_funding = 0, gain = 0;  // base fen
  int verified = 0, especially_serious = 0, unusual_fees = 0, high_price = 0, high_fee_rate = 0;
  std::vector<int64_t> conceal, reports, notices;
  std::vector<std::pair<int64_t, std::string>> dispositions;
  int MaxConcealIn24h() const {
    int best = 0;
    for (size_t i = 0, j = 0; j < conceal.size(); ++j) {
      while (conceal[j] - conceal[i] > 24 * kHourMs + 1000) ++i;
      best = std::max(best, static_cast<int>(j - i + 1));
    }
    return best;
  }
};

std::map<std::string, Facts> CollectFacts(const std::vector<Event>& events) {
  static const std::set<std::string_view> kConcealment = {
      "tor",      "vpn", "proxy", "encrypted_channel", "fake_identity", "identity_mismatch",
      "data_wipe"};
  std::map<std::string, Facts> facts;
  std::vector<const Event*> sorted;
  for (const Event& e : events) sorted.push_back(&e);
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const Event* a, const Event* b) { return a->ts_ms < b->ts_ms; });
  for (const Event* e : sorted) {
    Facts& f = facts[std::string(e->account())];
    switch (e->type) {
      case EventType::kAbuseReport:
        f.reports.push_back(e->ts_ms);
        f.verified += e->verified;
        f.especially_serious += e->Str(FieldId::kSeverity) == "especially_serious";
        break;
      case EventType::kRegulatorNotice:
        f.notices.push_back(e->ts_ms);
        f.verified += e->verified;
        break;
      case EventType::kDisposition:
        f.dispositions.emplace_back(e->ts_ms, std::string(e->Str(FieldId::kAction)));
        break;
      case EventType::kPayment: {
        std::string_view flow = e->Str(FieldId::kFlow), method = e->Str(FieldId::kMethod);
        if (flow == "settlement") f.settlement += e->amount_base_fen;
        if (flow == "ad_funding") f.ad_funding += e->amount_base_fen;
        if (flow == "gain") f.gain += e->amount_base_fen;
        f.unusual_fees += flow == "service_fee" && (method == "crypto" || method == "gift_card");
        if (e->list_price && e->list_price->mantissa != 0) {  // amount / list >= 3, exactly
          UInt128 lhs = static_cast<UInt128>(e->amount_fen) * Pow10(e->list_price->scale);
          f.high_price += lhs >= 300 * e->list_price->mantissa;
        }
        f.high_fee_rate += e->fee_rate && CompareDecimal(*e->fee_rate, Decimal{5, 2}) >= 0;
        break;
      }
      case EventType::kLogin: {
        bool concealed = false;
        for (size_t i = 0; i < e->ArraySize(FieldId::kSignals); ++i) {
          concealed |= kConcealment.count(e->ArrayElement(FieldId::kSignals, i)) != 0;
        }
        if (concealed) f.conceal.push_back(e->ts_ms);
        break;
      }
      default:
        break;
    }
  }
  return facts;
}

TEST(GenTest, BackgroundStaysBelowEveryLine) {
  GenOptions o;
  o.events = 300000;
  o.accounts = 300;  // busy accounts: ~1000 events each
  o.span_ms = 10 * 86'400'000LL;
  o.disorder = 0.05;
  GenSummary summary;
  std::string text = Generate(o, &summary);
  Replayed r = Replay(Lines(text), /*keep_events=*/true);
  EXPECT_TRUE(r.rejected.empty());
  int with_reports = 0, with_notices = 0, with_flows = 0;
  for (const auto& [account, f] : CollectFacts(r.accepted)) {
    if (account.rfind("acct-", 0) != 0) continue;
    SCOPED_TRACE(account);
    EXPECT_EQ(f.verified, 0);
    EXPECT_EQ(f.especially_serious, 0);
    EXPECT_EQ(f.unusual_fees, 0);
    EXPECT_EQ(f.high_price, 0);
    EXPECT_EQ(f.high_fee_rate, 0);
    EXPECT_LT(f.settlement, 200'000'00);
    EXPECT_LT(f.ad_funding, 50'000'00);
    EXPECT_EQ(f.gain, 0);
    EXPECT_LT(f.MaxConcealIn24h(), 10);
    auto handled = [&](int64_t from, int64_t to, std::set<std::string> actions) {
      for (const auto& [ts, action] : f.dispositions) {
        if (ts >= from && ts <= to && actions.count(action) != 0) return true;
      }
      return false;
    };
    for (int64_t t : f.reports) {  // art. 11(2): handled within 24 h, strictly after
      EXPECT_TRUE(
          handled(t + 1, t + 24 * kHourMs,
                  {"suspend", "takedown", "restrict", "report_to_police", "warn", "close"}));
    }
    for (int64_t t : f.notices) {  // art. 11(1): suspended within the 24 h grace
      EXPECT_TRUE(handled(t, t + 24 * kHourMs, {"suspend", "takedown", "restrict"}));
    }
    with_reports += !f.reports.empty();
    with_notices += !f.notices.empty();
    with_flows += f.settlement > 0;
  }
  EXPECT_GT(with_reports, 100);
  EXPECT_GT(with_notices, 10);
  EXPECT_GT(with_flows, 100);
}

TEST(GenTest, OffendersAndNearMissesSitOnTheirLines) {
  GenOptions o;
  o.events = 50000;
  GenSummary summary;
  Replayed r = Replay(Lines(Generate(o, &summary)), /*keep_events=*/true);
  std::map<std::string, Facts> facts = CollectFacts(r.accepted);
  for (const std::string& a : summary.offenders["art12_2_settlement"]) {
    EXPECT_GE(facts[a].settlement, 200'000'00) << a;
    EXPECT_LT(facts[a].settlement, 1'000'000'00) << a;
    EXPECT_EQ(facts[a].verified, 1) << a;
  }
  for (const std::string& a : summary.offenders["art12_p2_settlement_x5"]) {
    EXPECT_GE(facts[a].settlement, 1'000'000'00) << a;
    EXPECT_EQ(facts[a].verified, 0) << a;
  }
  EXPECT_EQ(facts[summary.offenders["art12_2_settlement"][0]].settlement, 200'000'00);
  for (const std::string& a : summary.offenders["art11_5_concealment"]) {
    EXPECT_EQ(facts[a].MaxConcealIn24h(), 10) << a;
  }
  for (const std::string& a : summary.offenders["art11_3_unusual_method"]) {
    EXPECT_EQ(facts[a].unusual_fees, 3) << a;
  }
  EXPECT_EQ(facts["near-settlement_fen_under"].settlement, 199'999'99);
  EXPECT_EQ(facts["near-concealment_9"].MaxConcealIn24h(), 9);
  EXPECT_EQ(facts["near-unusual_method_2"].unusual_fees, 2);
  EXPECT_EQ(facts["near-price_ratio_2_99"].high_price, 0);
  EXPECT_EQ(facts["near-fee_rate_0_0499"].high_fee_rate, 0);
  EXPECT_EQ(facts["near-gains_fen_under"].gain, 9'999'99);
}

TEST(GenTest, BadFractionCoversEveryRejectionReason) {
  GenOptions o;
  o.events = 40000;
  o.bad_fraction = 0.05;
  GenSummary summary;
  std::string text = Generate(o, &summary);
  Replayed r = Replay(Lines(text), /*keep_events=*/false);
  EXPECT_EQ(r.rejected, summary.bad_by_reason);
  for (std::string_view reason :
       {"malformed_json", "too_large", "missing_field", "bad_type", "unknown_type", "bad_timestamp",
        "bad_amount", "unknown_currency", "bad_value", "duplicate", "late"}) {
    EXPECT_GT(summary.bad_by_reason[std::string(reason)], 0u) << reason;
  }
  EXPECT_GT(summary.bad, o.events * 4 / 100);
  EXPECT_LT(summary.bad, o.events * 6 / 100);
  EXPECT_EQ(r.disordered, summary.disordered);
  EXPECT_GE(r.min_ts, o.start_ms);
}

// Through the default pack (config/abusewatch.yaml), each planted account fires exactly its
// expected notifying rules, and no background account produces any transition at all.
TEST(GenTest, DefaultPackFiresExactlyThePlantedLines) {
  GenOptions o;
  o.events = 100000;
  o.bad_fraction = 0.01;
  GenSummary summary;
  std::string text = Generate(o, &summary);
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("aw-gen-" + std::to_string(getpid()));
  fs::create_directories(dir);
  ReplayOptions r;
  r.config = std::string(ABUSEWATCH_SOURCE_DIR) + "/config/abusewatch.yaml";
  r.input = (dir / "in.jsonl").string();
  r.output = (dir / "out.jsonl").string();
  r.rejects = (dir / "rej.jsonl").string();
  std::ofstream(r.input) << text;
  std::ostringstream err;
  ASSERT_EQ(RunReplay(r, err), 0) << err.str();
  auto field = [](const std::string& line, const std::string& name) {
    size_t at = line.find("\"" + name + "\":\"");
    if (at == std::string::npos) return std::string();
    at += name.size() + 4;
    return line.substr(at, line.find('"', at) - at);
  };
  const std::set<std::string> kBuildingBlocks = {
      "art13_predicate_verified", "art12_2_settlement_total", "art12_3_ad_funding_total",
      "art12_4_gains_total",      "presumed_knowledge",       "serious_circumstances"};
  std::map<std::string, std::set<std::string>> fired;
  std::ifstream in(r.output);
  std::string line;
  while (std::getline(in, line)) {
    std::string key = field(line, "key"), rule = field(line, "rule");
    EXPECT_EQ(summary.expected.count(key), 1u) << "a background account crossed a line: " << line;
    if (field(line, "state") == "firing" && kBuildingBlocks.count(rule) == 0) {
      fired[key].insert(rule);
    }
  }
  for (const auto& [account, rules] : summary.expected) {
    EXPECT_EQ(fired[account], std::set<std::string>(rules.begin(), rules.end())) << account;
  }
  std::ifstream rejects(r.rejects);
  uint64_t rejected = 0;
  while (std::getline(rejects, line)) ++rejected;
  EXPECT_EQ(rejected, summary.bad);
  // Decode threads change nothing in the output, byte for byte.
  auto slurp = [](const std::string& p) {
    std::ifstream f(p);
    return std::string(std::istreambuf_iterator<char>(f), {});
  };
  ReplayOptions threaded = r;
  threaded.decode_threads = 2;
  threaded.output = (dir / "out2.jsonl").string();
  threaded.rejects = (dir / "rej2.jsonl").string();
  ASSERT_EQ(RunReplay(threaded, err), 0) << err.str();
  EXPECT_EQ(slurp(threaded.output), slurp(r.output));
  EXPECT_EQ(slurp(threaded.rejects), slurp(r.rejects));
  EXPECT_FALSE(slurp(r.output).empty());
  fs::remove_all(dir);
}

TEST(GenTest, RejectsUnusableOptions) {
  auto fails = [](GenOptions o) {
    std::ostringstream out;
    Status s = GenerateStream(o, out);
    return !s.ok() && s.code() == Status::Code::kInvalidArgument && out.str().empty();
  };
  GenOptions o;
  o.accounts = 0;
  EXPECT_TRUE(fails(o));
  o = GenOptions();
  o.start_ms = 0;  // 1970
  EXPECT_TRUE(fails(o));
  o = GenOptions();
  o.disorder = 1.5;
  EXPECT_TRUE(fails(o));
  o = GenOptions();
  o.bad_fraction = -0.1;
  EXPECT_TRUE(fails(o));
  o = GenOptions();
  o.span_ms = 86'400'000;  // too short for planting
  EXPECT_TRUE(fails(o));
  o.offenders_per_line = 0;
  EXPECT_FALSE(fails(o));
  o = GenOptions();
  o.events = 500;  // too few lines for the planted accounts
  EXPECT_TRUE(fails(o));
}

}  // namespace
}  // namespace abusewatch
