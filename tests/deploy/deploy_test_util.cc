// Helpers of the deploy tests: see deploy_test_util.h.
#include "tests/deploy/deploy_test_util.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <utility>  // before any Boost header (Boost 1.74 + GCC 12 + C++20)
#include <vector>

#include "tests/daemon/real_alertmanager.h"

extern char** environ;

namespace abusewatch::deploy_test {

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

bool Executable(const std::string& path) { return ::access(path.c_str(), X_OK) == 0; }

// Where `name` is on PATH, or "".
std::string Which(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::istringstream in(path == nullptr ? "/usr/bin:/bin" : path);
  for (std::string dir; std::getline(in, dir, ':');) {
    const std::string p = dir + "/" + name;
    if (!dir.empty() && Executable(p)) return p;
  }
  return "";
}

// Runs argv (no shell) with stdout+stderr captured.
CmdResult RunCmd(const std::vector<std::string>& args, const std::vector<std::string>& env_add) {
  char tmpl[] = "/tmp/aw_deploy_out_XXXXXX";
  const int fd = ::mkstemp(tmpl);
  CmdResult r;
  if (fd < 0) return r;
  std::vector<std::string> copy = args;
  std::vector<char*> argv;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_copy;
  for (char** e = environ; *e != nullptr; ++e) env_copy.emplace_back(*e);
  for (const auto& e : env_add) env_copy.push_back(e);
  std::vector<char*> envp;
  for (auto& e : env_copy) envp.push_back(e.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fd, 1);
  posix_spawn_file_actions_adddup2(&fa, fd, 2);
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, argv[0], &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  ::close(fd);
  if (rc == 0) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  } else {
    r.output = "posix_spawnp failed: " + std::to_string(rc);
  }
  r.output += Slurp(tmpl);
  ::unlink(tmpl);
  return r;
}

std::string Join(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

TempDir::TempDir() {
  char tmpl[] = "/tmp/aw_deploy_XXXXXX";
  path = ::mkdtemp(tmpl) == nullptr ? fs::path() : fs::path(tmpl);
}

TempDir::~TempDir() {
  std::error_code ec;
  if (!path.empty()) fs::remove_all(path, ec);
}

bool Child::Spawn(const std::vector<std::string>& args, const fs::path& log) {
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

bool Child::Running() {
  if (pid_ <= 0) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = -1;
    exit_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return false;
  }
  return true;
}

int Child::Stop(seconds grace) {
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
  exit_ = 128 + SIGKILL;
  return exit_;
}

// Starts `binary args... --web.listen-address=127.0.0.1:<port>` until GET /-/ready answers 200
// (3 attempts on fresh ports); the port, or 0 (with `error`).
uint16_t StartServer(Child* child, const std::string& binary, std::vector<std::string> args,
                     const fs::path& log, std::string* error) {
  for (int attempt = 0; attempt < 3; ++attempt) {
    const uint16_t port = test::FreePort();
    std::vector<std::string> all = {binary};
    all.insert(all.end(), args.begin(), args.end());
    all.push_back("--web.listen-address=127.0.0.1:" + std::to_string(port));
    if (!child->Spawn(all, log)) {
      *error = "posix_spawn of " + binary + " failed";
      return 0;
    }
    const auto deadline = steady_clock::now() + seconds(60);
    while (steady_clock::now() < deadline) {
      if (!child->Running()) break;  // port taken? retry
      if (test::HttpGet(port, "/-/ready").status == 200) return port;
      std::this_thread::sleep_for(milliseconds(100));
    }
    if (child->Running()) {
      *error = binary + " did not become ready: " + Slurp(log).substr(0, 3000);
      return 0;
    }
  }
  *error = binary + " exited at start: " + Slurp(log).substr(0, 3000);
  return 0;
}

std::vector<DockerStage> ParseDockerfile(const std::string& text) {
  std::vector<DockerStage> stages;
  std::istringstream in(text);
  std::string logical;
  auto flush = [&] {
    const size_t start = logical.find_first_not_of(" \t");
    if (start == std::string::npos) return logical.clear();
    const std::string l = logical.substr(start);
    logical.clear();
    const size_t sp = l.find(' ');
    std::string kw = l.substr(0, sp);
    for (char& c : kw) c = static_cast<char>(std::toupper(c));
    const std::string rest = sp == std::string::npos ? "" : l.substr(sp + 1);
    if (kw == "FROM") {
      stages.push_back({rest, {}});
    } else if (!stages.empty()) {
      stages.back().instructions.emplace_back(kw, rest);
    }
  };
  for (std::string line; std::getline(in, line);) {
    if (logical.empty() && (line.empty() || line[0] == '#')) continue;
    if (!line.empty() && line.back() == '\\') {
      logical += line.substr(0, line.size() - 1) + " ";
      continue;
    }
    logical += line;
    flush();
  }
  flush();
  return stages;
}

}  // namespace abusewatch::deploy_test
