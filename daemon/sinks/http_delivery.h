// HttpDelivery: the delivery half of the HTTP sinks (Alertmanager, webhook). Serialized items
// are handed over with Enqueue() and POSTed by one worker thread.
//
// Delivery: a bounded queue of items drained by one worker thread. Each request carries up to
// Options::max_batch items framed as Options::framing says:
//   kJsonArray  the body is "[item,item,...]" (Alertmanager's POST /api/v2/alerts);
//   kSingle     the body is the item itself, one request per item (webhooks).
// HTTP/1.1 over Boost.Beast, a new connection per request (`Connection: close`), each step
// (resolve+connect, write, read) bounded by request_timeout. A 2xx answer counts the request's
// items as AlertsSent(<name>, "ok"). A connection error, timeout, 5xx, 408 or 429 is retried
// with exponential backoff (initial_backoff doubling up to max_backoff) until max_attempts
// attempts, then the items count as "failed"; any other answer (e.g. 400) fails at once.
// When the queue is full the new item is refused and counted as "dropped" (never silent);
// items discarded by Stop() and items enqueued after Stop() are counted as "dropped" too.
// Only plain `http://` URLs are supported (no TLS): put a local TLS-terminating proxy in front
// of a remote HTTPS endpoint.
//
// Headers of every request: Host, User-Agent: abusewatch, Content-Type (Options::content_type),
// Connection: close, Content-Length, then Options::headers, then what Options::body_headers
// returns for the body (computed once per request body, on the worker thread, e.g. an HMAC
// signature).
//
// Periodic work: when Options::periodic is set, the worker calls it about every
// periodic_interval (clamped to [10 ms, 1 s]) of steady-clock time, with no HttpDelivery lock
// held, so it may call Enqueue() (Alertmanager re-sends).
//
// Thread safety: Enqueue(), Flush(), Stop() and stats() may be called from any thread,
// concurrently; one mutex guards the queue and the counters, and no lock is held during network
// I/O or while calling Options callbacks. Stop() must not race the destructor, and must not be
// called from the callbacks. No exception escapes a public function or the worker thread.
#ifndef ABUSEWATCH_DAEMON_SINKS_HTTP_DELIVERY_H_
#define ABUSEWATCH_DAEMON_SINKS_HTTP_DELIVERY_H_

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>  // before any Boost header (Boost 1.74 + GCC 12 + C++20)
#include <vector>

#include "detectors/status.h"

namespace abusewatch {

class Metrics;

// An http:// URL split into what a request needs.
struct HttpUrl {
  std::string host;  // without brackets for IPv6 literals
  std::string port;  // decimal, "80" when the URL has none
  std::string path;  // the URL's path without trailing '/' ("" for "http://h:1/")
};

// Parses "http://host[:port][/path]" (IPv6 literals as "[::1]"). A query or fragment is kept as
// part of the path. InvalidArgument naming `what` (e.g. "webhook url") on anything else.
Status ParseHttpUrl(std::string_view url, std::string_view what, HttpUrl* out);

class HttpDelivery {
 public:
  enum class Framing { kJsonArray, kSingle };
  using Headers = std::vector<std::pair<std::string, std::string>>;

  struct Options {
    // The `sink` label of abusewatch_alerts_sent_total and the name in error messages.
    std::string name = "http";
    std::string url;          // http://host[:port][/path]
    std::string append_path;  // appended to the URL's path, e.g. "/api/v2/alerts"; the
                              // request target is "/" when both are empty
    Framing framing = Framing::kJsonArray;
    size_t max_batch = 64;           // items per request with kJsonArray; values < 1 mean 1
    size_t queue_capacity = 10'000;  // items waiting for delivery; values < 1 mean 1
    std::chrono::milliseconds request_timeout{10'000};
    int max_attempts = 5;  // values < 1 mean 1
    std::chrono::milliseconds initial_backoff{100};
    std::chrono::milliseconds max_backoff{5'000};
    std::string content_type = "application/json";
    Headers headers;  // extra headers on every request; names and values must not hold CR/LF
    // Extra headers for one request body (e.g. a signature). Called on the worker thread,
    // once per request body (retries reuse the result); must be thread-safe with respect to the
    // caller's own state. An exception thrown counts the request's items as "failed".
    std::function<Headers(std::string_view body)> body_headers;
    // Called on the worker thread about every periodic_interval; see the file comment.
    std::function<void()> periodic;
    std::chrono::milliseconds periodic_interval{1'000};
  };

  struct Stats {
    uint64_t ok = 0;        // items delivered (2xx)
    uint64_t failed = 0;    // items given up on
    uint64_t dropped = 0;   // items refused (queue full, after Stop) or discarded by Stop()
    uint64_t requests = 0;  // HTTP attempts made
    size_t queued = 0;      // items waiting (not counting a request in flight)
  };

  // Validates the options (URL, header values) and starts the worker thread. `metrics` may be
  // null; else it must outlive the HttpDelivery.
  static Status Create(Options options, Metrics* metrics, std::unique_ptr<HttpDelivery>* out);

  ~HttpDelivery();  // Stop()s
  HttpDelivery(const HttpDelivery&) = delete;
  HttpDelivery& operator=(const HttpDelivery&) = delete;

  // Queues one item (never blocks on the network). Returns false (and counts "dropped") when
  // the queue is full or the delivery is stopped.
  bool Enqueue(std::string item);

  // Counts `n` items the caller could not even build (e.g. out of memory) as "dropped".
  void CountDropped(size_t n);

  // Waits until the queue is empty and no request is in flight, or `timeout` passed, or
  // Stop(). Returns true when drained.
  bool Flush(std::chrono::milliseconds timeout);

  // Idempotent. Stops the worker (interrupting a backoff wait; a request in flight finishes or
  // times out, and is counted by its outcome) and joins it. Items still queued are discarded
  // and counted as "dropped": Flush() first.
  void Stop();

  Stats stats() const;
  const std::string& name() const { return options_.name; }

 private:
  HttpDelivery(Options options, Metrics* metrics, HttpUrl url, std::string target);
  void Run();
  // One POST; true on 2xx. *permanent: a retry cannot help (4xx other than 408/429).
  bool Post(const std::string& body, const Headers& extra, bool* permanent) const;
  void Count(std::string_view result, size_t n);

  const Options options_;
  Metrics* const metrics_;
  const HttpUrl url_;
  const std::string target_;

  mutable std::mutex mu_;
  std::condition_variable cv_;       // worker: queue non-empty or stop
  std::condition_variable drained_;  // Flush(): queue empty and nothing in flight
  std::deque<std::string> queue_;
  bool in_flight_ = false;
  bool stop_ = false;
  Stats stats_;
  std::thread worker_;
};

}  // namespace abusewatch

#endif  // ABUSEWATCH_DAEMON_SINKS_HTTP_DELIVERY_H_
