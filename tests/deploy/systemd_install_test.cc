// deploy/systemd/abusewatch.service linted and checked with systemd-analyze verify (skipped when
// absent), and `make install DESTDIR=...` on the host.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <string>
#include <vector>

#include "tests/deploy/deploy_test_util.h"

namespace abusewatch::deploy_test {
namespace {

TEST(DeploySystemd, UnitHasTheHardeningAndRestartPolicy) {
  const std::string unit = Slurp(kDeploy / "systemd/abusewatch.service");
  for (const char* line :
       {"Type=exec", "User=abusewatch", "StateDirectory=abusewatch",
        "ConfigurationDirectory=abusewatch", "NoNewPrivileges=yes", "ProtectSystem=strict",
        "ProtectHome=yes", "PrivateTmp=yes", "CapabilityBoundingSet=\n",
        "ReadWritePaths=/var/lib/abusewatch", "ExecReload=/bin/kill -HUP $MAINPID",
        "Restart=on-failure", "RestartSec=", "TimeoutStopSec=60",
        "ExecStart=/usr/local/bin/abusewatch run --config /etc/abusewatch/abusewatch.yaml"}) {
    EXPECT_NE(unit.find(line), std::string::npos) << line;
  }
  // No sd_notify in the daemon: Type=notify / WatchdogSec would fail a healthy daemon.
  EXPECT_EQ(unit.find("\nType=notify"), std::string::npos);
  EXPECT_EQ(unit.find("\nWatchdogSec"), std::string::npos);
  // The production config keeps its state where the unit lets it write.
  const YAML::Node cfg = YAML::LoadFile(kDeploy / "abusewatch.yaml");
  EXPECT_EQ(cfg["state"]["dir"].as<std::string>(), "/var/lib/abusewatch/state");
  EXPECT_EQ(cfg["http"]["listen"].as<std::string>(), "127.0.0.1:9464");
}

TEST(DeploySystemd, SystemdAnalyzeVerifiesTheUnit) {
  // Not in `make deps` (the systemd package is not needed to build or run abusewatch, and
  // installing it into a container image is not free): skipped, even in CI, when missing.
  const std::string analyze = Which("systemd-analyze");
  if (analyze.empty()) {
    GTEST_SKIP() << "systemd-analyze not found (Debian package systemd): the unit is only "
                    "linted by UnitHasTheHardeningAndRestartPolicy";
  }
  // verify checks that ExecStart's binary exists: point the copy at the built one.
  TempDir dir;
  std::string unit = Slurp(kDeploy / "systemd/abusewatch.service");
  for (size_t p; (p = unit.find("/usr/local/bin/abusewatch")) != std::string::npos;) {
    unit.replace(p, 25, ABUSEWATCH_BINARY);
  }
  std::ofstream(dir.path / "abusewatch.service") << unit;
  const CmdResult r =
      RunCmd({analyze, "verify", "--man=no", (dir.path / "abusewatch.service").string()},
             {"SYSTEMD_LOG_LEVEL=notice"});
  EXPECT_EQ(r.code, 0) << r.output;
  // systemd-analyze only warns (exit 0) about unknown keys or bad values: none allowed.
  EXPECT_EQ(r.output.find("abusewatch.service"), std::string::npos) << r.output;
}

TEST(DeployInstall, MakeInstallIntoDestdir) {
  const std::string make = Which("make");
  AW_REQUIRE_TOOL(make, "make");
  TempDir dir;
  const fs::path root = dir.path / "root";
  const std::string bin_dir = fs::path(ABUSEWATCH_BINARY).parent_path().string();
  const std::vector<std::string> args = {make,
                                         "--no-print-directory",
                                         "-C",
                                         kSource.string(),
                                         "install",
                                         "DESTDIR=" + root.string(),
                                         "BUILD=" + bin_dir};
  CmdResult r = RunCmd(args);
  ASSERT_EQ(r.code, 0) << r.output;
  for (const char* f :
       {"usr/local/bin/abusewatch", "usr/local/lib/systemd/system/abusewatch.service",
        "usr/lib/sysusers.d/abusewatch.conf", "etc/abusewatch/abusewatch.yaml",
        "etc/abusewatch/packs/legal-cn-2019.yaml",
        "usr/local/share/abusewatch/prometheus/abusewatch-rules.yml",
        "usr/local/share/abusewatch/prometheus/prometheus.yml",
        "usr/local/share/abusewatch/alertmanager/example.yml",
        "usr/local/share/abusewatch/grafana/abusewatch.json",
        "usr/local/share/doc/abusewatch/runbook.md"}) {
    EXPECT_TRUE(fs::exists(root / f)) << f << "\n" << r.output;
  }
  EXPECT_TRUE(Executable(root / "usr/local/bin/abusewatch"));
  // The installed config is valid as installed (its include resolves to the installed pack).
  r = RunCmd({(root / "usr/local/bin/abusewatch").string(), "check-config",
              (root / "etc/abusewatch/abusewatch.yaml").string()});
  EXPECT_EQ(r.code, 0) << r.output;
  // A second install keeps an edited config and puts the new one next to it.
  { std::ofstream(root / "etc/abusewatch/abusewatch.yaml", std::ios::app) << "# edited\n"; }
  r = RunCmd(args);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(Slurp(root / "etc/abusewatch/abusewatch.yaml").find("# edited"), std::string::npos);
  EXPECT_TRUE(fs::exists(root / "etc/abusewatch/abusewatch.yaml.dist")) << r.output;
  EXPECT_FALSE(fs::exists(root / "etc/abusewatch/packs/legal-cn-2019.yaml.dist")) << r.output;
  // PREFIX moves the binary, and the unit follows it.
  const fs::path root2 = dir.path / "root2";
  std::vector<std::string> args2 = args;
  args2[5] = "DESTDIR=" + root2.string();
  args2.push_back("PREFIX=/usr");
  r = RunCmd(args2);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(Executable(root2 / "usr/bin/abusewatch"));
  const std::string unit = Slurp(root2 / "usr/lib/systemd/system/abusewatch.service");
  EXPECT_NE(unit.find("ExecStart=/usr/bin/abusewatch run"), std::string::npos) << unit;
  EXPECT_EQ(unit.find("/usr/local/bin"), std::string::npos) << unit;
}

}  // namespace
}  // namespace abusewatch::deploy_test
