// absence, sequence and composite rules; lateness, duplicates, ordering, end of input.
#include <gmock/gmock.h>

#include "tests/detectors/engine_test_util.h"

namespace abusewatch::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
constexpr int64_t kHour = 3'600'000;

EngineConfig AbsenceConfig(int64_t within) {
  EngineConfig c = BaseConfig();
  RuleSpec r;
  r.id = "unhandled";
  r.kind = RuleKind::kAbsence;
  r.trigger = Sel({EventType::kAbuseReport});
  r.expect = Sel({EventType::kDisposition}, {Is(FieldId::kAction, {"suspend", "warn", "close"})});
  r.within_ms = within;
  c.rules.push_back(r);
  return c;
}

std::string Disp(const std::string& id, const std::string& ts, const std::string& acct,
                 const std::string& action) {
  return Ev(id, "disposition", ts, acct, "\"action\":\"" + action + "\"");
}

TEST(AbsenceTest, ExpectAtTheDeadlineIsInTimeOneMsLaterIsNot) {
  auto r = RunEngine(AbsenceConfig(24 * kHour),
                     {Ev("r1", "abuse_report", "2026-05-01T09:00:00+08:00", "e"),
                      Disp("d1", "2026-05-02T09:00:00+08:00", "e", "close"),
                      Ev("r2", "abuse_report", "2026-05-03T09:00:00+08:00", "f"),
                      Ev("r3", "abuse_report", "2026-05-03T10:00:00+08:00", "g"),
                      Disp("d3", "2026-05-03T11:00:00+08:00", "g", "restore"),
                      Disp("d2", "2026-05-04T09:00:00.001+08:00", "f", "suspend"),
                      Ev("z", "login", "2026-05-06T00:00:00+08:00", "z")});
  EXPECT_THAT(r.transitions, ElementsAre("unhandled f firing 2026-05-04T01:00:00.000Z",
                                         "unhandled f resolved 2026-05-04T01:00:00.001Z",
                                         "unhandled g firing 2026-05-04T02:00:00.000Z"));
}

TEST(AbsenceTest, ExpectHandlesOnlyTriggersProcessedBeforeIt) {
  // The disposition arrives before the report at the same ts: it does not handle it.
  auto r = RunEngine(AbsenceConfig(1000), {Disp("d", "2026-01-01T00:00:00Z", "a", "warn"),
                                           Ev("r", "abuse_report", "2026-01-01T00:00:00Z", "a"),
                                           Ev("z", "login", "2026-01-01T00:00:05Z", "z")});
  EXPECT_THAT(r.transitions, ElementsAre("unhandled a firing 2026-01-01T00:00:01.000Z"));
}

TEST(AbsenceTest, TimersAfterTheLastEventAreNotEvaluated) {
  auto r =
      RunEngine(AbsenceConfig(24 * kHour), {Ev("r", "abuse_report", "2026-01-01T00:00:00Z", "a"),
                                            Ev("z", "login", "2026-01-01T23:59:59.999Z", "z")});
  EXPECT_THAT(r.transitions, IsEmpty());
  auto r2 =
      RunEngine(AbsenceConfig(24 * kHour), {Ev("r", "abuse_report", "2026-01-01T00:00:00Z", "a"),
                                            Ev("z", "login", "2026-01-02T00:00:00Z", "z")});
  EXPECT_THAT(r2.transitions, ElementsAre("unhandled a firing 2026-01-02T00:00:00.000Z"));
}

EngineConfig SequenceConfig(bool with_unless) {
  EngineConfig c = BaseConfig();
  RuleSpec r;
  r.id = "after_notice";
  r.kind = RuleKind::kSequence;
  r.first = Sel({EventType::kRegulatorNotice});
  r.then = Sel({EventType::kPayment, EventType::kLogin});
  r.after_ms = 24 * kHour;
  r.within_ms = 48 * kHour;
  if (with_unless) r.unless = Sel({EventType::kDisposition}, {Is(FieldId::kAction, {"suspend"})});
  c.rules.push_back(r);
  return c;
}

TEST(SequenceTest, AfterIsExclusiveWithinIsInclusive) {
  auto r = RunEngine(SequenceConfig(false),
                     {Ev("n", "regulator_notice", "2026-06-01T00:00:00Z", "h"),
                      Ev("m", "regulator_notice", "2026-06-01T00:00:00Z", "i"),
                      Ev("l1", "login", "2026-06-02T00:00:00Z", "h"),      // exactly +24h: no
                      Ev("l3", "login", "2026-06-02T00:00:00.001Z", "h"),  // +24h+1ms: yes
                      Ev("l2", "login", "2026-06-03T00:00:00Z", "i")});    // exactly +48h: yes
  EXPECT_THAT(r.transitions, ElementsAre("after_notice h firing 2026-06-02T00:00:00.001Z",
                                         "after_notice i firing 2026-06-03T00:00:00.000Z"));
}

TEST(SequenceTest, UnlessResolvesAndKillsEarlierFirstEvents) {
  auto r =
      RunEngine(SequenceConfig(true),
                {Ev("n", "regulator_notice", "2026-06-01T00:00:00Z", "h"),
                 Ev("l1", "login", "2026-06-02T01:00:00Z", "h"),
                 Disp("s", "2026-06-02T02:00:00Z", "h", "suspend"),
                 Ev("l2", "login", "2026-06-02T03:00:00Z", "h"),
                 // An unless before a first event with the same ts kills it too (f.ts <= u.ts).
                 Disp("s2", "2026-06-05T00:00:00Z", "h", "suspend"),
                 Ev("n2", "regulator_notice", "2026-06-05T00:00:00Z", "h"),
                 Ev("l3", "login", "2026-06-06T01:00:00Z", "h")});
  EXPECT_THAT(r.transitions, ElementsAre("after_notice h firing 2026-06-02T01:00:00.000Z",
                                         "after_notice h resolved 2026-06-02T02:00:00.000Z"));
}

EngineConfig CompositeConfig(RuleKind kind) {
  EngineConfig c = BaseConfig();
  c.rules.push_back(Threshold("a", Sel({EventType::kLogin}), Aggregate::kCount, 2000, 1000, "1"));
  c.rules.push_back(
      Threshold("b", Sel({EventType::kSanction}), Aggregate::kCount, 2000, 1000, "1"));
  c.rules.back().notify = false;
  RuleSpec x;
  x.id = "x";
  x.kind = kind;
  x.children = {"a", "b"};
  c.rules.push_back(x);
  return c;
}

TEST(CompositeTest, AllOfFiresWhileEveryChildFires) {
  auto r = RunEngine(CompositeConfig(RuleKind::kAllOf),
                     {Ev("l", "login", "2026-01-01T00:00:00.500Z", "k"),
                      Ev("s", "sanction", "2026-01-01T00:00:01.500Z", "k"),
                      Ev("z", "login", "2026-01-01T00:00:10Z", "z")});
  // Ordering is by time, then rule, then key:
  EXPECT_THAT(
      r.transitions,
      ElementsAre("a k firing 2026-01-01T00:00:00.500Z 1", "b k firing 2026-01-01T00:00:01.500Z 1",
                  "x k firing 2026-01-01T00:00:01.500Z", "a k resolved 2026-01-01T00:00:02.000Z 0",
                  "x k resolved 2026-01-01T00:00:02.000Z",
                  "b k resolved 2026-01-01T00:00:03.000Z 0",
                  "a z firing 2026-01-01T00:00:10.000Z 1"));
}

TEST(CompositeTest, AnyOfDoesNotBlinkWhenOneChildHandsOverToAnother) {
  // a expires at 2.000 while b fires from an event at 2.000: any_of stays firing.
  auto r = RunEngine(CompositeConfig(RuleKind::kAnyOf),
                     {Ev("l", "login", "2026-01-01T00:00:00.500Z", "k"),
                      Ev("s", "sanction", "2026-01-01T00:00:02.000Z", "k"),
                      Ev("z", "sanction", "2026-01-01T00:00:10Z", "q")});
  EXPECT_THAT(
      r.transitions,
      ElementsAre(
          "a k firing 2026-01-01T00:00:00.500Z 1", "x k firing 2026-01-01T00:00:00.500Z",
          "a k resolved 2026-01-01T00:00:02.000Z 0", "b k firing 2026-01-01T00:00:02.000Z 1",
          "b k resolved 2026-01-01T00:00:04.000Z 0", "x k resolved 2026-01-01T00:00:04.000Z",
          "b q firing 2026-01-01T00:00:10.000Z 1", "x q firing 2026-01-01T00:00:10.000Z"));
}

TEST(TimeTest, LateAndDuplicateAreRejectedAndOrderWithinLatenessDoesNotMatter) {
  EngineConfig c = BaseConfig();
  c.rules.push_back(Threshold("n", Sel({EventType::kLogin}), Aggregate::kCount, 60'000, 1000, "2"));
  auto in_order = RunEngine(c, {Ev("a", "login", "2026-01-01T00:00:05Z", "k"),
                                Ev("b", "login", "2026-01-01T00:00:25Z", "k")});
  auto shuffled =
      RunEngine(c, {Ev("b", "login", "2026-01-01T00:00:25Z", "k"),
                    Ev("a", "login", "2026-01-01T00:00:05Z", "k"),
                    Ev("c", "login", "2026-01-01T00:00:01Z", "k"),  // 24 s < 30 s: accepted
                    Ev("d", "login", "2026-01-01T00:00:00Z", "k"),
                    Ev("a", "login", "2026-01-01T00:00:26Z", "k")});
  EXPECT_THAT(in_order.transitions, ElementsAre("n k firing 2026-01-01T00:00:25.000Z 2"));
  // Sorted: d(0) c(1) a(5) b(25); the value reaches 2 at c. Timers after the last accepted
  // event time (25 s) are not evaluated at end of input.
  EXPECT_THAT(shuffled.transitions, ElementsAre("n k firing 2026-01-01T00:00:01.000Z 2"));
  EXPECT_THAT(shuffled.rejects, ElementsAre("5 duplicate"));
  auto late = RunEngine(c, {Ev("b", "login", "2026-01-01T00:00:30Z", "k"),
                            Ev("a", "login", "2026-01-01T00:00:00Z", "k"),
                            Ev("x", "login", "2026-01-01T00:00:00Z", "k"),
                            Ev("y", "login", "2025-12-31T23:59:59.999Z", "k")});
  EXPECT_THAT(late.rejects, ElementsAre("4 late"));
}

TEST(TimeTest, DuplicateIdsAreForgottenBeyondTheHorizon) {
  EngineConfig c = BaseConfig();
  c.dedup_horizon_ms = 10'000;
  c.rules.push_back(Threshold("n", Sel({EventType::kLogin}), Aggregate::kCount, 60'000, 1000, "9"));
  auto r = RunEngine(c, {Ev("a", "login", "2026-01-01T00:00:00Z", "k"),
                         Ev("a", "login", "2026-01-01T00:00:10Z", "k"),  // 0 >= 10-10: duplicate
                         Ev("b", "login", "2026-01-01T00:00:10.001Z", "k"),
                         Ev("a", "login", "2026-01-01T00:00:10.002Z", "k")});  // 0 < 0.001: new
  EXPECT_THAT(r.rejects, ElementsAre("2 duplicate"));
}

}  // namespace
}  // namespace abusewatch::testing
