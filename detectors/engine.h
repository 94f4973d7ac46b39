// Engine: the detection engine of spec/rules.md, fed one record at a time.
//
// For each record: decode and validate (events.md) → `late` check against the watermark (below)
// → `duplicate` check within the dedup horizon → buffer. Buffered events are processed as if
// sorted by event time (ties in arrival order) once no accepted event can still precede them;
// timers due at d run after every event with ts <= d. Transitions reach the sink ordered by
// (at, rule id, key).
//
// Lanes. Records arrive on lanes: independently ordered inputs (Kafka partitions), small ids
// below kMaxLanes. Replay uses only lane 0, which exists and is kActive from construction; an
// engine that never uses the lane API behaves exactly as a single-input engine with
// M = the largest accepted ts. In general:
//   - M_L is the largest ts accepted from lane L (kClosed forgets it).
//   - F, the frontier, is what has been drained: every buffered event with ts <= F has been
//     processed and every timer due before F has run. F never decreases. After each accepted
//     event and each SetLaneState(), F = max(F, C) where C is
//       min over kActive lanes of (M_L - allowed_lateness), and "none" (no progress) while a
//       kActive lane has not accepted an event yet (it may still deliver old events);
//       when no lane is kActive but one is kIdle: M - allowed_lateness, M the largest ts
//       accepted over all lanes, closed ones included (max_event_time()), as the
//       single-input engine; when every lane is kClosed (between a Kafka revoke and the next
//       assignment): no progress. So once the assigned lanes are all idle, whatever was
//       accepted drains as far as a single input would drain it, even after a rebalance
//       closed the lanes that accepted it and their partitions came back as new lanes that
//       redelivered only duplicates.
//     kIdle and kClosed lanes do not hold F back.
//   - A record offered on lane L is `late` iff ts < max(M_L - allowed_lateness, F) (with no
//     M_L: iff ts < F). With lane 0 alone, F = M_0 - allowed_lateness: exactly rules.md.
//   - The `duplicate` check keeps using the global largest accepted ts (over all lanes) minus
//     the dedup horizon as its floor; max_event_time() is that global maximum, and Finish()
//     runs the timers due at or before it.
//   - Offering a record on a lane (accepted or not) makes it kActive: a never-seen, kIdle or
//     kClosed lane becomes kActive (a closed one fresh, without M_L and positions).
//   - Positions: each record offered on a lane has a position (e.g. the Kafka offset), given
//     or automatic (the previous position + 1, from 0). LaneDone() tells up to where the lane
//     has been fully processed, for committing offsets.
//
// Deterministic: the same accepted records on the same lanes in the same order, with the same
// lane state changes between them, give the same transitions, whatever the batching of
// Offer() calls. No I/O, threads or wall clock of its own (SetDecodeWorkers lends it threads
// for decoding, which changes no result).
// Thread safety: not thread-safe; one engine belongs to one thread.
#ifndef ABUSEWATCH_DETECTORS_ENGINE_H_
#define ABUSEWATCH_DETECTORS_ENGINE_H_

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "detectors/checkpoint.h"
#include "detectors/decode_workers.h"
#include "detectors/decoder.h"
#include "detectors/lane.h"
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

  // Lane ids are below this.
  static constexpr uint32_t kMaxLanes = 4096;
  // "The previous position on the lane + 1" (0 for the first record of a lane).
  static constexpr uint64_t kNextPosition = UINT64_MAX;

  // Offers one record (one JSON object, no trailing newline) on lane 0 at the next position.
  // Returns true when accepted; otherwise fills `*rejection` (reason, detail, id when readable)
  // and changes no state besides lane 0's offered position.
  bool Offer(std::string_view record, Rejection* rejection);

  // Offers one record on `lane` at `position` (kNextPosition: the previous one + 1).
  // Requires: positions on a lane strictly increase (since it was last closed) and stay below
  // UINT64_MAX - 1. The lane becomes kActive (see the file comment); otherwise as Offer()
  // above. A lane >= kMaxLanes rejects the record as bad_value and changes no lane.
  bool Offer(std::string_view record, Rejection* rejection, uint32_t lane, uint64_t position);

  // Offers `n` records in order; equivalent to Offer() on each in turn (accepted[i] and
  // rejections[i] as Offer would return and fill them), but decodes the batch first and
  // prefetches the dedup index, hiding its memory latency. The records must stay valid
  // during the call. Batches of 16–64 records work well.
  void OfferBatch(const std::string_view* records, size_t n, bool* accepted, Rejection* rejections);

  // As above with record i on lane lanes[i] at position positions[i]; a null `lanes` means
  // lane 0 for all, a null `positions` kNextPosition for all. Same requirements as the lane
  // Offer().
  void OfferBatch(const std::string_view* records, size_t n, const uint32_t* lanes,
                  const uint64_t* positions, bool* accepted, Rejection* rejections);

  // Lends `workers` (null: none) to OfferBatch(): batches of 256 records and more are then
  // decoded by the workers and this thread together while this thread applies the decoded
  // records in order. Results are exactly those without workers. `workers` must outlive the
  // engine or the next call; its size() must not change.
  void SetDecodeWorkers(DecodeWorkers* workers);

  // Offers an already decoded event (moved from) on lane 0 at the next position. Same checks
  // from `late` on.
  bool OfferEvent(Event&& event, Rejection* rejection);

  // End of input: processes every buffered event, then the timers due at or before the largest
  // accepted event time, and flushes all transitions to the sink. It ends the input: events
  // offered afterwards are processed after everything finished, whatever their time.
  void Finish();

  // Sets the state of `lane` (creating it if never seen). kIdle: it stops holding the frontier
  // back; kActive: it holds it back again (from its M_L, or entirely while it has none);
  // kClosed: forgets its M_L and positions (LaneDone() returns UINT64_MAX until a record is
  // offered on it again); its events already accepted are still processed. The frontier may
  // advance, processing buffered events and timers and emitting transitions to the sink.
  // Returns InvalidArgument (and changes nothing) when lane >= kMaxLanes.
  Status SetLaneState(uint32_t lane, LaneState state);
  // The state of `lane`; kClosed for a lane never seen (or out of range).
  LaneState lane_state(uint32_t lane) const;

  // P such that every record offered on `lane` with position < P has been fully processed:
  // rejected, or accepted, processed by the detectors and the transitions of its instant
  // handed to the sink. When every offered record is, P = the last offered position + 1.
  // UINT64_MAX when nothing was offered on the lane (since it was last closed): nothing to
  // commit. O(1).
  uint64_t LaneDone(uint32_t lane) const;

  // Largest accepted event time over all lanes, or INT64_MIN when none.
  int64_t max_event_time() const;
  // The frontier F (see the file comment), or INT64_MIN when none yet: the watermark.
  int64_t frontier() const;
  // Counters and sizes; cheap (O(number of detectors)).
  EngineStats stats() const;
  // Stored cells across all detector states: buckets, distinct values, pending triggers,
  // intervals. O(number of states): for tests and diagnostics, not for hot paths.
  size_t StateCells() const;
  // Keys holding state for the rule at `rule` (index into rules().rules()); O(1).
  size_t StateKeys(int rule) const;
  const RuleSet& rules() const { return *rules_; }
  // Keys for which the rule at `rule` is firing now. O(states of its detector): for gauges after
  // a restore, not for hot paths.
  size_t FiringCount(int rule) const;
  // Is `rule_id` firing for `key` right now (after the events processed so far)?
  bool IsFiring(std::string_view rule_id, std::string_view key) const;

  // Durable state (detectors/checkpoint.h). ---------------------------------------------------
  // Turns change tracking on: call before the first record is offered (or after Restore()).
  void EnableCheckpoints();
  // Writes into `out` what changed since the previous Checkpoint() (everything, the first time):
  // the records of the group keys whose state may have changed, deletions of keys that no
  // longer hold state, and the meta records. Once `out` is applied after the earlier
  // checkpoints' changes, the store holds the engine's whole state, reflecting every record
  // offered so far: the reorder buffer, the dedup ids, timers, lanes (watermarks, positions)
  // and the transitions not yet handed to the sink included. If applying `out` fails, the
  // caller must apply it later, before or together with the next checkpoint's changes.
  // Requires EnableCheckpoints(). Call between Offer*/SetLaneState calls.
  void Checkpoint(CheckpointWriter* out);

  struct RestoreOptions {
    // The stored state was written with other rules: keep the state of the detectors and
    // composites whose definition is unchanged and start the others empty. Without it such a
    // state is refused (InvalidArgument listing what changed).
    bool keep_unchanged_rules = false;
    // With a cold store set and the same rules: do not read the key records now; keys come
    // back from the cold store when touched (start-up time and memory independent of the
    // number of keys). Ignored when rules changed (every record is then read and rewritten).
    bool lazy = false;
  };
  struct RestoreReport {
    size_t keys = 0;                         // group key records read
    size_t dropped_states = 0;               // states of changed rules not restored
    std::vector<std::string> changed_rules;  // "id (added|removed|changed)"
  };
  using MetaGetter = std::function<Status(std::string_view name, std::string* value)>;
  using KeyVisitor = std::function<Status(std::string_view key, std::string_view value)>;
  using KeyScanner = std::function<Status(const KeyVisitor& visit)>;
  // Loads the state that Checkpoint() wrote (the meta records through `get_meta`, which
  // returns NotFound for a missing one; every key record through `scan_keys`) into this
  // engine, which must not have been offered anything. Turns change tracking on. Errors:
  // Corruption for malformed records, InvalidArgument for a state of other rules (see
  // RestoreOptions). After an error the engine is unusable: destroy it.
  Status Restore(const MetaGetter& get_meta, const KeyScanner& scan_keys,
                 const RestoreOptions& options, RestoreReport* report);
  // Bounded memory. --------------------------------------------------------------------------
  // Where the engine reads back the state of keys it evicted: the records its checkpoints
  // wrote, as committed. Called on the engine's thread, during Offer*/SetLaneState/Finish.
  class ColdStore {
   public:
    virtual ~ColdStore() = default;
    // The committed record of `key`; NotFound when there is none.
    virtual Status GetKey(std::string_view key, std::string* value) = 0;
  };
  struct ColdStats {
    size_t hot_keys = 0;      // keys whose state is in memory
    size_t cold_anchors = 0;  // evicted keys kept in memory only for their timers
    uint64_t evictions = 0;   // keys evicted so far
    uint64_t loads = 0;       // keys brought back so far
  };
  // Turns eviction on; `store` must outlive the engine. Requires EnableCheckpoints(), and must
  // be set before Restore() for a lazy restore.
  void SetColdStore(ColdStore* store);
  // Drops from memory the state of the least recently touched keys that are unchanged since the
  // last Checkpoint(), until at most `max_hot` keys hold state in memory; a later event or
  // timer of such a key reads it back from the cold store. Call only right after the
  // checkpoint's changes were committed to that store. Returns how many keys were evicted.
  // IsFiring() and StateCells() see keys in memory only; FiringCount() and StateKeys() count
  // evicted keys too.
  size_t EvictColdKeys(size_t max_hot);
  // Tells the engine that the changes of every Checkpoint() so far are committed in the cold
  // store (until then, keys deleted by a checkpoint are not read back from it).
  void CheckpointCommitted();
  ColdStats cold_stats() const;
  // The first error reading the cold store (then the state of that key is missing: the caller
  // must stop, never go on with it). Ok otherwise.
  Status cold_status() const;

  // Hex fingerprint of what the rules compute (ids, selectors, windows, lines, time zone,
  // currency rates; not severities, texts or notify), as checkpoints record it.
  std::string RulesFingerprint() const;
  // A key record as JSON, for support tools: the states it holds, by rule.
  static Status DescribeKeyRecord(const RuleSet& rules, std::string_view value, std::string* json);

 private:
  struct Impl;
  std::shared_ptr<const RuleSet> rules_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace abusewatch

#endif  // ABUSEWATCH_DETECTORS_ENGINE_H_
