// EvidenceBuffer (eviction by bytes, lookup, id extraction), ReviewSink (queue, flush, drops,
// conversion) and SuppressionGate, on an in-memory SQLite review store.
#include "daemon/review/review_sink.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "config/config_loader.h"
#include "daemon/metrics/metrics.h"
#include "daemon/review/evidence_buffer.h"
#include "daemon/review/sql_db.h"
#include "tests/daemon/daemon_process.h"

namespace abusewatch {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

TEST(ReviewEvidenceBufferTest, FindsWhatItHolds) {
  EvidenceBuffer b(1 << 20);
  EXPECT_TRUE(b.Insert("e-1", "{\"id\":\"e-1\"}"));
  EXPECT_TRUE(b.Insert("e-2", "{\"id\":\"e-2\",\"x\":1}"));
  ASSERT_NE(b.Find("e-1"), nullptr);
  EXPECT_EQ(*b.Find("e-1"), "{\"id\":\"e-1\"}");
  EXPECT_EQ(*b.Find("e-2"), "{\"id\":\"e-2\",\"x\":1}");
  EXPECT_EQ(b.Find("e-3"), nullptr);
  EXPECT_EQ(b.size(), 2u);
}

TEST(ReviewEvidenceBufferTest, FirstPayloadOfAnIdWins) {
  EvidenceBuffer b(1 << 20);
  EXPECT_TRUE(b.Insert("e-1", "first"));
  EXPECT_FALSE(b.Insert("e-1", "second"));
  EXPECT_EQ(*b.Find("e-1"), "first");
}

TEST(ReviewEvidenceBufferTest, EvictsOldestFirstToStayWithinBytes) {
  const size_t entry = 2 * 4 + 100 + EvidenceBuffer::kEntryOverhead;  // ids "e-00".."e-99"
  EvidenceBuffer b(entry * 10);
  const std::string payload(100, 'x');
  for (int i = 0; i < 25; ++i) {
    char id[8];
    std::snprintf(id, sizeof id, "e-%02d", i);
    ASSERT_TRUE(b.Insert(id, payload));
    EXPECT_LE(b.bytes(), b.max_bytes());
  }
  EXPECT_EQ(b.size(), 10u);
  EXPECT_EQ(b.evicted(), 15u);
  EXPECT_EQ(b.Find("e-14"), nullptr);
  EXPECT_NE(b.Find("e-15"), nullptr);
  EXPECT_NE(b.Find("e-24"), nullptr);
  EXPECT_EQ(b.bytes(), entry * 10);
}

TEST(ReviewEvidenceBufferTest, TooLargeIsNotKeptAndEraseFreesRoom) {
  EvidenceBuffer b(300);
  EXPECT_FALSE(b.Insert("big", std::string(400, 'x')));
  EXPECT_EQ(b.size(), 0u);
  EXPECT_EQ(b.bytes(), 0u);
  ASSERT_TRUE(b.Insert("a", std::string(100, 'x')));
  const size_t one = b.bytes();
  b.Erase("a");
  EXPECT_EQ(b.Find("a"), nullptr);
  EXPECT_EQ(b.bytes(), one - 1 - 100);  // its place in the order stays accounted until popped
  // An erased entry's stale place does not evict a later entry of the same id.
  ASSERT_TRUE(b.Insert("a", "again"));
  ASSERT_TRUE(b.Insert("b", std::string(100, 'y')));
  EXPECT_EQ(*b.Find("a"), "again");
  EXPECT_LE(b.bytes(), b.max_bytes());
}

TEST(ReviewEvidenceBufferTest, ExtractsTheTopLevelId) {
  std::string_view id;
  ASSERT_TRUE(ExtractEventId(R"({"id":"e-1","type":"login"})", &id));
  EXPECT_EQ(id, "e-1");
  ASSERT_TRUE(ExtractEventId(
      R"( { "type" : "x", "nested": {"id": "no", "a": [1, {"id": "no"}, "]}"]}, "s": "\"id\"", "id" : "yes" } )",
      &id));
  EXPECT_EQ(id, "yes");
  EXPECT_FALSE(ExtractEventId(R"({"type":"login"})", &id));
  EXPECT_FALSE(ExtractEventId(R"({"id":7})", &id));
  EXPECT_FALSE(ExtractEventId(R"({"id":"a\"b"})", &id));  // escaped: not extracted
  EXPECT_FALSE(ExtractEventId("not json", &id));
  EXPECT_FALSE(ExtractEventId(R"({"a":"unterminated)", &id));
  EXPECT_FALSE(ExtractEventId("", &id));
}

class ReviewSinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    EngineConfig config;
    ASSERT_TRUE(
        LoadConfigFile(std::string(ABUSEWATCH_SOURCE_DIR) + "/config/abusewatch.yaml", &config)
            .ok());
    ASSERT_TRUE(RuleSet::Compile(std::move(config), &rules_).ok());
    for (size_t i = 0; i < rules_->rules().size(); ++i) {
      const auto& spec = rules_->rules()[i].spec;
      if (spec.notify && notify_rule_ < 0 && rules_->rules()[i].line != 0) {
        notify_rule_ = static_cast<int>(i);
      }
      if (!spec.notify && quiet_rule_ < 0) quiet_rule_ = static_cast<int>(i);
    }
    ASSERT_GE(notify_rule_, 0);
    ASSERT_GE(quiet_rule_, 0);
    service_ = OpenService(true);
  }

  std::unique_ptr<ReviewService> OpenService(bool open) {
    std::unique_ptr<SqlDb> db;
    EXPECT_TRUE(OpenSqliteDb(":memory:", &db).ok());
    auto s = std::make_unique<ReviewService>(std::move(db), ReviewOptions{});
    if (open) {
      EXPECT_TRUE(s->Open().ok());
    }
    return s;
  }

  Transition Make(int rule, const std::string& key, bool firing, int64_t at,
                  std::vector<std::string> events) {
    Transition t;
    t.rule = rule;
    t.key = key;
    t.firing = firing;
    t.at_ms = at;
    t.has_value = rules_->rules()[rule].spec.kind == RuleKind::kThreshold;
    t.value = 7;
    t.events = std::move(events);
    return t;
  }

  std::shared_ptr<const RuleSet> rules_;
  int notify_rule_ = -1, quiet_rule_ = -1;
  std::unique_ptr<ReviewService> service_;
  Metrics metrics_{"test"};
};

TEST_F(ReviewSinkTest, ConvertsLikeTheTransitionJson) {
  EvidenceBuffer ev(1 << 20);
  ev.Insert("e-1", "{\"id\":\"e-1\"}");
  const Transition t = Make(notify_rule_, "acct-1", true, 1'700'000'000'000, {"e-1", "e-2"});
  const CaseTransition c = ToCaseTransition(t, *rules_, &ev);
  std::string json;
  AppendTransitionJson(t, *rules_, &json);
  EXPECT_EQ(c.transition_id, TransitionId(t, *rules_));
  EXPECT_NE(json.find("\"rule\":\"" + c.rule_id + "\""), std::string::npos);
  EXPECT_EQ(c.key, "acct-1");
  EXPECT_TRUE(c.firing);
  EXPECT_TRUE(c.notify);
  ASSERT_FALSE(c.value.empty());
  // value / threshold: the JSON's text (quoted for sums), unquoted here.
  EXPECT_TRUE(json.find("\"value\":" + c.value) != std::string::npos ||
              json.find("\"value\":\"" + c.value + "\"") != std::string::npos)
      << json;
  EXPECT_TRUE(json.find("\"threshold\":" + c.threshold) != std::string::npos ||
              json.find("\"threshold\":\"" + c.threshold + "\"") != std::string::npos)
      << json;
  EXPECT_NE(json.find("\"severity\":\"" + c.severity + "\""), std::string::npos);
  EXPECT_EQ(c.basis, rules_->rules()[notify_rule_].spec.basis);
  EXPECT_EQ(c.explain_en, rules_->rules()[notify_rule_].spec.explain_en);
  EXPECT_THAT(c.event_ids, ElementsAre("e-1", "e-2"));
  EXPECT_THAT(c.payloads, ElementsAre(Pair("e-1", "{\"id\":\"e-1\"}")));  // e-2 not held
}

TEST_F(ReviewSinkTest, RecordsEveryTransitionAndFlushWaits) {
  EvidenceBuffer ev(1 << 20);
  ev.Insert("e-1", "{\"id\":\"e-1\",\"raw\":true}");
  ReviewSink sink(service_.get(), &ev, &metrics_, ReviewSink::Options{});
  sink.OnTransition(Make(notify_rule_, "acct-1", true, 1000, {"e-1"}), *rules_);
  sink.OnTransition(Make(quiet_rule_, "acct-1", true, 2000, {"e-1"}), *rules_);
  sink.OnTransition(Make(quiet_rule_, "acct-2", true, 2000, {}), *rules_);  // no case: not stored
  sink.OnTransition(Make(notify_rule_, "acct-1", true, 1000, {"e-1"}), *rules_);  // duplicate
  ASSERT_TRUE(sink.Flush(std::chrono::seconds(10)));
  EXPECT_EQ(sink.recorded(), 4u);
  EXPECT_EQ(sink.dropped(), 0u);
  int64_t id = 0;
  ASSERT_TRUE(service_->FindCase("acct-1", &id).ok());
  CaseDetail d;
  ASSERT_TRUE(service_->Get(id, &d).ok());
  EXPECT_EQ(d.timeline.size(), 2u);
  ASSERT_EQ(d.evidence.size(), 1u);
  EXPECT_EQ(d.evidence[0].raw, "{\"id\":\"e-1\",\"raw\":true}");
  EXPECT_EQ(service_->FindCase("acct-2", &id).code, ReviewErrc::kNotFound);
  EXPECT_EQ(metrics_.AlertsSent("review", "ok").Value(), 4);
  sink.Stop();
  EXPECT_EQ(metrics_.ReviewCases("open").Value(), 1);  // refreshed as the worker stops
}

TEST_F(ReviewSinkTest, FullQueueDropsAndCountsAndStorageErrorsAreGivenUp) {
  auto unopened = OpenService(false);  // every call: kStorage
  ReviewSink::Options o;
  o.queue_capacity = 2;
  o.max_attempts = 3;  // 100 + 200 ms of backoff per transition
  ReviewSink sink(unopened.get(), nullptr, &metrics_, o);
  for (int i = 0; i < 6; ++i) {
    sink.OnTransition(Make(notify_rule_, "acct-" + std::to_string(i), true, 1000, {}), *rules_);
  }
  EXPECT_FALSE(sink.Flush(std::chrono::milliseconds(0)));  // the worker is still retrying
  ASSERT_TRUE(sink.Flush(std::chrono::seconds(20)));
  EXPECT_GE(sink.dropped(), 3u);  // at most one taken by the worker, two queued
  EXPECT_EQ(sink.recorded(), 0u);
  EXPECT_EQ(sink.failed() + sink.dropped(), 6u);
  EXPECT_EQ(metrics_.AlertsSent("review", "dropped").Value(), static_cast<double>(sink.dropped()));
  EXPECT_EQ(metrics_.AlertsSent("review", "failed").Value(), static_cast<double>(sink.failed()));
  EXPECT_GE(metrics_.ReviewStoreErrors().Value(), 3.0 * static_cast<double>(sink.failed()));
}

TEST_F(ReviewSinkTest, StopDiscardsWhatIsQueuedAsDropped) {
  auto unopened = OpenService(false);
  ReviewSink sink(unopened.get(), nullptr, &metrics_, ReviewSink::Options{});
  for (int i = 0; i < 5; ++i) {
    sink.OnTransition(Make(notify_rule_, "acct-" + std::to_string(i), true, 1000, {}), *rules_);
  }
  sink.Stop();
  sink.Stop();  // idempotent
  EXPECT_EQ(sink.failed() + sink.dropped(), 5u);
  EXPECT_GE(sink.dropped(), 3u);
  sink.OnTransition(Make(notify_rule_, "acct-9", true, 1000, {}), *rules_);  // after Stop
  EXPECT_GE(sink.dropped(), 4u);
  EXPECT_TRUE(sink.Flush(std::chrono::milliseconds(0)));
}

class CollectingSink final : public AlertSink {
 public:
  const std::string& name() const override { return name_; }
  void OnTransition(const Transition& t, const RuleSet&) override { got.push_back(t); }
  bool Flush(std::chrono::milliseconds) override { return true; }
  void Stop() override {}
  std::vector<Transition> got;

 private:
  std::string name_ = "collect";
};

TEST_F(ReviewSinkTest, GateHoldsBackSuppressedFiringsOnly) {
  // A case for acct-1, decided false positive with a suppression of every rule for an hour.
  ASSERT_TRUE(service_
                  ->RecordTransition(ToCaseTransition(Make(notify_rule_, "acct-1", true, 1000, {}),
                                                      *rules_, nullptr))
                  .ok());
  int64_t id = 0;
  ASSERT_TRUE(service_->FindCase("acct-1", &id).ok());
  const Actor alice{"alice", Role::kReviewer};
  ASSERT_TRUE(service_->StartReview(alice, id).ok());
  DecideRequest fp;
  fp.decision = "false_positive";
  fp.reason = "test traffic";
  fp.suppress_for_ms = 3'600'000;
  ASSERT_TRUE(service_->Decide(alice, id, fp).ok());

  auto inner = std::make_unique<CollectingSink>();
  CollectingSink* seen = inner.get();
  SuppressionGate gate(std::move(inner), service_.get(), &metrics_);
  EXPECT_EQ(gate.name(), "collect");
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  gate.OnTransition(Make(notify_rule_, "acct-1", true, now + 60'000, {}), *rules_);   // held
  gate.OnTransition(Make(notify_rule_, "acct-1", false, now + 61'000, {}), *rules_);  // resolve
  gate.OnTransition(Make(notify_rule_, "acct-2", true, now + 60'000, {}), *rules_);   // other key
  ASSERT_EQ(seen->got.size(), 2u);
  EXPECT_FALSE(seen->got[0].firing);
  EXPECT_EQ(seen->got[1].key, "acct-2");
  EXPECT_EQ(gate.suppressed(), 1u);
  EXPECT_EQ(metrics_.AlertsSuppressed(rules_->rules()[notify_rule_].spec.id).Value(), 1);
}

// Two instances sharing one store: a suppression decided through the other one reaches this
// sink's service (and so its gate) at the next periodic refresh.
TEST_F(ReviewSinkTest, SuppressionsDecidedElsewhereArriveWithThePeriodicRefresh) {
  const std::string path =
      (std::filesystem::temp_directory_path() / ("aw-review-sink-" + std::to_string(getpid())))
          .string();
  std::filesystem::remove(path);
  auto open = [&] {
    std::unique_ptr<SqlDb> db;
    EXPECT_TRUE(OpenSqliteDb(path, &db).ok());
    auto s = std::make_unique<ReviewService>(std::move(db), ReviewOptions{});
    EXPECT_TRUE(s->Open().ok());
    return s;
  };
  std::unique_ptr<ReviewService> here = open(), there = open();
  ReviewSink::Options o;
  o.counts_interval = std::chrono::milliseconds(50);
  ReviewSink sink(here.get(), nullptr, &metrics_, o);
  sink.OnTransition(Make(notify_rule_, "acct-1", true, 1000, {}), *rules_);
  ASSERT_TRUE(sink.Flush(std::chrono::seconds(10)));
  int64_t id = 0;
  ASSERT_TRUE(there->FindCase("acct-1", &id).ok());
  const Actor alice{"alice", Role::kReviewer};
  ASSERT_TRUE(there->StartReview(alice, id).ok());
  DecideRequest fp;
  fp.decision = "false_positive";
  fp.reason = "a load test";
  fp.suppress_for_ms = 3'600'000;
  ASSERT_TRUE(there->Decide(alice, id, fp).ok());
  const std::string rule = rules_->rules()[notify_rule_].spec.id;
  const int64_t soon = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count() +
                       60'000;
  EXPECT_TRUE(there->IsSuppressed(rule, "acct-1", soon));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!here->IsSuppressed(rule, "acct-1", soon) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(here->IsSuppressed(rule, "acct-1", soon));
  sink.Stop();
  here.reset();
  there.reset();
  std::filesystem::remove(path);
  std::filesystem::remove(path + "-wal");
  std::filesystem::remove(path + "-shm");
}

}  // namespace
}  // namespace abusewatch
