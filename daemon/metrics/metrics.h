// Metrics: the daemon's Prometheus registry, with the metric families of spec/daemon.md
// (prefix `abusewatch_`), and the HTTP routes that expose it.
//
//   counter   abusewatch_events_total{stream}               accepted events by stream type
//   counter   abusewatch_events_rejected_total{reason}      rejected records by reason code
//   counter   abusewatch_transitions_total{rule,state}
//   counter   abusewatch_alerts_sent_total{sink,result}
//   counter   abusewatch_config_reload_total{result}        result: ok | failed
//   gauge     abusewatch_alerts_firing{rule,severity}
//   gauge     abusewatch_state_keys{rule}
//   gauge     abusewatch_consumer_lag{topic,partition}
//   gauge     abusewatch_watermark_seconds                  event time, Unix seconds
//   gauge     abusewatch_reorder_buffer_events              accepted events waiting for event
//                                                           time to pass them (refreshed 1/s)
//   gauge     abusewatch_ready                              1 when /readyz says ready
//   gauge     abusewatch_build_info{version,allocator}      always 1; allocator: daemon/allocator.h
//   gauge     abusewatch_config_info{sha256}                always 1; one series, the loaded config
//   histogram abusewatch_event_processing_seconds           1 µs .. 1 s
//   With a review store (config `review:`), registered on first use:
//   counter   abusewatch_alerts_suppressed_total{rule}      firings not sent to Alertmanager or
//                                                           webhooks: a reviewer suppressed them
//   counter   abusewatch_review_store_errors_total          review store writes/reads that failed
//   gauge     abusewatch_review_cases{status}               cases by status (refreshed
//   periodically)
//
// Label values are low-cardinality names only: stream types, reason codes, rule ids, states,
// severities, sink names, topics and partitions. NEVER pass an account, subject, key, event id
// or any other per-entity value as a label value: every distinct value is a new time series
// kept forever (cardinality), and these are personal data that must not leak into the
// monitoring stack (privacy). Per-account data belongs in transitions and alerts.
//
// Pre-created at zero so dashboards see them before the first event: events_total for every
// stream type of spec/events.md, events_rejected_total for every reason code of
// detectors/decoder.h, config_reload_total for ok and failed; ready = 0; build_info.
//
// Thread safety: every member function may be called from any thread. Counters, gauges and
// the histogram are prometheus-cpp objects, themselves thread-safe. A returned reference stays
// valid as long as the Metrics object, except a ConsumerLag() gauge after RemoveConsumerLag()
// of its partition (look it up again after a rebalance). The child caches are guarded by a
// mutex (a lookup by name costs a lock and a map search, never a label-map rebuild); the enum
// accessors Events(EventType) and Rejected(RejectReason) take no lock at all. On hot paths use
// those, or keep the returned reference.
#ifndef ABUSEWATCH_DAEMON_METRICS_METRICS_H_
#define ABUSEWATCH_DAEMON_METRICS_METRICS_H_

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "detectors/decoder.h"
#include "detectors/event.h"

namespace abusewatch {

class HttpServer;

class Metrics {
 public:
  // `version` is the build_info label (e.g. "0.1.0").
  explicit Metrics(std::string_view version);
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // Counters.
  prometheus::Counter& Events(EventType type);  // no lock
  prometheus::Counter& Events(std::string_view stream);
  prometheus::Counter& Rejected(RejectReason reason);  // no lock
  prometheus::Counter& Rejected(std::string_view reason);
  prometheus::Counter& Transitions(std::string_view rule, std::string_view state);
  prometheus::Counter& AlertsSent(std::string_view sink, std::string_view result);
  prometheus::Counter& ConfigReload(std::string_view result);  // "ok" or "failed"
  prometheus::Counter& AlertsSuppressed(std::string_view rule);
  prometheus::Counter& ReviewStoreErrors();

  // Gauges.
  prometheus::Gauge& AlertsFiring(std::string_view rule, std::string_view severity);
  prometheus::Gauge& StateKeys(std::string_view rule);
  prometheus::Gauge& ConsumerLag(std::string_view topic, int32_t partition);
  // Drops the series of a partition no longer assigned to this instance.
  void RemoveConsumerLag(std::string_view topic, int32_t partition);
  prometheus::Gauge& Watermark();
  prometheus::Gauge& ReorderBuffer();
  prometheus::Gauge& ReviewCases(std::string_view status);
  void SetReady(bool ready);
  bool ready() const;
  // Replaces the config_info series: the old sha256 label value disappears.
  void SetConfigSha256(std::string_view hex);

  prometheus::Histogram& ProcessingSeconds();
  // Records `n` records that took `total_seconds` together (a batch): n observations of the
  // mean, so _count counts records and _sum is the time spent. No-op when n == 0.
  void ObserveProcessing(double total_seconds, size_t n);

  // Prometheus text exposition format (version 0.0.4) of every family.
  std::string Serialize() const;
  const std::shared_ptr<prometheus::Registry>& registry() const { return registry_; }

 private:
  template <typename T>
  using Cache = std::map<std::string, T*, std::less<>>;

  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>* events_;
  prometheus::Family<prometheus::Counter>* rejected_;
  prometheus::Family<prometheus::Counter>* transitions_;
  prometheus::Family<prometheus::Counter>* alerts_sent_;
  prometheus::Family<prometheus::Counter>* config_reload_;
  prometheus::Family<prometheus::Gauge>* alerts_firing_;
  prometheus::Family<prometheus::Gauge>* state_keys_;
  prometheus::Family<prometheus::Gauge>* consumer_lag_;
  prometheus::Family<prometheus::Gauge>* config_info_;
  prometheus::Gauge* watermark_;
  prometheus::Gauge* reorder_buffer_;
  prometheus::Gauge* ready_;
  prometheus::Histogram* processing_;
  std::array<prometheus::Counter*, kNumEventTypes> events_by_type_{};
  std::array<prometheus::Counter*, kNumRejectReasons> rejected_by_reason_{};

  mutable std::mutex mu_;  // guards the caches and config_info
  Cache<prometheus::Counter> events_cache_, rejected_cache_, transitions_cache_, alerts_sent_cache_,
      config_reload_cache_;
  Cache<prometheus::Gauge> alerts_firing_cache_, state_keys_cache_, consumer_lag_cache_;
  // Review families: registered on first use (absent from /metrics without a review store).
  prometheus::Family<prometheus::Counter>* alerts_suppressed_ = nullptr;
  prometheus::Counter* review_store_errors_ = nullptr;
  prometheus::Family<prometheus::Gauge>* review_cases_ = nullptr;
  Cache<prometheus::Counter> alerts_suppressed_cache_;
  Cache<prometheus::Gauge> review_cases_cache_;
  prometheus::Gauge* config_info_child_ = nullptr;
  std::string config_sha256_;
};

// GET /metrics (text exposition), GET /healthz (200 "ok"), GET /readyz (200 "ready" or 503
// "not ready", from `ready`; when `ready` is empty, from Metrics::ready()). HEAD works too.
// `m` must outlive the server; `ready` runs on the server thread(s) and must be thread-safe.
void RegisterMetricsRoutes(HttpServer& server, const Metrics& m, std::function<bool()> ready);

}  // namespace abusewatch

#endif  // ABUSEWATCH_DAEMON_METRICS_METRICS_H_
