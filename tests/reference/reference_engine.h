// A brute-force reference implementation of spec/rules.md, for differential testing of the
// real engine (detectors/engine.h). Tests only.
//
// Decoding uses abusewatch::Decoder (the contract is tested elsewhere); everything after it is
// deliberately naive: every value is recomputed from the definitions at every step by scanning
// all processed events (no windows, buckets or timers as state), so the code can be checked
// line by line against the spec. Quadratic; meant for streams of a few hundred events.
//
// Semantics where rules.md leaves room (the project's decisions):
//  - Acceptance: M = largest ts accepted before this event; contract -> late (ts < M - allowed
//    lateness) -> duplicate (an earlier accepted event has the same id and a ts >= M - dedup
//    horizon) -> accepted.
//  - Accepted events are processed stably sorted by ts. Each event is one step; for every
//    instant d at which a timer could be due (threshold: bucket(e.ts) + W for every selected
//    event; absence: every trigger's deadline) with d <= the largest accepted ts there is one
//    timer step at d, after every event with ts <= d and before every event with ts > d.
//  - threshold: the value of key k at time t is recomputed from the definition. A step
//    re-evaluates firing (value >= T) for (rule, k) when it concerns them: an event of k that
//    the rule selects or that matches its reset_on, or any timer step. A transition is emitted
//    when firing after the step differs from firing before it, with the value after the step.
//    (ReferenceOptions::threshold_all_keys_every_step re-evaluates every key at every step
//    instead; the two differ only when an event step falls exactly on a window expiry.)
//  - absence: fires at timer steps (an unhandled trigger whose deadline has passed, key not
//    firing); resolves at the next expect event. Role order in one event: expect, trigger.
//  - sequence: fires at a then event, resolves at the next unless event. Role order in one
//    event: then, unless, first.
//  - all_of / any_of: evaluated after every step from the primitive states; a transition only
//    when the state after the step differs from the state before it.
//  - Disabled rules produce nothing and count as never firing.
//  - Output order: (at, rule id, key) bytewise, ties in generation order.
#ifndef ABUSEWATCH_TESTS_REFERENCE_REFERENCE_ENGINE_H_
#define ABUSEWATCH_TESTS_REFERENCE_REFERENCE_ENGINE_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "detectors/decoder.h"
#include "detectors/rule_spec.h"

namespace abusewatch::testing {

struct RefTransition {
  std::string rule;
  std::string key;
  bool firing = false;
  int64_t at_ms = 0;
  bool has_value = false;
  // The JSON text the output has for "value" / "threshold": `3` for count and distinct,
  // `"200000.00"` (quotes included) for sum, `null` for other kinds.
  std::string value = "null";
  std::string threshold = "null";
};

struct RefResult {
  std::vector<RefTransition> transitions;
  std::vector<std::pair<int /*line, 1-based*/, RejectReason>> rejects;
  // Accepted events as (line, ts), in arrival order.
  std::vector<std::pair<int, int64_t>> accepted;
};

struct ReferenceOptions {
  // Re-evaluate every threshold key at every step (not only the keys an event step concerns).
  bool threshold_all_keys_every_step = false;
};

RefResult RunReference(const EngineConfig& config, const std::vector<std::string>& lines,
                       const ReferenceOptions& options = {});

// "rule key state at value threshold", for messages.
std::string RefTransitionText(const RefTransition& t);

// True for lines that replay skips (empty or only spaces, tabs and carriage returns).
bool IsBlankLine(const std::string& line);

}  // namespace abusewatch::testing

#endif  // ABUSEWATCH_TESTS_REFERENCE_REFERENCE_ENGINE_H_
