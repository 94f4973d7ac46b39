// KeyTable interns group keys (account ids, subjects, ...) to dense uint32_t ids shared by all
// detectors, so a key is hashed once per event and stored once however many rules hold state
// for it. Entries are reference-counted: each detector state holding a key owns one reference.
// Released entries are reclaimed only by Collect(), called by the engine between steps, so an
// id stays valid for the whole step in which its last reference went away.
// Not thread-safe.
#ifndef ABUSEWATCH_DETECTORS_KEY_TABLE_H_
#define ABUSEWATCH_DETECTORS_KEY_TABLE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "absl/strings/string_view.h"
#include "detectors/huge_page_allocator.h"

namespace abusewatch {

// absl containers' heterogeneous lookup takes absl::string_view (not std's in this build).
inline absl::string_view AsAbsl(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

class KeyTable {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;

  KeyTable() : index_(0, IdHash{this}, IdEq{this}) {}
  KeyTable(const KeyTable&) = delete;  // the index refers to this table
  KeyTable& operator=(const KeyTable&) = delete;

  // Id of `key`, or kNone. Does not add a reference.
  uint32_t Find(std::string_view key) const {
    auto it = index_.find(AsAbsl(key));
    return it == index_.end() ? kNone : *it;
  }
  // Hints that `key` will be looked up soon (its index slot is fetched into the cache).
  void Prefetch(std::string_view key) const { index_.prefetch(AsAbsl(key)); }
  // The second step, once Prefetch(key) has had time: reads the index slots `key` hashes to
  // and fetches the entries they name (the key's string lives there: a lookup compares it).
  // A lookup that never matches (EntryProbe), so nothing else happens.
  void PrefetchEntry(std::string_view key) const { index_.find(EntryProbe{AsAbsl(key)}); }
  // Id of `key`, creating it if needed, and adds one reference.
  uint32_t Acquire(std::string_view key);
  void Ref(uint32_t id) { ++entries_[id].refs; }
  // Drops one reference; the entry is reclaimed at the next Collect() if none remain.
  void Release(uint32_t id);
  void Collect();

  std::string_view Get(uint32_t id) const { return entries_[id].key; }
  // XXH3-64 of the key string: the same in every process (unlike the index's hash).
  uint64_t hash(uint32_t id) const { return entries_[id].hash; }
  size_t size() const { return index_.size(); }

  // Change tracking for checkpoints (off until enabled). MarkDirty() notes that the state of
  // `id` may have changed; TakeChanges() hands out the dirty live ids (each once) and the keys
  // reclaimed since the last call that had been marked persisted, and resets the dirty marks.
  void EnableTracking() { tracking_ = true; }
  bool tracking() const { return tracking_; }
  void MarkDirty(uint32_t id) {
    if (tracking_ && !entries_[id].dirty) {
      entries_[id].dirty = true;
      dirty_.push_back(id);
    }
  }
  void MarkPersisted(uint32_t id, bool persisted) { entries_[id].persisted = persisted; }
  bool persisted(uint32_t id) const { return entries_[id].persisted; }
  // Whether `id` names a key alive now (between steps: referenced by some state).
  bool Live(uint32_t id) const { return id < entries_.size() && entries_[id].refs > 0; }
  void TakeChanges(std::vector<uint32_t>* dirty, std::vector<std::string>* removed);
  // Cold keys (Engine "Bounded memory"): `touched` is when the key was last used (a step
  // counter); a cold entry holds only an anchor reference for timers, its state is in the store.
  void Touch(uint32_t id, uint64_t now) { entries_[id].touched = now; }
  uint64_t touched(uint32_t id) const { return entries_[id].touched; }
  bool cold(uint32_t id) const { return entries_[id].cold; }
  void SetCold(uint32_t id, bool cold) { entries_[id].cold = cold; }
  bool dirty(uint32_t id) const { return entries_[id].dirty; }
  // Has the next TakeChanges() report `key` as removed (a stored record to delete).
  void AddRemoved(std::string key) { removed_.insert(std::move(key)); }
  // Whether `key` is reported as removed by the next TakeChanges().
  bool IsRemoved(std::string_view key) const { return removed_.contains(AsAbsl(key)); }
  // Calls fn(id) for every live key.
  template <typename Fn>
  void ForEachLive(Fn fn) const {
    for (uint32_t id : index_) fn(id);
  }

 private:
  struct Entry {
    std::string key;
    uint32_t refs = 0;
    bool dirty = false;
    bool persisted = false;  // a checkpoint wrote a record for it
    bool cold = false;
    uint64_t touched = 0;
    uint64_t hash = 0;
  };
  // The index holds ids only (4 bytes a key); hashing and comparing go through the entries'
  // strings, and lookups by string are heterogeneous. So each key string is stored once.
  struct EntryProbe {  // PrefetchEntry's lookup key: equal to nothing, prefetches candidates
    absl::string_view s;
  };
  struct IdHash {
    using is_transparent = void;
    const KeyTable* t;
    size_t operator()(uint32_t id) const { return (*this)(AsAbsl(t->entries_[id].key)); }
    size_t operator()(absl::string_view s) const { return absl::Hash<absl::string_view>()(s); }
    size_t operator()(const EntryProbe& p) const { return (*this)(p.s); }
  };
  struct IdEq {
    using is_transparent = void;
    const KeyTable* t;
    absl::string_view S(uint32_t id) const { return AsAbsl(t->entries_[id].key); }
    static absl::string_view S(absl::string_view s) { return s; }
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      return S(a) == S(b);
    }
    bool operator()(uint32_t id, const EntryProbe&) const { return Touch(id); }
    bool operator()(const EntryProbe&, uint32_t id) const { return Touch(id); }
    bool Touch(uint32_t id) const {
      __builtin_prefetch(&t->entries_[id]);
      return false;
    }
  };
  absl::flat_hash_set<uint32_t, IdHash, IdEq, HugePageAllocator<uint32_t>> index_;
  std::vector<Entry> entries_;
  std::vector<uint32_t> free_;
  std::vector<uint32_t> released_;
  bool tracking_ = false;
  std::vector<uint32_t> dirty_;
  absl::flat_hash_set<std::string> removed_;
};

}  // namespace abusewatch

#endif  // ABUSEWATCH_DETECTORS_KEY_TABLE_H_
