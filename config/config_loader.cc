#include "config/config_loader.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

#include "config/rule_parser.h"
#include "config/yaml_util.h"
#include "detectors/timeutil.h"

namespace abusewatch {
namespace {

namespace fs = std::filesystem;
using config_internal::Entry;
using config_internal::ErrorAt;
using config_internal::MapView;
using config_internal::ParsedRule;
using config_internal::PosText;
using config_internal::Quote;

constexpr int kMaxIncludeDepth = 16;
constexpr size_t kMaxFileBytes = 16 << 20;
constexpr int64_t kMaxEventBytesLimit = int64_t{1} << 30;
// Currency rates: up to 9 integer and 9 fractional digits (1 JPY = 0.048 CNY).
constexpr DecimalLimits kRateLimits{9, 9};

const std::vector<std::string_view> kTopLevelKeys = {
    "version",         "timezone",      "base_currency", "currency_rates", "allowed_lateness",
    "max_event_bytes", "dedup_horizon", "rules",         "include",        "sources",
    "sinks",           "http",          "state",         "review",         "logging",
    "dead_letter",     "decode_threads"};

struct Rate {
  Decimal value;
  SourcePos pos;
};

// Top-level settings given by one file (merged with its includes).
struct Settings {
  std::optional<int64_t> tz_ms;
  std::string tz_text;
  std::optional<std::string> base_currency;
  std::map<std::string, Rate> rates;
  std::optional<int64_t> lateness_ms, max_event_bytes, dedup_ms;
  SourcePos dedup_pos;

  // Settings in `top` win over those already here.
  void Overlay(const Settings& top) {
    if (top.tz_ms) {
      tz_ms = top.tz_ms;
      tz_text = top.tz_text;
    }
    if (top.base_currency) base_currency = top.base_currency;
    for (const auto& [code, rate] : top.rates) rates[code] = rate;
    if (top.lateness_ms) lateness_ms = top.lateness_ms;
    if (top.max_event_bytes) max_event_bytes = top.max_event_bytes;
    if (top.dedup_ms) {
      dedup_ms = top.dedup_ms;
      dedup_pos = top.dedup_pos;
    }
  }
};

struct Layer {
  Settings settings;
  std::vector<ParsedRule> rules;
};

bool IsCurrencyCode(std::string_view s) {
  return s.size() == 3 &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

// Reads a whole file; on failure returns the reason.
bool ReadWholeFile(const std::string& path, std::string* text, std::string* why) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    *why = std::strerror(errno);
    return false;
  }
  text->clear();
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) {
    text->append(buf, n);
    if (text->size() > kMaxFileBytes) {
      std::fclose(f);
      *why = "file is larger than 16 MiB";
      return false;
    }
  }
  bool err = std::ferror(f) != 0;
  std::fclose(f);
  if (err) *why = "read error";
  return !err;
}

Status ParseSettings(const MapView& top, Settings* s) {
  Status st;
  if (const Entry* e = top.Find("timezone")) {
    std::string text;
    st = config_internal::ReadString(*e, "timezone", &text);
    if (!st.ok()) return st;
    int64_t ms = 0;
    if (!ParseUtcOffset(text, &ms)) {
      return ErrorAt(e->value_pos, "bad timezone " + Quote(text) +
                                       ": expected a fixed UTC offset such as \"+08:00\", "
                                       "\"-05:30\", \"Z\" or \"UTC\" (quote it in YAML)");
    }
    s->tz_ms = ms;
    s->tz_text = text;
  }
  if (const Entry* e = top.Find("base_currency")) {
    std::string code;
    st = config_internal::ReadString(*e, "base_currency", &code);
    if (!st.ok()) return st;
    if (!IsCurrencyCode(code)) {
      return ErrorAt(e->value_pos, "bad base_currency " + Quote(code) +
                                       ": expected an ISO 4217 code such as CNY");
    }
    s->base_currency = code;
  }
  if (const Entry* e = top.Find("currency_rates")) {
    MapView rates;
    st = MapView::Make(top.file(), e->value, e->value_pos, "currency_rates", &rates);
    if (!st.ok()) return st;
    for (const Entry& r : rates.entries()) {
      if (!IsCurrencyCode(r.key)) {
        return ErrorAt(r.key_pos, "bad currency code " + Quote(r.key) +
                                      " in currency_rates: expected an ISO 4217 code such as USD");
      }
      Rate rate;
      rate.pos = r.value_pos;
      st = config_internal::ReadDecimal(r, "rate of " + r.key + " in currency_rates", kRateLimits,
                                        &rate.value);
      if (!st.ok()) return st;
      if (config_internal::IsZero(rate.value)) {
        return ErrorAt(r.value_pos, "rate of " + r.key + " must be greater than 0");
      }
      s->rates[r.key] = rate;
    }
  }
  int64_t v = 0;
  if (const Entry* e = top.Find("allowed_lateness")) {
    st = config_internal::ReadDuration(*e, "allowed_lateness", 0, &v);
    if (!st.ok()) return st;
    s->lateness_ms = v;
  }
  if (const Entry* e = top.Find("dedup_horizon")) {
    st = config_internal::ReadDuration(*e, "dedup_horizon", 1, &v);
    if (!st.ok()) return st;
    s->dedup_ms = v;
    s->dedup_pos = e->value_pos;
  }
  if (const Entry* e = top.Find("max_event_bytes")) {
    st = config_internal::ReadInteger(*e, "max_event_bytes", 1, kMaxEventBytesLimit, &v);
    if (!st.ok()) return st;
    s->max_event_bytes = v;
  }
  return Status::Ok();
}

class Loader {
 public:
  explicit Loader(std::vector<std::string>* warnings) : warnings_(warnings) {}

  // Loads one file's text. `identity` identifies the file for cycle detection (empty: none);
  // `dir` is where its includes are resolved, `display_dir` how they are named.
  Status Load(std::string_view text, const std::string& display, const std::string& identity,
              const fs::path& dir, const fs::path& display_dir, bool is_main, Layer* out) {
    YAML::Node root;
    SourcePos start{display, 1, 1};
    Status st = config_internal::ParseYamlDocument(text, display, &root);
    if (!st.ok()) return st;
    if (root.IsNull()) {
      return ErrorAt(start, "the file is empty; expected a mapping with version: 1 and rules");
    }
    MapView top;
    st = MapView::Make(display, root, start, "the top level", &top);
    if (!st.ok()) return st;
    st = top.CheckAllowed(kTopLevelKeys);
    if (!st.ok()) return st;
    if (is_main) st = top.Require("version", "version: 1");
    if (!st.ok()) return st;
    if (const Entry* e = top.Find("version")) {
      if (!e->value.IsScalar() || e->value.Scalar() != "1") {
        return ErrorAt(e->value_pos, "unsupported version " +
                                         Quote(e->value.IsScalar() ? e->value.Scalar() : "") +
                                         " (this program reads version: 1)");
      }
    }
    Settings own;
    st = ParseSettings(top, &own);
    if (!st.ok()) return st;
    if (const Entry* e = top.Find("rules")) {
      st = ParseRules(display, *e, &out->rules);
      if (!st.ok()) return st;
    }
    if (const Entry* e = top.Find("include")) {
      std::vector<std::string> paths;
      std::vector<SourcePos> pos;
      st = config_internal::ReadStringList(e->value, e->value_pos, "include", true, &paths, &pos);
      if (!st.ok()) return st;
      stack_.push_back({identity, display});
      for (size_t i = 0; i < paths.size() && st.ok(); ++i) {
        st = LoadInclude(paths[i], pos[i], dir, display_dir, out);
      }
      stack_.pop_back();
      if (!st.ok()) return st;
    }
    out->settings.Overlay(own);
    return Status::Ok();
  }

 private:
  Status ParseRules(const std::string& display, const Entry& e, std::vector<ParsedRule>* out) {
    if (e.value.IsNull()) return Status::Ok();  // "rules:" with everything commented out
    if (!e.value.IsSequence()) {
      return ErrorAt(e.value_pos, "rules must be a list of rules (- id: ...), got " +
                                      std::string(config_internal::NodeKindName(e.value)));
    }
    for (auto it = e.value.begin(); it != e.value.end(); ++it) {
      ParsedRule r;
      Status st = config_internal::ParseRule(display, *it, e.value_pos, &r, warnings_);
      if (!st.ok()) return st;
      out->push_back(std::move(r));
    }
    return Status::Ok();
  }

  Status LoadInclude(const std::string& inc, const SourcePos& pos, const fs::path& dir,
                     const fs::path& display_dir, Layer* out) {
    if (inc.empty()) return ErrorAt(pos, "include entry is empty");
    fs::path rel(inc);
    fs::path path = rel.is_absolute() ? rel : dir / rel;
    fs::path shown = rel.is_absolute() ? rel : (display_dir / rel).lexically_normal();
    std::error_code ec;
    fs::path canon = fs::weakly_canonical(path, ec);
    std::string identity = ec ? path.lexically_normal().string() : canon.string();
    for (size_t i = 0; i < stack_.size(); ++i) {
      if (!stack_[i].first.empty() && stack_[i].first == identity) {
        std::string chain;
        for (size_t j = i; j < stack_.size(); ++j) chain += stack_[j].second + " -> ";
        return ErrorAt(pos, "include cycle: " + chain + shown.string());
      }
    }
    if (static_cast<int>(stack_.size()) >= kMaxIncludeDepth) {
      return ErrorAt(pos,
                     "includes nested more than " + std::to_string(kMaxIncludeDepth) + " deep");
    }
    std::string text, why;
    if (!ReadWholeFile(path.string(), &text, &why)) {
      return ErrorAt(pos, "cannot read included file " + Quote(shown.string()) + ": " + why);
    }
    Layer child;
    Status st = Load(text, shown.string(), identity, path.parent_path(), shown.parent_path(), false,
                     &child);
    if (!st.ok()) return st;
    out->settings.Overlay(child.settings);  // a later include overrides an earlier one
    for (ParsedRule& r : child.rules) out->rules.push_back(std::move(r));
    return Status::Ok();
  }

  std::vector<std::string>* warnings_;
  std::vector<std::pair<std::string, std::string>> stack_;  // identity, display name
};

void Warn(std::vector<std::string>* warnings, const SourcePos& pos, const std::string& msg) {
  if (warnings != nullptr) warnings->push_back(PosText(pos) + ": " + msg);
}

// A derived warning rule "<id>:warnNN" (rules.md warn_at) names its threshold rule.
int DerivedParent(const std::vector<ParsedRule>& rules,
                  const std::unordered_map<std::string, int>& index, const std::string& child) {
  const size_t colon = child.rfind(":warn");
  if (colon == std::string::npos) return -1;
  auto it = index.find(child.substr(0, colon));
  if (it == index.end()) return -1;
  for (const Decimal& f : rules[it->second].spec.warn_at) {
    UInt128 pct = 0;
    RoundHalfUpScaled(f, 2, 100, &pct);
    if (child.substr(colon + 5) == std::to_string(static_cast<int>(pct))) return it->second;
  }
  return -1;
}

Status CheckComposites(const std::vector<ParsedRule>& rules,
                       const std::unordered_map<std::string, int>& index,
                       std::vector<std::string>* warnings) {
  std::vector<bool> referenced(rules.size(), false);
  for (const ParsedRule& p : rules) {
    const RuleSpec& r = p.spec;
    std::string label = std::string(config_internal::KindText(r.kind)) + " " + Quote(r.id);
    for (size_t i = 0; i < r.children.size(); ++i) {
      auto it = index.find(r.children[i]);
      int child_index = it == index.end() ? DerivedParent(rules, index, r.children[i]) : it->second;
      if (child_index < 0) {
        return ErrorAt(p.child_pos[i],
                       "unknown rule id " + Quote(r.children[i]) + " in rules of " + label);
      }
      const RuleSpec& c = rules[child_index].spec;
      if (c.group_by != r.group_by) {
        return ErrorAt(p.child_pos[i],
                       "rule " + Quote(c.id) + " groups by " + std::string(FieldName(c.group_by)) +
                           " but " + label + " groups by " + std::string(FieldName(r.group_by)) +
                           "; all rules listed in an all_of/any_of must share its group_by");
      }
      if (r.enabled) referenced[child_index] = true;
      if (r.enabled && !c.enabled) {
        Warn(warnings, p.child_pos[i],
             label + " lists disabled rule " + Quote(c.id) +
                 (r.kind == RuleKind::kAllOf ? "; it can never fire" : "; it is ignored"));
      }
    }
  }
  // Cycles: depth-first search, children in listed order.
  std::vector<int> color(rules.size(), 0), path;
  Status result;
  auto visit = [&](auto&& self, int i) -> bool {
    color[i] = 1;
    path.push_back(i);
    const ParsedRule& p = rules[i];
    for (size_t k = 0; k < p.spec.children.size(); ++k) {
      auto found = index.find(p.spec.children[k]);
      if (found == index.end()) continue;  // a derived warning rule: it has no children
      int j = found->second;
      if (color[j] == 1) {
        std::string chain;
        auto from = std::find(path.begin(), path.end(), j);
        for (auto q = from; q != path.end(); ++q) chain += rules[*q].spec.id + " -> ";
        result =
            ErrorAt(p.child_pos[k], std::string(config_internal::KindText(rules[j].spec.kind)) +
                                        " cycle: " + chain + rules[j].spec.id);
        return false;
      }
      if (color[j] == 0 && !self(self, j)) return false;
    }
    color[i] = 2;
    path.pop_back();
    return true;
  };
  for (size_t i = 0; i < rules.size(); ++i) {
    if (color[i] == 0 && !visit(visit, static_cast<int>(i))) return result;
  }
  for (size_t i = 0; i < rules.size(); ++i) {
    const RuleSpec& r = rules[i].spec;
    if (r.enabled && !r.notify && !referenced[i]) {
      Warn(warnings, r.pos,
           "rule " + Quote(r.id) +
               " has notify: false and no enabled all_of/any_of lists it; its transitions reach "
               "no alert sink");
    }
  }
  return Status::Ok();
}

Status Finish(const std::string& display, Layer layer, EngineConfig* out,
              std::vector<std::string>* warnings) {
  EngineConfig c;
  const Settings& s = layer.settings;
  if (s.tz_ms) {
    c.timezone_offset_ms = *s.tz_ms;
    c.timezone_text = s.tz_text;
  }
  if (s.base_currency) c.base_currency = *s.base_currency;
  for (const auto& [code, rate] : s.rates) {
    if (code == c.base_currency && CompareDecimal(rate.value, Decimal{1, 0}) != 0) {
      return ErrorAt(rate.pos, "rate of the base currency " + code + " must be 1");
    }
    c.currency_rates[code] = rate.value;
  }
  if (s.lateness_ms) c.allowed_lateness_ms = *s.lateness_ms;
  if (s.max_event_bytes) c.max_event_bytes = *s.max_event_bytes;
  if (s.dedup_ms) c.dedup_horizon_ms = *s.dedup_ms;

  std::unordered_map<std::string, int> index;
  for (size_t i = 0; i < layer.rules.size(); ++i) {
    const ParsedRule& r = layer.rules[i];
    auto [it, inserted] = index.emplace(r.spec.id, static_cast<int>(i));
    if (!inserted) {
      return ErrorAt(r.id_pos, "duplicate rule id " + Quote(r.spec.id) + " (first defined at " +
                                   PosText(layer.rules[it->second].id_pos) + ")");
    }
  }
  Status st = CheckComposites(layer.rules, index, warnings);
  if (!st.ok()) return st;
  int64_t longest = 0;
  for (const ParsedRule& r : layer.rules) {
    longest = std::max({longest, r.spec.window_ms, r.spec.within_ms});
  }
  if (c.dedup_horizon_ms < longest) {
    Warn(warnings, s.dedup_ms ? s.dedup_pos : SourcePos{display, 1, 1},
         "dedup_horizon " + FormatDuration(c.dedup_horizon_ms) +
             " is shorter than the longest rule window " + FormatDuration(longest) +
             "; a re-sent event older than the horizon would be counted twice");
  }
  for (ParsedRule& r : layer.rules) c.rules.push_back(std::move(r.spec));
  *out = std::move(c);
  return Status::Ok();
}

Status LoadMain(std::string_view text, const std::string& display, const std::string& identity,
                const fs::path& dir, const fs::path& display_dir, EngineConfig* out,
                std::vector<std::string>* warnings) {
  try {
    Loader loader(warnings);
    Layer layer;
    Status st = loader.Load(text, display, identity, dir, display_dir, true, &layer);
    if (!st.ok()) return st;
    return Finish(display, std::move(layer), out, warnings);
  } catch (const YAML::Exception& e) {
    return ErrorAt(config_internal::PosOf(display, e.mark), "YAML error: " + e.msg);
  } catch (const std::exception& e) {
    return Status::Internal(display + ":1:1: internal error while loading the config: " + e.what());
  } catch (...) {
    return Status::Internal(display + ":1:1: internal error while loading the config");
  }
}

}  // namespace

Status LoadConfigFile(const std::string& path, EngineConfig* out,
                      std::vector<std::string>* warnings) {
  try {
    std::string text, why;
    if (!ReadWholeFile(path, &text, &why)) {
      return Status::InvalidArgument(path + ":1:1: cannot read config file: " + why);
    }
    fs::path p(path);
    std::error_code ec;
    fs::path canon = fs::weakly_canonical(p, ec);
    std::string identity = ec ? p.lexically_normal().string() : canon.string();
    return LoadMain(text, path, identity, p.parent_path(), p.parent_path(), out, warnings);
  } catch (const std::exception& e) {
    return Status::Internal(path + ":1:1: internal error while loading the config: " + e.what());
  } catch (...) {
    return Status::Internal(path + ":1:1: internal error while loading the config");
  }
}

Status LoadConfigString(std::string_view yaml, const std::string& display_name, EngineConfig* out,
                        std::vector<std::string>* warnings) {
  return LoadMain(yaml, display_name, "", fs::path(), fs::path(), out, warnings);
}

}  // namespace abusewatch
