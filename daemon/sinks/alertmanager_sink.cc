// The header includes <utility> first, as Boost 1.74 needs under GCC 12 + C++20.
#include "daemon/sinks/alertmanager_sink.h"

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <exception>

#include "daemon/metrics/metrics.h"
#include "detectors/timeutil.h"

namespace abusewatch {
namespace {

constexpr size_t kMaxBatch = 64;
constexpr std::string_view kSinkName = "alertmanager";

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

void AppendField(std::string_view name, std::string_view value, bool* first, std::string* out) {
  if (!*first) out->push_back(',');
  *first = false;
  AppendJsonString(name, out);
  out->push_back(':');
  AppendJsonString(value, out);
}

std::string Rfc3339(int64_t ms) { return FormatRfc3339Utc(ms); }

}  // namespace

std::string ClauseForRuleId(std::string_view id) {
  std::string_view base = id.substr(0, id.find(':'));
  if (base.substr(0, 3) != "art") return std::string(id);
  std::string_view rest = base.substr(3);
  size_t u1 = rest.find('_');
  if (u1 == std::string_view::npos) return std::string(id);
  std::string_view article = rest.substr(0, u1);
  if (!AllDigits(article)) return std::string(id);
  std::string_view tail = rest.substr(u1 + 1);
  std::string_view second = tail.substr(0, tail.find('_'));
  if (article == "12" && second == "p2") return "art12.2";
  if (!AllDigits(second)) return std::string(id);
  if (article == "12") return "art12.1." + std::string(second);
  if (article == "287") return "art287-" + std::string(second);
  return "art" + std::string(article) + "." + std::string(second);
}

Status AlertmanagerSink::Create(Options options, Metrics* metrics,
                                std::unique_ptr<AlertmanagerSink>* out) {
  std::string_view url = options.url;
  constexpr std::string_view kScheme = "http://";
  if (url.substr(0, kScheme.size()) != kScheme) {
    return Status::InvalidArgument("alertmanager url must start with http://: " + options.url);
  }
  std::string_view rest = url.substr(kScheme.size());
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string prefix(slash == std::string_view::npos ? std::string_view() : rest.substr(slash));
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  std::string host, port = "80";
  if (!authority.empty() && authority.front() == '[') {  // [v6]:port
    size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      return Status::InvalidArgument("alertmanager url: bad IPv6 host: " + options.url);
    }
    host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return Status::InvalidArgument("alertmanager url: " + options.url);
      port = std::string(after.substr(1));
    }
  } else {
    size_t colon = authority.rfind(':');
    host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = std::string(authority.substr(colon + 1));
  }
  if (host.empty()) return Status::InvalidArgument("alertmanager url has no host: " + options.url);
  if (!AllDigits(port) || port.size() > 5 || std::stoi(port) < 1 || std::stoi(port) > 65535) {
    return Status::InvalidArgument("alertmanager url has a bad port: " + options.url);
  }
  if (options.queue_capacity < 1) options.queue_capacity = 1;
  if (options.max_attempts < 1) options.max_attempts = 1;
  if (options.resend_interval.count() < 1) options.resend_interval = std::chrono::milliseconds(1);
  try {
    out->reset(new AlertmanagerSink(std::move(options), metrics, std::move(host), std::move(port),
                                    prefix + "/api/v2/alerts"));
  } catch (const std::exception& e) {
    return Status::Internal(std::string("alertmanager sink: ") + e.what());
  }
  return Status::Ok();
}

AlertmanagerSink::AlertmanagerSink(Options options, Metrics* metrics, std::string host,
                                   std::string port, std::string target)
    : options_(std::move(options)),
      metrics_(metrics),
      host_(std::move(host)),
      port_(std::move(port)),
      target_(std::move(target)) {
  worker_ = std::thread([this] { Run(); });
}

AlertmanagerSink::~AlertmanagerSink() { Stop(); }

void AlertmanagerSink::Stop() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  drained_.notify_all();
  if (worker_.joinable() && worker_.get_id() != std::this_thread::get_id()) worker_.join();
}

int64_t AlertmanagerSink::Now() const {
  if (options_.now_ms) return options_.now_ms();
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void AlertmanagerSink::Count(std::string_view result, size_t n) {
  if (metrics_ != nullptr && n > 0) {
    metrics_->AlertsSent(kSinkName, result).Increment(static_cast<double>(n));
  }
}

std::string AlertmanagerSink::AlertJson(const Firing& f, int64_t ends_at_ms) const {
  std::string out;
  out.reserve(f.labels.size() + f.annotations.size() + 96);
  out.append("{\"labels\":");
  out.append(f.labels);
  out.append(",\"annotations\":");
  out.append(f.annotations);
  out.append(",\"startsAt\":\"");
  out.append(Rfc3339(f.starts_at_ms));
  out.append("\",\"endsAt\":\"");
  out.append(Rfc3339(ends_at_ms));
  out.append("\"}");
  return out;
}

void AlertmanagerSink::Enqueue(std::string alert) {
  if (stop_) return;
  if (queue_.size() >= options_.queue_capacity) {
    ++stats_.dropped;
    Count("dropped", 1);
    return;
  }
  queue_.push_back(std::move(alert));
  cv_.notify_all();
}

void AlertmanagerSink::OnTransition(const Transition& t, const RuleSet& rules) {
  try {
    if (t.rule < 0 || static_cast<size_t>(t.rule) >= rules.rules().size()) return;
    const CompiledRule& r = rules.rules()[t.rule];
    if (!r.spec.notify) return;

    Firing f;
    bool first = true;
    f.labels.push_back('{');
    AppendField("alertname", r.spec.id, &first, &f.labels);
    AppendField("severity", SeverityName(r.spec.severity), &first, &f.labels);
    AppendField(FieldName(r.spec.group_by), t.key, &first, &f.labels);
    AppendField("clause", ClauseForRuleId(r.spec.id), &first, &f.labels);
    f.labels.push_back('}');

    first = true;
    f.annotations.push_back('{');
    if (t.has_value) {
      bool sum = r.spec.aggregate == Aggregate::kSum;
      AppendField("value", sum ? FormatScaled(t.value, 2) : FormatInt(t.value), &first,
                  &f.annotations);
      AppendField("threshold", sum ? FormatScaled(r.line, 2) : FormatInt(r.line), &first,
                  &f.annotations);
    }
    std::string events;
    for (size_t i = 0; i < t.events.size(); ++i) {
      if (i > 0) events.push_back(',');
      events.append(t.events[i]);
    }
    AppendField("events", events, &first, &f.annotations);
    AppendField("basis", r.spec.basis, &first, &f.annotations);
    AppendField("explain_zh", r.spec.explain_zh, &first, &f.annotations);
    AppendField("explain_en", r.spec.explain_en, &first, &f.annotations);
    AppendField("at", Rfc3339(t.at_ms), &first, &f.annotations);
    f.annotations.push_back('}');

    std::string id = r.spec.id;
    id.push_back('\0');
    id.append(t.key);

    std::lock_guard<std::mutex> lk(mu_);
    if (stop_) return;
    const int64_t ends_ahead = options_.ends_ahead.count();
    if (t.firing) {
      f.starts_at_ms = t.at_ms;
      int64_t now = Now();
      f.last_sent_ms = now;
      int64_t ends = now + ends_ahead;
      if (ends <= f.starts_at_ms) ends = f.starts_at_ms + std::max<int64_t>(ends_ahead, 1);
      Enqueue(AlertJson(f, ends));
      firing_[id] = std::move(f);
    } else {
      auto it = firing_.find(id);
      f.starts_at_ms = it != firing_.end() ? std::min(it->second.starts_at_ms, t.at_ms) : t.at_ms;
      if (it != firing_.end()) firing_.erase(it);
      Enqueue(AlertJson(f, t.at_ms));
    }
  } catch (...) {
    // Out of memory while building the alert: count it as dropped rather than throw into
    // the engine.
    std::lock_guard<std::mutex> lk(mu_);
    ++stats_.dropped;
    try {
      Count("dropped", 1);
    } catch (...) {
    }
  }
}

size_t AlertmanagerSink::ResendDue() {
  std::lock_guard<std::mutex> lk(mu_);
  try {
    return ResendDueLocked();
  } catch (...) {
    return 0;
  }
}

size_t AlertmanagerSink::ResendDueLocked() {
  if (stop_ || firing_.empty()) return 0;
  const int64_t now = Now();
  const int64_t interval = options_.resend_interval.count();
  const int64_t ends_ahead = options_.ends_ahead.count();
  size_t n = 0;
  for (auto& [id, f] : firing_) {
    if (now - f.last_sent_ms < interval) continue;
    f.last_sent_ms = now;
    int64_t ends = now + ends_ahead;
    if (ends <= f.starts_at_ms) ends = f.starts_at_ms + std::max<int64_t>(ends_ahead, 1);
    Enqueue(AlertJson(f, ends));
    ++n;
  }
  return n;
}

bool AlertmanagerSink::Flush(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lk(mu_);
  return drained_.wait_for(lk, timeout, [&] { return stop_ || (queue_.empty() && !in_flight_); }) &&
         queue_.empty() && !in_flight_;
}

AlertmanagerSink::Stats AlertmanagerSink::stats() const {
  std::lock_guard<std::mutex> lk(mu_);
  Stats s = stats_;
  s.firing = firing_.size();
  s.queued = queue_.size();
  return s;
}

void AlertmanagerSink::Run() {
  using Clock = std::chrono::steady_clock;
  const auto tick = std::clamp(options_.resend_interval, std::chrono::milliseconds(10),
                               std::chrono::milliseconds(1000));
  auto next_resend_check = Clock::now() + tick;
  std::unique_lock<std::mutex> lk(mu_);
  while (!stop_) {
    try {
      if (Clock::now() >= next_resend_check) {
        ResendDueLocked();
        next_resend_check = Clock::now() + tick;
      }
      if (queue_.empty()) {
        cv_.wait_until(lk, next_resend_check, [&] { return stop_ || !queue_.empty(); });
        continue;
      }
      std::string body = "[";
      size_t n = 0;
      while (!queue_.empty() && n < kMaxBatch) {
        if (n > 0) body.push_back(',');
        body.append(queue_.front());
        queue_.pop_front();
        ++n;
      }
      body.push_back(']');
      in_flight_ = true;

      bool ok = false;
      auto backoff = options_.initial_backoff;
      for (int attempt = 1; attempt <= options_.max_attempts && !stop_; ++attempt) {
        ++stats_.requests;
        lk.unlock();
        try {
          ok = Deliver(body);
        } catch (...) {
          ok = false;
        }
        lk.lock();
        if (ok || last_status_permanent_) break;
        if (attempt == options_.max_attempts) break;
        cv_.wait_for(lk, backoff, [&] { return stop_; });
        backoff = std::min(backoff * 2, options_.max_backoff);
      }
      if (ok) {
        stats_.ok += n;
        Count("ok", n);
      } else {
        stats_.failed += n;
        Count("failed", n);
      }
      in_flight_ = false;
      if (queue_.empty()) drained_.notify_all();
    } catch (...) {
      // Never let an exception end the thread silently; keep serving.
      if (!lk.owns_lock()) lk.lock();
      in_flight_ = false;
    }
  }
  in_flight_ = false;
  drained_.notify_all();
}

// One POST over a fresh connection; every step bounded by request_timeout. Sets
// last_status_permanent_ for answers a retry cannot fix (4xx other than 408/429).
bool AlertmanagerSink::Deliver(const std::string& body) {
  namespace asio = boost::asio;
  namespace beast = boost::beast;
  namespace http = beast::http;
  using tcp = asio::ip::tcp;

  last_status_permanent_ = false;
  asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  tcp::resolver resolver(ioc);
  beast::error_code ec;
  auto endpoints = resolver.resolve(host_, port_, ec);
  if (ec) return false;

  http::request<http::string_body> req{http::verb::post, target_, 11};
  req.set(http::field::host, host_ + ":" + port_);
  req.set(http::field::user_agent, "abusewatch");
  req.set(http::field::content_type, "application/json");
  req.set(http::field::connection, "close");
  req.body() = body;
  req.prepare_payload();

  http::response<http::string_body> res;
  beast::flat_buffer buffer;
  beast::error_code result = asio::error::would_block;
  const auto timeout = options_.request_timeout;

  stream.expires_after(timeout);
  stream.async_connect(endpoints, [&](beast::error_code e, const tcp::endpoint&) {
    if (e) {
      result = e;
      return;
    }
    stream.expires_after(timeout);
    http::async_write(stream, req, [&](beast::error_code e2, size_t) {
      if (e2) {
        result = e2;
        return;
      }
      stream.expires_after(timeout);
      http::async_read(stream, buffer, res, [&](beast::error_code e3, size_t) { result = e3; });
    });
  });
  ioc.run();
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  if (result) return false;
  unsigned code = res.result_int();
  if (code >= 200 && code < 300) return true;
  if (code >= 400 && code < 500 && code != 408 && code != 429) last_status_permanent_ = true;
  return false;
}

}  // namespace abusewatch
