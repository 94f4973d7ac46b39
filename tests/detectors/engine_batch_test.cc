// OfferBatch must be exactly Offer() on each record in turn, whatever the batch sizes, and
// with decode workers exactly OfferBatch without them.
#include <gmock/gmock.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <new>
#include <random>
#include <thread>

#include "tests/detectors/engine_test_util.h"

// Allocation failure injection: in a thread whose t_alloc_budget is >= 0, that many more
// allocations succeed and the next ones fail (std::bad_alloc; counted). Every non-aligned form
// of operator new and delete is replaced, so that each allocation and its release meet in
// malloc and free (the sanitizers check that they match).
namespace {
thread_local int t_alloc_budget = -1;
std::atomic<int> g_failed_allocs{0};

void* AllocOrFail(std::size_t n) {
  if (t_alloc_budget == 0) {
    g_failed_allocs.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  }
  if (t_alloc_budget > 0) --t_alloc_budget;
  return std::malloc(n == 0 ? 1 : n);
}
}  // namespace

// None inlined: GCC would see free() of a pointer from malloc() behind operator new
// (-Wmismatched-new-delete).
[[gnu::noinline]] void* operator new(std::size_t n) {
  if (void* p = AllocOrFail(n)) return p;
  throw std::bad_alloc();
}
[[gnu::noinline]] void* operator new[](std::size_t n) { return operator new(n); }
[[gnu::noinline]] void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  return AllocOrFail(n);
}
[[gnu::noinline]] void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  return AllocOrFail(n);
}
[[gnu::noinline]] void operator delete(void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete[](void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

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

// Decode workers for tests. kInline: Start() runs every worker to the end before returning
// (the workers decode everything); kDeferred: the workers run only in Wait() (the engine's
// thread decodes everything); kThreads: real threads, racing the engine's thread. In kInline
// and kThreads the workers' allocations fail after `alloc_budget` of them when that is >= 0.
class TestWorkers final : public DecodeWorkers {
 public:
  enum Mode { kInline, kDeferred, kThreads };
  TestWorkers(Mode mode, int size, int alloc_budget = -1)
      : mode_(mode), size_(size), alloc_budget_(alloc_budget) {}
  int size() const override { return size_; }
  void Start(const std::function<void(int)>* work) override {
    ++starts;
    work_ = work;
    for (int w = 0; w < size_; ++w) {
      if (mode_ == kInline) {
        t_alloc_budget = alloc_budget_;  // for the worker's run only, not the engine's
        (*work)(w);
        t_alloc_budget = -1;
      }
      if (mode_ == kThreads) {
        threads_.emplace_back([work, w, budget = alloc_budget_] {
          t_alloc_budget = budget;
          (*work)(w);  // must not throw, out of memory or not
          t_alloc_budget = -1;
        });
      }
    }
  }
  void Wait() override {
    if (mode_ == kDeferred && work_ != nullptr) {
      for (int w = 0; w < size_; ++w) (*work_)(w);
    }
    for (std::thread& t : threads_) t.join();
    threads_.clear();
    work_ = nullptr;
  }
  void Relax() override { std::this_thread::yield(); }
  int starts = 0;

 private:
  Mode mode_;
  int size_;
  int alloc_budget_;
  const std::function<void(int)>* work_ = nullptr;
  std::vector<std::thread> threads_;
};

// Lanes for the lane variant: mostly real ones, some out of range (rejected as bad_value).
uint32_t LaneFor(size_t i) {
  const uint64_t h = (i * 0x9E3779B97F4A7C15ull) >> 58;
  return h == 0 ? Engine::kMaxLanes + 3 : static_cast<uint32_t>(h % 3);
}

// rng null: Offer() one by one. Otherwise batches of 1..max_batch records; with lanes,
// record i goes to LaneFor(i) at the automatic position.
Outcome Feed(const std::shared_ptr<const RuleSet>& rules, const std::vector<std::string>& lines,
             std::mt19937_64* rng, DecodeWorkers* workers = nullptr, size_t max_batch = 150,
             bool lanes = false) {
  Recorder rec;
  Engine engine(rules, &rec);
  if (workers != nullptr) engine.SetDecodeWorkers(workers);
  Outcome out;
  size_t i = 0;
  while (i < lines.size()) {
    size_t n = rng == nullptr ? 1 : 1 + (*rng)() % max_batch;
    n = std::min(n, lines.size() - i);
    std::vector<std::string_view> views(lines.begin() + i, lines.begin() + i + n);
    std::vector<Rejection> rej(n);
    std::unique_ptr<bool[]> ok(new bool[n]);
    std::vector<uint32_t> lane_of(n);
    for (size_t k = 0; k < n; ++k) lane_of[k] = LaneFor(i + k);
    if (rng == nullptr) {
      ok[0] = engine.Offer(views[0], &rej[0]);
    } else {
      engine.OfferBatch(views.data(), n, lanes ? lane_of.data() : nullptr, nullptr, ok.get(),
                        rej.data());
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

std::vector<std::string> TestLines() {
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
  return lines;
}

TEST(EngineBatchTest, OfferBatchEqualsOfferOneByOne) {
  const std::vector<std::string> lines = TestLines();
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

// Batches of up to 700 records: those of 256 and more go through the workers. Each mode must
// give what the same batches give without workers, lanes (some out of range) included.
TEST(EngineBatchTest, DecodeWorkersChangeNothing) {
  const std::vector<std::string> lines = TestLines();
  std::shared_ptr<const RuleSet> rules;
  ASSERT_TRUE(RuleSet::Compile(MixedConfig(), &rules).ok());
  for (bool lanes : {false, true}) {
    for (uint64_t seed = 1; seed <= 3; ++seed) {
      std::mt19937_64 rng(seed);
      const Outcome plain = Feed(rules, lines, &rng, nullptr, 700, lanes);
      EXPECT_GT(plain.transitions.size(), 20u);
      EXPECT_GT(plain.rejects.size(), 500u);
      for (auto mode : {TestWorkers::kInline, TestWorkers::kDeferred, TestWorkers::kThreads}) {
        for (int size : {1, 3}) {
          TestWorkers workers(mode, size);
          std::mt19937_64 again(seed);
          EXPECT_TRUE(Feed(rules, lines, &again, &workers, 700, lanes) == plain)
              << "mode " << mode << " workers " << size << " seed " << seed << " lanes " << lanes;
          EXPECT_GT(workers.starts, 3) << "batches of 256+ records use the workers";
        }
      }
    }
  }
}

// Without lanes, the one-by-one result too (duplicates and late events need the same order).
TEST(EngineBatchTest, DecodeWorkersEqualOfferOneByOne) {
  const std::vector<std::string> lines = TestLines();
  std::shared_ptr<const RuleSet> rules;
  ASSERT_TRUE(RuleSet::Compile(MixedConfig(), &rules).ok());
  const Outcome one_by_one = Feed(rules, lines, nullptr);
  TestWorkers workers(TestWorkers::kThreads, 2);
  std::mt19937_64 rng(11);
  EXPECT_TRUE(Feed(rules, lines, &rng, &workers, 1000) == one_by_one);
}

// A worker that runs out of memory partway through a chunk hands the chunk back (the engine's
// thread decodes it again) and stops; the engine's thread decodes the rest. Nothing changes,
// and the worker's decoder still works in the next batch. Inline workers fail at the same
// allocation in every run; real threads race, so only their sum must have failed somewhere.
TEST(EngineBatchTest, WorkerOutOfMemoryChangesNothing) {
  const std::vector<std::string> lines = TestLines();
  std::shared_ptr<const RuleSet> rules;
  ASSERT_TRUE(RuleSet::Compile(MixedConfig(), &rules).ok());
  std::mt19937_64 rng(5);
  const Outcome plain = Feed(rules, lines, &rng, nullptr, 900);
  for (auto mode : {TestWorkers::kInline, TestWorkers::kThreads}) {
    const int mode_before = g_failed_allocs.load();
    for (int budget : {0, 1, 5, 40, 400}) {
      for (int size : {1, 2}) {
        const int failed_before = g_failed_allocs.load();
        TestWorkers workers(mode, size, budget);
        std::mt19937_64 again(5);
        EXPECT_TRUE(Feed(rules, lines, &again, &workers, 900) == plain)
            << "mode " << mode << " budget " << budget << " workers " << size;
        if (mode == TestWorkers::kInline) {
          EXPECT_GT(g_failed_allocs.load(), failed_before)
              << "budget " << budget << ": no allocation failed, the redo path did not run";
        }
      }
    }
    EXPECT_GT(g_failed_allocs.load(), mode_before) << "mode " << mode;
  }
}

}  // namespace
}  // namespace abusewatch::testing
