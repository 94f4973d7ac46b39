#include "detectors/engine.h"

#include <algorithm>
#include <deque>
#include <limits>

#include "absl/container/flat_hash_set.h"
#include "detectors/dedup.h"
#include "detectors/detector.h"
#include "detectors/key_table.h"
#include "detectors/selector.h"
#include "detectors/timeutil.h"

namespace abusewatch {
namespace {

constexpr int64_t kNoTime = std::numeric_limits<int64_t>::min();
constexpr uint32_t kUnset = KeyTable::kNone - 1;

struct Timer {
  int64_t at;
  uint64_t seq;
  int detector;
  uint32_t key;
  // Min-heap order for std::push_heap (which builds a max-heap).
  bool operator<(const Timer& o) const { return at != o.at ? at > o.at : seq > o.seq; }
};

}  // namespace

struct Engine::Impl final : DetectorContext {
  Impl(const RuleSet& r, TransitionSink* s)
      : rules(r),
        sink(s),
        decoder(DecoderOptionsFor(r.config())),
        composite_firing(r.rules().size()) {
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
  }

  // DetectorContext.
  uint32_t FindKey(FieldId field) override {
    uint32_t& c = key_cache[static_cast<int>(field)];
    if (c == kUnset) c = keys.Find(GroupValue(*current, field));
    return c;
  }
  uint32_t AcquireKey(FieldId field) override {
    uint32_t& c = key_cache[static_cast<int>(field)];
    if (c == kUnset || c == KeyTable::kNone) {
      c = keys.Acquire(GroupValue(*current, field));
    } else {
      keys.Ref(c);
    }
    return c;
  }
  void ReleaseKey(uint32_t key) override { keys.Release(key); }
  void Schedule(int detector, uint32_t key, int64_t at) override {
    timers.push_back({at, timer_seq++, detector, key});
    std::push_heap(timers.begin(), timers.end());
  }
  void Emit(int rule, uint32_t key, bool firing, int64_t at, bool has_value, Int128 value,
            std::vector<std::string> events) override {
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

  bool IsFiringRule(int rule, uint32_t key) const {
    const CompiledRule& cr = rules.rules()[rule];
    if (!cr.spec.enabled) return false;
    if (cr.spec.kind == RuleKind::kAllOf || cr.spec.kind == RuleKind::kAnyOf) {
      return composite_firing[rule].contains(key);
    }
    return cr.detector >= 0 && detectors[cr.detector]->IsFiring(cr.slot, key);
  }

  void ProcessEvent(const Event& e) {
    current = &e;
    key_cache.fill(kUnset);
    for (int d : rules.detectors_for(e.type)) {
      if (GroupValue(e, rules.detectors()[d].group_by).empty()) continue;
      detectors[d]->OnEvent(e, *this);
    }
    current = nullptr;
    EndStep(e.ts_ms);
  }

  void TimerStep(int64_t at) {
    while (!timers.empty() && timers.front().at == at) {
      std::pop_heap(timers.begin(), timers.end());
      Timer t = timers.back();
      timers.pop_back();
      ++stats.timers_fired;
      detectors[t.detector]->OnTimer(at, t.key, *this);
    }
    EndStep(at);
  }

  // Re-evaluates the composites touched by this step's transitions (children before parents),
  // then queues the step's transitions for output.
  void EndStep(int64_t at) {
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

  void EvaluateComposite(int c, int64_t at) {
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

  void FlushPending() {
    std::stable_sort(pending.begin(), pending.end(),
                     [this](const Transition& a, const Transition& b) {
                       const int ra = rules.rules()[a.rule].order, rb = rules.rules()[b.rule].order;
                       return ra != rb ? ra < rb : a.key < b.key;
                     });
    for (const Transition& t : pending) sink->OnTransition(t, rules);
    stats.transitions += pending.size();
    pending.clear();
  }

  // Processes buffered events with ts <= frontier and timers due before it (all events and the
  // timers due at or before the largest accepted ts when `final`).
  void Drain(int64_t frontier, bool final) {
    for (;;) {
      const bool have_e = !buffer.empty() && (final || buffer.front()->ts_ms <= frontier);
      const bool have_t =
          !timers.empty() && (final ? timers.front().at <= max_ts : timers.front().at < frontier);
      if (have_t && (!have_e || timers.front().at < buffer.front()->ts_ms)) {
        TimerStep(timers.front().at);
      } else if (have_e) {
        std::unique_ptr<Event> e = std::move(buffer.front());
        buffer.pop_front();
        ProcessEvent(*e);
        pool.push_back(std::move(e));
      } else {
        break;
      }
    }
    if (!pending.empty() && (final || pending_at < frontier)) FlushPending();
  }

  std::unique_ptr<Event> TakeEvent() {
    if (pool.empty()) return std::make_unique<Event>();
    std::unique_ptr<Event> e = std::move(pool.back());
    pool.pop_back();
    return e;
  }

  bool Reject(RejectReason reason, std::string detail, std::string_view id, Rejection* rejection) {
    rejection->reason = reason;
    rejection->detail = std::move(detail);
    rejection->id.assign(id);
    rejection->has_id = true;
    return Rejected(rejection);
  }
  bool Rejected(Rejection* rejection) {
    ++stats.rejected;
    ++stats.rejected_by_reason[static_cast<int>(rejection->reason)];
    return false;
  }

  bool Accept(std::unique_ptr<Event> e, Rejection* rejection) {
    const DedupIndex::Hash h = DedupIndex::HashId(e->id());
    return Accept(std::move(e), h, rejection);
  }

  bool Accept(std::unique_ptr<Event> e, const DedupIndex::Hash& h, Rejection* rejection) {
    const EngineConfig& c = rules.config();
    if (!InEventTimeRange(e->ts_ms)) {  // decoded events always are; OfferEvent callers may not
      std::string id(e->id());
      pool.push_back(std::move(e));
      return Reject(RejectReason::kBadTimestamp, "ts is outside the years 2000-2100", id,
                    rejection);
    }
    if (max_ts != kNoTime && e->ts_ms < max_ts - c.allowed_lateness_ms) {
      std::string detail = "event time " + FormatRfc3339Utc(e->ts_ms) + " is more than " +
                           FormatDuration(c.allowed_lateness_ms) +
                           " before the latest accepted event time " + FormatRfc3339Utc(max_ts);
      std::string id(e->id());
      pool.push_back(std::move(e));
      return Reject(RejectReason::kLate, std::move(detail), id, rejection);
    }
    const int64_t floor = max_ts == kNoTime ? kNoTime : max_ts - c.dedup_horizon_ms;
    if (!dedup.InsertIfNew(h, e->ts_ms, floor)) {
      std::string id(e->id());
      pool.push_back(std::move(e));
      return Reject(RejectReason::kDuplicate,
                    "id was already accepted within the dedup horizon of " +
                        FormatDuration(c.dedup_horizon_ms),
                    id, rejection);
    }
    ++stats.accepted;
    ++stats.accepted_by_type[static_cast<int>(e->type)];
    if (max_ts == kNoTime || e->ts_ms > max_ts) {
      max_ts = e->ts_ms;
      dedup.Evict(max_ts - c.dedup_horizon_ms);
    }
    // Stable insertion by ts: after every buffered event with ts <= e.ts.
    auto pos = buffer.end();
    while (pos != buffer.begin() && (*(pos - 1))->ts_ms > e->ts_ms) --pos;
    buffer.insert(pos, std::move(e));
    Drain(max_ts - c.allowed_lateness_ms, false);
    return true;
  }

  const RuleSet& rules;
  TransitionSink* sink;
  Decoder decoder;
  KeyTable keys;
  std::vector<std::unique_ptr<Detector>> detectors;
  std::vector<absl::flat_hash_set<uint32_t>> composite_firing;  // by rule index
  DedupIndex dedup;
  int64_t max_ts = kNoTime;
  std::deque<std::unique_ptr<Event>> buffer;  // reorder buffer, sorted by ts (stable)
  std::vector<std::unique_ptr<Event>> pool;
  std::vector<Timer> timers;  // heap
  uint64_t timer_seq = 0;
  const Event* current = nullptr;
  std::array<uint32_t, kNumFields> key_cache;
  std::vector<Transition> step;  // this step's transitions
  std::vector<uint32_t> step_keys;
  std::vector<uint32_t> seen_keys;
  std::vector<Transition> pending;  // transitions at pending_at, not yet sorted / flushed
  int64_t pending_at = kNoTime;
  EngineStats stats;
};

Engine::Engine(std::shared_ptr<const RuleSet> rules, TransitionSink* sink)
    : rules_(std::move(rules)), impl_(std::make_unique<Impl>(*rules_, sink)) {}

Engine::~Engine() = default;

bool Engine::Offer(std::string_view record, Rejection* rejection) {
  std::unique_ptr<Event> e = impl_->TakeEvent();
  if (!impl_->decoder.Decode(record, e.get(), rejection)) {
    impl_->pool.push_back(std::move(e));
    return impl_->Rejected(rejection);
  }
  return impl_->Accept(std::move(e), rejection);
}

void Engine::OfferBatch(const std::string_view* records, size_t n, bool* accepted,
                        Rejection* rejections) {
  Impl& im = *impl_;
  constexpr size_t kChunk = 64;
  std::unique_ptr<Event> events[kChunk];
  DedupIndex::Hash hashes[kChunk];
  for (size_t base = 0; base < n; base += kChunk) {
    const size_t m = std::min(kChunk, n - base);
    for (size_t i = 0; i < m; ++i) {
      events[i] = im.TakeEvent();
      accepted[base + i] =
          im.decoder.Decode(records[base + i], events[i].get(), &rejections[base + i]);
      if (accepted[base + i]) {
        hashes[i] = DedupIndex::HashId(events[i]->id());
        im.dedup.Prefetch(hashes[i]);
      }
    }
    for (size_t i = 0; i < m; ++i) {
      if (!accepted[base + i]) {
        im.pool.push_back(std::move(events[i]));
        im.Rejected(&rejections[base + i]);
      } else {
        accepted[base + i] = im.Accept(std::move(events[i]), hashes[i], &rejections[base + i]);
      }
    }
  }
}

bool Engine::OfferEvent(Event&& event, Rejection* rejection) {
  std::unique_ptr<Event> e = impl_->TakeEvent();
  *e = std::move(event);
  return impl_->Accept(std::move(e), rejection);
}

void Engine::Finish() { impl_->Drain(impl_->max_ts, true); }

int64_t Engine::max_event_time() const { return impl_->max_ts; }

EngineStats Engine::stats() const {
  EngineStats s = impl_->stats;
  s.buffered_events = impl_->buffer.size();
  s.pending_timers = impl_->timers.size();
  s.dedup_ids = impl_->dedup.size();
  s.keys = impl_->keys.size();
  for (const auto& d : impl_->detectors) s.detector_states += d->StateCount();
  for (const auto& c : impl_->composite_firing) s.detector_states += c.size();
  return s;
}

size_t Engine::StateKeys(int rule) const {
  const CompiledRule& cr = rules_->rules()[rule];
  if (cr.spec.kind == RuleKind::kAllOf || cr.spec.kind == RuleKind::kAnyOf) {
    return impl_->composite_firing[rule].size();
  }
  return cr.detector >= 0 ? impl_->detectors[cr.detector]->StateCount() : 0;
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
