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
#include "daemon/run_internal.h"
#include "daemon/run_review.h"
#include "daemon/state/checkpointer.h"
#include "daemon/wiring.h"
#include "detectors/engine.h"

namespace abusewatch {
namespace run_internal {
namespace {

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

}  // namespace

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
  if (review_ && !http_) log_.Warn("review: http is disabled: no review API or page");
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
  if (const int threads = DecodePool::Resolve(cfg_.daemon.decode_threads); threads > 0) {
    decode_pool_ = std::make_unique<DecodePool>(threads);
    log_.Info("decode: " + std::to_string(threads) + " thread(s) beside the engine's");
  }
  if (int code = OpenState(); code != 0) return code;
  before_ = engine_->stats();
  UpdateReady();
  log_.Info("running " + std::to_string(cfg_.rules->rules().size()) + " rules on " +
            source_->name() + (sc.type == "file" && sc.follow ? " (following)" : ""));
  return 0;
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
  metrics_.ReorderBuffer().Set(static_cast<double>(engine_->stats().buffered_events));
  const auto& all = engine_->rules().rules();
  for (size_t r = 0; r < all.size(); ++r) {
    metrics_.StateKeys(all[r].spec.id)
        .Set(static_cast<double>(engine_->StateKeys(static_cast<int>(r))));
  }
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

}  // namespace run_internal

int RunDaemon(const RunOptions& options, std::ostream& log_stream) {
  Logger log(&log_stream, options.log_json);
  // Signals first: no thread may start before the handlers are in place.
  struct sigaction sa {};
  sa.sa_handler = run_internal::OnSignal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) sigaction(sig, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
  run_internal::g_stop = false;
  run_internal::g_reload = false;
  run_internal::Daemon daemon(options, &log);
  return daemon.Run();
}

}  // namespace abusewatch
