// A real single-node Apache Kafka broker (KRaft) for integration tests, on loopback only.
//
// The broker is the one of tests/kafka/kafka_broker.sh: Kafka's jars are resolved from Maven
// Central once into build/kafka-cache (or $AW_KAFKA_CACHE), then each broker runs from a fresh
// temporary directory with free ports, and is stopped (SIGTERM, then SIGKILL) when the
// KafkaBroker is destroyed, or by a watchdog within ~1 s if the test process dies.
//
//   std::string error;
//   KafkaBroker* broker = SharedKafkaBroker(&error);   // one broker per test process
//   ASSERT_NE(broker, nullptr) << error;
//   ASSERT_TRUE(broker->CreateTopic("events", 3, &error)) << error;
//   ... bootstrap.servers = broker->bootstrap() ...
#ifndef ABUSEWATCH_TESTS_KAFKA_KAFKA_BROKER_H_
#define ABUSEWATCH_TESTS_KAFKA_KAFKA_BROKER_H_

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace abusewatch::testing {

class KafkaBroker {
 public:
  // Fetches Kafka if it is not cached yet, starts a broker and waits until it answers metadata.
  // Returns nullptr with a message in *error (which says whether fetching or starting failed,
  // with the tail of the script's output and of the broker log) on failure.
  static std::unique_ptr<KafkaBroker> Start(std::string* error);

  KafkaBroker(const KafkaBroker&) = delete;
  KafkaBroker& operator=(const KafkaBroker&) = delete;
  ~KafkaBroker();  // Stops the broker and removes its directory (kept if $AW_KAFKA_KEEP_DIR).

  // "127.0.0.1:PORT", for bootstrap.servers.
  const std::string& bootstrap() const { return bootstrap_; }
  // The broker's directory: server.properties, broker.log, data/.
  const std::string& dir() const { return dir_; }

  // Creates a topic (replication factor 1) through librdkafka's admin API and waits until every
  // partition has a leader. An existing topic with that many partitions counts as success.
  bool CreateTopic(const std::string& name, int partitions, std::string* error);

  // The last `lines` lines of broker.log, for failure messages.
  std::string LogTail(int lines = 40) const;

  // Stops the broker now (idempotent); false with a message if the script failed, or if the
  // broker is the ctest run's (borrowed: other tests use it).
  bool Stop(std::string* error);

 private:
  KafkaBroker(std::string dir, std::string bootstrap, bool owned)
      : dir_(std::move(dir)), bootstrap_(std::move(bootstrap)), owned_(owned) {}
  friend KafkaBroker* SharedKafkaBroker(std::string* error);
  // The ctest fixture's broker under `dir`, if it runs and answers; nullptr (with a note on
  // stderr) otherwise.
  static std::unique_ptr<KafkaBroker> Borrow(const std::string& dir);

  std::string dir_;
  std::string bootstrap_;
  bool owned_;
  bool stopped_ = false;
};

// One broker per test process, and under ctest one per run: when AW_KAFKA_FIXTURE_DIR names
// the directory of the fixture's broker (tests/kafka/kafka_fixture.sh) and that broker
// answers, it is borrowed; otherwise one is started on first use and stopped at exit. A start
// failure is remembered: later calls return nullptr at once with the same message. Tests that
// share a broker must name their topics and groups with UniqueId().
KafkaBroker* SharedKafkaBroker(std::string* error);

// A name part that no other test process uses, in this run or an earlier one against the same
// broker: the process id (which repeats: pid_max may be 32 768), the wall clock in
// microseconds and a per-process counter.
std::string UniqueId();

// Optional: a GoogleTest environment that starts the shared broker before the first test and
// stops it after the last one. Register it in a main() with
//   ::testing::AddGlobalTestEnvironment(new abusewatch::testing::KafkaEnvironment);
// Without it, SharedKafkaBroker() starts the broker lazily (only tests that use it pay).
class KafkaEnvironment : public ::testing::Environment {
 public:
  void SetUp() override;
  void TearDown() override;
};

// Path of tests/kafka/kafka_broker.sh.
std::string KafkaBrokerScript();

}  // namespace abusewatch::testing

#endif  // ABUSEWATCH_TESTS_KAFKA_KAFKA_BROKER_H_
