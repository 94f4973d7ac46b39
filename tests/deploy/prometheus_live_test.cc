// The daemon (file source on a generated stream, durable state, HTTP port 0) scraped by a real
// Prometheus loaded with the shipped scrape config and rules: every metric name the rules and the
// Grafana dashboard query exists, the rule groups load and evaluate without error, every
// dashboard query parses, and the image's HEALTHCHECK command passes against it.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <string_view>
#include <utility>  // before any Boost header (Boost 1.74 + GCC 12 + C++20)
#include <vector>

#include "tests/daemon/real_alertmanager.h"
#include "tests/deploy/deploy_test_util.h"

namespace abusewatch::deploy_test {
namespace {

// Metrics the shipped rules/dashboard may query although this test's daemon cannot export them,
// each with the reason. Nothing else may be missing.
const std::map<std::string, std::string> kExempt = {
    {"abusewatch_consumer_lag", "Kafka sources only (one series per assigned partition)"},
};

// Every abusewatch_* name in `text`, plus `up` when queried.
std::set<std::string> MetricNames(const std::string& text) {
  std::set<std::string> out;
  static const std::regex name("abusewatch_[a-z_]+");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), name); it != std::sregex_iterator();
       ++it) {
    out.insert(it->str());
  }
  static const std::regex up("(^|[^A-Za-z0-9_])up\\{");
  if (std::regex_search(text, up)) out.insert("up");
  return out;
}

// PromQL expressions of a Grafana dashboard: panel targets and query variables.
void DashboardExprs(const YAML::Node& n, std::vector<std::string>* out) {
  if (n.IsMap()) {
    for (const auto& kv : n) {
      const std::string key = kv.first.as<std::string>();
      if ((key == "expr" || key == "definition") && kv.second.IsScalar()) {
        out->push_back(kv.second.as<std::string>());
      } else {
        DashboardExprs(kv.second, out);
      }
    }
  } else if (n.IsSequence()) {
    for (const auto& e : n) DashboardExprs(e, out);
  }
}

// Grafana's variables replaced by values Prometheus accepts.
std::string ExpandGrafana(std::string e) {
  const std::vector<std::pair<std::string, std::string>> vars = {
      {"$__rate_interval", "1m"}, {"$__interval", "15s"}, {"$__range", "1h"},
      {"${datasource}", ""},      {"$job", ".*"},         {"$instance", ".*"}};
  for (const auto& [from, to] : vars) {
    for (size_t p; (p = e.find(from)) != std::string::npos;) e.replace(p, from.size(), to);
  }
  return e;
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

TEST(DeployPrometheusLive, EveryMetricTheRulesAndDashboardQueryExists) {
  AW_REQUIRE_TOOL(std::string(kPrometheus), "prometheus");
  TempDir dir;
  ASSERT_FALSE(dir.path.empty());

  // Names queried by the rules and the dashboard.
  const std::string rules_text = Slurp(kDeploy / "prometheus/abusewatch-rules.yml");
  const std::string dash_text = Slurp(kDeploy / "grafana/abusewatch.json");
  ASSERT_FALSE(rules_text.empty());
  ASSERT_FALSE(dash_text.empty());
  const YAML::Node dash = YAML::Load(dash_text);  // JSON is YAML
  std::vector<std::string> dash_exprs;
  DashboardExprs(dash, &dash_exprs);
  ASSERT_GT(dash_exprs.size(), 20u);
  std::set<std::string> wanted = MetricNames(rules_text);
  for (const auto& e : dash_exprs) {
    for (const auto& n : MetricNames(e)) wanted.insert(n);
  }
  // What the issue lists for the dashboard, at least.
  for (const char* n :
       {"abusewatch_events_total", "abusewatch_events_rejected_total",
        "abusewatch_transitions_total", "abusewatch_alerts_firing", "abusewatch_consumer_lag",
        "abusewatch_event_processing_seconds_bucket", "abusewatch_state_keys",
        "abusewatch_state_hot_keys", "abusewatch_state_store_bytes",
        "abusewatch_resident_memory_bytes", "abusewatch_checkpoint_timestamp_seconds",
        "abusewatch_checkpoint_duration_seconds", "abusewatch_alerts_sent_total", "up"}) {
    EXPECT_EQ(wanted.count(n), 1u) << n;
  }

  // The daemon: a generated stream, followed; durable state; any free port.
  const fs::path events = dir.path / "events.jsonl";
  CmdResult r = RunCmd({ABUSEWATCH_BINARY, "gen", "--events", "20000", "--bad-fraction", "0.01",
                        "--output", events.string()});
  ASSERT_EQ(r.code, 0) << r.output;
  std::ofstream(dir.path / "aw.yaml")
      << "version: 1\ninclude: [" << kSource.string() << "/config/packs/legal-cn-2019.yaml]\n"
      << "sources: [{type: file, path: " << events.string() << ", follow: true}]\n"
      << "sinks: [{type: file, path: out.jsonl}]\n"
      << "dead_letter: {type: file, path: dead.jsonl}\n"
      << "http: {listen: \"127.0.0.1:0\"}\n"
      << "state: {dir: " << (dir.path / "state").string() << ", checkpoint_interval: 1s}\n";
  Child daemon;
  ASSERT_TRUE(daemon.Spawn({ABUSEWATCH_BINARY, "run", "--config", (dir.path / "aw.yaml").string()},
                           dir.path / "daemon.log"));
  auto daemon_port = [&] {
    const std::string log = Slurp(dir.path / "daemon.log");
    const size_t p = log.find("on http://127.0.0.1:");
    return p == std::string::npos ? 0 : std::atoi(log.c_str() + p + 20);
  };
  ASSERT_TRUE(WaitFor([&] { return daemon_port() > 0 || !daemon.Running(); }, seconds(60)));
  const int port = daemon_port();
  ASSERT_GT(port, 0) << Slurp(dir.path / "daemon.log");
  // Until the whole stream is consumed and a checkpoint was taken.
  ASSERT_TRUE(WaitFor(
      [&] {
        const test::HttpResult m = test::HttpGet(static_cast<uint16_t>(port), "/metrics");
        return m.status == 200 &&
               m.body.find("abusewatch_checkpoints_total{result=\"ok\"} 0") == std::string::npos &&
               m.body.find("abusewatch_ready 1") != std::string::npos;
      },
      seconds(120)))
      << Slurp(dir.path / "daemon.log");

  // The image's HEALTHCHECK command, against this daemon's port.
  {
    const std::vector<DockerStage> stages =
        ParseDockerfile(Slurp(kDeploy / "container/Dockerfile"));
    std::string hc;
    for (const auto& [kw, rest] : stages.back().instructions) {
      if (kw == "HEALTHCHECK") hc = rest;
    }
    const size_t open = hc.find("CMD [");
    ASSERT_NE(open, std::string::npos) << hc;
    const YAML::Node argv = YAML::Load(hc.substr(open + 4));  // a JSON array
    std::vector<std::string> args;
    for (const auto& a : argv) {
      std::string s = a.as<std::string>();
      for (size_t p; (p = s.find("/9464")) != std::string::npos;) {
        s.replace(p, 5, "/" + std::to_string(port));
      }
      args.push_back(s);
    }
    ASSERT_GE(args.size(), 3u);
    r = RunCmd(args);
    EXPECT_EQ(r.code, 0) << "HEALTHCHECK failed against a healthy daemon: " << r.output;
    // And it fails when nothing listens.
    std::vector<std::string> dead = args;
    const std::string free_port = std::to_string(test::FreePort());
    for (auto& s : dead) {
      const std::string from = "/" + std::to_string(port);
      for (size_t p; (p = s.find(from)) != std::string::npos;)
        s.replace(p, from.size(), "/" + free_port);
    }
    EXPECT_NE(RunCmd(dead).code, 0) << "HEALTHCHECK passes with nothing listening";
  }

  // Prometheus with the shipped scrape config: the target and rules path adjusted, scrape and
  // evaluation every second, no Alertmanager.
  YAML::Node prom = YAML::LoadFile(kDeploy / "prometheus/prometheus.yml");
  prom["global"]["scrape_interval"] = "1s";
  prom["global"]["evaluation_interval"] = "1s";
  prom.remove("alerting");
  YAML::Node rule_files;
  for (const auto& f : prom["rule_files"]) {
    rule_files.push_back((kDeploy / "prometheus" / f.as<std::string>()).string());
  }
  prom["rule_files"] = rule_files;
  ASSERT_EQ(prom["scrape_configs"].size(), 1u);
  YAML::Node job = prom["scrape_configs"][0];
  ASSERT_EQ(job["job_name"].as<std::string>(), "abusewatch")
      << "the rules select job=\"abusewatch\"";
  job["scrape_interval"] = "1s";
  job["scrape_timeout"] = "1s";
  job["static_configs"][0]["targets"][0] = "127.0.0.1:" + std::to_string(port);
  {
    YAML::Emitter out;
    out << prom;
    std::ofstream(dir.path / "prometheus.yml") << out.c_str() << "\n";
  }
  fs::create_directories(dir.path / "tsdb");
  Child prometheus;
  std::string error;
  const uint16_t prom_port =
      StartServer(&prometheus, kPrometheus,
                  {"--config.file=" + (dir.path / "prometheus.yml").string(),
                   "--storage.tsdb.path=" + (dir.path / "tsdb").string(), "--log.level=warn"},
                  dir.path / "prometheus.log", &error);
  ASSERT_NE(prom_port, 0) << error;

  auto query_ok = [&](const std::string& promql, YAML::Node* result, std::string* why) {
    const test::HttpResult q =
        test::HttpGet(prom_port, "/api/v1/query?query=" + UrlEncode(promql), false);
    try {
      const YAML::Node doc = YAML::Load(q.body);
      if (q.status == 200 && doc["status"].as<std::string>("") == "success") {
        if (result != nullptr) *result = doc["data"]["result"];
        return true;
      }
    } catch (const std::exception&) {
    }
    *why = "HTTP " + std::to_string(q.status) + ": " + q.body.substr(0, 500);
    return false;
  };
  // Until a scrape succeeded.
  std::string why;
  ASSERT_TRUE(WaitFor(
      [&] {
        YAML::Node res;
        return query_ok("up{job=\"abusewatch\"} == 1", &res, &why) && res.size() == 1;
      },
      seconds(60)))
      << why << Slurp(dir.path / "prometheus.log");

  // Every metric name Prometheus holds.
  std::set<std::string> names;
  {
    const test::HttpResult q = test::HttpGet(prom_port, "/api/v1/label/__name__/values", false);
    ASSERT_EQ(q.status, 200) << q.body;
    const YAML::Node doc = YAML::Load(q.body);
    for (const auto& n : doc["data"]) names.insert(n.as<std::string>());
  }
  for (const std::string& n : wanted) {
    if (kExempt.count(n) != 0) {
      std::printf("exempt: %s (%s)\n", n.c_str(), kExempt.at(n).c_str());
      continue;
    }
    EXPECT_EQ(names.count(n), 1u) << n << " is queried by the rules or the dashboard but the "
                                  << "daemon does not export it";
  }

  // Every dashboard query parses and evaluates.
  for (const auto& e : dash_exprs) {
    std::string expr = ExpandGrafana(e);
    // label_values(metric, label) is Grafana's, not PromQL: query its metric selector.
    if (expr.rfind("label_values(", 0) == 0) {
      expr = expr.substr(13, expr.rfind(',') - 13);
    }
    EXPECT_TRUE(query_ok(expr, nullptr, &why)) << e << "\n" << why;
  }

  // The rules file loaded: every group, every rule evaluated without error.
  std::set<std::string> want_groups;
  size_t want_rules = 0;
  for (const auto& g : YAML::LoadFile(kDeploy / "prometheus/abusewatch-rules.yml")["groups"]) {
    want_groups.insert(g["name"].as<std::string>());
    want_rules += g["rules"].size();
  }
  std::set<std::string> groups;
  size_t healthy = 0;
  std::string bad;
  EXPECT_TRUE(WaitFor(
      [&] {
        groups.clear();
        healthy = 0;
        bad.clear();
        const test::HttpResult q = test::HttpGet(prom_port, "/api/v1/rules", false);
        if (q.status != 200) return false;
        const YAML::Node doc = YAML::Load(q.body);
        for (const auto& g : doc["data"]["groups"]) {
          groups.insert(g["name"].as<std::string>());
          for (const auto& rule : g["rules"]) {
            const std::string health = rule["health"].as<std::string>("");
            if (health == "ok") ++healthy;
            if (health == "err") {
              bad += rule["name"].as<std::string>() + ": " + rule["lastError"].as<std::string>("") +
                     "\n";
            }
          }
        }
        return groups == want_groups && healthy == want_rules;
      },
      seconds(60)))
      << "healthy " << healthy << " of " << want_rules << "\n"
      << bad;
  EXPECT_EQ(groups, want_groups);
  EXPECT_EQ(bad, "");

  // With the daemon up, ready, checkpointing and delivering, none of the self-alerts that
  // can be decided within this test fires.
  YAML::Node firing;
  ASSERT_TRUE(query_ok("ALERTS{alertstate=\"firing\"}", &firing, &why)) << why;
  for (const auto& a : firing) {
    const std::string name = a["metric"]["alertname"].as<std::string>();
    EXPECT_TRUE(name != "AbusewatchDown" && name != "AbusewatchAlertDeliveryFailing" &&
                name != "AbusewatchCheckpointFailing" && name != "AbusewatchConfigReloadFailed")
        << name;
  }

  EXPECT_EQ(prometheus.Stop(seconds(30)), 0) << Slurp(dir.path / "prometheus.log");
  EXPECT_EQ(daemon.Stop(seconds(30)), 0) << Slurp(dir.path / "daemon.log");
}

}  // namespace
}  // namespace abusewatch::deploy_test
