// Helpers shared by the KafkaSource tests (kafka_source_test.cc against a real broker,
// kafka_source_mock_test.cc against librdkafka's mock cluster): a counting producer and a
// Driver that polls a KafkaSource the way the daemon does and checks the lane contract.
// Test-only; gtest failures are reported with ADD_FAILURE/EXPECT.
#ifndef ABUSEWATCH_TESTS_DAEMON_KAFKA_SOURCE_TEST_UTIL_H_
#define ABUSEWATCH_TESTS_DAEMON_KAFKA_SOURCE_TEST_UTIL_H_

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "daemon/sources/kafka_source.h"

namespace abusewatch::kafka_source_test {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

// Delivery reports of a MakeProducer() producer.
struct Delivery {
  std::atomic<int> delivered{0};
  std::atomic<int> failed{0};
};

// A producer with delivery counting; nullptr (and a failure) on error.
rd_kafka_t* MakeProducer(const std::string& bootstrap, Delivery* delivery,
                         const std::vector<std::pair<std::string, std::string>>& extra = {});

// Produces one message (null value when `tombstone`; to `partition` if given, else by key),
// waiting while the queue is full.
bool Produce(rd_kafka_t* rk, const std::string& topic, const std::string& key,
             const std::string& value, bool tombstone = false,
             int32_t partition = RD_KAFKA_PARTITION_UA);

// Flushes the producer (60 s at most); false (and a failure) if something was not delivered.
bool Flush(rd_kafka_t* rk);

// One of 101 account keys.
std::string Key(int i);

struct Seen {
  std::string value;
  int32_t partition;
  int64_t offset;
};

// Drives a KafkaSource the way the daemon does: Poll, apply the lane events, take the records,
// mark them done. Checks the lane contract as it goes. Does not own the source.
class Driver {
 public:
  explicit Driver(KafkaSource* source) : source_(source) {}

  // One Poll(); returns the records taken.
  size_t Step(milliseconds timeout = milliseconds(100), size_t max = 4096);

  // Steps until `lanes` lanes are open or `timeout` has passed (the group joined).
  void AwaitLanes(size_t lanes, milliseconds timeout);

  // True when exactly `lanes` lanes are open and all of them are kIdle.
  bool AllIdle(size_t lanes) const;

  KafkaSource* source_;
  std::vector<LaneEvent> log;
  std::map<uint32_t, int32_t> partition_of_lane;
  std::map<uint32_t, LaneState> state;
  std::map<int32_t, int64_t> last_offset;
  std::vector<Seen> seen;
  std::vector<SourceRecord> oversized;
  int duplicates = 0;
  int out_of_order = 0;

 private:
  std::set<std::pair<int32_t, int64_t>> seen_offsets_;
};

// Committed offsets of `group` and high watermarks, per partition, read by a separate client.
void ReadCommitted(const std::string& bootstrap, const std::string& group, const std::string& topic,
                   int partitions, std::map<int32_t, int64_t>* committed,
                   std::map<int32_t, int64_t>* high);

// `text` split at newlines (no empty last line).
std::vector<std::string> Lines(const std::string& text);

// Source options for the tests: short idle timeout, a fixed client id.
KafkaSource::Options BaseOptions(const std::string& bootstrap, const std::string& group,
                                 const std::string& topic);

}  // namespace abusewatch::kafka_source_test

#endif  // ABUSEWATCH_TESTS_DAEMON_KAFKA_SOURCE_TEST_UTIL_H_
