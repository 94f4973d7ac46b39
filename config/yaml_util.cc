#include "config/yaml_util.h"

#include <yaml-cpp/eventhandler.h>

#include <sstream>
#include <string>

#include "detectors/timeutil.h"
#include "detectors/utf8.h"

namespace abusewatch::config_internal {

SourcePos PosOf(const std::string& file, const YAML::Mark& mark) {
  SourcePos p;
  p.file = file;
  if (mark.line >= 0 && mark.column >= 0) {
    p.line = mark.line + 1;
    p.column = mark.column + 1;
  } else {
    p.line = 1;
    p.column = 1;
  }
  return p;
}

SourcePos PosOf(const std::string& file, const YAML::Node& node, const SourcePos& fallback) {
  // yaml-cpp gives an empty value ("key:" with nothing after it) the mark of the next token,
  // which would point at the wrong line; use the fallback (the key) for empty values.
  if (!node.IsDefined() || node.IsNull() || node.Mark().line < 0) return fallback;
  return PosOf(file, node.Mark());
}

std::string PosText(const SourcePos& pos) {
  return pos.file + ":" + std::to_string(pos.line) + ":" + std::to_string(pos.column);
}

Status ErrorAt(const SourcePos& pos, std::string_view msg) {
  std::string text = PosText(pos);
  text += ": ";
  text += msg;
  return Status::InvalidArgument(text);
}

namespace {

void AppendHexEscape(unsigned char u, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  *out += "\\x";
  *out += kHex[u >> 4];
  *out += kHex[u & 15];
}

}  // namespace

std::string Quote(std::string_view text) {
  constexpr size_t kMaxBytes = 60;
  std::string out = "\"";
  size_t i = 0;
  while (i < text.size() && i < kMaxBytes) {
    char c = text[i];
    unsigned char u = static_cast<unsigned char>(c);
    size_t n = Utf8SequenceLength(text, i);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (n == 0 || u < 0x20 || u == 0x7f) {
      AppendHexEscape(u, &out);  // control character or invalid UTF-8
    } else {
      out.append(text.substr(i, n));
      i += n;
      continue;
    }
    ++i;
  }
  out += i < text.size() ? "...\"" : "\"";
  return out;
}

std::string JoinNames(const std::vector<std::string_view>& names) {
  std::string out;
  for (std::string_view n : names) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

std::string_view NodeKindName(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Scalar:
      return "a scalar";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    default:
      return "an empty value";
  }
}

Status MapView::Make(const std::string& file, const YAML::Node& node, const SourcePos& pos,
                     std::string_view what, MapView* out) {
  out->file_ = file;
  out->what_ = std::string(what);
  out->pos_ = PosOf(file, node, pos);
  out->entries_.clear();
  if (!node.IsMap()) {
    return ErrorAt(out->pos_, std::string(what) + " must be a mapping (key: value), got " +
                                  std::string(NodeKindName(node)));
  }
  for (auto it = node.begin(); it != node.end(); ++it) {
    // Copies: the iterator's value is a temporary proxy.
    YAML::Node k = it->first;
    YAML::Node v = it->second;
    SourcePos key_pos = PosOf(file, k, out->pos_);
    if (!k.IsScalar()) {
      return ErrorAt(key_pos, "keys of " + std::string(what) + " must be plain names, got " +
                                  std::string(NodeKindName(k)));
    }
    for (const Entry& prev : out->entries_) {
      if (prev.key == k.Scalar()) {
        return ErrorAt(key_pos, "duplicate key " + Quote(prev.key) + " in " + std::string(what) +
                                    " (first given at " + PosText(prev.key_pos) + ")");
      }
    }
    Entry e;
    e.key = k.Scalar();
    e.key_pos = key_pos;
    e.value = v;
    e.value_pos = PosOf(file, v, key_pos);
    out->entries_.push_back(std::move(e));
  }
  return Status::Ok();
}

Status MapView::CheckAllowed(const std::vector<std::string_view>& allowed) const {
  for (const Entry& e : entries_) {
    bool ok = false;
    for (std::string_view a : allowed) ok = ok || a == e.key;
    if (!ok) {
      return ErrorAt(e.key_pos, "unknown key " + Quote(e.key) + " in " + what_ +
                                    " (allowed: " + JoinNames(allowed) + ")");
    }
  }
  return Status::Ok();
}

Status MapView::Require(std::string_view key, std::string_view hint) const {
  if (Find(key) != nullptr) return Status::Ok();
  std::string msg = "missing required key " + Quote(key) + " in " + what_;
  if (!hint.empty()) msg += " (" + std::string(hint) + ")";
  return ErrorAt(pos_, msg);
}

const Entry* MapView::Find(std::string_view key) const {
  for (const Entry& e : entries_) {
    if (e.key == key) return &e;
  }
  return nullptr;
}

namespace {

Status NeedScalar(const YAML::Node& node, const SourcePos& pos, std::string_view what,
                  std::string_view expected) {
  if (node.IsScalar()) return Status::Ok();
  return ErrorAt(pos, std::string(what) + " must be " + std::string(expected) + ", got " +
                          std::string(NodeKindName(node)));
}

}  // namespace

Status ReadString(const Entry& e, std::string_view what, std::string* out) {
  Status s = NeedScalar(e.value, e.value_pos, what, "a string");
  if (!s.ok()) return s;
  *out = e.value.Scalar();
  return Status::Ok();
}

Status ReadBool(const Entry& e, std::string_view what, bool* out) {
  Status s = NeedScalar(e.value, e.value_pos, what, "true or false");
  if (!s.ok()) return s;
  const std::string& t = e.value.Scalar();
  if (t == "true") {
    *out = true;
  } else if (t == "false") {
    *out = false;
  } else {
    return ErrorAt(e.value_pos, std::string(what) + " must be true or false, got " + Quote(t));
  }
  return Status::Ok();
}

Status ReadDuration(const Entry& e, std::string_view what, int64_t min_ms, int64_t* out) {
  Status s = NeedScalar(e.value, e.value_pos, what, "a duration such as 30s, 24h or 730d");
  if (!s.ok()) return s;
  const std::string& t = e.value.Scalar();
  int64_t ms = 0;
  if (!ParseDuration(t, &ms)) {
    return ErrorAt(e.value_pos, "bad duration " + Quote(t) + " for " + std::string(what) +
                                    ": expected <integer><unit> with unit ms, s, m, h or d "
                                    "(e.g. 30s, 24h, 730d)");
  }
  if (ms < min_ms) {
    return ErrorAt(e.value_pos, std::string(what) + " must be " +
                                    (min_ms <= 1 ? std::string("greater than 0")
                                                 : "at least " + FormatDuration(min_ms)) +
                                    ", got " + Quote(t));
  }
  *out = ms;
  return Status::Ok();
}

Status ReadDecimalNode(const YAML::Node& node, const SourcePos& pos, std::string_view what,
                       const DecimalLimits& limits, Decimal* out) {
  Status s = NeedScalar(node, pos, what, "a decimal such as \"200000.00\"");
  if (!s.ok()) return s;
  const std::string& t = node.Scalar();
  if (ParseDecimal(t, limits, out)) return Status::Ok();
  std::string why = !t.empty() && t[0] == '-' ? "negative numbers are not allowed"
                                              : "expected digits with an optional fraction";
  return ErrorAt(pos, "bad decimal " + Quote(t) + " for " + std::string(what) + ": " + why +
                          " (at most " + std::to_string(limits.max_int_digits) + " integer and " +
                          std::to_string(limits.max_scale) +
                          " fractional digits, no sign or exponent, e.g. \"200000.00\")");
}

Status ReadDecimal(const Entry& e, std::string_view what, const DecimalLimits& limits,
                   Decimal* out) {
  return ReadDecimalNode(e.value, e.value_pos, what, limits, out);
}

Status ReadInteger(const Entry& e, std::string_view what, int64_t min, int64_t max, int64_t* out) {
  Status s = NeedScalar(e.value, e.value_pos, what, "an integer");
  if (!s.ok()) return s;
  const std::string& t = e.value.Scalar();
  int64_t v = 0;
  bool ok = !t.empty() && t.size() <= 18;
  for (char c : t) {
    if (c < '0' || c > '9') {
      ok = false;
      break;
    }
    v = v * 10 + (c - '0');
  }
  if (!ok || v < min || v > max) {
    return ErrorAt(e.value_pos, std::string(what) + " must be an integer from " +
                                    std::to_string(min) + " to " + std::to_string(max) + ", got " +
                                    Quote(t));
  }
  *out = v;
  return Status::Ok();
}

Status ReadStringList(const YAML::Node& node, const SourcePos& pos, std::string_view what,
                      bool allow_single, std::vector<std::string>* out,
                      std::vector<SourcePos>* positions) {
  out->clear();
  if (positions != nullptr) positions->clear();
  if (allow_single && node.IsScalar()) {
    out->push_back(node.Scalar());
    if (positions != nullptr) positions->push_back(pos);
    return Status::Ok();
  }
  std::string expected = allow_single ? "a name or a list of names" : "a list of names";
  if (!node.IsSequence()) {
    return ErrorAt(pos, std::string(what) + " must be " + expected + ", got " +
                            std::string(NodeKindName(node)));
  }
  if (node.size() == 0) return ErrorAt(pos, std::string(what) + " must not be an empty list");
  for (auto it = node.begin(); it != node.end(); ++it) {
    SourcePos p = PosOf(pos.file, *it, pos);
    if (!it->IsScalar()) {
      return ErrorAt(p, "each entry of " + std::string(what) + " must be a name, got " +
                            std::string(NodeKindName(*it)));
    }
    out->push_back(it->Scalar());
    if (positions != nullptr) positions->push_back(p);
  }
  return Status::Ok();
}

namespace {

// Remembers the position of the first node of a document.
class FirstNodeMark : public YAML::EventHandler {
 public:
  YAML::Mark mark = YAML::Mark::null_mark();
  void OnDocumentStart(const YAML::Mark& m) override {
    if (!node_seen_) mark = m;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& m, YAML::anchor_t) override { Node(m); }
  void OnAlias(const YAML::Mark& m, YAML::anchor_t) override { Node(m); }
  void OnScalar(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                const std::string&) override {
    Node(m);
  }
  void OnSequenceStart(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    Node(m);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    Node(m);
  }
  void OnMapEnd() override {}

 private:
  void Node(const YAML::Mark& m) {
    if (!node_seen_) mark = m;
    node_seen_ = true;
  }
  bool node_seen_ = false;
};

}  // namespace

Status ParseYamlDocument(std::string_view text, const std::string& display, YAML::Node* root) {
  try {
    std::string copy(text);
    *root = YAML::Load(copy);
    std::istringstream in(copy);
    YAML::Parser parser(in);
    FirstNodeMark first, second;
    if (parser.HandleNextDocument(first) && parser.HandleNextDocument(second)) {
      return ErrorAt(PosOf(display, second.mark),
                     "unexpected content after the end of the YAML document (check the "
                     "indentation, a stray character, or a second document after ---)");
    }
  } catch (const YAML::Exception& e) {
    return ErrorAt(PosOf(display, e.mark), "YAML syntax error: " + e.msg);
  }
  return Status::Ok();
}

bool IsZero(const Decimal& d) { return d.mantissa == 0; }

}  // namespace abusewatch::config_internal
