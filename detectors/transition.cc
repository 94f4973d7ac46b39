#include "detectors/transition.h"

#include <xxhash.h>

#include <cstdio>

#include "detectors/timeutil.h"
#include "detectors/utf8.h"

namespace abusewatch {
void AppendJsonString(std::string_view s, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(static_cast<char>(c));
      ++i;
    } else if (c < 0x20) {
      switch (c) {
        case '\n':
          out->append("\\n");
          break;
        case '\r':
          out->append("\\r");
          break;
        case '\t':
          out->append("\\t");
          break;
        default:
          out->append("\\u00");
          out->push_back(kHex[c >> 4]);
          out->push_back(kHex[c & 0xF]);
      }
      ++i;
    } else if (c < 0x80) {
      out->push_back(static_cast<char>(c));
      ++i;
    } else {
      size_t n = Utf8SequenceLength(s, i);
      if (n == 0) {
        out->append("\xEF\xBF\xBD");
        ++i;
      } else {
        out->append(s.substr(i, n));
        i += n;
      }
    }
  }
  out->push_back('"');
}

void AppendTransitionJson(const Transition& t, const RuleSet& rules, std::string* out) {
  const CompiledRule& r = rules.rules()[t.rule];
  out->append("{\"rule\":");
  AppendJsonString(r.spec.id, out);
  out->append(",\"key\":");
  AppendJsonString(t.key, out);
  out->append(t.firing ? ",\"state\":\"firing\",\"at\":\"" : ",\"state\":\"resolved\",\"at\":\"");
  char ts[24];
  FormatRfc3339UtcTo(t.at_ms, ts);
  out->append(ts, 24);
  out->append("\",\"value\":");
  if (t.has_value) {
    bool sum = r.spec.aggregate == Aggregate::kSum;
    if (sum) out->push_back('"');
    out->append(sum ? FormatScaled(t.value, 2) : FormatInt(t.value));
    out->append(sum ? "\",\"threshold\":\"" : ",\"threshold\":");
    out->append(sum ? FormatScaled(r.line, 2) : FormatInt(r.line));
    if (sum) out->push_back('"');
  } else {
    out->append("null,\"threshold\":null");
  }
  out->append(",\"severity\":\"");
  out->append(SeverityName(r.spec.severity));
  out->append("\",\"basis\":");
  AppendJsonString(r.spec.basis, out);
  out->append(",\"events\":[");
  for (size_t i = 0; i < t.events.size(); ++i) {
    if (i) out->push_back(',');
    AppendJsonString(t.events[i], out);
  }
  out->append("],\"id\":\"");
  out->append(TransitionId(t, rules));
  out->append("\"}");
}

std::string TransitionId(const Transition& t, const RuleSet& rules) {
  std::string text = rules.rules()[t.rule].spec.id;
  text.push_back('\0');
  text.append(t.key);
  text.push_back('\0');
  text.append(t.firing ? "firing" : "resolved");
  text.push_back('\0');
  text.append(std::to_string(t.at_ms));
  const XXH128_hash_t h = XXH3_128bits(text.data(), text.size());
  char buf[33];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(h.high64),
                static_cast<unsigned long long>(h.low64));
  return std::string(buf, 32);
}

std::string_view RuleKindName(RuleKind k) {
  switch (k) {
    case RuleKind::kThreshold:
      return "threshold";
    case RuleKind::kAbsence:
      return "absence";
    case RuleKind::kSequence:
      return "sequence";
    case RuleKind::kAllOf:
      return "all_of";
    case RuleKind::kAnyOf:
      return "any_of";
  }
  return "?";
}

std::string_view AggregateName(Aggregate a) {
  switch (a) {
    case Aggregate::kCount:
      return "count";
    case Aggregate::kSum:
      return "sum";
    case Aggregate::kDistinct:
      return "distinct";
  }
  return "?";
}

std::string_view SeverityName(Severity s) {
  switch (s) {
    case Severity::kInfo:
      return "info";
    case Severity::kWarning:
      return "warning";
    case Severity::kCritical:
      return "critical";
  }
  return "?";
}

}  // namespace abusewatch
