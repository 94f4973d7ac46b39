// Internal: parses a rule selector `{stream: ..., where: {...}}` (spec/rules.md) into a
// Selector. Not part of the public API.
#ifndef ABUSEWATCH_CONFIG_SELECTOR_PARSER_H_
#define ABUSEWATCH_CONFIG_SELECTOR_PARSER_H_

#include <string>
#include <string_view>
#include <vector>

#include "config/yaml_util.h"
#include "detectors/rule_spec.h"
#include "detectors/status.h"

namespace abusewatch::config_internal {

// `e.value` is the selector mapping; `what` names it in messages ("select of rule \"x\"").
// Conditions that can never hold for any of the selected streams (e.g. `flow` on `login`)
// add a warning "file:line:col: ..." to `warnings` when it is not null.
Status ParseSelector(const std::string& file, const Entry& e, std::string_view what, Selector* out,
                     std::vector<std::string>* warnings);

// Every field name, in FieldId order ("id, type, account, ...").
std::vector<std::string_view> AllFieldNames();

}  // namespace abusewatch::config_internal

#endif  // ABUSEWATCH_CONFIG_SELECTOR_PARSER_H_
