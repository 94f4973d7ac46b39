// Self-tests of the brute-force reference engine on tiny cases whose answers follow from
// spec/rules.md by hand.
#include "tests/reference/reference_engine.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "detectors/timeutil.h"
#include "tests/reference/spec_builder.h"

namespace abusewatch::testing::ref {
namespace {

constexpr int64_t kSec = 1000;
constexpr int64_t kHour = 3600 * kSec;
constexpr int64_t kDay = 24 * kHour;

int64_t Ms(const std::string& rfc3339) {
  int64_t ms = 0;
  EXPECT_TRUE(ParseRfc3339(rfc3339, &ms)) << rfc3339;
  return ms;
}

// One JSON line; `ts` is an RFC 3339 text or decimal milliseconds.
std::string Ev(const std::string& id, const std::string& type, const std::string& ts,
               const std::string& account, const std::string& extra = "") {
  bool integer = ts.find_first_not_of("0123456789") == std::string::npos;
  std::string t = integer ? ts : "\"" + ts + "\"";
  return "{\"id\":\"" + id + "\",\"type\":\"" + type + "\",\"ts\":" + t + ",\"account\":\"" +
         account + "\"" + (extra.empty() ? "" : "," + extra) + "}";
}
std::string At(int64_t ms) { return std::to_string(ms); }

RefTransition T(const std::string& rule, const std::string& key, bool firing, int64_t at,
                const std::string& value = "null", const std::string& threshold = "null") {
  RefTransition t;
  t.rule = rule;
  t.key = key;
  t.firing = firing;
  t.at_ms = at;
  t.has_value = value != "null";
  t.value = value;
  t.threshold = threshold;
  return t;
}

std::vector<std::string> Texts(const std::vector<RefTransition>& v) {
  std::vector<std::string> out;
  for (const RefTransition& t : v) out.push_back(RefTransitionText(t));
  return out;
}

#define EXPECT_TRANSITIONS(result, ...) \
  EXPECT_EQ(Texts((result).transitions), Texts(std::vector<RefTransition>{__VA_ARGS__}))

RuleSpec SettlementTotal(const std::string& flow, const std::string& line) {
  return Threshold("total", Aggregate::kSum, Sel({EventType::kPayment}, {Eq(FieldId::kFlow, flow)}),
                   730 * kDay, kDay, line);
}

TEST(ReferenceEngineTest, SumReachesTheLineExactly) {
  EngineConfig c = BaseConfig(8 * kHour);
  c.rules = {SettlementTotal("settlement", "200000")};
  std::vector<std::string> lines = {
      Ev("p1", "payment", "2026-01-02T10:00:00+08:00", "a",
         R"("flow":"settlement","amount":"150000.00")"),
      Ev("p2", "payment", "2026-01-03T10:00:00+08:00", "a",
         R"("flow":"settlement","amount":"49999.99")"),
      Ev("p9", "payment", "2026-01-03T11:00:00+08:00", "a", R"("flow":"gain","amount":"5")"),
      Ev("p3", "payment", "2026-01-04T10:00:00+08:00", "a",
         R"("flow":"settlement","amount":0.01)")};
  EXPECT_TRANSITIONS(RunReference(c, lines), T("total", "a", true, Ms("2026-01-04T02:00:00Z"),
                                               "\"200000.00\"", "\"200000.00\""));
  lines.pop_back();  // one fen under
  EXPECT_TRUE(RunReference(c, lines).transitions.empty());
}

TEST(ReferenceEngineTest, WindowOf730LocalDays) {
  EngineConfig c = BaseConfig(8 * kHour);
  c.rules = {SettlementTotal("gain", "10000")};
  std::vector<std::string> lines = {
      Ev("g1", "payment", "2026-01-01T23:59:59.999+08:00", "c", R"("flow":"gain","amount":"5000")"),
      Ev("g2", "payment", "2027-12-31T23:00:00+08:00", "c", R"("flow":"gain","amount":"5000")"),
      Ev("h1", "login", "2028-01-01T00:00:00+08:00", "d")};
  // g1's local day leaves the window at local midnight of 2028-01-01: day 730.
  EXPECT_TRANSITIONS(
      RunReference(c, lines),
      T("total", "c", true, Ms("2027-12-31T15:00:00Z"), "\"10000.00\"", "\"10000.00\""),
      T("total", "c", false, Ms("2027-12-31T16:00:00Z"), "\"5000.00\"", "\"10000.00\""));
  // In UTC days g1 is on 2026-01-01 too, but its bucket ends 8 hours later.
  c.timezone_offset_ms = 0;
  EXPECT_TRANSITIONS(RunReference(c, lines), T("total", "c", true, Ms("2027-12-31T15:00:00Z"),
                                               "\"10000.00\"", "\"10000.00\""));
}

TEST(ReferenceEngineTest, WindowExpiryOnlyUpToTheLastEvent) {
  EngineConfig c = BaseConfig();
  c.rules = {Threshold("n", Aggregate::kCount, Sel({EventType::kLogin}), 10 * kSec, kSec, "1")};
  int64_t t0 = Ms("2026-03-01T00:00:00.400Z");
  std::vector<std::string> lines = {Ev("l1", "login", At(t0), "a"),
                                    Ev("x", "sanction", At(t0 + 9'599), "b")};
  EXPECT_TRANSITIONS(RunReference(c, lines), T("n", "a", true, t0, "1", "1"));
  lines[1] = Ev("x", "sanction", At(t0 + 9'600), "b");  // the bucket of t0 leaves at +9.6 s
  EXPECT_TRANSITIONS(RunReference(c, lines), T("n", "a", true, t0, "1", "1"),
                     T("n", "a", false, t0 + 9'600, "0", "1"));
}

TEST(ReferenceEngineTest, AbsenceDeadlineMetToTheMillisecond) {
  EngineConfig c = BaseConfig(8 * kHour);
  c.rules = {Absence(
      "unhandled", Sel({EventType::kAbuseReport}),
      Sel({EventType::kDisposition}, {OneOf(FieldId::kAction, {"suspend", "takedown", "close"})}),
      24 * kHour)};
  std::vector<std::string> lines = {
      Ev("r1", "abuse_report", "2026-05-01T09:00:00+08:00", "e"),
      Ev("d1", "disposition", "2026-05-02T09:00:00+08:00", "e", R"("action":"close")"),
      Ev("r2", "abuse_report", "2026-05-03T09:00:00+08:00", "f"),
      Ev("r3", "abuse_report", "2026-05-03T10:00:00+08:00", "g"),
      Ev("d3", "disposition", "2026-05-03T11:00:00+08:00", "g", R"("action":"restore")"),
      Ev("d2", "disposition", "2026-05-04T09:00:00.001+08:00", "f", R"("action":"takedown")"),
      Ev("z", "login", "2026-05-06T00:00:00+08:00", "z")};
  EXPECT_TRANSITIONS(RunReference(c, lines), T("unhandled", "f", true, Ms("2026-05-04T01:00:00Z")),
                     T("unhandled", "f", false, Ms("2026-05-04T01:00:00.001Z")),
                     T("unhandled", "g", true, Ms("2026-05-04T02:00:00Z")));
}

TEST(ReferenceEngineTest, LateDuplicateAndLineNumbers) {
  EngineConfig c = BaseConfig();
  c.allowed_lateness_ms = 30 * kSec;
  int64_t t0 = Ms("2026-01-01T02:00:00Z");
  std::vector<std::string> lines = {
      Ev("a", "login", At(t0), "k"),
      "",
      Ev("b", "login", At(t0 + 25 * kSec), "k"),
      Ev("c", "login", At(t0 + 5 * kSec), "k"),  // out of order, within the lateness
      "  ",
      Ev("d", "login", At(t0 + 60 * kSec), "k"),
      Ev("e", "login", At(t0 + 30 * kSec), "k"),  // exactly M - lateness: accepted
      Ev("f", "login", At(t0 + 29'999), "k"),     // one ms more: late
      Ev("c", "login", At(t0 + 60 * kSec), "k"),  // duplicate
      "{\"id\":",
      Ev("g", "payment", At(t0), "k", R"("flow":"gain","amount":"1.234")")};
  RefResult r = RunReference(c, lines);
  using P = std::pair<int, RejectReason>;
  EXPECT_EQ(r.rejects,
            (std::vector<P>{P{8, RejectReason::kLate}, P{9, RejectReason::kDuplicate},
                            P{10, RejectReason::kMalformedJson}, P{11, RejectReason::kBadAmount}}));
  EXPECT_EQ(r.accepted.size(), 5u);
}

TEST(ReferenceEngineTest, DedupHorizonForgetsOldIds) {
  EngineConfig c = BaseConfig();
  c.dedup_horizon_ms = 20 * kSec;
  int64_t t0 = Ms("2026-01-01T00:00:00Z");
  std::vector<std::string> lines = {
      Ev("a", "login", At(t0), "k"), Ev("b", "login", At(t0 + 5 * kSec), "k"),
      Ev("c", "login", At(t0 + 25 * kSec), "k"),
      Ev("a", "login", At(t0 + 25 * kSec), "k"),   // a.ts < M - 20 s: forgotten, accepted
      Ev("b", "login", At(t0 + 25 * kSec), "k")};  // b.ts == M - 20 s: still a duplicate
  RefResult r = RunReference(c, lines);
  using P = std::pair<int, RejectReason>;
  EXPECT_EQ(r.rejects, (std::vector<P>{P{5, RejectReason::kDuplicate}}));
}

TEST(ReferenceEngineTest, WarnAtAddsADerivedRule) {
  EngineConfig c = BaseConfig();
  c.rules = {Threshold("c", Aggregate::kCount, Sel({EventType::kLogin}), 60 * kSec, kSec, "4")};
  c.rules[0].warn_at = {Dec("0.75"), Dec("0.5"), Dec("0.125")};  // 3, 2 and 0.5 -> 1
  c.rules[0].severity = Severity::kCritical;
  int64_t t0 = Ms("2026-01-01T00:00:00Z");
  std::vector<std::string> lines;
  for (int i = 0; i < 4; ++i) lines.push_back(Ev(std::to_string(i), "login", At(t0 + i), "k"));
  EXPECT_TRANSITIONS(RunReference(c, lines), T("c:warn13", "k", true, t0, "1", "1"),
                     T("c:warn50", "k", true, t0 + 1, "2", "2"),
                     T("c:warn75", "k", true, t0 + 2, "3", "3"),
                     T("c", "k", true, t0 + 3, "4", "4"));
  c.rules[0].aggregate = Aggregate::kSum;
  c.rules[0].select = Sel({EventType::kPayment});
  c.rules[0].threshold = Dec("0.1");
  c.rules[0].warn_at = {Dec("0.5"), Dec("0.333")};  // 0.05 and 0.0333 -> 0.04
  EXPECT_TRANSITIONS(
      RunReference(c, {Ev("p", "payment", At(t0), "k", R"("flow":"gain","amount":"0.04")")}),
      T("c:warn33", "k", true, t0, "\"0.04\"", "\"0.04\""));
}

// An event step exactly at a window expiry: by default only the keys the event concerns are
// re-evaluated (the expiry of other keys waits for the timer step after every event at that
// time); the option re-evaluates every key at every step.
TEST(ReferenceEngineTest, EventStepAtAWindowExpiry) {
  EngineConfig c = BaseConfig();
  c.rules = {Threshold("n", Aggregate::kCount, Sel({EventType::kLogin}), 2 * kSec, kSec, "1")};
  int64_t t0 = Ms("2026-01-01T00:00:00Z");
  std::vector<std::string> lines = {Ev("1", "login", At(t0), "k"),
                                    Ev("2", "sanction", At(t0 + 2 * kSec), "k"),
                                    Ev("3", "login", At(t0 + 2 * kSec), "k")};
  EXPECT_TRANSITIONS(RunReference(c, lines), T("n", "k", true, t0, "1", "1"));
  ReferenceOptions all;
  all.threshold_all_keys_every_step = true;
  EXPECT_TRANSITIONS(RunReference(c, lines, all), T("n", "k", true, t0, "1", "1"),
                     T("n", "k", false, t0 + 2 * kSec, "0", "1"),
                     T("n", "k", true, t0 + 2 * kSec, "1", "1"));
}

TEST(ReferenceEngineTest, ResetCutsOnlyEventsProcessedBeforeIt) {
  EngineConfig c = BaseConfig();
  RuleSpec r = Threshold("three", Aggregate::kDistinct,
                         Sel({EventType::kAbuseReport}, {EqBool(FieldId::kVerified, true)}),
                         730 * kDay, kDay, "3");
  r.field = FieldId::kSubject;
  r.reset_on = Sel({EventType::kSanction});
  c.rules = {r};
  int64_t t0 = Ms("2026-01-01T00:00:00Z");
  auto report = [&](const std::string& id, int64_t at, const std::string& subject) {
    return Ev(id, "abuse_report", At(at), "k", R"("verified":true,"subject":")" + subject + "\"");
  };
  std::vector<std::string> lines = {
      report("1", t0, "s1"),
      report("2", t0 + 1, "s2"),
      report("3", t0 + 2, "s2"),
      report("4", t0 + 3, "s3"),
      report("5", t0 + 9, "s4"),  // same ts as the sanction, processed before it: cut
      Ev("x", "sanction", At(t0 + 9), "k"),
      report("6", t0 + 9, "s5")};  // processed after it: counts
  EXPECT_TRANSITIONS(RunReference(c, lines), T("three", "k", true, t0 + 3, "3", "3"),
                     T("three", "k", false, t0 + 9, "0", "3"));
}

TEST(ReferenceEngineTest, SequenceAfterWithinAndUnless) {
  EngineConfig c = BaseConfig();
  RuleSpec s = Sequence("seq", Sel({EventType::kRegulatorNotice}), Sel({EventType::kPayment}),
                        60 * kSec, 10 * kSec);
  s.unless = Sel({EventType::kDisposition});
  c.rules = {s};
  int64_t t0 = Ms("2026-01-01T00:00:00Z");
  std::string pay = R"("flow":"gain","amount":"1")";
  std::vector<std::string> lines = {
      Ev("n", "regulator_notice", At(t0), "k"),
      Ev("p1", "payment", At(t0 + 10 * kSec), "k", pay),                      // not after A
      Ev("p2", "payment", At(t0 + 10'001), "k", pay),                         // fires
      Ev("d", "disposition", At(t0 + 20 * kSec), "k", R"("action":"warn")"),  // resolves
      Ev("p3", "payment", At(t0 + 30 * kSec), "k", pay),  // the notice is undone
      Ev("m", "regulator_notice", At(t0 + 40 * kSec), "k"),
      Ev("p4", "payment", At(t0 + 100 * kSec), "k", pay),  // exactly f.ts + D: fires
      Ev("p5", "payment", At(t0 + 100 * kSec), "j", pay)};
  EXPECT_TRANSITIONS(RunReference(c, lines), T("seq", "k", true, t0 + 10'001),
                     T("seq", "k", false, t0 + 20 * kSec), T("seq", "k", true, t0 + 100 * kSec));
}

TEST(ReferenceEngineTest, CompositeChangesOnlyAcrossSteps) {
  EngineConfig c = BaseConfig();
  c.rules = {
      Threshold("a", Aggregate::kCount, Sel({EventType::kLogin}), 10 * kSec, kSec, "1"),
      Absence("b", Sel({EventType::kAbuseReport}), Sel({EventType::kDisposition}), 10 * kSec),
      Composite("any", RuleKind::kAnyOf, {"a", "b"}),
      Composite("all", RuleKind::kAllOf, {"any", "a"})};
  int64_t t0 = Ms("2026-01-01T00:00:00Z");
  std::vector<std::string> lines = {Ev("l", "login", At(t0), "k"),
                                    Ev("r", "abuse_report", At(t0), "k"),
                                    Ev("z", "login", At(t0 + 11 * kSec), "other")};
  // At t0 + 10 s one timer step resolves `a` and fires `b`: `any` stays firing.
  EXPECT_TRANSITIONS(
      RunReference(c, lines), T("a", "k", true, t0, "1", "1"), T("all", "k", true, t0),
      T("any", "k", true, t0), T("a", "k", false, t0 + 10 * kSec, "0", "1"),
      T("all", "k", false, t0 + 10 * kSec), T("b", "k", true, t0 + 10 * kSec),
      T("a", "other", true, t0 + 11 * kSec, "1", "1"), T("all", "other", true, t0 + 11 * kSec),
      T("any", "other", true, t0 + 11 * kSec));
}

TEST(ReferenceEngineTest, DisabledRulesNeverFire) {
  EngineConfig c = BaseConfig();
  c.rules = {Threshold("off", Aggregate::kCount, Sel({EventType::kLogin}), 10 * kSec, kSec, "1"),
             Threshold("on", Aggregate::kCount, Sel({EventType::kLogin}), 10 * kSec, kSec, "1"),
             Composite("all", RuleKind::kAllOf, {"off", "on"}),
             Composite("any", RuleKind::kAnyOf, {"off:warn50", "on"})};
  c.rules[0].enabled = false;
  c.rules[0].warn_at = {Dec("0.5")};
  int64_t t0 = Ms("2026-01-01T00:00:00Z");
  EXPECT_TRANSITIONS(RunReference(c, {Ev("l", "login", At(t0), "k")}), T("any", "k", true, t0),
                     T("on", "k", true, t0, "1", "1"));
}

TEST(ReferenceEngineTest, ForeignCurrencyAndPriceRatio) {
  EngineConfig c = BaseConfig();
  c.rules = {SettlementTotal("gain", "0.50"),
             Threshold("ratio", Aggregate::kCount,
                       Sel({EventType::kPayment}, {Range(FieldId::kPriceRatio, "", "3", "", "")}),
                       10 * kSec, kSec, "1")};
  int64_t t0 = Ms("2026-01-01T00:00:00Z");
  // 0.07 USD * 7.10 = 0.497 CNY -> 0.50 (half up); the ratio uses the event's own currency.
  std::vector<std::string> lines = {
      Ev("p", "payment", At(t0), "k",
         R"("flow":"gain","amount":"0.07","currency":"USD","list_price":"0.02")"),
      Ev("q", "payment", At(t0 + 1), "j",
         R"("flow":"gain","amount":"30","currency":"USD","list_price":"10.001")"),
      Ev("r", "payment", At(t0 + 2), "i", R"("flow":"refund","amount":"30","list_price":"0")")};
  EXPECT_TRANSITIONS(RunReference(c, lines), T("ratio", "k", true, t0, "1", "1"),
                     T("total", "k", true, t0, "\"0.50\"", "\"0.50\""),
                     T("total", "j", true, t0 + 1, "\"213.00\"", "\"0.50\""));
}

TEST(ReferenceEngineTest, GroupBySubjectSkipsEventsWithoutOne) {
  EngineConfig c = BaseConfig();
  c.rules = {Threshold("n", Aggregate::kCount, Sel({EventType::kLogin}), 10 * kSec, kSec, "2.5")};
  c.rules[0].group_by = FieldId::kSubject;
  int64_t t0 = Ms("2026-01-01T00:00:00Z");
  std::vector<std::string> lines = {Ev("1", "login", At(t0), "a", R"("subject":"s")"),
                                    Ev("2", "login", At(t0), "b"),
                                    Ev("3", "login", At(t0), "b", R"("subject":"")"),
                                    Ev("4", "login", At(t0), "c", R"("subject":"s")"),
                                    Ev("5", "login", At(t0 + 1), "d", R"("subject":"s")")};
  EXPECT_TRANSITIONS(RunReference(c, lines), T("n", "s", true, t0 + 1, "3", "3"));
}

}  // namespace
}  // namespace abusewatch::testing::ref
