// DedupIndex: ids of accepted events within the dedup horizon (events.md `duplicate`).
//
// Ids are kept as 128-bit XXH3 hashes (16 bytes) with the event time, not as strings; a false
// duplicate needs a 128-bit collision (~n²/2^129: negligible). An id counts as seen when an
// accepted event with it has ts >= floor (= largest accepted ts − horizon). Entries older
// than the floor are evicted as the floor advances. Not thread-safe.
#ifndef ABUSEWATCH_DETECTORS_DEDUP_H_
#define ABUSEWATCH_DETECTORS_DEDUP_H_

#include <cstdint>
#include <deque>
#include <string_view>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "detectors/huge_page_allocator.h"

namespace abusewatch {

class DedupIndex {
 public:
  using Hash = std::pair<uint64_t, uint64_t>;
  static Hash HashId(std::string_view id);

  bool Seen(const Hash& h, int64_t floor) const {
    auto it = map_.find(h);
    return it != map_.end() && it->second >= floor;
  }
  // One lookup: false when `h` was seen with ts >= floor (a duplicate; nothing changes),
  // otherwise records (h, ts) and returns true.
  bool InsertIfNew(const Hash& h, int64_t ts, int64_t floor);
  // Forgets ids whose latest ts is below `floor`.
  void Evict(int64_t floor);
  size_t size() const { return map_.size(); }

 private:
  // The keys are already uniformly distributed hashes: use their low half as is.
  struct PassThroughHash {
    size_t operator()(const Hash& h) const { return static_cast<size_t>(h.second); }
  };
  absl::flat_hash_map<Hash, int64_t, PassThroughHash, std::equal_to<Hash>,
                      HugePageAllocator<std::pair<const Hash, int64_t>>>
      map_;
  std::deque<std::pair<int64_t, Hash>> fifo_;  // arrival order (≈ ts order)
};

}  // namespace abusewatch

#endif  // ABUSEWATCH_DETECTORS_DEDUP_H_
