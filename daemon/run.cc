#include "daemon/run.h"

#include <openssl/evp.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <memory>
#include <sstream>

#include "config/config_loader.h"
#include "config/daemon_config.h"
#include "daemon/http/http_server.h"
#include "daemon/log.h"
#include "daemon/metrics/metrics.h"
#include "daemon/output_file.h"
#include "daemon/sources/file_source.h"
#include "detectors/engine.h"

#ifndef ABUSEWATCH_VERSION
#define ABUSEWATCH_VERSION "0.1.0"
#endif

namespace abusewatch {
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

// Everything a config file yields, validated together.
struct Loaded {
  std::shared_ptr<const RuleSet> rules;
  DaemonConfig daemon;
  std::string sha256;
  std::string rules_summary;  // identical summaries = identical rules and settings
};

Status Load(const std::string& path, Loaded* out) {
  EngineConfig config;
  if (Status s = LoadConfigFile(path, &config); !s.ok()) return s;
  out->rules_summary = DescribeConfig(config);
  if (Status s = RuleSet::Compile(std::move(config), &out->rules); !s.ok()) return s;
  if (Status s = LoadDaemonConfig(path, &out->daemon); !s.ok()) return s;
  if (out->daemon.sources.size() != 1) {
    return Status::InvalidArgument(path + ": exactly one source is supported for now (got " +
                                   std::to_string(out->daemon.sources.size()) + ")");
  }
  out->sha256 = Sha256File(path);
  return Status::Ok();
}

// Transitions to the sinks, with metrics.
class Fanout final : public TransitionSink {
 public:
  Fanout(Metrics* metrics, std::vector<std::pair<std::unique_ptr<OutputFile>, bool>>* sinks)
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
    line_.clear();
    AppendTransitionJson(t, rules, &line_);
    line_.push_back('\n');
    for (auto& [out, notify_only] : *sinks_) {
      if (notify_only && !r.spec.notify) continue;
      out->Write(line_);
    }
  }

 private:
  Metrics* metrics_;
  std::vector<std::pair<std::unique_ptr<OutputFile>, bool>>* sinks_;
  std::string line_;
};

void AppendDeadLetter(const std::string& source, const SourceRecord& rec, const Rejection& r,
                      std::string* out) {
  out->append("{\"source\":");
  AppendJsonString(source, out);
  out->append(",\"position\":" + std::to_string(rec.position) + ",");
  AppendRejectionFields(r, out);
  out->append(",\"raw\":");
  if (rec.oversized) {
    out->append("null");
  } else {
    AppendJsonString(rec.payload, out);
  }
  out->append("}\n");
}

}  // namespace

int RunDaemon(const RunOptions& options, std::ostream& log_stream) {
  Logger log(&log_stream, options.log_json);
  Loaded cfg;
  if (Status s = Load(options.config, &cfg); !s.ok()) {
    log.Error("config error: " + s.message());
    return 2;
  }
  // Signals first: no thread may start before the handlers are in place.
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) sigaction(sig, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
  g_stop = false;
  g_reload = false;

  Metrics metrics(ABUSEWATCH_VERSION);
  metrics.SetConfigSha256(cfg.sha256);
  std::atomic<bool> ready{false};
  std::unique_ptr<HttpServer> http;
  if (cfg.daemon.http_enabled) {
    HttpServer::Options ho;
    ho.address = cfg.daemon.http_address;
    ho.port = cfg.daemon.http_port;
    http = std::make_unique<HttpServer>(ho);
    RegisterMetricsRoutes(*http, metrics, [&ready] { return ready.load(); });
    if (Status s = http->Start(); !s.ok()) {
      log.Error("http: " + s.message());
      return 1;
    }
    log.Info("serving /metrics, /healthz, /readyz on http://" + cfg.daemon.http_address + ":" +
             std::to_string(http->port()));
  }

  std::vector<std::pair<std::unique_ptr<OutputFile>, bool>> sinks;
  for (const SinkConfig& k : cfg.daemon.sinks) {
    std::unique_ptr<OutputFile> f;
    if (Status s = OutputFile::Open(k.type == "stdout" ? "-" : k.path, &f, /*append=*/true);
        !s.ok()) {
      log.Error("sink: " + s.message());
      return 1;
    }
    sinks.emplace_back(std::move(f), k.notify_only);
  }
  std::unique_ptr<OutputFile> dead_letter;
  if (cfg.daemon.has_dead_letter) {
    if (Status s = OutputFile::Open(cfg.daemon.dead_letter.path, &dead_letter, true); !s.ok()) {
      log.Error("dead_letter: " + s.message());
      return 1;
    }
  }
  const SourceConfig& sc = cfg.daemon.sources[0];
  FileSource source(sc.path, sc.follow, static_cast<size_t>(cfg.rules->config().max_event_bytes));
  Fanout fanout(&metrics, &sinks);
  auto engine = std::make_unique<Engine>(cfg.rules, &fanout);
  ready = true;
  metrics.SetReady(true);
  log.Info("running " + std::to_string(cfg.rules->rules().size()) + " rules on " + source.name() +
           (sc.follow ? " (following)" : ""));

  constexpr size_t kBatch = 64;
  std::vector<SourceRecord> recs;
  std::vector<std::string_view> views;
  std::vector<size_t> view_of(kBatch);
  bool accepted[kBatch];
  std::vector<Rejection> rejections(kBatch);
  std::string dl_line;
  EngineStats before = engine->stats();
  auto last_gauges = std::chrono::steady_clock::time_point{};
  while (!g_stop) {
    if (std::chrono::steady_clock::now() - last_gauges > std::chrono::seconds(1)) {
      last_gauges = std::chrono::steady_clock::now();
      const auto& all = engine->rules().rules();
      for (size_t r = 0; r < all.size(); ++r) {
        metrics.StateKeys(all[r].spec.id)
            .Set(static_cast<double>(engine->StateKeys(static_cast<int>(r))));
      }
    }
    if (g_reload.exchange(false)) {
      Loaded next;
      Status s = Load(options.config, &next);
      if (!s.ok()) {
        metrics.ConfigReload("failed").Increment();
        log.Error("reload rejected, keeping the running config: " + s.message());
      } else {
        metrics.ConfigReload("ok").Increment();
        metrics.SetConfigSha256(next.sha256);
        if (next.rules_summary != cfg.rules_summary) {
          engine->Finish();
          // The new engine starts with nothing firing: so do the gauges.
          for (const CompiledRule& r : engine->rules().rules()) {
            metrics.AlertsFiring(r.spec.id, SeverityName(r.spec.severity)).Set(0);
          }
          engine = std::make_unique<Engine>(next.rules, &fanout);
          before = engine->stats();
          log.Warn(
              "reload: rules changed; rule state restarts from here (durable state will "
              "carry it over)");
        }
        cfg.rules = next.rules;
        cfg.rules_summary = next.rules_summary;
        cfg.sha256 = next.sha256;
        log.Info("reload: config " + next.sha256.substr(0, 12) + " active");
      }
    }
    if (!source.Poll(kBatch, std::chrono::milliseconds(200), &recs)) {
      engine->Finish();
      log.Info("input ended: " + source.name());
      break;
    }
    if (recs.empty()) continue;
    const auto t0 = std::chrono::steady_clock::now();
    views.clear();
    for (size_t i = 0; i < recs.size(); ++i) {
      view_of[i] = SIZE_MAX;
      const bool blank = recs[i].payload.find_first_not_of(" \t\r") == std::string_view::npos;
      if (recs[i].oversized || blank) continue;
      view_of[i] = views.size();
      views.push_back(recs[i].payload);
    }
    engine->OfferBatch(views.data(), views.size(), accepted, rejections.data());
    for (size_t i = 0; i < recs.size(); ++i) {
      Rejection too_large;
      const Rejection* r = nullptr;
      if (recs[i].oversized) {
        too_large.reason = RejectReason::kTooLarge;
        too_large.detail = "record is " + std::to_string(recs[i].length) + " bytes, over the limit";
        r = &too_large;
      } else if (view_of[i] != SIZE_MAX && !accepted[view_of[i]]) {
        r = &rejections[view_of[i]];
      }
      if (r == nullptr) continue;
      metrics.Rejected(RejectReasonName(r->reason)).Increment();
      if (dead_letter) {
        dl_line.clear();
        AppendDeadLetter(source.name(), recs[i], *r, &dl_line);
        dead_letter->Write(dl_line);
      }
    }
    const EngineStats after = engine->stats();
    for (int t = 0; t < kNumEventTypes; ++t) {
      const uint64_t n = after.accepted_by_type[t] - before.accepted_by_type[t];
      if (n > 0)
        metrics.Events(EventTypeName(static_cast<EventType>(t))).Increment(static_cast<double>(n));
    }
    before = after;
    if (engine->max_event_time() != INT64_MIN) {
      metrics.Watermark().Set(static_cast<double>(engine->max_event_time()) / 1000.0);
    }
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!views.empty())
      metrics.ProcessingSeconds().Observe(secs / static_cast<double>(views.size()));
    for (auto& [out, notify_only] : sinks) out->Flush();
    if (dead_letter) dead_letter->Flush();
  }
  // Shut down in reverse order of construction.
  ready = false;
  metrics.SetReady(false);
  int code = 0;
  for (auto& [out, notify_only] : sinks) {
    if (Status s = out->Close(); !s.ok()) {
      log.Error("sink: " + s.message());
      code = 1;
    }
  }
  if (dead_letter) dead_letter->Close();
  if (!source.status().ok()) log.Error(source.status().message());
  if (http) http->Stop();
  const EngineStats st = engine->stats();
  log.Info("stopped: " + std::to_string(st.accepted) + " accepted, " + std::to_string(st.rejected) +
           " rejected, " + std::to_string(st.transitions) + " transitions");
  return code;
}

}  // namespace abusewatch
