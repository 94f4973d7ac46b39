#include "daemon/run.h"

#include <openssl/evp.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>

#include "config/config_loader.h"
#include "config/daemon_config.h"
#include "daemon/http/http_server.h"
#include "daemon/log.h"
#include "daemon/metrics/metrics.h"
#include "daemon/review/review_api.h"
#include "daemon/run_review.h"
#include "daemon/state/checkpointer.h"
#include "daemon/wiring.h"
#include "detectors/engine.h"

#ifndef ABUSEWATCH_VERSION
#define ABUSEWATCH_VERSION "0.1.0"
#endif

namespace abusewatch {
namespace {

using Clock = std::chrono::steady_clock;

std::atomic<bool> g_stop{false};
std::atomic<bool> g_reload{false};

void OnSignal(int sig) {
  if (sig == SIGHUP) {
    g_reload = true;
  } else {
    g_stop = true;
  }
}

std::string Sha256File(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream data;
  data << in.rdbuf();
  const std::string s = data.str();
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(s.data(), s.size(), md, &n, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < n; ++i) {
    hex.push_back(kHex[md[i] >> 4]);
    hex.push_back(kHex[md[i] & 15]);
  }
  return hex;
}

// Everything a config file yields, validated together.
struct Loaded {
  std::shared_ptr<const RuleSet> rules;
  DaemonConfig daemon;
  std::string sha256;
  std::string rules_summary;   // identical summaries = identical rules and settings
  std::string daemon_summary;  // the same for the daemon sections
};

Status Load(const std::string& path, Loaded* out) {
  EngineConfig config;
  if (Status s = LoadConfigFile(path, &config); !s.ok()) return s;
  out->rules_summary = DescribeConfig(config);
  if (Status s = RuleSet::Compile(std::move(config), &out->rules); !s.ok()) return s;
  if (Status s = LoadDaemonConfig(path, &out->daemon); !s.ok()) return s;
  if (out->daemon.sources.size() != 1) {
    return Status::InvalidArgument(path + ": exactly one source is supported (got " +
                                   std::to_string(out->daemon.sources.size()) + ")");
  }
  out->daemon_summary = DescribeDaemonConfig(out->daemon);
  out->sha256 = Sha256File(path);
  return Status::Ok();
}

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

void AppendDeadLetter(const std::string& source, const SourceRecord& rec, const Rejection& r,
                      std::string* out) {
  out->append("{\"source\":");
  AppendJsonString(source, out);
  out->append(",\"lane\":" + std::to_string(rec.lane) +
              ",\"position\":" + std::to_string(rec.position) + ",");
  AppendRejectionFields(r, out);
  out->append(",\"raw\":");
  if (rec.oversized) {
    out->append("null");
  } else {
    AppendJsonString(rec.payload, out);
  }
  out->push_back('}');
}

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
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<Checkpointer> checkpointer_;
  // Lanes restored from a checkpoint, waiting for the source's first assignment: those it does
  // not assign are closed then (their partitions went to another instance).
  std::vector<uint32_t> restored_lanes_;
  Clock::time_point restore_deadline_{};

  static constexpr size_t kBatch = 64;
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

int Daemon::Start() {
  metrics_.SetConfigSha256(cfg_.sha256);
  if (cfg_.daemon.review.enabled) {
    if (Status s = ReviewRuntime::Open(cfg_.daemon.review, &metrics_, &log_, &review_); !s.ok()) {
      log_.Error(s.message());
      return s.code() == Status::Code::kInvalidArgument ? 2 : 1;
    }
  }
  if (cfg_.daemon.http_enabled) {
    HttpServer::Options ho;
    ho.address = cfg_.daemon.http_address;
    ho.port = cfg_.daemon.http_port;
    http_ = std::make_unique<HttpServer>(ho);
    RegisterMetricsRoutes(*http_, metrics_, [this] { return ready_.load(); });
    if (review_) {
      RegisterReviewRoutes(*http_, review_->service(), review_->tokens(), review_->ApiOptions());
    }
    if (Status s = http_->Start(); !s.ok()) {
      log_.Error("http: " + s.message());
      return 1;
    }
    log_.Info("serving /metrics, /healthz, /readyz" + std::string(review_ ? ", /api/v1/" : "") +
              (review_ && cfg_.daemon.review.page ? ", /review/" : "") + " on http://" +
              cfg_.daemon.http_address + ":" + std::to_string(http_->port()));
  }
  for (const SinkConfig& k : cfg_.daemon.sinks) {
    std::unique_ptr<AlertSink> sink;
    if (Status s = MakeSink(k, &metrics_, &sink); !s.ok()) {
      log_.Error("sink " + k.type + ": " + s.message());
      return 1;
    }
    sinks_.push_back(review_ ? review_->Gate(k.type, std::move(sink)) : std::move(sink));
  }
  if (review_) sinks_.push_back(review_->MakeSink());
  if (cfg_.daemon.has_dead_letter) {
    if (Status s = MakeDeadLetter(cfg_.daemon.dead_letter, &metrics_, &dead_letter_); !s.ok()) {
      log_.Error("dead_letter: " + s.message());
      return 1;
    }
  }
  const SourceConfig& sc = cfg_.daemon.sources[0];
  commit_interval_ = std::chrono::milliseconds(sc.commit_interval_ms);
  skip_blank_ = sc.type == "file";
  const auto max_bytes = static_cast<size_t>(cfg_.rules->config().max_event_bytes);
  if (Status s = MakeSource(sc, max_bytes, &metrics_, &source_, &log_); !s.ok()) {
    log_.Error("source: " + s.message());
    return 1;
  }
  fanout_ = std::make_unique<Fanout>(&metrics_, &sinks_);
  if (int code = OpenState(); code != 0) return code;
  before_ = engine_->stats();
  UpdateReady();
  log_.Info("running " + std::to_string(cfg_.rules->rules().size()) + " rules on " +
            source_->name() + (sc.type == "file" && sc.follow ? " (following)" : ""));
  return 0;
}

int Daemon::OpenState() {
  if (cfg_.daemon.state.dir.empty()) {
    engine_ = std::make_unique<Engine>(cfg_.rules, fanout_.get());
    return 0;
  }
  Checkpointer::Options co;
  co.state = cfg_.daemon.state;
  co.rebuild = options_.state_rebuild;
  co.keep_unchanged = options_.state_keep_unchanged;
  Checkpointer::Restored restored;
  auto rules = cfg_.rules;
  Status s = Checkpointer::Open(
      co, &metrics_, &log_,
      [this, rules] { return std::make_unique<Engine>(rules, fanout_.get()); }, &engine_,
      &checkpointer_, &restored);
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

void Daemon::UpdateReady() {
  const bool ready = source_->connected();
  if (!restored_lanes_.empty()) WaitForRestoredLanes(ready);
  if (ready == ready_.load()) return;
  ready_ = ready;
  metrics_.SetReady(ready);
  log_.Info(std::string(ready ? "ready: " : "not ready: ") + source_->name() +
            (ready ? " connected" : " lost its assignment"));
}

void Daemon::RefreshGauges() {
  const auto& all = engine_->rules().rules();
  for (size_t r = 0; r < all.size(); ++r) {
    metrics_.StateKeys(all[r].spec.id)
        .Set(static_cast<double>(engine_->StateKeys(static_cast<int>(r))));
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
    engine_ = std::make_unique<Engine>(next.rules, fanout_.get());
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
  auto engine = std::make_unique<Engine>(next.rules, fanout_.get());
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

void Daemon::ApplyLaneEvents() {
  source_->TakeLaneEvents(&lane_events_);
  for (const LaneEvent& e : lane_events_) {
    engine_->SetLaneState(e.lane, e.state);
    if (e.state == LaneState::kClosed) {
      lanes_.erase(e.lane);
      log_.Info("lane " + std::to_string(e.lane) + " (" + e.name + ") revoked");
    } else if (auto [it, added] = lanes_.try_emplace(e.lane, e.state); added) {
      log_.Info("lane " + std::to_string(e.lane) + " (" + e.name + ") assigned");
    } else if (it->second != e.state) {
      // Idle: silent for the source's idle_timeout; event time no longer waits for it, so
      // records it delivers later may be late.
      it->second = e.state;
      log_.Info("lane " + std::to_string(e.lane) + " (" + e.name + ") " +
                (e.state == LaneState::kIdle ? "idle: event time no longer waits for it"
                                             : "active again"));
    }
  }
}

void Daemon::ProcessBatch() {
  const auto t0 = Clock::now();
  views_.clear();
  lanes_of_views_.clear();
  positions_.clear();
  for (size_t i = 0; i < recs_.size(); ++i) {
    view_of_[i] = SIZE_MAX;
    if (recs_[i].oversized) continue;
    // Blank lines of a JSON Lines file are not records (as in replay); a blank Kafka message is
    // offered and rejected like any other malformed record.
    if (skip_blank_ && recs_[i].payload.find_first_not_of(" \t\r") == std::string_view::npos) {
      continue;
    }
    view_of_[i] = views_.size();
    views_.push_back(recs_[i].payload);
    lanes_of_views_.push_back(recs_[i].lane);
    positions_.push_back(recs_[i].position);
  }
  if (review_) review_->BeforeOffer(views_.data(), views_.size());
  engine_->OfferBatch(views_.data(), views_.size(), lanes_of_views_.data(), positions_.data(),
                      accepted_, rejections_.data());
  if (review_) review_->AfterOffer(views_.data(), views_.size(), accepted_);
  for (size_t i = 0; i < recs_.size(); ++i) {
    Rejection too_large;
    const Rejection* r = nullptr;
    if (recs_[i].oversized) {
      too_large.reason = RejectReason::kTooLarge;
      too_large.detail = "record is " + std::to_string(recs_[i].length) + " bytes, over the limit";
      r = &too_large;
    } else if (view_of_[i] != SIZE_MAX && !accepted_[view_of_[i]]) {
      r = &rejections_[view_of_[i]];
    }
    if (r == nullptr) continue;
    metrics_.Rejected(r->reason).Increment();
    if (dead_letter_) {
      dl_line_.clear();
      AppendDeadLetter(source_->name(), recs_[i], *r, &dl_line_);
      dead_letter_->Write(r->has_id ? std::string_view(r->id) : std::string_view(), dl_line_);
    }
  }
  const EngineStats after = engine_->stats();
  for (int t = 0; t < kNumEventTypes; ++t) {
    const uint64_t n = after.accepted_by_type[t] - before_.accepted_by_type[t];
    if (n > 0) metrics_.Events(static_cast<EventType>(t)).Increment(static_cast<double>(n));
  }
  before_ = after;
  metrics_.ObserveProcessing(std::chrono::duration<double>(Clock::now() - t0).count(),
                             recs_.size());
}

bool Daemon::Commit(bool final) {
  for (const auto& [lane, state] : lanes_) {
    const uint64_t done = engine_->LaneDone(lane);
    if (done != UINT64_MAX) source_->MarkDone(lane, done);
  }
  const auto wait = final ? std::chrono::milliseconds(10'000) : std::chrono::milliseconds(0);
  bool delivered = true;
  for (auto& sink : sinks_) delivered &= sink->Flush(wait);
  if (dead_letter_) {
    // Not OK while records are still in flight (normal between commits) or after a failed
    // delivery (counted in alerts_sent_total{result="failed"}): commit later. Logged at stop.
    if (Status s = dead_letter_->Flush(wait); !s.ok()) {
      delivered = false;
      if (final) log_.Error("dead_letter: " + s.message());
    }
  }
  if (!delivered) {
    if (final) log_.Warn("sinks did not deliver everything; no checkpoint, offsets not committed");
    return false;  // commit once the sinks caught up: never ahead of the alerts
  }
  bool ok = true;
  if (checkpointer_ && (final || checkpointer_->Due(Clock::now()))) {
    if (Status s = checkpointer_->Checkpoint(engine_.get(), *source_); !s.ok()) {
      log_.Error("checkpoint: " + s.message());
      ok = false;
    }
  }
  if (Status s = source_->Commit(final); !s.ok()) log_.Warn("commit: " + s.message());
  return ok;
}

int Daemon::Run() {
  if (Status s = Load(options_.config, &cfg_); !s.ok()) {
    log_.Error("config error: " + s.message());
    return 2;
  }
  if (int code = Start(); code != 0) return code;
  recs_.reserve(kBatch);
  while (!g_stop) {
    const auto now = Clock::now();
    if (now - last_gauges_ > std::chrono::seconds(1)) {
      last_gauges_ = now;
      RefreshGauges();
    }
    if (now - last_tick_ > std::chrono::milliseconds(100)) {
      last_tick_ = now;
      for (auto& sink : sinks_) sink->Tick();
      if (dead_letter_) dead_letter_->Tick();
    }
    if (g_reload.exchange(false)) Reload();
    const bool more = source_->Poll(kBatch, std::chrono::milliseconds(100), &recs_);
    ApplyLaneEvents();
    UpdateReady();
    if (!more) {
      engine_->Finish();
      log_.Info("input ended: " + source_->name());
      break;
    }
    if (!recs_.empty()) ProcessBatch();
    if (Status cs = engine_->cold_status(); !cs.ok()) {
      // An evicted key could not be read back: going on would lose its state.
      log_.Error("state: " + cs.message() + "; stopping (restart resumes from the checkpoint)");
      exit_code_ = 1;
      break;
    }
    // Lane events move the frontier too (a partition turning idle), with or without records.
    if (engine_->frontier() != INT64_MIN) {
      metrics_.Watermark().Set(static_cast<double>(engine_->frontier()) / 1000.0);
    }
    if (Clock::now() - last_commit_ >= commit_interval_ ||
        (checkpointer_ && checkpointer_->Due(Clock::now()))) {
      last_commit_ = Clock::now();
      Commit(/*final=*/false);
    }
  }
  return Shutdown();
}

int Daemon::Shutdown() {
  // Stop consuming, deliver, commit; then take everything down in reverse order. After a
  // state error, no checkpoint: the state in memory is incomplete.
  ready_ = false;
  metrics_.SetReady(false);
  RefreshGauges();
  int code = exit_code_;
  if (code == 0) Commit(/*final=*/true);
  if (!source_->status().ok()) log_.Error(source_->status().message());
  source_.reset();
  if (dead_letter_) {
    if (Status s = dead_letter_->Close(); !s.ok()) {
      log_.Error("dead_letter: " + s.message());
      code = 1;
    }
  }
  for (auto& sink : sinks_) {
    if (!sink->Flush(std::chrono::milliseconds(10'000))) {
      log_.Error("sink " + sink->name() + ": could not deliver everything before stopping");
      code = 1;
    }
    sink->Stop();
  }
  if (http_) http_->Stop();
  review_.reset();  // after the sinks and the HTTP server that use it
  const EngineStats st = engine_->stats();
  log_.Info("stopped: " + std::to_string(st.accepted) + " accepted, " +
            std::to_string(st.rejected) + " rejected, " + std::to_string(st.transitions) +
            " transitions");
  return code;
}

}  // namespace

int RunDaemon(const RunOptions& options, std::ostream& log_stream) {
  Logger log(&log_stream, options.log_json);
  // Signals first: no thread may start before the handlers are in place.
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) sigaction(sig, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
  g_stop = false;
  g_reload = false;
  Daemon daemon(options, &log);
  return daemon.Run();
}

}  // namespace abusewatch
