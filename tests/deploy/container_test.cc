// deploy/container/Dockerfile: linted, its runtime stage's COPY steps replayed into a temporary
// root (no container builder here), and built only where `docker info` / `podman info` works.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/deploy/deploy_test_util.h"

namespace abusewatch::deploy_test {
namespace {

TEST(DeployContainer, DockerfileLint) {
  const std::string text = Slurp(kDeploy / "container/Dockerfile");
  const std::vector<DockerStage> stages = ParseDockerfile(text);
  ASSERT_EQ(stages.size(), 2u) << "multi-stage: build, then runtime";
  EXPECT_EQ(stages[0].from, "debian:12-slim AS build");
  EXPECT_EQ(stages[1].from, "debian:12-slim");
  std::map<std::string, std::vector<std::string>> runtime;
  for (const auto& [kw, rest] : stages[1].instructions) runtime[kw].push_back(rest);
  std::string build_run;
  for (const auto& [kw, rest] : stages[0].instructions) {
    if (kw == "RUN") build_run += rest + "\n";
  }
  EXPECT_NE(build_run.find("cmake -S . -B /build"), std::string::npos);
  EXPECT_NE(build_run.find("-DABUSEWATCH_BUILD_TESTS=OFF"), std::string::npos);
  // The runtime stage: no compiler, no -dev package.
  for (const auto& r : runtime["RUN"]) {
    EXPECT_EQ(r.find("-dev"), std::string::npos) << r;
    EXPECT_EQ(r.find(" g++"), std::string::npos) << r;
  }
  ASSERT_EQ(runtime["USER"].size(), 1u);
  EXPECT_NE(runtime["USER"][0].rfind("root", 0), 0u);
  EXPECT_NE(runtime["USER"][0].rfind("0", 0), 0u) << runtime["USER"][0];
  ASSERT_EQ(runtime["VOLUME"].size(), 1u);
  EXPECT_EQ(runtime["VOLUME"][0], "/var/lib/abusewatch");
  ASSERT_EQ(runtime["EXPOSE"].size(), 1u);
  EXPECT_EQ(runtime["EXPOSE"][0], "9464");
  ASSERT_EQ(runtime["HEALTHCHECK"].size(), 1u);
  EXPECT_NE(runtime["HEALTHCHECK"][0].find("/healthz"), std::string::npos);
  ASSERT_EQ(runtime["ENTRYPOINT"].size(), 1u);
  EXPECT_EQ(runtime["ENTRYPOINT"][0], "[\"/usr/local/bin/abusewatch\"]") << "exec form: PID 1";
  // Every library the built binary links directly (its NEEDED entries) comes from a package the
  // runtime stage installs, or from the base image's C/C++ runtime. The packages are looked up
  // with dpkg, so a new dependency cannot be forgotten here or in the Dockerfile.
  const CmdResult readelf = RunCmd({"readelf", "-d", ABUSEWATCH_BINARY});
  ASSERT_EQ(readelf.code, 0) << readelf.output;
  const std::string runtime_run = " " + Join(runtime["RUN"]) + " ";
  const std::set<std::string> base_image = {"libc6", "libgcc-s1", "libstdc++6"};
  int needed = 0;
  std::istringstream lines(readelf.output);
  for (std::string line; std::getline(lines, line);) {
    const size_t tag = line.find("(NEEDED)");
    const size_t open = line.find('[');
    const size_t close = line.rfind(']');
    if (tag == std::string::npos || open == std::string::npos || close <= open) continue;
    const std::string soname = line.substr(open + 1, close - open - 1);
    ++needed;
    const CmdResult owner = RunCmd({"dpkg", "-S", "*/" + soname});
    ASSERT_EQ(owner.code, 0) << soname << ": " << owner.output;
    const std::string package = owner.output.substr(0, owner.output.find_first_of(":,"));
    if (base_image.count(package) != 0) continue;
    // A sanitizer build (make test runs this suite under ASan/UBSan too) links the sanitizer
    // runtimes; the image's build does not.
    if (soname.rfind("libasan.", 0) == 0 || soname.rfind("libubsan.", 0) == 0) continue;
    EXPECT_NE(runtime_run.find(" " + package + " "), std::string::npos)
        << soname << " needs the runtime package " << package;
  }
  EXPECT_GE(needed, 10) << readelf.output;
  // The container's own config listens on every interface and keeps state on the volume.
  const YAML::Node cfg = YAML::LoadFile(kDeploy / "container/abusewatch.yaml");
  EXPECT_EQ(cfg["http"]["listen"].as<std::string>(), "0.0.0.0:9464");
  EXPECT_EQ(cfg["state"]["dir"].as<std::string>().rfind("/var/lib/abusewatch/", 0), 0u);
}

// No builder here: the runtime stage's COPY steps replayed into a temporary root on the host,
// then the image's config checked where the image would have it.
TEST(DeployContainer, RuntimeStageCopiesGiveAValidConfig) {
  const std::vector<DockerStage> stages = ParseDockerfile(Slurp(kDeploy / "container/Dockerfile"));
  ASSERT_EQ(stages.size(), 2u);
  TempDir dir;
  const fs::path root = dir.path / "image";
  int copies = 0;
  for (const auto& [kw, rest] : stages[1].instructions) {
    if (kw != "COPY") continue;
    std::istringstream in(rest);
    std::vector<std::string> words;
    for (std::string w; in >> w;) words.push_back(w);
    ASSERT_EQ(words.size() >= 2, true) << rest;
    std::string src = words[words.size() - 2];
    const std::string dst = words.back();
    fs::path from = kSource / src;
    if (words[0] == "--from=build") from = ABUSEWATCH_BINARY;  // /build/abusewatch
    ASSERT_TRUE(fs::exists(from)) << rest;
    const fs::path to = root / dst.substr(1);
    if (fs::is_directory(from)) {
      fs::create_directories(to);
      fs::copy(from, to, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
    } else {
      fs::create_directories(dst.back() == '/' ? to : to.parent_path());
      fs::copy_file(from, dst.back() == '/' ? to / from.filename() : to,
                    fs::copy_options::overwrite_existing);
    }
    ++copies;
  }
  EXPECT_GE(copies, 4);
  const CmdResult r = RunCmd({(root / "usr/local/bin/abusewatch").string(), "check-config",
                              (root / "etc/abusewatch/abusewatch.yaml").string()});
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(fs::exists(root / "usr/share/abusewatch/samples/sample-stream.jsonl"));
}

TEST(DeployContainer, DockerBuildWhereABuilderIsAvailable) {
  std::string builder;
  for (const char* b : {"docker", "podman"}) {
    const std::string p = Which(b);
    if (!p.empty() && RunCmd({p, "info"}).code == 0) {
      builder = p;
      break;
    }
  }
  if (builder.empty() || std::getenv("ABUSEWATCH_SKIP_IMAGE_BUILD") != nullptr) {
    GTEST_SKIP() << "no working container builder (docker/podman info fails): the Dockerfile is "
                    "linted and its runtime COPY steps replayed on the host instead";
  }
  const CmdResult r = RunCmd({builder, "build", "-f", (kDeploy / "container/Dockerfile").string(),
                              "-t", "abusewatch:deploy-test", kSource.string()});
  EXPECT_EQ(r.code, 0) << r.output.substr(r.output.size() > 6000 ? r.output.size() - 6000 : 0);
}

}  // namespace
}  // namespace abusewatch::deploy_test
