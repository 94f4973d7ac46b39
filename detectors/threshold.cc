// threshold detector (rules.md "threshold"): one aggregation shared by every rule line that
// differs only in its threshold. Per key it keeps one aggregate per non-empty bucket (count /
// sum), or for distinct one entry per value with its latest bucket; never one per event.
#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "detectors/detector.h"
#include "detectors/selector.h"
#include "detectors/timeutil.h"

namespace abusewatch {
namespace {

class ThresholdDetector final : public Detector {
 public:
  ThresholdDetector(const RuleSet& rules, int index)
      : Detector(rules, index),
        r_(*spec_.spec),
        window_(r_.window_ms),
        gran_(r_.granularity_ms),
        zone_(rules.config().timezone_offset_ms) {}

  void OnEvent(const Event& e, DetectorContext& ctx) override {
    // A reset cuts the key's earlier events; if this same event also counts, the rule's state
    // is judged once, after both (the value after the step), so no resolved/firing blink.
    uint64_t carried = 0;
    const bool reset = r_.reset_on && MatchSelector(*r_.reset_on, e) && Reset(&carried, ctx);
    if (!Contribute(e, ctx, carried) && reset) {
      for (size_t slot = 0; slot < spec_.rules.size(); ++slot) {
        if ((carried >> slot) & 1u) {
          ctx.Emit(spec_.rules[slot], ctx.FindKey(spec_.group_by), false, e.ts_ms, true, 0,
                   {std::string(e.id())});
        }
      }
    }
  }

  // Adds the event if selected; `carried` is the firing state to judge against for a state
  // that a reset just emptied. Returns whether the event counted.
  bool Contribute(const Event& e, DetectorContext& ctx, uint64_t carried) {
    if (!MatchSelector(r_.select, e)) return false;
    values_.clear();
    Int128 add = 1;
    if (r_.aggregate == Aggregate::kSum) {
      add = e.amount_base_fen;
    } else if (r_.aggregate == Aggregate::kDistinct) {
      if (TypeOfField(r_.field) == FieldType::kStringArray) {
        for (size_t i = 0, n = e.ArraySize(r_.field); i < n; ++i) {
          std::string_view v = e.ArrayElement(r_.field, i);
          if (!v.empty()) values_.push_back(v);
        }
      } else if (e.Has(r_.field) && !e.Str(r_.field).empty()) {
        values_.push_back(e.Str(r_.field));
      }
      if (values_.empty()) {
        // Selected but nothing to count: still a step of this key, so its value is re-taken
        // at this time (a bucket may have left the window at exactly this instant).
        Touch(e.ts_ms, ctx);
        return false;
      }
    }
    uint32_t key = ctx.AcquireKey(spec_.group_by);
    auto [it, fresh] = states_.try_emplace(key);
    if (!fresh) ctx.ReleaseKey(key);  // the state already holds a reference
    State& s = it->second;
    if (fresh) s.firing = carried;
    const int64_t b = BucketStart(e.ts_ms, gran_, zone_);
    Expire(s, b - window_);
    if (s.head == s.buckets.size() || s.buckets.back().start != b) s.buckets.push_back({b, 0});
    if (r_.aggregate == Aggregate::kDistinct) {
      if (!s.distinct) s.distinct = std::make_unique<absl::flat_hash_map<std::string, int64_t>>();
      for (std::string_view v : values_) {
        auto [vit, new_value] = s.distinct->try_emplace(AsAbsl(v), b);
        if (new_value) {
          s.buckets.back().value += 1;
          s.total += 1;
        } else if (vit->second != b) {
          BucketAt(s, vit->second).value -= 1;
          s.buckets.back().value += 1;
          vit->second = b;
        }
      }
    } else {
      s.buckets.back().value += add;
      s.total += add;
    }
    s.evidence.Add(e.ts_ms, e.id());
    Evaluate(s, key, e.ts_ms, ctx);
    if (s.timer_at == kNoTimer) ScheduleNext(it, ctx);
    return true;
  }

  void Touch(int64_t at, DetectorContext& ctx) {
    const uint32_t key = ctx.FindKey(spec_.group_by);
    if (key == KeyTable::kNone) return;
    auto it = states_.find(key);
    if (it == states_.end()) return;
    Expire(it->second, BucketStart(at, gran_, zone_) - window_);
    Evaluate(it->second, key, at, ctx);
    if (it->second.timer_at == kNoTimer) ScheduleNext(it, ctx);
  }

  void OnTimer(int64_t at, uint32_t key, DetectorContext& ctx) override {
    auto it = states_.find(key);
    if (it == states_.end() || it->second.timer_at != at) return;
    State& s = it->second;
    s.timer_at = kNoTimer;
    Expire(s, at - window_);
    Evaluate(s, key, at, ctx);
    ScheduleNext(it, ctx);
  }

  bool IsFiring(int slot, uint32_t key) const override {
    auto it = states_.find(key);
    return it != states_.end() && ((it->second.firing >> slot) & 1u);
  }

  bool SaveKey(uint32_t key, StateEncoder* out) const override {
    auto it = states_.find(key);
    if (it == states_.end()) return false;
    const State& s = it->second;
    out->Varint(s.buckets.size() - s.head);
    for (size_t i = s.head; i < s.buckets.size(); ++i) {
      out->Signed(s.buckets[i].start);
      out->Wide(s.buckets[i].value);
    }
    out->Wide(s.total);
    out->Varint(s.firing);
    out->Signed(s.timer_at);
    out->Varint(s.distinct ? s.distinct->size() : 0);
    if (s.distinct) {
      for (const auto& [v, b] : *s.distinct) {
        out->Bytes(v);
        out->Signed(b);
      }
    }
    s.evidence.Save(out);
    return true;
  }

  Status LoadKey(uint32_t key, std::string_view bytes) override {
    StateDecoder in(bytes);
    State s;
    const uint64_t n = in.Count(17);
    s.buckets.reserve(n);
    for (uint64_t i = 0; i < n; ++i) {
      const int64_t start = in.Signed();
      s.buckets.push_back({start, in.Wide()});
    }
    s.total = in.Wide();
    s.firing = in.Varint();
    s.timer_at = in.Signed();
    const uint64_t d = in.Count(2);
    if (d > 0) s.distinct = std::make_unique<absl::flat_hash_map<std::string, int64_t>>();
    for (uint64_t i = 0; i < d && in.ok(); ++i) {
      std::string_view v = in.Bytes();
      s.distinct->insert_or_assign(std::string(v), in.Signed());
    }
    s.evidence.Load(&in);
    if (s.firing >> spec_.rules.size() != 0) in.Fail();
    return StoreLoadedState(states_, key, std::move(s), in, "threshold");
  }

  void Describe(uint32_t key, std::string* out) const override {
    auto it = states_.find(key);
    if (it == states_.end()) return;
    const State& s = it->second;
    out->append("\"firing\":[");
    bool first = true;
    for (size_t slot = 0; slot < spec_.rules.size(); ++slot) {
      if (((s.firing >> slot) & 1u) == 0) continue;
      if (!first) out->push_back(',');
      first = false;
      AppendJsonString(rules_.rules()[spec_.rules[slot]].spec.id, out);
    }
    const bool sum = r_.aggregate == Aggregate::kSum;
    out->append("],\"value\":");
    out->append(sum ? "\"" + FormatScaled(s.total, 2) + "\"" : FormatInt(s.total));
    out->append(",\"buckets\":" + std::to_string(s.buckets.size() - s.head));
    if (s.head < s.buckets.size()) {
      out->append(",\"oldest_bucket\":\"" + FormatRfc3339Utc(s.buckets[s.head].start) + "\"");
    }
    if (s.distinct) out->append(",\"distinct_values\":" + std::to_string(s.distinct->size()));
    if (s.timer_at != kNoTimer) {
      out->append(",\"next_change\":\"" + FormatRfc3339Utc(s.timer_at) + "\"");
    }
    out->push_back(',');
    s.evidence.AppendJson(out);
  }

  bool DropKey(uint32_t key) override { return states_.erase(key) > 0; }

  int64_t TimerAt(uint32_t key) const override {
    auto it = states_.find(key);
    return it == states_.end() ? kNoTimer : it->second.timer_at;
  }

  size_t StateCount() const override { return states_.size(); }
  size_t FiringCount(int slot) const override {
    size_t n = 0;
    for (const auto& [key, s] : states_) n += ((s.firing >> slot) & 1u) ? 1 : 0;
    return n;
  }
  size_t CellCount() const override {
    size_t n = 0;
    for (const auto& [key, s] : states_) {
      n += s.buckets.size() - s.head + (s.distinct ? s.distinct->size() : 0);
    }
    return n;
  }

 private:
  struct Bucket {
    int64_t start;
    Int128 value;
  };
  struct State {
    std::vector<Bucket> buckets;  // ascending; live from `head`
    size_t head = 0;
    Int128 total = 0;
    uint64_t firing = 0;  // bit per rule slot
    int64_t timer_at = kNoTimer;
    std::unique_ptr<absl::flat_hash_map<std::string, int64_t>> distinct;  // value → latest bucket
    Evidence evidence;
  };
  using Map = absl::flat_hash_map<uint32_t, State>;

  static Bucket& BucketAt(State& s, int64_t start) {
    auto it = std::lower_bound(s.buckets.begin() + static_cast<ptrdiff_t>(s.head), s.buckets.end(),
                               start, [](const Bucket& b, int64_t x) { return b.start < x; });
    return *it;
  }

  // Drops buckets with start <= cutoff (they left the window).
  void Expire(State& s, int64_t cutoff) {
    bool scan = false;
    while (s.head < s.buckets.size() && s.buckets[s.head].start <= cutoff) {
      if (r_.aggregate == Aggregate::kDistinct) {
        scan |= s.buckets[s.head].value > 0;
      } else {
        s.total -= s.buckets[s.head].value;
      }
      ++s.head;
    }
    if (scan) {
      absl::erase_if(*s.distinct, [cutoff](const auto& kv) { return kv.second <= cutoff; });
      s.total = static_cast<Int128>(s.distinct->size());
    }
    Compact(s);
  }

  static void Compact(State& s) {
    if (s.head > 0 && s.head * 2 >= s.buckets.size()) {
      s.buckets.erase(s.buckets.begin(), s.buckets.begin() + static_cast<ptrdiff_t>(s.head));
      s.head = 0;
    }
  }

  void Evaluate(State& s, uint32_t key, int64_t at, DetectorContext& ctx) {
    for (size_t slot = 0; slot < spec_.rules.size(); ++slot) {
      const int rule = spec_.rules[slot];
      const bool now = s.total >= rules_.rules()[rule].line;
      const bool was = (s.firing >> slot) & 1u;
      if (now == was) continue;
      s.firing ^= uint64_t{1} << slot;
      int64_t oldest = BucketStart(at, gran_, zone_) - window_ + gran_;
      ctx.Emit(rule, key, now, at, true, s.total, s.evidence.Since(oldest));
    }
  }

  void ScheduleNext(Map::iterator it, DetectorContext& ctx) {
    State& s = it->second;
    while (s.head < s.buckets.size() && s.buckets[s.head].value == 0) ++s.head;
    Compact(s);
    if (s.head == s.buckets.size()) {
      // Empty: the value is 0, below every (positive) line, so nothing is firing.
      ctx.ReleaseKey(it->first);
      states_.erase(it);
      return;
    }
    s.timer_at = s.buckets[s.head].start + window_;
    ctx.Schedule(index_, it->first, s.timer_at);
  }

  // Drops the key's state; its firing bits go to *firing. False when there was no state.
  bool Reset(uint64_t* firing, DetectorContext& ctx) {
    uint32_t key = ctx.FindKey(spec_.group_by);
    if (key == KeyTable::kNone) return false;
    auto it = states_.find(key);
    if (it == states_.end()) return false;
    *firing = it->second.firing;
    ctx.ReleaseKey(key);
    states_.erase(it);
    return true;
  }

  const RuleSpec& r_;
  const int64_t window_, gran_, zone_;
  Map states_;
  std::vector<std::string_view> values_;  // scratch
};

}  // namespace

std::unique_ptr<Detector> MakeThresholdDetector(const RuleSet& rules, int index) {
  return std::make_unique<ThresholdDetector>(rules, index);
}

void Evidence::Add(int64_t ts, std::string_view id) {
  if (items_.size() == kMaxEvidence) items_.erase(items_.begin());
  items_.emplace_back(ts, std::string(id));
}

void Evidence::Save(StateEncoder* out) const {
  out->Varint(items_.size());
  for (const auto& [ts, id] : items_) {
    out->Signed(ts);
    out->Bytes(id);
  }
}

void Evidence::AppendJson(std::string* out) const {
  out->append("\"evidence\":[");
  for (size_t i = 0; i < items_.size(); ++i) {
    if (i > 0) out->push_back(',');
    AppendJsonString(items_[i].second, out);
  }
  out->push_back(']');
}

void Evidence::Load(StateDecoder* in) {
  items_.clear();
  const uint64_t n = in->Count(2);
  if (n > kMaxEvidence) in->Fail();
  for (uint64_t i = 0; i < n && in->ok(); ++i) {
    const int64_t ts = in->Signed();
    items_.emplace_back(ts, std::string(in->Bytes()));
  }
}

std::vector<std::string> Evidence::Since(int64_t since) const {
  std::vector<std::string> out;
  for (const auto& [ts, id] : items_) {
    if (ts >= since) out.push_back(id);
  }
  return out;
}

}  // namespace abusewatch
