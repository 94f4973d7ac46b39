// `abusewatch run` with an Alertmanager sink against a REAL Alertmanager (Debian package
// prometheus-alertmanager): after the daemon has read the bundled sample to its end, Alertmanager
// lists exactly the notifying (rule, account) pairs whose last transition is firing — once each,
// with the stable labels — and none that the engine resolved.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <utility>

#include "daemon/sinks/alertmanager_sink.h"
#include "tests/daemon/daemon_process.h"
#include "tests/daemon/real_alertmanager.h"

namespace abusewatch {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

std::string FieldOf(const std::string& json, const std::string& name) {
  const size_t p = json.find("\"" + name + "\":\"");
  if (p == std::string::npos) return "";
  const size_t b = p + name.size() + 4;
  return json.substr(b, json.find('"', b) - b);
}

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
  return n;
}

TEST(AlertmanagerDaemonTest, FiringPairsAreActiveOnceAndResolvedOnesAreNot) {
  test::RealAlertmanager am;
  const std::string err = am.Start();
  ASSERT_EQ(err, "") << "cannot run a real Alertmanager: " << err;

  const fs::path dir = fs::temp_directory_path() / ("aw-amd-" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir / "aw.yaml") << "version: 1\ninclude: [" << ABUSEWATCH_SOURCE_DIR
                                 << "/config/packs/legal-cn-2019.yaml]\n"
                                 << "sources: [{type: file, path: " << ABUSEWATCH_SOURCE_DIR
                                 << "/config/samples/sample-stream.jsonl, follow: false}]\n"
                                 << "sinks:\n  - {type: alertmanager, url: \"http://127.0.0.1:"
                                 << am.port() << "\"}\n"
                                 << "  - {type: file, path: notify.jsonl, notify_only: true}\n"
                                 << "http: {enabled: false}\n";
  test::DaemonProcess daemon;
  ASSERT_TRUE(daemon.Start({"run", "--config", (dir / "aw.yaml").string()}, dir / "log.txt"));
  ASSERT_EQ(daemon.Wait(milliseconds(60000)), 0) << daemon.Log();

  // The last notifying transition of each (rule, account).
  std::map<std::pair<std::string, std::string>, std::string> last;
  for (const std::string& t : test::SplitLines(test::Slurp(dir / "notify.jsonl"))) {
    last[{FieldOf(t, "rule"), FieldOf(t, "key")}] = t;
  }
  ASSERT_GT(last.size(), 20u);
  size_t firing = 0, resolved = 0;
  for (const auto& [pair, t] : last) (FieldOf(t, "state") == "firing" ? firing : resolved)++;
  ASSERT_GT(firing, 5u);
  ASSERT_GT(resolved, 0u) << "the sample should resolve some alerts";

  const std::string body = test::PollAlerts(
      am.port(), [&](const std::string& b) { return Count(b, "\"fingerprint\"") == firing; });
  EXPECT_EQ(Count(body, "\"fingerprint\""), firing) << body.substr(0, 2000);
  for (const auto& [pair, t] : last) {
    const auto& [rule, account] = pair;
    // Alertmanager renders label maps with sorted keys.
    const std::string labels = "\"labels\":{\"account\":\"" + account + "\",\"alertname\":\"" +
                               rule + "\",\"clause\":\"" + ClauseForRuleId(rule) +
                               "\",\"severity\":\"" + FieldOf(t, "severity") + "\"}";
    if (FieldOf(t, "state") == "firing") {
      EXPECT_EQ(Count(body, labels), 1u) << labels;
    } else {
      EXPECT_EQ(Count(body, labels), 0u) << "resolved but still active: " << labels;
    }
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace abusewatch
