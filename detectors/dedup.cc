#include "detectors/dedup.h"

#include <xxhash.h>

namespace abusewatch {

DedupIndex::Hash DedupIndex::HashId(std::string_view id) {
  XXH128_hash_t h = XXH3_128bits(id.data(), id.size());
  return {h.high64, h.low64};
}

bool DedupIndex::InsertIfNew(const Hash& h, int64_t ts, int64_t floor) {
  auto [it, fresh] = map_.try_emplace(h, ts);
  if (!fresh) {
    if (it->second >= floor) return false;
    it->second = ts;
  }
  fifo_.emplace_back(ts, h);
  return true;
}

void DedupIndex::Evict(int64_t floor) {
  // The FIFO is in arrival order, which is ts order up to the allowed lateness; an entry whose
  // time is still >= floor stops the sweep, and Seen() checks times exactly meanwhile.
  while (!fifo_.empty() && fifo_.front().first < floor) {
    auto it = map_.find(fifo_.front().second);
    if (it != map_.end() && it->second == fifo_.front().first) map_.erase(it);
    fifo_.pop_front();
  }
}

}  // namespace abusewatch
