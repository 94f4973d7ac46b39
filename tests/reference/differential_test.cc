// Randomized differential test: the real engine against the brute-force reference on
// thousands of random configs and streams, and against itself under different feeds.
//
// Environment (all optional):
//   AW_DIFF_SEED=N         run only seed N (reproduce a reported failure)
//   AW_DIFF_FIRST_SEED=N   first seed (default 1)
//   AW_DIFF_SEEDS=N        number of seeds (default 10000; 3000 under AddressSanitizer)
//   AW_DIFF_NO_SHRINK=1    do not minimize failing cases
//   AW_DIFF_ALL_KEYS=1     reference option threshold_all_keys_every_step (see
//                          reference_engine.h)
//   AW_DIFF_DUMP_DIR=DIR   write DIR/seed-N.{yaml,events.jsonl,expected.jsonl,rejects.jsonl}
//                          (the reference's answers) for failures and for AW_DIFF_SEED, to
//                          rerun with `abusewatch replay`
#include "tests/reference/differential.h"

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "detectors/rule_set.h"
#include "detectors/timeutil.h"
#include "detectors/transition.h"
#include "tests/reference/default_pack.h"
#include "tests/reference/random_stream.h"
#include "tests/reference/reference_engine.h"
#include "tests/reference/spec_builder.h"

namespace abusewatch::testing::ref {
namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr int64_t kDefaultSeeds = 3000;
#else
constexpr int64_t kDefaultSeeds = 10000;
#endif
constexpr int kMaxReports = 3;  // failures described in full (and shrunk)

int64_t EnvInt(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::strtoll(v, nullptr, 10) : fallback;
}

ReferenceOptions Options() {
  ReferenceOptions o;
  o.threshold_all_keys_every_step = std::getenv("AW_DIFF_ALL_KEYS") != nullptr;
  return o;
}

std::string Expected(const std::vector<RefTransition>& ts) {
  std::string out;
  for (const RefTransition& t : ts) {
    out += "{\"rule\":\"" + t.rule + "\",\"key\":";
    AppendJsonString(t.key, &out);
    out += ",\"state\":\"" + std::string(t.firing ? "firing" : "resolved") + "\",\"at\":\"" +
           FormatRfc3339Utc(t.at_ms) + "\",\"value\":" + t.value + ",\"threshold\":" + t.threshold +
           "}\n";
  }
  return out;
}

void Dump(int64_t seed, const EngineConfig& config, const std::vector<std::string>& lines) {
  const char* dir = std::getenv("AW_DIFF_DUMP_DIR");
  if (dir == nullptr || *dir == '\0') return;
  std::string base = std::string(dir) + "/seed-" + std::to_string(seed);
  std::ofstream(base + ".yaml") << ConfigToYaml(config);
  std::ofstream events(base + ".events.jsonl");
  for (const std::string& l : lines) events << l << "\n";
  RefResult ref = RunReference(config, lines, Options());
  std::ofstream(base + ".expected.jsonl") << Expected(ref.transitions);
  std::ofstream rejects(base + ".rejects.jsonl");
  for (const auto& [line, reason] : ref.rejects) {
    rejects << "{\"line\":" << line << ",\"reason\":\"" << RejectReasonName(reason) << "\"}\n";
  }
}

std::string Describe(int64_t seed, const EngineConfig& config,
                     const std::vector<std::string>& lines, const std::string& what) {
  return "seed " + std::to_string(seed) + " (reproduce: AW_DIFF_SEED=" + std::to_string(seed) +
         " reference_test --gtest_filter='Differential*')\n" + what + "config:\n" +
         ConfigToYaml(config) + "lines:\n" + NumberedLines(lines);
}

// What the seeds exercised, printed at the end (to see that the generator reaches the cases).
struct Coverage {
  std::map<std::string, int64_t> transitions;  // "<kind> <state>"
  std::array<int64_t, kNumRejectReasons> rejects{};
  int64_t accepted = 0;

  void Add(const EngineConfig& config, const RefResult& ref) {
    accepted += static_cast<int64_t>(ref.accepted.size());
    for (const auto& [line, reason] : ref.rejects) ++rejects[static_cast<int>(reason)];
    for (const RefTransition& t : ref.transitions) {
      std::string kind = "warn_at";
      for (const RuleSpec& r : config.rules) {
        if (r.id == t.rule) kind = std::string(RuleKindName(r.kind));
      }
      ++transitions[kind + (t.firing ? " firing" : " resolved")];
    }
  }
  std::string ToString() const {
    std::string out = "accepted " + std::to_string(accepted) + "; transitions:";
    for (const auto& [k, n] : transitions) out += " " + k + " " + std::to_string(n) + ",";
    out += " rejects:";
    for (int r = 0; r < kNumRejectReasons; ++r) {
      out += " " + std::string(RejectReasonName(static_cast<RejectReason>(r))) + " " +
             std::to_string(rejects[static_cast<size_t>(r)]);
    }
    return out;
  }
};

// Runs every check for one seed; returns "" or a description of what went wrong.
std::string CheckSeed(int64_t seed, bool shrink, Coverage* coverage) {
  Rng rng(static_cast<uint64_t>(seed));
  EngineConfig config = RandomConfig(rng);
  if (seed % 8 == 0) {  // the shipped rules, with the random lateness and dedup horizon
    EngineConfig pack = DefaultPack();
    pack.allowed_lateness_ms = config.allowed_lateness_ms;
    pack.dedup_horizon_ms = config.dedup_horizon_ms;
    config = std::move(pack);
  }
  std::vector<std::string> lines = RandomStream(config, rng);
  std::shared_ptr<const RuleSet> rules;
  Status s = RuleSet::Compile(config, &rules);
  if (!s.ok()) return Describe(seed, config, {}, "RuleSet::Compile failed: " + s.ToString() + "\n");

  RefResult ref = RunReference(config, lines, Options());
  coverage->Add(config, ref);
  EngineRun plain = RunEngine(rules, lines, FeedMode::kOffer);
  std::string diff = Compare(ref.transitions, ref.rejects, plain);
  if (!diff.empty()) {
    Dump(seed, config, lines);
    std::string out = Describe(seed, config, lines, "engine vs reference:\n" + diff);
    if (shrink && std::getenv("AW_DIFF_NO_SHRINK") == nullptr) {
      Shrink(&config, &lines, Options());
      out += "minimized:\n" + ConfigToYaml(config) + "lines:\n" + NumberedLines(lines) +
             Differences(config, lines, Options());
    }
    return out;
  }
  std::string more;
  EngineRun mixed = RunEngine(rules, lines, FeedMode::kMixed);
  if (std::string d = Compare(plain.transitions, plain.rejects, mixed); !d.empty()) {
    more += "Offer/OfferEvent mix vs plain Offer:\n" + d;
  }
  std::vector<size_t> safe = SafeFinishPoints(ref, lines.size());
  std::vector<size_t> picked;
  for (size_t p : safe) {
    if (rng.Percent(10)) picked.push_back(p);
  }
  EngineRun early = RunEngine(rules, lines, FeedMode::kFinishEarly, picked);
  if (std::string d = Compare(plain.transitions, plain.rejects, early); !d.empty()) {
    more += "Finish() after lines";
    for (size_t p : picked) more += " " + std::to_string(p + 1);
    more += " vs plain Offer:\n" + d;
  }
  for (const std::string& p : CheckFinalState(rules, lines, ref)) more += "  " + p + "\n";
  if (more.empty()) return "";
  Dump(seed, config, lines);
  return Describe(seed, config, lines, more);
}

TEST(DifferentialTest, EngineMatchesReferenceOnRandomStreams) {
  int64_t first = EnvInt("AW_DIFF_FIRST_SEED", 1);
  int64_t count = EnvInt("AW_DIFF_SEEDS", kDefaultSeeds);
  if (std::getenv("AW_DIFF_SEED") != nullptr) {
    first = EnvInt("AW_DIFF_SEED", 1);
    count = 1;
  }
  auto start = std::chrono::steady_clock::now();
  int failures = 0;
  std::string failed_seeds;
  Coverage coverage;
  for (int64_t seed = first; seed < first + count; ++seed) {
    std::string why = CheckSeed(seed, failures < kMaxReports, &coverage);
    if (why.empty()) continue;
    if (failures < kMaxReports) ADD_FAILURE() << why;
    if (failures < 50) failed_seeds += " " + std::to_string(seed);
    ++failures;
  }
  if (count == 1) {
    Rng rng(static_cast<uint64_t>(first));
    EngineConfig config = RandomConfig(rng);
    Dump(first, config, RandomStream(config, rng));
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(failures, 0) << failures << " of " << count << " seeds failed:" << failed_seeds;
  std::printf("differential: %lld seeds from %lld in %.1f s, %d failed\n%s\n",
              static_cast<long long>(count), static_cast<long long>(first), seconds, failures,
              coverage.ToString().c_str());
}

// The generator itself: deterministic, and every config compiles.
TEST(DifferentialTest, GeneratorIsDeterministic) {
  for (uint64_t seed : {1u, 2u, 77u}) {
    Rng a(seed), b(seed);
    EngineConfig ca = RandomConfig(a), cb = RandomConfig(b);
    EXPECT_EQ(ConfigToYaml(ca), ConfigToYaml(cb));
    EXPECT_EQ(RandomStream(ca, a), RandomStream(cb, b));
  }
}

}  // namespace
}  // namespace abusewatch::testing::ref
