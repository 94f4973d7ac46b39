// FileRecordWriter and FileAlertSink on temporary files.
#include "daemon/sinks/file_sink.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "daemon/metrics/metrics.h"
#include "detectors/rule_set.h"
#include "tests/daemon/sink_test_util.h"

namespace abusewatch {
namespace {

using std::chrono::milliseconds;

// A scratch directory for the running test, removed when the test ends.
class ScratchDir {
 public:
  ScratchDir()
      : dir_(std::filesystem::temp_directory_path() /
             ("aw-file-sink-" + std::to_string(getpid()) + "-" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name())) {
    std::filesystem::create_directories(dir_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  std::filesystem::path Path(const std::string& name) const { return dir_ / name; }

 private:
  const std::filesystem::path dir_;
};

std::string ReadAll(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::shared_ptr<const RuleSet> MakeRules() { return test::TwoRules(); }

Transition Tr(const RuleSet& rules, std::string_view rule, std::string key) {
  return test::MakeTransition(rules, rule, std::move(key), true, 1'772'330'400'000, 3, {"e1"});
}

TEST(FileRecordWriter, AppendsLinesAndReportsErrors) {
  const ScratchDir scratch;
  const auto path = scratch.Path("dead.jsonl");
  { std::ofstream(path) << "old\n"; }
  std::unique_ptr<FileRecordWriter> w;
  ASSERT_TRUE(
      FileRecordWriter::Create(path.string(), /*append=*/true, "dead_letter_file", &w).ok());
  EXPECT_EQ(w->name(), "dead_letter_file");
  w->Write("key-ignored", R"({"a":1})");
  w->Write("", R"({"b":2})");
  EXPECT_EQ(ReadAll(path), "old\n");  // buffered until Tick/Flush
  w->Tick();
  EXPECT_EQ(ReadAll(path), "old\n{\"a\":1}\n{\"b\":2}\n");
  w->Write("", "c");
  ASSERT_TRUE(w->Flush(milliseconds(0)).ok());
  ASSERT_TRUE(w->Close().ok());
  EXPECT_EQ(ReadAll(path), "old\n{\"a\":1}\n{\"b\":2}\nc\n");
  EXPECT_TRUE(w->Close().ok());  // idempotent
  w->Write("", "late");
  EXPECT_FALSE(w->Flush(milliseconds(0)).ok());

  // Truncating mode; an unwritable path fails Create.
  ASSERT_TRUE(FileRecordWriter::Create(path.string(), false, "f", &w).ok());
  ASSERT_TRUE(w->Close().ok());
  EXPECT_EQ(ReadAll(path), "");
  EXPECT_FALSE(FileRecordWriter::Create("/nonexistent-dir/x.jsonl", true, "f", &w).ok());
}

TEST(FileRecordWriter, DevFullFailsAtFlush) {
  std::unique_ptr<FileRecordWriter> w;
  ASSERT_TRUE(FileRecordWriter::Create("/dev/full", true, "f", &w).ok());
  w->Write("", "x");
  EXPECT_FALSE(w->Flush(milliseconds(0)).ok());
  EXPECT_FALSE(w->Close().ok());
}

TEST(FileAlertSink, WritesTransitionLinesWithNotifyOnly) {
  auto rules = MakeRules();
  Metrics metrics("test");
  const ScratchDir scratch;
  const auto path = scratch.Path("alerts.jsonl");
  FileAlertSink::Options o;
  o.path = path.string();
  o.append = false;
  o.notify_only = true;
  std::unique_ptr<FileAlertSink> sink;
  ASSERT_TRUE(FileAlertSink::Create(o, &metrics, &sink).ok());
  EXPECT_EQ(sink->name(), "file");
  const Transition a = Tr(*rules, "art287_2_case", "acct-1");
  sink->OnTransition(a, *rules);
  sink->OnTransition(Tr(*rules, "art12_2_settlement", "acct-2"), *rules);  // filtered out
  ASSERT_TRUE(sink->Flush(milliseconds(100)));
  std::string expected;
  AppendTransitionJson(a, *rules, &expected);
  expected.push_back('\n');
  EXPECT_EQ(ReadAll(path), expected);
  EXPECT_EQ(metrics.AlertsSent("file", "ok").Value(), 1);
  sink->Stop();
  sink->Stop();

  o.path = "-";
  ASSERT_TRUE(FileAlertSink::Create(o, nullptr, &sink).ok());
  EXPECT_EQ(sink->name(), "stdout");
}

TEST(FileAlertSink, FailedFileCountsFailed) {
  auto rules = MakeRules();
  Metrics metrics("test");
  FileAlertSink::Options o;
  o.path = "/dev/full";
  std::unique_ptr<FileAlertSink> sink;
  ASSERT_TRUE(FileAlertSink::Create(o, &metrics, &sink).ok());
  sink->OnTransition(Tr(*rules, "art12_2_settlement", "acct-2"), *rules);  // notify_only false
  EXPECT_FALSE(sink->Flush(milliseconds(100)));
  EXPECT_FALSE(sink->status().ok());
  sink->OnTransition(Tr(*rules, "art287_2_case", "acct-1"), *rules);
  EXPECT_EQ(metrics.AlertsSent("file", "ok").Value(), 1);
  EXPECT_EQ(metrics.AlertsSent("file", "failed").Value(), 1);
}

}  // namespace
}  // namespace abusewatch
