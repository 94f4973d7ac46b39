// RandomConfig (random_stream.h): random small rule configs built directly as structs.
#include <algorithm>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tests/reference/random_stream.h"
#include "tests/reference/spec_builder.h"

namespace abusewatch::testing::ref {
namespace {

using ET = EventType;
using Words = std::span<const std::string_view>;
constexpr int64_t kSec = 1000;

const std::vector<ET>& AllTypes() {
  static const auto* const kTypes =
      new std::vector<ET>{ET::kAbuseReport, ET::kRegulatorNotice, ET::kDisposition, ET::kPayment,
                          ET::kLogin,       ET::kSanction,        ET::kAccountLink};
  return *kTypes;
}

// 1 to max_n distinct words.
std::vector<std::string> Some(Rng& rng, Words from, int max_n) {
  std::vector<std::string> out;
  int n = static_cast<int>(rng.Range(1, max_n));
  for (int i = 0; i < n; ++i) {
    std::string v(rng.Pick(from));
    if (std::find(out.begin(), out.end(), v) == out.end()) out.push_back(v);
  }
  return out;
}

Condition StringCondition(Rng& rng, FieldId f, Words values) {
  return rng.Percent(50) ? Eq(f, std::string(rng.Pick(values))) : OneOf(f, Some(rng, values, 3));
}

Condition DecimalCondition(Rng& rng, FieldId f, Words values) {
  if (rng.Percent(15)) return EqNumber(f, rng.Pick(values));
  std::string_view lo = rng.Pick(values), hi = rng.Pick(values);
  switch (rng.Range(0, 4)) {
    case 0:
      return Range(f, lo, "", "", "");
    case 1:
      return Range(f, "", lo, "", "");
    case 2:
      return Range(f, "", "", hi, "");
    case 3:
      return Range(f, "", "", "", hi);
    default:
      return Range(f, "", lo, hi, "");
  }
}

Condition RandomCondition(Rng& rng, ET type) {
  constexpr std::string_view kAmounts[] = {"0", "10.00", "50", "100.5", "200"};
  constexpr std::string_view kRatios[] = {"1", "2.5", "3", "3.0001"};
  constexpr std::string_view kFeeRates[] = {"0.05", "0.049", "0.1"};
  constexpr std::string_view kListPrices[] = {"0", "10", "33.33"};
  if (rng.Percent(10)) {
    return rng.Percent(70) ? StringCondition(rng, FieldId::kSubject, vocab::kSubjects)
                           : Eq(FieldId::kSource, "crm");
  }
  switch (type) {
    case ET::kAbuseReport:
      switch (rng.Range(0, 2)) {
        case 0:
          return StringCondition(rng, FieldId::kCategory, vocab::kCategories);
        case 1:
          return EqBool(FieldId::kVerified, rng.Percent(70));
        default:
          return StringCondition(rng, FieldId::kSeverity, vocab::kSeverities);
      }
    case ET::kRegulatorNotice:
      return rng.Percent(60) ? EqBool(FieldId::kVerified, rng.Percent(70))
                             : Eq(FieldId::kAuthority, std::string(rng.Pick(vocab::kAuthorities)));
    case ET::kDisposition:
      return OneOf(FieldId::kAction, Some(rng, vocab::kActions, 4));
    case ET::kPayment:
      switch (rng.Range(0, 6)) {
        case 0:
        case 1:
          return StringCondition(rng, FieldId::kFlow, vocab::kFlows);
        case 2:
          return StringCondition(rng, FieldId::kMethod, vocab::kMethods);
        case 3:
          return DecimalCondition(rng, FieldId::kAmount, kAmounts);
        case 4:
          return DecimalCondition(rng, FieldId::kPriceRatio, kRatios);
        case 5:
          return DecimalCondition(rng, FieldId::kFeeRate, kFeeRates);
        default:
          return rng.Percent(50) ? Eq(FieldId::kCurrency, rng.Percent(50) ? "USD" : "CNY")
                                 : DecimalCondition(rng, FieldId::kListPrice, kListPrices);
      }
    case ET::kLogin:
      if (rng.Percent(60)) return Any(FieldId::kSignals, Some(rng, vocab::kSignals, 2));
      return rng.Percent(50) ? StringCondition(rng, FieldId::kDevice, vocab::kDevices)
                             : StringCondition(rng, FieldId::kIp, vocab::kIps);
    case ET::kSanction:
      return Eq(FieldId::kKind, std::string(rng.Pick(vocab::kKinds)));
    case ET::kAccountLink:
      return Any(FieldId::kEntityKeys, Some(rng, vocab::kEntityKeys, 2));
  }
  return Eq(FieldId::kSource, "crm");
}

Selector RandomSelector(Rng& rng, const std::vector<ET>& preferred) {
  Selector s;
  std::vector<ET> types;
  int n = rng.Percent(70) ? 1 : static_cast<int>(rng.Range(2, 3));
  for (int i = 0; i < n; ++i) {
    types.push_back(rng.Percent(85) ? rng.Pick(preferred) : rng.Pick(AllTypes()));
    s.type_mask |= 1u << static_cast<int>(types.back());
  }
  int conditions = rng.Percent(40) ? 0 : (rng.Percent(75) ? 1 : 2);
  for (int i = 0; i < conditions; ++i) {
    Condition c = RandomCondition(rng, rng.Percent(90) ? rng.Pick(types) : rng.Pick(AllTypes()));
    // One condition per field, as in a YAML `where` map.
    bool taken = false;
    for (const Condition& o : s.where) taken = taken || o.field == c.field;
    if (!taken) s.where.push_back(std::move(c));
  }
  return s;
}

int64_t RandomDuration(Rng& rng, int64_t max_seconds) {
  if (rng.Percent(60)) return rng.Range(1, max_seconds) * kSec;
  return rng.Range(1, max_seconds * kSec);
}

RuleSpec RandomThreshold(Rng& rng) {
  RuleSpec r;
  r.kind = RuleKind::kThreshold;
  int a = static_cast<int>(rng.Range(0, 3));
  r.aggregate = a <= 1 ? Aggregate::kCount : (a == 2 ? Aggregate::kSum : Aggregate::kDistinct);
  if (r.aggregate == Aggregate::kSum) {
    r.select = RandomSelector(rng, {ET::kPayment});
    r.select.type_mask = 1u << static_cast<int>(ET::kPayment);
    constexpr std::string_view kLines[] = {"150.00", "300.5", "99.999", "1000",
                                           "0.01",   "250",   "400.10", "100.000000001"};
    r.threshold = Dec(rng.Pick(kLines));
  } else {
    if (r.aggregate == Aggregate::kDistinct) {
      struct Choice {
        FieldId field;
        std::vector<ET> types;
      };
      const Choice kChoices[] = {{FieldId::kSubject, {ET::kAbuseReport, ET::kPayment, ET::kLogin}},
                                 {FieldId::kIp, {ET::kLogin}},
                                 {FieldId::kDevice, {ET::kLogin}},
                                 {FieldId::kSignals, {ET::kLogin}},
                                 {FieldId::kCategory, {ET::kAbuseReport}},
                                 {FieldId::kPayer, {ET::kPayment}},
                                 {FieldId::kEntityKeys, {ET::kAccountLink}}};
      const Choice& c = rng.Pick(kChoices);
      r.field = c.field;
      r.select = RandomSelector(rng, c.types);
    } else {
      r.select = RandomSelector(rng, AllTypes());
    }
    constexpr std::string_view kLines[] = {"1",   "2",    "3",   "4",           "5",
                                           "2.5", "1.01", "0.5", "2.999999999", "1.000000001"};
    r.threshold = Dec(rng.Pick(kLines));
  }
  constexpr int64_t kGranularities[] = {1, 2, 5, 7, 60, 90};
  if (rng.Percent(8)) {  // hour and (local) day buckets
    r.granularity_ms = (rng.Percent(50) ? 3600 : 86400) * kSec;
    r.window_ms = r.granularity_ms * rng.Range(1, 3);
  } else {
    r.granularity_ms = rng.Percent(10) ? rng.Range(1, 3000) : rng.Pick(kGranularities) * kSec;
    r.window_ms = r.granularity_ms * rng.Range(1, r.granularity_ms >= 60 * kSec ? 4 : 12);
  }
  if (rng.Percent(25)) r.reset_on = RandomSelector(rng, {ET::kSanction, ET::kDisposition});
  if (rng.Percent(25)) {
    const std::vector<std::string_view> kWarn[] = {{"0.5"},  {"0.5", "0.8"}, {"0.25", "0.75"},
                                                   {"0.34"}, {"0.125"},      {"0.99"}};
    for (std::string_view f : rng.Pick(kWarn)) r.warn_at.push_back(Dec(f));
  }
  return r;
}

RuleSpec RandomRule(Rng& rng, const std::vector<RuleSpec>& earlier) {
  int kind = static_cast<int>(rng.Range(0, 99));
  if (kind >= 75 && !earlier.empty()) {
    RuleSpec r;
    r.kind = kind < 87 ? RuleKind::kAnyOf : RuleKind::kAllOf;
    // A child: a rule's id, or one of its derived warning rules.
    auto child_id = [&](const RuleSpec& c) {
      if (c.warn_at.empty() || rng.Percent(60)) return c.id;
      const Decimal& f = rng.Pick(c.warn_at);
      return c.id + ":warn" +
             std::to_string(
                 static_cast<int>((f.mantissa * 200 + Pow10(f.scale)) / (2 * Pow10(f.scale))));
    };
    const RuleSpec& anchor = rng.Pick(earlier);
    r.group_by = anchor.group_by;
    r.children.push_back(child_id(anchor));
    int n = static_cast<int>(rng.Range(0, 2));
    for (int i = 0; i < n; ++i) {
      const RuleSpec& c = rng.Pick(earlier);
      std::string id = child_id(c);
      bool dup = false;
      for (const std::string& x : r.children) dup = dup || x == id;
      if (c.group_by == r.group_by && !dup) r.children.push_back(id);
    }
    return r;
  }
  RuleSpec r;
  if (kind < 8 && !earlier.empty() && earlier.back().kind == RuleKind::kThreshold) {
    // Same aggregation as the previous rule with another line: the engine shares its state.
    r = earlier.back();
    r.warn_at.clear();
    constexpr std::string_view kLines[] = {"1", "2", "4", "150.00", "0.02"};
    r.threshold = Dec(rng.Pick(kLines));
    return r;
  }
  if (kind < 45) {
    r = RandomThreshold(rng);
  } else if (kind < 60) {
    r.kind = RuleKind::kAbsence;
    r.trigger = RandomSelector(rng, {ET::kAbuseReport, ET::kRegulatorNotice, ET::kPayment});
    r.expect = RandomSelector(rng, {ET::kDisposition, ET::kDisposition, ET::kLogin});
    r.within_ms = rng.Percent(15) ? 0 : RandomDuration(rng, 20);
  } else {
    r.kind = RuleKind::kSequence;
    r.first = RandomSelector(rng, {ET::kRegulatorNotice, ET::kSanction, ET::kAbuseReport});
    r.then = RandomSelector(rng, {ET::kPayment, ET::kLogin, ET::kAbuseReport});
    r.within_ms = RandomDuration(rng, 60);
    r.after_ms = rng.Percent(50) ? 0 : rng.Range(0, r.within_ms - 1);
    if (rng.Percent(60)) r.unless = RandomSelector(rng, {ET::kDisposition, ET::kSanction});
  }
  int g = static_cast<int>(rng.Range(0, 19));
  r.group_by = g < 15 ? FieldId::kAccount : (g < 19 ? FieldId::kSubject : FieldId::kIp);
  return r;
}

}  // namespace

EngineConfig RandomConfig(Rng& rng) {
  constexpr int64_t kOffsetsMinutes[] = {0, 480, 480, -300, 330, -570, 840, -720, 345, -60};
  EngineConfig c = BaseConfig(rng.Pick(kOffsetsMinutes) * 60 * kSec);
  if (rng.Percent(50)) c.currency_rates["HKD"] = Dec("0.91");
  c.allowed_lateness_ms =
      rng.Percent(20) ? 0 : (rng.Percent(50) ? rng.Range(0, 10) * kSec : rng.Range(0, 10 * kSec));
  if (rng.Percent(4)) c.allowed_lateness_ms = 3600 * kSec;
  if (rng.Percent(35)) c.dedup_horizon_ms = rng.Range(5, 30) * kSec;
  if (rng.Percent(4)) c.dedup_horizon_ms = 1;
  if (rng.Percent(10)) c.max_event_bytes = 400;
  constexpr std::string_view kPrefixes[] = {"r", "a.", "x-", "z_", "m", "r1", "b9"};
  int n = static_cast<int>(rng.Range(1, 8));
  while (static_cast<int>(c.rules.size()) < n) {
    RuleSpec r = RandomRule(rng, c.rules);
    r.id = std::string(rng.Pick(kPrefixes)) + std::to_string(c.rules.size());
    bool taken = false;
    for (const RuleSpec& o : c.rules) taken = taken || o.id == r.id;
    if (taken) continue;
    r.severity = static_cast<Severity>(rng.Range(0, 2));
    r.notify = rng.Percent(80);
    r.enabled = !rng.Percent(8);
    r.basis = "test";
    c.rules.push_back(std::move(r));
  }
  return c;
}

}  // namespace abusewatch::testing::ref
