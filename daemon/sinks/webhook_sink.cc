#include "daemon/sinks/webhook_sink.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <exception>
#include <stdexcept>
#include <utility>

#include "daemon/metrics/metrics.h"

namespace abusewatch {

std::string WebhookSignature(std::string_view secret, std::string_view body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  // HMAC() (one-shot) is not deprecated in OpenSSL 3. A null key pointer with length 0 is
  // fine for OpenSSL but Create() never allows an empty secret anyway.
  if (HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
           reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac,
           &len) == nullptr) {
    return std::string();
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "sha256=";
  out.reserve(7 + 2 * len);
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[mac[i] >> 4]);
    out.push_back(kHex[mac[i] & 0xf]);
  }
  return out;
}

Status WebhookSink::Create(Options options, Metrics* metrics, std::unique_ptr<WebhookSink>* out) {
  if (options.secret.empty()) return Status::InvalidArgument("webhook secret must not be empty");
  if (options.secret.size() > (1u << 20)) {
    return Status::InvalidArgument("webhook secret is longer than 1 MiB");
  }
  HttpDelivery::Options d;
  d.name = "webhook";
  d.url = options.url;
  d.framing = HttpDelivery::Framing::kSingle;
  d.max_batch = 1;
  d.queue_capacity = options.queue_capacity;
  d.request_timeout = options.request_timeout;
  d.max_attempts = options.max_attempts;
  d.initial_backoff = options.initial_backoff;
  d.max_backoff = options.max_backoff;
  d.content_type = "application/json";
  // The callback owns a copy of the secret; it runs on the delivery's worker thread only.
  d.body_headers = [secret = std::move(options.secret)](std::string_view body) {
    std::string sig = WebhookSignature(secret, body);
    if (sig.empty()) throw std::runtime_error("HMAC-SHA256 failed");
    return HttpDelivery::Headers{{kSignatureHeader, std::move(sig)}};
  };
  std::unique_ptr<HttpDelivery> delivery;
  if (Status s = HttpDelivery::Create(std::move(d), metrics, &delivery); !s.ok()) return s;
  try {
    out->reset(new WebhookSink(options.notify_only, std::move(delivery)));
  } catch (const std::exception& e) {
    return Status::Internal(std::string("webhook sink: ") + e.what());
  }
  return Status::Ok();
}

WebhookSink::~WebhookSink() { Stop(); }

void WebhookSink::OnTransition(const Transition& t, const RuleSet& rules) {
  if (t.rule < 0 || static_cast<size_t>(t.rule) >= rules.rules().size()) return;
  if (notify_only_ && !rules.rules()[t.rule].spec.notify) return;
  std::string body;
  try {
    AppendTransitionJson(t, rules, &body);
  } catch (...) {
    delivery_->CountDropped(1);  // out of memory: counted, never thrown into the engine
    return;
  }
  delivery_->Enqueue(std::move(body));
}

}  // namespace abusewatch
