// EvidenceBuffer: the raw payloads of recent accepted input records, by event id, so that a
// transition handed to the review store (review_sink.h) carries the raw events of its evidence
// ids. The engine keeps ids only; the daemon's loop fills this buffer from the records it offers.
//
// Bounded by bytes: every entry costs its id, its payload and kEntryOverhead bytes; when an
// insertion would go over the budget, the oldest entries are evicted first (FIFO by insertion).
// A payload that alone exceeds the budget is not kept. Ids evicted (or never kept) are recorded
// by the review store as ids without a payload.
//
// The first payload held for an id wins: a record repeating an id held already (a duplicate the
// engine rejects) does not replace it. Erase() removes an entry (a record the engine rejected).
//
// Thread safety: none; the daemon uses it from its loop thread only (insertion while offering
// records, lookups while the engine hands out transitions on the same thread).
#ifndef ABUSEWATCH_DAEMON_REVIEW_EVIDENCE_BUFFER_H_
#define ABUSEWATCH_DAEMON_REVIEW_EVIDENCE_BUFFER_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>

namespace abusewatch {

class EvidenceBuffer {
 public:
  static constexpr size_t kEntryOverhead = 64;

  explicit EvidenceBuffer(size_t max_bytes) : max_bytes_(max_bytes) {}

  // Keeps `payload` under `id` unless `id` is held already or the entry is larger than the
  // budget. Returns whether it was inserted.
  bool Insert(std::string_view id, std::string_view payload);
  // Removes the entry of `id`, if held.
  void Erase(std::string_view id);
  // The payload held for `id`, or null. Valid until the next Insert() or Erase().
  const std::string* Find(std::string_view id) const;

  size_t bytes() const { return bytes_; }      // accounted bytes now, <= max_bytes()
  size_t size() const { return map_.size(); }  // entries held
  size_t max_bytes() const { return max_bytes_; }
  uint64_t evicted() const { return evicted_; }  // entries evicted for room so far

 private:
  struct Held {
    std::string payload;
    uint64_t seq;
  };
  struct Order {
    uint64_t seq;
    std::string id;
  };
  void EvictFor(size_t need);

  size_t max_bytes_;
  size_t bytes_ = 0;
  uint64_t next_seq_ = 0;
  uint64_t evicted_ = 0;
  // Insertion order; an erased entry stays here (its id still accounted) until it reaches the
  // front, so the accounting bounds this queue too.
  std::deque<Order> order_;
  std::unordered_map<std::string, Held> map_;
};

// The value of the top-level "id" member of a JSON object `record` when it is a string without
// escapes (ids of spec/events.md are plain); false otherwise. Cheap: scans, does not build a
// document; nested objects, arrays and strings are skipped.
bool ExtractEventId(std::string_view record, std::string_view* id);

}  // namespace abusewatch

#endif  // ABUSEWATCH_DAEMON_REVIEW_EVIDENCE_BUFFER_H_
