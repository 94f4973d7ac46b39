// Internal helpers of the config loader: positions, errors and strict readers over yaml-cpp
// nodes. Not part of the public API; include config/config_loader.h instead.
//
// Every reader returns Status::InvalidArgument with a message that starts with
// "file:line:col: " (1-based) and never throws. Readers only use yaml-cpp calls that do not
// throw (Type, Mark, Scalar, iteration).
#ifndef ABUSEWATCH_CONFIG_YAML_UTIL_H_
#define ABUSEWATCH_CONFIG_YAML_UTIL_H_

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "detectors/decimal.h"
#include "detectors/rule_spec.h"
#include "detectors/status.h"

namespace abusewatch::config_internal {

// Position of a node (yaml-cpp marks are 0-based; SourcePos is 1-based). A node without a mark
// (line < 0) gets `fallback`.
SourcePos PosOf(const std::string& file, const YAML::Mark& mark);
SourcePos PosOf(const std::string& file, const YAML::Node& node, const SourcePos& fallback);

// "file:line:col".
std::string PosText(const SourcePos& pos);

// InvalidArgument("file:line:col: msg").
Status ErrorAt(const SourcePos& pos, std::string_view msg);

// `"text"` with control characters and quotes escaped, cut after 60 bytes.
std::string Quote(std::string_view text);

// "a, b, c".
std::string JoinNames(const std::vector<std::string_view>& names);

// Human name of a node's type ("a string", "a list", "a mapping", "empty").
std::string_view NodeKindName(const YAML::Node& node);

// One key/value pair of a mapping.
struct Entry {
  std::string key;
  SourcePos key_pos;
  SourcePos value_pos;  // the value's position, or the key's when the value is empty
  YAML::Node value;
};

// A mapping checked for string keys without duplicates, in document order.
class MapView {
 public:
  // Fails unless `node` is a mapping whose keys are distinct scalars. `what` names the mapping
  // in messages ("rule \"x\"", "the top level").
  static Status Make(const std::string& file, const YAML::Node& node, const SourcePos& pos,
                     std::string_view what, MapView* out);

  // Fails at the first key not in `allowed`, listing the allowed keys.
  Status CheckAllowed(const std::vector<std::string_view>& allowed) const;
  // Fails when `key` is absent: "missing required key ...".
  Status Require(std::string_view key, std::string_view hint) const;

  const Entry* Find(std::string_view key) const;
  const std::vector<Entry>& entries() const { return entries_; }
  const SourcePos& pos() const { return pos_; }
  const std::string& what() const { return what_; }
  const std::string& file() const { return file_; }
  void set_what(std::string_view what) { what_ = std::string(what); }

 private:
  std::string file_;
  std::string what_;
  SourcePos pos_;
  std::vector<Entry> entries_;
};

// Scalar readers. `what` names the value in messages ("window of rule \"x\"").
Status ReadString(const Entry& e, std::string_view what, std::string* out);
Status ReadBool(const Entry& e, std::string_view what, bool* out);
// `<integer><unit>`, unit in ms s m h d; `min_ms` is the smallest allowed value.
Status ReadDuration(const Entry& e, std::string_view what, int64_t min_ms, int64_t* out);
// Decimal text read exactly from the scalar (a YAML string or number, never via double).
Status ReadDecimalNode(const YAML::Node& node, const SourcePos& pos, std::string_view what,
                       const DecimalLimits& limits, Decimal* out);
Status ReadDecimal(const Entry& e, std::string_view what, const DecimalLimits& limits,
                   Decimal* out);
// Non-negative integer in [min, max].
Status ReadInteger(const Entry& e, std::string_view what, int64_t min, int64_t max, int64_t* out);
// A scalar string, or a non-empty list of scalar strings, each with its position.
Status ReadStringList(const YAML::Node& node, const SourcePos& pos, std::string_view what,
                      bool allow_single, std::vector<std::string>* out,
                      std::vector<SourcePos>* positions);

// Parses the first YAML document of `text` into `root` (a Null node when the text has none) and
// rejects anything after it, reporting syntax errors at their position. YAML::LoadAll is not
// used: in yaml-cpp 0.7 it loops forever, allocating, on some malformed input (e.g. a stray ","
// after an indented mapping; fixed upstream in jbeder/yaml-cpp#1319).
Status ParseYamlDocument(std::string_view text, const std::string& display, YAML::Node* root);

bool IsZero(const Decimal& d);

}  // namespace abusewatch::config_internal

#endif  // ABUSEWATCH_CONFIG_YAML_UTIL_H_
