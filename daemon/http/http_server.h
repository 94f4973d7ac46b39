// HttpServer: a small HTTP/1.1 server (Boost.Beast over Asio) for the daemon's one port:
// /metrics, /healthz, /readyz and, later, the review API.
//
// Exact-path routing (plus prefix routes, see RoutePrefix), keep-alive, Content-Length on every
// response, `Server: abusewatch`. Errors the server answers by itself (then closes the connection):
//   400 malformed request (bad request line, header, target, chunking),
//   404 unknown path, 405 known path with another method (with `Allow`),
//   413 body over Options::max_body_bytes, 431 header block over 16 KiB,
//   500 a handler threw (the exception is caught on the server thread; serving goes on).
// HEAD is served by the GET route (or "*") with the same headers and no body. A request with
// `Expect: 100-continue` gets the interim response before its body is read.
// Idle or slow connections are closed after Options::read_timeout (per read and per write).
//
// Thread safety:
//   - Route() must be called before Start(); later calls are ignored.
//   - Start(), Stop(), port() may be called from any thread, but not concurrently with the
//     destructor. Stop() from inside a handler initiates the shutdown and returns without
//     joining (the destructor, on another thread, joins).
//   - Handlers run on the server's thread(s): with Options::threads > 1, different connections
//     are served concurrently, so a handler must be thread-safe and should not block for long
//     (it holds a server thread). Requests on one connection are handled one at a time.
//   - No exception escapes a public function; failures are reported as a Status.
#ifndef ABUSEWATCH_DAEMON_HTTP_HTTP_SERVER_H_
#define ABUSEWATCH_DAEMON_HTTP_HTTP_SERVER_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "detectors/status.h"

namespace abusewatch {

struct HttpRequest {
  std::string method;                          // as sent, e.g. "GET", "HEAD", "POST"
  std::string target;                          // as sent, e.g. "/api/v1/accounts?state=firing"
  std::string path;                            // target before '?', not percent-decoded
  std::string query;                           // target after '?', without it; empty when none
  std::map<std::string, std::string> headers;  // lower-case names; repeats joined with ", "
  std::string body;
};

struct HttpResponse {
  int status = 200;  // 200..599; anything else is answered as 500
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  // Extra headers (Server and Content-Type replace the defaults). Invalid names, values with
  // CR/LF/NUL, and Content-Length, Transfer-Encoding, Connection are dropped.
  std::vector<std::pair<std::string, std::string>> headers;
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

class HttpServer {
 public:
  struct Options {
    std::string address = "127.0.0.1";  // IPv4 or IPv6 literal
    uint16_t port = 9464;               // 0: an ephemeral port, see port()
    size_t max_body_bytes = 1 << 20;
    int threads = 1;  // values < 1 mean 1
    std::chrono::milliseconds read_timeout{10000};
  };

  explicit HttpServer(Options o);
  ~HttpServer();  // Stop()s
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Exact-path route; `method` is "GET", "POST", ... or "*" (any method). A later
  // registration of the same (method, path) replaces the earlier one.
  void Route(std::string method, std::string path, HttpHandler handler);

  // Prefix route: serves every path that starts with `prefix` (e.g. "/api/v1/cases/") and has
  // no exact route. When several prefixes match, the longest wins; its methods decide 405 as for
  // an exact route. `method` and replacement as for Route(). The handler sees the full path.
  void RoutePrefix(std::string method, std::string prefix, HttpHandler handler);

  // Binds, listens and starts the thread(s). Returns an error Status (never throws) when the
  // address is invalid or the port cannot be bound; the server may then be started again.
  // A server that was started once (and possibly stopped) cannot be started again.
  Status Start();

  // The bound port after a successful Start() (the actual one when Options::port was 0);
  // otherwise 0.
  uint16_t port() const;

  // Idempotent. Closes the listener and every open connection (idle ones at once; a request
  // being handled finishes first), then joins the threads.
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace abusewatch

#endif  // ABUSEWATCH_DAEMON_HTTP_HTTP_SERVER_H_
