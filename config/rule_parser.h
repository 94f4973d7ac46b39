// Internal: parses one entry of `rules:` (spec/rules.md) into a RuleSpec. Checks everything
// that concerns the rule alone; cross-rule checks (unique ids, composite references, cycles)
// are done by the loader. Not part of the public API.
#ifndef ABUSEWATCH_CONFIG_RULE_PARSER_H_
#define ABUSEWATCH_CONFIG_RULE_PARSER_H_

#include <string>
#include <vector>

#include "config/yaml_util.h"
#include "detectors/rule_spec.h"
#include "detectors/status.h"

namespace abusewatch::config_internal {

struct ParsedRule {
  RuleSpec spec;
  SourcePos id_pos;                  // position of the id's value
  std::vector<SourcePos> child_pos;  // all_of / any_of: position of each entry of `rules`
};

// `node` is one element of `rules`; `fallback` its position if it has none.
Status ParseRule(const std::string& file, const YAML::Node& node, const SourcePos& fallback,
                 ParsedRule* out, std::vector<std::string>* warnings);

// Names used in YAML ("threshold", "count", "warning", ...).
std::string_view KindText(RuleKind k);
std::string_view AggregateText(Aggregate a);
std::string_view SeverityText(Severity s);

}  // namespace abusewatch::config_internal

#endif  // ABUSEWATCH_CONFIG_RULE_PARSER_H_
