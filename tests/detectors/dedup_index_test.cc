// DedupIndex against a brute-force model (a map of id -> latest accepted ts) on randomized
// streams: duplicates, ids coming back after the horizon, event time going back within the
// lateness, sweeps (Evict, and a full table) and growth. The table's small initial capacity
// (1 024) keeps probe clusters long, which is where an in-place sweep could lose an entry.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <unordered_map>

#include "detectors/dedup.h"
#include "detectors/state_codec.h"

namespace abusewatch {
namespace {

constexpr int64_t kT0 = 1'700'000'000'000;  // 2023-11-14, inside the index's time range

struct Model {
  std::unordered_map<std::string, int64_t> seen;  // id -> ts of its latest accepted insert
  bool InsertIfNew(const std::string& id, int64_t ts, int64_t floor) {
    auto it = seen.find(id);
    if (it != seen.end() && it->second >= floor) return false;
    seen[id] = ts;
    return true;
  }
  bool Seen(const std::string& id, int64_t floor) const {
    auto it = seen.find(id);
    return it != seen.end() && it->second >= floor;
  }
  size_t Live(int64_t floor) const {
    size_t n = 0;
    for (const auto& [id, ts] : seen) n += ts >= floor;
    return n;
  }
};

// One randomized run (gtest assertions; void so that ASSERT_* may return).
void RunAgainstModel(uint64_t seed, int ops, int id_pool, int64_t horizon_ms, int64_t step_ms) {
  std::mt19937_64 rng(seed);
  DedupIndex index;
  Model model;
  int64_t max_ts = kT0;
  for (int op = 0; op < ops; ++op) {
    const std::string id = "ev-" + std::to_string(rng() % static_cast<uint64_t>(id_pool));
    const DedupIndex::Hash h = DedupIndex::HashId(id);
    // Mostly forward in time, sometimes back (a late event) by up to two steps.
    const int64_t ts = std::max<int64_t>(
        kT0,
        max_ts + static_cast<int64_t>(rng() % static_cast<uint64_t>(3 * step_ms)) - 2 * step_ms);
    const int64_t floor = max_ts - horizon_ms;  // the engine's: largest accepted ts − horizon
    const int kind = static_cast<int>(rng() % 10);
    if (kind == 0) {
      ASSERT_EQ(index.Seen(h, floor), model.Seen(id, floor)) << "seed " << seed << " op " << op;
    } else if (kind == 1) {
      index.Evict(floor);
    } else {
      const bool got = index.InsertIfNew(h, ts, floor);
      ASSERT_EQ(got, model.InsertIfNew(id, ts, floor))
          << "seed " << seed << " op " << op << " id " << id << " ts " << ts;
      if (got) max_ts = std::max(max_ts, ts);
    }
  }
  // Every id the model still counts must be found, and none it has forgotten.
  const int64_t floor = max_ts - horizon_ms;
  for (int i = 0; i < id_pool; ++i) {
    const std::string id = "ev-" + std::to_string(i);
    EXPECT_EQ(index.Seen(DedupIndex::HashId(id), floor), model.Seen(id, floor))
        << "seed " << seed << " id " << id;
  }
}

TEST(DedupIndexTest, RandomStreamsMatchTheModel) {
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    std::mt19937_64 pick(seed * 7919);
    const int id_pool = 200 + static_cast<int>(pick() % 5000);
    const int64_t step = 1 + static_cast<int64_t>(pick() % 1000);
    const int64_t horizon = step * (1 + static_cast<int64_t>(pick() % 2000));
    RunAgainstModel(seed, 30'000, id_pool, horizon, step);
    if (HasFatalFailure()) return;
  }
}

TEST(DedupIndexTest, SweepsKeepTheTableSizedToTheLiveIds) {
  // 200 000 distinct ids, ~500 live within the horizon at any time: sweeps, not growth, must
  // make room, so the table stays at a few thousand slots instead of ~400 000.
  std::mt19937_64 rng(42);
  DedupIndex index;
  Model model;
  int64_t ts = kT0;
  for (int i = 0; i < 200'000; ++i) {
    ts += 10;
    const int64_t floor = ts - 5'000;
    const std::string id = "id-" + std::to_string(i);
    ASSERT_TRUE(index.InsertIfNew(DedupIndex::HashId(id), ts, floor));
    model.InsertIfNew(id, ts, floor);
    if (rng() % 4 == 0) {  // a duplicate of a recent id: still within the horizon
      const std::string dup = "id-" + std::to_string(i - static_cast<int>(rng() % 100) % (i + 1));
      ASSERT_FALSE(index.InsertIfNew(DedupIndex::HashId(dup), ts, floor)) << dup;
    }
    if (i % 64 == 0) index.Evict(floor);
  }
  EXPECT_LE(index.capacity(), 4096u);
  EXPECT_LE(index.size(), 2 * model.Live(ts - 5'000) + 1024);
  EXPECT_TRUE(index.Seen(DedupIndex::HashId("id-199999"), ts - 5'000));
  EXPECT_FALSE(index.Seen(DedupIndex::HashId("id-0"), ts - 5'000));
}

TEST(DedupIndexTest, GrowthKeepsEveryId) {
  // Nothing expires (a two-year horizon over a few hours): the table only grows, and every id
  // stays a duplicate.
  DedupIndex index;
  const int64_t floor = kT0 - 730LL * 86'400'000;
  for (int i = 0; i < 100'000; ++i) {
    ASSERT_TRUE(index.InsertIfNew(DedupIndex::HashId("g-" + std::to_string(i)), kT0 + i, floor));
  }
  EXPECT_EQ(index.size(), 100'000u);
  EXPECT_GE(index.capacity(), 200'000u);
  for (int i = 0; i < 100'000; i += 7) {
    ASSERT_FALSE(index.InsertIfNew(DedupIndex::HashId("g-" + std::to_string(i)), kT0 + i, floor));
  }
}

TEST(DedupIndexTest, LoadSizesTheTableForTheRecord) {
  // A checkpoint's ids (a full record, then a journal of later ones) loaded into a fresh
  // index: every id comes back with its time, and the table is as large as growth would have
  // made it (the smallest power of two at load <= 0.5), sized before the entries go in.
  const int64_t floor = kT0 - 730LL * 86'400'000;
  DedupIndex source;
  source.EnableJournal();
  for (int i = 0; i < 60'000; ++i) {
    source.InsertIfNew(DedupIndex::HashId("l-" + std::to_string(i)), kT0 + i, floor);
  }
  std::string full, journal;
  int64_t max_ts = 0;
  StateEncoder full_out(&full);
  source.SaveAll(&full_out, &max_ts);
  for (int i = 60'000; i < 100'000; ++i) {
    source.InsertIfNew(DedupIndex::HashId("l-" + std::to_string(i)), kT0 + i, floor);
  }
  StateEncoder journal_out(&journal);
  source.SaveJournal(&journal_out, &max_ts);
  EXPECT_EQ(max_ts, kT0 + 99'999);

  DedupIndex restored;
  for (const std::string* record : {&full, &journal}) {
    StateDecoder in(*record);
    restored.Load(&in);
    ASSERT_TRUE(in.Finish("dedup").ok());
  }
  EXPECT_EQ(restored.size(), 100'000u);
  EXPECT_EQ(restored.capacity(), 262'144u);  // 2^18: 100 000 / 2^17 > 0.5
  for (int i = 0; i < 100'000; i += 3) {
    const DedupIndex::Hash h = DedupIndex::HashId("l-" + std::to_string(i));
    ASSERT_TRUE(restored.Seen(h, kT0 + i)) << i;  // its time came back, not an earlier one
    ASSERT_FALSE(restored.Seen(h, kT0 + i + 1)) << i;
  }
  EXPECT_FALSE(restored.Seen(DedupIndex::HashId("l-100000"), floor));

  // A record cut short claims more entries than its bytes hold: refused before anything is
  // loaded or reserved.
  DedupIndex partial;
  StateDecoder cut(std::string_view(full).substr(0, full.size() / 2));
  partial.Load(&cut);
  EXPECT_FALSE(cut.ok());
  EXPECT_EQ(partial.size(), 0u);
  EXPECT_EQ(partial.capacity(), 1024u);
}

}  // namespace
}  // namespace abusewatch
