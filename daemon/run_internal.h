// Internals of `abusewatch run` (run.cc, run_state.cc): the Daemon class and what it is built
// from. Not for use outside the daemon's composition root.
#ifndef ABUSEWATCH_DAEMON_RUN_INTERNAL_H_
#define ABUSEWATCH_DAEMON_RUN_INTERNAL_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/daemon_config.h"
#include "daemon/decode_pool.h"
#include "daemon/http/http_server.h"
#include "daemon/log.h"
#include "daemon/metrics/metrics.h"
#include "daemon/run.h"
#include "daemon/run_review.h"
#include "daemon/sinks/sink.h"
#include "daemon/sources/source.h"
#include "daemon/state/checkpointer.h"
#include "detectors/engine.h"

#ifndef ABUSEWATCH_VERSION
#define ABUSEWATCH_VERSION "0.1.0"
#endif

namespace abusewatch::run_internal {

using Clock = std::chrono::steady_clock;

// Everything a config file yields, validated together.
struct Loaded {
  std::shared_ptr<const RuleSet> rules;
  DaemonConfig daemon;
  std::string sha256;
  std::string rules_summary;   // identical summaries = identical rules and settings
  std::string daemon_summary;  // the same for the daemon sections
};

Status Load(const std::string& path, Loaded* out);

// Transitions to the sinks, with metrics.
class Fanout final : public TransitionSink {
 public:
  Fanout(Metrics* metrics, std::vector<std::unique_ptr<AlertSink>>* sinks)
      : metrics_(metrics), sinks_(sinks) {}
  void OnTransition(const Transition& t, const RuleSet& rules) override {
    const CompiledRule& r = rules.rules()[t.rule];
    metrics_->Transitions(r.spec.id, t.firing ? "firing" : "resolved").Increment();
    auto& firing = metrics_->AlertsFiring(r.spec.id, SeverityName(r.spec.severity));
    if (t.firing) {
      firing.Increment();
    } else {
      firing.Decrement();
    }
    for (auto& sink : *sinks_) sink->OnTransition(t, rules);
  }

 private:
  Metrics* metrics_;
  std::vector<std::unique_ptr<AlertSink>>* sinks_;
};

// The loop's state: the parts built from the config, in construction order.
class Daemon {
 public:
  Daemon(const RunOptions& options, Logger* log) : options_(options), log_(*log) {}

  int Run();

 private:
  int Start();
  void Reload();
  void ProcessBatch();
  void ApplyLaneEvents();
  // Marks processed positions, and commits them once every sink has delivered what came
  // before; with durable state, checkpoints then when due (always when `final`). Never blocks
  // on a sink unless `final`. Returns whether everything was delivered and, when `final`,
  // checkpointed.
  bool Commit(bool final);
  void RefreshGauges();
  // /readyz: config loaded (always, once running), state restored and the source connected.
  void UpdateReady();
  // After a restore: closes the restored lanes not assigned back within lane_restore_timeout.
  void WaitForRestoredLanes(bool connected);
  // Durable state: restores the engine (or makes a fresh one) and positions the source.
  int OpenState();
  // Rules changed on reload with durable state: checkpoint, restore under the new rules.
  bool ReloadRulesWithState(const Loaded& next);
  // A new engine for `rules`, with the decode pool lent to it.
  std::unique_ptr<Engine> NewEngine(std::shared_ptr<const RuleSet> rules);
  // Sets alerts_firing from the engine's state (after a restore).
  void ResetFiringGauges();
  int Shutdown();

  const RunOptions& options_;
  Logger& log_;
  Loaded cfg_;
  Metrics metrics_{ABUSEWATCH_VERSION};
  std::atomic<bool> ready_{false};
  // Review store (config review:); before http_ and sinks_, which use it, so destroyed after.
  std::unique_ptr<ReviewRuntime> review_;
  std::unique_ptr<HttpServer> http_;
  std::vector<std::unique_ptr<AlertSink>> sinks_;
  std::unique_ptr<RecordWriter> dead_letter_;
  std::unique_ptr<Source> source_;
  std::unique_ptr<Fanout> fanout_;
  std::unique_ptr<DecodePool> decode_pool_;  // lent to every engine_: outlives them
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<Checkpointer> checkpointer_;
  // Lanes restored from a checkpoint, waiting for the source's first assignment: those it does
  // not assign are closed then (their partitions went to another instance).
  std::vector<uint32_t> restored_lanes_;
  Clock::time_point restore_deadline_{};

  // Records per Poll: large enough for the decode pool to share a batch (engine.h), and
  // Poll returns early with what is there, so small at low rates.
  static constexpr size_t kBatch = 1024;
  std::vector<SourceRecord> recs_;
  std::vector<std::string_view> views_;
  std::vector<uint32_t> lanes_of_views_;
  std::vector<uint64_t> positions_;
  std::vector<size_t> view_of_ = std::vector<size_t>(kBatch);
  bool accepted_[kBatch];
  std::vector<Rejection> rejections_ = std::vector<Rejection>(kBatch);
  std::vector<LaneEvent> lane_events_;
  std::map<uint32_t, LaneState> lanes_;  // lanes not closed, with their latest state
  std::string dl_line_;
  EngineStats before_;
  Clock::time_point last_gauges_{}, last_tick_{}, last_commit_{};
  std::chrono::milliseconds commit_interval_{1000};
  bool skip_blank_ = false;
  int exit_code_ = 0;
};

}  // namespace abusewatch::run_internal

#endif  // ABUSEWATCH_DAEMON_RUN_INTERNAL_H_
