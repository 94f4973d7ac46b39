// A small, strict RFC 8259 reader used as an independent oracle by the robustness tests:
// decides whether a record is exactly one JSON object and extracts its top-level members.
// Slow and simple on purpose; never used by the engine.
#ifndef ABUSEWATCH_TESTS_DETECTORS_STRICT_JSON_H_
#define ABUSEWATCH_TESTS_DETECTORS_STRICT_JSON_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace abusewatch {
namespace testing_util {

struct JsonMember {
  char kind = 0;     // 's' string, 'n' number, 'b' bool, 'z' null, 'a' array, 'o' object
  std::string text;  // string: decoded UTF-8; number: the token; bool: "true"/"false"
  std::vector<std::string> strings;  // array: its string elements
  bool all_strings = true;           // array: every element is a string
};

struct JsonObject {
  std::map<std::string, JsonMember> members;  // top level; the last duplicate wins
  std::set<std::string> duplicate_keys;       // top-level keys seen more than once
  bool uncertain = false;  // a lone surrogate escape or very deep nesting: values not compared
};

class StrictJson {
 public:
  // True iff `s` is one JSON object with optional surrounding whitespace.
  static bool ParseObject(std::string_view s, JsonObject* out) {
    StrictJson p(s, out);
    p.Ws();
    if (p.Peek() != '{' || !p.Object(0, true)) return false;
    p.Ws();
    return p.pos_ == s.size();
  }

 private:
  StrictJson(std::string_view s, JsonObject* out) : s_(s), out_(out) {}

  int Peek() const { return pos_ < s_.size() ? static_cast<unsigned char>(s_[pos_]) : -1; }
  void Ws() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) {
      ++pos_;
    }
  }
  bool Lit(std::string_view w) {
    if (s_.substr(pos_, w.size()) != w) return false;
    pos_ += w.size();
    return true;
  }

  bool Object(int depth, bool top) {
    if (depth > 500) return Deep();
    ++pos_;  // '{'
    Ws();
    if (Peek() == '}') return ++pos_, true;
    for (;;) {
      std::string key;
      if (Peek() != '"' || !String(&key)) return false;
      Ws();
      if (Peek() != ':') return false;
      ++pos_;
      Ws();
      JsonMember m;
      if (!Value(depth + 1, &m)) return false;
      if (top) {
        if (out_->members.count(key)) out_->duplicate_keys.insert(key);
        out_->members[key] = m;
      }
      Ws();
      if (Peek() == ',') {
        ++pos_;
        Ws();
        continue;
      }
      if (Peek() != '}') return false;
      ++pos_;
      return true;
    }
  }

  bool Array(int depth, JsonMember* m) {
    if (depth > 500) return Deep();
    ++pos_;  // '['
    Ws();
    if (Peek() == ']') return ++pos_, true;
    for (;;) {
      JsonMember el;
      if (!Value(depth + 1, &el)) return false;
      if (el.kind == 's') {
        m->strings.push_back(el.text);
      } else {
        m->all_strings = false;
      }
      Ws();
      if (Peek() == ',') {
        ++pos_;
        Ws();
        continue;
      }
      if (Peek() != ']') return false;
      ++pos_;
      return true;
    }
  }

  // Beyond our depth limit: give up on judging (callers treat the record as uncertain).
  bool Deep() {
    out_->uncertain = true;
    return false;
  }

  bool Value(int depth, JsonMember* m) {
    switch (Peek()) {
      case '{':
        m->kind = 'o';
        return Object(depth, false);
      case '[':
        m->kind = 'a';
        return Array(depth, m);
      case '"':
        m->kind = 's';
        return String(&m->text);
      case 't':
        m->kind = 'b';
        m->text = "true";
        return Lit("true");
      case 'f':
        m->kind = 'b';
        m->text = "false";
        return Lit("false");
      case 'n':
        m->kind = 'z';
        return Lit("null");
      default:
        m->kind = 'n';
        return Number(&m->text);
    }
  }

  bool Digits() {
    size_t start = pos_;
    while (Peek() >= '0' && Peek() <= '9') ++pos_;
    return pos_ > start;
  }

  bool Number(std::string* token) {
    size_t start = pos_;
    if (Peek() == '-') ++pos_;
    if (Peek() == '0') {
      ++pos_;
    } else if (!Digits()) {
      return false;
    }
    if (Peek() == '.') {
      ++pos_;
      if (!Digits()) return false;
    }
    if (Peek() == 'e' || Peek() == 'E') {
      ++pos_;
      if (Peek() == '+' || Peek() == '-') ++pos_;
      if (!Digits()) return false;
    }
    *token = std::string(s_.substr(start, pos_ - start));
    return true;
  }

  static void PutUtf8(uint32_t cp, std::string* out) {
    if (cp < 0x80) {
      out->push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out->push_back(static_cast<char>(0xc0 | (cp >> 6)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
      out->push_back(static_cast<char>(0xe0 | (cp >> 12)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else {
      out->push_back(static_cast<char>(0xf0 | (cp >> 18)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    }
  }

  bool Hex4(uint32_t* v) {
    *v = 0;
    for (int i = 0; i < 4; ++i) {
      int c = Peek();
      int d = (c >= '0' && c <= '9')   ? c - '0'
              : (c >= 'a' && c <= 'f') ? c - 'a' + 10
              : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                       : -1;
      if (d < 0) return false;
      *v = *v * 16 + static_cast<uint32_t>(d);
      ++pos_;
    }
    return true;
  }

  // One UTF-8 sequence (RFC 3629: no overlongs, no surrogates, at most U+10FFFF).
  bool Utf8(std::string* out) {
    auto b = [&](size_t i) { return static_cast<unsigned char>(s_[pos_ + i]); };
    unsigned char c = b(0);
    size_t n;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c < 0x80) {
      n = 1;
    } else if (c >= 0xc2 && c <= 0xdf) {
      n = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 3;
      if (c == 0xe0) lo = 0xa0;
      if (c == 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 4;
      if (c == 0xf0) lo = 0x90;
      if (c == 0xf4) hi = 0x8f;
    } else {
      return false;
    }
    if (pos_ + n > s_.size()) return false;
    for (size_t i = 1; i < n; ++i) {
      unsigned char lim_lo = i == 1 ? lo : 0x80, lim_hi = i == 1 ? hi : 0xbf;
      if (b(i) < lim_lo || b(i) > lim_hi) return false;
    }
    out->append(s_.substr(pos_, n));
    pos_ += n;
    return true;
  }

  bool String(std::string* out) {
    ++pos_;  // '"'
    for (;;) {
      int c = Peek();
      if (c < 0) return false;
      if (c == '"') return ++pos_, true;
      if (c < 0x20) return false;
      if (c != '\\') {
        if (!Utf8(out)) return false;
        continue;
      }
      ++pos_;
      c = Peek();
      ++pos_;
      switch (c) {
        case '"':
          out->push_back('"');
          break;
        case '\\':
          out->push_back('\\');
          break;
        case '/':
          out->push_back('/');
          break;
        case 'b':
          out->push_back('\b');
          break;
        case 'f':
          out->push_back('\f');
          break;
        case 'n':
          out->push_back('\n');
          break;
        case 'r':
          out->push_back('\r');
          break;
        case 't':
          out->push_back('\t');
          break;
        case 'u': {
          uint32_t cp;
          if (!Hex4(&cp)) return false;
          if (cp >= 0xd800 && cp <= 0xdbff && s_.substr(pos_, 2) == "\\u") {
            size_t save = pos_;
            pos_ += 2;
            uint32_t lo;
            if (!Hex4(&lo)) return false;
            if (lo >= 0xdc00 && lo <= 0xdfff) {
              PutUtf8(0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00), out);
              break;
            }
            pos_ = save;
          }
          if (cp >= 0xd800 && cp <= 0xdfff) out_->uncertain = true;  // lone surrogate
          PutUtf8(cp, out);
          break;
        }
        default:
          return false;
      }
    }
  }

  std::string_view s_;
  JsonObject* out_;
  size_t pos_ = 0;
};

}  // namespace testing_util
}  // namespace abusewatch

#endif  // ABUSEWATCH_TESTS_DETECTORS_STRICT_JSON_H_
