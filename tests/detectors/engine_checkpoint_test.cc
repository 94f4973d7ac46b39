// Engine checkpoints: a run interrupted at random moments (the engine thrown away, a new one
// restored from the last checkpoint and fed again from the records after it) gives exactly the
// transitions, evidence included, and the accept / reject outcomes of an uninterrupted run.
// Also: malformed records are refused without crashing, and a state written with other rules
// is refused or, on request, partly kept.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "detectors/engine.h"
#include "tests/detectors/engine_test_util.h"
#include "tests/reference/random_stream.h"

namespace abusewatch::testing {
namespace {

// A store: applies CheckpointWriter calls to maps (what RocksDB does in the daemon).
struct MemStore : CheckpointWriter, Engine::ColdStore {
  Status GetKey(std::string_view k, std::string* v) override {
    auto it = keys.find(std::string(k));
    if (it == keys.end()) return Status::NotFound(k);
    *v = it->second;
    ++gets;
    return Status::Ok();
  }
  int gets = 0;
  std::map<std::string, std::string> keys, meta;
  void PutKey(std::string_view k, std::string_view v) override { keys[std::string(k)] = v; }
  void DeleteKey(std::string_view k) override { keys.erase(std::string(k)); }
  void PutMeta(std::string_view n, std::string_view v) override { meta[std::string(n)] = v; }
  void DeleteMeta(std::string_view n) override { meta.erase(std::string(n)); }

  Engine::MetaGetter Getter() const {
    return [this](std::string_view name, std::string* value) {
      auto it = meta.find(std::string(name));
      if (it == meta.end()) return Status::NotFound(name);
      *value = it->second;
      return Status::Ok();
    };
  }
  Engine::KeyScanner Scanner() const {
    return [this](const Engine::KeyVisitor& visit) {
      for (const auto& [k, v] : keys) {
        Status s = visit(k, v);
        if (!s.ok()) return s;
      }
      return Status::Ok();
    };
  }
};

struct FullRecorder : TransitionSink {
  std::vector<std::string> lines;
  void OnTransition(const Transition& t, const RuleSet& rules) override {
    std::string s = rules.rules()[t.rule].spec.id + " " + t.key + (t.firing ? " F " : " R ") +
                    std::to_string(t.at_ms) + " " +
                    (t.has_value ? std::to_string(static_cast<int64_t>(t.value)) : "-");
    for (const std::string& e : t.events) s += " " + e;
    lines.push_back(std::move(s));
  }
};

bool Blank(const std::string& line) { return line.find_first_not_of(" \t\r") == std::string::npos; }

std::string Outcome(bool accepted, const Rejection& rej) {
  return accepted ? "ok" : std::string(RejectReasonName(rej.reason));
}

struct Outcomes {
  std::vector<std::string> transitions;
  std::vector<std::string> outcomes;
  int restores = 0;
};

// One step of input: a record offered on a lane, or a lane state change.
struct Op {
  std::string record;  // empty: SetLaneState
  uint32_t lane = 0;
  LaneState state = LaneState::kActive;
};

// What an op did, as observable: the offer's outcome (or nothing), the frontier, and LaneDone.
std::string Apply(Engine& engine, const Op& op) {
  Rejection rej;
  std::string out;
  if (op.record.empty()) {
    EXPECT_TRUE(engine.SetLaneState(op.lane, op.state).ok());
    out = "lane";
  } else {
    out = Outcome(engine.Offer(op.record, &rej, op.lane, Engine::kNextPosition), rej);
  }
  return out + " " + std::to_string(engine.frontier()) + " " +
         std::to_string(engine.LaneDone(op.lane));
}

std::vector<Op> SingleLane(const std::vector<std::string>& lines) {
  std::vector<Op> ops;
  for (const std::string& l : lines) {
    if (!Blank(l)) ops.push_back({l});
  }
  return ops;
}

Outcomes Uninterrupted(const std::shared_ptr<const RuleSet>& rules, const std::vector<Op>& ops) {
  Outcomes out;
  FullRecorder rec;
  Engine engine(rules, &rec);
  engine.EnableCheckpoints();  // tracking must not change behaviour
  for (const Op& op : ops) out.outcomes.push_back(Apply(engine, op));
  engine.Finish();
  out.transitions = std::move(rec.lines);
  return out;
}

// Checkpoints after random records; after some checkpoints, "crashes" a few records later:
// what was emitted since the checkpoint is forgotten and a new engine resumes from it.
// With `evict`, after each checkpoint at most a few keys stay in memory (the rest come back
// from the store when touched), and restores are lazy half of the time.
Outcomes Interrupted(const std::shared_ptr<const RuleSet>& rules, const std::vector<Op>& lines,
                     ref::Rng& rng, std::string* error, bool evict = false,
                     int checkpoint_percent = 15, size_t* largest_meta = nullptr) {
  Outcomes out;
  MemStore store;
  auto rec = std::make_unique<FullRecorder>();
  auto engine = std::make_unique<Engine>(rules, rec.get());
  engine->EnableCheckpoints();
  if (evict) engine->SetColdStore(&store);
  std::vector<std::string> kept;  // transitions and outcomes as of the last checkpoint
  std::vector<std::string> kept_outcomes;
  size_t resume = 0;  // first line after the last checkpoint
  size_t crash_at = SIZE_MAX;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i == crash_at) {
      // Crash: forget everything since the checkpoint, restore, go on from there.
      rec = std::make_unique<FullRecorder>();
      engine = std::make_unique<Engine>(rules, rec.get());
      Engine::RestoreReport report;
      Engine::RestoreOptions ro;
      if (evict) {
        engine->SetColdStore(&store);
        ro.lazy = rng.Percent(50);
      }
      Status s = engine->Restore(store.Getter(), store.Scanner(), ro, &report);
      if (!s.ok()) {
        *error = "restore: " + s.message();
        return out;
      }
      ++out.restores;
      out.outcomes = kept_outcomes;
      crash_at = SIZE_MAX;
      i = resume;
    }
    out.outcomes.push_back(Apply(*engine, lines[i]));
    if (rng.Percent(checkpoint_percent)) {
      engine->Checkpoint(&store);
      if (largest_meta != nullptr)
        *largest_meta = std::max(*largest_meta, store.meta["engine"].size());
      if (evict) {
        engine->CheckpointCommitted();
        engine->EvictColdKeys(static_cast<size_t>(rng.Range(0, 3)));
      }
      if (!engine->cold_status().ok()) {
        *error = "cold: " + engine->cold_status().message();
        return out;
      }
      for (std::string& t : rec->lines) kept.push_back(std::move(t));
      rec->lines.clear();
      kept_outcomes = out.outcomes;
      resume = i + 1;
      if (rng.Percent(40)) crash_at = i + 1 + static_cast<size_t>(rng.Range(0, 8));
    }
  }
  engine->Finish();
  for (std::string& t : rec->lines) kept.push_back(std::move(t));
  out.transitions = std::move(kept);
  return out;
}

TEST(EngineCheckpointTest, RandomCrashesGiveTheUninterruptedRun) {
  constexpr uint64_t kSeeds = 1500;
  int restores = 0;
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    ref::Rng rng(seed);
    EngineConfig config = ref::RandomConfig(rng);
    std::shared_ptr<const RuleSet> rules;
    ASSERT_TRUE(RuleSet::Compile(config, &rules).ok()) << seed;
    const std::vector<Op> lines = SingleLane(ref::RandomStream(config, rng));
    const Outcomes want = Uninterrupted(rules, lines);
    std::string error;
    const Outcomes got = Interrupted(rules, lines, rng, &error);
    ASSERT_EQ(error, "") << "seed " << seed;
    ASSERT_EQ(got.outcomes, want.outcomes) << "seed " << seed;
    ASSERT_EQ(got.transitions, want.transitions) << "seed " << seed;
    restores += got.restores;
  }
  EXPECT_GT(restores, static_cast<int>(kSeeds));  // crashes did happen, often
  std::printf("checkpoints: %d restores over %llu seeds\n", restores,
              static_cast<unsigned long long>(kSeeds));
}

// Bounded memory: keys evicted after every checkpoint come back from the store when touched,
// by an event or a timer; lazy restores load nothing up front. Same results.
TEST(EngineCheckpointTest, EvictedKeysComeBackTheSame) {
  constexpr uint64_t kSeeds = 1500;
  int restores = 0;
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    ref::Rng rng(seed * 104729);
    EngineConfig config = ref::RandomConfig(rng);
    std::shared_ptr<const RuleSet> rules;
    ASSERT_TRUE(RuleSet::Compile(config, &rules).ok()) << seed;
    const std::vector<Op> lines = SingleLane(ref::RandomStream(config, rng));
    const Outcomes want = Uninterrupted(rules, lines);
    std::string error;
    const Outcomes got = Interrupted(rules, lines, rng, &error, /*evict=*/true);
    ASSERT_EQ(error, "") << "seed " << seed;
    ASSERT_EQ(got.outcomes, want.outcomes) << "seed " << seed;
    ASSERT_EQ(got.transitions, want.transitions) << "seed " << seed;
    restores += got.restores;
  }
  EXPECT_GT(restores, static_cast<int>(kSeeds));
}

// Gauges count evicted keys: StateKeys and FiringCount do not change when keys are evicted,
// nor across a lazy restore.
TEST(EngineCheckpointTest, CountsIncludeEvictedKeys) {
  for (uint64_t seed = 1; seed <= 300; ++seed) {
    ref::Rng rng(seed * 31);
    EngineConfig config = ref::RandomConfig(rng);
    std::shared_ptr<const RuleSet> rules;
    ASSERT_TRUE(RuleSet::Compile(config, &rules).ok());
    FullRecorder rec;
    Engine engine(rules, &rec);
    engine.EnableCheckpoints();
    MemStore store;
    engine.SetColdStore(&store);
    Rejection rej;
    for (const std::string& l : ref::RandomStream(config, rng)) {
      if (!Blank(l)) engine.Offer(l, &rej);
    }
    auto counts = [&](const Engine& e) {
      std::vector<size_t> c;
      for (size_t r = 0; r < rules->rules().size(); ++r) {
        c.push_back(e.StateKeys(static_cast<int>(r)));
        c.push_back(e.FiringCount(static_cast<int>(r)));
      }
      return c;
    };
    const std::vector<size_t> before = counts(engine);
    engine.Checkpoint(&store);
    engine.CheckpointCommitted();
    engine.EvictColdKeys(0);
    EXPECT_EQ(engine.cold_stats().hot_keys, 0u) << seed;
    EXPECT_EQ(counts(engine), before) << "seed " << seed;
    FullRecorder rec2;
    Engine lazy(rules, &rec2);
    lazy.SetColdStore(&store);
    Engine::RestoreOptions ro;
    ro.lazy = true;
    Engine::RestoreReport report;
    ASSERT_TRUE(lazy.Restore(store.Getter(), store.Scanner(), ro, &report).ok());
    EXPECT_EQ(report.keys, 0u);
    EXPECT_EQ(counts(lazy), before) << "seed " << seed;
  }
}

// Lanes: records on random lanes, lanes going idle, active and closed between them.
TEST(EngineCheckpointTest, RandomCrashesWithLanes) {
  constexpr uint64_t kSeeds = 800;
  int restores = 0;
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    ref::Rng rng(seed * 7919);
    EngineConfig config = ref::RandomConfig(rng);
    std::shared_ptr<const RuleSet> rules;
    ASSERT_TRUE(RuleSet::Compile(config, &rules).ok()) << seed;
    const uint32_t k = static_cast<uint32_t>(rng.Range(1, 5));
    std::vector<Op> ops;
    for (const std::string& l : ref::RandomStream(config, rng)) {
      if (Blank(l)) continue;
      if (rng.Percent(10)) {
        const LaneState states[] = {LaneState::kActive, LaneState::kIdle, LaneState::kClosed};
        ops.push_back({"", static_cast<uint32_t>(rng.Range(0, k)), rng.Pick(states)});
      }
      ops.push_back({l, static_cast<uint32_t>(rng.Range(0, k - 1))});
    }
    const Outcomes want = Uninterrupted(rules, ops);
    std::string error;
    const Outcomes got = Interrupted(rules, ops, rng, &error);
    ASSERT_EQ(error, "") << "seed " << seed;
    ASSERT_EQ(got.outcomes, want.outcomes) << "seed " << seed;
    ASSERT_EQ(got.transitions, want.transitions) << "seed " << seed;
    restores += got.restores;
  }
  EXPECT_GT(restores, static_cast<int>(kSeeds));
}

// A lane assigned but silent holds event time back, so the other lanes' events pile up in the
// reorder buffer across many checkpoints (more than the journal keeps before merging). The
// buffer goes to journal chunks: the "engine" record stays small, and restores anywhere give
// the uninterrupted run.
TEST(EngineCheckpointTest, HeldBackLaneBufferIsJournaledNotRewritten) {
  constexpr uint64_t kSeeds = 300;
  int restores = 0;
  size_t largest_meta = 0, largest_buffer = 0;
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    ref::Rng rng(seed * 104729);
    EngineConfig config = ref::RandomConfig(rng);
    std::shared_ptr<const RuleSet> rules;
    ASSERT_TRUE(RuleSet::Compile(config, &rules).ok()) << seed;
    std::vector<std::string> stream;
    for (int round = 0; round < 4; ++round) {
      for (std::string& l : ref::RandomStream(config, rng)) {
        if (!Blank(l)) stream.push_back(std::move(l));
      }
    }
    // Lane 2 is held back until 80% of the stream went to lanes 0 and 1.
    std::vector<Op> ops = {{"", 2, LaneState::kActive}};
    const size_t release = stream.size() * 4 / 5;
    for (size_t i = 0; i < stream.size(); ++i) {
      ops.push_back({stream[i], i < release ? static_cast<uint32_t>(i % 2) : 2u});
    }
    const Outcomes want = Uninterrupted(rules, ops);
    std::string error;
    size_t meta = 0;
    const Outcomes got = Interrupted(rules, ops, rng, &error, /*evict=*/false,
                                     /*checkpoint_percent=*/60, &meta);
    ASSERT_EQ(error, "") << "seed " << seed;
    ASSERT_EQ(got.outcomes, want.outcomes) << "seed " << seed;
    ASSERT_EQ(got.transitions, want.transitions) << "seed " << seed;
    restores += got.restores;
    largest_meta = std::max(largest_meta, meta);
    largest_buffer = std::max(largest_buffer, release);
  }
  EXPECT_GT(restores, static_cast<int>(kSeeds));
  // Without the journal the record held every buffered event (tens of bytes each).
  EXPECT_LT(largest_meta, 4096u) << "with up to " << largest_buffer << " events buffered";
  std::printf("held back: %d restores; largest engine record %zu bytes, buffer up to %zu events\n",
              restores, largest_meta, largest_buffer);
}

// A state to damage: some seed's engine checkpointed half-way.
MemStore SomeState(uint64_t seed, std::shared_ptr<const RuleSet>* rules) {
  ref::Rng rng(seed);
  EngineConfig config = ref::RandomConfig(rng);
  EXPECT_TRUE(RuleSet::Compile(config, rules).ok());
  const std::vector<std::string> lines = ref::RandomStream(config, rng);
  FullRecorder rec;
  Engine engine(*rules, &rec);
  engine.EnableCheckpoints();
  Rejection rej;
  MemStore store;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (!Blank(lines[i])) engine.Offer(lines[i], &rej);
    if (i == lines.size() / 3 || i == lines.size() * 2 / 3) engine.Checkpoint(&store);
  }
  return store;
}

Status RestoreFrom(const std::shared_ptr<const RuleSet>& rules, const MemStore& store,
                   bool keep = false, Engine::RestoreReport* report = nullptr) {
  FullRecorder rec;
  Engine engine(rules, &rec);
  Engine::RestoreReport r;
  Engine::RestoreOptions options;
  options.keep_unchanged_rules = keep;
  Status s = engine.Restore(store.Getter(), store.Scanner(), options, report ? report : &r);
  if (s.ok()) {
    // Still usable: run a little more through it.
    Rejection rej;
    engine.Offer(R"({"id":"x-1","type":"login","ts":"2026-03-01T00:00:00Z","account":"a"})", &rej);
    engine.Finish();
  }
  return s;
}

// Every truncation of every record is refused (the store's checksums catch flipped bytes;
// here the decoder must still never crash or read out of bounds on them).
TEST(EngineCheckpointTest, DamagedRecordsAreRefusedNotLoaded) {
  int truncations = 0, flips = 0, flips_refused = 0;
  for (uint64_t seed = 1; seed <= 60; ++seed) {
    std::shared_ptr<const RuleSet> rules;
    const MemStore good = SomeState(seed, &rules);
    ASSERT_TRUE(RestoreFrom(rules, good).ok()) << seed;
    ref::Rng rng(seed);
    auto damage = [&](std::string* value, bool truncate) {
      if (value->empty()) return;
      if (truncate) {
        value->resize(static_cast<size_t>(rng.Range(0, static_cast<int64_t>(value->size()) - 1)));
      } else {
        (*value)[static_cast<size_t>(rng.Range(0, static_cast<int64_t>(value->size()) - 1))] ^=
            static_cast<char>(1 << rng.Range(0, 7));
      }
    };
    for (auto& [name, v] : good.meta) {
      for (bool truncate : {true, false}) {
        MemStore bad = good;
        damage(&bad.meta[name], truncate);
        const Status s = RestoreFrom(rules, bad);
        if (truncate) {
          EXPECT_FALSE(s.ok()) << "seed " << seed << " meta " << name;
          ++truncations;
        } else {
          ++flips;
          flips_refused += !s.ok();
        }
      }
    }
    for (auto& [key, v] : good.keys) {
      MemStore bad = good;
      damage(&bad.keys[key], true);
      EXPECT_FALSE(RestoreFrom(rules, bad).ok()) << "seed " << seed << " key " << key;
      ++truncations;
      bad = good;
      damage(&bad.keys[key], false);
      flips_refused += !RestoreFrom(rules, bad).ok();
      ++flips;
    }
    MemStore missing = good;
    missing.meta.erase("engine");
    EXPECT_EQ(RestoreFrom(rules, missing).code(), Status::Code::kCorruption);
  }
  EXPECT_GT(truncations, 100);
  std::printf("damaged records: %d truncations refused; %d of %d byte flips refused\n", truncations,
              flips_refused, flips);
}

EngineConfig Pack() {
  EngineConfig c = BaseConfig();
  c.rules.push_back(
      Threshold("logins", Sel({EventType::kLogin}), Aggregate::kCount, 3600 * 1000, 1000, "3"));
  c.rules.push_back(Threshold("reports", Sel({EventType::kAbuseReport}), Aggregate::kCount,
                              3600 * 1000, 1000, "2"));
  return c;
}

std::string LoginAt(int i) {
  return R"({"id":"l-)" + std::to_string(i) + R"(","type":"login","ts":"2026-03-01T00:00:0)" +
         std::to_string(i) + R"(Z","account":"a"})";
}

TEST(EngineCheckpointTest, OtherRulesAreRefusedOrPartlyKept) {
  std::shared_ptr<const RuleSet> before, after;
  ASSERT_TRUE(RuleSet::Compile(Pack(), &before).ok());
  EngineConfig changed = Pack();
  changed.rules[1].threshold = Decimal{5, 0};  // "reports" changes, "logins" does not
  changed.rules.push_back(
      Threshold("payments", Sel({EventType::kPayment}), Aggregate::kCount, 3600 * 1000, 1000, "1"));
  ASSERT_TRUE(RuleSet::Compile(changed, &after).ok());

  FullRecorder rec;
  Engine engine(before, &rec);
  engine.EnableCheckpoints();
  Rejection rej;
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(engine.Offer(LoginAt(i), &rej));
  MemStore store;
  engine.Checkpoint(&store);

  Engine::RestoreReport report;
  Status s = RestoreFrom(after, store, /*keep=*/false, &report);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("reports (changed)"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("payments (added)"), std::string::npos) << s.message();
  EXPECT_EQ(s.message().find("logins"), std::string::npos) << s.message();

  // Kept: the unchanged rule goes on from its two logins (the third fires it).
  FullRecorder rec2;
  Engine kept(after, &rec2);
  Engine::RestoreOptions keep;
  keep.keep_unchanged_rules = true;
  ASSERT_TRUE(kept.Restore(store.Getter(), store.Scanner(), keep, &report).ok());
  ASSERT_TRUE(kept.Offer(LoginAt(2), &rej));
  kept.Finish();
  ASSERT_EQ(rec2.lines.size(), 1u);
  EXPECT_EQ(rec2.lines[0].substr(0, 10), "logins a F");
  // The same rules restore exactly, with nothing to report.
  EXPECT_TRUE(RestoreFrom(before, store, false, &report).ok());
  EXPECT_TRUE(report.changed_rules.empty());
  EXPECT_EQ(engine.RulesFingerprint().size(), 32u);
  EXPECT_NE(engine.RulesFingerprint(), kept.RulesFingerprint());
}

}  // namespace
}  // namespace abusewatch::testing
