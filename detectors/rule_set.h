// RuleSet: an EngineConfig validated and compiled for the engine.
//
// Compile() checks everything the engine relies on (unique ids, windows that are multiples of
// their granularity, thresholds > 0, composite references, cycles, group_by types) and returns
// InvalidArgument naming the rule and its source position. It expands `warn_at` into derived
// rules `<id>:warn<NN>`, shares one aggregator between threshold rules that differ only in
// their line, and orders composites so children come before parents.
// A compiled RuleSet is immutable and safe to share between threads.
#ifndef ABUSEWATCH_DETECTORS_RULE_SET_H_
#define ABUSEWATCH_DETECTORS_RULE_SET_H_

#include <memory>
#include <string>
#include <vector>

#include "detectors/rule_spec.h"
#include "detectors/status.h"

namespace abusewatch {

struct CompiledRule {
  RuleSpec spec;      // for derived warn rules: the parent's spec with id/severity/threshold
  int detector = -1;  // index into RuleSet::detectors(); -1 for composites and disabled rules
  int slot = 0;       // threshold: bit within its aggregator
  Int128 line = 0;    // threshold: effective integer line (count) or fen (sum), = ceil(T)
  std::vector<int> children;  // composites: rule indices
  std::vector<int> parents;   // composites that list this rule
  int order = 0;              // rank of `spec.id` in byte order (output sorting)
  bool derived_warning = false;
};

struct DetectorSpec {
  RuleKind kind = RuleKind::kThreshold;
  FieldId group_by = FieldId::kAccount;
  std::vector<int> rules;          // rule indices fed by this detector (threshold: one per line)
  const RuleSpec* spec = nullptr;  // the first rule's declaration (selectors, window, ...)
  uint32_t type_mask = 0;          // event types any of its selectors can match
};

class RuleSet {
 public:
  static Status Compile(EngineConfig config, std::shared_ptr<const RuleSet>* out);

  const EngineConfig& config() const { return config_; }
  const std::vector<CompiledRule>& rules() const { return rules_; }
  const std::vector<DetectorSpec>& detectors() const { return detectors_; }
  // Composite rule indices, children before parents.
  const std::vector<int>& composite_order() const { return composite_order_; }
  // Detector indices whose selectors can match events of type t.
  const std::vector<int>& detectors_for(EventType t) const { return by_type_[static_cast<int>(t)]; }
  // Index of the rule with this id, or -1.
  int Find(std::string_view id) const;

 private:
  EngineConfig config_;
  std::vector<CompiledRule> rules_;
  std::vector<DetectorSpec> detectors_;
  std::vector<int> composite_order_;
  std::vector<int> by_type_[kNumEventTypes];
};

// Canonical text of a selector (used to share aggregators and in summaries).
std::string SelectorSignature(const Selector& s);

}  // namespace abusewatch

#endif  // ABUSEWATCH_DETECTORS_RULE_SET_H_
