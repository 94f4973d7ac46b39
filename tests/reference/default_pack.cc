#include "tests/reference/default_pack.h"

#include <string>
#include <utility>
#include <vector>

#include "tests/reference/spec_builder.h"

namespace abusewatch::testing::ref {
namespace {

using ET = EventType;
constexpr int64_t kHour = 3'600'000;
constexpr int64_t kDay = 24 * kHour;
constexpr int64_t kSec = 1000;

RuleSpec Info(RuleSpec r) {
  r.severity = Severity::kInfo;
  r.notify = false;
  return r;
}

RuleSpec Severe(RuleSpec r, Severity s) {
  r.severity = s;
  return r;
}

RuleSpec Count(std::string id, Selector select, int64_t window, int64_t granularity,
               std::string_view line) {
  return Threshold(std::move(id), Aggregate::kCount, std::move(select), window, granularity, line);
}

// sum of amount of payments with `flow`, 730 local days, reset by any sanction.
RuleSpec MoneyTotal(std::string id, const std::string& flow, std::string_view line) {
  RuleSpec r = Threshold(std::move(id), Aggregate::kSum,
                         Sel({ET::kPayment}, {Eq(FieldId::kFlow, flow)}), 730 * kDay, kDay, line);
  r.reset_on = Sel({ET::kSanction});
  return r;
}

Selector VerifiedReports(std::vector<Condition> more = {}) {
  more.insert(more.begin(), EqBool(FieldId::kVerified, true));
  return Sel({ET::kAbuseReport}, std::move(more));
}

}  // namespace

EngineConfig DefaultPack() {
  EngineConfig c = BaseConfig(8 * kHour);
  c.currency_rates = {
      {"USD", Dec("7.10")}, {"EUR", Dec("7.70")}, {"HKD", Dec("0.91")}, {"JPY", Dec("0.048")}};
  c.allowed_lateness_ms = 30 * kSec;
  c.dedup_horizon_ms = 730 * kDay;
  std::vector<RuleSpec>& r = c.rules;

  RuleSpec s11_1 = Sequence("art11_1_service_after_notice", Sel({ET::kRegulatorNotice}),
                            Sel({ET::kPayment, ET::kLogin}), 730 * kDay, 24 * kHour);
  s11_1.unless =
      Sel({ET::kDisposition}, {OneOf(FieldId::kAction, {"suspend", "takedown", "restrict"})});
  r.push_back(Severe(s11_1, Severity::kCritical));
  r.push_back(Absence(
      "art11_2_report_unhandled", Sel({ET::kAbuseReport}),
      Sel({ET::kDisposition}, {OneOf(FieldId::kAction, {"suspend", "takedown", "restrict",
                                                        "report_to_police", "warn", "close"})}),
      24 * kHour));
  r.push_back(Count("art11_3_price_above_list",
                    Sel({ET::kPayment}, {Range(FieldId::kPriceRatio, "", "3", "", "")}), 30 * kDay,
                    kSec, "1"));
  r.push_back(Count("art11_3_fee_rate",
                    Sel({ET::kPayment}, {Range(FieldId::kFeeRate, "", "0.05", "", "")}), 30 * kDay,
                    kSec, "1"));
  r.push_back(Count("art11_3_unusual_method",
                    Sel({ET::kPayment}, {Eq(FieldId::kFlow, "service_fee"),
                                         OneOf(FieldId::kMethod, {"crypto", "gift_card"})}),
                    30 * kDay, kSec, "3"));
  r.push_back(Count(
      "art11_4_crime_tooling",
      VerifiedReports({OneOf(FieldId::kCategory, {"phishing_kit", "trojan", "c2", "card_farm"})}),
      730 * kDay, kDay, "1"));
  r.push_back(Count("art11_5_concealment",
                    Sel({ET::kLogin}, {Any(FieldId::kSignals,
                                           {"tor", "vpn", "proxy", "encrypted_channel",
                                            "fake_identity", "identity_mismatch", "data_wipe"})}),
                    24 * kHour, kSec, "10"));
  r.push_back(Count(
      "art11_6_evasion_help",
      VerifiedReports({OneOf(FieldId::kCategory, {"evasion_service", "anonymization_service"})}),
      730 * kDay, kDay, "1"));
  r.push_back(
      Info(Count("art13_predicate_verified",
                 Sel({ET::kAbuseReport, ET::kRegulatorNotice}, {EqBool(FieldId::kVerified, true)}),
                 730 * kDay, kDay, "1")));
  RuleSpec three = Threshold("art12_1_three_parties", Aggregate::kDistinct, VerifiedReports(),
                             730 * kDay, kDay, "3");
  three.field = FieldId::kSubject;
  three.reset_on = Sel({ET::kSanction});
  r.push_back(three);
  const std::pair<const char*, const char*> kMoney[] = {
      {"settlement", "200000"}, {"ad_funding", "50000"}, {"gain", "10000"}};
  const char* kNames[] = {"art12_2_settlement", "art12_3_ad_funding", "art12_4_gains"};
  for (int i = 0; i < 3; ++i) {
    std::string name = kNames[i];
    r.push_back(Info(MoneyTotal(name + "_total", kMoney[i].first, kMoney[i].second)));
    r.push_back(Composite(name, RuleKind::kAllOf, {name + "_total", "art13_predicate_verified"}));
  }
  RuleSpec repeat = Sequence("art12_5_repeat_after_penalty",
                             Sel({ET::kSanction}, {Eq(FieldId::kKind, "administrative")}),
                             VerifiedReports(), 730 * kDay);
  r.push_back(repeat);
  r.push_back(Count("art12_6_serious_consequences",
                    VerifiedReports({OneOf(FieldId::kSeverity, {"serious", "especially_serious"})}),
                    730 * kDay, kDay, "1"));
  r.push_back(MoneyTotal("art12_p2_settlement_x5", "settlement", "1000000"));
  r.push_back(MoneyTotal("art12_p2_ad_funding_x5", "ad_funding", "250000"));
  r.push_back(MoneyTotal("art12_p2_gains_x5", "gain", "50000"));
  r.push_back(Count("art12_p2_especially_serious",
                    Sel({ET::kAbuseReport}, {Eq(FieldId::kSeverity, "especially_serious")}),
                    730 * kDay, kDay, "1"));
  r.push_back(
      Info(Composite("presumed_knowledge", RuleKind::kAnyOf,
                     {"art11_1_service_after_notice", "art11_2_report_unhandled",
                      "art11_3_price_above_list", "art11_3_fee_rate", "art11_3_unusual_method",
                      "art11_4_crime_tooling", "art11_5_concealment", "art11_6_evasion_help"})));
  r.push_back(Info(Composite(
      "serious_circumstances", RuleKind::kAnyOf,
      {"art12_1_three_parties", "art12_2_settlement", "art12_3_ad_funding", "art12_4_gains",
       "art12_5_repeat_after_penalty", "art12_6_serious_consequences", "art12_p2_settlement_x5",
       "art12_p2_ad_funding_x5", "art12_p2_gains_x5", "art12_p2_especially_serious"})));
  r.push_back(Severe(
      Composite("art287_2_case", RuleKind::kAllOf, {"presumed_knowledge", "serious_circumstances"}),
      Severity::kCritical));
  return c;
}

}  // namespace abusewatch::testing::ref
