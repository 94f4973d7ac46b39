#include "daemon/review/evidence_buffer.h"

namespace abusewatch {

bool EvidenceBuffer::Insert(std::string_view id, std::string_view payload) {
  const size_t cost = id.size() * 2 + payload.size() + kEntryOverhead;
  if (cost > max_bytes_ || id.empty()) return false;
  if (map_.find(std::string(id)) != map_.end()) return false;
  EvictFor(cost);
  const uint64_t seq = next_seq_++;
  order_.push_back(Order{seq, std::string(id)});
  map_.emplace(std::string(id), Held{std::string(payload), seq});
  bytes_ += cost;
  return true;
}

void EvidenceBuffer::Erase(std::string_view id) {
  auto it = map_.find(std::string(id));
  if (it == map_.end()) return;
  // The id stays accounted in order_ (id.size() + overhead) until it is popped.
  bytes_ -= it->first.size() + it->second.payload.size();
  map_.erase(it);
}

const std::string* EvidenceBuffer::Find(std::string_view id) const {
  auto it = map_.find(std::string(id));
  return it == map_.end() ? nullptr : &it->second.payload;
}

void EvidenceBuffer::EvictFor(size_t need) {
  while (!order_.empty() && bytes_ + need > max_bytes_) {
    Order& front = order_.front();
    auto it = map_.find(front.id);
    if (it != map_.end() && it->second.seq == front.seq) {
      bytes_ -= it->first.size() + it->second.payload.size();
      map_.erase(it);
      ++evicted_;
    }
    bytes_ -= front.id.size() + kEntryOverhead;
    order_.pop_front();
  }
}

namespace {

void SkipSpace(std::string_view s, size_t* i) {
  while (*i < s.size() && (s[*i] == ' ' || s[*i] == '\t' || s[*i] == '\r' || s[*i] == '\n')) ++*i;
}

// At a '"': moves past the closing quote. *escaped: the string had a backslash.
bool SkipString(std::string_view s, size_t* i, bool* escaped) {
  *escaped = false;
  for (++*i; *i < s.size(); ++*i) {
    if (s[*i] == '\\') {
      *escaped = true;
      ++*i;
    } else if (s[*i] == '"') {
      ++*i;
      return true;
    }
  }
  return false;
}

// Skips one value (scalar, string, object or array).
bool SkipValue(std::string_view s, size_t* i) {
  bool escaped;
  if (*i >= s.size()) return false;
  if (s[*i] == '"') return SkipString(s, i, &escaped);
  if (s[*i] == '{' || s[*i] == '[') {
    int depth = 0;
    while (*i < s.size()) {
      const char c = s[*i];
      if (c == '"') {
        if (!SkipString(s, i, &escaped)) return false;
        continue;
      }
      if (c == '{' || c == '[') ++depth;
      if (c == '}' || c == ']') --depth;
      ++*i;
      if (depth == 0) return true;
    }
    return false;
  }
  while (*i < s.size() && s[*i] != ',' && s[*i] != '}' && s[*i] != ']') ++*i;
  return true;
}

}  // namespace

bool ExtractEventId(std::string_view s, std::string_view* id) {
  size_t i = 0;
  SkipSpace(s, &i);
  if (i >= s.size() || s[i] != '{') return false;
  ++i;
  while (true) {
    SkipSpace(s, &i);
    if (i >= s.size() || s[i] != '"') return false;
    const size_t key_start = i + 1;
    bool escaped;
    if (!SkipString(s, &i, &escaped)) return false;
    const std::string_view key = s.substr(key_start, i - 1 - key_start);
    SkipSpace(s, &i);
    if (i >= s.size() || s[i] != ':') return false;
    ++i;
    SkipSpace(s, &i);
    if (key == "id" && !escaped) {
      if (i >= s.size() || s[i] != '"') return false;
      const size_t start = i + 1;
      if (!SkipString(s, &i, &escaped) || escaped) return false;
      *id = s.substr(start, i - 1 - start);
      return true;
    }
    if (!SkipValue(s, &i)) return false;
    SkipSpace(s, &i);
    if (i >= s.size() || s[i] != ',') return false;
    ++i;
  }
}

}  // namespace abusewatch
