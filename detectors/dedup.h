// DedupIndex: ids of accepted events within the dedup horizon (events.md `duplicate`).
//
// An id is kept as an 86-bit fingerprint of its XXH3-128 hash plus its event time, packed in
// 16 bytes in an open-addressing table (linear probing, power-of-two capacity, load <= 0.7).
// A false duplicate needs two ids whose 86-bit fingerprints collide: about n²/2^87, ~1e-10 for
// 10^8 ids in the horizon. An id counts as seen when an accepted event with it has
// ts >= floor (= largest accepted ts − horizon). Expired entries are dropped by in-place sweeps
// when the table would grow and when the floor has moved on; no per-id queue is kept.
// Prefetch() lets a caller overlap the table's cache miss with other work.
// Not thread-safe.
#ifndef ABUSEWATCH_DETECTORS_DEDUP_H_
#define ABUSEWATCH_DETECTORS_DEDUP_H_

#include <cstdint>
#include <string_view>
#include <vector>

#include "detectors/huge_page_allocator.h"
#include "detectors/state_codec.h"

namespace abusewatch {

class DedupIndex {
 public:
  struct Hash {
    uint64_t high = 0;
    uint64_t low = 0;
  };
  static Hash HashId(std::string_view id);

  DedupIndex();

  // False when `h` was accepted with ts >= floor (a duplicate: nothing changes); otherwise
  // records (h, ts) and returns true. `ts` must lie in the event-time range (2000–2100).
  bool InsertIfNew(const Hash& h, int64_t ts, int64_t floor);
  bool Seen(const Hash& h, int64_t floor) const;
  // Hints that `h` will be looked up soon.
  void Prefetch(const Hash& h) const { __builtin_prefetch(&slots_[Home(Key(h)) & mask_]); }
  // Lets the index drop entries older than `floor` (done lazily, in sweeps).
  void Evict(int64_t floor);
  size_t size() const { return size_; }

  // Checkpoints, incrementally. With the journal on, every insert is also appended to a
  // journal (16 bytes each) until SaveJournal() writes and clears it; SaveAll() writes every
  // entry. Load() adds what either wrote, keeping the later time of an id seen twice.
  void EnableJournal() { journal_on_ = true; }
  // Writes the journal (and empties it); *max_ts: the largest time in it (INT64_MIN if empty).
  void SaveJournal(StateEncoder* out, int64_t* max_ts);
  // Writes every entry with ts >= floor (and empties the journal); *max_ts as above.
  void SaveAll(StateEncoder* out, int64_t* max_ts);
  // Adds the entries SaveJournal()/SaveAll() wrote; fails `in` on malformed input. The table
  // is sized for the record's entry count first: one rebuild at most per record.
  void Load(StateDecoder* in);
  size_t capacity() const { return slots_.size(); }

 private:
  struct Slot {
    uint64_t a = 0;  // fingerprint high part; 0 = empty
    uint64_t b = 0;  // fingerprint low 22 bits << 42 | (ts − 2000-01-01) in ms
  };
  static constexpr int kTsBits = 42;
  static constexpr uint64_t kTsMask = (uint64_t{1} << kTsBits) - 1;

  static Slot Key(const Hash& h) {
    Slot s;
    s.a = h.high == 0 ? 1 : h.high;
    s.b = h.low & ~kTsMask;
    return s;
  }
  static size_t Home(const Slot& key) { return static_cast<size_t>(key.a ^ (key.a >> 29)); }
  static int64_t TimeOf(const Slot& s);
  size_t Find(const Slot& key) const;  // index of the key's slot or of the empty slot ending it
  // Into a new table of `capacity` slots (growing), keeping entries with ts >= floor.
  void Rebuild(size_t capacity, int64_t floor);
  // Grows the table (keeping every entry) until `n` entries fit at load <= 0.5.
  void Reserve(uint64_t n);
  // Drops entries with ts < floor in place (no allocation), O(capacity).
  void Sweep(int64_t floor);
  // Rebuild/Sweep step: puts `s` (not in the table) at its place unless ts < floor.
  void PutBackIfLive(const Slot& s, int64_t floor);

  std::vector<Slot, HugePageAllocator<Slot>> slots_;
  size_t mask_;
  size_t size_ = 0;
  int64_t floor_ = INT64_MIN;   // latest floor given to Evict / InsertIfNew
  int64_t oldest_ = INT64_MAX;  // smallest ts in the table (a lower bound)
  size_t inserts_since_sweep_ = 0;
  bool journal_on_ = false;
  std::vector<Slot> journal_;
};

}  // namespace abusewatch

#endif  // ABUSEWATCH_DETECTORS_DEDUP_H_
