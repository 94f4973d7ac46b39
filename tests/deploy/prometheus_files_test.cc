// deploy/prometheus/ checked with promtool (check rules / check config / test rules), and every
// alert's labels, annotations and runbook section (docs/runbook.md).
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <cctype>
#include <set>
#include <sstream>
#include <string>

#include "tests/deploy/deploy_test_util.h"

namespace abusewatch::deploy_test {
namespace {

TEST(DeployPrometheusFiles, PromtoolChecksRulesAndConfig) {
  const std::string promtool = Which("promtool");
  AW_REQUIRE_TOOL(promtool, "prometheus");
  CmdResult r = RunCmd({promtool, "check", "rules", (kDeploy / "prometheus/abusewatch-rules.yml")});
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("SUCCESS"), std::string::npos) << r.output;
  // The scrape config names the rules file relative to itself: promtool loads it too.
  r = RunCmd({promtool, "check", "config", (kDeploy / "prometheus/prometheus.yml")});
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("1 rule files found"), std::string::npos) << r.output;
}

TEST(DeployPrometheusFiles, EveryAlertHasSeverityRunbookAndRunbookSection) {
  const YAML::Node rules = YAML::LoadFile(kDeploy / "prometheus/abusewatch-rules.yml");
  const std::string runbook = Slurp(kSource / "docs/runbook.md");
  ASSERT_FALSE(runbook.empty());
  // GitHub-style anchors of the runbook's headings.
  std::set<std::string> anchors;
  {
    std::istringstream in(runbook);
    for (std::string l; std::getline(in, l);) {
      if (l.rfind("#", 0) != 0) continue;
      std::string text = l.substr(l.find_first_not_of('#'));
      std::string a;
      for (char c : text) {
        if (std::isalnum(static_cast<unsigned char>(c))) a += static_cast<char>(std::tolower(c));
        if (c == ' ' || c == '-') a += '-';
        if (c == '_') a += '_';
      }
      while (!a.empty() && a.front() == '-') a.erase(a.begin());
      anchors.insert(a);
    }
  }
  std::set<std::string> names;
  for (const auto& group : rules["groups"]) {
    for (const auto& rule : group["rules"]) {
      const std::string alert = rule["alert"].as<std::string>();
      EXPECT_TRUE(names.insert(alert).second) << "duplicate alert " << alert;
      const std::string severity = rule["labels"]["severity"].as<std::string>("");
      EXPECT_TRUE(severity == "critical" || severity == "warning" || severity == "info")
          << alert << ": severity " << severity;
      EXPECT_EQ(rule["labels"]["source"].as<std::string>(""), "abusewatch-self") << alert;
      const std::string url = rule["annotations"]["runbook_url"].as<std::string>("");
      const size_t hash = url.find("/docs/runbook.md#");
      ASSERT_NE(hash, std::string::npos) << alert << ": runbook_url " << url;
      const std::string anchor = url.substr(url.find('#') + 1);
      EXPECT_EQ(anchor, [&] {
        std::string lower;
        for (char c : alert) lower += static_cast<char>(std::tolower(c));
        return lower;
      }()) << alert;
      EXPECT_EQ(anchors.count(anchor), 1u)
          << alert << ": no heading for #" << anchor << " in docs/runbook.md";
      EXPECT_FALSE(rule["annotations"]["summary"].as<std::string>("").empty()) << alert;
    }
  }
  // What the issue asks for, at least.
  for (const char* want : {"AbusewatchDown", "AbusewatchNotReady", "AbusewatchConsumerLagGrowing",
                           "AbusewatchNoEvents", "AbusewatchRejectsSpiking",
                           "AbusewatchAlertDeliveryFailing", "AbusewatchCheckpointStale",
                           "AbusewatchCheckpointFailing", "AbusewatchConfigReloadFailed"}) {
    EXPECT_EQ(names.count(want), 1u) << want;
  }
}

TEST(DeployPrometheusFiles, PromtoolRuleUnitTests) {
  const std::string promtool = Which("promtool");
  AW_REQUIRE_TOOL(promtool, "prometheus");
  const CmdResult r =
      RunCmd({promtool, "test", "rules", (kDeploy / "prometheus/abusewatch-rules.test.yml")});
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("SUCCESS"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace abusewatch::deploy_test
