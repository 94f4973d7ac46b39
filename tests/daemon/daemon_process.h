// Test helpers: the built `abusewatch` binary as a child process, and a tiny HTTP GET.
// Header-only; for tests in tests/daemon only.
#ifndef ABUSEWATCH_TESTS_DAEMON_DAEMON_PROCESS_H_
#define ABUSEWATCH_TESTS_DAEMON_DAEMON_PROCESS_H_

#include <arpa/inet.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace abusewatch::test {

inline std::string Slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) {
    if (!l.empty()) out.push_back(l);
  }
  return out;
}

// A string field of one flat JSON line (ids, keys, rule ids, accounts: no escaped quotes), or
// "" when absent.
inline std::string StringField(const std::string& line, const std::string& name) {
  const std::string k = "\"" + name + "\":\"";
  const size_t p = line.find(k);
  if (p == std::string::npos) return "";
  const size_t e = line.find('"', p + k.size());
  return line.substr(p + k.size(), e - p - k.size());
}

inline bool WaitFor(const std::function<bool()>& cond, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return cond();
}

// GET http://127.0.0.1:port/path; the whole raw response (status line, headers, body), or "".
inline std::string HttpGetRaw(int port, const std::string& path) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  std::string resp;
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0) {
    const std::string req = "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    (void)!write(fd, req.data(), req.size());
    char buf[65536];
    for (ssize_t n; (n = read(fd, buf, sizeof(buf))) > 0;) resp.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return resp;
}

// Sum of every sample of a metric family in a Prometheus text exposition (0 when absent).
inline double MetricSum(const std::string& exposition, const std::string& family) {
  double sum = 0;
  std::istringstream in(exposition);
  for (std::string l; std::getline(in, l);) {
    if (l.rfind(family, 0) != 0) continue;
    const char next = l.size() > family.size() ? l[family.size()] : '\0';
    if (next != '{' && next != ' ') continue;
    sum += std::stod(l.substr(l.rfind(' ') + 1));
  }
  return sum;
}

// `abusewatch <args>` with stderr to `log`; killed (SIGKILL) if still running at destruction.
class DaemonProcess {
 public:
  DaemonProcess() = default;
  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;
  ~DaemonProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }

  bool Start(const std::vector<std::string>& args, const std::filesystem::path& log) {
    log_ = log;
    std::vector<std::string> all = {ABUSEWATCH_BINARY};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    const std::string l = log.string();
    posix_spawn_file_actions_addopen(&fa, 2, l.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int rc = posix_spawn(&pid_, argv[0], &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    return rc == 0;
  }
  void Signal(int sig) const {
    if (pid_ > 0) kill(pid_, sig);
  }
  // Exit status (128 + signal when killed), or -1 if still running after `limit`.
  int Wait(std::chrono::milliseconds limit) {
    int code = -1;
    WaitFor(
        [&] {
          int status = 0;
          if (pid_ <= 0 || waitpid(pid_, &status, WNOHANG) != pid_) return false;
          pid_ = -1;
          code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
          return true;
        },
        limit);
    return code;
  }
  bool running() const { return pid_ > 0; }
  std::string Log() const { return Slurp(log_); }
  // The HTTP port from the "serving ... on http://127.0.0.1:PORT" log line; -1 until then.
  int Port() const {
    const std::string log = Log();
    const size_t p = log.find("http://127.0.0.1:");
    return p == std::string::npos ? -1 : std::stoi(log.substr(p + 17));
  }

 private:
  pid_t pid_ = -1;
  std::filesystem::path log_;
};

}  // namespace abusewatch::test

#endif  // ABUSEWATCH_TESTS_DAEMON_DAEMON_PROCESS_H_
