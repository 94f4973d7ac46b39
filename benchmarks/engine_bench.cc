// Micro-benchmarks of the engine: decoding, each rule kind alone, and the whole legal pack,
// over streams made by the project's generator (same seed every run). Compare ratios within
// one run; machines are noisy.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <array>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <string_view>

#include "config/config_loader.h"
#include "daemon/gen/generator.h"
#include "detectors/dedup.h"
#include "detectors/engine.h"
#include "detectors/state_codec.h"

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

// Partition skew, as the daemon sees it from Kafka (benchmarks/README.md, issue 3): the stream
// split in two lanes by account (producers key by account), fed in batches of 64 through
// OfferBatch with lane 0 kept `skew` records ahead of lane 1. Lane 0's records wait in the
// reorder buffer until lane 1 catches up in event time, so with a large skew they are cold when
// processed and when their event objects are reused. skew 0 alternates the lanes batch by
// batch. The default pack; 1 M events over 200 k accounts and 30 days (the e2e stream's shape).
void BM_LaneSkew(benchmark::State& state) {
  static const std::array<std::vector<std::string>, 2> lanes_lines = [] {
    GenOptions o;
    o.events = 1'000'000;
    o.accounts = 200'000;
    o.seed = 7;
    o.span_ms = 30LL * 86'400'000;
    std::ostringstream out;
    if (!GenerateStream(o, out).ok()) std::abort();
    std::istringstream in(out.str());
    std::vector<std::string> v[2];
    for (std::string line; std::getline(in, line);) {
      const size_t at = line.find("\"account\":\"");
      const size_t h = at == std::string::npos
                           ? 0
                           : std::hash<std::string_view>()(std::string_view(line).substr(at, 24));
      v[h % 2].push_back(std::move(line));
    }
    return std::array<std::vector<std::string>, 2>{std::move(v[0]), std::move(v[1])};
  }();
  const size_t skew = static_cast<size_t>(state.range(0));
  constexpr size_t kBatch = 64;
  std::vector<std::string_view> views;
  std::vector<uint32_t> lane_of;
  std::vector<uint64_t> positions;
  // The feeding order: (lane, first index, count) batches.
  struct Step {
    uint32_t lane;
    size_t from, n;
  };
  std::vector<Step> steps;
  size_t next[2] = {0, 0};
  auto take = [&](uint32_t lane, size_t n) {
    n = std::min(n, lanes_lines[lane].size() - next[lane]);
    if (n > 0) steps.push_back({lane, next[lane], n});
    next[lane] += n;
  };
  for (size_t k = 0; k < skew; k += kBatch) take(0, kBatch);
  while (next[0] < lanes_lines[0].size() || next[1] < lanes_lines[1].size()) {
    take(1, kBatch);
    take(0, kBatch);
  }
  std::unique_ptr<bool[]> accepted(new bool[kBatch]);
  std::vector<Rejection> rejections(kBatch);
  size_t max_buffered = 0;
  for (auto _ : state) {
    NullSink sink;
    Engine engine(Pack(), &sink);
    if (!engine.SetLaneState(1, LaneState::kActive).ok()) std::abort();
    size_t k = 0;
    for (const Step& st : steps) {
      views.clear();
      positions.clear();
      for (size_t i = 0; i < st.n; ++i) {
        views.push_back(lanes_lines[st.lane][st.from + i]);
        positions.push_back(st.from + i);
      }
      lane_of.assign(st.n, st.lane);
      engine.OfferBatch(views.data(), st.n, lane_of.data(), positions.data(), accepted.get(),
                        rejections.data());
      if (++k % 256 == 0) max_buffered = std::max(max_buffered, engine.stats().buffered_events);
    }
    engine.Finish();
    benchmark::DoNotOptimize(sink.n);
  }
  state.counters["max_buffered"] = static_cast<double>(max_buffered);
  state.SetItemsProcessed(
      static_cast<int64_t>(state.iterations() * (lanes_lines[0].size() + lanes_lines[1].size())));
}
BENCHMARK(BM_LaneSkew)->Arg(0)->Arg(4096)->Arg(16384)->Unit(benchmark::kMillisecond);

// Restoring the dedup ids of a checkpoint: one full record of N ids (SaveAll) into a fresh
// index, as Engine::Restore does after a restart.
void BM_DedupLoad(benchmark::State& state) {
  const int64_t t0 = 1'700'000'000'000;
  const auto n = static_cast<int64_t>(state.range(0));
  std::string record;
  {
    DedupIndex source;
    for (int64_t i = 0; i < n; ++i) {
      source.InsertIfNew(DedupIndex::HashId("ev-" + std::to_string(i)), t0 + i, 0);
    }
    int64_t max_ts = 0;
    StateEncoder out(&record);
    source.SaveAll(&out, &max_ts);
  }
  for (auto _ : state) {
    DedupIndex index;
    StateDecoder in(record);
    index.Load(&in);
    if (!in.ok() || index.size() != static_cast<size_t>(n)) std::abort();
    benchmark::DoNotOptimize(index.capacity());
  }
  state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_DedupLoad)->Arg(1'000'000)->Arg(8'000'000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace abusewatch
