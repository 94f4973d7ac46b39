// The header includes <utility> first, as Boost 1.74 needs under GCC 12 + C++20.
#include "daemon/sinks/http_delivery.h"

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <exception>

#include "daemon/metrics/metrics.h"

namespace abusewatch {
namespace {

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool SafeHeaderText(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

bool ValidHeaderName(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

}  // namespace

Status ParseHttpUrl(std::string_view url, std::string_view what, HttpUrl* out) {
  const std::string w(what);
  const std::string u(url);
  constexpr std::string_view kScheme = "http://";
  if (url.substr(0, kScheme.size()) != kScheme) {
    return Status::InvalidArgument(w + " must start with http://: " + u);
  }
  if (!SafeHeaderText(url) || url.find_first_of(" \t") != std::string_view::npos) {
    return Status::InvalidArgument(w + " has control characters or spaces: " + u);
  }
  std::string_view rest = url.substr(kScheme.size());
  size_t slash = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, slash);
  std::string path(slash == std::string_view::npos ? std::string_view() : rest.substr(slash));
  if (!path.empty() && path.front() != '/') path.insert(path.begin(), '/');
  while (!path.empty() && path.back() == '/') path.pop_back();
  if (authority.find('@') != std::string_view::npos) {
    return Status::InvalidArgument(w + " must not hold user info: " + u);
  }
  std::string host, port = "80";
  if (!authority.empty() && authority.front() == '[') {  // [v6]:port
    size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      return Status::InvalidArgument(w + ": bad IPv6 host: " + u);
    }
    host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return Status::InvalidArgument(w + ": " + u);
      port = std::string(after.substr(1));
    }
  } else {
    size_t colon = authority.rfind(':');
    host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = std::string(authority.substr(colon + 1));
  }
  if (host.empty()) return Status::InvalidArgument(w + " has no host: " + u);
  if (!AllDigits(port) || port.size() > 5 || std::stoi(port) < 1 || std::stoi(port) > 65535) {
    return Status::InvalidArgument(w + " has a bad port: " + u);
  }
  out->host = std::move(host);
  out->port = std::move(port);
  out->path = std::move(path);
  return Status::Ok();
}

Status HttpDelivery::Create(Options options, Metrics* metrics, std::unique_ptr<HttpDelivery>* out) {
  HttpUrl url;
  if (Status s = ParseHttpUrl(options.url, options.name + " url", &url); !s.ok()) return s;
  if (!SafeHeaderText(options.append_path) ||
      (!options.append_path.empty() && options.append_path.front() != '/')) {
    return Status::InvalidArgument(options.name + ": bad path " + options.append_path);
  }
  if (!SafeHeaderText(options.content_type)) {
    return Status::InvalidArgument(options.name + ": bad content type");
  }
  for (const auto& [name, value] : options.headers) {
    if (!ValidHeaderName(name) || !SafeHeaderText(value)) {
      return Status::InvalidArgument(options.name + ": bad header " + name);
    }
  }
  if (options.queue_capacity < 1) options.queue_capacity = 1;
  if (options.max_batch < 1) options.max_batch = 1;
  if (options.max_attempts < 1) options.max_attempts = 1;
  options.periodic_interval = std::clamp(options.periodic_interval, std::chrono::milliseconds(10),
                                         std::chrono::milliseconds(1000));
  std::string target = url.path + options.append_path;
  if (target.empty()) target = "/";
  const std::string name = options.name;
  try {
    out->reset(new HttpDelivery(std::move(options), metrics, std::move(url), std::move(target)));
  } catch (const std::exception& e) {
    return Status::Internal(name + ": " + e.what());
  }
  return Status::Ok();
}

HttpDelivery::HttpDelivery(Options options, Metrics* metrics, HttpUrl url, std::string target)
    : options_(std::move(options)),
      metrics_(metrics),
      url_(std::move(url)),
      target_(std::move(target)) {
  worker_ = std::thread([this] { Run(); });
}

HttpDelivery::~HttpDelivery() { Stop(); }

void HttpDelivery::Stop() {
  size_t discarded = 0;
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
    discarded = queue_.size();
    queue_.clear();
    stats_.dropped += discarded;
  }
  Count("dropped", discarded);
  cv_.notify_all();
  drained_.notify_all();
  if (worker_.joinable() && worker_.get_id() != std::this_thread::get_id()) worker_.join();
}

void HttpDelivery::Count(std::string_view result, size_t n) {
  if (metrics_ == nullptr || n == 0) return;
  try {
    metrics_->AlertsSent(options_.name, result).Increment(static_cast<double>(n));
  } catch (...) {
    // Out of memory creating the series: the Stats still count it.
  }
}

bool HttpDelivery::Enqueue(std::string item) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (!stop_ && queue_.size() < options_.queue_capacity) {
      try {
        queue_.push_back(std::move(item));
      } catch (...) {
        ++stats_.dropped;
        Count("dropped", 1);
        return false;
      }
      cv_.notify_all();
      return true;
    }
    ++stats_.dropped;
  }
  Count("dropped", 1);
  return false;
}

void HttpDelivery::CountDropped(size_t n) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stats_.dropped += n;
  }
  Count("dropped", n);
}

bool HttpDelivery::Flush(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lk(mu_);
  drained_.wait_for(lk, timeout, [&] { return stop_ || (queue_.empty() && !in_flight_); });
  return queue_.empty() && !in_flight_;
}

HttpDelivery::Stats HttpDelivery::stats() const {
  std::lock_guard<std::mutex> lk(mu_);
  Stats s = stats_;
  s.queued = queue_.size();
  return s;
}

void HttpDelivery::Run() {
  using Clock = std::chrono::steady_clock;
  const auto tick = options_.periodic_interval;
  auto next_periodic = Clock::now() + tick;
  std::unique_lock<std::mutex> lk(mu_);
  while (!stop_) {
    try {
      if (options_.periodic && Clock::now() >= next_periodic) {
        lk.unlock();
        try {
          options_.periodic();
        } catch (...) {
        }
        lk.lock();
        next_periodic = Clock::now() + tick;
        continue;
      }
      if (queue_.empty()) {
        if (options_.periodic) {
          cv_.wait_until(lk, next_periodic, [&] { return stop_ || !queue_.empty(); });
        } else {
          cv_.wait(lk, [&] { return stop_ || !queue_.empty(); });
        }
        continue;
      }
      std::string body;
      size_t n = 0;
      if (options_.framing == Framing::kSingle) {
        body = std::move(queue_.front());
        queue_.pop_front();
        n = 1;
      } else {
        body.push_back('[');
        while (!queue_.empty() && n < options_.max_batch) {
          if (n > 0) body.push_back(',');
          body.append(queue_.front());
          queue_.pop_front();
          ++n;
        }
        body.push_back(']');
      }
      in_flight_ = true;
      lk.unlock();

      bool ok = false;
      bool headers_ok = true;
      Headers extra;
      if (options_.body_headers) {
        try {
          extra = options_.body_headers(body);
        } catch (...) {
          headers_ok = false;
        }
      }
      lk.lock();
      auto backoff = options_.initial_backoff;
      for (int attempt = 1; headers_ok && attempt <= options_.max_attempts && !stop_; ++attempt) {
        ++stats_.requests;
        lk.unlock();
        bool permanent = false;
        try {
          ok = Post(body, extra, &permanent);
        } catch (...) {
          ok = false;
        }
        lk.lock();
        if (ok || permanent || attempt == options_.max_attempts) break;
        cv_.wait_for(lk, backoff, [&] { return stop_; });
        backoff = std::min(backoff * 2, options_.max_backoff);
      }
      if (ok) {
        stats_.ok += n;
      } else {
        stats_.failed += n;
      }
      in_flight_ = false;
      lk.unlock();
      Count(ok ? "ok" : "failed", n);
      lk.lock();
      if (queue_.empty()) drained_.notify_all();
    } catch (...) {
      // Never let an exception end the thread silently; keep serving.
      if (!lk.owns_lock()) lk.lock();
      in_flight_ = false;
      if (queue_.empty()) drained_.notify_all();
    }
  }
  in_flight_ = false;
  drained_.notify_all();
}

// One POST over a fresh connection; every step bounded by request_timeout.
bool HttpDelivery::Post(const std::string& body, const Headers& extra, bool* permanent) const {
  namespace asio = boost::asio;
  namespace beast = boost::beast;
  namespace http = beast::http;
  using tcp = asio::ip::tcp;

  *permanent = false;
  asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  tcp::resolver resolver(ioc);
  http::request<http::string_body> req{http::verb::post, target_, 11};
  const bool v6 = url_.host.find(':') != std::string::npos;
  req.set(http::field::host, (v6 ? "[" + url_.host + "]" : url_.host) + ":" + url_.port);
  req.set(http::field::user_agent, "abusewatch");
  req.set(http::field::content_type, options_.content_type);
  req.set(http::field::connection, "close");
  for (const auto& [name, value] : options_.headers) req.set(name, value);
  for (const auto& [name, value] : extra) {
    if (ValidHeaderName(name) && SafeHeaderText(value)) req.set(name, value);
  }
  req.body() = body;
  req.prepare_payload();

  http::response<http::string_body> res;
  beast::flat_buffer buffer;
  beast::error_code result = asio::error::would_block;
  const auto timeout = options_.request_timeout;

  // Resolution is asynchronous too, so that the request timeout bounds it.
  asio::steady_timer resolve_deadline(ioc);
  resolve_deadline.expires_after(timeout);
  resolve_deadline.async_wait([&](beast::error_code e) {
    if (!e) resolver.cancel();
  });
  resolver.async_resolve(
      url_.host, url_.port, [&](beast::error_code e, tcp::resolver::results_type endpoints) {
        resolve_deadline.cancel();
        if (e) {
          result = e;
          return;
        }
        stream.expires_after(timeout);
        stream.async_connect(endpoints, [&](beast::error_code e1, const tcp::endpoint&) {
          if (e1) {
            result = e1;
            return;
          }
          stream.expires_after(timeout);
          http::async_write(stream, req, [&](beast::error_code e2, size_t) {
            if (e2) {
              result = e2;
              return;
            }
            stream.expires_after(timeout);
            http::async_read(stream, buffer, res,
                             [&](beast::error_code e3, size_t) { result = e3; });
          });
        });
      });
  ioc.run();
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  if (result) return false;
  unsigned code = res.result_int();
  if (code >= 200 && code < 300) return true;
  if (code >= 400 && code < 500 && code != 408 && code != 429) *permanent = true;
  return false;
}

}  // namespace abusewatch
