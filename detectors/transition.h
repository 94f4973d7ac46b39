// Transition: a rule's state change for one key (rules.md "Output: transitions"), and the
// interface through which the engine hands them out.
#ifndef ABUSEWATCH_DETECTORS_TRANSITION_H_
#define ABUSEWATCH_DETECTORS_TRANSITION_H_

#include <cstdint>
#include <string>
#include <vector>

#include "detectors/decimal.h"
#include "detectors/rule_set.h"

namespace abusewatch {

struct Transition {
  int rule = 0;  // index into RuleSet::rules()
  std::string key;
  bool firing = false;
  int64_t at_ms = 0;
  bool has_value = false;           // threshold rules only
  Int128 value = 0;                 // count / distinct: integer; sum: fen
  std::vector<std::string> events;  // evidence ids, oldest first, at most kMaxEvidence
};

constexpr size_t kMaxEvidence = 20;

// Receives transitions in output order: by `at`, then rule id, then key.
// Called on the engine's thread; must not call back into the engine.
class TransitionSink {
 public:
  virtual ~TransitionSink() = default;
  virtual void OnTransition(const Transition& t, const RuleSet& rules) = 0;
};

// The transition's identity: 32 hex digits of XXH3-128 over (rule id, key, state, at). The same
// transition re-emitted after a restart (checkpoints) has the same id, so consumers can
// deduplicate; a rule firing again for the key later has another `at`, so another id.
std::string TransitionId(const Transition& t, const RuleSet& rules);

// The JSON object of rules.md, without a trailing newline, with the id last:
// {"rule":…,"key":…,"state":…,"at":…,"value":…,"threshold":…,"severity":…,"basis":…,"events":[…],
//  "id":…}
void AppendTransitionJson(const Transition& t, const RuleSet& rules, std::string* out);

// JSON string literal of `s` (quotes included), escaping per RFC 8259; invalid UTF-8 bytes
// are replaced by U+FFFD so the output is always valid JSON.
void AppendJsonString(std::string_view s, std::string* out);

}  // namespace abusewatch

#endif  // ABUSEWATCH_DETECTORS_TRANSITION_H_
