#include "detectors/dedup.h"

#include <xxhash.h>

#include <algorithm>

#include "detectors/timeutil.h"

namespace abusewatch {
namespace {
constexpr size_t kInitialCapacity = 1024;
}

DedupIndex::Hash DedupIndex::HashId(std::string_view id) {
  XXH128_hash_t h = XXH3_128bits(id.data(), id.size());
  return {h.high64, h.low64};
}

DedupIndex::DedupIndex() : slots_(kInitialCapacity), mask_(kInitialCapacity - 1) {}

int64_t DedupIndex::TimeOf(const Slot& s) {
  return kMinEventTimeMs + static_cast<int64_t>(s.b & kTsMask);
}

size_t DedupIndex::Find(const Slot& key) const {
  size_t i = Home(key) & mask_;
  while (slots_[i].a != 0 && !(slots_[i].a == key.a && (slots_[i].b & ~kTsMask) == key.b)) {
    i = (i + 1) & mask_;
  }
  return i;
}

bool DedupIndex::Seen(const Hash& h, int64_t floor) const {
  const Slot key = Key(h);
  const size_t i = Find(key);
  return slots_[i].a != 0 && TimeOf(slots_[i]) >= floor;
}

bool DedupIndex::InsertIfNew(const Hash& h, int64_t ts, int64_t floor) {
  const Slot key = Key(h);
  size_t i = Find(key);
  Slot& s = slots_[i];
  const uint64_t packed_ts = static_cast<uint64_t>(ts - kMinEventTimeMs) & kTsMask;
  if (s.a != 0) {
    if (TimeOf(s) >= floor) return false;
    s.b = key.b | packed_ts;  // seen before the horizon: a new event
  } else {
    s.a = key.a;
    s.b = key.b | packed_ts;
    ++size_;
  }
  oldest_ = std::min(oldest_, ts);
  floor_ = std::max(floor_, floor);
  ++inserts_since_sweep_;
  if (journal_on_) journal_.push_back(s);
  if (size_ * 10 > slots_.size() * 7) {
    // Full: first drop what has expired (if anything can have); grow only if that does not
    // free enough.
    if (oldest_ < floor_) Sweep(floor_);
    if (size_ * 10 > slots_.size() * 5) Rebuild(slots_.size() * 2, floor_);
  }
  return true;
}

void DedupIndex::Evict(int64_t floor) {
  floor_ = std::max(floor_, floor);
  // Sweeping costs O(capacity): do it when something has expired and the table has taken
  // half its size in new entries since the last sweep (amortized O(1) per insert).
  if (oldest_ < floor_ && inserts_since_sweep_ >= std::max<size_t>(size_ / 2, 1024)) {
    Sweep(floor_);
  }
}

void DedupIndex::Sweep(int64_t floor) {
  // In place, so a sweep touches no new memory (a fresh table of hundreds of MiB costs a page
  // fault and a kernel page clear per page). Linear probing allows it when the slots are
  // visited in order starting after an empty slot (one exists: load <= 0.7): no cluster then
  // wraps past the start, every entry's home comes before it in visiting order, and taking
  // each entry out and putting it back at the first free slot from its home moves it only
  // backwards, into slots earlier entries left or that were free. Slots before an entry's new
  // place stay occupied for the rest of the pass (later steps only empty the slot they visit),
  // so every entry is found again.
  size_t start = 0;
  while (slots_[start].a != 0) ++start;
  size_ = 0;
  oldest_ = INT64_MAX;
  for (size_t n = 1; n < slots_.size(); ++n) {
    const size_t i = (start + n) & mask_;
    if (slots_[i].a == 0) continue;
    const Slot s = slots_[i];
    slots_[i] = Slot{};
    PutBackIfLive(s, floor);
  }
  inserts_since_sweep_ = 0;
}

void DedupIndex::PutBackIfLive(const Slot& s, int64_t floor) {
  const int64_t t = TimeOf(s);
  if (t < floor) return;
  slots_[Find(Slot{s.a, s.b & ~kTsMask})] = s;
  ++size_;
  oldest_ = std::min(oldest_, t);
}

void DedupIndex::Rebuild(size_t capacity, int64_t floor) {
  std::vector<Slot, HugePageAllocator<Slot>> old(capacity);
  old.swap(slots_);
  mask_ = capacity - 1;
  size_ = 0;
  oldest_ = INT64_MAX;
  for (const Slot& s : old) {
    if (s.a != 0) PutBackIfLive(s, floor);
  }
  inserts_since_sweep_ = 0;
}

namespace {

void SaveSlots(uint64_t n, StateEncoder* out) { out->Varint(n); }

}  // namespace

void DedupIndex::SaveJournal(StateEncoder* out, int64_t* max_ts) {
  *max_ts = INT64_MIN;
  SaveSlots(journal_.size(), out);
  for (const Slot& s : journal_) {
    out->Fixed64(s.a);
    out->Fixed64(s.b);
    *max_ts = std::max(*max_ts, TimeOf(s));
  }
  journal_.clear();
}

void DedupIndex::SaveAll(StateEncoder* out, int64_t* max_ts) {
  *max_ts = INT64_MIN;
  uint64_t n = 0;
  for (const Slot& s : slots_) n += s.a != 0 && TimeOf(s) >= floor_;
  SaveSlots(n, out);
  for (const Slot& s : slots_) {
    if (s.a == 0 || TimeOf(s) < floor_) continue;
    out->Fixed64(s.a);
    out->Fixed64(s.b);
    *max_ts = std::max(*max_ts, TimeOf(s));
  }
  journal_.clear();
}

void DedupIndex::Reserve(uint64_t n) {
  size_t capacity = slots_.size();
  while (n * 10 > capacity * 5) capacity *= 2;
  if (capacity != slots_.size()) Rebuild(capacity, INT64_MIN);
}

void DedupIndex::Load(StateDecoder* in) {
  // n is bounded by the record's bytes (16 per entry), so reserving for it is safe even when
  // the record turns out to be malformed further on.
  const uint64_t n = in->Count(16);
  if (in->ok()) Reserve(size_ + n);
  for (uint64_t i = 0; i < n && in->ok(); ++i) {
    Slot e;
    e.a = in->Fixed64();
    e.b = in->Fixed64();
    if (!in->ok() || e.a == 0) {
      in->Fail();
      return;
    }
    const Slot key{e.a, e.b & ~kTsMask};
    Slot& s = slots_[Find(key)];
    if (s.a == 0) {
      s = e;
      ++size_;
    } else if (TimeOf(e) > TimeOf(s)) {
      s.b = e.b;
    }
    oldest_ = std::min(oldest_, TimeOf(e));  // no growth check: Reserve made room for all n
  }
}

}  // namespace abusewatch
