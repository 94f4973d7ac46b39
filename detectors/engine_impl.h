// Internal to the engine: Engine::Impl and its parts, shared by engine.cc (the hot path) and
// engine_state.cc (checkpoints). Not a public API; see engine.h for the contract.
#ifndef ABUSEWATCH_DETECTORS_ENGINE_IMPL_H_
#define ABUSEWATCH_DETECTORS_ENGINE_IMPL_H_

#include <array>
#include <deque>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "detectors/decode_workers.h"
#include "detectors/dedup.h"
#include "detectors/detector.h"
#include "detectors/engine.h"
#include "detectors/key_table.h"

namespace abusewatch {
namespace engine_internal {

constexpr int64_t kNoTime = std::numeric_limits<int64_t>::min();
constexpr uint32_t kUnset = KeyTable::kNone - 1;

// Timers due at the same instant run in a canonical order, (detector, hash of the key string),
// not in scheduling order: so a restored engine, which schedules its timers from the key
// records, runs them in the same order as the engine that wrote them.
struct Timer {
  int64_t at;
  uint64_t hash;  // KeyTable::hash(key)
  int detector;
  uint32_t key;
  // Min-heap order for std::push_heap (which builds a max-heap).
  bool operator<(const Timer& o) const {
    if (at != o.at) return at > o.at;
    if (detector != o.detector) return detector > o.detector;
    if (hash != o.hash) return hash > o.hash;
    return key > o.key;
  }
};

// An accepted event waiting in the reorder buffer, with its lane, its sequence number among
// the events accepted on that lane (for LaneDone()) and its arrival number among all accepted
// events (ties in ts keep arrival order, across lanes too).
struct Buffered {
  int64_t ts;
  uint32_t lane;
  uint64_t seq;
  uint64_t arrival;
  std::unique_ptr<Event> event;
};

struct Lane {
  struct Entry {
    uint64_t position;
    bool done;
  };
  LaneState state = LaneState::kClosed;  // never seen is like closed
  int64_t max_ts = kNoTime;              // M_L
  // The last position offered + 1 since the lane was (re)opened; 0 when none (positions are
  // below UINT64_MAX - 1).
  uint64_t end = 0;
  uint64_t next_seq = 0;  // of the next accepted event; never reset
  uint64_t base_seq = 0;  // seq of fifo.front()
  // The accepted events (since the lane was last reopened) not done yet, in acceptance order:
  // entry seq - base_seq. Done entries are popped from the front.
  std::deque<Entry> fifo;
  // The lane's part of the reorder buffer, sorted by (ts, arrival). One buffer per lane keeps
  // insertion cheap: a lane's own disorder is small, while lanes may be far apart in time
  // (a partition consumed in runs behind another). Kept when the lane is closed.
  std::deque<Buffered> buffer;

  // Forgets M_L and positions (closed, or reopened after closing); accepted events of the lane
  // still buffered are no longer tracked (their seq < base_seq).
  void Forget() {
    max_ts = kNoTime;
    end = 0;
    fifo.clear();
    base_seq = next_seq;
  }
};

// Checkpoint formats (engine_state.cc).
constexpr uint8_t kRecordVersion = 1;  // key records
constexpr uint8_t kMetaVersion = 2;    // the "engine" record (1: reorder buffers inline)
std::string ChunkName(uint64_t n);
std::string BufferChunkName(uint64_t n);
std::vector<std::string> DetectorFingerprints(const RuleSet& rules);
std::vector<std::string> RuleFingerprints(const RuleSet& rules);
// Old index → new index of the same fingerprint (the same index preferred), -1 when none.
std::vector<int> MapFingerprints(const std::vector<std::string>& old_fp,
                                 const std::vector<std::string>& new_fp);

// Fills *rejection for a record offered on a lane >= Engine::kMaxLanes.
void LaneOutOfRange(uint32_t lane, Rejection* rejection);

}  // namespace engine_internal

struct Engine::Impl final : DetectorContext {
  using Timer = engine_internal::Timer;
  using Buffered = engine_internal::Buffered;
  using Lane = engine_internal::Lane;
  static constexpr int64_t kNoTime = engine_internal::kNoTime;

  Impl(const RuleSet& r, TransitionSink* s);

  // DetectorContext.
  uint32_t FindKey(FieldId field) override;
  uint32_t AcquireKey(FieldId field) override;
  void ReleaseKey(uint32_t key) override { keys.Release(key); }
  void Schedule(int detector, uint32_t key, int64_t at) override;
  void Emit(int rule, uint32_t key, bool firing, int64_t at, bool has_value, Int128 value,
            std::vector<std::string> events) override;
  bool IsFiringRule(int rule, uint32_t key) const;
  void ProcessEvent(const Buffered& b);
  void MarkDone(uint32_t lane, uint64_t seq);
  void TimerStep(int64_t at);

  // Re-evaluates the composites touched by this step's transitions (children before parents),
  // then queues the step's transitions for output.
  void EndStep(int64_t at);
  void EvaluateComposite(int c, int64_t at);
  void FlushPending();

  // The buffered event that comes first, (ts, arrival) order: the lane holding it, or null.
  std::deque<Buffered>* Head();

  // Processes buffered events with ts <= frontier and timers due before it (all events and the
  // timers due at or before the largest accepted ts when `final`).
  void Drain(int64_t frontier, bool final);

  std::unique_ptr<Event> TakeEvent();
  bool Reject(RejectReason reason, std::string detail, std::string_view id, Rejection* rejection);
  bool Rejected(Rejection* rejection);

  // Makes `lane` (< kMaxLanes) kActive, as a record arrived on it, and returns the position of
  // that record.
  uint64_t Arrive(uint32_t lane, uint64_t position);
  void Activate(uint32_t lane);

  // F = max(F, C) (engine.h).
  void AdvanceFrontier();
  void SetLaneState(uint32_t lane, LaneState state);
  bool Accept(std::unique_ptr<Event> e, uint32_t lane, uint64_t position, Rejection* rejection);
  bool Accept(std::unique_ptr<Event> e, const DedupIndex::Hash& h, uint32_t lane, uint64_t position,
              Rejection* rejection);

  // OfferBatch (engine_batch.cc). Record i of a batch, decoded into batch_events[i] (hash in
  // batch_hashes[i] when accepted[i]): arrives on its lane and is accepted or counted rejected.
  void ApplyDecoded(size_t i, const uint32_t* lanes, const uint64_t* positions, bool* accepted,
                    Rejection* rejections);
  // OfferBatch with the decode workers: they and this thread decode chunks of the batch while
  // this thread applies the decoded chunks in order.
  void OfferParallel(const std::string_view* records, size_t n, const uint32_t* lanes,
                     const uint64_t* positions, bool* accepted, Rejection* rejections);
  // Makes room for n records in batch_events / batch_hashes.
  void ReserveBatch(size_t n);
  // Decodes `record` with `d` into batch_events[i] (and its id's hash into batch_hashes[i]);
  // false with *rejection filled when rejected. Touches slot i only (decode workers call it).
  bool DecodeSlot(Decoder& d, std::string_view record, size_t i, Rejection* rejection);
  std::vector<std::unique_ptr<Event>> batch_events;
  std::vector<DedupIndex::Hash> batch_hashes;
  DecodeWorkers* decode_workers = nullptr;
  std::vector<std::unique_ptr<Decoder>> worker_decoders;  // one per worker

  const RuleSet& rules;
  TransitionSink* sink;
  Decoder decoder;
  KeyTable keys;
  std::vector<std::unique_ptr<Detector>> detectors;
  std::vector<absl::flat_hash_set<uint32_t>> composite_firing;  // by rule index
  DedupIndex dedup;
  int64_t max_ts = kNoTime;    // over all lanes
  int64_t frontier = kNoTime;  // F: drained up to here; never decreases
  bool multi = false;          // the lane API was used (else lane 0 alone, active)
  std::deque<Lane> lanes;      // by lane id (a deque: growing it never moves a Lane)
  std::vector<std::pair<uint32_t, uint64_t>> unflushed;  // (lane, seq) processed, at pending_at
  std::vector<uint32_t> buffered_lanes;  // lanes with a non-empty buffer, in no order
  size_t buffered = 0;                   // events in all lane buffers
  uint64_t arrivals = 0;                 // accepted events so far
  std::vector<std::unique_ptr<Event>> pool;
  std::vector<Timer> timers;  // heap
  const Event* current = nullptr;
  std::array<uint32_t, kNumFields> key_cache;
  std::vector<FieldId> group_fields;  // distinct group_by fields of the rules (prefetching)
  std::vector<Transition> step;       // this step's transitions
  std::vector<uint32_t> step_keys;
  std::vector<uint32_t> seen_keys;
  std::vector<Transition> pending;  // transitions at pending_at, not yet sorted / flushed
  int64_t pending_at = kNoTime;
  EngineStats stats;

  // Checkpoints (engine_state.cc).
  // The key record of `id` into *out; false when the key holds no state.
  bool SaveKeyRecord(uint32_t id, std::string* out);
  void SaveMeta(std::string* out);
  // Writes the reorder buffer's changes since the last checkpoint (engine_state.cc).
  void SaveBufferJournal(CheckpointWriter* out);
  Status LoadBufferChunks(const Engine::MetaGetter& get_meta);
  // Loads one key record, mapping detector / rule indices of the writer through the maps.
  // `loaded` (optional) receives the detectors that got a state, and -1 - rule for composites.
  // With `schedule`, the timers of the loaded states are scheduled (a restore; a cold key
  // brought back already has its timers in the heap).
  Status LoadKeyRecord(std::string_view key, std::string_view value, const std::vector<int>& dmap,
                       const std::vector<int>& rmap, Engine::RestoreReport* report,
                       std::vector<int>* loaded = nullptr, bool schedule = false);
  // Lazy restore: makes `key` a cold anchor for the timers its record lists.
  Status AnchorKeyRecord(std::string_view key, std::string_view value,
                         const std::vector<int>& dmap);
  // `lazy`: key records are not loaded; timer keys become cold anchors, counts all cold.
  Status LoadMeta(StateDecoder* in, const std::vector<int>& dmap, const std::vector<int>& rmap,
                  const Engine::MetaGetter& get_meta, bool lazy);
  std::string scratch;
  std::vector<uint32_t> scratch_ids;
  std::vector<std::pair<uint32_t, std::string>> scratch_states;
  std::vector<std::pair<uint64_t, int64_t>> dedup_chunks;  // (number, largest ts) stored
  uint64_t next_chunk = 0;
  // Reorder-buffer journal: (chunk number, first arrival it may hold), by first arrival. A chunk
  // holds the events buffered at a checkpoint that arrived since the previous one.
  std::vector<std::pair<uint64_t, uint64_t>> buffer_chunks;
  uint64_t saved_arrivals = 0;  // `arrivals` at the last checkpoint

  // Bounded memory (engine_cold.cc).
  // Brings back the stored state of `key` (id: its cold anchor, or kNone); returns its id now,
  // or kNone when the store has no state for it.
  uint32_t LoadCold(std::string_view key, uint32_t id);
  Engine::ColdStore* cold_store = nullptr;
  uint64_t clock = 0;  // steps so far: when keys were last touched
  std::vector<int> identity_dmap, identity_rmap;
  // States and firing flags of evicted keys, per detector / per rule (composites: per rule).
  std::vector<int64_t> cold_states_by_detector, cold_states_by_rule, cold_firing_by_rule;
  Engine::ColdStats cold_stats;
  Status cold_status;
  // Keys whose deletion a checkpoint wrote but the store may not have committed yet.
  absl::flat_hash_set<std::string> uncommitted_removals;
};

}  // namespace abusewatch

#endif  // ABUSEWATCH_DETECTORS_ENGINE_IMPL_H_
