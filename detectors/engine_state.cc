// Engine checkpoints (engine.h "Durable state"): record formats, change tracking, restore.
//
// Key record (version 1): U8 version, then the detector states of the key
//   (count; detector index, state bytes) and the composite rules firing for it (count; index).
// Meta "engine" (version 2): U8 version, rule fingerprints (per detector, per rule), clocks,
//   lanes (positions not done yet, as runs), pending transitions, dedup and buffer chunk lists.
// Meta "dedup.<n>": the dedup ids inserted between two checkpoints (DedupIndex journal), or all
//   of them when the chunks are merged. Indices in the records are those of the rules that
//   wrote them; Restore() maps them to the current rules by fingerprint.
// Meta "buffer.<n>": the reorder buffer's events that arrived between two checkpoints and were
//   still buffered at the second (count; lane, seq, arrival, event), or all buffered events when
//   the chunks are merged. A chunk none of whose events is buffered any more is deleted; on
//   restore, the events of the live chunks with ts > the frontier are the buffer (every buffered
//   event has ts > F, every processed one ts <= F, except after Finish(), which empties the
//   buffer and so kills every chunk). A checkpoint writes what changed, not the whole buffer:
//   a partition held back for minutes no longer makes every checkpoint rewrite it.
#include <xxhash.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <tuple>

#include "detectors/engine_impl.h"
#include "detectors/selector.h"

namespace abusewatch {
namespace {

using engine_internal::Buffered;
using engine_internal::kNoTime;
using engine_internal::kRecordVersion;
using engine_internal::Lane;
using engine_internal::Timer;

// Dedup and reorder-buffer journal chunks kept before they are merged into one.
constexpr size_t kMaxDedupChunks = 64;
constexpr size_t kMaxBufferChunks = 64;

std::string Hex128(std::string_view text) {
  const XXH128_hash_t h = XXH3_128bits(text.data(), text.size());
  char buf[33];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(h.high64),
                static_cast<unsigned long long>(h.low64));
  return buf;
}

void AppendSelector(const std::optional<Selector>& s, std::string* out) {
  out->append(s ? SelectorSignature(*s) : "-");
  out->push_back('|');
}

// What makes a detector's state meaningful: everything it computes with.
std::string DetectorFingerprint(const RuleSet& rules, int d) {
  const DetectorSpec& ds = rules.detectors()[d];
  const RuleSpec& r = *ds.spec;
  const EngineConfig& c = rules.config();
  std::string t = std::string(RuleKindName(ds.kind)) + "|" + std::string(FieldName(ds.group_by)) +
                  "|tz=" + std::to_string(c.timezone_offset_ms) + "|" + c.base_currency;
  for (const auto& [cur, rate] : c.currency_rates) t += "|" + cur + "=" + FormatDecimal(rate);
  t.push_back('|');
  switch (ds.kind) {
    case RuleKind::kThreshold:
      AppendSelector(r.select, &t);
      t += std::string(AggregateName(r.aggregate)) + "|" + std::string(FieldName(r.field)) + "|" +
           std::to_string(r.window_ms) + "|" + std::to_string(r.granularity_ms) + "|";
      AppendSelector(r.reset_on, &t);
      break;
    case RuleKind::kAbsence:
      AppendSelector(r.trigger, &t);
      AppendSelector(r.expect, &t);
      t += std::to_string(r.within_ms) + "|";
      break;
    case RuleKind::kSequence:
      AppendSelector(r.first, &t);
      AppendSelector(r.then, &t);
      AppendSelector(r.unless, &t);
      t += std::to_string(r.within_ms) + "|" + std::to_string(r.after_ms) + "|";
      break;
    default:
      break;
  }
  for (int rule : ds.rules) {
    const CompiledRule& cr = rules.rules()[rule];
    t += cr.spec.id + "=" + FormatInt(cr.line) + (cr.spec.enabled ? "" : "(off)") + ";";
  }
  return Hex128(t);
}

// A rule: its detector's fingerprint (slot included), or for composites its children's.
std::string RuleFingerprint(const RuleSet& rules, int r, const std::vector<std::string>& det_fp) {
  const CompiledRule& cr = rules.rules()[r];
  std::string t = cr.spec.id + "|" + std::string(RuleKindName(cr.spec.kind)) +
                  (cr.spec.enabled ? "|on|" : "|off|");
  if (cr.detector >= 0) {
    t += det_fp[cr.detector] + "#" + std::to_string(cr.slot);
  } else {
    for (int child : cr.children) t += RuleFingerprint(rules, child, det_fp) + ",";
  }
  return Hex128(t);
}

struct Fingerprints {
  std::vector<std::string> detectors, rules;
};

Fingerprints ComputeFingerprints(const RuleSet& rules) {
  Fingerprints f;
  for (size_t d = 0; d < rules.detectors().size(); ++d) {
    f.detectors.push_back(DetectorFingerprint(rules, static_cast<int>(d)));
  }
  for (size_t r = 0; r < rules.rules().size(); ++r) {
    f.rules.push_back(RuleFingerprint(rules, static_cast<int>(r), f.detectors));
  }
  return f;
}

std::string Combined(const Fingerprints& f) {
  std::string t;
  for (const std::string& s : f.detectors) t += s + ";";
  t += "/";
  for (const std::string& s : f.rules) t += s + ";";
  return Hex128(t);
}

// old index → new index by fingerprint (-1: none).
std::vector<int> MapByFingerprint(const std::vector<std::string>& old_fp,
                                  const std::vector<std::string>& new_fp) {
  std::multimap<std::string, int> free;
  for (size_t i = 0; i < new_fp.size(); ++i) free.emplace(new_fp[i], static_cast<int>(i));
  std::vector<int> map(old_fp.size(), -1);
  for (size_t i = 0; i < old_fp.size(); ++i) {
    // The same index first (the usual case), else any unused one.
    if (i < new_fp.size() && new_fp[i] == old_fp[i]) {
      for (auto it = free.find(old_fp[i]); it != free.end() && it->first == old_fp[i]; ++it) {
        if (it->second == static_cast<int>(i)) {
          free.erase(it);
          map[i] = static_cast<int>(i);
          break;
        }
      }
    }
  }
  for (size_t i = 0; i < old_fp.size(); ++i) {
    if (map[i] >= 0) continue;
    auto it = free.find(old_fp[i]);
    if (it != free.end()) {
      map[i] = it->second;
      free.erase(it);
    }
  }
  return map;
}

}  // namespace

namespace engine_internal {

std::string ChunkName(uint64_t n) { return "dedup." + std::to_string(n); }
std::string BufferChunkName(uint64_t n) { return "buffer." + std::to_string(n); }

std::vector<std::string> DetectorFingerprints(const RuleSet& rules) {
  return ComputeFingerprints(rules).detectors;
}
std::vector<std::string> RuleFingerprints(const RuleSet& rules) {
  return ComputeFingerprints(rules).rules;
}
std::vector<int> MapFingerprints(const std::vector<std::string>& old_fp,
                                 const std::vector<std::string>& new_fp) {
  return MapByFingerprint(old_fp, new_fp);
}

}  // namespace engine_internal

using engine_internal::BufferChunkName;
using engine_internal::ChunkName;

void Engine::EnableCheckpoints() {
  impl_->keys.EnableTracking();
  impl_->dedup.EnableJournal();
}

std::string Engine::RulesFingerprint() const { return Combined(ComputeFingerprints(*rules_)); }

bool Engine::Impl::SaveKeyRecord(uint32_t id, std::string* out) {
  out->clear();
  StateEncoder e(out);
  e.U8(kRecordVersion);
  scratch_ids.clear();
  for (size_t d = 0; d < detectors.size(); ++d) {
    scratch.clear();
    StateEncoder s(&scratch);
    if (!detectors[d]->SaveKey(id, &s)) continue;
    scratch_states.emplace_back(static_cast<uint32_t>(d), scratch);
  }
  for (size_t c = 0; c < composite_firing.size(); ++c) {
    if (composite_firing[c].contains(id)) scratch_ids.push_back(static_cast<uint32_t>(c));
  }
  const bool any = !scratch_states.empty() || !scratch_ids.empty();
  e.Varint(scratch_states.size());
  for (const auto& [d, bytes] : scratch_states) {
    e.Varint(d);
    e.Signed(detectors[d]->TimerAt(id));  // readable without decoding the state (lazy restore)
    e.Bytes(bytes);
  }
  scratch_states.clear();
  e.Varint(scratch_ids.size());
  for (uint32_t c : scratch_ids) e.Varint(c);
  return any;
}

void Engine::Checkpoint(CheckpointWriter* out) {
  Impl& im = *impl_;
  std::vector<uint32_t> dirty;
  std::vector<std::string> removed;
  im.keys.TakeChanges(&dirty, &removed);
  for (const std::string& k : removed) {
    out->DeleteKey(k);
    if (im.cold_store != nullptr) im.uncommitted_removals.insert(k);
  }
  std::string value;
  for (uint32_t id : dirty) {
    if (!im.keys.Live(id)) continue;
    if (im.SaveKeyRecord(id, &value)) {
      out->PutKey(im.keys.Get(id), value);
      im.keys.MarkPersisted(id, true);
    } else if (im.keys.persisted(id)) {
      out->DeleteKey(im.keys.Get(id));
      im.keys.MarkPersisted(id, false);
    }
  }
  // Dedup ids: a new chunk of the journal, or everything in one chunk when there are many.
  const int64_t floor =
      im.max_ts == kNoTime ? kNoTime : im.max_ts - rules_->config().dedup_horizon_ms;
  std::string chunk;
  StateEncoder ce(&chunk);
  int64_t chunk_max = kNoTime;
  if (im.dedup_chunks.size() >= kMaxDedupChunks) {
    im.dedup.SaveAll(&ce, &chunk_max);
    for (const auto& [n, t] : im.dedup_chunks) out->DeleteMeta(ChunkName(n));
    im.dedup_chunks.clear();
  } else {
    im.dedup.SaveJournal(&ce, &chunk_max);
    auto expired = [&](const std::pair<uint64_t, int64_t>& c) {
      if (floor == kNoTime || c.second >= floor) return false;
      out->DeleteMeta(ChunkName(c.first));
      return true;
    };
    im.dedup_chunks.erase(std::remove_if(im.dedup_chunks.begin(), im.dedup_chunks.end(), expired),
                          im.dedup_chunks.end());
  }
  if (chunk_max != kNoTime) {
    out->PutMeta(ChunkName(im.next_chunk), chunk);
    im.dedup_chunks.emplace_back(im.next_chunk++, chunk_max);
  }
  im.SaveBufferJournal(out);
  value.clear();
  im.SaveMeta(&value);
  out->PutMeta("engine", value);
}

void Engine::Impl::SaveBufferJournal(CheckpointWriter* out) {
  // Which chunks still hold a buffered event, and the events that arrived since the last
  // checkpoint.
  std::vector<bool> live(buffer_chunks.size(), false);
  std::vector<const Buffered*> fresh, all;
  const bool merge = buffer_chunks.size() >= kMaxBufferChunks;
  for (const Lane& l : lanes) {
    for (const Buffered& b : l.buffer) {
      if (merge) {
        all.push_back(&b);
      } else if (b.arrival >= saved_arrivals) {
        fresh.push_back(&b);
      } else {
        auto it = std::upper_bound(
            buffer_chunks.begin(), buffer_chunks.end(), b.arrival,
            [](uint64_t a, const std::pair<uint64_t, uint64_t>& c) { return a < c.second; });
        if (it != buffer_chunks.begin())
          live[static_cast<size_t>(it - buffer_chunks.begin()) - 1] = true;
      }
    }
  }
  std::vector<std::pair<uint64_t, uint64_t>> kept;
  for (size_t i = 0; i < buffer_chunks.size(); ++i) {
    if (!merge && live[i]) {
      kept.push_back(buffer_chunks[i]);
    } else {
      out->DeleteMeta(BufferChunkName(buffer_chunks[i].first));
    }
  }
  buffer_chunks = std::move(kept);
  const std::vector<const Buffered*>& write = merge ? all : fresh;
  if (!write.empty()) {
    std::string chunk;
    StateEncoder e(&chunk);
    e.Varint(write.size());
    for (const Buffered* b : write) {
      e.Varint(b->lane);
      e.Varint(b->seq);
      e.Varint(b->arrival);
      b->event->Save(&e);
    }
    out->PutMeta(BufferChunkName(next_chunk), chunk);
    buffer_chunks.emplace_back(next_chunk++, merge ? 0 : saved_arrivals);
  }
  saved_arrivals = arrivals;
}

void Engine::Impl::SaveMeta(std::string* out) {
  StateEncoder e(out);
  e.U8(engine_internal::kMetaVersion);
  const Fingerprints fp = ComputeFingerprints(rules);
  e.Varint(fp.detectors.size());
  for (const std::string& s : fp.detectors) e.Bytes(s);
  e.Varint(fp.rules.size());
  for (size_t r = 0; r < fp.rules.size(); ++r) {
    e.Bytes(rules.rules()[r].spec.id);
    e.Bytes(fp.rules[r]);
  }
  e.Signed(max_ts);
  e.Signed(frontier);
  e.U8(multi);
  e.Varint(arrivals);
  e.Varint(lanes.size());
  for (const Lane& l : lanes) {
    e.U8(static_cast<uint8_t>(l.state));
    e.Signed(l.max_ts);
    e.Varint(l.end);
    e.Varint(l.next_seq);
    e.Varint(l.base_seq);
    // Positions not done yet, as runs of consecutive positions with the same flag (offsets are
    // mostly consecutive): (first position, length, done).
    std::vector<std::tuple<uint64_t, uint64_t, bool>> runs;
    for (const Lane::Entry& f : l.fifo) {
      if (!runs.empty()) {
        auto& [first, n, done] = runs.back();
        if (done == f.done && f.position == first + n) {
          ++n;
          continue;
        }
      }
      runs.emplace_back(f.position, 1, f.done);
    }
    e.Varint(runs.size());
    for (const auto& [first, n, done] : runs) {
      e.Varint(first);
      e.Varint(n);
      e.U8(done);
    }
  }
  e.Signed(pending_at);
  e.Varint(pending.size());
  for (const Transition& t : pending) {
    e.Varint(static_cast<uint64_t>(t.rule));
    e.Bytes(t.key);
    e.U8(t.firing);
    e.Signed(t.at_ms);
    e.U8(t.has_value);
    e.Wide(t.value);
    e.Varint(t.events.size());
    for (const std::string& id : t.events) e.Bytes(id);
  }
  e.Varint(unflushed.size());
  for (const auto& [lane, seq] : unflushed) {
    e.Varint(lane);
    e.Varint(seq);
  }
  e.Varint(dedup_chunks.size());
  for (const auto& [n, t] : dedup_chunks) {
    e.Varint(n);
    e.Signed(t);
  }
  e.Varint(next_chunk);
  e.Varint(buffer_chunks.size());
  for (const auto& [n, first] : buffer_chunks) {
    e.Varint(n);
    e.Varint(first);
  }
  // Totals (in memory and evicted), so that a lazy restore can count what it did not load.
  e.Varint(detectors.size());
  for (size_t d = 0; d < detectors.size(); ++d) {
    e.Signed(static_cast<int64_t>(detectors[d]->StateCount()) +
             (cold_store ? cold_states_by_detector[d] : 0));
  }
  e.Varint(rules.rules().size());
  for (size_t r = 0; r < rules.rules().size(); ++r) {
    const CompiledRule& cr = rules.rules()[r];
    const bool composite = cr.spec.kind == RuleKind::kAllOf || cr.spec.kind == RuleKind::kAnyOf;
    int64_t states = composite ? static_cast<int64_t>(composite_firing[r].size()) : 0;
    int64_t firing = 0;
    if (composite) {
      firing = states;
    } else if (cr.detector >= 0) {
      firing = static_cast<int64_t>(detectors[cr.detector]->FiringCount(cr.slot));
    }
    if (cold_store) {
      states += cold_states_by_rule[r];
      firing += cold_firing_by_rule[r];
    }
    e.Signed(states);
    e.Signed(firing);
  }
}

}  // namespace abusewatch

namespace abusewatch {

Status Engine::DescribeKeyRecord(const RuleSet& rules, std::string_view value, std::string* json) {
  StateDecoder in(value);
  if (in.U8() != engine_internal::kRecordVersion) {
    return Status::Corruption("unknown key record version");
  }
  std::string out = "{\"states\":[";
  const uint64_t n = in.Count(2);
  for (uint64_t i = 0; i < n && in.ok(); ++i) {
    const uint64_t d = in.Varint();
    in.Signed();  // its timer
    std::string_view bytes = in.Bytes();
    if (!in.ok() || d >= rules.detectors().size()) {
      return Status::Corruption("key record: detector index out of range (other rules?)");
    }
    const DetectorSpec& ds = rules.detectors()[d];
    std::unique_ptr<Detector> det;
    switch (ds.kind) {
      case RuleKind::kThreshold:
        det = MakeThresholdDetector(rules, static_cast<int>(d));
        break;
      case RuleKind::kAbsence:
        det = MakeAbsenceDetector(rules, static_cast<int>(d));
        break;
      default:
        det = MakeSequenceDetector(rules, static_cast<int>(d));
        break;
    }
    if (Status s = det->LoadKey(0, bytes); !s.ok()) return s;
    if (i > 0) out.push_back(',');
    out.append("{\"kind\":\"");
    out.append(RuleKindName(ds.kind));
    out.append("\",\"rules\":[");
    for (size_t r = 0; r < ds.rules.size(); ++r) {
      if (r > 0) out.push_back(',');
      AppendJsonString(rules.rules()[ds.rules[r]].spec.id, &out);
    }
    out.append("],");
    det->Describe(0, &out);
    out.push_back('}');
  }
  out.append("],\"composites_firing\":[");
  const uint64_t m = in.Count(1);
  for (uint64_t i = 0; i < m && in.ok(); ++i) {
    const uint64_t c = in.Varint();
    if (!in.ok() || c >= rules.rules().size()) {
      return Status::Corruption("key record: rule index out of range (other rules?)");
    }
    if (i > 0) out.push_back(',');
    AppendJsonString(rules.rules()[c].spec.id, &out);
  }
  out.append("]}");
  if (Status s = in.Finish("key record"); !s.ok()) return s;
  *json = std::move(out);
  return Status::Ok();
}

}  // namespace abusewatch
