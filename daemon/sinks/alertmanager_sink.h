// AlertmanagerSink: delivers the transitions of rules with `notify: true` to Prometheus
// Alertmanager (`POST /api/v2/alerts`), spec/daemon.md "Outputs".
//
// Alert shape (one JSON object per transition; rules with notify: false are ignored):
//   labels       (the alert's stable identity)
//     alertname  rule id
//     severity   info | warning | critical
//     <group_by> the group key, under the name of the rule's group_by field (e.g. `account`)
//     clause     derived from the rule id, see ClauseForRuleId()
//   annotations  (everything that changes)
//     value, threshold   threshold rules only (sum rules in yuan with 2 decimals, else integer)
//     events             evidence ids, comma-separated, oldest first
//     basis, explain_zh, explain_en, at (RFC 3339 UTC of the transition)
//   startsAt     firing: the transition's `at`; resolution: the `at` of the remembered firing
//                transition (or the resolution's own `at` when none is remembered)
//   endsAt       firing: now_ms() + ends_ahead (raised to startsAt + ends_ahead if that would
//                not be after startsAt, which Alertmanager would reject); resolution: the
//                transition's `at`.
//
// Firing alerts are remembered (by rule id + key) and re-sent every `resend_interval` with a
// fresh endsAt, so Alertmanager keeps them active; a resolution is sent once and forgets the
// alert. Re-sends are checked by the worker about once per min(resend_interval, 1 s) of real
// time, against the injectable clock; ResendDue() runs the same check on demand (tests).
//
// Delivery is HttpDelivery's (daemon/sinks/http_delivery.h): a bounded queue of serialized
// alerts drained by one worker thread, in batches of up to 64 alerts per POST (a JSON array),
// over HTTP/1.1 (Boost.Beast, a new connection per request, each step bounded by
// request_timeout). A 2xx answer counts the batch's alerts as AlertsSent("alertmanager","ok").
// A connection error, timeout, 5xx, 408 or 429 is retried with exponential backoff
// (initial_backoff doubling up to max_backoff) until max_attempts attempts, then the alerts
// count as "failed"; any other status (e.g. 400) fails at once. When the queue is full, the new
// alert is dropped and counted as "dropped" (never silent), as are alerts discarded by Stop().
// Only plain `http://` URLs are supported.
//
// Thread safety: OnTransition() (the engine's thread), Tick(), ResendDue(), Flush(), Stop()
// and stats() may be called from any thread, concurrently; the sink's mutex guards the firing
// map (and is taken before HttpDelivery's), and no lock is held during network I/O. Stop() must not
// race the destructor. No exception escapes a public function or the worker thread.
#ifndef ABUSEWATCH_DAEMON_SINKS_ALERTMANAGER_SINK_H_
#define ABUSEWATCH_DAEMON_SINKS_ALERTMANAGER_SINK_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "daemon/sinks/http_delivery.h"
#include "daemon/sinks/sink.h"
#include "detectors/status.h"
#include "detectors/transition.h"

namespace abusewatch {

class Metrics;

// The `clause` label for a rule id. A derived warning rule (`<id>:warn<NN>`) maps like <id>.
//   art12_p2_<...>      → art12.2      (article 12, paragraph 2)     art12_p2_gains_x5 → art12.2
//   art12_<n>_<...>     → art12.1.<n>  (article 12, paragraph 1, item n)
//                                                                    art12_2_settlement → art12.1.2
//   art287_<n>_<...>    → art287-<n>   (article 287-n of the Criminal Law)
//                                                                    art287_2_case → art287-2
//   art<a>_<n>_<...>    → art<a>.<n>   (any other article)           art11_3_fee_rate → art11.3
//   anything else       → the id itself (e.g. art13_predicate_verified, presumed_knowledge)
// <a> and <n> are decimal digits; the trailing `_<...>` part may be absent (art11_3 → art11.3).
std::string ClauseForRuleId(std::string_view id);

class AlertmanagerSink : public AlertSink {
 public:
  struct Options {
    std::string url = "http://127.0.0.1:9093";  // http://host[:port][/path-prefix]
    std::chrono::milliseconds resend_interval{60'000};
    std::chrono::milliseconds ends_ahead{300'000};
    size_t queue_capacity = 10'000;  // alerts waiting for delivery; values < 1 mean 1
    std::chrono::milliseconds request_timeout{10'000};
    int max_attempts = 5;  // values < 1 mean 1
    std::chrono::milliseconds initial_backoff{100};
    std::chrono::milliseconds max_backoff{5'000};
    // Milliseconds since the Unix epoch; empty: the system clock. Called under the sink's
    // mutex, from the engine's and the worker's threads: must be thread-safe and not block.
    std::function<int64_t()> now_ms;
  };

  struct Stats {
    uint64_t ok = 0;        // alerts delivered (2xx)
    uint64_t failed = 0;    // alerts given up on
    uint64_t dropped = 0;   // alerts refused (queue full, after Stop) or discarded by Stop()
    uint64_t requests = 0;  // HTTP attempts made
    size_t firing = 0;      // alerts remembered for re-sending
    size_t queued = 0;      // alerts waiting (not counting a batch in flight)
  };

  // Validates the options (URL) and starts the worker thread. `metrics` may be null; else it
  // must outlive the sink.
  static Status Create(Options options, Metrics* metrics, std::unique_ptr<AlertmanagerSink>* out);

  ~AlertmanagerSink() override;  // Stop()s
  AlertmanagerSink(const AlertmanagerSink&) = delete;
  AlertmanagerSink& operator=(const AlertmanagerSink&) = delete;

  // "alertmanager".
  const std::string& name() const override { return name_; }

  // Builds the alert and enqueues it (never blocks on the network). After Stop(), ignored.
  void OnTransition(const Transition& t, const RuleSet& rules) override;

  // Enqueues a re-send of every remembered firing alert last sent resend_interval or longer
  // ago (by now_ms()). Returns how many were enqueued (dropped ones included).
  size_t ResendDue();

  // ResendDue(). The worker also checks on its own, so calling Tick() is optional.
  void Tick() override { ResendDue(); }

  // Waits until the queue is empty and no batch is in flight, or `timeout` passed. Returns
  // true when drained.
  bool Flush(std::chrono::milliseconds timeout) override;

  // Idempotent. Stops the worker (interrupting a backoff wait; a request in flight finishes
  // or times out) and joins it. Alerts still queued are discarded (counted "dropped"): Flush()
  // first.
  void Stop() override;

  Stats stats() const;

 private:
  struct Firing {
    std::string labels;       // JSON object
    std::string annotations;  // JSON object
    int64_t starts_at_ms = 0;
    int64_t last_sent_ms = 0;
  };

  explicit AlertmanagerSink(Options options);
  int64_t Now() const;
  std::string AlertJson(const Firing& f, int64_t ends_at_ms) const;
  size_t ResendDueLocked();  // requires mu_

  const Options options_;
  const std::string name_ = "alertmanager";

  mutable std::mutex mu_;
  std::map<std::string, Firing> firing_;  // rule id + '\0' + key
  bool stop_ = false;
  std::unique_ptr<HttpDelivery> delivery_;  // set once by Create(); its worker calls ResendDue()
};

}  // namespace abusewatch

#endif  // ABUSEWATCH_DAEMON_SINKS_ALERTMANAGER_SINK_H_
