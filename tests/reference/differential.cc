#include "tests/reference/differential.h"

#include <algorithm>
#include <array>
#include <climits>
#include <map>
#include <sstream>

#include "detectors/engine.h"
#include "detectors/timeutil.h"
#include "detectors/transition.h"

namespace abusewatch::testing::ref {
namespace {

// Length of the JSON value starting at s[i] (string, number, literal, array or object).
size_t ValueLength(std::string_view s, size_t i) {
  size_t j = i;
  int depth = 0;
  bool in_string = false;
  for (; j < s.size(); ++j) {
    char c = s[j];
    if (in_string) {
      if (c == '\\') {
        ++j;
      } else if (c == '"') {
        in_string = false;
        if (depth == 0) return j + 1 - i;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      ++depth;
    } else if (c == ']' || c == '}') {
      if (depth == 0) return j - i;
      if (--depth == 0) return j + 1 - i;
    } else if (c == ',' && depth == 0) {
      return j - i;
    }
  }
  return j - i;
}

std::string ExpectedSeverity(const EngineConfig& config, const std::string& id) {
  for (const RuleSpec& r : config.rules) {
    if (r.id == id) return std::string(SeverityName(r.severity));
  }
  return id.find(":warn") != std::string::npos ? "info" : "?";
}

class Collector : public TransitionSink {
 public:
  explicit Collector(EngineRun* run) : run_(run) {}

  void OnTransition(const Transition& t, const RuleSet& rules) override {
    RefTransition r;
    r.rule = rules.rules()[t.rule].spec.id;
    r.key = t.key;
    r.firing = t.firing;
    r.at_ms = t.at_ms;
    r.has_value = t.has_value;
    std::string json;
    AppendTransitionJson(t, rules, &json);
    std::map<std::string, std::string> f;
    std::string expected_key;
    AppendJsonString(t.key, &expected_key);
    int64_t at = 0;
    bool ok = SplitJsonObject(json, &f) && f["rule"] == "\"" + r.rule + "\"" &&
              f["key"] == expected_key &&
              f["state"] == (t.firing ? "\"firing\"" : "\"resolved\"") &&
              f["severity"] == "\"" + ExpectedSeverity(rules.config(), r.rule) + "\"" &&
              f["events"].size() >= 2 && f["events"][0] == '[';
    const std::string& at_text = f["at"];
    ok = ok && at_text.size() == 26 && at_text[20] == '.' && at_text[24] == 'Z' &&
         ParseRfc3339(at_text.substr(1, 24), &at) && at == t.at_ms;
    if (!ok) run_->problems.push_back("unexpected output JSON: " + json);
    r.value = f["value"];
    r.threshold = f["threshold"];
    run_->transitions.push_back(std::move(r));
  }

 private:
  EngineRun* run_;
};

}  // namespace

bool SplitJsonObject(std::string_view s, std::map<std::string, std::string>* out) {
  auto skip = [&](size_t i) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')) ++i;
    return i;
  };
  size_t i = skip(0);
  if (i >= s.size() || s[i] != '{') return false;
  i = skip(i + 1);
  while (i < s.size() && s[i] != '}') {
    if (s[i] != '"') return false;
    size_t key_len = ValueLength(s, i);
    std::string key(s.substr(i + 1, key_len - 2));
    i = skip(i + key_len);
    if (i >= s.size() || s[i] != ':') return false;
    i = skip(i + 1);
    size_t len = ValueLength(s, i);
    if (len == 0) return false;
    std::string_view value = s.substr(i, len);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    (*out)[key] = std::string(value);
    i = skip(i + len);
    if (i < s.size() && s[i] == ',') i = skip(i + 1);
  }
  return i < s.size() && skip(i + 1) == s.size();
}

EngineRun RunEngine(const std::shared_ptr<const RuleSet>& rules,
                    const std::vector<std::string>& lines, FeedMode mode,
                    const std::vector<size_t>& finish_after) {
  EngineRun run;
  Collector sink(&run);
  Engine engine(rules, &sink);
  Decoder decoder(DecoderOptionsFor(rules->config()));
  size_t next_finish = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    int line = static_cast<int>(i) + 1;
    if (!IsBlankLine(lines[i])) {
      Rejection rejection;
      bool accepted;
      if (mode == FeedMode::kMixed && i % 3 == 1) {
        Event e;
        accepted =
            decoder.Decode(lines[i], &e, &rejection) && engine.OfferEvent(std::move(e), &rejection);
      } else {
        accepted = engine.Offer(lines[i], &rejection);
      }
      if (!accepted) run.rejects.emplace_back(line, rejection.reason);
    }
    if (mode == FeedMode::kMixed && i % 7 == 3) {  // read-only queries must not change anything
      (void)engine.stats();
      (void)engine.max_event_time();
      for (const CompiledRule& r : rules->rules()) (void)engine.IsFiring(r.spec.id, "acct-1");
    }
    if (mode == FeedMode::kFinishEarly) {
      while (next_finish < finish_after.size() && finish_after[next_finish] < i) ++next_finish;
      if (next_finish < finish_after.size() && finish_after[next_finish] == i) engine.Finish();
    }
  }
  engine.Finish();
  if (mode == FeedMode::kMixed) {
    size_t n = run.transitions.size();
    engine.Finish();
    if (run.transitions.size() != n) run.problems.push_back("a second Finish() emitted more");
  }
  return run;
}

std::vector<size_t> SafeFinishPoints(const RefResult& ref, size_t num_lines) {
  std::vector<size_t> out;
  for (size_t i = 0; i < num_lines; ++i) {
    int line = static_cast<int>(i) + 1;
    int64_t before = INT64_MIN;
    int64_t after = INT64_MAX;
    for (const auto& [l, ts] : ref.accepted) {
      if (l <= line) before = std::max(before, ts);
      if (l > line) after = std::min(after, ts);
    }
    if (before != INT64_MIN && after > before) out.push_back(i);
  }
  return out;
}

std::vector<std::string> CheckFinalState(const std::shared_ptr<const RuleSet>& rules,
                                         const std::vector<std::string>& lines,
                                         const RefResult& ref) {
  std::vector<std::string> problems;
  EngineRun run;
  Collector sink(&run);
  Engine engine(rules, &sink);
  Rejection rejection;
  for (const std::string& l : lines) {
    if (!IsBlankLine(l)) engine.Offer(l, &rejection);
  }
  engine.Finish();
  EngineStats s = engine.stats();
  std::array<uint64_t, kNumRejectReasons> by_reason{};
  for (const auto& [line, reason] : ref.rejects) ++by_reason[static_cast<int>(reason)];
  int64_t max_ts = INT64_MIN;
  for (const auto& [line, ts] : ref.accepted) max_ts = std::max(max_ts, ts);
  if (s.accepted != ref.accepted.size() || s.rejected != ref.rejects.size() ||
      s.rejected_by_reason != by_reason || s.transitions != ref.transitions.size()) {
    problems.push_back(
        "stats: accepted " + std::to_string(s.accepted) + ", rejected " +
        std::to_string(s.rejected) + ", transitions " + std::to_string(s.transitions) +
        "; the reference has " + std::to_string(ref.accepted.size()) + ", " +
        std::to_string(ref.rejects.size()) + ", " + std::to_string(ref.transitions.size()));
  }
  if (engine.max_event_time() != max_ts) problems.push_back("max_event_time differs");
  std::map<std::pair<std::string, std::string>, bool> last;
  std::vector<std::string> keys;
  for (const RefTransition& t : ref.transitions) {
    last[{t.rule, t.key}] = t.firing;
    keys.push_back(t.key);
  }
  for (const CompiledRule& r : rules->rules()) {
    for (const std::string& key : keys) {
      auto it = last.find({r.spec.id, key});
      bool want = it != last.end() && it->second;
      if (engine.IsFiring(r.spec.id, key) != want) {
        problems.push_back("IsFiring(" + r.spec.id + ", " + key + ") is " +
                           (want ? "false" : "true") + " after Finish()");
      }
    }
  }
  return problems;
}

std::string Compare(const std::vector<RefTransition>& want,
                    const std::vector<std::pair<int, RejectReason>>& want_rejects,
                    const EngineRun& got) {
  std::ostringstream o;
  for (const std::string& p : got.problems) o << "  problem: " << p << "\n";
  if (want_rejects != got.rejects) {
    o << "  rejects differ (line reason), reference | engine:\n";
    size_t n = std::max(want_rejects.size(), got.rejects.size());
    for (size_t i = 0; i < n; ++i) {
      auto text = [](const std::vector<std::pair<int, RejectReason>>& v, size_t k) {
        return k < v.size()
                   ? std::to_string(v[k].first) + " " + std::string(RejectReasonName(v[k].second))
                   : std::string("-");
      };
      std::string a = text(want_rejects, i), b = text(got.rejects, i);
      o << (a == b ? "    " : "  * ") << a << " | " << b << "\n";
    }
  }
  size_t first = 0;
  auto same = [](const RefTransition& a, const RefTransition& b) {
    return RefTransitionText(a) == RefTransitionText(b) && a.has_value == b.has_value;
  };
  while (first < want.size() && first < got.transitions.size() &&
         same(want[first], got.transitions[first])) {
    ++first;
  }
  if (first < want.size() || first < got.transitions.size()) {
    o << "  transitions differ from #" << first << " (reference " << want.size() << ", engine "
      << got.transitions.size() << "); rule key state at_ms value threshold:\n";
    size_t from = first >= 3 ? first - 3 : 0;
    for (size_t i = from; i < first + 8; ++i) {
      if (i >= want.size() && i >= got.transitions.size()) break;
      std::string a = i < want.size() ? RefTransitionText(want[i]) : "-";
      std::string b = i < got.transitions.size() ? RefTransitionText(got.transitions[i]) : "-";
      o << "    #" << i << (a == b ? "   " : " * ") << "reference: " << a << "\n"
        << "    #" << i << (a == b ? "   " : " * ") << "engine:    " << b << "\n";
    }
  }
  return o.str();
}

std::string Differences(const EngineConfig& config, const std::vector<std::string>& lines,
                        const ReferenceOptions& options) {
  std::shared_ptr<const RuleSet> rules;
  Status s = RuleSet::Compile(config, &rules);
  if (!s.ok()) return "RuleSet::Compile failed: " + s.ToString();
  RefResult ref = RunReference(config, lines, options);
  return Compare(ref.transitions, ref.rejects, RunEngine(rules, lines, FeedMode::kOffer));
}

namespace {

// Candidate simplifications of a config, each a modified copy.
std::vector<EngineConfig> Simplifications(const EngineConfig& c) {
  std::vector<EngineConfig> out;
  for (size_t i = c.rules.size(); i-- > 0;) {
    bool referenced = false;
    for (const RuleSpec& r : c.rules) {
      for (const std::string& child : r.children) referenced = referenced || child == c.rules[i].id;
    }
    if (!referenced && c.rules.size() > 1) {
      out.push_back(c);
      out.back().rules.erase(out.back().rules.begin() + static_cast<std::ptrdiff_t>(i));
    }
    const RuleSpec& r = c.rules[i];
    auto variant = [&](auto&& change) {
      out.push_back(c);
      change(out.back().rules[i]);
    };
    for (size_t k = 0; k < r.children.size() && r.children.size() > 1; ++k) {
      variant([&](RuleSpec& x) {
        x.children.erase(x.children.begin() + static_cast<std::ptrdiff_t>(k));
      });
    }
    if (!r.warn_at.empty()) variant([](RuleSpec& x) { x.warn_at.clear(); });
    if (r.reset_on) variant([](RuleSpec& x) { x.reset_on.reset(); });
    if (r.unless) variant([](RuleSpec& x) { x.unless.reset(); });
    for (Selector RuleSpec::*sel : {&RuleSpec::select, &RuleSpec::trigger, &RuleSpec::expect,
                                    &RuleSpec::first, &RuleSpec::then}) {
      for (size_t k = 0; k < (r.*sel).where.size(); ++k) {
        variant([&](RuleSpec& x) {
          (x.*sel).where.erase((x.*sel).where.begin() + static_cast<std::ptrdiff_t>(k));
        });
      }
    }
  }
  return out;
}

}  // namespace

void Shrink(EngineConfig* config, std::vector<std::string>* lines,
            const ReferenceOptions& options) {
  for (int round = 0; round < 4; ++round) {
    bool changed = false;
    for (bool again = true; again;) {
      again = false;
      for (EngineConfig& candidate : Simplifications(*config)) {
        if (!Differences(candidate, *lines, options).empty()) {
          *config = std::move(candidate);
          again = changed = true;
          break;
        }
      }
    }
    for (size_t chunk = std::max<size_t>(lines->size() / 2, 1); chunk >= 1; chunk /= 2) {
      for (size_t start = 0; start < lines->size();) {
        std::vector<std::string> candidate = *lines;
        size_t end = std::min(start + chunk, candidate.size());
        candidate.erase(candidate.begin() + static_cast<std::ptrdiff_t>(start),
                        candidate.begin() + static_cast<std::ptrdiff_t>(end));
        if (!candidate.empty() && !Differences(*config, candidate, options).empty()) {
          *lines = std::move(candidate);
          changed = true;
        } else {
          start += chunk;
        }
      }
      if (chunk == 1) break;
    }
    if (!changed) break;
  }
}

std::string NumberedLines(const std::vector<std::string>& lines) {
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    out += "  " + std::to_string(i + 1) + ": " + lines[i] + "\n";
  }
  return out;
}

}  // namespace abusewatch::testing::ref
