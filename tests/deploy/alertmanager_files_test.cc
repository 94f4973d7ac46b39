// deploy/alertmanager/example.yml: amtool check-config and route tests, the example's inhibition
// in a real Alertmanager, and the rule ids it relies on against the legal pack.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdint>
#include <exception>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "tests/daemon/real_alertmanager.h"
#include "tests/deploy/deploy_test_util.h"

namespace abusewatch::deploy_test {
namespace {

TEST(DeployAlertmanagerFiles, AmtoolChecksConfigAndRoutes) {
  const std::string amtool = Which("amtool");
  AW_REQUIRE_TOOL(amtool, "prometheus-alertmanager");
  const std::string cfg = kDeploy / "alertmanager/example.yml";
  CmdResult r = RunCmd({amtool, "check-config", cfg});
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("SUCCESS"), std::string::npos) << r.output;
  // Where the daemon's alerts (labels of daemon/sinks/alertmanager_sink.h) and the self-alerts go.
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"alertname=art287_2_case", "severity=critical", "account=acct-1", "clause=art287-2"},
       "compliance-pager"},
      {{"alertname=art11_1_service_after_notice", "severity=critical", "account=acct-1",
        "clause=art11.1"},
       "compliance-pager"},
      {{"alertname=art11_3_fee_rate", "severity=warning", "account=acct-1", "clause=art11.3"},
       "trust-safety-chat"},
      {{"alertname=art12_2_settlement", "severity=warning", "account=acct-1", "clause=art12.1.2"},
       "compliance-chat"},
      {{"alertname=art12_p2_gains_x5", "severity=warning", "account=acct-1", "clause=art12.2"},
       "compliance-chat"},
      {{"alertname=AbusewatchDown", "severity=critical", "source=abusewatch-self",
        "instance=h:9464"},
       "noc-pager"},
      {{"alertname=AbusewatchNoEvents", "severity=warning", "source=abusewatch-self",
        "instance=h:9464"},
       "noc-chat"},
  };
  for (const auto& [labels, receiver] : cases) {
    std::vector<std::string> args = {amtool, "config", "routes", "test", "--config.file=" + cfg};
    args.insert(args.end(), labels.begin(), labels.end());
    r = RunCmd(args);
    EXPECT_EQ(r.code, 0) << Join(labels) << ": " << r.output;
    // The receiver list is the last line (warnings about --alertmanager.url come first).
    std::string last;
    std::istringstream in(r.output);
    for (std::string l; std::getline(in, l);) {
      if (!l.empty() && l.find("Warning") == std::string::npos) last = l;
    }
    EXPECT_EQ(last, receiver) << Join(labels) << ": " << r.output;
  }
}

// The example's inhibition, in a real Alertmanager: an art287_2_case alert for acct-1 silences
// the warnings of acct-1 only; critical art11.1 for acct-1 stays.
TEST(DeployAlertmanagerFiles, CaseInhibitsItsAccountsWarningsInRealAlertmanager) {
  std::string binary = kAlertmanager;
  AW_REQUIRE_TOOL(binary, "prometheus-alertmanager");
  TempDir dir;
  fs::create_directories(dir.path / "data");
  Child am;
  std::string error;
  const uint16_t port =
      StartServer(&am, binary,
                  {"--config.file=" + (kDeploy / "alertmanager/example.yml").string(),
                   "--storage.path=" + (dir.path / "data").string(),
                   "--cluster.listen-address=", "--log.level=warn"},
                  dir.path / "am.log", &error);
  ASSERT_NE(port, 0) << error;
  auto alert = [](const std::string& name, const std::string& severity, const std::string& account,
                  const std::string& clause) {
    return "{\"labels\":{\"alertname\":\"" + name + "\",\"severity\":\"" + severity +
           "\",\"account\":\"" + account + "\",\"clause\":\"" + clause + "\"}}";
  };
  const std::string body = "[" + alert("art287_2_case", "critical", "acct-1", "art287-2") + "," +
                           alert("art12_2_settlement", "warning", "acct-1", "art12.1.2") + "," +
                           alert("art11_3_fee_rate", "warning", "acct-1", "art11.3") + "," +
                           alert("art11_1_service_after_notice", "critical", "acct-1", "art11.1") +
                           "," + alert("art12_2_settlement", "warning", "acct-2", "art12.1.2") +
                           "]";
  ASSERT_EQ(test::HttpPostJson(port, "/api/v2/alerts", body), 200);
  // GET /api/v2/alerts: each alert with status.state active | suppressed and inhibitedBy.
  std::map<std::string, std::string> state;  // "<alertname>/<account>" -> state
  auto load = [&] {
    state.clear();
    const test::HttpResult r = test::HttpGet(port, "/api/v2/alerts");
    if (r.status != 200) return false;
    YAML::Node doc;
    try {
      doc = YAML::Load(r.body);
    } catch (const std::exception&) {
      return false;
    }
    for (const auto& a : doc) {
      state[a["labels"]["alertname"].as<std::string>() + "/" +
            a["labels"]["account"].as<std::string>()] = a["status"]["state"].as<std::string>();
    }
    return state.size() == 5 && state["art12_2_settlement/acct-1"] == "suppressed";
  };
  EXPECT_TRUE(WaitFor(load, seconds(30)));
  EXPECT_EQ(state["art287_2_case/acct-1"], "active");
  EXPECT_EQ(state["art12_2_settlement/acct-1"], "suppressed");
  EXPECT_EQ(state["art11_3_fee_rate/acct-1"], "suppressed");
  EXPECT_EQ(state["art11_1_service_after_notice/acct-1"], "active");
  EXPECT_EQ(state["art12_2_settlement/acct-2"], "active");
  EXPECT_EQ(am.Stop(), 0) << Slurp(dir.path / "am.log");
}

// The rule ids the example's comments and matchers rely on exist in the legal pack.
TEST(DeployAlertmanagerFiles, RuleIdsAndClausesMatchThePack) {
  const YAML::Node pack = YAML::LoadFile(kSource / "config/packs/legal-cn-2019.yaml");
  std::set<std::string> ids;
  for (const auto& r : pack["rules"]) ids.insert(r["id"].as<std::string>());
  const std::string example = Slurp(kDeploy / "alertmanager/example.yml");
  for (const char* id : {"art287_2_case", "art11_1_service_after_notice", "art12_2_settlement"}) {
    EXPECT_EQ(ids.count(id), 1u) << id;
    EXPECT_NE(example.find(id), std::string::npos) << id;
  }
  // Every clause-regex target of the inhibition covers the pack's warning rules: art11_*/art12_*.
  for (const auto& r : pack["rules"]) {
    const std::string id = r["id"].as<std::string>();
    if (r["severity"].as<std::string>() != "warning") continue;
    EXPECT_TRUE(id.rfind("art11_", 0) == 0 || id.rfind("art12_", 0) == 0)
        << id << ": a warning the art287_2_case inhibition does not cover";
  }
}

}  // namespace
}  // namespace abusewatch::deploy_test
