// OfferBatch must be exactly Offer() on each record in turn, whatever the batch sizes.
#include <gmock/gmock.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "tests/detectors/engine_test_util.h"

namespace abusewatch::testing {
namespace {

std::vector<std::string> ReadLines(const std::filesystem::path& p) {
  std::vector<std::string> out;
  std::ifstream in(p);
  for (std::string l; std::getline(in, l);) {
    if (!l.empty()) out.push_back(l);
  }
  return out;
}

EngineConfig MixedConfig() {
  EngineConfig c = BaseConfig();
  c.dedup_horizon_ms = 90 * kMsPerDay;
  c.rules.push_back(Threshold("sum", Sel({EventType::kPayment}), Aggregate::kSum, 730 * kMsPerDay,
                              kMsPerDay, "200000"));
  c.rules.push_back(
      Threshold("cnt", Sel({EventType::kLogin}), Aggregate::kCount, 3'600'000, 60'000, "2"));
  RuleSpec a;
  a.id = "abs";
  a.kind = RuleKind::kAbsence;
  a.trigger = Sel({EventType::kAbuseReport});
  a.expect = Sel({EventType::kDisposition});
  a.within_ms = 86'400'000;
  c.rules.push_back(a);
  return c;
}

struct Outcome {
  std::vector<std::string> transitions;
  std::vector<std::string> rejects;
  bool operator==(const Outcome& o) const {
    return transitions == o.transitions && rejects == o.rejects;
  }
};

Outcome Feed(const std::shared_ptr<const RuleSet>& rules, const std::vector<std::string>& lines,
             std::mt19937_64* rng) {
  Recorder rec;
  Engine engine(rules, &rec);
  Outcome out;
  size_t i = 0;
  while (i < lines.size()) {
    size_t n = rng == nullptr ? 1 : 1 + (*rng)() % 150;
    n = std::min(n, lines.size() - i);
    std::vector<std::string_view> views(lines.begin() + i, lines.begin() + i + n);
    std::vector<Rejection> rej(n);
    std::unique_ptr<bool[]> ok(new bool[n]);
    if (rng == nullptr) {
      ok[0] = engine.Offer(views[0], &rej[0]);
    } else {
      engine.OfferBatch(views.data(), n, ok.get(), rej.data());
    }
    for (size_t k = 0; k < n; ++k) {
      if (!ok[k]) {
        out.rejects.push_back(std::to_string(i + k) + " " +
                              std::string(RejectReasonName(rej[k].reason)) + " " + rej[k].detail);
      }
    }
    i += n;
  }
  engine.Finish();
  out.transitions = rec.lines;
  return out;
}

TEST(EngineBatchTest, OfferBatchEqualsOfferOneByOne) {
  std::vector<std::string> lines;
  const auto dir = std::filesystem::path(ABUSEWATCH_SHARED_DIR) / "scenarios";
  if (std::filesystem::exists(dir)) {
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
      if (e.path().string().find(".events.jsonl") != std::string::npos) files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      for (std::string& l : ReadLines(f)) lines.push_back(std::move(l));
    }
  }
  // Plus a synthetic stretch with duplicates, late events and garbage, seeded.
  std::mt19937_64 gen(7);
  int64_t t = T("2029-01-01T00:00:00Z");
  for (int k = 0; k < 3000; ++k) {
    t += static_cast<int64_t>(gen() % 90'000);
    int64_t ts = t - static_cast<int64_t>(gen() % 40'000);
    std::string acct = "a" + std::to_string(gen() % 7);
    std::string id = "x" + std::to_string(gen() % 2800);
    switch (gen() % 5) {
      case 0:
        lines.push_back(
            Ev(id, "payment", FormatRfc3339Utc(ts), acct,
               "\"flow\":\"settlement\",\"amount\":\"" + std::to_string(gen() % 90'000) + ".5\""));
        break;
      case 1:
        lines.push_back(Ev(id, "login", FormatRfc3339Utc(ts), acct));
        break;
      case 2:
        lines.push_back(Ev(id, "abuse_report", FormatRfc3339Utc(ts), acct));
        break;
      case 3:
        lines.push_back(Ev(id, "disposition", FormatRfc3339Utc(ts), acct, "\"action\":\"warn\""));
        break;
      default:
        lines.push_back("{\"id\":\"" + id + "\",\"type\":");
        break;
    }
  }
  std::shared_ptr<const RuleSet> rules;
  ASSERT_TRUE(RuleSet::Compile(MixedConfig(), &rules).ok());
  const Outcome one_by_one = Feed(rules, lines, nullptr);
  EXPECT_GT(one_by_one.transitions.size(), 20u);
  EXPECT_GT(one_by_one.rejects.size(), 500u);
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    std::mt19937_64 rng(seed);
    EXPECT_TRUE(Feed(rules, lines, &rng) == one_by_one) << "batch seed " << seed;
  }
}

}  // namespace
}  // namespace abusewatch::testing
