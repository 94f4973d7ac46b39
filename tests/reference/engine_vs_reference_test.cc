// Hand-picked edge cases where the engine and the reference must agree: each one a minimal
// reproduction of a discrepancy found by the randomized differential test, or a case the
// random generator reaches only rarely.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/reference/differential.h"
#include "tests/reference/reference_engine.h"
#include "tests/reference/spec_builder.h"

namespace abusewatch::testing::ref {
namespace {

constexpr int64_t kSec = 1000;
constexpr int64_t kT0 = 1'772'323'200'000;  // 2026-03-01T00:00:00Z

std::string Ev(const std::string& id, const std::string& type, int64_t ts,
               const std::string& account, const std::string& extra = "") {
  return "{\"id\":\"" + id + "\",\"type\":\"" + type + "\",\"ts\":" + std::to_string(ts) +
         ",\"account\":\"" + account + "\"" + (extra.empty() ? "" : "," + extra) + "}";
}

std::string Texts(const std::vector<RefTransition>& v) {
  std::string out;
  for (const RefTransition& t : v) out += RefTransitionText(t) + "\n";
  return out;
}

// An event matching both reset_on and select resets first, then counts itself; the step emits
// at most one transition, carrying the value after the step (rules.md "reset_on"; the brief:
// "transition when firing after the step differs from before it").
TEST(EngineVsReferenceTest, ResetAndSelectInOneEvent) {
  EngineConfig c = BaseConfig();
  RuleSpec r = Threshold("r", Aggregate::kCount, Sel({EventType::kSanction}), 60 * kSec, kSec, "1");
  r.reset_on = Sel({EventType::kSanction});
  c.rules = {r};
  std::vector<std::string> lines = {Ev("s1", "sanction", kT0, "a"),
                                    Ev("s2", "sanction", kT0 + 5 * kSec, "a")};
  // s2 cuts s1 and counts itself: the value stays 1, so nothing changes at s2.
  EXPECT_EQ(Texts(RunReference(c, lines).transitions), "r a firing 1772323200000 1 1\n");
  EXPECT_EQ(Differences(c, lines), "");

  // With a line of 2 and only criminal sanctions resetting, s2 leaves the value at 1:
  // one resolved transition with value 1.
  c.rules[0].threshold = Dec("2");
  c.rules[0].reset_on = Sel({EventType::kSanction}, {Eq(FieldId::kKind, "criminal")});
  lines = {Ev("s1", "sanction", kT0, "a"), Ev("s0", "sanction", kT0 + 1, "a"),
           Ev("s2", "sanction", kT0 + 5 * kSec, "a", R"("kind":"criminal")")};
  EXPECT_EQ(Texts(RunReference(c, lines).transitions),
            "r a firing 1772323200001 2 2\nr a resolved 1772323205000 1 2\n");
  EXPECT_EQ(Differences(c, lines), "");
}

// A distinct rule's selected event without a value still concerns the key: at a window expiry
// it re-evaluates the key like any other selected event.
TEST(EngineVsReferenceTest, DistinctEventWithoutValueAtWindowExpiry) {
  EngineConfig c = BaseConfig();
  RuleSpec r = Threshold("d", Aggregate::kDistinct, Sel({EventType::kLogin}), 2 * kSec, kSec, "1");
  r.field = FieldId::kIp;
  c.rules = {r};
  std::vector<std::string> lines = {Ev("l1", "login", kT0, "a", R"("ip":"10.0.0.1")"),
                                    Ev("l2", "login", kT0 + 2 * kSec, "a"),  // no ip
                                    Ev("l3", "login", kT0 + 2 * kSec, "a", R"("ip":"10.0.0.2")")};
  EXPECT_EQ(Texts(RunReference(c, lines).transitions),
            "d a firing 1772323200000 1 1\nd a resolved 1772323202000 0 1\n"
            "d a firing 1772323202000 1 1\n");
  EXPECT_EQ(Differences(c, lines), "");
}

// Sums beyond the int64 range of fen (10^15 units is the largest amount).
TEST(EngineVsReferenceTest, HugeSums) {
  EngineConfig c = BaseConfig();
  c.rules = {Threshold("s", Aggregate::kSum, Sel({EventType::kPayment}), 600 * kSec, kSec,
                       "100000000000000000")};
  std::vector<std::string> lines;
  for (int i = 0; i < 120; ++i) {
    lines.push_back(Ev("p" + std::to_string(i), "payment", kT0 + i, "a",
                       R"("flow":"gain","amount":"999999999999999.99")"));
  }
  RefResult ref = RunReference(c, lines);
  ASSERT_EQ(ref.transitions.size(), 1u);
  EXPECT_EQ(ref.transitions[0].value, "\"100999999999999998.99\"");
  EXPECT_EQ(Differences(c, lines), "");
}

// Composites over derived warning rules, disabled rules and other composites, with a child
// that fires and resolves within one step (then + unless in one event).
TEST(EngineVsReferenceTest, CompositesOverWarningsAndBlips) {
  EngineConfig c = BaseConfig();
  RuleSpec t = Threshold("t", Aggregate::kCount, Sel({EventType::kLogin}), 10 * kSec, kSec, "4");
  t.warn_at = {Dec("0.5")};
  RuleSpec s =
      Sequence("s", Sel({EventType::kRegulatorNotice}), Sel({EventType::kDisposition}), 60 * kSec);
  s.unless = Sel({EventType::kDisposition});
  RuleSpec off =
      Threshold("off", Aggregate::kCount, Sel({EventType::kLogin}), 10 * kSec, kSec, "1");
  off.enabled = false;
  c.rules = {t, s, off, Composite("any", RuleKind::kAnyOf, {"t:warn50", "s", "off"}),
             Composite("all", RuleKind::kAllOf, {"any", "t:warn50"})};
  std::vector<std::string> lines = {
      Ev("n", "regulator_notice", kT0, "a"), Ev("l1", "login", kT0 + 1, "a"),
      Ev("d", "disposition", kT0 + 2, "a", R"("action":"warn")"),  // s fires and resolves
      Ev("l2", "login", kT0 + 3, "a"), Ev("l3", "login", kT0 + 20 * kSec, "b")};
  EXPECT_EQ(Texts(RunReference(c, lines).transitions),
            "s a firing 1772323200002 null null\ns a resolved 1772323200002 null null\n"
            "all a firing 1772323200003 null null\nany a firing 1772323200003 null null\n"
            "t:warn50 a firing 1772323200003 2 2\nall a resolved 1772323210000 null null\n"
            "any a resolved 1772323210000 null null\nt:warn50 a resolved 1772323210000 0 2\n");
  EXPECT_EQ(Differences(c, lines), "");
}

}  // namespace
}  // namespace abusewatch::testing::ref
