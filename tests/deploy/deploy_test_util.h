// Helpers of the deploy tests (tests/deploy/*_test.cc, see README.md), which check deploy/ with
// the real tools: paths, tool lookup (AW_REQUIRE_TOOL), commands run without a shell, child
// servers (Prometheus, Alertmanager, the daemon), temporary directories, the Dockerfile parser.
// Tools missing: GTEST_SKIP with what to install (a failure when the CI variable is set).
#ifndef ABUSEWATCH_TESTS_DEPLOY_DEPLOY_TEST_UTIL_H_
#define ABUSEWATCH_TESTS_DEPLOY_DEPLOY_TEST_UTIL_H_

#include <gtest/gtest.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <utility>  // before any Boost header (Boost 1.74 + GCC 12 + C++20)
#include <vector>

namespace abusewatch::deploy_test {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::steady_clock;

inline const fs::path kSource = ABUSEWATCH_SOURCE_DIR;
inline const fs::path kDeploy = kSource / "deploy";
inline constexpr const char* kPrometheus = "/usr/bin/prometheus";
inline constexpr const char* kAlertmanager = "/usr/bin/prometheus-alertmanager";

// The whole file ("" when it cannot be read).
std::string Slurp(const fs::path& p);

// Polls `cond` every 100 ms until it holds or `limit` has passed; its last value.
bool WaitFor(const std::function<bool()>& cond, seconds limit);

bool Executable(const std::string& path);

// Where `name` is on PATH, or "".
std::string Which(const std::string& name);

// A tool the test needs is missing: skip, or fail in CI.
#define AW_REQUIRE_TOOL(path, package)                                          \
  do {                                                                          \
    if ((path).empty() || !::abusewatch::deploy_test::Executable(path)) {       \
      const std::string why = std::string(#path) +                              \
                              " not found: install the Debian package " package \
                              " (or run `make deps`)";                          \
      if (std::getenv("CI") == nullptr) GTEST_SKIP() << why;                    \
      FAIL() << why;                                                            \
    }                                                                           \
  } while (0)

struct CmdResult {
  int code = -1;
  std::string output;  // stdout and stderr together
};

// Runs argv (no shell) with stdout+stderr captured; `env_add` ("NAME=value") is appended to
// this process's environment.
CmdResult RunCmd(const std::vector<std::string>& args,
                 const std::vector<std::string>& env_add = {});

std::string Join(const std::vector<std::string>& v, const std::string& sep = " ");

// A temporary directory, removed at destruction (`path` empty when it could not be made).
struct TempDir {
  TempDir();
  ~TempDir();
  fs::path path;
};

// A child process (stdout+stderr to a log), SIGTERM then SIGKILL at Stop()/destruction.
class Child {
 public:
  Child() = default;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child() { Stop(); }
  bool Spawn(const std::vector<std::string>& args, const fs::path& log);
  bool Running();
  // The exit code (128 + signal when killed by one).
  int Stop(seconds grace = seconds(15));

 private:
  pid_t pid_ = -1;
  int exit_ = -1;
};

// Starts `binary args... --web.listen-address=127.0.0.1:<port>` until GET /-/ready answers 200
// (3 attempts on fresh ports); the port, or 0 (with `error`).
uint16_t StartServer(Child* child, const std::string& binary, std::vector<std::string> args,
                     const fs::path& log, std::string* error);

// The instructions of one stage of the Dockerfile (continuation lines joined).
struct DockerStage {
  std::string from;
  std::vector<std::pair<std::string, std::string>> instructions;  // (KEYWORD, rest)
};

// The stages of a Dockerfile's text, in order (comments and blank lines dropped).
std::vector<DockerStage> ParseDockerfile(const std::string& text);

}  // namespace abusewatch::deploy_test

#endif  // ABUSEWATCH_TESTS_DEPLOY_DEPLOY_TEST_UTIL_H_
