#include "tests/kafka/kafka_broker.h"

#include <librdkafka/rdkafka.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <utility>

#ifndef ABUSEWATCH_SOURCE_DIR
#error "ABUSEWATCH_SOURCE_DIR (the repository root) must be defined"
#endif

namespace abusewatch::testing {
namespace {

constexpr int kFetchFailedExit = 3;  // kafka_broker.sh's exit status for a failed fetch.

std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string TailLines(const std::string& text, int lines) {
  std::deque<std::string> tail;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    tail.push_back(line);
    if (static_cast<int>(tail.size()) > lines) tail.pop_front();
  }
  std::string out;
  for (const std::string& l : tail) out += l + "\n";
  return out;
}

// Runs `bash kafka_broker.sh ARGS` with its output in `log`; returns its exit status (or -1).
int RunScript(const std::string& args, const std::string& log) {
  // If this process dies without stopping the broker, the script's watchdog stops it (and
  // removes its directory, unless it is to be kept).
  const bool cleanup = std::getenv("AW_KAFKA_KEEP_DIR") == nullptr;
  const std::string cmd = "AW_KAFKA_OWNER_PID=" + std::to_string(getpid()) +
                          " AW_KAFKA_OWNER_CLEANUP=" + (cleanup ? "1" : "0") + " bash " +
                          ShellQuote(KafkaBrokerScript()) + " " + args + " >" + ShellQuote(log) +
                          " 2>&1 </dev/null";
  const int status = std::system(cmd.c_str());
  if (status == -1 || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

struct KafkaDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
using KafkaHandle = std::unique_ptr<rd_kafka_t, KafkaDeleter>;

// A producer handle (never produces): the admin API and metadata requests need one.
KafkaHandle NewClient(const std::string& bootstrap, std::string* error) {
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), errstr, sizeof errstr) !=
          RD_KAFKA_CONF_OK ||
      rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
    rd_kafka_conf_destroy(conf);
    *error = errstr;
    return nullptr;
  }
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);  // rd_kafka_new frees conf only on success.
    *error = std::string("rd_kafka_new: ") + errstr;
    return nullptr;
  }
  return KafkaHandle(rk);
}

// Polls metadata until the broker answers (all topics) or, with a topic, until it has
// `partitions` partitions that all have a leader.
bool WaitForMetadata(rd_kafka_t* rk, const std::string& topic, int partitions,
                     std::chrono::milliseconds timeout, std::string* error) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string last = "no answer";
  while (true) {
    const rd_kafka_metadata_t* md = nullptr;
    rd_kafka_topic_t* rkt =
        topic.empty() ? nullptr : rd_kafka_topic_new(rk, topic.c_str(), nullptr);
    rd_kafka_resp_err_t err = rd_kafka_metadata(rk, rkt == nullptr ? 1 : 0, rkt, &md, 5000);
    if (rkt != nullptr) rd_kafka_topic_destroy(rkt);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      bool ok = md->broker_cnt >= 1;
      if (!ok) last = "metadata lists no broker";
      if (ok && !topic.empty()) {
        ok = false;
        for (int i = 0; i < md->topic_cnt; ++i) {
          const rd_kafka_metadata_topic_t& t = md->topics[i];
          if (topic != t.topic) continue;
          if (t.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            last = std::string("topic error: ") + rd_kafka_err2str(t.err);
            break;
          }
          if (t.partition_cnt != partitions) {
            last = "topic has " + std::to_string(t.partition_cnt) + " partitions, want " +
                   std::to_string(partitions);
            break;
          }
          ok = true;
          for (int p = 0; p < t.partition_cnt; ++p) {
            if (t.partitions[p].err != RD_KAFKA_RESP_ERR_NO_ERROR || t.partitions[p].leader < 0) {
              ok = false;
              last = "partition " + std::to_string(p) + " has no leader yet";
            }
          }
        }
      }
      rd_kafka_metadata_destroy(md);
      if (ok) return true;
    } else {
      last = rd_kafka_err2str(err);
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      *error = "metadata not ready after " + std::to_string(timeout.count()) + " ms: " + last;
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

struct Shared {
  std::mutex mu;
  bool tried = false;
  std::string error;
  std::unique_ptr<KafkaBroker> broker;
};

Shared& GetShared() {
  static Shared* shared = new Shared;  // Never destroyed: see the atexit hook below.
  return *shared;
}

void StopSharedAtExit() {
  Shared& s = GetShared();
  std::lock_guard<std::mutex> lock(s.mu);
  s.broker.reset();
}

}  // namespace

std::unique_ptr<KafkaBroker> KafkaBroker::Borrow(const std::string& dir) {
  std::string bootstrap = ReadFile(dir + "/bootstrap");
  while (!bootstrap.empty() && (bootstrap.back() == '\n' || bootstrap.back() == ' ')) {
    bootstrap.pop_back();
  }
  std::string error = "no " + dir + "/bootstrap (the fixture did not start a broker)";
  if (!bootstrap.empty()) {
    KafkaHandle client = NewClient(bootstrap, &error);
    if (client != nullptr &&
        WaitForMetadata(client.get(), "", 0, std::chrono::seconds(10), &error)) {
      std::fprintf(stderr, "[kafka] using the ctest run's broker on %s (dir %s)\n",
                   bootstrap.c_str(), dir.c_str());
      return std::unique_ptr<KafkaBroker>(new KafkaBroker(dir, bootstrap, /*owned=*/false));
    }
  }
  std::fprintf(stderr, "[kafka] the ctest run's broker is not usable (%s): starting one\n",
               error.c_str());
  return nullptr;
}

std::string UniqueId() {
  static std::atomic<uint64_t> counter{0};
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  return std::to_string(getpid()) + "-" + std::to_string(us) + "-" +
         std::to_string(counter.fetch_add(1));
}

std::string KafkaBrokerScript() {
  return std::string(ABUSEWATCH_SOURCE_DIR) + "/tests/kafka/kafka_broker.sh";
}

std::unique_ptr<KafkaBroker> KafkaBroker::Start(std::string* error) {
  const auto t0 = std::chrono::steady_clock::now();
  const std::string script = KafkaBrokerScript();
  if (!std::filesystem::exists(script)) {
    *error = "Kafka test broker: script not found: " + script;
    return nullptr;
  }
  const char* tmp = std::getenv("TMPDIR");
  std::string templ =
      std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/abusewatch-kafka-XXXXXX";
  if (mkdtemp(templ.data()) == nullptr) {
    *error = "Kafka test broker: mkdtemp(" + templ + ") failed";
    return nullptr;
  }
  const std::string dir = templ;

  const std::string fetch_log = dir + "/fetch.log";
  const int fetch_rc = RunScript("fetch", fetch_log);
  if (fetch_rc != 0) {
    *error = std::string(fetch_rc == kFetchFailedExit
                             ? "KAFKA FETCH FAILED: Apache Kafka could not be downloaded from "
                               "Maven Central, so no broker can run (this needs network access "
                               "to Maven Central once, then the cache is reused). "
                             : "Kafka test broker: '" + script + " fetch' failed (exit " +
                                   std::to_string(fetch_rc) + "). ") +
             "Output of the fetch step:\n" + TailLines(ReadFile(fetch_log), 40);
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    return nullptr;
  }

  const std::string start_log = dir + "/start.log";
  const int start_rc = RunScript("start " + ShellQuote(dir), start_log);
  const std::string out = ReadFile(start_log);
  std::string bootstrap;
  const size_t at = out.rfind("bootstrap=");
  if (at != std::string::npos) {
    bootstrap = out.substr(at + 10, out.find('\n', at) - (at + 10));
  }
  if (start_rc != 0 || bootstrap.empty()) {
    *error = "KAFKA START FAILED: '" + script + " start " + dir + "' exited " +
             std::to_string(start_rc) + ". Its output (with the tail of broker.log):\n" +
             TailLines(out, 60);
    RunScript("stop " + ShellQuote(dir), dir + "/stop.log");
    return nullptr;
  }

  std::unique_ptr<KafkaBroker> broker(new KafkaBroker(dir, bootstrap, /*owned=*/true));
  // The script checked metadata with kcat when installed; check through librdkafka as well.
  std::string md_error;
  KafkaHandle client = NewClient(bootstrap, &md_error);
  if (client == nullptr ||
      !WaitForMetadata(client.get(), "", 0, std::chrono::seconds(30), &md_error)) {
    *error = "KAFKA START FAILED: the broker on " + bootstrap +
             " does not answer librdkafka: " + md_error + "\nbroker.log:\n" + broker->LogTail();
    return nullptr;  // ~KafkaBroker stops it.
  }
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  std::fprintf(stderr, "[kafka] broker ready on %s in %lld ms (dir %s)\n", bootstrap.c_str(),
               static_cast<long long>(ms), dir.c_str());
  return broker;
}

KafkaBroker::~KafkaBroker() {
  if (!owned_) return;  // the ctest fixture stops it
  std::string error;
  if (!Stop(&error)) std::fprintf(stderr, "[kafka] %s\n", error.c_str());
  if (std::getenv("AW_KAFKA_KEEP_DIR") == nullptr) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  } else {
    std::fprintf(stderr, "[kafka] kept %s\n", dir_.c_str());
  }
}

bool KafkaBroker::Stop(std::string* error) {
  if (!owned_) {
    *error = "the broker of " + dir_ + " is the ctest run's (other tests use it): not stopped";
    return false;
  }
  if (stopped_) return true;
  stopped_ = true;
  const std::string log = dir_ + "/stop.log";
  const int rc = RunScript("stop " + ShellQuote(dir_), log);
  if (rc != 0) {
    *error = "stopping the Kafka broker in " + dir_ + " failed (exit " + std::to_string(rc) +
             "): " + TailLines(ReadFile(log), 20);
    return false;
  }
  return true;
}

std::string KafkaBroker::LogTail(int lines) const {
  return TailLines(ReadFile(dir_ + "/broker.log"), lines);
}

bool KafkaBroker::CreateTopic(const std::string& name, int partitions, std::string* error) {
  KafkaHandle rk = NewClient(bootstrap_, error);
  if (rk == nullptr) return false;
  char errstr[512];
  rd_kafka_NewTopic_t* topic =
      rd_kafka_NewTopic_new(name.c_str(), partitions, 1, errstr, sizeof errstr);
  if (topic == nullptr) {
    *error = std::string("rd_kafka_NewTopic_new: ") + errstr;
    return false;
  }
  rd_kafka_queue_t* queue = rd_kafka_queue_new(rk.get());
  rd_kafka_AdminOptions_t* options =
      rd_kafka_AdminOptions_new(rk.get(), RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_request_timeout(options, 30000, errstr, sizeof errstr);
  rd_kafka_AdminOptions_set_operation_timeout(options, 30000, errstr, sizeof errstr);
  rd_kafka_CreateTopics(rk.get(), &topic, 1, options, queue);
  rd_kafka_event_t* event = rd_kafka_queue_poll(queue, 45000);
  bool ok = false;
  if (event == nullptr) {
    *error = "CreateTopics(" + name + "): no result within 45 s";
  } else if (rd_kafka_event_error(event) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    *error = "CreateTopics(" + name + "): " + rd_kafka_event_error_string(event);
  } else {
    const rd_kafka_CreateTopics_result_t* result = rd_kafka_event_CreateTopics_result(event);
    size_t count = 0;
    const rd_kafka_topic_result_t** results = rd_kafka_CreateTopics_result_topics(result, &count);
    ok = count == 1;
    if (!ok) *error = "CreateTopics(" + name + "): " + std::to_string(count) + " results";
    for (size_t i = 0; ok && i < count; ++i) {
      const rd_kafka_resp_err_t err = rd_kafka_topic_result_error(results[i]);
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
        const char* msg = rd_kafka_topic_result_error_string(results[i]);
        *error = "CreateTopics(" + name + "): " + rd_kafka_err2name(err) + ": " +
                 (msg != nullptr ? msg : "");
        ok = false;
      }
    }
  }
  if (event != nullptr) rd_kafka_event_destroy(event);
  rd_kafka_AdminOptions_destroy(options);
  rd_kafka_NewTopic_destroy(topic);
  rd_kafka_queue_destroy(queue);
  if (!ok) return false;
  std::string md_error;
  if (!WaitForMetadata(rk.get(), name, partitions, std::chrono::seconds(30), &md_error)) {
    *error = "CreateTopics(" + name + "): " + md_error;
    return false;
  }
  return true;
}

KafkaBroker* SharedKafkaBroker(std::string* error) {
  Shared& s = GetShared();
  std::lock_guard<std::mutex> lock(s.mu);
  if (!s.tried) {
    s.tried = true;
    const char* fixture = std::getenv("AW_KAFKA_FIXTURE_DIR");
    if (fixture != nullptr && *fixture != '\0') s.broker = KafkaBroker::Borrow(fixture);
    if (s.broker != nullptr) return s.broker.get();
    s.broker = KafkaBroker::Start(&s.error);
    if (s.broker != nullptr) std::atexit(StopSharedAtExit);
  }
  if (s.broker == nullptr) *error = s.error;
  return s.broker.get();
}

void KafkaEnvironment::SetUp() {
  std::string error;
  if (SharedKafkaBroker(&error) == nullptr) {
    std::fprintf(stderr, "[kafka] %s\n", error.c_str());  // Each test that needs it fails.
  }
}

void KafkaEnvironment::TearDown() { StopSharedAtExit(); }

}  // namespace abusewatch::testing
