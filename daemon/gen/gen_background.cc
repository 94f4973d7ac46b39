// Background traffic: ordinary customers doing ordinary business. Every choice here keeps each
// background account below every line of the default pack, whatever the options:
//   - abuse reports are never verified and never especially_serious, and always get a handling
//     disposition within 6 h; regulator notices (verified: false) get suspend/takedown within 3 h
//     and are the only notices a background account ever receives;
//   - service fees are paid at or below list price by ordinary methods; fee rates stay < 5 %;
//   - concealment logins: at most 4 per day (so at most 8 in any 24 h);
//   - settlement and ad_funding totals are capped at 30 % of the art. 12 lines; no gains.
#include <algorithm>
#include <string>

#include "daemon/gen/gen_internal.h"
#include "detectors/timeutil.h"

namespace abusewatch::gen_internal {
namespace {

constexpr int64_t kListCny[] = {2900, 4900, 9900, 19900, 39900, 89900, 199900, 499900};
struct Foreign {
  std::string_view code;
  int64_t lists[4];
};
constexpr Foreign kForeign[] = {{"USD", {499, 999, 1999, 4999}},
                                {"HKD", {3900, 7900, 15900, 39900}},
                                {"EUR", {499, 999, 2999, 8999}},
                                {"JPY", {50000, 150000, 300000, 980000}}};
constexpr std::string_view kMethods[] = {"bank", "alipay", "wechat", "unionpay"};
constexpr std::string_view kSettleMethods[] = {"bank", "unionpay", "third_party", "alipay"};
constexpr std::string_view kFeeRates[] = {"0.006", "0.0038", "0.01", "0.015", "0.02", "0.03"};
constexpr std::string_view kCategories[] = {"fraud", "phishing", "gambling", "spam",       "spam",
                                            "ddos",  "malware",  "other",    "pornography"};
constexpr std::string_view kRareCategories[] = {"phishing_kit", "c2", "evasion_service"};
constexpr std::string_view kReporters[] = {"cncert", "user-report", "partner-soc", "spamhaus"};
constexpr std::string_view kAuthorities[] = {"CAC", "MIIT", "PSB", "CNCERT"};

constexpr int64_t kSettleCapFen = 6'000'000;  // 60 000.00: 30 % of 200 000
constexpr int64_t kAdCapFen = 1'500'000;      // 15 000.00: 30 % of 50 000
constexpr uint32_t kConcealPerDay = 4;

uint32_t PickAccount(Gen& g) {
  uint64_t n = g.opt.accounts;
  if (g.rng.Percent(50)) return static_cast<uint32_t>(g.rng.Below(n));
  return static_cast<uint32_t>(g.rng.Below(g.rng.Below(n) + 1));  // a few busy accounts
}

void Account(Json& j, uint32_t a) {
  j.Key("account");
  j.out()->push_back('"');
  AppendAccount(j.out(), a);
  j.out()->push_back('"');
}

// Each account serves 1–3 sites: "site-<3a + k>".
void Subject(Gen& g, Json& j, uint32_t a) {
  uint64_t k = g.rng.Below(1 + Mix64(a) % 3);
  uint64_t site = static_cast<uint64_t>(a) * 3 + k;
  j.Key("subject");
  std::string* s = j.out();
  s->append("\"site-");
  for (uint64_t p = 10000; p > 1 && site < p; p /= 10) s->push_back('0');
  AppendUint(s, site);
  s->push_back('"');
}

bool ConcealmentAllowed(Gen& g, uint32_t a, int64_t ts) {
  AcctState& st = g.accts[a];
  int64_t day = FloorDiv(ts - g.opt.start_ms, kDay);
  if (day < st.conceal_day) return false;  // an out-of-order line: the earlier day is closed
  if (day > st.conceal_day) {
    st.conceal_day = static_cast<int32_t>(day);
    st.conceal_count = 0;
  }
  if (st.conceal_count >= kConcealPerDay) return false;
  ++st.conceal_count;
  return true;
}

void Login(Gen& g, uint32_t a, int64_t ts) {
  uint64_t id = g.Begin(Ev::kLogin, ts);
  Json j = g.Line();
  Account(j, a);
  if (g.rng.Percent(10)) Subject(g, j, a);
  if (g.rng.Percent(20)) j.Str("source", "sso");
  uint64_t h = Mix64(a);
  std::string* s = j.out();
  j.Key("ip");
  if (g.rng.Percent(85)) {
    s->append("\"10.");
    AppendUint(s, h & 255);
    s->push_back('.');
    AppendUint(s, (h >> 8) & 255);
    s->push_back('.');
    AppendUint(s, 1 + (h >> 16) % 254);
  } else {
    s->append(g.rng.Percent(50) ? "\"203.0.113." : "\"198.51.100.");
    AppendUint(s, 1 + g.rng.Below(254));
  }
  s->push_back('"');
  if (g.rng.Percent(70)) {
    j.Key("device");
    s->append("\"dev-");
    AppendHex(s, Mix64(h + g.rng.Below(2)));
    s->push_back('"');
  }
  uint64_t r = g.rng.Below(1000);
  if (r < 40 && ConcealmentAllowed(g, a, ts)) {
    j.Array("signals", {"vpn"});
  } else if (r < 70) {
    j.Array("signals", {"hosting_ip"});
  } else if (r < 75) {
    j.Array("signals", {"geo_jump"});
  } else if (r < 300) {
    j.Raw("signals", "[]");
  }
  g.End(id, ts);
}

void ServiceFee(Gen& g, uint32_t a, int64_t ts) {
  std::string_view currency;
  int64_t list;
  if (g.rng.Percent(4)) {
    const Foreign& f = g.rng.Pick(kForeign);
    currency = f.code;
    list = f.lists[g.rng.Below(4)];
  } else {
    list = g.rng.Pick(kListCny);
  }
  int64_t amount = g.rng.Percent(85) ? list : list * g.rng.Between(80, 99) / 100;
  uint64_t id = g.Begin(Ev::kPayment, ts);
  Json j = g.Line();
  Account(j, a);
  if (g.rng.Percent(50)) Subject(g, j, a);
  if (g.rng.Percent(20)) j.Str("source", "billing");
  j.Str("flow", "service_fee");
  j.Money("amount", amount, g.rng.Percent(10), currency == "JPY" || g.rng.Percent(5));
  if (!currency.empty()) {
    j.Str("currency", currency);
  } else if (g.rng.Percent(50)) {
    j.Str("currency", "CNY");
  }
  j.Str("method", g.rng.Pick(kMethods));
  if (g.rng.Percent(90)) j.Money("list_price", list, g.rng.Percent(10));
  if (g.rng.Percent(15)) {
    j.Key("payer");
    j.out()->append("\"payer-");
    AppendHex(j.out(), Mix64(a ^ 0x5eed));
    j.out()->push_back('"');
  }
  g.End(id, ts);
}

void Refund(Gen& g, uint32_t a, int64_t ts) {
  int64_t list = g.rng.Pick(kListCny);
  int64_t amount = g.rng.Percent(70) ? list : g.rng.Between(100, list);
  uint64_t id = g.Begin(Ev::kPayment, ts);
  Json j = g.Line();
  Account(j, a);
  if (g.rng.Percent(20)) j.Str("source", "billing");
  j.Str("flow", "refund");
  j.Money("amount", amount, g.rng.Percent(10));
  j.Str("method", g.rng.Pick(kMethods));
  g.End(id, ts);
}

// A small settlement or ad_funding flow; false (nothing written) when the account's total
// would pass its cap.
bool Flow(Gen& g, uint32_t a, int64_t ts, bool settlement) {
  AcctState& st = g.accts[a];
  int64_t amount = settlement ? g.rng.Between(5'000, 300'000) : g.rng.Between(10'000, 200'000);
  uint32_t& total = settlement ? st.settle_fen : st.ad_fen;
  if (total + amount > (settlement ? kSettleCapFen : kAdCapFen)) return false;
  total += static_cast<uint32_t>(amount);
  uint64_t id = g.Begin(Ev::kPayment, ts);
  Json j = g.Line();
  Account(j, a);
  if (g.rng.Percent(60)) Subject(g, j, a);
  if (g.rng.Percent(20)) j.Str("source", settlement ? "settlement-gw" : "ads");
  j.Str("flow", settlement ? "settlement" : "ad_funding");
  j.Money("amount", amount, g.rng.Percent(10), g.rng.Percent(5));
  j.Str("method", settlement ? g.rng.Pick(kSettleMethods) : g.rng.Pick(kMethods));
  if (settlement && g.rng.Percent(50)) j.Str("fee_rate", g.rng.Pick(kFeeRates));
  if (g.rng.Percent(30)) {
    j.Key("payer");
    j.out()->append("\"m-");
    AppendUint(j.out(), g.rng.Below(100000));
    j.out()->push_back('"');
  }
  g.End(id, ts);
  return true;
}

void Dispose(Gen& g, uint32_t a, int64_t ts, std::string_view action, uint64_t ref) {
  std::string body;
  Json j(&body);
  Account(j, a);
  j.Str("action", action);
  j.Key("ref");
  body.append("\"e-");
  AppendUint(&body, ref);
  body.push_back('"');
  if (g.rng.Percent(30)) j.Str("source", "noc");
  g.Push(ts, Ev::kDisposition, std::move(body), false);
}

// An unverified report, handled within 6 h.
void Report(Gen& g, uint32_t a, int64_t ts) {
  uint64_t id = g.Begin(Ev::kReport, ts);
  Json j = g.Line();
  Account(j, a);
  Subject(g, j, a);
  if (g.rng.Percent(50)) j.Str("source", "abuse-desk");
  j.Str("category", g.rng.Percent(2) ? g.rng.Pick(kRareCategories) : g.rng.Pick(kCategories));
  j.Str("reporter", g.rng.Pick(kReporters));
  if (g.rng.Percent(50)) j.Bool("verified", false);
  uint64_t sev = g.rng.Below(100);
  if (sev < 8) {
    j.Str("severity", "normal");
  } else if (sev < 10) {
    j.Str("severity", "serious");  // unverified: art. 12(6) needs verification
  }
  g.End(id, ts);
  int64_t at = ts + g.rng.Between(2 * kMinute, 6 * kHour);
  uint64_t r = g.rng.Below(100);
  std::string_view action = r < 60 ? "warn" : (r < 85 ? "close" : "suspend");
  Dispose(g, a, at, action, id);
  if (action == "suspend" && g.rng.Percent(30)) {
    int64_t back = at + g.rng.Between(kDay, 3 * kDay);
    if (back < g.end_ms - kHour) Dispose(g, a, back, "restore", id);
  }
}

// A regulator's inquiry (not verified), answered by suspend/takedown within 3 h.
void Notice(Gen& g, uint32_t a, int64_t ts) {
  std::string_view authority = g.rng.Pick(kAuthorities);
  uint64_t id = g.Begin(Ev::kNotice, ts);
  Json j = g.Line();
  Account(j, a);
  if (g.rng.Percent(70)) Subject(g, j, a);
  j.Str("authority", authority);
  j.Key("notice_id");
  j.out()->append("\"N-");
  AppendUint(j.out(), id);
  j.out()->push_back('"');
  j.Bool("verified", false);
  g.End(id, ts);
  int64_t at = ts + g.rng.Between(15 * kMinute, 3 * kHour);
  Dispose(g, a, at, g.rng.Percent(70) ? "suspend" : "takedown", id);
  int64_t sanction_at = at + g.rng.Between(kDay, 3 * kDay);
  if (g.rng.Percent(20) && sanction_at < g.end_ms - kHour) {
    std::string body;
    Json k(&body);
    Account(k, a);
    k.Str("kind", "administrative").Str("authority", authority);
    g.Push(sanction_at, Ev::kSanction, std::move(body), false);
  }
}

void Link(Gen& g, uint32_t a, int64_t ts) {
  std::string phone = "phone:", idcard = "idcard:", company = "company:91";
  AppendHex(&phone, Mix64(a ^ 0x9f0e));
  AppendHex(&idcard, Mix64(a ^ 0x1dca));
  bool in_company = Mix64(a) % 5 == 0;  // a fifth of accounts belong to a company of ~8
  AppendHex(&company, Mix64((a / 8) ^ 0xc0de));
  uint64_t id = g.Begin(Ev::kLink, ts);
  Json j = g.Line();
  Account(j, a);
  if (g.rng.Percent(30)) j.Str("source", "kyc");
  if (in_company) {
    j.Array("entity_keys", {phone, idcard, company});
  } else {
    j.Array("entity_keys", {phone, idcard});
  }
  g.End(id, ts);
}

}  // namespace

void EmitBackground(Gen& g, int64_t lo, int64_t hi) {
  int64_t ts =
      lo + (hi > lo ? static_cast<int64_t>(g.rng.Below(static_cast<uint64_t>(hi - lo))) : 0);
  if (g.opt.disorder > 0.0 && g.max_ts != INT64_MIN && g.rng.Chance(g.opt.disorder)) {
    // Up to 20 s below the largest time written so far.
    int64_t back = g.max_ts - 1 - static_cast<int64_t>(g.rng.Below(kMaxDisorderMs - 1));
    ts = std::max(back, g.opt.start_ms);
  }
  uint32_t a = PickAccount(g);
  // Follow-ups must land well before the end of the stream.
  const bool follow_ok = ts < g.end_ms - 25 * kHour;
  uint64_t r = g.rng.Below(10000);
  if (r < 300 && follow_ok) {
    Report(g, a, ts);
  } else if (r >= 300 && r < 315 && follow_ok) {
    Notice(g, a, ts);
  } else if (r >= 315 && r < 615) {
    Link(g, a, ts);
  } else if (r >= 615 && r < 1015 && Flow(g, a, ts, true)) {
  } else if (r >= 615 && r < 1115 && Flow(g, a, ts, false)) {
  } else if (r >= 615 && r < 1315) {
    Refund(g, a, ts);
  } else if (r >= 615 && r < 3715) {
    ServiceFee(g, a, ts);
  } else {
    Login(g, a, ts);
  }
}

}  // namespace abusewatch::gen_internal
