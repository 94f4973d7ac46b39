// Engine::Restore(): the inverse of engine_state.cc (formats described there).
#include <algorithm>
#include <map>

#include "detectors/engine_impl.h"

namespace abusewatch {

using engine_internal::Buffered;
using engine_internal::kNoTime;
using engine_internal::kRecordVersion;
using engine_internal::Lane;
using engine_internal::Timer;

namespace {

bool IsComposite(const CompiledRule& cr) {
  return cr.spec.kind == RuleKind::kAllOf || cr.spec.kind == RuleKind::kAnyOf;
}

Status Bad(std::string_view what) { return Status::Corruption(what); }

}  // namespace

Status Engine::Impl::LoadKeyRecord(std::string_view key, std::string_view value,
                                   const std::vector<int>& dmap, const std::vector<int>& rmap,
                                   Engine::RestoreReport* report, std::vector<int>* loaded,
                                   bool schedule) {
  const std::string where = "state of key '" + std::string(key) + "'";
  StateDecoder in(value);
  if (in.U8() != kRecordVersion) return Bad(where + ": unknown record version");
  if (key.empty()) return Bad("a state record has an empty key");
  ++report->keys;
  bool restored = false;
  const uint64_t n = in.Count(2);
  for (uint64_t i = 0; i < n && in.ok(); ++i) {
    const uint64_t old = in.Varint();
    const int64_t timer = in.Signed();
    std::string_view bytes = in.Bytes();
    if (!in.ok() || old >= dmap.size()) return Bad(where + ": malformed record");
    const int d = dmap[old];
    if (d < 0) {
      ++report->dropped_states;
      continue;
    }
    const uint32_t id = keys.Acquire(key);
    Status st = detectors[d]->LoadKey(id, bytes);
    if (!st.ok()) return Bad(where + ": " + st.message());
    if (detectors[d]->TimerAt(id) != timer) return Bad(where + ": timer mismatch");
    if (schedule && timer != kNoTime) Schedule(d, id, timer);
    restored = true;
    if (loaded != nullptr) loaded->push_back(d);
  }
  const uint64_t m = in.Count(1);
  for (uint64_t i = 0; i < m && in.ok(); ++i) {
    const uint64_t old = in.Varint();
    if (!in.ok() || old >= rmap.size()) return Bad(where + ": malformed record");
    const int c = rmap[old];
    if (c < 0) {
      ++report->dropped_states;
      continue;
    }
    if (!IsComposite(rules.rules()[c])) return Bad(where + ": a composite entry names a rule");
    const uint32_t id = keys.Acquire(key);
    if (!composite_firing[c].insert(id).second) return Bad(where + ": composite listed twice");
    restored = true;
    if (loaded != nullptr) loaded->push_back(-1 - c);
  }
  Status st = in.Finish(where);
  if (!st.ok()) return st;
  if (restored) {
    keys.MarkPersisted(keys.Find(key), true);
  } else {
    keys.AddRemoved(std::string(key));  // only states of changed rules: delete the record
  }
  return Status::Ok();
}

Status Engine::Impl::AnchorKeyRecord(std::string_view key, std::string_view value,
                                     const std::vector<int>& dmap) {
  StateDecoder in(value);
  if (in.U8() != kRecordVersion) return Bad("state of key '" + std::string(key) + "': version");
  uint32_t id = KeyTable::kNone;
  const uint64_t n = in.Count(2);
  for (uint64_t i = 0; i < n && in.ok(); ++i) {
    const uint64_t old = in.Varint();
    const int64_t timer = in.Signed();
    in.Bytes();
    if (!in.ok() || old >= dmap.size() || dmap[old] < 0) break;
    if (timer == kNoTime) continue;
    if (id == KeyTable::kNone) {
      id = keys.Acquire(key);  // the anchor's one reference
      keys.SetCold(id, true);
    }
    timers.push_back({timer, keys.hash(id), dmap[old], id});
  }
  if (!in.ok()) return Bad("state of key '" + std::string(key) + "': malformed record");
  return Status::Ok();
}

Status Engine::Impl::LoadMeta(StateDecoder* in, const std::vector<int>& dmap,
                              const std::vector<int>& rmap, const Engine::MetaGetter& get_meta,
                              bool lazy) {
  max_ts = in->Signed();
  frontier = in->Signed();
  multi = in->Bool();
  arrivals = in->Varint();
  const uint64_t nl = in->Count(7);
  if (nl == 0 || nl > Engine::kMaxLanes) return Bad("engine state: bad lane count");
  lanes.resize(nl);
  buffered = 0;
  for (uint64_t li = 0; li < nl && in->ok(); ++li) {
    Lane& l = lanes[li];
    const uint8_t state = in->U8();
    if (state > static_cast<uint8_t>(LaneState::kClosed)) in->Fail();
    l.state = static_cast<LaneState>(state);
    l.max_ts = in->Signed();
    l.end = in->Varint();
    l.next_seq = in->Varint();
    l.base_seq = in->Varint();
    if (l.base_seq > l.next_seq) in->Fail();
    const uint64_t nr = in->Count(3);
    for (uint64_t i = 0; i < nr && in->ok(); ++i) {
      const uint64_t first = in->Varint();
      const uint64_t n = in->Varint();
      const bool done = in->Bool();
      // A run can be no longer than the lane's accepted events not yet popped.
      if (n == 0 || n > l.next_seq - l.base_seq - l.fifo.size() || first + n < first) {
        in->Fail();
        break;
      }
      for (uint64_t k = 0; k < n; ++k) l.fifo.push_back({first + k, done});
    }
  }
  std::make_heap(timers.begin(), timers.end());
  pending_at = in->Signed();
  const uint64_t np = in->Count(6);
  for (uint64_t i = 0; i < np && in->ok(); ++i) {
    const uint64_t old = in->Varint();
    Transition t;
    t.key.assign(in->Bytes());
    t.firing = in->Bool();
    t.at_ms = in->Signed();
    t.has_value = in->Bool();
    t.value = in->Wide();
    const uint64_t ne = in->Count(1);
    for (uint64_t j = 0; j < ne && in->ok(); ++j) t.events.emplace_back(in->Bytes());
    if (!in->ok() || old >= rmap.size()) break;
    if (rmap[old] < 0) continue;
    t.rule = rmap[old];
    pending.push_back(std::move(t));
  }
  const uint64_t nu = in->Count(2);
  for (uint64_t i = 0; i < nu && in->ok(); ++i) {
    const uint64_t lane = in->Varint();
    const uint64_t seq = in->Varint();
    if (lane >= nl) in->Fail();
    unflushed.emplace_back(static_cast<uint32_t>(lane), seq);
  }
  const uint64_t nc = in->Count(2);
  for (uint64_t i = 0; i < nc && in->ok(); ++i) {
    const uint64_t n = in->Varint();
    dedup_chunks.emplace_back(n, in->Signed());
  }
  next_chunk = in->Varint();
  const uint64_t nbc = in->Count(2);
  for (uint64_t i = 0; i < nbc && in->ok(); ++i) {
    const uint64_t n = in->Varint();
    const uint64_t first = in->Varint();
    if (!buffer_chunks.empty() && first < buffer_chunks.back().second) in->Fail();
    buffer_chunks.emplace_back(n, first);
  }
  saved_arrivals = arrivals;
  // Totals at the checkpoint (in memory or evicted): all evicted now when lazy.
  const uint64_t ntd = in->Count(1);
  for (uint64_t i = 0; i < ntd && in->ok(); ++i) {
    const int64_t n = in->Signed();
    if (i >= dmap.size()) in->Fail();
    if (in->ok() && lazy) cold_states_by_detector[dmap[i]] = n;
  }
  const uint64_t ntr = in->Count(2);
  for (uint64_t i = 0; i < ntr && in->ok(); ++i) {
    const int64_t states = in->Signed(), firing = in->Signed();
    if (i >= rmap.size()) in->Fail();
    if (in->ok() && lazy) {
      cold_states_by_rule[rmap[i]] = states;
      cold_firing_by_rule[rmap[i]] = firing;
    }
  }
  if (!in->ok()) return Bad("engine state: truncated or malformed record");
  std::string chunk;
  for (const auto& [n, t] : dedup_chunks) {
    Status st = get_meta(engine_internal::ChunkName(n), &chunk);
    if (!st.ok()) {
      return Bad("engine state: dedup chunk " + std::to_string(n) + ": " + st.message());
    }
    StateDecoder cd(chunk);
    dedup.Load(&cd);
    st = cd.Finish("dedup chunk " + std::to_string(n));
    if (!st.ok()) return st;
  }
  if (max_ts != kNoTime) dedup.Evict(max_ts - rules.config().dedup_horizon_ms);
  return LoadBufferChunks(get_meta);
}

Status Engine::Impl::LoadBufferChunks(const Engine::MetaGetter& get_meta) {
  std::string chunk;
  for (const auto& [n, first] : buffer_chunks) {
    Status st = get_meta(engine_internal::BufferChunkName(n), &chunk);
    if (!st.ok()) {
      return Bad("engine state: buffer chunk " + std::to_string(n) + ": " + st.message());
    }
    StateDecoder in(chunk);
    const uint64_t count = in.Count(4);
    for (uint64_t i = 0; i < count && in.ok(); ++i) {
      const uint64_t lane = in.Varint();
      const uint64_t seq = in.Varint();
      const uint64_t arrival = in.Varint();
      auto e = std::make_unique<Event>();
      e->Load(&in);
      if (!in.ok()) break;
      if (lane >= lanes.size() || arrival < first || arrival >= arrivals ||
          seq >= lanes[lane].next_seq) {
        return Bad("engine state: buffer chunk " + std::to_string(n) + ": event out of range");
      }
      const int64_t ts = e->ts_ms;
      if (ts <= frontier) continue;  // processed before the checkpoint
      lanes[lane].buffer.push_back(
          Buffered{ts, static_cast<uint32_t>(lane), seq, arrival, std::move(e)});
    }
    st = in.Finish("buffer chunk " + std::to_string(n));
    if (!st.ok()) return st;
  }
  buffered = 0;
  for (size_t li = 0; li < lanes.size(); ++li) {
    std::deque<Buffered>& b = lanes[li].buffer;
    // The buffer's order: by ts, ties in arrival order.
    std::sort(b.begin(), b.end(), [](const Buffered& x, const Buffered& y) {
      return x.ts != y.ts ? x.ts < y.ts : x.arrival < y.arrival;
    });
    if (!b.empty()) buffered_lanes.push_back(static_cast<uint32_t>(li));
    buffered += b.size();
  }
  return Status::Ok();
}

Status Engine::Restore(const MetaGetter& get_meta, const KeyScanner& scan_keys,
                       const RestoreOptions& options, RestoreReport* report) {
  Impl& im = *impl_;
  *report = RestoreReport();
  if (im.arrivals != 0 || im.stats.rejected != 0 || im.multi || im.lanes[0].end != 0) {
    return Status::InvalidArgument("Restore() needs an engine that was offered nothing");
  }
  std::string meta;
  Status st = get_meta("engine", &meta);
  if (st.code() == Status::Code::kNotFound) {
    return Bad("the state has no engine record (written by an interrupted first checkpoint?)");
  }
  if (!st.ok()) return st;
  StateDecoder in(meta);
  const uint8_t version = in.U8();
  if (version == 1) {
    return Bad(
        "engine state: written by an older abusewatch (format 1; start with "
        "--state-rebuild)");
  }
  if (version != engine_internal::kMetaVersion) return Bad("engine state: unknown record version");
  std::vector<std::string> old_det(in.Count(1));
  for (std::string& s : old_det) s.assign(in.Bytes());
  std::vector<std::string> old_ids(in.Count(2)), old_rules(old_ids.size());
  for (size_t r = 0; r < old_ids.size(); ++r) {
    old_ids[r].assign(in.Bytes());
    old_rules[r].assign(in.Bytes());
  }
  if (!in.ok()) return Bad("engine state: truncated or malformed record");
  const std::vector<int> dmap =
      engine_internal::MapFingerprints(old_det, engine_internal::DetectorFingerprints(*rules_));
  const std::vector<std::string> now = engine_internal::RuleFingerprints(*rules_);
  const std::vector<int> rmap = engine_internal::MapFingerprints(old_rules, now);
  // What changed, by rule id.
  std::vector<bool> matched(now.size(), false);
  for (size_t r = 0; r < rmap.size(); ++r) {
    if (rmap[r] >= 0) matched[rmap[r]] = true;
  }
  std::map<std::string, std::string> changed;
  for (size_t r = 0; r < rmap.size(); ++r) {
    if (rmap[r] < 0) changed[old_ids[r]] = "removed";
  }
  for (size_t r = 0; r < now.size(); ++r) {
    if (matched[r]) continue;
    const std::string& id = rules_->rules()[r].spec.id;
    changed[id] = changed.count(id) ? "changed" : "added";
  }
  for (const auto& [id, what] : changed) report->changed_rules.push_back(id + " (" + what + ")");
  if (!changed.empty() && !options.keep_unchanged_rules) {
    std::string list;
    for (const std::string& c : report->changed_rules) list += (list.empty() ? "" : ", ") + c;
    return Status::InvalidArgument("the saved state was written with other rules (" + list +
                                   "): keep the state of the unchanged rules, or rebuild it");
  }
  const bool lazy = options.lazy && changed.empty() && im.cold_store != nullptr;
  st = scan_keys([&](std::string_view key, std::string_view value) {
    return lazy ? im.AnchorKeyRecord(key, value, dmap)
                : im.LoadKeyRecord(key, value, dmap, rmap, report, nullptr, /*schedule=*/true);
  });
  if (!st.ok()) return st;
  st = im.LoadMeta(&in, dmap, rmap, get_meta, lazy);
  if (!st.ok()) return st;
  st = in.Finish("engine state");
  if (!st.ok()) return st;
  EnableCheckpoints();
  if (!changed.empty()) {
    // Rewrite every record under the current rules' indices at the next checkpoint.
    im.keys.ForEachLive([&](uint32_t id) { im.keys.MarkDirty(id); });
  }
  return Status::Ok();
}

}  // namespace abusewatch
