#include "detectors/engine.h"

#include <algorithm>
#include <deque>
#include <limits>

#include "absl/container/flat_hash_set.h"
#include "detectors/dedup.h"
#include "detectors/detector.h"
#include "detectors/engine_impl.h"
#include "detectors/key_table.h"
#include "detectors/selector.h"
#include "detectors/timeutil.h"

namespace abusewatch {

using engine_internal::Buffered;
using engine_internal::kNoTime;
using engine_internal::kUnset;
using engine_internal::Lane;
using engine_internal::Timer;

Engine::Impl::Impl(const RuleSet& r, TransitionSink* s)
    : rules(r),
      sink(s),
      decoder(DecoderOptionsFor(r.config())),
      composite_firing(r.rules().size()),
      lanes(1) {
  lanes[0].state = LaneState::kActive;
  for (size_t d = 0; d < rules.detectors().size(); ++d) {
    const int i = static_cast<int>(d);
    switch (rules.detectors()[d].kind) {
      case RuleKind::kThreshold:
        detectors.push_back(MakeThresholdDetector(rules, i));
        break;
      case RuleKind::kAbsence:
        detectors.push_back(MakeAbsenceDetector(rules, i));
        break;
      case RuleKind::kSequence:
        detectors.push_back(MakeSequenceDetector(rules, i));
        break;
      default:
        break;
    }
  }
  key_cache.fill(kUnset);
  for (const auto& d : rules.detectors()) {
    if (std::find(group_fields.begin(), group_fields.end(), d.group_by) == group_fields.end()) {
      group_fields.push_back(d.group_by);
    }
  }
}

uint32_t Engine::Impl::FindKey(FieldId field) {
  uint32_t& c = key_cache[static_cast<int>(field)];
  if (c == kUnset) {
    const std::string_view v = GroupValue(*current, field);
    c = keys.Find(v);
    if (cold_store != nullptr && (c == KeyTable::kNone || keys.cold(c))) c = LoadCold(v, c);
    if (c != KeyTable::kNone) {
      keys.MarkDirty(c);
      keys.Touch(c, clock);
    }
  }
  return c;
}

uint32_t Engine::Impl::AcquireKey(FieldId field) {
  uint32_t& c = key_cache[static_cast<int>(field)];
  if (c == kUnset && cold_store != nullptr) FindKey(field);  // brings a cold key back first
  if (c == kUnset || c == KeyTable::kNone) {
    c = keys.Acquire(GroupValue(*current, field));
    keys.MarkDirty(c);
    keys.Touch(c, clock);
  } else {
    keys.Ref(c);
  }
  return c;
}

void Engine::Impl::Schedule(int detector, uint32_t key, int64_t at) {
  timers.push_back({at, keys.hash(key), detector, key});
  std::push_heap(timers.begin(), timers.end());
}

void Engine::Impl::Emit(int rule, uint32_t key, bool firing, int64_t at, bool has_value,
                        Int128 value, std::vector<std::string> events) {
  Transition t;
  t.rule = rule;
  t.key.assign(keys.Get(key));
  t.firing = firing;
  t.at_ms = at;
  t.has_value = has_value;
  t.value = value;
  t.events = std::move(events);
  step.push_back(std::move(t));
  step_keys.push_back(key);
}

bool Engine::Impl::IsFiringRule(int rule, uint32_t key) const {
  const CompiledRule& cr = rules.rules()[rule];
  if (!cr.spec.enabled) return false;
  if (cr.spec.kind == RuleKind::kAllOf || cr.spec.kind == RuleKind::kAnyOf) {
    return composite_firing[rule].contains(key);
  }
  return cr.detector >= 0 && detectors[cr.detector]->IsFiring(cr.slot, key);
}

void Engine::Impl::ProcessEvent(const Buffered& b) {
  const Event& e = *b.event;
  current = &e;
  key_cache.fill(kUnset);
  ++clock;
  if (cold_store != nullptr) {
    // Cold keys come back before any detector runs (a load fills every detector's map).
    for (int d : rules.detectors_for(e.type)) {
      const FieldId f = rules.detectors()[d].group_by;
      if (!GroupValue(e, f).empty()) FindKey(f);
    }
  }
  for (int d : rules.detectors_for(e.type)) {
    if (GroupValue(e, rules.detectors()[d].group_by).empty()) continue;
    detectors[d]->OnEvent(e, *this);
  }
  current = nullptr;
  EndStep(e.ts_ms);
  // Done once the transitions of its instant reach the sink; conservatively, while any
  // transition at its instant is pending, it waits for that flush.
  if (!pending.empty() && pending_at == b.ts) {
    unflushed.push_back({b.lane, b.seq});
  } else {
    MarkDone(b.lane, b.seq);
  }
}

void Engine::Impl::MarkDone(uint32_t lane, uint64_t seq) {
  Lane& l = lanes[lane];
  if (seq == l.base_seq) {  // the usual case: the oldest one
    l.fifo.pop_front();
    ++l.base_seq;
  } else if (seq > l.base_seq) {
    l.fifo[seq - l.base_seq].done = true;
    return;
  } else {
    return;  // accepted before the lane was closed: not tracked
  }
  while (!l.fifo.empty() && l.fifo.front().done) {
    l.fifo.pop_front();
    ++l.base_seq;
  }
}

void Engine::Impl::TimerStep(int64_t at) {
  while (!timers.empty() && timers.front().at == at) {
    std::pop_heap(timers.begin(), timers.end());
    Timer t = timers.back();
    timers.pop_back();
    ++stats.timers_fired;
    ++clock;
    if (keys.cold(t.key)) LoadCold(keys.Get(t.key), t.key);
    keys.MarkDirty(t.key);
    keys.Touch(t.key, clock);
    detectors[t.detector]->OnTimer(at, t.key, *this);
  }
  EndStep(at);
}

void Engine::Impl::EndStep(int64_t at) {
  if (!step.empty()) {
    for (int c : rules.composite_order()) EvaluateComposite(c, at);
    if (!pending.empty() && pending_at != at) FlushPending();
    pending_at = at;
    for (Transition& t : step) pending.push_back(std::move(t));
    step.clear();
    step_keys.clear();
  }
  keys.Collect();
}

void Engine::Impl::EvaluateComposite(int c, int64_t at) {
  const CompiledRule& cr = rules.rules()[c];
  if (!cr.spec.enabled) return;
  seen_keys.clear();
  for (size_t i = 0; i < step.size(); ++i) {
    const auto& parents = rules.rules()[step[i].rule].parents;
    if (std::find(parents.begin(), parents.end(), c) == parents.end()) continue;
    const uint32_t key = step_keys[i];
    if (std::find(seen_keys.begin(), seen_keys.end(), key) != seen_keys.end()) continue;
    seen_keys.push_back(key);
    size_t n = 0;
    for (int child : cr.children) n += IsFiringRule(child, key);
    const bool now = cr.spec.kind == RuleKind::kAllOf ? n == cr.children.size() : n > 0;
    auto& set = composite_firing[c];
    if (now == set.contains(key)) continue;
    if (now) {
      set.insert(key);
      keys.Ref(key);
    } else {
      set.erase(key);
      keys.Release(key);
    }
    std::vector<std::string> ev = step[i].events;  // the underlying transition's evidence
    Emit(c, key, now, at, false, 0, std::move(ev));
  }
}

void Engine::Impl::FlushPending() {
  std::stable_sort(pending.begin(), pending.end(),
                   [this](const Transition& a, const Transition& b) {
                     const int ra = rules.rules()[a.rule].order, rb = rules.rules()[b.rule].order;
                     return ra != rb ? ra < rb : a.key < b.key;
                   });
  for (const Transition& t : pending) sink->OnTransition(t, rules);
  stats.transitions += pending.size();
  pending.clear();
  for (const auto& [lane, seq] : unflushed) MarkDone(lane, seq);
  unflushed.clear();
}

std::deque<Buffered>* Engine::Impl::Head() {
  std::deque<Buffered>* best = nullptr;
  for (uint32_t lane : buffered_lanes) {
    std::deque<Buffered>* b = &lanes[lane].buffer;
    if (best == nullptr || b->front().ts < best->front().ts ||
        (b->front().ts == best->front().ts && b->front().arrival < best->front().arrival)) {
      best = b;
    }
  }
  return best;
}

void Engine::Impl::Drain(int64_t frontier, bool final) {
  for (;;) {
    std::deque<Buffered>* head = Head();
    const bool have_e = head != nullptr && (final || head->front().ts <= frontier);
    const bool have_t =
        !timers.empty() && (final ? timers.front().at <= max_ts : timers.front().at < frontier);
    if (have_t && (!have_e || timers.front().at < head->front().ts)) {
      TimerStep(timers.front().at);
    } else if (have_e) {
      Buffered b = std::move(head->front());
      head->pop_front();
      // The lane's next events are likely next: events that waited behind another lane are
      // cold (issue 3's partition skew). A pipeline, each step on what the previous one
      // fetched: objects four ahead, string bytes three ahead, the key table's index slots two
      // ahead, and the key entries those slots name for the next one.
      if (head->size() > 3) (*head)[3].event->PrefetchObject();
      if (head->size() > 2) (*head)[2].event->PrefetchData();
      if (head->size() > 1) {
        for (FieldId f : group_fields) keys.Prefetch(GroupValue(*(*head)[1].event, f));
      }
      if (!head->empty()) {
        for (FieldId f : group_fields) keys.PrefetchEntry(GroupValue(*head->front().event, f));
      }
      --buffered;
      if (head->empty()) {
        auto it = std::find(buffered_lanes.begin(), buffered_lanes.end(), b.lane);
        *it = buffered_lanes.back();
        buffered_lanes.pop_back();
      }
      ProcessEvent(b);
      pool.push_back(std::move(b.event));
    } else {
      break;
    }
  }
  if (!pending.empty() && (final || pending_at < frontier)) FlushPending();
}

std::unique_ptr<Event> Engine::Impl::TakeEvent() {
  if (pool.empty()) return std::make_unique<Event>();
  std::unique_ptr<Event> e = std::move(pool.back());
  pool.pop_back();
  // Reused events may be cold (processed long ago): warm the next ones for Clear and decode.
  const size_t n = pool.size();
  if (n > 1) pool[n - 2]->PrefetchObject();
  if (n > 0) pool[n - 1]->PrefetchData();
  return e;
}

bool Engine::Impl::Reject(RejectReason reason, std::string detail, std::string_view id,
                          Rejection* rejection) {
  rejection->reason = reason;
  rejection->detail = std::move(detail);
  rejection->id.assign(id);
  rejection->has_id = true;
  return Rejected(rejection);
}

bool Engine::Impl::Rejected(Rejection* rejection) {
  ++stats.rejected;
  ++stats.rejected_by_reason[static_cast<int>(rejection->reason)];
  return false;
}

uint64_t Engine::Impl::Arrive(uint32_t lane, uint64_t position) {
  if (lane != 0 || multi) Activate(lane);
  Lane& l = lanes[lane];
  if (position == Engine::kNextPosition) position = l.end;
  l.end = position + 1;
  return position;
}

void Engine::Impl::Activate(uint32_t lane) {
  multi = true;
  if (lane >= lanes.size()) lanes.resize(lane + 1);
  Lane& l = lanes[lane];
  if (l.state == LaneState::kClosed) l.Forget();
  // Becoming active only lowers the candidate frontier: F stays.
  l.state = LaneState::kActive;
}

void Engine::Impl::AdvanceFrontier() {
  const int64_t lateness = rules.config().allowed_lateness_ms;
  bool any_active = false, any_idle = false;
  int64_t min_active = std::numeric_limits<int64_t>::max();
  for (const Lane& l : lanes) {
    if (l.state == LaneState::kActive) {
      if (l.max_ts == kNoTime) return;  // blocks progress
      any_active = true;
      min_active = std::min(min_active, l.max_ts - lateness);
    } else if (l.state == LaneState::kIdle) {
      any_idle = true;
    }
  }
  if (any_active) {
    frontier = std::max(frontier, min_active);
  } else if (any_idle && max_ts != kNoTime) {
    // All quiet: as the single-input engine, including what closed lanes accepted.
    frontier = std::max(frontier, max_ts - lateness);
  }
}

void Engine::Impl::SetLaneState(uint32_t lane, LaneState state) {
  multi = true;
  if (lane >= lanes.size()) lanes.resize(lane + 1);
  Lane& l = lanes[lane];
  if (l.state == LaneState::kClosed || state == LaneState::kClosed) l.Forget();
  l.state = state;
  AdvanceFrontier();
  Drain(frontier, false);
}

bool Engine::Impl::Accept(std::unique_ptr<Event> e, uint32_t lane, uint64_t position,
                          Rejection* rejection) {
  const DedupIndex::Hash h = DedupIndex::HashId(e->id());
  return Accept(std::move(e), h, lane, position, rejection);
}

bool Engine::Impl::Accept(std::unique_ptr<Event> e, const DedupIndex::Hash& h, uint32_t lane,
                          uint64_t position, Rejection* rejection) {
  const EngineConfig& c = rules.config();
  if (!InEventTimeRange(e->ts_ms)) {  // decoded events always are; OfferEvent callers may not
    std::string id(e->id());
    pool.push_back(std::move(e));
    return Reject(RejectReason::kBadTimestamp, "ts is outside the years 2000-2100", id, rejection);
  }
  Lane& l = lanes[lane];
  const int64_t ts = e->ts_ms;
  // Single lane: frontier == max_ts - lateness and l.max_ts == max_ts (or both unset).
  const int64_t own = l.max_ts == kNoTime ? kNoTime : l.max_ts - c.allowed_lateness_ms;
  if (ts < own || ts < frontier) {
    std::string detail = "event time " + FormatRfc3339Utc(ts);
    if (ts < own) {
      detail += " is more than " + FormatDuration(c.allowed_lateness_ms) +
                " before the latest accepted event time " + FormatRfc3339Utc(l.max_ts);
      if (multi) detail += " on lane " + std::to_string(lane);
    } else {
      detail += " is before the watermark " + FormatRfc3339Utc(frontier) +
                ", up to which events were already processed";
    }
    std::string id(e->id());
    pool.push_back(std::move(e));
    return Reject(RejectReason::kLate, std::move(detail), id, rejection);
  }
  const int64_t floor = max_ts == kNoTime ? kNoTime : max_ts - c.dedup_horizon_ms;
  if (!dedup.InsertIfNew(h, ts, floor)) {
    std::string id(e->id());
    pool.push_back(std::move(e));
    return Reject(
        RejectReason::kDuplicate,
        "id was already accepted within the dedup horizon of " + FormatDuration(c.dedup_horizon_ms),
        id, rejection);
  }
  ++stats.accepted;
  ++stats.accepted_by_type[static_cast<int>(e->type)];
  if (max_ts == kNoTime || ts > max_ts) {
    max_ts = ts;
    dedup.Evict(max_ts - c.dedup_horizon_ms);
  }
  const int64_t old_lane_max = l.max_ts;
  if (old_lane_max == kNoTime || ts > old_lane_max) l.max_ts = ts;
  l.fifo.push_back({position, false});
  const uint64_t seq = l.next_seq++;
  // Stable insertion by ts into the lane's buffer: after every event with ts <= e.ts.
  std::deque<Buffered>& buf = l.buffer;
  if (buf.empty()) buffered_lanes.push_back(lane);
  auto pos = buf.end();
  while (pos != buf.begin() && (pos - 1)->ts > ts) --pos;
  buf.insert(pos, Buffered{ts, lane, seq, arrivals++, std::move(e)});
  ++buffered;
  if (!multi) {
    frontier = max_ts - c.allowed_lateness_ms;
  } else if (old_lane_max == kNoTime ||
             (ts > old_lane_max && old_lane_max - c.allowed_lateness_ms <= frontier)) {
    // Otherwise this lane was above F, so not the one holding it: F cannot move.
    AdvanceFrontier();
  }
  Drain(frontier, false);
  return true;
}

Engine::Engine(std::shared_ptr<const RuleSet> rules, TransitionSink* sink)
    : rules_(std::move(rules)), impl_(std::make_unique<Impl>(*rules_, sink)) {}

Engine::~Engine() = default;

bool Engine::Offer(std::string_view record, Rejection* rejection) {
  return Offer(record, rejection, 0, kNextPosition);
}

void engine_internal::LaneOutOfRange(uint32_t lane, Rejection* rejection) {
  rejection->reason = RejectReason::kBadValue;
  rejection->detail = "lane " + std::to_string(lane) + " is out of range (at most " +
                      std::to_string(Engine::kMaxLanes - 1) + ")";
  rejection->id.clear();
  rejection->has_id = false;
}

bool Engine::Offer(std::string_view record, Rejection* rejection, uint32_t lane,
                   uint64_t position) {
  Impl& im = *impl_;
  if (lane >= kMaxLanes) {
    engine_internal::LaneOutOfRange(lane, rejection);
    return im.Rejected(rejection);
  }
  position = im.Arrive(lane, position);
  std::unique_ptr<Event> e = im.TakeEvent();
  if (!im.decoder.Decode(record, e.get(), rejection)) {
    im.pool.push_back(std::move(e));
    return im.Rejected(rejection);
  }
  return im.Accept(std::move(e), lane, position, rejection);
}

bool Engine::OfferEvent(Event&& event, Rejection* rejection) {
  Impl& im = *impl_;
  const uint64_t position = im.Arrive(0, kNextPosition);
  std::unique_ptr<Event> e = im.TakeEvent();
  *e = std::move(event);
  return im.Accept(std::move(e), 0, position, rejection);
}

void Engine::Finish() { impl_->Drain(impl_->max_ts, true); }

Status Engine::SetLaneState(uint32_t lane, LaneState state) {
  if (lane >= kMaxLanes) {
    return Status::InvalidArgument("lane " + std::to_string(lane) + " is out of range (at most " +
                                   std::to_string(kMaxLanes - 1) + ")");
  }
  impl_->SetLaneState(lane, state);
  return Status::Ok();
}

LaneState Engine::lane_state(uint32_t lane) const {
  return lane < impl_->lanes.size() ? impl_->lanes[lane].state : LaneState::kClosed;
}

uint64_t Engine::LaneDone(uint32_t lane) const {
  if (lane >= impl_->lanes.size()) return UINT64_MAX;
  const Lane& l = impl_->lanes[lane];
  if (l.end == 0) return UINT64_MAX;
  return l.fifo.empty() ? l.end : l.fifo.front().position;
}

int64_t Engine::frontier() const { return impl_->frontier; }

int64_t Engine::max_event_time() const { return impl_->max_ts; }

EngineStats Engine::stats() const {
  EngineStats s = impl_->stats;
  s.buffered_events = impl_->buffered;
  s.pending_timers = impl_->timers.size();
  s.dedup_ids = impl_->dedup.size();
  s.keys = impl_->keys.size();
  for (const auto& d : impl_->detectors) s.detector_states += d->StateCount();
  for (const auto& c : impl_->composite_firing) s.detector_states += c.size();
  return s;
}

size_t Engine::StateKeys(int rule) const {
  const Impl& im = *impl_;
  const CompiledRule& cr = rules_->rules()[rule];
  const bool cold = im.cold_store != nullptr;
  if (cr.spec.kind == RuleKind::kAllOf || cr.spec.kind == RuleKind::kAnyOf) {
    return im.composite_firing[rule].size() +
           static_cast<size_t>(cold ? im.cold_states_by_rule[rule] : 0);
  }
  if (cr.detector < 0) return 0;
  return im.detectors[cr.detector]->StateCount() +
         static_cast<size_t>(cold ? im.cold_states_by_detector[cr.detector] : 0);
}

size_t Engine::FiringCount(int rule) const {
  const CompiledRule& cr = rules_->rules()[rule];
  if (!cr.spec.enabled) return 0;
  const size_t cold = impl_->cold_store ? static_cast<size_t>(impl_->cold_firing_by_rule[rule]) : 0;
  if (cr.spec.kind == RuleKind::kAllOf || cr.spec.kind == RuleKind::kAnyOf) {
    return impl_->composite_firing[rule].size() + cold;
  }
  return (cr.detector >= 0 ? impl_->detectors[cr.detector]->FiringCount(cr.slot) : 0) + cold;
}

size_t Engine::StateCells() const {
  size_t n = 0;
  for (const auto& d : impl_->detectors) n += d->CellCount();
  return n;
}

bool Engine::IsFiring(std::string_view rule_id, std::string_view key) const {
  int rule = rules_->Find(rule_id);
  uint32_t id = impl_->keys.Find(key);
  return rule >= 0 && id != KeyTable::kNone && impl_->IsFiringRule(rule, id);
}

}  // namespace abusewatch
