// Daemon (run_internal.h): durable state at start, and config reloads (SIGHUP).
#include <string>
#include <utility>

#include "config/config_loader.h"
#include "daemon/run_internal.h"

namespace abusewatch::run_internal {

std::unique_ptr<Engine> Daemon::NewEngine(std::shared_ptr<const RuleSet> rules) {
  auto engine = std::make_unique<Engine>(std::move(rules), fanout_.get());
  if (decode_pool_) engine->SetDecodeWorkers(decode_pool_.get());
  return engine;
}

int Daemon::OpenState() {
  if (cfg_.daemon.state.dir.empty()) {
    engine_ = NewEngine(cfg_.rules);
    return 0;
  }
  Checkpointer::Options co;
  co.state = cfg_.daemon.state;
  co.rebuild = options_.state_rebuild;
  co.keep_unchanged = options_.state_keep_unchanged;
  Checkpointer::Restored restored;
  auto rules = cfg_.rules;
  Status s = Checkpointer::Open(
      co, &metrics_, &log_, [this, rules] { return NewEngine(rules); }, &engine_, &checkpointer_,
      &restored);
  if (!s.ok()) {
    log_.Error(s.message());
    return 2;
  }
  if (Status c = source_->SetStartCursors(restored.cursors); !c.ok()) {
    log_.Error("state " + co.state.dir + ": " + c.message() +
               " (the source changed: start with --state-rebuild)");
    return 2;
  }
  // Inputs without a saved position have no record in the state: read them from their start
  // (not from the group's committed offsets, which may be ahead of what the state reflects).
  source_->StartFromBeginning();
  if (cfg_.daemon.sources[0].type == "kafka") {
    for (uint32_t lane = 0; lane < Engine::kMaxLanes; ++lane) {
      if (engine_->lane_state(lane) != LaneState::kClosed) restored_lanes_.push_back(lane);
    }
  }
  ResetFiringGauges();
  return 0;
}

void Daemon::ResetFiringGauges() {
  const auto& all = engine_->rules().rules();
  for (size_t r = 0; r < all.size(); ++r) {
    metrics_.AlertsFiring(all[r].spec.id, SeverityName(all[r].spec.severity))
        .Set(static_cast<double>(engine_->FiringCount(static_cast<int>(r))));
  }
}

void Daemon::WaitForRestoredLanes(bool connected) {
  // Restored lanes keep holding event time back until their partitions are assigned again: a
  // first assignment may miss some while the killed instance is still in the group.
  restored_lanes_.erase(std::remove_if(restored_lanes_.begin(), restored_lanes_.end(),
                                       [this](uint32_t lane) { return lanes_.count(lane) > 0; }),
                        restored_lanes_.end());
  if (!connected || restored_lanes_.empty()) return;
  const auto now = Clock::now();
  if (restore_deadline_ == Clock::time_point{}) {
    restore_deadline_ = now + std::chrono::milliseconds(cfg_.daemon.state.lane_restore_timeout_ms);
    log_.Info("state: waiting up to " +
              std::to_string(cfg_.daemon.state.lane_restore_timeout_ms / 1000) + " s for " +
              std::to_string(restored_lanes_.size()) + " restored partition(s) to be assigned");
  } else if (now >= restore_deadline_) {
    for (uint32_t lane : restored_lanes_) engine_->SetLaneState(lane, LaneState::kClosed);
    log_.Warn("state: " + std::to_string(restored_lanes_.size()) +
              " restored partition(s) not assigned back within lane_restore_timeout: closed "
              "(their state stays with this instance's checkpoint)");
    restored_lanes_.clear();
  }
}

void Daemon::Reload() {
  Loaded next;
  Status s = Load(options_.config, &next);
  if (!s.ok()) {
    metrics_.ConfigReload("failed").Increment();
    log_.Error("reload rejected, keeping the running config: " + s.message());
    return;
  }
  if (review_) {
    if (Status t = review_->ReloadTokens(); !t.ok()) {
      metrics_.ConfigReload("failed").Increment();
      log_.Error("reload rejected, keeping the running config and tokens: review tokens: " +
                 t.message());
      return;
    }
  }
  if (next.daemon_summary != cfg_.daemon_summary) {
    log_.Warn(
        "reload: sources, sinks, http, state and review changes take effect at the next "
        "restart (the review token file is re-read)");
  }
  if (next.rules_summary != cfg_.rules_summary && checkpointer_) {
    if (!ReloadRulesWithState(next)) {
      metrics_.ConfigReload("failed").Increment();
      return;
    }
  } else if (next.rules_summary != cfg_.rules_summary) {
    // Everything before this point is processed under the old rules; the new engine starts
    // empty, so lanes are re-announced to it.
    engine_->Finish();
    Commit(/*final=*/false);
    for (const CompiledRule& r : engine_->rules().rules()) {
      metrics_.AlertsFiring(r.spec.id, SeverityName(r.spec.severity)).Set(0);
    }
    engine_ = NewEngine(next.rules);
    // The source reports changes only: tell the new engine where each lane stands (an idle
    // lane announced active would hold it back until its next record).
    for (const auto& [lane, state] : lanes_) engine_->SetLaneState(lane, state);
    before_ = engine_->stats();
    log_.Warn(
        "reload: rules changed; rule state restarts from here (durable state will carry it "
        "over)");
  }
  metrics_.ConfigReload("ok").Increment();
  metrics_.SetConfigSha256(next.sha256);
  cfg_.rules = next.rules;
  cfg_.rules_summary = next.rules_summary;
  cfg_.sha256 = next.sha256;
  log_.Info("reload: config " + next.sha256.substr(0, 12) + " active");
}

bool Daemon::ReloadRulesWithState(const Loaded& next) {
  const std::string& policy = cfg_.daemon.state.on_rules_change;
  if (policy != "keep_unchanged" && !options_.state_keep_unchanged) {
    log_.Error(
        "reload rejected, keeping the running config: the rules changed and "
        "state.on_rules_change is " +
        policy + " (set keep_unchanged to apply rule changes on reload, or restart)");
    return false;
  }
  // Everything so far goes into a checkpoint, then the new rules restore from it.
  if (!Commit(/*final=*/true)) {
    log_.Error("reload rejected, keeping the running config: no checkpoint could be taken");
    return false;
  }
  auto engine = NewEngine(next.rules);
  checkpointer_->PrepareEngine(engine.get());
  Engine::RestoreOptions ro;
  ro.keep_unchanged_rules = true;
  Engine::RestoreReport report;
  const StateStore& st = checkpointer_->store();
  Status s = engine->Restore(
      [&st](std::string_view name, std::string* value) { return st.GetMeta(name, value); },
      [&st](const Engine::KeyVisitor& visit) { return st.ForEachKey(visit); }, ro, &report);
  if (!s.ok()) {
    log_.Error("reload rejected, keeping the running config: " + s.message());
    return false;
  }
  for (const CompiledRule& r : engine_->rules().rules()) {
    metrics_.AlertsFiring(r.spec.id, SeverityName(r.spec.severity)).Set(0);
  }
  engine_ = std::move(engine);
  ResetFiringGauges();
  before_ = engine_->stats();
  std::string changed;
  for (const std::string& c : report.changed_rules) changed += " " + c;
  log_.Warn(
      "reload: rules changed; the state of the unchanged rules is kept, these start "
      "empty:" +
      changed);
  return true;
}

}  // namespace abusewatch::run_internal
