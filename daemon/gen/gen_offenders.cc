// Planted accounts: offenders built to cross exactly one notifying rule of the default pack
// (spec/default-pack.md), full art. 287-2 cases, and near misses one step short of a line.
//
// Every planted abuse report gets a handling disposition within 8 h (so art11_2 stays quiet),
// except on the art11_2 line itself. Only the art11_1 offenders and one near miss receive a
// regulator notice, and their ordinary traffic ("fillers") all lies before the notice. Each
// script lasts at most 3 days and starts in [start + 1 h, start + span - 5 d + 1 h].
#include <algorithm>
#include <initializer_list>
#include <string>
#include <vector>

#include "daemon/gen/gen_internal.h"

namespace abusewatch::gen_internal {
namespace {

constexpr int64_t kYuan = 100;  // fen per yuan
constexpr int64_t kListCny[] = {4900, 9900, 19900, 39900, 89900};
constexpr std::string_view kConcealment[] = {
    "tor", "vpn", "proxy", "encrypted_channel", "fake_identity", "identity_mismatch", "data_wipe"};

class Planter {
 public:
  explicit Planter(Gen& g) : g_(g), rng_(g.rng) {}

  void Begin(std::string account) {
    acct_ = std::move(account);
    subjects_ = 0;
  }
  const std::string& account() const { return acct_; }
  Rng& rng() { return rng_; }
  uint64_t count() const { return count_; }

  void Login(int64_t ts, std::initializer_list<std::string_view> signals = {}) {
    std::string b = Body();
    Json j(&b);
    b.append(",\"ip\":\"198.18.");
    AppendUint(&b, rng_.Below(256));
    b.push_back('.');
    AppendUint(&b, 1 + rng_.Below(254));
    b.push_back('"');
    if (signals.size() > 0) j.Array("signals", signals);
    Push(ts, Ev::kLogin, std::move(b));
  }
  // A service fee of `fen` for something listed at `list_fen` (same currency).
  void Fee(int64_t ts, int64_t fen, int64_t list_fen, std::string_view method,
           std::string_view currency = "") {
    std::string b = Body();
    Json j(&b);
    j.Str("flow", "service_fee").Money("amount", fen, rng_.Percent(20));
    if (!currency.empty()) j.Str("currency", currency);
    j.Str("method", method).Money("list_price", list_fen, false);
    Push(ts, Ev::kPayment, std::move(b));
  }
  void Pay(int64_t ts, std::string_view flow, int64_t fen, std::string_view method,
           std::string_view fee_rate = "") {
    std::string b = Body();
    Json j(&b);
    j.Str("flow", flow).Money("amount", fen, rng_.Percent(20), true).Str("method", method);
    if (!fee_rate.empty()) j.Str("fee_rate", fee_rate);
    Push(ts, Ev::kPayment, std::move(b));
  }
  // A report on a new subject of this account; returns the link to its id.
  int32_t Report(int64_t ts, std::string_view category, bool verified,
                 std::string_view severity = "") {
    std::string b = Body();
    Json j(&b);
    j.Key("subject");
    b.append("\"site-");
    b.append(acct_);
    b.push_back('-');
    AppendUint(&b, subjects_++);
    b.push_back('"');
    j.Str("source", "abuse-desk").Str("category", category);
    j.Str("reporter", verified ? "police" : "user-report").Bool("verified", verified);
    if (!severity.empty()) j.Str("severity", severity);
    int32_t link = g_.NewLink();
    Push(ts, Ev::kReport, std::move(b), link);
    return link;
  }
  void Dispose(int64_t ts, std::string_view action, int32_t link) {
    std::string b = Body();
    Json(&b).Str("action", action);
    Push(ts, Ev::kDisposition, std::move(b), -1, link);
  }
  // A report answered within 8 h.
  void Handled(int64_t ts, std::string_view category, bool verified, std::string_view severity = "",
               std::string_view action = "warn") {
    int32_t link = Report(ts, category, verified, severity);
    Dispose(ts + rng_.Between(30 * kMinute, 8 * kHour), action, link);
  }
  int32_t Notice(int64_t ts) {
    std::string b = Body();
    static constexpr std::string_view kAuthorities[] = {"CAC", "MIIT", "PSB"};
    Json(&b).Str("authority", rng_.Pick(kAuthorities)).Str("notice_id", "N-" + acct_);
    int32_t link = g_.NewLink();
    Push(ts, Ev::kNotice, std::move(b), link);
    return link;
  }
  void Sanction(int64_t ts) {
    std::string b = Body();
    Json(&b).Str("kind", "administrative").Str("authority", "PSB");
    Push(ts, Ev::kSanction, std::move(b));
  }
  // Ordinary traffic within [lo, hi]: an account_link and 2–4 plain logins or list-price fees.
  void Fillers(int64_t lo, int64_t hi) {
    if (hi <= lo) return;
    uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a of the account name
    for (char c : acct_) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
    std::string b = Body(), phone = "phone:";
    AppendHex(&phone, Mix64(h));
    Json(&b).Array("entity_keys", {phone});
    Push(rng_.Between(lo, hi), Ev::kLink, std::move(b));
    for (int64_t k = 0, n = rng_.Between(2, 4); k < n; ++k) {
      int64_t ts = rng_.Between(lo, hi);
      if (rng_.Percent(60)) {
        Login(ts);
      } else {
        int64_t list = rng_.Pick(kListCny);
        Fee(ts, list, list, rng_.Percent(50) ? "alipay" : "wechat");
      }
    }
  }

 private:
  std::string Body() {
    std::string b;
    Json(&b).Str("account", acct_);
    return b;
  }
  void Push(int64_t ts, Ev type, std::string body, int32_t link_set = -1, int32_t link_use = -1) {
    g_.Push(ts, type, std::move(body), /*planted=*/true, link_set, link_use);
    ++count_;
  }

  Gen& g_;
  Rng& rng_;
  std::string acct_;
  uint64_t subjects_ = 0;
  uint64_t count_ = 0;
};

using Rules = std::vector<std::string>;

// Two or three amounts (fen) summing to at least `line` (exactly `line` for offender 0) and
// staying below `line` + `slack`, paid on consecutive days.
void Amounts(Planter& p, uint32_t n, int64_t t0, std::string_view flow, int64_t line, int64_t slack,
             std::string_view method, int parts = 2) {
  int64_t left = line + (n == 0 ? 0 : p.rng().Between(0, slack));
  for (int k = 0; k < parts; ++k) {
    int64_t share = k + 1 == parts ? left : left * p.rng().Between(40, 60) / 100;
    if (n == 0) share = k + 1 == parts ? left : (left / (parts - k)) / 100 * 100;
    p.Pay(t0 + (k + 1) * kDay + p.rng().Between(0, 2 * kHour), flow, share, method);
    left -= share;
  }
}

Rules Art11_1(Planter& p, uint32_t, int64_t t0) {
  p.Notice(t0);                                     // no suspension follows
  p.Login(t0 + p.rng().Between(kHour, 6 * kHour));  // within the 24 h grace: fine
  p.Login(t0 + 24 * kHour + p.rng().Between(kMinute, 6 * kHour));
  int64_t list = p.rng().Pick(kListCny);
  p.Fee(t0 + 30 * kHour + p.rng().Between(0, 6 * kHour), list, list, "alipay");
  return {"art11_1_service_after_notice"};
}
Rules Art11_2(Planter& p, uint32_t n, int64_t t0) {
  static constexpr std::string_view kCats[] = {"phishing", "fraud", "spam", "malware"};
  int32_t link = p.Report(t0, p.rng().Pick(kCats), false);
  if (n % 2 == 1) p.Dispose(t0 + 36 * kHour, "warn", link);  // handled, but 12 h too late
  return {"art11_2_report_unhandled"};
}
Rules Art11_3Price(Planter& p, uint32_t n, int64_t t0) {
  int64_t mult = n == 0 ? 3 : p.rng().Between(4, 10);
  if (n % 3 == 2) {
    p.Fee(t0, 1999 * mult, 1999, "bank", "USD");  // the ratio is taken in the event's currency
  } else {
    int64_t list = p.rng().Pick(kListCny);
    p.Fee(t0, list * mult, list, "bank");
  }
  return {"art11_3_price_above_list"};
}
Rules Art11_3Fee(Planter& p, uint32_t n, int64_t t0) {
  static constexpr std::string_view kRates[] = {"0.08", "0.10", "0.12", "0.15"};
  p.Pay(t0, "settlement", p.rng().Between(2000, 8000) * kYuan, "third_party",
        n == 0 ? "0.05" : p.rng().Pick(kRates));
  return {"art11_3_fee_rate"};
}
Rules Art11_3Method(Planter& p, uint32_t, int64_t t0) {
  int64_t ts = t0;
  for (int k = 0; k < 3; ++k) {
    int64_t list = p.rng().Pick(kListCny);
    p.Fee(ts, list, list, p.rng().Percent(50) ? "crypto" : "gift_card");
    ts += p.rng().Between(12 * kHour, 30 * kHour);
  }
  return {"art11_3_unusual_method"};
}
Rules Art11_4(Planter& p, uint32_t, int64_t t0) {
  static constexpr std::string_view kCats[] = {"phishing_kit", "trojan", "c2", "card_farm"};
  p.Handled(t0, p.rng().Pick(kCats), true);
  return {"art11_4_crime_tooling"};
}
void ConcealmentBurst(Planter& p, uint32_t n, int64_t t0, int logins) {
  int64_t ts = t0;
  for (int k = 0; k < logins; ++k) {  // at most 2 h apart: all within 18 h
    std::string_view sig = kConcealment[(n + static_cast<uint32_t>(k)) % 7];
    if (k % 3 == 1) {
      p.Login(ts, {sig, "geo_jump"});
    } else {
      p.Login(ts, {sig});
    }
    ts += p.rng().Between(kHour, 2 * kHour);
  }
}
Rules Art11_5(Planter& p, uint32_t n, int64_t t0) {
  ConcealmentBurst(p, n, t0, 10);
  return {"art11_5_concealment"};
}
Rules Art11_6(Planter& p, uint32_t, int64_t t0) {
  p.Handled(t0, p.rng().Percent(50) ? "evasion_service" : "anonymization_service", true);
  return {"art11_6_evasion_help"};
}
Rules Art12_1(Planter& p, uint32_t, int64_t t0) {
  static constexpr std::string_view kCats[] = {"fraud", "gambling", "pornography"};
  for (int k = 0; k < 3; ++k) {
    p.Handled(t0 + k * p.rng().Between(20 * kHour, 30 * kHour), p.rng().Pick(kCats), true);
  }
  return {"art12_1_three_parties"};
}
Rules Art12_2(Planter& p, uint32_t n, int64_t t0) {
  p.Handled(t0, "fraud", true);
  Amounts(p, n, t0, "settlement", 200'000 * kYuan, 50'000 * kYuan, "third_party");
  return {"art12_2_settlement"};
}
Rules Art12_3(Planter& p, uint32_t n, int64_t t0) {
  p.Handled(t0, "gambling", true);
  Amounts(p, n, t0, "ad_funding", 50'000 * kYuan, 20'000 * kYuan, "bank");
  return {"art12_3_ad_funding"};
}
Rules Art12_4(Planter& p, uint32_t n, int64_t t0) {
  p.Handled(t0, "fraud", true);
  Amounts(p, n, t0, "gain", 10'000 * kYuan, 5'000 * kYuan, "crypto");
  return {"art12_4_gains"};
}
Rules Art12_5(Planter& p, uint32_t, int64_t t0) {
  p.Sanction(t0);
  p.Handled(t0 + p.rng().Between(kDay, 2 * kDay), "fraud", true);
  return {"art12_5_repeat_after_penalty"};
}
Rules Art12_6(Planter& p, uint32_t, int64_t t0) {
  p.Handled(t0, p.rng().Percent(50) ? "fraud" : "gambling", true, "serious");
  return {"art12_6_serious_consequences"};
}
Rules Art12P2Settlement(Planter& p, uint32_t n, int64_t t0) {
  if (n % 2 == 1) p.Handled(t0, "fraud", false);  // reported, never verified
  Amounts(p, n, t0, "settlement", 1'000'000 * kYuan, 200'000 * kYuan, "third_party", 3);
  return {"art12_p2_settlement_x5"};
}
Rules Art12P2Ad(Planter& p, uint32_t n, int64_t t0) {
  Amounts(p, n, t0, "ad_funding", 250'000 * kYuan, 50'000 * kYuan, "bank");
  return {"art12_p2_ad_funding_x5"};
}
Rules Art12P2Gains(Planter& p, uint32_t n, int64_t t0) {
  Amounts(p, n, t0, "gain", 50'000 * kYuan, 10'000 * kYuan, "crypto");
  return {"art12_p2_gains_x5"};
}
Rules Art12P2Especially(Planter& p, uint32_t, int64_t t0) {
  p.Handled(t0, p.rng().Percent(50) ? "fraud" : "gambling", false, "especially_serious");
  return {"art12_p2_especially_serious"};
}
// Knowledge and serious circumstances at once, three ways.
Rules Case(Planter& p, uint32_t n, int64_t t0) {
  switch (n % 3) {
    case 0:  // a 10 % fee (art. 11(3)), then settlement past 200 000 with a verified report
      p.Pay(t0, "settlement", 60'000 * kYuan, "third_party", "0.10");
      p.Handled(t0 + kDay, "gambling", true, "", "report_to_police");
      p.Pay(t0 + 2 * kDay, "settlement", 150'000 * kYuan, "third_party");
      return {"art11_3_fee_rate", "art12_2_settlement", "art287_2_case"};
    case 1:  // serious consequences, then a concealment burst
      p.Handled(t0, "fraud", true, "serious");
      ConcealmentBurst(p, n, t0 + kDay, 10);
      return {"art11_5_concealment", "art12_6_serious_consequences", "art287_2_case"};
    default:  // crime tooling, then gains past 10 000
      p.Handled(t0, "phishing_kit", true);
      p.Pay(t0 + kDay, "gain", 6'000 * kYuan, "crypto");
      p.Pay(t0 + 2 * kDay, "gain", 6'000 * kYuan, "crypto");
      return {"art11_4_crime_tooling", "art12_4_gains", "art287_2_case"};
  }
}

struct Line {
  const char* rule;
  const char* tag;
  Rules (*plant)(Planter&, uint32_t, int64_t);
  bool notice;  // gets a regulator notice: fillers only before it
};
constexpr Line kLines[] = {
    {"art11_1_service_after_notice", "art11_1", Art11_1, true},
    {"art11_2_report_unhandled", "art11_2", Art11_2, false},
    {"art11_3_price_above_list", "art11_3_price", Art11_3Price, false},
    {"art11_3_fee_rate", "art11_3_fee", Art11_3Fee, false},
    {"art11_3_unusual_method", "art11_3_method", Art11_3Method, false},
    {"art11_4_crime_tooling", "art11_4", Art11_4, false},
    {"art11_5_concealment", "art11_5", Art11_5, false},
    {"art11_6_evasion_help", "art11_6", Art11_6, false},
    {"art12_1_three_parties", "art12_1", Art12_1, false},
    {"art12_2_settlement", "art12_2", Art12_2, false},
    {"art12_3_ad_funding", "art12_3", Art12_3, false},
    {"art12_4_gains", "art12_4", Art12_4, false},
    {"art12_5_repeat_after_penalty", "art12_5", Art12_5, false},
    {"art12_6_serious_consequences", "art12_6", Art12_6, false},
    {"art12_p2_settlement_x5", "art12_p2_settlement", Art12P2Settlement, false},
    {"art12_p2_ad_funding_x5", "art12_p2_ad", Art12P2Ad, false},
    {"art12_p2_gains_x5", "art12_p2_gains", Art12P2Gains, false},
    {"art12_p2_especially_serious", "art12_p2_esp", Art12P2Especially, false},
    {"art287_2_case", "case", Case, false},
};

int64_t PickT0(Gen& g) {
  int64_t room = g.opt.span_ms - 5 * kDay;
  return g.opt.start_ms + kHour +
         static_cast<int64_t>(g.rng.Below(static_cast<uint64_t>(room) + 1));
}

// Near misses: each stops one step short of a line (and fires no notifying rule).
void NearMisses(Gen& g, Planter& p) {
  static constexpr const char* kNames[] = {
      "settlement_fen_under", "concealment_9",    "price_ratio_2_99", "fee_rate_0_0499",
      "unusual_method_2",     "deadline_exact",   "notice_24h_exact", "parties_2",
      "gains_fen_under",      "repeat_unverified"};
  for (int k = 0; k < 10; ++k) {
    int64_t t0 = PickT0(g);
    p.Begin(std::string("near-") + kNames[k]);
    bool notice = false;
    switch (k) {
      case 0:  // 199 999.99 settled with a verified report
        p.Handled(t0, "fraud", true);
        p.Pay(t0 + kDay, "settlement", 150'000 * kYuan, "bank");
        p.Pay(t0 + 2 * kDay, "settlement", 49'999 * kYuan + 99, "bank");
        break;
      case 1:
        ConcealmentBurst(p, 0, t0, 9);
        break;
      case 2:
        p.Fee(t0, 299 * kYuan, 100 * kYuan, "bank");
        break;
      case 3:
        p.Pay(t0, "settlement", 5'000 * kYuan, "third_party", "0.0499");
        break;
      case 4:
        p.Fee(t0, 9900, 9900, "crypto");
        p.Fee(t0 + 3 * kDay, 9900, 9900, "gift_card");
        break;
      case 5:  // handled exactly at the deadline: in time
        p.Dispose(t0 + 24 * kHour, "close", p.Report(t0, "spam", false));
        break;
      case 6: {  // activity exactly 24 h after a notice is still within the grace
        notice = true;
        int32_t link = p.Notice(t0);
        p.Login(t0 + 24 * kHour);
        p.Dispose(t0 + 24 * kHour + 5 * kMinute, "suspend", link);
        break;
      }
      case 7:
        p.Handled(t0, "fraud", true);
        p.Handled(t0 + kDay, "gambling", true);
        break;
      case 8:
        p.Handled(t0, "fraud", true);
        p.Pay(t0 + kDay, "gain", 9'999 * kYuan + 99, "crypto");
        break;
      default:  // a penalty, then a report that is never verified
        p.Sanction(t0);
        p.Handled(t0 + kDay, "fraud", false);
        break;
    }
    p.Fillers(g.opt.start_ms, notice ? t0 - kHour : g.end_ms - kDay);
    g.summary->near_misses.push_back(p.account());
    g.summary->expected[p.account()] = {};
  }
}

}  // namespace

uint64_t PlantOffenders(Gen& g) {
  Planter p(g);
  for (const Line& line : kLines) {
    for (uint32_t n = 0; n < g.opt.offenders_per_line; ++n) {
      int64_t t0 = PickT0(g);
      p.Begin(std::string("off-") + line.tag + "-" + std::to_string(n));
      Rules rules = line.plant(p, n, t0);
      p.Fillers(g.opt.start_ms, line.notice ? t0 - kHour : g.end_ms - kDay);
      std::sort(rules.begin(), rules.end());
      g.summary->offenders[line.rule].push_back(p.account());
      g.summary->expected[p.account()] = std::move(rules);
    }
  }
  NearMisses(g, p);
  return p.count();
}

}  // namespace abusewatch::gen_internal
