// KafkaSource (daemon/sources/kafka_source.h) against a real Kafka broker (tests/kafka):
// options, per-partition order, commits, start cursors, reassignment. Loopback only; the tests
// fail (never skip) when no broker can be had. Mock-cluster faults: kafka_source_mock_test.cc.
#include "daemon/sources/kafka_source.h"

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "daemon/metrics/metrics.h"
#include "tests/daemon/kafka_source_test_util.h"
#ifdef ABUSEWATCH_HAVE_KAFKA_TESTING
#include "tests/kafka/kafka_broker.h"
#endif

namespace abusewatch {
namespace {

using namespace kafka_source_test;  // NOLINT(build/namespaces): test helpers

TEST(KafkaSourceTest, BadOptionsAreStatusErrorsNamingThem) {
  std::unique_ptr<KafkaSource> s;
  KafkaSource::Options o = BaseOptions("127.0.0.1:1", "g", "t");
  o.properties = {{"socket.timeout.ms", "1000"}, {"no.such.property", "1"}};
  Status st = KafkaSource::Create(o, nullptr, &s);
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(st.message().find("no.such.property"), std::string::npos) << st.message();
  EXPECT_EQ(s, nullptr);

  o.properties = {{"fetch.wait.max.ms", "not-a-number"}};
  st = KafkaSource::Create(o, nullptr, &s);
  EXPECT_NE(st.message().find("fetch.wait.max.ms"), std::string::npos) << st.message();

  o.properties = {{"enable.auto.commit", "true"}};
  st = KafkaSource::Create(o, nullptr, &s);
  EXPECT_NE(st.message().find("enable.auto.commit"), std::string::npos) << st.message();

  o = BaseOptions("127.0.0.1:1", "g", "t");
  o.start = "middle";
  EXPECT_FALSE(KafkaSource::Create(o, nullptr, &s).ok());
  o = BaseOptions("127.0.0.1:1", "g", "t");
  o.topics.clear();
  EXPECT_FALSE(KafkaSource::Create(o, nullptr, &s).ok());
  o = BaseOptions("127.0.0.1:1", "", "t");
  EXPECT_FALSE(KafkaSource::Create(o, nullptr, &s).ok());

  // Valid options with an unreachable broker: created; errors never end it.
  o = BaseOptions("127.0.0.1:1", "g", "t");
  o.properties = {{"reconnect.backoff.ms", "10"}};
  ASSERT_TRUE(KafkaSource::Create(o, nullptr, &s).ok());
  EXPECT_EQ(s->name(), "kafka:t");
  std::vector<SourceRecord> records;
  const auto until = Clock::now() + seconds(2);
  while (Clock::now() < until) EXPECT_TRUE(s->Poll(100, milliseconds(100), &records));
  EXPECT_TRUE(records.empty());
  EXPECT_FALSE(s->connected());       // never joined a group: /readyz stays 503
  EXPECT_TRUE(s->Commit(true).ok());  // nothing marked
  s->Close();
  EXPECT_FALSE(s->Poll(100, milliseconds(10), &records));
}

// The fetch queue defaults of kafka_source.h ("Fetching"), and properties overriding them.
TEST(KafkaSourceTest, FetchQueueDefaultsAndOverrides) {
  std::unique_ptr<KafkaSource> s;
  ASSERT_TRUE(KafkaSource::Create(BaseOptions("127.0.0.1:1", "g", "t"), nullptr, &s).ok());
  EXPECT_EQ(s->ConfigValue("queued.min.messages"), "1000000");
  EXPECT_EQ(s->ConfigValue("queued.max.messages.kbytes"), "262144");
  EXPECT_EQ(s->ConfigValue("fetch.wait.max.ms"), "100");
  EXPECT_EQ(s->ConfigValue("enable.auto.commit"), "false");
  EXPECT_EQ(s->ConfigValue("no.such.property"), "");
  s->Close();
  EXPECT_EQ(s->ConfigValue("queued.min.messages"), "");

  KafkaSource::Options o = BaseOptions("127.0.0.1:1", "g", "t");
  o.properties = {{"queued.max.messages.kbytes", "65536"}, {"queued.min.messages", "50000"}};
  ASSERT_TRUE(KafkaSource::Create(o, nullptr, &s).ok());
  EXPECT_EQ(s->ConfigValue("queued.max.messages.kbytes"), "65536");
  EXPECT_EQ(s->ConfigValue("queued.min.messages"), "50000");
}

// Start cursors are checked (and filtered to the subscribed topics) without a broker.
TEST(KafkaSourceTest, StartCursorsValidation) {
  std::unique_ptr<KafkaSource> s;
  KafkaSource::Options o = BaseOptions("127.0.0.1:1", "g", "t");
  o.topics = {"t", "u"};
  ASSERT_TRUE(KafkaSource::Create(o, nullptr, &s).ok());
  EXPECT_TRUE(s->Cursors().empty());
  for (const char* bad : {"t", "t/", "/3", "t/x", "t/-1", "t/3x", "t/99999999999", ""}) {
    const Status st = s->SetStartCursors({SourceCursor{bad, 0, 1, 0, ""}});
    EXPECT_EQ(st.code(), Status::Code::kInvalidArgument) << bad;
    EXPECT_NE(st.message().find("topic/partition"), std::string::npos) << st.message();
  }
  EXPECT_EQ(s->SetStartCursors({SourceCursor{"t/1", 0, 1, 0, ""}, SourceCursor{"t/1", 1, 2, 0, ""}})
                .code(),
            Status::Code::kInvalidArgument);
  EXPECT_TRUE(s->Cursors().empty()) << "a failed call applies nothing";
  // Other topics are ignored; the cursors given are reported until superseded.
  ASSERT_TRUE(
      s->SetStartCursors({SourceCursor{"u/2", 3, 40, 0, ""}, SourceCursor{"other/0", 0, 7, 0, ""},
                          SourceCursor{"t/10", 1, 5, 0, ""}})
          .ok());
  const std::vector<SourceCursor> c = s->Cursors();
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].input, "t/10");
  EXPECT_EQ(c[0].lane, 1u);
  EXPECT_EQ(c[0].next, 5u);
  EXPECT_EQ(c[1].input, "u/2");
  EXPECT_EQ(c[1].lane, 3u);
  EXPECT_EQ(c[1].next, 40u);
  std::vector<SourceRecord> records;
  EXPECT_TRUE(s->Poll(10, milliseconds(10), &records));
  EXPECT_EQ(s->SetStartCursors({}).code(), Status::Code::kInvalidArgument) << "after Poll()";
  EXPECT_EQ(s->Cursors().size(), 2u);
}

#ifdef ABUSEWATCH_HAVE_KAFKA_TESTING

using testing::KafkaBroker;
using testing::SharedKafkaBroker;

TEST(KafkaSourceTest, RealBrokerEachRecordOnceInPartitionOrderAndResumeFromCommit) {
  constexpr int kPartitions = 3;
  constexpr int kMessages = 20000;
  std::string error;
  KafkaBroker* broker = SharedKafkaBroker(&error);
  if (broker == nullptr) FAIL() << error;
  const std::string topic = "aw-ksrc-" + testing::UniqueId();
  ASSERT_TRUE(broker->CreateTopic(topic, kPartitions, &error)) << error;

  Delivery delivery;
  rd_kafka_t* producer = MakeProducer(broker->bootstrap(), &delivery);
  ASSERT_NE(producer, nullptr);
  std::map<std::string, int> count;
  for (int i = 0; i < kMessages; ++i) {
    const std::string key = Key(i);
    ASSERT_TRUE(Produce(producer, topic, key, key + ":" + std::to_string(count[key]++)));
  }
  ASSERT_TRUE(Flush(producer));
  ASSERT_EQ(delivery.delivered.load(), kMessages);

  const std::string group = topic + "-group";
  {
    Metrics metrics("test");
    std::unique_ptr<KafkaSource> source;
    ASSERT_TRUE(
        KafkaSource::Create(BaseOptions(broker->bootstrap(), group, topic), &metrics, &source)
            .ok());
    EXPECT_EQ(source->name(), "kafka:" + topic);
    Driver d(source.get());
    const auto deadline = Clock::now() + seconds(120);
    const auto t0 = Clock::now();
    Clock::time_point first{};
    while (Clock::now() < deadline &&
           !(static_cast<int>(d.seen.size()) >= kMessages && d.AllIdle(kPartitions))) {
      if (d.Step() > 0 && first == Clock::time_point{}) first = Clock::now();
    }
    const double secs = std::chrono::duration<double>(Clock::now() - first).count();
    std::fprintf(stderr, "[kafka_source] real broker: join %.2f s, %d records in %.3f s\n",
                 std::chrono::duration<double>(first - t0).count(), kMessages, secs);
    ASSERT_EQ(static_cast<int>(d.seen.size()), kMessages);
    EXPECT_EQ(d.duplicates, 0);
    EXPECT_EQ(d.out_of_order, 0);
    // Lanes: three kActive (lanes 0..2, one per partition), then kIdle on each, idle_timeout
    // after its end.
    ASSERT_GE(d.log.size(), 6u);
    std::set<uint32_t> lanes;
    std::set<std::string> names;
    for (int i = 0; i < kPartitions; ++i) {
      EXPECT_EQ(d.log[i].state, LaneState::kActive);
      lanes.insert(d.log[i].lane);
      names.insert(d.log[i].name);
    }
    EXPECT_EQ(lanes, (std::set<uint32_t>{0, 1, 2}));
    EXPECT_EQ(names, (std::set<std::string>{topic + "/0", topic + "/1", topic + "/2"}));
    for (const LaneEvent& e : d.log) EXPECT_NE(e.state, LaneState::kClosed) << e.name;
    EXPECT_TRUE(d.AllIdle(kPartitions));
    // Per key: values in order, one partition.
    std::map<std::string, std::vector<const Seen*>> by_key;
    for (const Seen& s : d.seen) by_key[s.value.substr(0, s.value.find(':'))].push_back(&s);
    ASSERT_EQ(by_key.size(), 101u);
    for (const auto& [key, list] : by_key) {
      for (size_t n = 0; n < list.size(); ++n) {
        ASSERT_EQ(list[n]->value, key + ":" + std::to_string(n)) << "missing or out of order";
        ASSERT_EQ(list[n]->partition, list[0]->partition) << key;
      }
    }
    // Consumer lag: 0 on every partition once caught up (updated about once a second).
    std::this_thread::sleep_for(milliseconds(1100));
    d.Step(milliseconds(10));
    int lag_series = 0;
    for (const std::string& line : Lines(metrics.Serialize())) {
      if (line.rfind("abusewatch_consumer_lag{", 0) == 0 &&
          line.find("topic=\"" + topic + "\"") != std::string::npos) {
        ++lag_series;
        EXPECT_EQ(line.substr(line.rfind(' ') + 1), "0") << line;
      }
    }
    EXPECT_EQ(lag_series, kPartitions);
    EXPECT_TRUE(source->Commit(/*sync=*/true).ok()) << source->last_error();
    source->Close();
    EXPECT_EQ(metrics.Serialize().find("topic=\"" + topic + "\""), std::string::npos)
        << "lag series not removed on revocation";
    std::vector<LaneEvent> closed;
    source->TakeLaneEvents(&closed);
    EXPECT_EQ(closed.size(), static_cast<size_t>(kPartitions));
    for (const LaneEvent& e : closed) EXPECT_EQ(e.state, LaneState::kClosed);
  }
  {
    std::map<int32_t, int64_t> committed, high;
    ReadCommitted(broker->bootstrap(), group, topic, kPartitions, &committed, &high);
    EXPECT_EQ(committed, high);
  }

  // A second source in the group resumes at the committed offsets: nothing old, then exactly
  // the 100 new records.
  {
    std::unique_ptr<KafkaSource> source;
    ASSERT_TRUE(
        KafkaSource::Create(BaseOptions(broker->bootstrap(), group, topic), nullptr, &source).ok());
    Driver d(source.get());
    auto deadline = Clock::now() + seconds(60);
    while (Clock::now() < deadline && !d.AllIdle(kPartitions)) d.Step();
    ASSERT_TRUE(d.AllIdle(kPartitions));
    EXPECT_TRUE(d.seen.empty()) << d.seen.size() << " old records consumed again, first "
                                << d.seen[0].value;
    std::set<std::string> expected;
    for (int i = 0; i < 100; ++i) {
      const std::string value = "new:" + std::to_string(i);
      ASSERT_TRUE(Produce(producer, topic, Key(i), value));
      expected.insert(value);
    }
    ASSERT_TRUE(Flush(producer));
    deadline = Clock::now() + seconds(60);
    while (Clock::now() < deadline && d.seen.size() < 100) d.Step();
    const auto quiet = Clock::now() + seconds(1);
    while (Clock::now() < quiet) d.Step();
    std::multiset<std::string> got;
    for (const Seen& s : d.seen) got.insert(s.value);
    EXPECT_EQ(got, std::multiset<std::string>(expected.begin(), expected.end()));
    // Records on an idle lane (idle_timeout after its end) re-activate it before being handed
    // out.
    int reactivated = 0;
    for (const LaneEvent& e : d.log) reactivated += e.state == LaneState::kActive;
    EXPECT_GT(reactivated, kPartitions);
    EXPECT_TRUE(source->Commit(true).ok()) << source->last_error();
  }
  rd_kafka_destroy(producer);
}

TEST(KafkaSourceTest, RealBrokerOversizedAndTombstoneRecords) {
  std::string error;
  KafkaBroker* broker = SharedKafkaBroker(&error);
  if (broker == nullptr) FAIL() << error;
  const std::string topic = "aw-ksrc-big-" + testing::UniqueId();
  ASSERT_TRUE(broker->CreateTopic(topic, 1, &error)) << error;
  Delivery delivery;
  rd_kafka_t* producer = MakeProducer(broker->bootstrap(), &delivery);
  ASSERT_NE(producer, nullptr);
  ASSERT_TRUE(Produce(producer, topic, "k", std::string(2000, 'x')));
  ASSERT_TRUE(Produce(producer, topic, "k", "{\"a\":1}"));
  ASSERT_TRUE(Produce(producer, topic, "k", "", /*tombstone=*/true));
  ASSERT_TRUE(Produce(producer, topic, "k", std::string(1000, 'y')));  // exactly the limit
  ASSERT_TRUE(Flush(producer));
  rd_kafka_destroy(producer);

  KafkaSource::Options o = BaseOptions(broker->bootstrap(), topic + "-g", topic);
  o.max_record_bytes = 1000;
  std::unique_ptr<KafkaSource> source;
  ASSERT_TRUE(KafkaSource::Create(o, nullptr, &source).ok());
  std::vector<SourceRecord> all;
  std::vector<std::string> payloads;
  const auto deadline = Clock::now() + seconds(60);
  while (Clock::now() < deadline && all.size() < 4) {
    std::vector<SourceRecord> records;
    ASSERT_TRUE(source->Poll(10, milliseconds(100), &records));
    for (const SourceRecord& r : records) {
      all.push_back(r);
      payloads.emplace_back(r.payload);  // views die at the next Poll
    }
  }
  ASSERT_EQ(all.size(), 4u);
  EXPECT_TRUE(all[0].oversized);
  EXPECT_EQ(all[0].length, 2000u);
  EXPECT_TRUE(payloads[0].empty());
  EXPECT_EQ(all[0].position, 0u);
  EXPECT_FALSE(all[1].oversized);
  EXPECT_EQ(payloads[1], "{\"a\":1}");
  EXPECT_EQ(all[1].length, 7u);
  EXPECT_EQ(all[1].position, 1u);
  EXPECT_FALSE(all[2].oversized);  // tombstone: an empty record
  EXPECT_TRUE(payloads[2].empty());
  EXPECT_EQ(all[2].length, 0u);
  EXPECT_FALSE(all[3].oversized);
  EXPECT_EQ(payloads[3], std::string(1000, 'y'));
}

// Produces `per_partition` records "p<p>-<i>" to each partition of `topic`.
void ProducePerPartition(const std::string& bootstrap, const std::string& topic, int partitions,
                         int per_partition, size_t pad = 0) {
  Delivery delivery;
  rd_kafka_t* producer = MakeProducer(bootstrap, &delivery);
  ASSERT_NE(producer, nullptr);
  for (int i = 0; i < per_partition; ++i) {
    for (int p = 0; p < partitions; ++p) {
      ASSERT_TRUE(Produce(producer, topic, "k",
                          "p" + std::to_string(p) + "-" + std::to_string(i) + std::string(pad, ' '),
                          /*tombstone=*/false, p));
    }
  }
  ASSERT_TRUE(Flush(producer));
  EXPECT_EQ(delivery.delivered.load(), partitions * per_partition);
  rd_kafka_destroy(producer);
}

// The partition of a cursor's input "topic/partition".
int32_t PartitionOf(const SourceCursor& c) {
  return std::stoi(c.input.substr(c.input.rfind('/') + 1));
}

// A source stopped in the middle hands its cursors to the next one of the group: that one
// delivers exactly the records from the cursors on — although the group's committed offsets are
// further (the first source consumed and committed everything after taking the cursors) — on
// the cursors' lane ids.
TEST(KafkaSourceTest, RealBrokerResumesAtStartCursorsNotCommittedOffsets) {
  constexpr int kPartitions = 3;
  constexpr int kPerPartition = 1000;
  std::string error;
  KafkaBroker* broker = SharedKafkaBroker(&error);
  if (broker == nullptr) FAIL() << error;
  const std::string topic = "aw-ksrc-cursor-" + testing::UniqueId();
  ASSERT_TRUE(broker->CreateTopic(topic, kPartitions, &error)) << error;
  ProducePerPartition(broker->bootstrap(), topic, kPartitions, kPerPartition);
  const std::string group = topic + "-group";

  std::vector<SourceCursor> cursors;
  {
    std::unique_ptr<KafkaSource> source;
    ASSERT_TRUE(
        KafkaSource::Create(BaseOptions(broker->bootstrap(), group, topic), nullptr, &source).ok());
    Driver d(source.get());
    // Small polls until every partition delivered and about a third is consumed.
    auto deadline = Clock::now() + seconds(60);
    while (Clock::now() < deadline &&
           !(d.last_offset.size() == kPartitions && d.seen.size() >= kPerPartition)) {
      d.Step(milliseconds(100), 50);
    }
    ASSERT_EQ(d.last_offset.size(), static_cast<size_t>(kPartitions));
    ASSERT_LT(d.seen.size(), static_cast<size_t>(kPartitions * kPerPartition));
    cursors = source->Cursors();
    ASSERT_EQ(cursors.size(), static_cast<size_t>(kPartitions));
    for (const SourceCursor& c : cursors) {
      const int32_t p = PartitionOf(c);
      EXPECT_EQ(c.input, topic + "/" + std::to_string(p));
      EXPECT_EQ(c.next, static_cast<uint64_t>(d.last_offset[p] + 1)) << c.input;
      EXPECT_EQ(c.count, 0u);
      EXPECT_TRUE(c.identity.empty());
      for (const auto& [lane, partition] : d.partition_of_lane) {
        if (partition == p) {
          EXPECT_EQ(c.lane, lane) << c.input;
        }
      }
    }
    // Then everything, committed (and again by the destructor's Close()).
    deadline = Clock::now() + seconds(60);
    while (Clock::now() < deadline &&
           static_cast<int>(d.seen.size()) < kPartitions * kPerPartition) {
      d.Step();
    }
    ASSERT_EQ(static_cast<int>(d.seen.size()), kPartitions * kPerPartition);
    EXPECT_TRUE(source->Commit(/*sync=*/true).ok()) << source->last_error();
    const std::vector<SourceCursor> end = source->Cursors();
    ASSERT_EQ(end.size(), static_cast<size_t>(kPartitions));
    for (const SourceCursor& c : end) EXPECT_EQ(c.next, static_cast<uint64_t>(kPerPartition));
  }
  {
    std::map<int32_t, int64_t> committed, high;
    ReadCommitted(broker->bootstrap(), group, topic, kPartitions, &committed, &high);
    // (librdkafka may have delivered a partition to its end before the cursors were taken.)
    int behind = 0;
    for (const SourceCursor& c : cursors) {
      ASSERT_EQ(committed[PartitionOf(c)], kPerPartition) << "committed offsets not at the end";
      behind += c.next < static_cast<uint64_t>(kPerPartition);
    }
    ASSERT_GE(behind, 1);
  }

  // Other lane ids than the first source had (which were 0..2): 7, 5, 6 for partitions 0, 1, 2.
  std::map<int32_t, uint32_t> hint = {{0, 7}, {1, 5}, {2, 6}};
  std::map<int32_t, uint64_t> start;
  for (SourceCursor& c : cursors) {
    c.lane = hint[PartitionOf(c)];
    start[PartitionOf(c)] = c.next;
  }
  std::unique_ptr<KafkaSource> source;
  ASSERT_TRUE(
      KafkaSource::Create(BaseOptions(broker->bootstrap(), group, topic), nullptr, &source).ok());
  ASSERT_TRUE(source->SetStartCursors(cursors).ok());
  EXPECT_EQ(source->Cursors().size(), static_cast<size_t>(kPartitions));
  Driver d(source.get());
  size_t expected = 0;
  for (const auto& [p, next] : start) expected += kPerPartition - next;
  auto deadline = Clock::now() + seconds(60);
  while (Clock::now() < deadline && d.seen.size() < expected) d.Step();
  const auto quiet = Clock::now() + milliseconds(800);  // anything more would be a repeat
  while (Clock::now() < quiet) d.Step();
  EXPECT_EQ(d.duplicates, 0);
  EXPECT_EQ(d.out_of_order, 0);
  ASSERT_EQ(d.seen.size(), expected);
  std::map<int32_t, std::vector<int64_t>> offsets;
  for (const Seen& s : d.seen) {
    offsets[s.partition].push_back(s.offset);
    EXPECT_EQ(s.value, "p" + std::to_string(s.partition) + "-" + std::to_string(s.offset));
  }
  for (const auto& [p, next] : start) {
    std::vector<int64_t> want;
    for (int64_t o = static_cast<int64_t>(next); o < kPerPartition; ++o) want.push_back(o);
    EXPECT_EQ(offsets[p], want) << "partition " << p;
  }
  // The lanes are the cursors' ids.
  ASSERT_EQ(d.partition_of_lane.size(), static_cast<size_t>(kPartitions));
  for (const auto& [lane, p] : d.partition_of_lane) EXPECT_EQ(lane, hint[p]) << "partition " << p;
  for (const SourceCursor& c : source->Cursors()) {
    EXPECT_EQ(c.lane, hint[PartitionOf(c)]);
    EXPECT_EQ(c.next, static_cast<uint64_t>(kPerPartition));
  }
}

// A restart where only one partition had a saved position (the others had delivered nothing
// before the checkpoint): those start at their beginning, even with a backlog on the one with a
// cursor and the group's committed offsets at the end, and every partition delivers from the
// start (none waits for another's backlog).
TEST(KafkaSourceTest, RealBrokerPartitionsWithoutCursorStartAtBeginningBesideABacklog) {
  constexpr int kPartitions = 3;
  constexpr int kPerPartition = 20000;
  std::string error;
  KafkaBroker* broker = SharedKafkaBroker(&error);
  if (broker == nullptr) FAIL() << error;
  const std::string topic = "aw-ksrc-begin-" + testing::UniqueId();
  ASSERT_TRUE(broker->CreateTopic(topic, kPartitions, &error)) << error;
  // Event-sized records (~250 bytes): a partition's backlog spans many fetches.
  ProducePerPartition(broker->bootstrap(), topic, kPartitions, kPerPartition, 240);
  const std::string group = topic + "-group";
  {  // The group's committed offsets at the end of every partition.
    std::unique_ptr<KafkaSource> source;
    ASSERT_TRUE(
        KafkaSource::Create(BaseOptions(broker->bootstrap(), group, topic), nullptr, &source).ok());
    Driver d(source.get());
    auto deadline = Clock::now() + seconds(60);
    while (Clock::now() < deadline && d.seen.size() < size_t{kPartitions} * kPerPartition) {
      d.Step();
    }
    ASSERT_EQ(d.seen.size(), size_t{kPartitions} * kPerPartition);
    ASSERT_TRUE(source->Commit(/*sync=*/true).ok()) << source->last_error();
  }
  std::unique_ptr<KafkaSource> source;
  ASSERT_TRUE(
      KafkaSource::Create(BaseOptions(broker->bootstrap(), group, topic), nullptr, &source).ok());
  ASSERT_TRUE(source->SetStartCursors({SourceCursor{topic + "/0", 0, 100, 0, ""}}).ok());
  source->StartFromBeginning();
  Driver d(source.get());
  const size_t expected = size_t{kPartitions} * kPerPartition - 100;
  std::map<int32_t, size_t> first_seen_at;  // partition -> records taken before its first
  auto deadline = Clock::now() + seconds(60);
  while (Clock::now() < deadline && d.seen.size() < expected) {
    const size_t before = d.seen.size();
    d.Step(milliseconds(100), 500);
    for (size_t i = before; i < d.seen.size(); ++i)
      first_seen_at.try_emplace(d.seen[i].partition, i);
  }
  EXPECT_EQ(d.duplicates, 0);
  ASSERT_EQ(d.seen.size(), expected);
  std::map<int32_t, int64_t> first;
  for (const Seen& s : d.seen) first.try_emplace(s.partition, s.offset);
  EXPECT_EQ(first[0], 100);
  EXPECT_EQ(first[1], 0);
  EXPECT_EQ(first[2], 0);
  // Interleaved: no partition waited for another's whole backlog.
  for (const auto& [p, n] : first_seen_at) {
    EXPECT_LT(n, size_t{kPerPartition}) << "partition " << p << " started after " << n;
  }
}

// Cursors whose lane ids collide (or are out of range) get the lowest free ids instead; each
// partition still starts at its cursor.
TEST(KafkaSourceTest, RealBrokerStartCursorLaneConflicts) {
  constexpr int kPartitions = 3;
  constexpr int kPerPartition = 10;
  std::string error;
  KafkaBroker* broker = SharedKafkaBroker(&error);
  if (broker == nullptr) FAIL() << error;
  const std::string topic = "aw-ksrc-lanes-" + testing::UniqueId();
  ASSERT_TRUE(broker->CreateTopic(topic, kPartitions, &error)) << error;
  ProducePerPartition(broker->bootstrap(), topic, kPartitions, kPerPartition);

  std::unique_ptr<KafkaSource> source;
  ASSERT_TRUE(
      KafkaSource::Create(BaseOptions(broker->bootstrap(), topic + "-g", topic), nullptr, &source)
          .ok());
  ASSERT_TRUE(source
                  ->SetStartCursors({SourceCursor{topic + "/0", 2, 3, 0, ""},
                                     SourceCursor{topic + "/1", 2, 5, 0, ""},
                                     SourceCursor{topic + "/2", 9999, 0, 0, ""},
                                     SourceCursor{"aw-other/0", 1, 1, 0, ""}})
                  .ok());
  Driver d(source.get());
  const size_t expected = (kPerPartition - 3) + (kPerPartition - 5) + kPerPartition;
  auto deadline = Clock::now() + seconds(60);
  while (Clock::now() < deadline && d.seen.size() < expected) d.Step();
  const auto quiet = Clock::now() + milliseconds(500);
  while (Clock::now() < quiet) d.Step();
  EXPECT_EQ(d.duplicates, 0);
  ASSERT_EQ(d.seen.size(), expected);
  std::map<int32_t, int64_t> first;
  for (const Seen& s : d.seen) first.emplace(s.partition, s.offset);
  EXPECT_EQ(first, (std::map<int32_t, int64_t>{{0, 3}, {1, 5}, {2, 0}}));
  // Lane 2 went to partition 0 or 1 (whichever the assignment listed first); the others got the
  // lowest free ids.
  ASSERT_EQ(d.partition_of_lane.size(), static_cast<size_t>(kPartitions));
  std::set<uint32_t> lanes;
  for (const auto& [lane, p] : d.partition_of_lane) lanes.insert(lane);
  EXPECT_EQ(lanes, (std::set<uint32_t>{0, 1, 2}));
  EXPECT_NE(d.partition_of_lane[2], 2);
  const std::vector<SourceCursor> cursors = source->Cursors();
  ASSERT_EQ(cursors.size(), static_cast<size_t>(kPartitions));
  for (const SourceCursor& c : cursors) {
    EXPECT_EQ(c.next, static_cast<uint64_t>(kPerPartition)) << c.input;
    EXPECT_EQ(d.partition_of_lane[c.lane], PartitionOf(c)) << c.input;
  }
}

// Within a session, a partition revoked and assigned again resumes after what this source
// handed out, not at its start cursor (nor at the group's committed offset, here none: nothing is
// marked done, so nothing is committed).
TEST(KafkaSourceTest, RealBrokerReassignedPartitionResumesFromSessionNotStartCursor) {
  constexpr int kPartitions = 2;
  constexpr int kPerPartition = 20;
  std::string error;
  KafkaBroker* broker = SharedKafkaBroker(&error);
  if (broker == nullptr) FAIL() << error;
  const std::string topic = "aw-ksrc-reassign-" + testing::UniqueId();
  ASSERT_TRUE(broker->CreateTopic(topic, kPartitions, &error)) << error;
  ProducePerPartition(broker->bootstrap(), topic, kPartitions, kPerPartition);
  const std::string group = topic + "-g";

  // Polls without MarkDone(); records (partition, offset) and the latest lane of each partition.
  struct Polled {
    std::map<uint32_t, int32_t> partition_of_lane;
    std::vector<std::pair<int32_t, int64_t>> seen;
  };
  auto step = [](KafkaSource* source, Polled* polled) {
    std::vector<SourceRecord> records;
    EXPECT_TRUE(source->Poll(100, milliseconds(50), &records));
    std::vector<LaneEvent> events;
    source->TakeLaneEvents(&events);
    for (const LaneEvent& e : events) {
      if (e.state == LaneState::kActive) {
        polled->partition_of_lane[e.lane] = std::stoi(e.name.substr(e.name.rfind('/') + 1));
      } else if (e.state == LaneState::kClosed) {
        polled->partition_of_lane.erase(e.lane);
      }
    }
    for (const SourceRecord& r : records) {
      polled->seen.emplace_back(polled->partition_of_lane[r.lane],
                                static_cast<int64_t>(r.position));
    }
  };

  std::unique_ptr<KafkaSource> a;
  ASSERT_TRUE(
      KafkaSource::Create(BaseOptions(broker->bootstrap(), group, topic), nullptr, &a).ok());
  ASSERT_TRUE(a->SetStartCursors({{topic + "/0", 0, 5, 0, ""}, {topic + "/1", 1, 5, 0, ""}}).ok());
  Polled pa;
  auto deadline = Clock::now() + seconds(60);
  while (Clock::now() < deadline && pa.seen.size() < 2 * (kPerPartition - 5)) step(a.get(), &pa);
  ASSERT_EQ(pa.seen.size(), 2u * (kPerPartition - 5));
  EXPECT_EQ(pa.seen.front().second, 5);

  // A second member: every partition is revoked from `a` (eager) and one assigned to it again.
  std::unique_ptr<KafkaSource> b;
  ASSERT_TRUE(
      KafkaSource::Create(BaseOptions(broker->bootstrap(), group, topic), nullptr, &b).ok());
  Polled pb;
  pa.seen.clear();
  deadline = Clock::now() + seconds(60);
  while (Clock::now() < deadline &&
         !(pa.partition_of_lane.size() == 1 && pb.partition_of_lane.size() == 1 &&
           pb.seen.size() >= static_cast<size_t>(kPerPartition))) {
    step(a.get(), &pa);
    step(b.get(), &pb);
  }
  ASSERT_EQ(pa.partition_of_lane.size(), 1u);
  ASSERT_EQ(pb.partition_of_lane.size(), 1u);
  const auto quiet = Clock::now() + milliseconds(500);
  while (Clock::now() < quiet) step(a.get(), &pa);
  EXPECT_TRUE(pa.seen.empty()) << pa.seen.size() << " records again, first offset "
                               << pa.seen.front().second;
  // `b` had no cursor and nothing was committed: from the start (auto.offset.reset).
  EXPECT_EQ(pb.seen.front().second, 0);
  const std::vector<SourceCursor> cursors = a->Cursors();
  ASSERT_EQ(cursors.size(), 2u);
  for (const SourceCursor& c : cursors) EXPECT_EQ(c.next, static_cast<uint64_t>(kPerPartition));
  b.reset();
  a.reset();
}

#endif  // ABUSEWATCH_HAVE_KAFKA_TESTING

}  // namespace
}  // namespace abusewatch
