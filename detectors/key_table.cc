#include "detectors/key_table.h"

#include <xxhash.h>

namespace abusewatch {

uint32_t KeyTable::Acquire(std::string_view key) {
  auto it = index_.find(AsAbsl(key));
  if (it != index_.end()) {
    ++entries_[*it].refs;
    return *it;
  }
  uint32_t id;
  if (!free_.empty()) {
    id = free_.back();
    free_.pop_back();
  } else {
    id = static_cast<uint32_t>(entries_.size());
    entries_.emplace_back();
  }
  entries_[id].key.assign(key);
  entries_[id].refs = 1;
  entries_[id].hash = XXH3_64bits(key.data(), key.size());
  index_.insert(id);
  return id;
}

void KeyTable::Release(uint32_t id) {
  if (--entries_[id].refs == 0) released_.push_back(id);
}

void KeyTable::TakeChanges(std::vector<uint32_t>* dirty, std::vector<std::string>* removed) {
  dirty->clear();
  for (uint32_t id : dirty_) {
    if (!entries_[id].dirty) continue;  // reclaimed since (and maybe reused, marked again)
    entries_[id].dirty = false;
    dirty->push_back(id);
  }
  dirty_.clear();
  removed->assign(removed_.begin(), removed_.end());
  removed_.clear();
}

void KeyTable::Collect() {
  for (uint32_t id : released_) {
    Entry& e = entries_[id];
    if (e.refs != 0) continue;
    auto it = index_.find(AsAbsl(e.key));
    if (it == index_.end() || *it != id) continue;
    index_.erase(it);
    if (e.persisted) removed_.insert(std::move(e.key));
    e.key.clear();
    e.key.shrink_to_fit();
    e.dirty = false;
    e.persisted = false;
    e.cold = false;
    free_.push_back(id);
  }
  released_.clear();
}

}  // namespace abusewatch
