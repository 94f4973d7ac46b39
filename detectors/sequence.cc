// sequence detector (rules.md "sequence"). A first event f can match a then event y when
// y.ts ∈ (f.ts + after, f.ts + within]. Per key the union of those intervals is kept as
// disjoint merged intervals (so state does not grow with the number of first events); an
// unless event kills every first event with f.ts <= u.ts, i.e. all of them so far and any
// later-arriving one with the same ts.
#include <deque>

#include "absl/container/flat_hash_map.h"
#include "detectors/detector.h"
#include "detectors/selector.h"
#include "detectors/timeutil.h"

namespace abusewatch {
namespace {

class SequenceDetector final : public Detector {
 public:
  SequenceDetector(const RuleSet& rules, int index)
      : Detector(rules, index), r_(*spec_.spec), rule_(spec_.rules[0]) {}

  void OnEvent(const Event& e, DetectorContext& ctx) override {
    const int64_t t = e.ts_ms;
    if (MatchSelector(r_.then, e)) {
      uint32_t key = ctx.FindKey(spec_.group_by);
      auto it = key == KeyTable::kNone ? states_.end() : states_.find(key);
      if (it != states_.end()) {
        State& s = it->second;
        while (!s.intervals.empty() && s.intervals.front().hi < t) s.intervals.pop_front();
        if (!s.intervals.empty() && s.intervals.front().lo < t && !s.firing) {
          s.firing = true;
          ctx.Emit(rule_, key, true, t, false, 0,
                   {s.intervals.front().first_id, std::string(e.id())});
        }
      }
    }
    if (r_.unless && MatchSelector(*r_.unless, e)) {
      uint32_t key = ctx.AcquireKey(spec_.group_by);
      auto [it, fresh] = states_.try_emplace(key);
      if (!fresh) ctx.ReleaseKey(key);
      State& s = it->second;
      s.intervals.clear();
      s.has_unless = true;
      s.last_unless = t;
      if (s.firing) {
        s.firing = false;
        ctx.Emit(rule_, key, false, t, false, 0, {std::string(e.id())});
      }
    }
    if (MatchSelector(r_.first, e)) {
      uint32_t key = ctx.AcquireKey(spec_.group_by);
      auto [it, fresh] = states_.try_emplace(key);
      if (!fresh) ctx.ReleaseKey(key);
      State& s = it->second;
      if (!(s.has_unless && s.last_unless >= t)) {
        const int64_t lo = t + r_.after_ms, hi = t + r_.within_ms;
        if (!s.intervals.empty() && lo <= s.intervals.back().hi) {
          s.intervals.back().hi = std::max(s.intervals.back().hi, hi);
        } else {
          s.intervals.push_back({lo, hi, std::string(e.id())});
        }
      }
    }
    uint32_t key = ctx.FindKey(spec_.group_by);
    if (key != KeyTable::kNone) {
      auto it = states_.find(key);
      if (it != states_.end()) Maintain(it, t, ctx);
    }
  }

  void OnTimer(int64_t at, uint32_t key, DetectorContext& ctx) override {
    auto it = states_.find(key);
    if (it == states_.end() || it->second.timer_at != at) return;
    State& s = it->second;
    s.timer_at = kNoTimer;
    // Every event still to come has ts > at.
    while (!s.intervals.empty() && s.intervals.front().hi <= at) s.intervals.pop_front();
    if (s.has_unless && s.last_unless <= at) s.has_unless = false;
    Maintain(it, at + 1, ctx);
  }

  bool IsFiring(int, uint32_t key) const override {
    auto it = states_.find(key);
    return it != states_.end() && it->second.firing;
  }

  bool SaveKey(uint32_t key, StateEncoder* out) const override {
    auto it = states_.find(key);
    if (it == states_.end()) return false;
    const State& s = it->second;
    out->Varint(s.intervals.size());
    for (const Interval& i : s.intervals) {
      out->Signed(i.lo);
      out->Signed(i.hi);
      out->Bytes(i.first_id);
    }
    out->U8(s.firing);
    out->U8(s.has_unless);
    out->Signed(s.last_unless);
    out->Signed(s.timer_at);
    return true;
  }

  Status LoadKey(uint32_t key, std::string_view bytes) override {
    StateDecoder in(bytes);
    State s;
    const uint64_t n = in.Count(3);
    for (uint64_t i = 0; i < n && in.ok(); ++i) {
      const int64_t lo = in.Signed();
      const int64_t hi = in.Signed();
      s.intervals.push_back({lo, hi, std::string(in.Bytes())});
    }
    s.firing = in.Bool();
    s.has_unless = in.Bool();
    s.last_unless = in.Signed();
    s.timer_at = in.Signed();
    return StoreLoadedState(states_, key, std::move(s), in, "sequence");
  }

  void Describe(uint32_t key, std::string* out) const override {
    auto it = states_.find(key);
    if (it == states_.end()) return;
    const State& s = it->second;
    out->append("\"firing\":[");
    if (s.firing) AppendJsonString(rules_.rules()[rule_].spec.id, out);
    out->append("],\"open_windows\":[");
    for (size_t i = 0; i < s.intervals.size(); ++i) {
      if (i > 0) out->push_back(',');
      out->append("{\"first\":");
      AppendJsonString(s.intervals[i].first_id, out);
      out->append(",\"from\":\"" + FormatRfc3339Utc(s.intervals[i].lo) + "\",\"to\":\"" +
                  FormatRfc3339Utc(s.intervals[i].hi) + "\"}");
    }
    out->push_back(']');
  }

  bool DropKey(uint32_t key) override { return states_.erase(key) > 0; }

  int64_t TimerAt(uint32_t key) const override {
    auto it = states_.find(key);
    return it == states_.end() ? kNoTimer : it->second.timer_at;
  }

  size_t StateCount() const override { return states_.size(); }
  size_t FiringCount(int) const override {
    size_t n = 0;
    for (const auto& [key, s] : states_) n += (s.firing) ? 1 : 0;
    return n;
  }
  size_t CellCount() const override {
    size_t n = 0;
    for (const auto& [key, s] : states_) n += s.intervals.size();
    return n;
  }

 private:
  struct Interval {
    int64_t lo, hi;  // then-events with ts in (lo, hi] match
    std::string first_id;
  };
  struct State {
    std::deque<Interval> intervals;
    bool firing = false;
    bool has_unless = false;
    int64_t last_unless = 0;
    int64_t timer_at = kNoTimer;
  };
  using Map = absl::flat_hash_map<uint32_t, State>;

  // Frees an empty state or keeps one clean-up timer: at the end of the first interval, or at
  // the last unless time (after which no first event can share its ts).
  void Maintain(Map::iterator it, int64_t now, DetectorContext& ctx) {
    State& s = it->second;
    if (s.has_unless && s.last_unless < now) s.has_unless = false;
    if (s.intervals.empty() && !s.firing && !s.has_unless) {
      ctx.ReleaseKey(it->first);
      states_.erase(it);
      return;
    }
    int64_t want = kNoTimer;
    if (!s.intervals.empty()) {
      want = s.intervals.front().hi;
    } else if (s.has_unless && !s.firing) {
      want = s.last_unless;
    }
    if (want != kNoTimer && (s.timer_at == kNoTimer || want < s.timer_at)) {
      s.timer_at = want;
      ctx.Schedule(index_, it->first, want);
    }
  }

  const RuleSpec& r_;
  const int rule_;
  Map states_;
};

}  // namespace

std::unique_ptr<Detector> MakeSequenceDetector(const RuleSet& rules, int index) {
  return std::make_unique<SequenceDetector>(rules, index);
}

}  // namespace abusewatch
