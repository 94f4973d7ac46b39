// threshold rules: inclusive lines, bucket edges in +08:00, resets and same-timestamp ties,
// distinct values, warn_at, freeing state.
#include <gmock/gmock.h>

#include "tests/detectors/engine_test_util.h"

namespace abusewatch::testing {
namespace {

using ::testing::ElementsAre;
constexpr int64_t kDay = kMsPerDay;

std::string Pay(const std::string& id, const std::string& ts, const std::string& acct,
                const std::string& amount, const std::string& flow = "settlement") {
  return Ev(id, "payment", ts, acct, "\"flow\":\"" + flow + "\",\"amount\":\"" + amount + "\"");
}

EngineConfig SettlementConfig(const std::string& line) {
  EngineConfig c = BaseConfig();
  c.rules.push_back(Threshold("sum",
                              Sel({EventType::kPayment}, {Is(FieldId::kFlow, {"settlement"})}),
                              Aggregate::kSum, 730 * kDay, kDay, line));
  return c;
}

TEST(ThresholdTest, SumReachesLineExactlyFiresOneFenUnderDoesNot) {
  auto r = RunEngine(SettlementConfig("200000"),
                     {Pay("p1", "2026-01-02T10:00:00+08:00", "a", "150000.00"),
                      Pay("p2", "2026-01-03T10:00:00+08:00", "a", "49999.99"),
                      Pay("q1", "2026-01-02T10:00:00+08:00", "b", "150000.00"),
                      Pay("q2", "2026-01-03T10:00:00+08:00", "b", "49999.99"),
                      Pay("p3", "2026-01-04T10:00:00+08:00", "a", "0.01")});
  EXPECT_THAT(r.transitions, ElementsAre("sum a firing 2026-01-04T02:00:00.000Z 200000.00"));
}

TEST(ThresholdTest, Day729CountsDay730Leaves) {
  // Event on local day 2026-01-01 (23:59:59.999 +08:00); 729 days later it still counts, and it
  // leaves at local midnight starting day 730.
  auto r =
      RunEngine(SettlementConfig("10000"), {Pay("g1", "2026-01-01T23:59:59.999+08:00", "c", "5000"),
                                            Pay("g2", "2027-12-31T23:00:00+08:00", "c", "5000"),
                                            Pay("x", "2028-01-02T00:00:00+08:00", "other", "1")});
  EXPECT_THAT(r.transitions, ElementsAre("sum c firing 2027-12-31T15:00:00.000Z 10000.00",
                                         "sum c resolved 2027-12-31T16:00:00.000Z 5000.00"));
}

TEST(ThresholdTest, ExpiryAtTheSameInstantAsAnEventIsAppliedBeforeTheEvent) {
  // Window 2 s, granularity 1 s. Value 2 (<3) at t=0.5,1.5; at t=2.0 the bucket [0,1) leaves and
  // the new event adds one: the value at 2.0 is 2, never 3.
  EngineConfig c = BaseConfig();
  c.rules.push_back(Threshold("n", Sel({EventType::kLogin}), Aggregate::kCount, 2000, 1000, "3"));
  auto r = RunEngine(c, {Ev("l1", "login", "2026-01-01T00:00:00.500Z", "a"),
                         Ev("l2", "login", "2026-01-01T00:00:01.500Z", "a"),
                         Ev("l3", "login", "2026-01-01T00:00:02.000Z", "a"),
                         Ev("l4", "login", "2026-01-01T00:00:02.999Z", "a"),
                         Ev("end", "login", "2026-01-01T00:01:00Z", "z")});
  EXPECT_THAT(r.transitions, ElementsAre("n a firing 2026-01-01T00:00:02.999Z 3",
                                         "n a resolved 2026-01-01T00:00:03.000Z 2"));
}

TEST(ThresholdTest, ResetCutsEarlierEventsButNotLaterArrivalsWithTheSameTs) {
  EngineConfig c = BaseConfig();
  RuleSpec r = Threshold("n", Sel({EventType::kLogin}), Aggregate::kCount, 10 * kDay, kDay, "2");
  r.reset_on = Sel({EventType::kSanction});
  c.rules.push_back(r);
  auto out =
      RunEngine(c, {Ev("l1", "login", "2026-01-01T10:00:00Z", "a"),
                    Ev("l2", "login", "2026-01-01T11:00:00Z", "a"),
                    Ev("k", "sanction", "2026-01-01T12:00:00Z", "a"),
                    Ev("l3", "login", "2026-01-01T12:00:00Z", "a"),  // same ts, after: counts
                    Ev("l4", "login", "2026-01-01T13:00:00Z", "a")});
  EXPECT_THAT(out.transitions, ElementsAre("n a firing 2026-01-01T11:00:00.000Z 2",
                                           "n a resolved 2026-01-01T12:00:00.000Z 0",
                                           "n a firing 2026-01-01T13:00:00.000Z 2"));
  // The same-ts login arriving before the sanction is cut.
  auto out2 = RunEngine(c, {Ev("l1", "login", "2026-01-01T12:00:00Z", "a"),
                            Ev("k", "sanction", "2026-01-01T12:00:00Z", "a"),
                            Ev("l4", "login", "2026-01-01T13:00:00Z", "a")});
  EXPECT_TRUE(out2.transitions.empty());
}

TEST(ThresholdTest, DistinctKeepsEachValueAtItsLatestBucket) {
  EngineConfig c = BaseConfig();
  c.rules.push_back(
      Threshold("d", Sel({EventType::kAbuseReport}), Aggregate::kDistinct, 3 * kDay, kDay, "2"));
  auto out = RunEngine(
      c, {Ev("r1", "abuse_report", "2026-01-01T10:00:00+08:00", "a", "\"subject\":\"s1\""),
          Ev("r2", "abuse_report", "2026-01-02T10:00:00+08:00", "a", "\"subject\":\"s2\""),
          Ev("r3", "abuse_report", "2026-01-03T10:00:00+08:00", "a", "\"subject\":\"s1\""),
          Ev("r4", "abuse_report", "2026-01-03T11:00:00+08:00", "a"),  // no subject
          Ev("end", "login", "2026-01-10T00:00:00+08:00", "z")});
  // s1 is renewed on day 3, so day 1 leaving (at 01-04 00:00 local) does not drop it; s2 leaves
  // at 01-05 00:00 local.
  EXPECT_THAT(out.transitions, ElementsAre("d a firing 2026-01-02T02:00:00.000Z 2",
                                           "d a resolved 2026-01-04T16:00:00.000Z 1"));
}

TEST(ThresholdTest, WarnAtAddsDerivedInfoRule) {
  EngineConfig c = SettlementConfig("200000");
  c.rules[0].warn_at = {D("0.5")};
  auto out = RunEngine(c, {Pay("p1", "2026-01-02T10:00:00+08:00", "a", "100000.00"),
                           Pay("p2", "2026-01-03T10:00:00+08:00", "a", "100000.00")});
  EXPECT_THAT(out.transitions, ElementsAre("sum:warn50 a firing 2026-01-02T02:00:00.000Z 100000.00",
                                           "sum a firing 2026-01-03T02:00:00.000Z 200000.00"));
}

TEST(ThresholdTest, FractionalCountThresholdMeansCeiling) {
  EngineConfig c = BaseConfig();
  c.rules.push_back(
      Threshold("n", Sel({EventType::kLogin}), Aggregate::kCount, 60'000, 1000, "1.5"));
  auto out = RunEngine(c, {Ev("l1", "login", "2026-01-01T00:00:01Z", "a"),
                           Ev("l2", "login", "2026-01-01T00:00:02Z", "a")});
  EXPECT_THAT(out.transitions, ElementsAre("n a firing 2026-01-01T00:00:02.000Z 2"));
}

TEST(ThresholdTest, ForeignCurrencyIsConvertedHalfUpToTheFen) {
  EngineConfig c = BaseConfig();
  c.rules.push_back(
      Threshold("g", Sel({EventType::kPayment}), Aggregate::kSum, kDay, kDay, "10000"));
  auto out = RunEngine(c, {Ev("g1", "payment", "2026-03-02T10:00:00+08:00", "n",
                              "\"flow\":\"gain\",\"amount\":\"1408.45\",\"currency\":\"USD\""),
                           Ev("g2", "payment", "2026-03-02T10:00:00+08:00", "o",
                              "\"flow\":\"gain\",\"amount\":1408.44,\"currency\":\"USD\"")});
  EXPECT_THAT(out.transitions, ElementsAre("g n firing 2026-03-02T02:00:00.000Z 10000.00"));
}

TEST(ThresholdTest, StateOfAKeyIsFreedWhenItsLastBucketLeaves) {
  std::shared_ptr<const RuleSet> rules;
  ASSERT_TRUE(RuleSet::Compile(SettlementConfig("200000"), &rules).ok());
  Recorder rec;
  Engine engine(rules, &rec);
  Rejection rej;
  for (int i = 0; i < 500; ++i) {
    std::string ts = FormatRfc3339Utc(T("2026-01-01T00:00:00Z") + i * 3'600'000LL);
    ASSERT_TRUE(engine.Offer(
        Pay("p" + std::to_string(i), ts, "acct-" + std::to_string(i % 50), "1.00"), &rej));
  }
  EXPECT_EQ(engine.stats().keys, 50u);
  EXPECT_EQ(engine.stats().detector_states, 50u);
  ASSERT_TRUE(engine.Offer(Pay("late", "2028-06-01T00:00:00Z", "other", "1.00"), &rej));
  ASSERT_TRUE(engine.Offer(Pay("later", "2028-06-02T00:00:00Z", "other", "1.00"), &rej));
  EXPECT_EQ(engine.stats().keys, 1u);
  EXPECT_EQ(engine.stats().detector_states, 1u);
}

}  // namespace
}  // namespace abusewatch::testing

namespace abusewatch::testing {
namespace {

// Memory does not grow with the number of events inside a window: one cell per non-empty
// bucket (count/sum) or per distinct value, never one per event.
TEST(ThresholdMemoryTest, CellsGrowWithBucketsNotEvents) {
  EngineConfig c = BaseConfig();
  c.rules.push_back(Threshold("sum", Sel({EventType::kPayment}), Aggregate::kSum, 730 * kMsPerDay,
                              kMsPerDay, "999999999"));
  c.rules.push_back(Threshold("parties", Sel({EventType::kPayment}), Aggregate::kDistinct,
                              730 * kMsPerDay, kMsPerDay, "1000"));
  std::shared_ptr<const RuleSet> rules;
  ASSERT_TRUE(RuleSet::Compile(std::move(c), &rules).ok());
  Recorder rec;
  Engine engine(rules, &rec);
  Rejection rej;
  const int64_t t0 = T("2026-01-01T00:00:00+08:00");
  // 100 days × 500 events, 7 distinct subjects, one account.
  for (int i = 0; i < 50'000; ++i) {
    const int64_t ts = t0 + (i / 500) * kMsPerDay + (i % 500) * 1000;
    ASSERT_TRUE(engine.Offer(
        Ev("p" + std::to_string(i), "payment", FormatRfc3339Utc(ts), "acct",
           "\"flow\":\"gain\",\"amount\":\"1.00\",\"subject\":\"s" + std::to_string(i % 7) + "\""),
        &rej))
        << rej.detail;
  }
  engine.Finish();
  const EngineStats st = engine.stats();
  EXPECT_EQ(st.detector_states, 2u);
  // sum: 100 day buckets; distinct: 7 values plus at most 100 buckets of latest-counts.
  EXPECT_LE(engine.StateCells(), 100u + 7u + 100u);
  EXPECT_GE(engine.StateCells(), 100u + 7u);
}

}  // namespace
}  // namespace abusewatch::testing
