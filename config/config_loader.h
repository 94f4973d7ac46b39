// Loads the YAML rule configuration (spec/rules.md, version 1) into an EngineConfig.
//
// The loader is strict: any unknown key, malformed value, or inconsistency is an error whose
// message starts with "file:line:col: " (1-based) and says what is wrong and what is allowed.
// It never throws; YAML syntax errors are reported the same way.
//
// Top-level keys: version (must be 1; required in the main file), timezone, base_currency,
// currency_rates, allowed_lateness, max_event_bytes, dedup_horizon, rules, include, and the
// daemon's sections (sources, sinks, http, state, review, logging), which are accepted here
// without being interpreted.
//
// `include: [a.yaml, ...]` loads other files of the same shape, relative to the including
// file's directory (for LoadConfigString: relative to the current directory). Rule order: the
// file's own rules, then each included file's rules, in include order (recursively). Settings:
// a file's own top-level settings override those of the files it includes; among included
// files a later one overrides an earlier one. `currency_rates` merge per currency code under the
// same precedence. Include cycles and duplicate rule ids (across all files) are errors.
//
// After loading all files, composite rules (all_of / any_of) are checked: every listed id
// exists, shares the parent's group_by, and there is no cycle.
//
// Thread safety: the functions are reentrant; they read files but keep no global state.
#ifndef ABUSEWATCH_CONFIG_CONFIG_LOADER_H_
#define ABUSEWATCH_CONFIG_CONFIG_LOADER_H_

#include <string>
#include <string_view>
#include <vector>

#include "detectors/rule_spec.h"
#include "detectors/status.h"

namespace abusewatch {

// Loads `path` (and its includes). On success fills `*out` and returns OK; on failure returns
// InvalidArgument and leaves `*out` unchanged (so a reload can keep the old config). Warnings
// (suspicious but valid settings, each "file:line:col: ...") are appended to `warnings` when
// it is not null.
Status LoadConfigFile(const std::string& path, EngineConfig* out,
                      std::vector<std::string>* warnings = nullptr);

// Same, from text. `display_name` names the text in messages; includes are resolved relative
// to the current directory.
Status LoadConfigString(std::string_view yaml, const std::string& display_name, EngineConfig* out,
                        std::vector<std::string>* warnings = nullptr);

// A human summary for `abusewatch check-config`: the settings, one per line, then a table with
// one line per rule: id, kind, key (group_by), severity, notify (yes/no) and a compact
// definition, e.g.
//   art12_2_settlement_total  threshold  account  info  no
//     sum(amount) of payment{flow=settlement} over 730d/1d >= 200000.00 reset_on sanction
// (on one line; disabled rules have "DISABLED " before the definition).
std::string DescribeConfig(const EngineConfig& c);

}  // namespace abusewatch

#endif  // ABUSEWATCH_CONFIG_CONFIG_LOADER_H_
