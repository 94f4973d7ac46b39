// Micro-benchmarks of the engine: decoding, each rule kind alone, and the whole legal pack,
// over streams made by the project's generator (same seed every run). Compare ratios within
// one run; machines are noisy.
#include <benchmark/benchmark.h>

#include <sstream>

#include "config/config_loader.h"
#include "daemon/gen/generator.h"
#include "detectors/engine.h"

namespace abusewatch {
namespace {

struct NullSink : TransitionSink {
  size_t n = 0;
  void OnTransition(const Transition&, const RuleSet&) override { ++n; }
};

// A generated stream split into lines, built once per size.
const std::vector<std::string>& Lines(uint64_t events, uint32_t accounts) {
  static std::map<std::pair<uint64_t, uint32_t>, std::vector<std::string>> cache;
  auto& v = cache[{events, accounts}];
  if (v.empty()) {
    GenOptions o;
    o.events = events;
    o.accounts = accounts;
    o.seed = 42;
    o.span_ms = 60LL * 86'400'000;
    std::ostringstream out;
    if (!GenerateStream(o, out).ok()) std::abort();
    std::istringstream in(out.str());
    for (std::string line; std::getline(in, line);) v.push_back(line);
  }
  return v;
}

std::shared_ptr<const RuleSet> Pack() {
  static std::shared_ptr<const RuleSet> rules = [] {
    EngineConfig c;
    if (!LoadConfigFile(std::string(ABUSEWATCH_SOURCE_DIR) + "/config/abusewatch.yaml", &c).ok()) {
      std::abort();
    }
    std::shared_ptr<const RuleSet> r;
    if (!RuleSet::Compile(std::move(c), &r).ok()) std::abort();
    return r;
  }();
  return rules;
}

// The pack reduced to one rule id (and what it needs).
std::shared_ptr<const RuleSet> OnlyRule(const std::string& id) {
  EngineConfig c = Pack()->config();
  c.rules.clear();
  for (const CompiledRule& r : Pack()->rules()) {
    if (r.spec.id == id) c.rules.push_back(r.spec);
  }
  std::shared_ptr<const RuleSet> r;
  if (!RuleSet::Compile(std::move(c), &r).ok()) std::abort();
  return r;
}

void RunEngine(benchmark::State& state, std::shared_ptr<const RuleSet> rules) {
  const auto& lines = Lines(static_cast<uint64_t>(state.range(0)), 20000);
  size_t bytes = 0;
  for (const auto& l : lines) bytes += l.size() + 1;
  for (auto _ : state) {
    NullSink sink;
    Engine engine(rules, &sink);
    Rejection rej;
    for (const std::string& l : lines) engine.Offer(l, &rej);
    engine.Finish();
    benchmark::DoNotOptimize(sink.n);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * lines.size()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
}

void BM_DecodeOnly(benchmark::State& state) {
  const auto& lines = Lines(static_cast<uint64_t>(state.range(0)), 20000);
  Decoder decoder(DecoderOptionsFor(Pack()->config()));
  Event e;
  Rejection rej;
  size_t bytes = 0;
  for (const auto& l : lines) bytes += l.size() + 1;
  for (auto _ : state) {
    for (const std::string& l : lines) benchmark::DoNotOptimize(decoder.Decode(l, &e, &rej));
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * lines.size()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
}
BENCHMARK(BM_DecodeOnly)->Arg(200'000)->Unit(benchmark::kMillisecond);

void BM_NoRules(benchmark::State& state) {
  EngineConfig c = Pack()->config();
  c.rules.clear();
  std::shared_ptr<const RuleSet> r;
  if (!RuleSet::Compile(std::move(c), &r).ok()) std::abort();
  RunEngine(state, r);  // decode + late/dedup + reorder, no detectors
}
BENCHMARK(BM_NoRules)->Arg(200'000)->Unit(benchmark::kMillisecond);

void BM_ThresholdCount(benchmark::State& s) { RunEngine(s, OnlyRule("art11_5_concealment")); }
BENCHMARK(BM_ThresholdCount)->Arg(200'000)->Unit(benchmark::kMillisecond);
void BM_ThresholdSum730d(benchmark::State& s) {
  RunEngine(s, OnlyRule("art12_2_settlement_total"));
}
BENCHMARK(BM_ThresholdSum730d)->Arg(200'000)->Unit(benchmark::kMillisecond);
void BM_ThresholdDistinct(benchmark::State& s) { RunEngine(s, OnlyRule("art12_1_three_parties")); }
BENCHMARK(BM_ThresholdDistinct)->Arg(200'000)->Unit(benchmark::kMillisecond);
void BM_Absence(benchmark::State& s) { RunEngine(s, OnlyRule("art11_2_report_unhandled")); }
BENCHMARK(BM_Absence)->Arg(200'000)->Unit(benchmark::kMillisecond);
void BM_Sequence(benchmark::State& s) { RunEngine(s, OnlyRule("art11_1_service_after_notice")); }
BENCHMARK(BM_Sequence)->Arg(200'000)->Unit(benchmark::kMillisecond);
void BM_DefaultPack(benchmark::State& s) { RunEngine(s, Pack()); }
BENCHMARK(BM_DefaultPack)->Arg(200'000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace abusewatch
