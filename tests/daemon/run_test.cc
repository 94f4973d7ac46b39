// `abusewatch run` as a process: same transitions as replay on the same input, rejects to the
// dead-letter file with their raw payload, follow mode, SIGHUP with a bad config keeps the old
// one, SIGTERM stops cleanly, /metrics and /readyz answer.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "tests/daemon/daemon_process.h"

extern char** environ;

namespace abusewatch {
namespace {

namespace fs = std::filesystem;

using test::Slurp;

std::multiset<std::string> Lines(const std::string& text) {
  std::multiset<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) {
    if (!l.empty()) out.insert(l);
  }
  return out;
}

class RunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("aw-run-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    fs::remove_all(dir_);
  }
  void WriteConfig(const std::string& input, bool follow, const char* name = "aw.yaml") {
    std::ofstream(dir_ / name)
        << "version: 1\ninclude: [" << ABUSEWATCH_SOURCE_DIR
        << "/config/packs/legal-cn-2019.yaml]\n"
        << "sources: [{type: file, path: " << input << ", follow: " << (follow ? "true" : "false")
        << "}]\nsinks: [{type: file, path: out.jsonl}]\ndead_letter: {type: file, path: "
           "dead.jsonl}\n"
        << "http: {listen: \"127.0.0.1:0\"}\n";
  }
  void Start(int stdin_fd = -1) {
    const std::string bin = ABUSEWATCH_BINARY, cfg = (dir_ / "aw.yaml").string(),
                      log = (dir_ / "log.txt").string();
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    if (stdin_fd >= 0) posix_spawn_file_actions_adddup2(&fa, stdin_fd, 0);
    posix_spawn_file_actions_addopen(&fa, 2, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const char* argv[] = {bin.c_str(), "run", "--config", cfg.c_str(), nullptr};
    ASSERT_EQ(posix_spawn(&pid_, bin.c_str(), &fa, nullptr, const_cast<char**>(argv), environ), 0);
    posix_spawn_file_actions_destroy(&fa);
  }
  int Wait(std::chrono::seconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    int status = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return -1;
  }
  bool WaitFor(const std::function<bool()>& cond, std::chrono::seconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (cond()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }
  int Port() {
    const std::string log = Slurp(dir_ / "log.txt");
    const size_t p = log.find("http://127.0.0.1:");
    return p == std::string::npos ? -1 : std::stoi(log.substr(p + 17));
  }
  std::string Get(int port, const std::string& path) { return test::HttpGetRaw(port, path); }
  std::string Replay(const fs::path& input) {
    WriteConfig(input.string(), /*follow=*/false, "replay.yaml");
    const std::string cmd = std::string(ABUSEWATCH_BINARY) + " replay --config " +
                            (dir_ / "replay.yaml").string() + " --input " + input.string() +
                            " --output " + (dir_ / "replay.jsonl").string() + " --rejects " +
                            (dir_ / "replay-rej.jsonl").string() + " 2>/dev/null";
    EXPECT_EQ(std::system(cmd.c_str()), 0);
    return Slurp(dir_ / "replay.jsonl");
  }

  fs::path dir_;
  pid_t pid_ = -1;
};

TEST_F(RunTest, ReadsAFileToItsEndLikeReplay) {
  const fs::path sample = fs::path(ABUSEWATCH_SOURCE_DIR) / "config/samples/sample-stream.jsonl";
  WriteConfig(sample.string(), /*follow=*/false);
  Start();
  ASSERT_EQ(Wait(std::chrono::seconds(60)), 0) << Slurp(dir_ / "log.txt");
  const std::string out = Slurp(dir_ / "out.jsonl");
  EXPECT_GT(Lines(out).size(), 100u);
  EXPECT_EQ(Lines(out), Lines(Replay(sample)));
  // Dead letters: the same lines as replay's rejects, with reason and raw payload.
  const auto dead = Lines(Slurp(dir_ / "dead.jsonl"));
  EXPECT_EQ(dead.size(), Lines(Slurp(dir_ / "replay-rej.jsonl")).size());
  ASSERT_FALSE(dead.empty());
  EXPECT_NE(dead.begin()->find("\"raw\":"), std::string::npos);
  EXPECT_NE(dead.begin()->find("\"reason\":"), std::string::npos);
}

TEST_F(RunTest, ReadsStandardInputUntilItEnds) {
  const fs::path sample = fs::path(ABUSEWATCH_SOURCE_DIR) / "config/samples/sample-stream.jsonl";
  WriteConfig("\"-\"", /*follow=*/true);
  int fds[2];
  ASSERT_EQ(pipe2(fds, O_CLOEXEC), 0);  // the daemon must not inherit the write end
  Start(fds[0]);
  close(fds[0]);
  const std::string all = Slurp(sample);
  // Half now; the daemon must keep waiting (not block a stop), then the rest and EOF.
  ASSERT_EQ(write(fds[1], all.data(), all.size() / 2), static_cast<ssize_t>(all.size() / 2));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(Wait(std::chrono::seconds(0)), -1);  // still running
  const size_t rest = all.size() - all.size() / 2;
  ASSERT_EQ(write(fds[1], all.data() + all.size() / 2, rest), static_cast<ssize_t>(rest));
  close(fds[1]);
  ASSERT_EQ(Wait(std::chrono::seconds(60)), 0) << Slurp(dir_ / "log.txt");
  EXPECT_EQ(Lines(Slurp(dir_ / "out.jsonl")), Lines(Replay(sample)));
}

TEST_F(RunTest, SigtermStopsWhileWaitingOnStandardInput) {
  WriteConfig("\"-\"", /*follow=*/true);
  int fds[2];
  ASSERT_EQ(pipe2(fds, O_CLOEXEC), 0);  // the daemon must not inherit the write end
  Start(fds[0]);
  close(fds[0]);
  ASSERT_TRUE(WaitFor([&] { return Port() > 0; }, std::chrono::seconds(20)));
  kill(pid_, SIGTERM);
  EXPECT_EQ(Wait(std::chrono::seconds(5)), 0) << Slurp(dir_ / "log.txt");
  close(fds[1]);
}

// abusewatch_reorder_buffer_events: the accepted events event time has not passed yet (the pack's
// allowed lateness is 30 s), refreshed about once a second.
TEST_F(RunTest, ReorderBufferGaugeCountsEventsWaitingForEventTime) {
  const fs::path input = dir_ / "in.jsonl";
  auto login = [](int n, int second) {
    char ts[32];
    std::snprintf(ts, sizeof ts, "2029-03-01T00:%02d:%02dZ", second / 60, second % 60);
    return "{\"id\":\"b" + std::to_string(n) + "\",\"type\":\"login\",\"ts\":\"" + ts +
           "\",\"account\":\"acct-1\"}\n";
  };
  std::ofstream(input, std::ios::binary) << login(1, 0) << login(2, 10) << login(3, 100);
  WriteConfig(input.string(), /*follow=*/true);
  Start();
  ASSERT_TRUE(WaitFor([&] { return Port() > 0; }, std::chrono::seconds(20)))
      << Slurp(dir_ / "log.txt");
  const int port = Port();
  auto buffered = [&] {
    const std::string m = Get(port, "/metrics");
    const std::string name = "\nabusewatch_reorder_buffer_events ";
    const size_t at = m.find(name);
    return at == std::string::npos ? -1.0 : std::stod(m.substr(at + name.size()));
  };
  // Watermark 70 s: the events at 0 s and 10 s are processed, the one at 100 s waits.
  EXPECT_TRUE(WaitFor([&] { return buffered() == 1; }, std::chrono::seconds(20))) << buffered();
  // 100 s passes once an event at 200 s arrives; 200, 201 and 202 s wait.
  std::ofstream(input, std::ios::binary | std::ios::app)
      << login(4, 200) << login(5, 201) << login(6, 202);
  EXPECT_TRUE(WaitFor([&] { return buffered() == 3; }, std::chrono::seconds(20))) << buffered();
  kill(pid_, SIGTERM);
  EXPECT_EQ(Wait(std::chrono::seconds(10)), 0) << Slurp(dir_ / "log.txt");
}

TEST_F(RunTest, FollowsReloadsAndStopsOnSigterm) {
  const fs::path input = dir_ / "in.jsonl";
  const fs::path sample = fs::path(ABUSEWATCH_SOURCE_DIR) / "config/samples/sample-stream.jsonl";
  const std::string all = Slurp(sample);
  const size_t half = all.find('\n', all.size() / 2) + 1;
  std::ofstream(input, std::ios::binary) << all.substr(0, half);
  WriteConfig(input.string(), /*follow=*/true);
  Start();
  ASSERT_TRUE(WaitFor([&] { return Port() > 0; }, std::chrono::seconds(20)))
      << Slurp(dir_ / "log.txt");
  const int port = Port();
  ASSERT_TRUE(WaitFor([&] { return Get(port, "/readyz").find(" 200 ") != std::string::npos; },
                      std::chrono::seconds(20)));
  EXPECT_NE(Get(port, "/healthz").find(" 200 "), std::string::npos);
  // The rest of the file arrives later, then a bad config and SIGHUP: the daemon keeps going.
  std::ofstream(input, std::ios::binary | std::ios::app) << all.substr(half);
  std::ofstream(dir_ / "aw.yaml", std::ios::app) << "rules: [{id: BAD ID}]\n";
  kill(pid_, SIGHUP);
  ASSERT_TRUE(
      WaitFor([&] { return Slurp(dir_ / "log.txt").find("reload rejected") != std::string::npos; },
              std::chrono::seconds(20)));
  const std::string metrics = Get(port, "/metrics");
  EXPECT_NE(metrics.find("abusewatch_config_reload_total{result=\"failed\"} 1"), std::string::npos)
      << metrics.substr(0, 2000);
  EXPECT_NE(metrics.find("abusewatch_events_total{stream=\"payment\"}"), std::string::npos);
  EXPECT_NE(metrics.find("abusewatch_state_keys{rule=\"art12_2_settlement_total\"}"),
            std::string::npos);
  EXPECT_EQ(metrics.find("acct-"), std::string::npos);  // no account ids in labels
  // Everything the replay of the whole file emits, except what only the end-of-input rule gives
  // (the last allowed_lateness of events and timers after them).
  const auto replayed = Lines(Replay(input));
  ASSERT_TRUE(
      WaitFor([&] { return Lines(Slurp(dir_ / "out.jsonl")).size() + 10 >= replayed.size(); },
              std::chrono::seconds(90)));
  kill(pid_, SIGTERM);
  EXPECT_EQ(Wait(std::chrono::seconds(10)), 0) << Slurp(dir_ / "log.txt");
  const auto followed = Lines(Slurp(dir_ / "out.jsonl"));
  for (const std::string& l : followed) EXPECT_EQ(replayed.count(l), 1u) << l;
  EXPECT_GE(followed.size() + 10, replayed.size());
}

}  // namespace
}  // namespace abusewatch
