// WebhookSink: a generic webhook (spec/daemon.md "Outputs"): one HTTP POST per transition.
//
// Request:
//   POST <url>                       (plain http:// only, like AlertmanagerSink)
//   Content-Type: application/json
//   X-Abusewatch-Signature: sha256=<64 lowercase hex digits>
//   body: exactly the transition object of rules.md (AppendTransitionJson), no newline.
// The signature is HMAC-SHA256 keyed with Options::secret over the raw body bytes, and nothing
// else (no timestamp). A receiver recomputes it over the body it received and compares in
// constant time; see WebhookSignature(). Replays of an old body verify: receivers that care
// deduplicate on (rule, key, state, at), which identifies a transition.
//
// Delivery (HttpDelivery, daemon/sinks/http_delivery.h): a bounded queue, one worker thread,
// retries with exponential backoff on connection errors, timeouts, 5xx, 408 and 429, then
// counted as AlertsSent("webhook", "failed"); other 4xx fail at once; a full queue counts
// "dropped"; 2xx counts "ok". Per-sink order is preserved (one request at a time).
//
// Thread safety: as AlertSink (sink.h): every public function may be called from any thread;
// Stop() must not race the destructor. No exception escapes a public function.
#ifndef ABUSEWATCH_DAEMON_SINKS_WEBHOOK_SINK_H_
#define ABUSEWATCH_DAEMON_SINKS_WEBHOOK_SINK_H_

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "daemon/sinks/http_delivery.h"
#include "daemon/sinks/sink.h"
#include "detectors/status.h"
#include "detectors/transition.h"

namespace abusewatch {

class Metrics;

// "sha256=" + lowercase hex HMAC-SHA256(secret, body): the X-Abusewatch-Signature value.
// Empty only if OpenSSL fails (never in practice).
std::string WebhookSignature(std::string_view secret, std::string_view body);

class WebhookSink : public AlertSink {
 public:
  static constexpr char kSignatureHeader[] = "X-Abusewatch-Signature";

  struct Options {
    std::string url;          // http://host[:port][/path]; required
    std::string secret;       // HMAC key, raw bytes (the config reads it from a file or the
                              // environment); required, non-empty
    bool notify_only = true;  // only transitions of rules with `notify: true`
    size_t queue_capacity = 10'000;
    std::chrono::milliseconds request_timeout{10'000};
    int max_attempts = 5;  // values < 1 mean 1
    std::chrono::milliseconds initial_backoff{100};
    std::chrono::milliseconds max_backoff{5'000};
  };

  // Validates the options (URL, non-empty secret) and starts the worker thread. `metrics` may
  // be null; else it must outlive the sink.
  static Status Create(Options options, Metrics* metrics, std::unique_ptr<WebhookSink>* out);

  ~WebhookSink() override;  // Stop()s
  WebhookSink(const WebhookSink&) = delete;
  WebhookSink& operator=(const WebhookSink&) = delete;

  const std::string& name() const override { return name_; }  // "webhook"
  // Serializes and enqueues (never blocks on the network). After Stop(), counted "dropped".
  void OnTransition(const Transition& t, const RuleSet& rules) override;
  bool Flush(std::chrono::milliseconds timeout) override { return delivery_->Flush(timeout); }
  void Stop() override { delivery_->Stop(); }
  HttpDelivery::Stats stats() const { return delivery_->stats(); }

 private:
  WebhookSink(bool notify_only, std::unique_ptr<HttpDelivery> delivery)
      : notify_only_(notify_only), delivery_(std::move(delivery)) {}

  const bool notify_only_;
  const std::string name_ = "webhook";
  std::unique_ptr<HttpDelivery> delivery_;
};

}  // namespace abusewatch

#endif  // ABUSEWATCH_DAEMON_SINKS_WEBHOOK_SINK_H_
