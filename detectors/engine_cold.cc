// Bounded memory (engine.h): evicting clean keys and bringing them back from the cold store.
//
// An evicted key's state lives only in the store (the record its last checkpoint wrote). If
// its state had a live timer, the key stays in the KeyTable as a cold anchor (one reference,
// no detector state), so the timer heap keeps pointing at it; the timer, or any event of the
// key, loads the record back before a detector sees the key. A key without timers leaves
// memory entirely and comes back on its next event.
#include <algorithm>

#include "detectors/engine_impl.h"

namespace abusewatch {

void Engine::SetColdStore(ColdStore* store) {
  Impl& im = *impl_;
  im.cold_store = store;
  const size_t nd = rules_->detectors().size(), nr = rules_->rules().size();
  im.identity_dmap.resize(nd);
  for (size_t d = 0; d < nd; ++d) im.identity_dmap[d] = static_cast<int>(d);
  im.identity_rmap.resize(nr);
  for (size_t r = 0; r < nr; ++r) im.identity_rmap[r] = static_cast<int>(r);
  im.cold_states_by_detector.assign(nd, 0);
  im.cold_states_by_rule.assign(nr, 0);
  im.cold_firing_by_rule.assign(nr, 0);
}

uint32_t Engine::Impl::LoadCold(std::string_view key_view, uint32_t id) {
  const std::string key(key_view);  // the view may point into the KeyTable, which may grow
  if (keys.IsRemoved(key) || uncommitted_removals.contains(key)) {
    return KeyTable::kNone;  // its stored record is being deleted: no state
  }
  std::string value;
  Status s = cold_store->GetKey(key, &value);
  if (s.code() == Status::Code::kNotFound) return id == KeyTable::kNone ? id : KeyTable::kNone;
  if (!s.ok()) {
    if (cold_status.ok()) cold_status = s;
    return id;
  }
  Engine::RestoreReport report;
  std::vector<int> loaded;
  s = LoadKeyRecord(key, value, identity_dmap, identity_rmap, &report, &loaded);
  if (!s.ok()) {
    if (cold_status.ok()) cold_status = s;
    return id;
  }
  const uint32_t now = keys.Find(key);
  for (int x : loaded) {
    if (x >= 0) {
      --cold_states_by_detector[x];
      const std::vector<int>& slots = rules.detectors()[x].rules;
      for (size_t slot = 0; slot < slots.size(); ++slot) {
        if (detectors[x]->IsFiring(static_cast<int>(slot), now)) --cold_firing_by_rule[slots[slot]];
      }
    } else {
      --cold_states_by_rule[-1 - x];
      --cold_firing_by_rule[-1 - x];
    }
  }
  if (id != KeyTable::kNone && keys.cold(id)) {
    keys.SetCold(id, false);
    keys.Release(id);  // the anchor's reference; the loaded states hold theirs
  }
  ++cold_stats.loads;
  return now;
}

size_t Engine::EvictColdKeys(size_t max_hot) {
  Impl& im = *impl_;
  if (im.cold_store == nullptr) return 0;
  std::vector<uint32_t> hot;
  im.keys.ForEachLive([&](uint32_t id) {
    if (!im.keys.cold(id)) hot.push_back(id);
  });
  if (hot.size() <= max_hot) return 0;
  std::vector<uint32_t> clean;
  for (uint32_t id : hot) {
    if (!im.keys.dirty(id) && im.keys.persisted(id)) clean.push_back(id);
  }
  size_t n = std::min(clean.size(), hot.size() - max_hot);
  std::nth_element(clean.begin(), clean.begin() + static_cast<ptrdiff_t>(n), clean.end(),
                   [&](uint32_t a, uint32_t b) { return im.keys.touched(a) < im.keys.touched(b); });
  for (size_t i = 0; i < n; ++i) {
    const uint32_t id = clean[i];
    bool timer = false;
    for (size_t d = 0; d < im.detectors.size(); ++d) {
      Detector& det = *im.detectors[d];
      timer |= det.TimerAt(id) != kNoTimer;
      const std::vector<int>& slots = rules_->detectors()[d].rules;
      for (size_t slot = 0; slot < slots.size(); ++slot) {
        if (det.IsFiring(static_cast<int>(slot), id)) ++im.cold_firing_by_rule[slots[slot]];
      }
      if (det.DropKey(id)) {
        ++im.cold_states_by_detector[d];
        im.keys.Release(id);
      }
    }
    for (size_t c = 0; c < im.composite_firing.size(); ++c) {
      if (im.composite_firing[c].erase(id) > 0) {
        ++im.cold_states_by_rule[c];
        ++im.cold_firing_by_rule[c];
        im.keys.Release(id);
      }
    }
    im.keys.MarkPersisted(id, false);  // its record stays in the store
    if (timer) {
      im.keys.Ref(id);
      im.keys.SetCold(id, true);
    }
  }
  im.keys.Collect();
  im.cold_stats.evictions += n;
  return n;
}

Engine::ColdStats Engine::cold_stats() const {
  ColdStats s = impl_->cold_stats;
  impl_->keys.ForEachLive([&](uint32_t id) {
    if (impl_->keys.cold(id)) {
      ++s.cold_anchors;
    } else {
      ++s.hot_keys;
    }
  });
  return s;
}

void Engine::CheckpointCommitted() { impl_->uncommitted_removals.clear(); }

Status Engine::cold_status() const { return impl_->cold_status; }

}  // namespace abusewatch
