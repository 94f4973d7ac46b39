// Internal to the engine: the per-kind detectors and the context through which they read keys,
// schedule timers and emit transitions. Not a public API.
//
// A detector keeps one state per group key; a state owns one KeyTable reference, released
// when the state becomes empty. Timers are (time, detector, key) entries; a detector records
// the time of its live timer in the state and ignores any other (stale) entry.
#ifndef ABUSEWATCH_DETECTORS_DETECTOR_H_
#define ABUSEWATCH_DETECTORS_DETECTOR_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "detectors/event.h"
#include "detectors/key_table.h"
#include "detectors/rule_set.h"
#include "detectors/state_codec.h"
#include "detectors/status.h"
#include "detectors/transition.h"

namespace abusewatch {

constexpr int64_t kNoTimer = INT64_MIN;

class DetectorContext {
 public:
  virtual ~DetectorContext() = default;
  // Key id of the current event's value of `field`, or KeyTable::kNone. Cached per event.
  virtual uint32_t FindKey(FieldId field) = 0;
  // Same, creating the key if needed; adds one reference owned by the caller's state.
  virtual uint32_t AcquireKey(FieldId field) = 0;
  virtual void ReleaseKey(uint32_t key) = 0;
  virtual void Schedule(int detector, uint32_t key, int64_t at) = 0;
  // Emits a transition of `rule` (index into RuleSet::rules()) for `key` at `at`.
  virtual void Emit(int rule, uint32_t key, bool firing, int64_t at, bool has_value, Int128 value,
                    std::vector<std::string> events) = 0;
};

class Detector {
 public:
  Detector(const RuleSet& rules, int index)
      : rules_(rules), index_(index), spec_(rules.detectors()[index]) {}
  virtual ~Detector() = default;
  // Called for every processed event whose type the detector's selectors mention and whose
  // group value is non-empty.
  virtual void OnEvent(const Event& e, DetectorContext& ctx) = 0;
  // A timer scheduled for (this detector, key) is due at `at`.
  virtual void OnTimer(int64_t at, uint32_t key, DetectorContext& ctx) = 0;
  // Is the rule in `slot` firing for `key`?
  virtual bool IsFiring(int slot, uint32_t key) const = 0;
  virtual size_t StateCount() const = 0;
  // Keys for which the rule in `slot` is firing. O(states).
  virtual size_t FiringCount(int slot) const = 0;
  // Stored cells across all states: buckets, distinct values, pending triggers, intervals.
  virtual size_t CellCount() const = 0;

  // Checkpoints (detectors/checkpoint.h). Appends the state of `key` to `out` and returns true;
  // returns false (appending nothing) when the detector holds no state for it.
  virtual bool SaveKey(uint32_t key, StateEncoder* out) const = 0;
  // Creates the state of `key`, which must have none, from what SaveKey() wrote; the state then
  // owns one reference of `key`, which the caller has added. On malformed bytes returns
  // Corruption and changes nothing. Timers are not scheduled (the engine restores its heap).
  virtual Status LoadKey(uint32_t key, std::string_view bytes) = 0;
  // Appends the JSON members describing `key`'s state (no braces), for support tools:
  // "firing":[rule ids],… and what the kind keeps. Nothing when there is no state.
  virtual void Describe(uint32_t key, std::string* out) const = 0;
  // Drops the state of `key` without releasing its key reference (the caller does): for
  // evicting a key whose record is stored. Returns whether there was a state.
  virtual bool DropKey(uint32_t key) = 0;
  // The time of the live timer of `key`'s state, or kNoTimer.
  virtual int64_t TimerAt(uint32_t key) const = 0;

  const DetectorSpec& spec() const { return spec_; }

 protected:
  const RuleSet& rules_;
  const int index_;
  const DetectorSpec& spec_;
};

// The end of a detector's LoadKey(): `in`'s outcome, then the decoded state `s` stored for `key`
// in `states` (Corruption naming `kind` when the key already has one).
template <typename Map, typename State>
Status StoreLoadedState(Map& states, uint32_t key, State&& s, const StateDecoder& in,
                        std::string_view kind) {
  const std::string what = std::string(kind) + " state";
  Status st = in.Finish(what);
  if (!st.ok()) return st;
  if (!states.try_emplace(key, std::forward<State>(s)).second) {
    return Status::Corruption(what + ": the key appears twice");
  }
  return Status::Ok();
}

std::unique_ptr<Detector> MakeThresholdDetector(const RuleSet& rules, int index);
std::unique_ptr<Detector> MakeAbsenceDetector(const RuleSet& rules, int index);
std::unique_ptr<Detector> MakeSequenceDetector(const RuleSet& rules, int index);

// Bounded list of recent evidence event ids (oldest first).
class Evidence {
 public:
  void Add(int64_t ts, std::string_view id);
  void Clear() { items_.clear(); }
  // Ids with ts >= since, oldest first.
  std::vector<std::string> Since(int64_t since) const;
  std::vector<std::string> All() const { return Since(INT64_MIN); }
  // "evidence":[ids] as a JSON member.
  void AppendJson(std::string* out) const;
  bool empty() const { return items_.empty(); }
  void Save(StateEncoder* out) const;
  // Replaces the items; fails `in` on malformed input.
  void Load(StateDecoder* in);

 private:
  std::vector<std::pair<int64_t, std::string>> items_;
};

}  // namespace abusewatch

#endif  // ABUSEWATCH_DETECTORS_DETECTOR_H_
