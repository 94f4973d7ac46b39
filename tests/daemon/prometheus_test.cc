// `abusewatch run` scraped by a real Prometheus server (Debian package prometheus,
// /usr/bin/prometheus): the daemon follows the bundled sample through the shipped legal pack; a
// private Prometheus (own loopback port, own temporary TSDB: never the system service on 9090)
// scrapes it every second; the test reads the values back through Prometheus's HTTP API and
// checks them against the daemon's own /metrics and the sample itself, and that no series of any
// abusewatch_ metric carries an account id as a label value.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "detectors/timeutil.h"
#include "tests/daemon/real_alertmanager.h"

extern char** environ;

namespace abusewatch {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::steady_clock;

constexpr const char* kPrometheus = "/usr/bin/prometheus";

std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

bool WaitFor(const std::function<bool()>& cond, seconds limit) {
  const auto deadline = steady_clock::now() + limit;
  while (steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(milliseconds(100));
  }
  return cond();
}

// ---------------------------------------------------------------------------------------------
// HTTP GET on loopback (Beast: Prometheus answers large bodies chunked).

using test::HttpResult;

HttpResult Get(uint16_t port, const std::string& target) {
  return test::HttpGet(port, target, /*trim=*/false);
}

std::string UrlEncode(std::string_view s) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

using test::FreePort;

// ---------------------------------------------------------------------------------------------
// A minimal JSON reader, enough for Prometheus API answers.

struct Json {
  enum class Kind { kNull, kBool, kNumber, kString, kArray, kObject };
  Kind kind = Kind::kNull;
  bool boolean = false;
  double number = 0;
  std::string string;
  std::vector<Json> array;
  std::vector<std::pair<std::string, Json>> object;

  const Json* Find(std::string_view key) const {
    for (const auto& [k, v] : object) {
      if (k == key) return &v;
    }
    return nullptr;
  }
};

class JsonReader {
 public:
  explicit JsonReader(std::string_view text) : s_(text) {}

  bool Parse(Json* out) {
    if (!Value(out, 0)) return false;
    Skip();
    return i_ == s_.size();
  }

 private:
  void Skip() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  }
  bool Literal(std::string_view word) {
    if (s_.substr(i_, word.size()) != word) return false;
    i_ += word.size();
    return true;
  }
  bool String(std::string* out) {
    if (i_ >= s_.size() || s_[i_] != '"') return false;
    ++i_;
    while (i_ < s_.size() && s_[i_] != '"') {
      char c = s_[i_++];
      if (c != '\\') {
        *out += c;
        continue;
      }
      if (i_ >= s_.size()) return false;
      c = s_[i_++];
      switch (c) {
        case 'n':
          *out += '\n';
          break;
        case 't':
          *out += '\t';
          break;
        case 'r':
          *out += '\r';
          break;
        case 'b':
          *out += '\b';
          break;
        case 'f':
          *out += '\f';
          break;
        case 'u': {
          if (i_ + 4 > s_.size()) return false;
          const unsigned cp =
              static_cast<unsigned>(std::stoul(std::string(s_.substr(i_, 4)), nullptr, 16));
          i_ += 4;
          // Label values here are ASCII; anything else is kept as a marker, never dropped.
          if (cp < 0x80) {
            *out += static_cast<char>(cp);
          } else {
            *out += "\\u" + std::string(s_.substr(i_ - 4, 4));
          }
          break;
        }
        default:
          *out += c;
      }
    }
    if (i_ >= s_.size()) return false;
    ++i_;
    return true;
  }
  bool Value(Json* out, int depth) {
    if (depth > 64) return false;
    Skip();
    if (i_ >= s_.size()) return false;
    const char c = s_[i_];
    if (c == '{') {
      out->kind = Json::Kind::kObject;
      ++i_;
      Skip();
      if (i_ < s_.size() && s_[i_] == '}') return ++i_, true;
      for (;;) {
        Skip();
        std::string key;
        if (!String(&key)) return false;
        Skip();
        if (i_ >= s_.size() || s_[i_++] != ':') return false;
        Json v;
        if (!Value(&v, depth + 1)) return false;
        out->object.emplace_back(std::move(key), std::move(v));
        Skip();
        if (i_ >= s_.size()) return false;
        if (s_[i_] == ',') {
          ++i_;
          continue;
        }
        if (s_[i_] == '}') return ++i_, true;
        return false;
      }
    }
    if (c == '[') {
      out->kind = Json::Kind::kArray;
      ++i_;
      Skip();
      if (i_ < s_.size() && s_[i_] == ']') return ++i_, true;
      for (;;) {
        Json v;
        if (!Value(&v, depth + 1)) return false;
        out->array.push_back(std::move(v));
        Skip();
        if (i_ >= s_.size()) return false;
        if (s_[i_] == ',') {
          ++i_;
          continue;
        }
        if (s_[i_] == ']') return ++i_, true;
        return false;
      }
    }
    if (c == '"') {
      out->kind = Json::Kind::kString;
      return String(&out->string);
    }
    if (Literal("true")) {
      out->kind = Json::Kind::kBool;
      out->boolean = true;
      return true;
    }
    if (Literal("false")) {
      out->kind = Json::Kind::kBool;
      return true;
    }
    if (Literal("null")) return true;
    const size_t start = i_;
    while (i_ < s_.size() && std::strchr("+-0123456789.eE", s_[i_]) != nullptr) ++i_;
    if (i_ == start) return false;
    out->kind = Json::Kind::kNumber;
    out->number = std::strtod(std::string(s_.substr(start, i_ - start)).c_str(), nullptr);
    return true;
  }

  std::string_view s_;
  size_t i_ = 0;
};

// One sample of an instant vector: labels (with __name__) and value.
struct Sample {
  std::map<std::string, std::string> labels;
  double value = 0;
  std::string raw_value;
};

// ---------------------------------------------------------------------------------------------
// The daemon's own /metrics, parsed (text exposition format 0.0.4).

// Series identity: name{k="v",...} with labels sorted, values unescaped.
std::string SeriesId(const std::string& name, const std::map<std::string, std::string>& labels) {
  std::string id = name + "{";
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (k == "__name__" || k == "job" || k == "instance") continue;
    if (!first) id += ",";
    first = false;
    id += k + "=\"" + v + "\"";
  }
  return id + "}";
}

// Series id -> value; false when a line does not parse.
bool ParseExposition(const std::string& text, std::map<std::string, double>* out,
                     std::string* bad_line) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    const std::string name = line.substr(0, i);
    std::map<std::string, std::string> labels;
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        const size_t eq = line.find('=', i);
        if (eq == std::string::npos || eq + 1 >= line.size() || line[eq + 1] != '"') {
          *bad_line = line;
          return false;
        }
        const std::string key = line.substr(i, eq - i);
        std::string value;
        size_t j = eq + 2;
        for (; j < line.size() && line[j] != '"'; ++j) {
          if (line[j] == '\\' && j + 1 < line.size()) {
            ++j;
            value += line[j] == 'n' ? '\n' : line[j];
          } else {
            value += line[j];
          }
        }
        if (j >= line.size()) {
          *bad_line = line;
          return false;
        }
        labels[key] = value;
        i = j + 1;
        if (i < line.size() && line[i] == ',') ++i;
      }
      ++i;
    }
    while (i < line.size() && line[i] == ' ') ++i;
    const std::string value = line.substr(i, line.find(' ', i) - i);
    if (name.empty() || value.empty()) {
      *bad_line = line;
      return false;
    }
    (*out)[SeriesId(name, labels)] = std::strtod(value.c_str(), nullptr);
  }
  return true;
}

double SumWithPrefix(const std::map<std::string, double>& m, const std::string& prefix) {
  double sum = 0;
  for (const auto& [id, v] : m) {
    if (id.rfind(prefix, 0) == 0) sum += v;
  }
  return sum;
}

// ---------------------------------------------------------------------------------------------
// Child processes.

class Child {
 public:
  Child() = default;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child() { Stop(); }

  // stdout and stderr to `log`.
  bool Spawn(const std::vector<std::string>& args, const fs::path& log) {
    std::vector<std::string> copy = args;
    std::vector<char*> argv;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    const int rc = posix_spawn(&pid_, argv[0], &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) pid_ = -1;
    return rc == 0;
  }

  bool Running() {
    if (pid_ <= 0) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      exit_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return false;
    }
    return true;
  }

  // SIGTERM, wait up to `grace`, then SIGKILL. The exit code (128 + signal if killed), or the
  // one already collected.
  int Stop(seconds grace = seconds(10)) {
    if (pid_ <= 0) return exit_;
    ::kill(pid_, SIGTERM);
    const auto deadline = steady_clock::now() + grace;
    while (steady_clock::now() < deadline) {
      if (!Running()) return exit_;
      std::this_thread::sleep_for(milliseconds(20));
    }
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    killed_ = true;
    exit_ = 128 + SIGKILL;
    return exit_;
  }

  bool killed() const { return killed_; }

 private:
  pid_t pid_ = -1;
  int exit_ = -1;
  bool killed_ = false;
};

class PrometheusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/aw_prometheus_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    prometheus_.Stop();
    daemon_.Stop();
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }

  int DaemonPort() {
    const std::string log = Slurp(dir_ / "daemon.log");
    const size_t p = log.find("on http://127.0.0.1:");
    return p == std::string::npos ? -1 : std::atoi(log.c_str() + p + 20);
  }

  // Starts the private Prometheus; empty string on success, else what went wrong.
  std::string StartPrometheus(int target_port) {
    std::ofstream(dir_ / "prometheus.yml")
        << "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        << "scrape_configs:\n  - job_name: abusewatch\n    scrape_interval: 1s\n"
        << "    scrape_timeout: 1s\n    static_configs:\n      - targets: ['127.0.0.1:"
        << target_port << "']\n";
    fs::create_directories(dir_ / "tsdb");
    for (int attempt = 0; attempt < 3; ++attempt) {
      prom_port_ = FreePort();
      if (prom_port_ == 0) return "no free port";
      if (!prometheus_.Spawn(
              {kPrometheus, "--config.file=" + (dir_ / "prometheus.yml").string(),
               "--storage.tsdb.path=" + (dir_ / "tsdb").string(),
               "--web.listen-address=127.0.0.1:" + std::to_string(prom_port_), "--log.level=warn"},
              dir_ / "prometheus.log")) {
        return "posix_spawn of prometheus failed";
      }
      const auto deadline = steady_clock::now() + seconds(60);
      while (steady_clock::now() < deadline) {
        if (!prometheus_.Running()) break;  // exited (port taken?): retry on another port
        if (Get(prom_port_, "/-/ready").status == 200) return "";
        std::this_thread::sleep_for(milliseconds(100));
      }
      if (prometheus_.Running()) return "prometheus did not become ready";
    }
    return "prometheus exited at start";
  }

  // GET /api/v1/query; the result vector, or false (with `error`) when the answer is no
  // success.
  bool Query(const std::string& promql, std::vector<Sample>* out, std::string* error) {
    out->clear();
    const HttpResult r = Get(prom_port_, "/api/v1/query?query=" + UrlEncode(promql));
    Json doc;
    if (r.status != 200 || !JsonReader(r.body).Parse(&doc)) {
      *error = "HTTP " + std::to_string(r.status) + ": " + r.body.substr(0, 500);
      return false;
    }
    const Json* status = doc.Find("status");
    const Json* data = doc.Find("data");
    const Json* result = data == nullptr ? nullptr : data->Find("result");
    if (status == nullptr || status->string != "success" || result == nullptr ||
        result->kind != Json::Kind::kArray) {
      *error = r.body.substr(0, 500);
      return false;
    }
    for (const Json& item : result->array) {
      Sample s;
      const Json* metric = item.Find("metric");
      const Json* value = item.Find("value");
      if (metric == nullptr || value == nullptr || value->array.size() != 2) {
        *error = "unexpected result item in " + r.body.substr(0, 500);
        return false;
      }
      for (const auto& [k, v] : metric->object) s.labels[k] = v.string;
      s.raw_value = value->array[1].string;
      s.value = std::strtod(s.raw_value.c_str(), nullptr);
      out->push_back(std::move(s));
    }
    return true;
  }

  // Polls `promql` until `pred` holds on its result (60 s at most); the last result.
  std::vector<Sample> QueryUntil(const std::string& promql,
                                 const std::function<bool(const std::vector<Sample>&)>& pred) {
    std::vector<Sample> result;
    std::string error;
    WaitFor(
        [&] {
          error.clear();
          return Query(promql, &result, &error) && pred(result);
        },
        seconds(60));
    EXPECT_EQ(error, "") << promql;
    return result;
  }

  std::string Logs() {
    return "\n--- daemon log:\n" + Slurp(dir_ / "daemon.log").substr(0, 4000) +
           "\n--- prometheus log:\n" + Slurp(dir_ / "prometheus.log").substr(0, 4000);
  }

  fs::path dir_;
  Child daemon_, prometheus_;
  uint16_t prom_port_ = 0;
};

TEST_F(PrometheusTest, RealPrometheusScrapesTheDaemon) {
  if (::access(kPrometheus, X_OK) != 0) {
    const std::string why = std::string(kPrometheus) +
                            " not found: install the Debian package with "
                            "`apt-get install -y prometheus` (or `make deps`)";
    if (std::getenv("CI") == nullptr) GTEST_SKIP() << why;
    FAIL() << why;
  }
  const auto started = steady_clock::now();

  // The sample, and what the daemon must make of it: the rejects of a replay (same engine,
  // same pack) give the accepted count, the malformed lines and the accepted time range.
  const fs::path sample = dir_ / "sample.jsonl";
  fs::copy_file(fs::path(ABUSEWATCH_SOURCE_DIR) / "config/samples/sample-stream.jsonl", sample);
  std::ofstream(dir_ / "aw.yaml") << "version: 1\ninclude: [" << ABUSEWATCH_SOURCE_DIR
                                  << "/config/packs/legal-cn-2019.yaml]\n"
                                  << "sources: [{type: file, path: " << sample.string()
                                  << ", follow: true}]\n"
                                  << "sinks: [{type: file, path: out.jsonl}]\n"
                                  << "dead_letter: {type: file, path: dead.jsonl}\n"
                                  << "http: {listen: \"127.0.0.1:0\"}\n";
  const std::string replay = std::string(ABUSEWATCH_BINARY) + " replay --config " +
                             (dir_ / "aw.yaml").string() + " --input " + sample.string() +
                             " --output " + (dir_ / "replay.jsonl").string() + " --rejects " +
                             (dir_ / "rejects.jsonl").string() + " 2>/dev/null";
  ASSERT_EQ(std::system(replay.c_str()), 0);
  std::set<int64_t> rejected_lines;
  int malformed = 0;
  {
    std::istringstream in(Slurp(dir_ / "rejects.jsonl"));
    for (std::string l; std::getline(in, l);) {
      if (l.empty()) continue;
      rejected_lines.insert(std::atoll(l.c_str() + l.find("\"line\":") + 7));
      if (l.find("\"reason\":\"malformed_json\"") != std::string::npos) ++malformed;
    }
  }
  int64_t lines = 0, min_ms = INT64_MAX, max_ms = INT64_MIN;
  {
    std::istringstream in(Slurp(sample));
    for (std::string l; std::getline(in, l);) {
      ++lines;
      if (l.empty() || rejected_lines.count(lines) != 0) continue;
      // ts: an RFC 3339 string or integer milliseconds (spec/events.md).
      const size_t p = l.find("\"ts\":");
      ASSERT_NE(p, std::string::npos) << l;
      int64_t ms = 0;
      if (l[p + 5] == '"') {
        const size_t e = l.find('"', p + 6);
        ASSERT_TRUE(e != std::string::npos && ParseRfc3339(l.substr(p + 6, e - p - 6), &ms)) << l;
      } else {
        ms = std::atoll(l.c_str() + p + 5);
      }
      min_ms = std::min(min_ms, ms);
      max_ms = std::max(max_ms, ms);
    }
  }
  const double accepted = static_cast<double>(lines - static_cast<int64_t>(rejected_lines.size()));
  ASSERT_GT(accepted, 10000);
  ASSERT_GT(malformed, 0) << "the sample should carry malformed lines";

  // The daemon, following the sample, until it has processed all of it.
  ASSERT_TRUE(daemon_.Spawn({ABUSEWATCH_BINARY, "run", "--config", (dir_ / "aw.yaml").string()},
                            dir_ / "daemon.log"));
  ASSERT_TRUE(WaitFor([&] { return DaemonPort() > 0 || !daemon_.Running(); }, seconds(60)));
  const int port = DaemonPort();
  ASSERT_GT(port, 0) << Logs();
  std::map<std::string, double> own;
  std::string bad_line;
  ASSERT_TRUE(WaitFor(
      [&] {
        const HttpResult r = Get(static_cast<uint16_t>(port), "/metrics");
        own.clear();
        return r.status == 200 && ParseExposition(r.body, &own, &bad_line) &&
               SumWithPrefix(own, "abusewatch_events_total{") == accepted &&
               SumWithPrefix(own, "abusewatch_events_rejected_total{") ==
                   static_cast<double>(rejected_lines.size());
      },
      seconds(60)))
      << "events_total " << SumWithPrefix(own, "abusewatch_events_total{") << " of " << accepted
      << ", rejected " << SumWithPrefix(own, "abusewatch_events_rejected_total{") << " of "
      << rejected_lines.size() << (bad_line.empty() ? "" : ", unparsable line: " + bad_line)
      << Logs();
  // Counters settle once the input is consumed; take the snapshot Prometheus will see.
  std::this_thread::sleep_for(milliseconds(300));
  {
    const HttpResult r = Get(static_cast<uint16_t>(port), "/metrics");
    ASSERT_EQ(r.status, 200);
    own.clear();
    ASSERT_TRUE(ParseExposition(r.body, &own, &bad_line)) << bad_line;
  }

  // The private Prometheus, until it has scraped the daemon.
  const std::string err = StartPrometheus(port);
  ASSERT_EQ(err, "") << "cannot run a real Prometheus: " << err << Logs();
  std::vector<Sample> up = QueryUntil("up{job=\"abusewatch\"}", [](const std::vector<Sample>& r) {
    return r.size() == 1 && r[0].value == 1;
  });
  ASSERT_EQ(up.size(), 1u) << Logs();
  ASSERT_EQ(up[0].value, 1) << Logs();
  EXPECT_EQ(up[0].labels["instance"], "127.0.0.1:" + std::to_string(port));
  // The scrape itself: every sample parsed, none dropped.
  std::vector<Sample> r = QueryUntil("scrape_samples_scraped{job=\"abusewatch\"}",
                                     [](const std::vector<Sample>& v) { return v.size() == 1; });
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].value, static_cast<double>(own.size()));

  // Accepted events: the daemon's own count, the replay's count.
  r = QueryUntil("sum(abusewatch_events_total)",
                 [](const std::vector<Sample>& v) { return v.size() == 1; });
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].value, accepted);
  EXPECT_EQ(r[0].value, SumWithPrefix(own, "abusewatch_events_total{"));
  r = QueryUntil("abusewatch_events_total",
                 [](const std::vector<Sample>& v) { return !v.empty(); });
  std::set<std::string> streams;
  for (const Sample& s : r) streams.insert(s.labels.at("stream"));
  EXPECT_TRUE(streams.count("payment") == 1 && streams.count("login") == 1) << streams.size();

  // Rejects: malformed lines counted under their reason.
  r = QueryUntil("abusewatch_events_rejected_total{reason=\"malformed_json\"}",
                 [](const std::vector<Sample>& v) { return v.size() == 1; });
  ASSERT_EQ(r.size(), 1u);
  EXPECT_GT(r[0].value, 0);
  EXPECT_EQ(r[0].value, malformed);
  r = QueryUntil("sum(abusewatch_events_rejected_total)",
                 [](const std::vector<Sample>& v) { return v.size() == 1; });
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].value, static_cast<double>(rejected_lines.size()));

  // Transitions: series per rule and state, the same values as the daemon's /metrics.
  r = QueryUntil("abusewatch_transitions_total",
                 [](const std::vector<Sample>& v) { return !v.empty(); });
  ASSERT_FALSE(r.empty());
  std::set<std::string> rules;
  double transitions = 0;
  for (const Sample& s : r) {
    ASSERT_EQ(s.labels.count("rule"), 1u) << SeriesId("abusewatch_transitions_total", s.labels);
    ASSERT_EQ(s.labels.count("state"), 1u) << SeriesId("abusewatch_transitions_total", s.labels);
    EXPECT_TRUE(s.labels.at("state") == "firing" || s.labels.at("state") == "resolved")
        << s.labels.at("state");
    EXPECT_FALSE(s.labels.at("rule").empty());
    rules.insert(s.labels.at("rule"));
    transitions += s.value;
    const std::string id = SeriesId("abusewatch_transitions_total", s.labels);
    ASSERT_EQ(own.count(id), 1u) << id;
    EXPECT_EQ(own.at(id), s.value) << id;
  }
  EXPECT_GT(rules.size(), 10u);
  EXPECT_GT(transitions, 100);
  EXPECT_TRUE(rules.count("art287_2_case") == 1 && rules.count("art12_2_settlement_total") == 1);

  // Build info: one series, value 1, the version `abusewatch --version` prints.
  r = QueryUntil("abusewatch_build_info",
                 [](const std::vector<Sample>& v) { return v.size() == 1; });
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].value, 1);
  const std::string version = r[0].labels["version"];
  EXPECT_FALSE(version.empty());
  {
    const std::string cmd =
        std::string(ABUSEWATCH_BINARY) + " --version > " + (dir_ / "version.txt").string();
    ASSERT_EQ(std::system(cmd.c_str()), 0);
    EXPECT_NE(Slurp(dir_ / "version.txt").find(version), std::string::npos)
        << "build_info version " << version << " vs " << Slurp(dir_ / "version.txt");
    const std::string allocator = r[0].labels["allocator"];
    EXPECT_FALSE(allocator.empty());
    EXPECT_NE(Slurp(dir_ / "version.txt").find("(malloc: " + allocator + ")"), std::string::npos)
        << "build_info allocator " << allocator << " vs " << Slurp(dir_ / "version.txt");
  }
  r = QueryUntil("abusewatch_config_info",
                 [](const std::vector<Sample>& v) { return v.size() == 1; });
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].value, 1);
  EXPECT_TRUE(std::regex_match(r[0].labels["sha256"], std::regex("[0-9a-f]{64}")))
      << r[0].labels["sha256"];

  // Watermark: event time inside the accepted events' range, as the daemon says.
  r = QueryUntil("abusewatch_watermark_seconds",
                 [](const std::vector<Sample>& v) { return v.size() == 1; });
  ASSERT_EQ(r.size(), 1u);
  EXPECT_GE(r[0].value, static_cast<double>(min_ms) / 1000 - 0.001);
  EXPECT_LE(r[0].value, static_cast<double>(max_ms) / 1000 + 0.001);
  EXPECT_EQ(r[0].value, own.at("abusewatch_watermark_seconds{}"));

  r = QueryUntil("abusewatch_ready", [](const std::vector<Sample>& v) { return v.size() == 1; });
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].value, 1);

  // Every abusewatch_ series Prometheus holds: the same set as the daemon's /metrics (nothing
  // lost or renamed by the scrape), and no label value that is an account or subject id.
  r = QueryUntil("{__name__=~\"abusewatch_.*\"}",
                 [](const std::vector<Sample>& v) { return !v.empty(); });
  const std::regex entity_id("(^|[^0-9A-Za-z])(acct|off|near|site|payer|dev|e)-[0-9A-Za-z]+");
  std::set<std::string> scraped, exposed;
  for (const Sample& s : r) {
    scraped.insert(SeriesId(s.labels.at("__name__"), s.labels));
    for (const auto& [k, v] : s.labels) {
      if (k == "__name__" || k == "job" || k == "instance") continue;
      EXPECT_EQ(v.find("acct-"), std::string::npos) << k << "=" << v;
      EXPECT_EQ(v.find("off-"), std::string::npos) << k << "=" << v;
      EXPECT_EQ(v.find("near-"), std::string::npos) << k << "=" << v;
      EXPECT_FALSE(std::regex_search(v, entity_id)) << k << "=" << v;
    }
  }
  for (const auto& [id, v] : own) {
    if (id.rfind("abusewatch_", 0) == 0) exposed.insert(id);
  }
  EXPECT_EQ(scraped, exposed);
  EXPECT_GT(scraped.size(), 50u);

  // Both stop cleanly on SIGTERM.
  EXPECT_EQ(prometheus_.Stop(seconds(30)), 0) << Logs();
  EXPECT_EQ(daemon_.Stop(seconds(30)), 0) << Logs();
  EXPECT_FALSE(daemon_.killed());
  // What Prometheus counted is what the daemon emitted: one transition per sink line.
  {
    std::istringstream in(Slurp(dir_ / "out.jsonl"));
    double emitted = 0;
    for (std::string l; std::getline(in, l);) emitted += l.empty() ? 0 : 1;
    EXPECT_EQ(emitted, transitions);
  }
  const double secs = std::chrono::duration<double>(steady_clock::now() - started).count();
  RecordProperty("seconds", std::to_string(secs));
  std::printf("real Prometheus test body took %.1f s\n", secs);
}

}  // namespace
}  // namespace abusewatch
