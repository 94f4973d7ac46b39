// absence detector (rules.md "absence"): per key, the unhandled triggers' deadlines in
// processing order (deadlines are then non-decreasing) and whether the key is firing.
#include <deque>

#include "absl/container/flat_hash_map.h"
#include "detectors/detector.h"
#include "detectors/selector.h"
#include "detectors/timeutil.h"

namespace abusewatch {
namespace {

class AbsenceDetector final : public Detector {
 public:
  AbsenceDetector(const RuleSet& rules, int index)
      : Detector(rules, index), r_(*spec_.spec), rule_(spec_.rules[0]) {}

  void OnEvent(const Event& e, DetectorContext& ctx) override {
    // The expect role first: an expect event handles triggers processed before it, not itself.
    if (MatchSelector(r_.expect, e)) {
      uint32_t key = ctx.FindKey(spec_.group_by);
      auto it = key == KeyTable::kNone ? states_.end() : states_.find(key);
      if (it != states_.end()) {
        State& s = it->second;
        s.pending.clear();
        if (s.firing) {
          s.firing = false;
          ctx.Emit(rule_, key, false, e.ts_ms, false, 0, {std::string(e.id())});
        }
        MaybeErase(it, ctx);
      }
    }
    if (MatchSelector(r_.trigger, e)) {
      uint32_t key = ctx.AcquireKey(spec_.group_by);
      auto [it, fresh] = states_.try_emplace(key);
      if (!fresh) ctx.ReleaseKey(key);
      State& s = it->second;
      s.pending.push_back({e.ts_ms + r_.within_ms, std::string(e.id())});
      if (s.timer_at == kNoTimer) {
        s.timer_at = s.pending.front().deadline;
        ctx.Schedule(index_, key, s.timer_at);
      }
    }
  }

  void OnTimer(int64_t at, uint32_t key, DetectorContext& ctx) override {
    auto it = states_.find(key);
    if (it == states_.end() || it->second.timer_at != at) return;
    State& s = it->second;
    s.timer_at = kNoTimer;
    std::vector<std::string> due;
    while (!s.pending.empty() && s.pending.front().deadline <= at) {
      if (due.size() < kMaxEvidence) due.push_back(std::move(s.pending.front().id));
      s.pending.pop_front();
    }
    if (!due.empty() && !s.firing) {
      s.firing = true;
      ctx.Emit(rule_, key, true, at, false, 0, std::move(due));
    }
    if (!s.pending.empty()) {
      s.timer_at = s.pending.front().deadline;
      ctx.Schedule(index_, key, s.timer_at);
    }
    MaybeErase(it, ctx);
  }

  bool IsFiring(int, uint32_t key) const override {
    auto it = states_.find(key);
    return it != states_.end() && it->second.firing;
  }

  bool SaveKey(uint32_t key, StateEncoder* out) const override {
    auto it = states_.find(key);
    if (it == states_.end()) return false;
    const State& s = it->second;
    out->Varint(s.pending.size());
    for (const Pending& p : s.pending) {
      out->Signed(p.deadline);
      out->Bytes(p.id);
    }
    out->U8(s.firing);
    out->Signed(s.timer_at);
    return true;
  }

  Status LoadKey(uint32_t key, std::string_view bytes) override {
    StateDecoder in(bytes);
    State s;
    const uint64_t n = in.Count(2);
    for (uint64_t i = 0; i < n && in.ok(); ++i) {
      const int64_t deadline = in.Signed();
      s.pending.push_back({deadline, std::string(in.Bytes())});
    }
    s.firing = in.Bool();
    s.timer_at = in.Signed();
    return StoreLoadedState(states_, key, std::move(s), in, "absence");
  }

  void Describe(uint32_t key, std::string* out) const override {
    auto it = states_.find(key);
    if (it == states_.end()) return;
    const State& s = it->second;
    out->append("\"firing\":[");
    if (s.firing) AppendJsonString(rules_.rules()[rule_].spec.id, out);
    out->append("],\"unhandled\":[");
    for (size_t i = 0; i < s.pending.size(); ++i) {
      if (i > 0) out->push_back(',');
      out->append("{\"id\":");
      AppendJsonString(s.pending[i].id, out);
      out->append(",\"deadline\":\"" + FormatRfc3339Utc(s.pending[i].deadline) + "\"}");
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
    for (const auto& [key, s] : states_) n += s.pending.size();
    return n;
  }

 private:
  struct Pending {
    int64_t deadline;
    std::string id;
  };
  struct State {
    std::deque<Pending> pending;
    bool firing = false;
    int64_t timer_at = kNoTimer;
  };
  using Map = absl::flat_hash_map<uint32_t, State>;

  void MaybeErase(Map::iterator it, DetectorContext& ctx) {
    if (!it->second.pending.empty() || it->second.firing) return;
    ctx.ReleaseKey(it->first);
    states_.erase(it);
  }

  const RuleSpec& r_;
  const int rule_;
  Map states_;
};

}  // namespace

std::unique_ptr<Detector> MakeAbsenceDetector(const RuleSet& rules, int index) {
  return std::make_unique<AbsenceDetector>(rules, index);
}

}  // namespace abusewatch
