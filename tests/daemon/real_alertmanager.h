// Test helpers: a REAL Alertmanager (Debian package prometheus-alertmanager) on a free loopback
// port with a temporary storage directory (HTTP through test_http.h). For tests in tests/daemon.
#ifndef ABUSEWATCH_TESTS_DAEMON_REAL_ALERTMANAGER_H_
#define ABUSEWATCH_TESTS_DAEMON_REAL_ALERTMANAGER_H_

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tests/daemon/test_http.h"

extern char** environ;

namespace abusewatch::test {

using std::chrono::milliseconds;

inline uint16_t FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return 0;
  }
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

class RealAlertmanager {
 public:
  static constexpr const char* kBinary = "/usr/bin/prometheus-alertmanager";

  // Empty string on success, else what went wrong.
  std::string Start() {
    if (::access(kBinary, X_OK) != 0) {
      return std::string(kBinary) +
             " not found: install the Debian package with "
             "`apt-get install -y prometheus-alertmanager`";
    }
    char tmpl[] = "/tmp/aw_alertmanager_XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) return "mkdtemp failed";
    dir_ = tmpl;
    {
      std::ofstream cfg(dir_ + "/alertmanager.yml");
      cfg << "route:\n  receiver: 'null'\nreceivers:\n  - name: 'null'\n";
    }
    std::filesystem::create_directories(dir_ + "/data");
    for (int attempt = 0; attempt < 3; ++attempt) {
      port_ = FreePort();
      if (port_ == 0) return "no free port";
      std::vector<std::string> args = {kBinary,
                                       "--config.file=" + dir_ + "/alertmanager.yml",
                                       "--storage.path=" + dir_ + "/data",
                                       "--cluster.listen-address=",
                                       "--web.listen-address=127.0.0.1:" + std::to_string(port_),
                                       "--log.level=warn"};
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      posix_spawn_file_actions_t fa;
      posix_spawn_file_actions_init(&fa);
      std::string log = dir_ + "/alertmanager.log";
      posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      posix_spawn_file_actions_adddup2(&fa, 1, 2);
      int rc = posix_spawn(&pid_, kBinary, &fa, nullptr, argv.data(), environ);
      posix_spawn_file_actions_destroy(&fa);
      if (rc != 0) return "posix_spawn failed: " + std::to_string(rc);
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
      while (std::chrono::steady_clock::now() < deadline) {
        int wstatus = 0;
        if (::waitpid(pid_, &wstatus, WNOHANG) == pid_) {  // exited (port taken?): retry
          pid_ = -1;
          break;
        }
        if (HttpGet(port_, "/-/ready").status == 200) return "";
        std::this_thread::sleep_for(milliseconds(100));
      }
      if (pid_ > 0) return "alertmanager did not become ready; log: " + Log();
    }
    return "alertmanager exited at start; log: " + Log();
  }

  ~RealAlertmanager() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int wstatus = 0;
      for (int i = 0; i < 50 && ::waitpid(pid_, &wstatus, WNOHANG) == 0; ++i) {
        std::this_thread::sleep_for(milliseconds(100));
      }
      if (::waitpid(pid_, &wstatus, WNOHANG) == 0) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &wstatus, 0);
      }
    }
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }

  uint16_t port() const { return port_; }
  std::string Log() const {
    std::ifstream in(dir_ + "/alertmanager.log");
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }

 private:
  std::string dir_;
  uint16_t port_ = 0;
  pid_t pid_ = -1;
};

// Polls GET /api/v2/alerts until `pred(body)` holds (10 s at most); returns the last body.
template <typename Pred>
inline std::string PollAlerts(uint16_t port, Pred pred) {
  std::string body;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    HttpResult r = HttpGet(port, "/api/v2/alerts");
    if (r.status == 200) {
      body = r.body;
      if (pred(body)) return body;
    }
    std::this_thread::sleep_for(milliseconds(100));
  }
  return body;
}

}  // namespace abusewatch::test

#endif  // ABUSEWATCH_TESTS_DAEMON_REAL_ALERTMANAGER_H_
