#include "daemon/metrics/metrics.h"

#include <prometheus/text_serializer.h>

#include <string>
#include <utility>
#include <vector>

#include "daemon/allocator.h"
#include "daemon/http/http_server.h"

namespace abusewatch {
namespace {

using prometheus::Counter;
using prometheus::Family;
using prometheus::Gauge;
using prometheus::Histogram;

constexpr char kSep = '\x1f';  // joins label values into a cache key; not in any sane value

// 1 µs .. 1 s, 1-2.5-5 per decade.
const Histogram::BucketBoundaries& ProcessingBuckets() {
  static const Histogram::BucketBoundaries kBuckets = {
      1e-6,   2.5e-6, 5e-6, 1e-5,   2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3,
      2.5e-3, 5e-3,   1e-2, 2.5e-2, 5e-2,   0.1,  0.25, 0.5,    1.0};
  return kBuckets;
}

Family<Counter>& CounterFamily(prometheus::Registry& r, const std::string& name,
                               const std::string& help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(r);
}

Family<Gauge>& GaugeFamily(prometheus::Registry& r, const std::string& name,
                           const std::string& help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(r);
}

// Looks `key` up in `cache`, adding the child with `labels` on a miss. Caller holds the mutex.
template <typename T>
T& Child(std::map<std::string, T*, std::less<>>& cache, Family<T>& family, std::string_view key,
         const prometheus::Labels& labels) {
  auto it = cache.find(key);
  if (it != cache.end()) return *it->second;
  T& child = family.Add(labels);
  cache.emplace(std::string(key), &child);
  return child;
}

std::string Key2(std::string_view a, std::string_view b) {
  std::string key;
  key.reserve(a.size() + b.size() + 1);
  key.append(a);
  key.push_back(kSep);
  key.append(b);
  return key;
}

}  // namespace

Metrics::Metrics(std::string_view version) : registry_(std::make_shared<prometheus::Registry>()) {
  prometheus::Registry& r = *registry_;
  events_ = &CounterFamily(r, "abusewatch_events_total", "Accepted events, by stream type.");
  rejected_ = &CounterFamily(r, "abusewatch_events_rejected_total",
                             "Rejected input records, by reason code.");
  transitions_ = &CounterFamily(r, "abusewatch_transitions_total",
                                "Detector state transitions, by rule and new state.");
  alerts_sent_ =
      &CounterFamily(r, "abusewatch_alerts_sent_total", "Alert deliveries, by sink and result.");
  config_reload_ = &CounterFamily(r, "abusewatch_config_reload_total",
                                  "Configuration reloads (SIGHUP), by result.");
  alerts_firing_ =
      &GaugeFamily(r, "abusewatch_alerts_firing", "Keys currently firing, by rule and severity.");
  state_keys_ =
      &GaugeFamily(r, "abusewatch_state_keys", "Group keys holding detector state, by rule.");
  consumer_lag_ =
      &GaugeFamily(r, "abusewatch_consumer_lag", "Messages behind the partition's high watermark.");
  watermark_ = &GaugeFamily(r, "abusewatch_watermark_seconds",
                            "Event-time watermark of the engine, Unix seconds.")
                    .Add({});
  reorder_buffer_ =
      &GaugeFamily(r, "abusewatch_reorder_buffer_events",
                   "Accepted events waiting in the engine for event time to pass them (allowed "
                   "lateness, and partitions behind others).")
           .Add({});
  ready_ = &GaugeFamily(r, "abusewatch_ready", "1 when the daemon is ready (see /readyz).").Add({});
  GaugeFamily(r, "abusewatch_build_info", "Build information; always 1.")
      .Add({{"version", std::string(version)}, {"allocator", AllocatorName()}})
      .Set(1);
  config_info_ =
      &GaugeFamily(r, "abusewatch_config_info", "SHA-256 of the loaded configuration; always 1.");
  processing_ = &prometheus::BuildHistogram()
                     .Name("abusewatch_event_processing_seconds")
                     .Help("Time to process one input record (decode, detect, emit).")
                     .Register(r)
                     .Add({}, ProcessingBuckets());

  std::lock_guard<std::mutex> lock(mu_);
  for (int i = 0; i < kNumEventTypes; ++i) {
    std::string_view name = EventTypeName(static_cast<EventType>(i));
    events_by_type_[i] = &Child(events_cache_, *events_, name, {{"stream", std::string(name)}});
  }
  for (int i = 0; i < kNumRejectReasons; ++i) {
    std::string_view name = RejectReasonName(static_cast<RejectReason>(i));
    rejected_by_reason_[i] =
        &Child(rejected_cache_, *rejected_, name, {{"reason", std::string(name)}});
  }
  for (const char* result : {"ok", "failed"}) {
    Child(config_reload_cache_, *config_reload_, result, {{"result", result}});
  }
}

Metrics::~Metrics() = default;

Counter& Metrics::Events(EventType type) { return *events_by_type_[static_cast<int>(type)]; }

Counter& Metrics::Events(std::string_view stream) {
  std::lock_guard<std::mutex> lock(mu_);
  return Child(events_cache_, *events_, stream, {{"stream", std::string(stream)}});
}

Counter& Metrics::Rejected(RejectReason reason) {
  return *rejected_by_reason_[static_cast<int>(reason)];
}

Counter& Metrics::Rejected(std::string_view reason) {
  std::lock_guard<std::mutex> lock(mu_);
  return Child(rejected_cache_, *rejected_, reason, {{"reason", std::string(reason)}});
}

Counter& Metrics::Transitions(std::string_view rule, std::string_view state) {
  std::lock_guard<std::mutex> lock(mu_);
  return Child(transitions_cache_, *transitions_, Key2(rule, state),
               {{"rule", std::string(rule)}, {"state", std::string(state)}});
}

Counter& Metrics::AlertsSent(std::string_view sink, std::string_view result) {
  std::lock_guard<std::mutex> lock(mu_);
  return Child(alerts_sent_cache_, *alerts_sent_, Key2(sink, result),
               {{"sink", std::string(sink)}, {"result", std::string(result)}});
}

Counter& Metrics::ConfigReload(std::string_view result) {
  std::lock_guard<std::mutex> lock(mu_);
  return Child(config_reload_cache_, *config_reload_, result, {{"result", std::string(result)}});
}

Counter& Metrics::AlertsSuppressed(std::string_view rule) {
  std::lock_guard<std::mutex> lock(mu_);
  if (alerts_suppressed_ == nullptr) {
    alerts_suppressed_ = &CounterFamily(
        *registry_, "abusewatch_alerts_suppressed_total",
        "Firing transitions not sent to Alertmanager or webhooks (suppressed by a review "
        "decision), by rule.");
  }
  return Child(alerts_suppressed_cache_, *alerts_suppressed_, rule, {{"rule", std::string(rule)}});
}

Counter& Metrics::ReviewStoreErrors() {
  std::lock_guard<std::mutex> lock(mu_);
  if (review_store_errors_ == nullptr) {
    review_store_errors_ = &CounterFamily(*registry_, "abusewatch_review_store_errors_total",
                                          "Review store operations that failed.")
                                .Add({});
  }
  return *review_store_errors_;
}

Gauge& Metrics::ReviewCases(std::string_view status) {
  std::lock_guard<std::mutex> lock(mu_);
  if (review_cases_ == nullptr) {
    review_cases_ = &GaugeFamily(*registry_, "abusewatch_review_cases", "Review cases, by status.");
  }
  return Child(review_cases_cache_, *review_cases_, status, {{"status", std::string(status)}});
}

Gauge& Metrics::AlertsFiring(std::string_view rule, std::string_view severity) {
  std::lock_guard<std::mutex> lock(mu_);
  return Child(alerts_firing_cache_, *alerts_firing_, Key2(rule, severity),
               {{"rule", std::string(rule)}, {"severity", std::string(severity)}});
}

Gauge& Metrics::StateKeys(std::string_view rule) {
  std::lock_guard<std::mutex> lock(mu_);
  return Child(state_keys_cache_, *state_keys_, rule, {{"rule", std::string(rule)}});
}

Gauge& Metrics::ConsumerLag(std::string_view topic, int32_t partition) {
  std::string p = std::to_string(partition);
  std::lock_guard<std::mutex> lock(mu_);
  return Child(consumer_lag_cache_, *consumer_lag_, Key2(topic, p),
               {{"topic", std::string(topic)}, {"partition", p}});
}

void Metrics::RemoveConsumerLag(std::string_view topic, int32_t partition) {
  std::string key = Key2(topic, std::to_string(partition));
  std::lock_guard<std::mutex> lock(mu_);
  auto it = consumer_lag_cache_.find(key);
  if (it == consumer_lag_cache_.end()) return;
  consumer_lag_->Remove(it->second);
  consumer_lag_cache_.erase(it);
}

Gauge& Metrics::Watermark() { return *watermark_; }
Gauge& Metrics::ReorderBuffer() { return *reorder_buffer_; }

void Metrics::SetReady(bool ready) { ready_->Set(ready ? 1 : 0); }

bool Metrics::ready() const { return ready_->Value() != 0; }

void Metrics::SetConfigSha256(std::string_view hex) {
  std::lock_guard<std::mutex> lock(mu_);
  if (config_info_child_ != nullptr && config_sha256_ == hex) return;
  if (config_info_child_ != nullptr) config_info_->Remove(config_info_child_);
  config_sha256_ = std::string(hex);
  config_info_child_ = &config_info_->Add({{"sha256", config_sha256_}});
  config_info_child_->Set(1);
}

Histogram& Metrics::ProcessingSeconds() { return *processing_; }

void Metrics::ObserveProcessing(double total_seconds, size_t n) {
  if (n == 0) return;
  const Histogram::BucketBoundaries& bounds = ProcessingBuckets();
  const double mean = total_seconds / static_cast<double>(n);
  std::vector<double> increments(bounds.size() + 1, 0.0);  // the last one is +Inf
  size_t b = 0;
  while (b < bounds.size() && mean > bounds[b]) ++b;
  increments[b] = static_cast<double>(n);
  processing_->ObserveMultiple(increments, total_seconds);
}

std::string Metrics::Serialize() const {
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

void RegisterMetricsRoutes(HttpServer& server, const Metrics& m, std::function<bool()> ready) {
  server.Route("GET", "/metrics", [&m](const HttpRequest&) {
    HttpResponse r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = m.Serialize();
    return r;
  });
  server.Route("GET", "/healthz", [](const HttpRequest&) {
    HttpResponse r;
    r.body = "ok";
    return r;
  });
  server.Route("GET", "/readyz", [&m, ready = std::move(ready)](const HttpRequest&) {
    HttpResponse r;
    bool is_ready = ready ? ready() : m.ready();
    r.status = is_ready ? 200 : 503;
    r.body = is_ready ? "ready" : "not ready";
    return r;
  });
}

}  // namespace abusewatch
