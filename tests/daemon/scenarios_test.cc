// Every acceptance scenario of ../shared/scenarios through config/abusewatch.yaml, compared as
// the scenarios README says (multiset of rule, key, state, at, value, threshold; rejects by
// line and reason), both through the library and through the `abusewatch replay` binary.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "config/config_loader.h"
#include "daemon/replay.h"

namespace abusewatch {
namespace {

namespace fs = std::filesystem;

// Extracts a JSON field's raw value text from one line written by the scenario files or the
// replay output (flat objects; strings without escaped quotes).
std::string Field(const std::string& line, const std::string& name) {
  std::string pat = "\"" + name + "\":";
  size_t p = line.find(pat);
  if (p == std::string::npos) return "<absent>";
  p += pat.size();
  while (p < line.size() && line[p] == ' ') ++p;
  size_t e;
  if (line[p] == '"') {
    e = line.find('"', p + 1) + 1;
  } else {
    e = line.find_first_of(",}", p);
  }
  return line.substr(p, e - p);
}

std::multiset<std::string> Load(const fs::path& path, const std::vector<std::string>& fields) {
  std::multiset<std::string> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    std::string key;
    for (const std::string& f : fields) key += Field(line, f) + "|";
    out.insert(key);
  }
  return out;
}

std::vector<fs::path> Scenarios() {
  std::vector<fs::path> out;
  fs::path dir = fs::path(ABUSEWATCH_SHARED_DIR) / "scenarios";
  if (!fs::exists(dir)) return out;
  for (const auto& e : fs::directory_iterator(dir)) {
    std::string n = e.path().filename().string();
    if (n.size() > 13 && n.substr(n.size() - 13) == ".events.jsonl") out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string Stem(const fs::path& events) {
  std::string s = events.string();
  return s.substr(0, s.size() - std::string(".events.jsonl").size());
}

class ScenarioTest : public ::testing::TestWithParam<fs::path> {};

TEST_P(ScenarioTest, ReplayMatchesExpectedTransitionsAndRejects) {
  const fs::path events = GetParam();
  const std::string stem = Stem(events);
  fs::path tmp = fs::temp_directory_path() / ("aw-scn-" + std::to_string(getpid()));
  fs::create_directories(tmp);
  ReplayOptions o;
  o.config = std::string(ABUSEWATCH_SOURCE_DIR) + "/config/abusewatch.yaml";
  o.input = events.string();
  o.output = (tmp / "out.jsonl").string();
  o.rejects = (tmp / "rej.jsonl").string();
  std::ostringstream err;
  ASSERT_EQ(RunReplay(o, err), 0) << err.str();
  const std::vector<std::string> fields = {"rule", "key", "state", "at", "value", "threshold"};
  EXPECT_EQ(Load(o.output, fields), Load(stem + ".expected.jsonl", fields)) << events;
  std::multiset<std::string> want_rej;
  if (fs::exists(stem + ".rejects.jsonl"))
    want_rej = Load(stem + ".rejects.jsonl", {"line", "reason"});
  EXPECT_EQ(Load(o.rejects, {"line", "reason"}), want_rej) << events;
  fs::remove_all(tmp);
}

TEST_P(ScenarioTest, BinaryAgreesWithLibrary) {
  const fs::path events = GetParam();
  fs::path tmp = fs::temp_directory_path() / ("aw-bin-" + std::to_string(getpid()));
  fs::create_directories(tmp);
  std::string cmd = std::string(ABUSEWATCH_BINARY) + " replay --config " + ABUSEWATCH_SOURCE_DIR +
                    "/config/abusewatch.yaml --input " + events.string() + " --output " +
                    (tmp / "out.jsonl").string() + " 2>" + (tmp / "err.txt").string();
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  const std::vector<std::string> fields = {"rule", "key", "state", "at", "value", "threshold"};
  EXPECT_EQ(Load(tmp / "out.jsonl", fields), Load(Stem(events) + ".expected.jsonl", fields));
  fs::remove_all(tmp);
}

INSTANTIATE_TEST_SUITE_P(Shared, ScenarioTest, ::testing::ValuesIn(Scenarios()),
                         [](const auto& info) {
                           std::string n = info.param.filename().string();
                           n = n.substr(0, n.find('.'));
                           for (char& c : n) {
                             if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return "s" + n;
                         });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(ScenarioTest);

}  // namespace
}  // namespace abusewatch
