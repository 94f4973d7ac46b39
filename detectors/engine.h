// Engine: the detection engine of spec/rules.md, fed one record at a time.
//
// For each record: decode and validate (events.md) → `late` check against the largest accepted
// event time minus the allowed lateness → `duplicate` check within the dedup horizon → buffer.
// Buffered events are processed as if sorted by event time (ties in arrival order) once no
// accepted event can still precede them; timers due at d run after every event with ts <= d.
// Transitions reach the sink ordered by (at, rule id, key).
//
// Deterministic: the same accepted records in the same order give the same transitions,
// whatever the batching of Offer() calls. No I/O, threads or wall clock.
// Thread safety: not thread-safe; one engine belongs to one thread.
#ifndef ABUSEWATCH_DETECTORS_ENGINE_H_
#define ABUSEWATCH_DETECTORS_ENGINE_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string_view>

#include "detectors/decoder.h"
#include "detectors/rule_set.h"
#include "detectors/status.h"
#include "detectors/transition.h"

namespace abusewatch {

struct EngineStats {
  uint64_t accepted = 0;
  uint64_t rejected = 0;
  std::array<uint64_t, kNumRejectReasons> rejected_by_reason{};
  std::array<uint64_t, kNumEventTypes> accepted_by_type{};
  uint64_t transitions = 0;
  uint64_t timers_fired = 0;
  size_t buffered_events = 0;  // in the reorder buffer now
  size_t pending_timers = 0;
  size_t dedup_ids = 0;
  size_t keys = 0;             // interned group keys alive
  size_t detector_states = 0;  // (detector, key) states alive
};

class Engine {
 public:
  // `rules` is shared and immutable; `sink` must outlive the engine.
  Engine(std::shared_ptr<const RuleSet> rules, TransitionSink* sink);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Offers one record (one JSON object, no trailing newline). Returns true when accepted;
  // otherwise fills `*rejection` (reason, detail, id when readable) and changes no state.
  bool Offer(std::string_view record, Rejection* rejection);

  // Offers `n` records in order; equivalent to Offer() on each in turn (accepted[i] and
  // rejections[i] as Offer would return and fill them), but decodes the batch first and
  // prefetches the dedup index, hiding its memory latency. The records must stay valid
  // during the call. Batches of 16–64 records work well.
  void OfferBatch(const std::string_view* records, size_t n, bool* accepted, Rejection* rejections);

  // Offers an already decoded event (moved from). Same checks from `late` on.
  bool OfferEvent(Event&& event, Rejection* rejection);

  // End of input: processes every buffered event, then the timers due at or before the largest
  // accepted event time, and flushes all transitions to the sink. It ends the input: events
  // offered afterwards are processed after everything finished, whatever their time.
  void Finish();

  // Largest accepted event time, or INT64_MIN when none.
  int64_t max_event_time() const;
  // Counters and sizes; cheap (O(number of detectors)).
  EngineStats stats() const;
  // Stored cells across all detector states: buckets, distinct values, pending triggers,
  // intervals. O(number of states): for tests and diagnostics, not for hot paths.
  size_t StateCells() const;
  // Keys holding state for the rule at `rule` (index into rules().rules()); O(1).
  size_t StateKeys(int rule) const;
  const RuleSet& rules() const { return *rules_; }
  // Is `rule_id` firing for `key` right now (after the events processed so far)?
  bool IsFiring(std::string_view rule_id, std::string_view key) const;

 private:
  struct Impl;
  std::shared_ptr<const RuleSet> rules_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace abusewatch

#endif  // ABUSEWATCH_DETECTORS_ENGINE_H_
