// The reference engine against the hand-derived acceptance scenarios of shared/scenarios, with
// the default pack built from spec/default-pack.md: checks the reference itself, independently
// of the engine and the config loader.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "detectors/decoder.h"
#include "detectors/timeutil.h"
#include "tests/reference/default_pack.h"
#include "tests/reference/differential.h"
#include "tests/reference/reference_engine.h"

namespace abusewatch::testing::ref {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> ReadLines(const fs::path& p) {
  std::vector<std::string> out;
  std::ifstream in(p);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// "rule key state at value threshold" of an expected line, in the reference's terms.
std::string ExpectedText(const std::string& json) {
  std::map<std::string, std::string> f;
  if (!SplitJsonObject(json, &f)) return "unparsable: " + json;
  std::string at = f["at"].size() > 2 ? f["at"].substr(1, f["at"].size() - 2) : "";
  int64_t ms = 0;
  if (!ParseRfc3339(at, &ms)) return "bad at: " + json;
  auto unquote = [](const std::string& s) { return s.size() > 1 ? s.substr(1, s.size() - 2) : s; };
  return unquote(f["rule"]) + " " + unquote(f["key"]) + " " + unquote(f["state"]) + " " +
         std::to_string(ms) + " " + f["value"] + " " + f["threshold"];
}

TEST(ReferenceScenariosTest, MatchesEveryAcceptanceScenario) {
  fs::path dir = fs::path(ABUSEWATCH_SHARED_DIR) / "scenarios";
  if (!fs::exists(dir)) GTEST_SKIP() << "no " << dir;
  std::vector<fs::path> inputs;
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::string name = entry.path().filename().string();
    if (name.size() > 13 && name.substr(name.size() - 13) == ".events.jsonl") {
      inputs.push_back(entry.path());
    }
  }
  std::sort(inputs.begin(), inputs.end());
  ASSERT_FALSE(inputs.empty());
  EngineConfig pack = DefaultPack();
  for (const fs::path& input : inputs) {
    std::string base = input.string().substr(0, input.string().size() - 13);
    SCOPED_TRACE(input.filename().string());
    RefResult ref = RunReference(pack, ReadLines(input));

    std::vector<std::string> want, got;
    for (const std::string& l : ReadLines(base + ".expected.jsonl")) {
      if (!l.empty()) want.push_back(ExpectedText(l));
    }
    for (const RefTransition& t : ref.transitions) got.push_back(RefTransitionText(t));
    std::sort(want.begin(), want.end());  // compared as a multiset
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got, want);

    std::vector<std::string> want_rejects, got_rejects;
    if (fs::exists(base + ".rejects.jsonl")) {
      for (const std::string& l : ReadLines(base + ".rejects.jsonl")) {
        std::map<std::string, std::string> f;
        if (!l.empty() && SplitJsonObject(l, &f))
          want_rejects.push_back(f["line"] + " " + f["reason"]);
      }
    }
    for (const auto& [line, reason] : ref.rejects) {
      got_rejects.push_back(std::to_string(line) + " \"" + std::string(RejectReasonName(reason)) +
                            "\"");
    }
    EXPECT_EQ(got_rejects, want_rejects);
    EXPECT_EQ(Differences(pack, ReadLines(input)), "") << "the engine differs from the reference";
  }
}

}  // namespace
}  // namespace abusewatch::testing::ref
