#include "config/config_loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "detectors/decimal.h"
#include "detectors/rule_set.h"
#include "detectors/rule_spec.h"
#include "detectors/timeutil.h"

namespace abusewatch {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr int64_t kHour = 3'600'000;

// Joins lines with '\n' so that line numbers in tests are the 1-based list positions.
std::string Lines(std::initializer_list<std::string_view> lines) {
  std::string out;
  for (std::string_view l : lines) {
    out += l;
    out += '\n';
  }
  return out;
}

Decimal Dec(std::string_view text) {
  Decimal d;
  EXPECT_TRUE(ParseDecimal(text, DecimalLimits{}, &d)) << text;
  return d;
}

bool DecEq(const Decimal& a, std::string_view b) { return CompareDecimal(a, Dec(b)) == 0; }

// Loads `yaml` as "t.yaml" and returns the error message ("" when it loads).
std::string LoadError(const std::string& yaml) {
  EngineConfig c;
  Status s = LoadConfigString(yaml, "t.yaml", &c);
  if (s.ok()) return "";
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << s.message();
  return s.message();
}

const RuleSpec* Find(const EngineConfig& c, std::string_view id) {
  for (const RuleSpec& r : c.rules) {
    if (r.id == id) return &r;
  }
  return nullptr;
}

// A directory of files for include tests, removed afterwards.
class TempDir {
 public:
  TempDir() {
    const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = fs::temp_directory_path() /
            (std::string("aw_config_") + info->name() + "_" + std::to_string(::getpid()));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string Write(const std::string& name, const std::string& text) const {
    fs::path p = path_ / name;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
    return p.string();
  }
  std::string Path(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

// ------------------------------------------------------------------------------------------
// The shipped configuration.
// ------------------------------------------------------------------------------------------

class ShippedPackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<std::string> warnings;
    Status s = LoadConfigFile(std::string(ABUSEWATCH_SOURCE_DIR) + "/config/abusewatch.yaml",
                              &config_, &warnings);
    ASSERT_TRUE(s.ok()) << s.message();
    EXPECT_TRUE(warnings.empty()) << warnings.front();
  }
  const RuleSpec& Rule(std::string_view id) {
    const RuleSpec* r = Find(config_, id);
    EXPECT_NE(r, nullptr) << id;
    static const RuleSpec kEmpty;
    return r != nullptr ? *r : kEmpty;
  }
  EngineConfig config_;
};

TEST_F(ShippedPackTest, HasExactlyTheIdsOfTheSpec) {
  std::vector<std::string> ids;
  for (const RuleSpec& r : config_.rules) ids.push_back(r.id);
  EXPECT_THAT(
      ids,
      ElementsAre("art11_1_service_after_notice", "art11_2_report_unhandled",
                  "art11_3_price_above_list", "art11_3_fee_rate", "art11_3_unusual_method",
                  "art11_4_crime_tooling", "art11_5_concealment", "art11_6_evasion_help",
                  "art13_predicate_verified", "art12_1_three_parties", "art12_2_settlement_total",
                  "art12_2_settlement", "art12_3_ad_funding_total", "art12_3_ad_funding",
                  "art12_4_gains_total", "art12_4_gains", "art12_5_repeat_after_penalty",
                  "art12_6_serious_consequences", "art12_p2_settlement_x5",
                  "art12_p2_ad_funding_x5", "art12_p2_gains_x5", "art12_p2_especially_serious",
                  "presumed_knowledge", "serious_circumstances", "art287_2_case"));
}

TEST_F(ShippedPackTest, TopLevelSettings) {
  EXPECT_EQ(config_.timezone_offset_ms, 8 * kHour);
  EXPECT_EQ(config_.timezone_text, "+08:00");
  EXPECT_EQ(config_.base_currency, "CNY");
  EXPECT_EQ(config_.allowed_lateness_ms, 30'000);
  EXPECT_EQ(config_.dedup_horizon_ms, 730 * kMsPerDay);
  EXPECT_EQ(config_.max_event_bytes, 65536);
  ASSERT_EQ(config_.currency_rates.count("USD"), 1u);
  const Decimal& usd = config_.currency_rates.at("USD");
  EXPECT_EQ(usd.mantissa, 710u);  // exactly "7.10", scenario 10 depends on it
  EXPECT_EQ(usd.scale, 2);
}

TEST_F(ShippedPackTest, EveryRuleHasBasisAndExplanations) {
  for (const RuleSpec& r : config_.rules) {
    EXPECT_THAT(r.basis, HasSubstr("法释〔2019〕15号")) << r.id;
    EXPECT_FALSE(r.explain_zh.empty()) << r.id;
    EXPECT_FALSE(r.explain_en.empty()) << r.id;
    EXPECT_TRUE(r.enabled) << r.id;
    EXPECT_THAT(r.pos.file, HasSubstr("packs/legal-cn-2019.yaml")) << r.id;
    EXPECT_GT(r.pos.line, 0) << r.id;
  }
}

TEST_F(ShippedPackTest, ThresholdParameters) {
  const RuleSpec& s = Rule("art12_2_settlement_total");
  EXPECT_EQ(s.kind, RuleKind::kThreshold);
  EXPECT_EQ(s.aggregate, Aggregate::kSum);
  EXPECT_EQ(s.field, FieldId::kAmount);
  EXPECT_TRUE(DecEq(s.threshold, "200000"));
  EXPECT_EQ(s.window_ms, 730 * kMsPerDay);
  EXPECT_EQ(s.granularity_ms, kMsPerDay);
  EXPECT_EQ(s.severity, Severity::kInfo);
  EXPECT_FALSE(s.notify);
  ASSERT_TRUE(s.reset_on.has_value());
  EXPECT_TRUE(s.reset_on->Matches(EventType::kSanction));
  EXPECT_TRUE(s.select.Matches(EventType::kPayment));
  ASSERT_EQ(s.select.where.size(), 1u);
  EXPECT_EQ(s.select.where[0].field, FieldId::kFlow);
  EXPECT_THAT(s.select.where[0].strings, ElementsAre("settlement"));

  EXPECT_TRUE(DecEq(Rule("art12_3_ad_funding_total").threshold, "50000"));
  EXPECT_TRUE(DecEq(Rule("art12_4_gains_total").threshold, "10000"));
  EXPECT_TRUE(DecEq(Rule("art12_p2_settlement_x5").threshold, "1000000"));
  EXPECT_TRUE(DecEq(Rule("art12_p2_ad_funding_x5").threshold, "250000"));
  EXPECT_TRUE(DecEq(Rule("art12_p2_gains_x5").threshold, "50000"));
  EXPECT_TRUE(Rule("art12_p2_settlement_x5").notify);
  EXPECT_EQ(Rule("art12_p2_settlement_x5").severity, Severity::kWarning);

  const RuleSpec& c = Rule("art11_5_concealment");
  EXPECT_EQ(c.aggregate, Aggregate::kCount);
  EXPECT_TRUE(DecEq(c.threshold, "10"));
  EXPECT_EQ(c.window_ms, 24 * kHour);
  EXPECT_EQ(c.granularity_ms, 1000);
  ASSERT_EQ(c.select.where.size(), 1u);
  EXPECT_EQ(c.select.where[0].op, Condition::Op::kContainsAny);
  EXPECT_THAT(c.select.where[0].strings,
              ElementsAre("tor", "vpn", "proxy", "encrypted_channel", "fake_identity",
                          "identity_mismatch", "data_wipe"));

  const RuleSpec& p = Rule("art11_3_price_above_list");
  EXPECT_EQ(p.window_ms, 30 * kMsPerDay);
  ASSERT_EQ(p.select.where.size(), 1u);
  EXPECT_EQ(p.select.where[0].op, Condition::Op::kRange);
  ASSERT_TRUE(p.select.where[0].gte.has_value());
  EXPECT_TRUE(DecEq(*p.select.where[0].gte, "3"));
  EXPECT_TRUE(DecEq(*Rule("art11_3_fee_rate").select.where[0].gte, "0.05"));
  EXPECT_TRUE(DecEq(Rule("art11_3_unusual_method").threshold, "3"));

  const RuleSpec& t = Rule("art12_1_three_parties");
  EXPECT_EQ(t.aggregate, Aggregate::kDistinct);
  EXPECT_EQ(t.field, FieldId::kSubject);
  EXPECT_TRUE(DecEq(t.threshold, "3"));
  EXPECT_TRUE(t.reset_on.has_value());

  const RuleSpec& v = Rule("art13_predicate_verified");
  EXPECT_TRUE(v.select.Matches(EventType::kAbuseReport));
  EXPECT_TRUE(v.select.Matches(EventType::kRegulatorNotice));
  EXPECT_FALSE(v.select.Matches(EventType::kPayment));
  ASSERT_EQ(v.select.where.size(), 1u);
  EXPECT_EQ(v.select.where[0].field, FieldId::kVerified);
  EXPECT_TRUE(v.select.where[0].bool_value);
  EXPECT_FALSE(v.notify);
}

TEST_F(ShippedPackTest, SequenceAbsenceAndComposites) {
  const RuleSpec& n = Rule("art11_1_service_after_notice");
  EXPECT_EQ(n.kind, RuleKind::kSequence);
  EXPECT_EQ(n.severity, Severity::kCritical);
  EXPECT_EQ(n.after_ms, 24 * kHour);
  EXPECT_EQ(n.within_ms, 730 * kMsPerDay);
  EXPECT_TRUE(n.first.Matches(EventType::kRegulatorNotice));
  EXPECT_TRUE(n.then.Matches(EventType::kPayment));
  EXPECT_TRUE(n.then.Matches(EventType::kLogin));
  ASSERT_TRUE(n.unless.has_value());
  EXPECT_THAT(n.unless->where.at(0).strings, ElementsAre("suspend", "takedown", "restrict"));

  const RuleSpec& a = Rule("art11_2_report_unhandled");
  EXPECT_EQ(a.kind, RuleKind::kAbsence);
  EXPECT_EQ(a.within_ms, 24 * kHour);
  EXPECT_THAT(a.expect.where.at(0).strings,
              ElementsAre("suspend", "takedown", "restrict", "report_to_police", "warn", "close"));

  const RuleSpec& r = Rule("art12_5_repeat_after_penalty");
  EXPECT_EQ(r.kind, RuleKind::kSequence);
  EXPECT_EQ(r.after_ms, 0);
  EXPECT_EQ(r.within_ms, 730 * kMsPerDay);

  EXPECT_THAT(Rule("art12_2_settlement").children,
              ElementsAre("art12_2_settlement_total", "art13_predicate_verified"));
  EXPECT_EQ(Rule("presumed_knowledge").kind, RuleKind::kAnyOf);
  EXPECT_EQ(Rule("presumed_knowledge").children.size(), 8u);
  EXPECT_EQ(Rule("serious_circumstances").children.size(), 10u);
  const RuleSpec& k = Rule("art287_2_case");
  EXPECT_EQ(k.kind, RuleKind::kAllOf);
  EXPECT_EQ(k.severity, Severity::kCritical);
  EXPECT_TRUE(k.notify);
  EXPECT_THAT(k.children, ElementsAre("presumed_knowledge", "serious_circumstances"));
}

TEST_F(ShippedPackTest, Describe) {
  std::string d = DescribeConfig(config_);
  EXPECT_THAT(d, HasSubstr("sum(amount) of payment{flow=settlement} over 730d/1d >= 200000.00 "
                           "reset_on sanction"));
  EXPECT_THAT(d, HasSubstr("timezone          +08:00"));
  EXPECT_THAT(d, HasSubstr("all_of(presumed_knowledge, serious_circumstances)"));
}

// ------------------------------------------------------------------------------------------
// Errors: every message starts with file:line:col.
// ------------------------------------------------------------------------------------------

TEST(ConfigErrorTest, UnknownKeyInRule) {
  EXPECT_EQ(LoadError(Lines({"version: 1", "rules:", "  - id: art12_2_settlement_total",
                             "    kind: threshold", "    select: {stream: payment}",
                             "    aggregate: count", "    windwo: 730d", "    threshold: 1"})),
            "t.yaml:7:5: unknown key \"windwo\" in rule \"art12_2_settlement_total\" (allowed: "
            "id, kind, group_by, severity, basis, explain, notify, enabled, select, aggregate, "
            "field, window, granularity, threshold, reset_on, warn_at)");
}

TEST(ConfigErrorTest, UnknownTopLevelKey) {
  EXPECT_THAT(LoadError(Lines({"version: 1", "timezon: Z"})),
              StartsWith("t.yaml:2:1: unknown key \"timezon\" in the top level (allowed: "));
}

// A one-rule config whose rule body lines are given (lines 5.. of the file).
std::string OneRule(std::initializer_list<std::string_view> body) {
  std::string out = Lines({"version: 1", "rules:", "  - id: a", "    kind: threshold"});
  for (std::string_view l : body) {
    out += l;
    out += '\n';
  }
  return out;
}

TEST(ConfigErrorTest, WindowNotMultipleOfGranularity) {
  EXPECT_EQ(LoadError(OneRule({"    select: {stream: payment}", "    aggregate: count",
                               "    window: 730d", "    granularity: 7h", "    threshold: 1"})),
            "t.yaml:7:13: window 730d is not a multiple of granularity 7h in rule \"a\"");
}

TEST(ConfigErrorTest, BadDuration) {
  EXPECT_THAT(LoadError(OneRule({"    select: {stream: payment}", "    aggregate: count",
                                 "    window: 30", "    threshold: 1"})),
              StartsWith("t.yaml:7:13: bad duration \"30\" for window of rule \"a\": expected "
                         "<integer><unit> with unit ms, s, m, h or d"));
  EXPECT_THAT(LoadError(OneRule({"    select: {stream: payment}", "    aggregate: count",
                                 "    window: 0s", "    threshold: 1"})),
              StartsWith("t.yaml:7:13: window of rule \"a\" must be greater than 0"));
}

TEST(ConfigErrorTest, BadDecimal) {
  EXPECT_THAT(LoadError(OneRule({"    select: {stream: payment}", "    aggregate: count",
                                 "    window: 1h", "    threshold: 1e5"})),
              StartsWith("t.yaml:8:16: bad decimal \"1e5\" for threshold of rule \"a\""));
  EXPECT_THAT(LoadError(OneRule({"    select: {stream: payment, where: {amount: {gte: \"-1\"}}}",
                                 "    aggregate: count", "    window: 1h", "    threshold: 1"})),
              StartsWith("t.yaml:5:53: bad decimal \"-1\" for gte of condition on \"amount\""));
  EXPECT_THAT(LoadError(OneRule({"    select: {stream: payment}", "    aggregate: count",
                                 "    window: 1h", "    threshold: 0.0"})),
              StartsWith("t.yaml:8:16: threshold of rule \"a\" must be greater than 0"));
}

TEST(ConfigErrorTest, BadTimezone) {
  EXPECT_THAT(LoadError(Lines({"version: 1", "timezone: \"+8\""})),
              StartsWith("t.yaml:2:11: bad timezone \"+8\": expected a fixed UTC offset"));
}

TEST(ConfigErrorTest, BadStreamType) {
  EXPECT_EQ(LoadError(OneRule({"    select: {stream: paymnet}", "    aggregate: count",
                               "    window: 1h", "    threshold: 1"})),
            "t.yaml:5:22: unknown stream \"paymnet\" in select of rule \"a\" (allowed: "
            "abuse_report, regulator_notice, disposition, payment, login, sanction, "
            "account_link)");
}

TEST(ConfigErrorTest, AnyOnStringField) {
  EXPECT_EQ(LoadError(OneRule({"    select:", "      stream: payment",
                               "      where:", "        flow: {any: [x]}", "    aggregate: count",
                               "    window: 1h", "    threshold: 1"})),
            "t.yaml:8:16: {any: [...]} only applies to list fields (signals, entity_keys); "
            "\"flow\" is a single value, write a list instead: flow: [a, b]");
}

TEST(ConfigErrorTest, OtherConditionTypes) {
  auto where = [](std::string_view cond) {
    std::string sel =
        "    select: {stream: [payment, login, abuse_report], where: {" + std::string(cond) + "}}";
    return LoadError(OneRule({sel, "    aggregate: count", "    window: 1h", "    threshold: 1"}));
  };
  EXPECT_THAT(where("flow: {gte: \"1\"}"), HasSubstr("only apply to numeric fields"));
  EXPECT_THAT(where("signals: tor"), HasSubstr("\"signals\" is a list field"));
  EXPECT_THAT(where("verified: yes"), HasSubstr("must be true or false, got \"yes\""));
  EXPECT_THAT(where("amount: [1, 2]"), HasSubstr("a list (one of) only applies to string"));
  EXPECT_THAT(where("flw: x"), HasSubstr("unknown field \"flw\" in where of select of rule "
                                         "\"a\" (allowed: id, type, account, subject"));
  EXPECT_EQ(where("amount: {gt: \"1\", lte: 5.5}, signals: {any: [tor]}, flow: [a, b]"), "");
}

TEST(ConfigErrorTest, AllOfCycle) {
  EXPECT_EQ(LoadError(Lines({"version: 1", "rules:", "  - id: a", "    kind: all_of",
                             "    rules: [b]", "  - id: b", "    kind: any_of", "    rules: [a]"})),
            "t.yaml:8:13: all_of cycle: a -> b -> a");
  EXPECT_EQ(
      LoadError(Lines({"version: 1", "rules:", "  - id: a", "    kind: any_of", "    rules: [a]"})),
      "t.yaml:5:13: any_of cycle: a -> a");
}

TEST(ConfigErrorTest, UnknownRuleIdInAllOf) {
  EXPECT_EQ(
      LoadError(Lines({"version: 1", "rules:", "  - id: a", "    kind: any_of", "    rules: [c]",
                       "  - id: c", "    kind: all_of", "    rules: [a, nope]"})),
      "t.yaml:8:16: unknown rule id \"nope\" in rules of all_of \"c\"");
}

TEST(ConfigErrorTest, CompositeGroupByMismatch) {
  EXPECT_THAT(LoadError(OneRule({"    group_by: subject", "    select: {stream: payment}",
                                 "    aggregate: count", "    window: 1h", "    threshold: 1",
                                 "  - id: b", "    kind: all_of", "    rules: [a]"})),
              StartsWith("t.yaml:12:13: rule \"a\" groups by subject but all_of \"b\" groups by "
                         "account"));
  EXPECT_THAT(LoadError(OneRule({"    group_by: amount"})),
              StartsWith("t.yaml:5:15: group_by cannot use non-string field \"amount\""));
}

TEST(ConfigErrorTest, YamlSyntaxError) {
  EXPECT_EQ(
      LoadError(Lines({"version: 1", "rules:", "  - id: a", "    select: {stream: payment]"})),
      "t.yaml:4:29: YAML syntax error: illegal flow end");
}

TEST(ConfigErrorTest, StructuralErrors) {
  EXPECT_EQ(LoadError(""),
            "t.yaml:1:1: the file is empty; expected a mapping with version: 1 "
            "and rules");
  // yaml-cpp 0.7's LoadAll loops forever on this; the loader must not.
  EXPECT_THAT(LoadError(Lines({"  version: 1", " ,"})),
              StartsWith("t.yaml:2:2: unexpected content after the end of the YAML document"));
  EXPECT_THAT(LoadError(Lines({"version: 1", "---", "rules: []"})),
              StartsWith("t.yaml:3:1: unexpected content after the end of the YAML document"));
  EXPECT_EQ(LoadError(Lines(
                {"version: 1", "rules:", "  - id: a", "    kind: any_of", "    kind: all_of"})),
            "t.yaml:5:5: duplicate key \"kind\" in rule \"a\" (first given at t.yaml:4:5)");
  EXPECT_EQ(LoadError(Lines({"version: 1", "base_currency: \"\xff\\n\""})),
            "t.yaml:2:16: bad base_currency \"\\xff\\n\": expected an ISO 4217 code such as CNY");
  // A UTF-16 surrogate and an overlong form are not UTF-8: escaped, byte by byte.
  EXPECT_EQ(LoadError(Lines({"version: 1", "base_currency: \"\xed\xa0\x80\xc0\xaf\""})),
            "t.yaml:2:16: bad base_currency \"\\xed\\xa0\\x80\\xc0\\xaf\": expected an ISO 4217 "
            "code such as CNY");
  EXPECT_EQ(LoadError("rules: []\n"),
            "t.yaml:1:1: missing required key \"version\" in the top level (version: 1)");
  EXPECT_EQ(LoadError("version: 2\n"),
            "t.yaml:1:10: unsupported version \"2\" (this program reads version: 1)");
  EXPECT_THAT(LoadError(Lines({"version: 1", "version: 1"})),
              StartsWith("t.yaml:2:1: duplicate key \"version\" in the top level (first given "
                         "at t.yaml:1:1)"));
  EXPECT_THAT(LoadError(Lines({"version: 1", "rules:", "  - id: A"})),
              StartsWith("t.yaml:3:9: bad rule id \"A\""));
  EXPECT_THAT(LoadError(Lines({"version: 1", "rules:", "  - id: a", "    kind: treshold"})),
              StartsWith("t.yaml:4:11: unknown kind \"treshold\" in rule \"a\" (allowed: "
                         "threshold, absence, sequence, all_of, any_of)"));
  EXPECT_THAT(LoadError(Lines({"version: 1", "rules:", "  - id: a", "    kind: absence",
                               "    trigger: {stream: login}", "    within: 1h"})),
              StartsWith("t.yaml:3:5: missing required key \"expect\" in rule \"a\""));
  EXPECT_THAT(LoadError(Lines({"version: 1", "rules:", "  - id: a", "    kind: sequence",
                               "    first: {stream: login}", "    then: {stream: login}",
                               "    within: 1h", "    after: 1h"})),
              StartsWith("t.yaml:8:12: after 1h must be shorter than within 1h"));
  EXPECT_THAT(LoadError(Lines({"version: 1", "currency_rates: {USD: \"0\"}"})),
              StartsWith("t.yaml:2:23: rate of USD must be greater than 0"));
  EXPECT_THAT(LoadError(Lines({"version: 1", "max_event_bytes: 0"})),
              StartsWith("t.yaml:2:18: max_event_bytes must be an integer from 1"));
}

TEST(ConfigErrorTest, DuplicateIdInOneFile) {
  std::string rule = "    kind: any_of\n    rules: [x]\n";
  EXPECT_EQ(LoadError("version: 1\nrules:\n  - id: x\n" + rule + "  - id: x\n" + rule),
            "t.yaml:6:9: duplicate rule id \"x\" (first defined at t.yaml:3:9)");
}

TEST(ConfigErrorTest, ErrorLeavesOutputUnchanged) {
  EngineConfig c;
  c.base_currency = "XYZ";
  EXPECT_FALSE(LoadConfigString("version: 1\nbase_currency: usd\n", "t.yaml", &c).ok());
  EXPECT_EQ(c.base_currency, "XYZ");
  Status s = LoadConfigFile("/nonexistent/abusewatch.yaml", &c);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_THAT(s.message(), StartsWith("/nonexistent/abusewatch.yaml:1:1: cannot read"));
}

// ------------------------------------------------------------------------------------------
// Values, includes, warnings.
// ------------------------------------------------------------------------------------------

TEST(ConfigLoadTest, DecimalsAreReadExactlyFromYamlNumbers) {
  EngineConfig c;
  Status s = LoadConfigString(OneRule({"    select: {stream: payment}", "    aggregate: sum",
                                       "    window: 1h", "    threshold: 200000.10"}) +
                                  "currency_rates: {USD: 7.10, JPY: 0.048}\n",
                              "t.yaml", &c);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(c.rules[0].threshold.mantissa, 20000010u);
  EXPECT_EQ(c.rules[0].threshold.scale, 2);
  EXPECT_EQ(c.currency_rates.at("USD").mantissa, 710u);
  EXPECT_EQ(c.currency_rates.at("JPY").scale, 3);
  EXPECT_EQ(c.rules[0].pos.line, 3);
  EXPECT_EQ(c.rules[0].pos.column, 5);
  EXPECT_EQ(c.rules[0].pos.file, "t.yaml");
}

TEST(ConfigLoadTest, WarnAt) {
  auto load = [](std::string_view warn_at, EngineConfig* c) {
    return LoadConfigString(
        OneRule({"    select: {stream: payment}", "    aggregate: count", "    window: 1h",
                 "    threshold: 10", "    warn_at: " + std::string(warn_at)}),
        "t.yaml", c);
  };
  EngineConfig c;
  Status s = load("[0.5, \"0.8\"]", &c);
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_EQ(c.rules[0].warn_at.size(), 2u);
  EXPECT_TRUE(DecEq(c.rules[0].warn_at[0], "0.5"));
  EXPECT_TRUE(DecEq(c.rules[0].warn_at[1], "0.80"));
  EXPECT_THAT(load("[0.5, 1]", &c).message(),
              StartsWith("t.yaml:9:20: warn_at of rule \"a\": \"1\" is not strictly between 0 "
                         "and 1"));
  EXPECT_THAT(load("[0]", &c).message(), StartsWith("t.yaml:9:15: warn_at of rule \"a\": \"0\""));
  EXPECT_THAT(load("[0.5, 0.501]", &c).message(),
              StartsWith("t.yaml:9:20: warn_at of rule \"a\": \"0.501\" and the value at "
                         "t.yaml:9:15 both give derived rule \"a:warn50\""));
  EXPECT_THAT(load("0.5", &c).message(), StartsWith("t.yaml:9:14: warn_at of rule \"a\" must be"));
}

TEST(ConfigLoadTest, DefaultsOfCommonFields) {
  EngineConfig c;
  Status s = LoadConfigString(OneRule({"    select: {stream: payment}", "    aggregate: count",
                                       "    window: 1h", "    threshold: 1"}),
                              "t.yaml", &c);
  ASSERT_TRUE(s.ok()) << s.message();
  const RuleSpec& r = c.rules[0];
  EXPECT_EQ(r.group_by, FieldId::kAccount);
  EXPECT_EQ(r.severity, Severity::kWarning);
  EXPECT_TRUE(r.notify);
  EXPECT_TRUE(r.enabled);
  EXPECT_EQ(r.granularity_ms, 1000);
  EXPECT_EQ(c.timezone_offset_ms, 0);
}

TEST(ConfigIncludeTest, Precedence) {
  TempDir dir;
  dir.Write("packs/p.yaml",
            Lines({"timezone: \"+08:00\"", "allowed_lateness: 30s",
                   "currency_rates: {USD: \"7.10\", HKD: \"0.91\"}", "include: [q.yaml]",
                   "rules:", "  - id: from_p", "    kind: any_of", "    rules: [mine]"}));
  dir.Write("packs/q.yaml",
            Lines({"version: 1", "timezone: \"-05:00\"", "max_event_bytes: 100",
                   "rules:", "  - id: from_q", "    kind: any_of", "    rules: [mine]"}));
  dir.Write("r.yaml", Lines({"max_event_bytes: 200"}));
  std::string main = dir.Write(
      "main.yaml", Lines({"version: 1", "include: [packs/p.yaml, r.yaml]", "allowed_lateness: 5s",
                          "currency_rates: {USD: \"7.20\"}", "rules:", "  - id: mine",
                          "    kind: threshold", "    select: {stream: login}",
                          "    aggregate: count", "    window: 1h", "    threshold: 1"}));
  EngineConfig c;
  std::vector<std::string> warnings;
  Status s = LoadConfigFile(main, &c, &warnings);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(c.timezone_text, "+08:00");                  // p overrides its include q
  EXPECT_EQ(c.allowed_lateness_ms, 5000);                // main overrides p
  EXPECT_EQ(c.max_event_bytes, 200);                     // r (later include) overrides q
  EXPECT_EQ(c.currency_rates.at("USD").mantissa, 720u);  // main's entry wins
  EXPECT_EQ(c.currency_rates.at("HKD").mantissa, 91u);   // merged from p
  std::vector<std::string> ids;
  for (const RuleSpec& r : c.rules) ids.push_back(r.id);
  EXPECT_THAT(ids, ElementsAre("mine", "from_p", "from_q"));
  EXPECT_EQ(c.rules[2].pos.file, dir.Path("packs/q.yaml"));
  EXPECT_TRUE(warnings.empty());
}

TEST(ConfigIncludeTest, DuplicateIdAcrossInclude) {
  TempDir dir;
  dir.Write("pack.yaml", Lines({"rules:", "  - id: a", "    kind: any_of", "    rules: [b]"}));
  std::string main = dir.Write(
      "main.yaml",
      Lines({"version: 1", "include: [pack.yaml]", "rules:", "  - id: b", "    kind: any_of",
             "    rules: [a]", "  - id: a", "    kind: any_of", "    rules: [b]"}));
  EngineConfig c;
  Status s = LoadConfigFile(main, &c);
  EXPECT_EQ(s.message(), dir.Path("pack.yaml") +
                             ":2:9: duplicate rule id \"a\" (first defined at " + main + ":7:9)");
}

TEST(ConfigIncludeTest, CycleAndMissingFile) {
  TempDir dir;
  std::string a = dir.Write("a.yaml", Lines({"version: 1", "include: [b.yaml]"}));
  dir.Write("b.yaml", Lines({"include:", "  - a.yaml"}));
  EngineConfig c;
  EXPECT_EQ(LoadConfigFile(a, &c).message(), dir.Path("b.yaml") + ":2:5: include cycle: " + a +
                                                 " -> " + dir.Path("b.yaml") + " -> " + a);
  std::string m = dir.Write("m.yaml", Lines({"version: 1", "include: [nope.yaml]"}));
  EXPECT_THAT(LoadConfigFile(m, &c).message(),
              StartsWith(m + ":2:11: cannot read included file \"" + dir.Path("nope.yaml")));
}

TEST(ConfigWarningTest, SuspiciousButValid) {
  EngineConfig c;
  std::vector<std::string> warnings;
  Status s = LoadConfigString(OneRule({"    enabled: false", "    notify: true",
                                       "    select: {stream: login, where: "
                                       "{flow: x}}",
                                       "    aggregate: count", "    window: 1h", "    threshold: 1",
                                       "  - id: b", "    kind: all_of", "    rules: [a]"}),
                              "t.yaml", &c, &warnings);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_THAT(warnings,
              ElementsAre(HasSubstr("t.yaml:6:5: rule \"a\" is disabled"),
                          HasSubstr("t.yaml:7:37: condition on \"flow\" in select of rule \"a\" "
                                    "never holds"),
                          HasSubstr("t.yaml:13:13: all_of \"b\" lists disabled rule \"a\"")));
}

TEST(ConfigWarningTest, DedupHorizonAndSilentRule) {
  EngineConfig c;
  std::vector<std::string> warnings;
  Status s = LoadConfigString(
      Lines({"version: 1", "dedup_horizon: 1h", "rules:", "  - id: a", "    kind: threshold",
             "    notify: false", "    select: {stream: login}", "    aggregate: count",
             "    window: 2h", "    threshold: 1"}),
      "t.yaml", &c, &warnings);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_THAT(warnings,
              ElementsAre(StartsWith("t.yaml:4:5: rule \"a\" has notify: false and no enabled "
                                     "all_of/any_of lists it"),
                          StartsWith("t.yaml:2:16: dedup_horizon 1h is shorter than the longest "
                                     "rule window 2h")));
}

}  // namespace
}  // namespace abusewatch

namespace abusewatch {
namespace {

TEST(ConfigCompositeTest, CompositeMayListDerivedWarningRules) {
  const char* yaml = R"(version: 1
rules:
  - id: total
    kind: threshold
    select: {stream: payment}
    aggregate: sum
    window: 1d
    threshold: "100"
    warn_at: [0.8]
  - id: early
    kind: any_of
    rules: ["total:warn80"]
  - id: bad
    kind: any_of
    rules: ["total:warn50"]
)";
  EngineConfig c;
  Status s = LoadConfigString(yaml, "w.yaml", &c);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(
      s.message(),
      std::string("w.yaml:15:13: unknown rule id \"total:warn50\" in rules of any_of \"bad\""));
  std::string ok_yaml(yaml);
  ok_yaml.resize(ok_yaml.find("  - id: bad"));
  ASSERT_TRUE(LoadConfigString(ok_yaml, "w.yaml", &c).ok());
  std::shared_ptr<const RuleSet> rules;
  EXPECT_TRUE(RuleSet::Compile(c, &rules).ok());
}

}  // namespace
}  // namespace abusewatch
