// The header includes <utility> first, as Boost 1.74 needs under GCC 12 + C++20.
#include "daemon/http/http_server.h"

#include <algorithm>
#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <unordered_map>

namespace abusewatch {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

constexpr size_t kHeaderLimit = 16 * 1024;
// After an error response the connection is half-closed and what the client still sends is
// read and discarded (up to this much, for up to this long) so the close does not reset the
// connection before the client has read the response.
constexpr size_t kDrainLimit = 1 << 20;
constexpr std::chrono::milliseconds kDrainTimeout{1000};
constexpr std::chrono::milliseconds kAcceptRetryDelay{50};
// Stop() waits this long for the threads to run out of work before stopping the io_context.
constexpr std::chrono::seconds kStopGrace{5};
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

bool IEquals(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

// Beast 1.74 uses boost::string_view.
std::string_view SV(beast::string_view s) { return std::string_view(s.data(), s.size()); }

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

HttpResponse Plain(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

class Session;

// What the acceptor and the sessions share; outlives both (held by shared_ptr).
struct Shared {
  HttpServer::Options options;
  // path → method → handler; immutable once the server is started.
  std::map<std::string, std::map<std::string, HttpHandler>, std::less<>> routes;
  // prefix → method → handler; same lifetime rules as routes.
  std::map<std::string, std::map<std::string, HttpHandler>, std::less<>> prefix_routes;
  std::atomic<bool> stopping{false};
  std::mutex mu;  // guards next_id and sessions
  uint64_t next_id = 0;
  std::unordered_map<uint64_t, std::weak_ptr<Session>> sessions;
};

HttpResponse Dispatch(const Shared& shared, const HttpRequest& req) {
  if (req.path.empty() || req.path[0] != '/') return Plain(400, "bad request target\n");
  const std::map<std::string, HttpHandler>* found = nullptr;
  auto route = shared.routes.find(req.path);
  if (route != shared.routes.end()) {
    found = &route->second;
  } else {
    size_t best = 0;
    for (const auto& [prefix, handlers] : shared.prefix_routes) {
      if (prefix.size() >= best && req.path.compare(0, prefix.size(), prefix) == 0) {
        best = prefix.size();
        found = &handlers;
      }
    }
  }
  if (found == nullptr) return Plain(404, "not found\n");
  const auto& methods = *found;
  auto it = methods.find(req.method);
  if (it == methods.end() && req.method == "HEAD") it = methods.find("GET");
  if (it == methods.end()) it = methods.find("*");
  if (it == methods.end()) {
    HttpResponse r = Plain(405, "method not allowed\n");
    std::string allow;
    for (const auto& [method, handler] : methods) {
      allow += allow.empty() ? "" : ", ";
      allow += method;
      if (method == "GET" && methods.count("HEAD") == 0) allow += ", HEAD";
    }
    r.headers.emplace_back("Allow", allow);
    return r;
  }
  try {
    return it->second(req);
  } catch (...) {
    return Plain(500, "internal server error\n");
  }
}

HttpRequest ToRequest(http::request<http::string_body>&& req) {
  HttpRequest r;
  r.method = std::string(SV(req.method_string()));
  r.target = std::string(SV(req.target()));
  size_t q = r.target.find('?');
  r.path = r.target.substr(0, q);
  if (q != std::string::npos) r.query = r.target.substr(q + 1);
  for (const auto& field : req) {
    std::string_view value = SV(field.value());
    auto [it, inserted] = r.headers.emplace(Lower(SV(field.name_string())), std::string(value));
    if (!inserted) {
      it->second += ", ";
      it->second += value;
    }
  }
  r.body = std::move(req.body());
  return r;
}

bool ValidHeader(const std::string& name, const std::string& value) {
  if (name.empty()) return false;
  for (char c : name) {
    if (c <= ' ' || c == ':' || c == 0x7f) return false;
  }
  return value.find_first_of("\r\n", 0, 3) == std::string::npos;  // CR, LF, NUL
}

// One connection: reads a request, answers it, and repeats while keep-alive. Every step runs
// on the connection's strand.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, std::shared_ptr<Shared> shared)
      : stream_(std::move(socket)), shared_(std::move(shared)) {}

  ~Session() {
    std::lock_guard<std::mutex> lock(shared_->mu);
    shared_->sessions.erase(id_);
  }

  // Registers the session and starts reading; closes at once when the server is stopping.
  void Start() {
    {
      std::lock_guard<std::mutex> lock(shared_->mu);
      if (!shared_->stopping.load()) {
        id_ = ++shared_->next_id;
        shared_->sessions.emplace(id_, weak_from_this());
      }
    }
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      if (self->id_ == 0) return self->DoClose();
      self->ReadHeader();
    });
  }

  // Called by Stop() from any thread: closes the connection unless a response is being
  // written (that one ends the connection when done).
  void Close() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      if (!self->writing_) self->DoClose();
    });
  }

 private:
  const HttpServer::Options& options() const { return shared_->options; }

  void ReadHeader() {
    if (closed_ || shared_->stopping.load()) return DoClose();
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(kHeaderLimit));
    parser_->body_limit(static_cast<std::uint64_t>(options().max_body_bytes));
    stream_.expires_after(options().read_timeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&Session::OnHeader, shared_from_this()));
  }

  void OnHeader(beast::error_code ec, size_t) {
    if (ec) return OnReadError(ec);
    const auto& req = parser_->get();
    if (!parser_->is_done() && req.version() >= 11 &&
        IEquals(SV(req[http::field::expect]), "100-continue")) {
      stream_.expires_after(options().read_timeout);
      net::async_write(stream_, net::buffer(kContinue.data(), kContinue.size()),
                       beast::bind_front_handler(&Session::OnContinue, shared_from_this()));
      return;
    }
    ReadBody();
  }

  void OnContinue(beast::error_code ec, size_t) {
    if (ec) return DoClose();
    ReadBody();
  }

  void ReadBody() {
    if (parser_->is_done()) return Handle();
    stream_.expires_after(options().read_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::OnBody, shared_from_this()));
  }

  void OnBody(beast::error_code ec, size_t) {
    if (ec) return OnReadError(ec);
    Handle();
  }

  void OnReadError(beast::error_code ec) {
    if (closed_) return;
    if (ec == http::error::body_limit) return SendError(413, "payload too large\n");
    if (ec == http::error::header_limit) return SendError(431, "request header too large\n");
    bool parse_error = ec.category() == http::make_error_code(http::error::bad_target).category();
    if (parse_error && ec != http::error::end_of_stream && ec != http::error::partial_message) {
      return SendError(400, "bad request\n");
    }
    DoClose();  // end of stream, reset, timeout, cancelled by Stop()
  }

  void SendError(int status, std::string body) {
    Write(Plain(status, std::move(body)), /*version=*/11, /*keep_alive=*/false, /*head=*/false);
  }

  void Handle() {
    if (closed_) return;
    try {
      http::request<http::string_body> req = parser_->release();
      parser_.reset();
      unsigned version = req.version();
      bool keep_alive = req.keep_alive();
      bool head = req.method() == http::verb::head;
      HttpRequest in = ToRequest(std::move(req));
      HttpResponse out = Dispatch(*shared_, in);
      Write(std::move(out), version, keep_alive && !shared_->stopping.load(), head);
    } catch (...) {  // only allocation failures can get here
      DoClose();
    }
  }

  void Write(HttpResponse out, unsigned version, bool keep_alive, bool head) {
    if (out.status < 200 || out.status > 599) out = Plain(500, "internal server error\n");
    res_.emplace();
    http::response<http::string_body>& res = *res_;
    res.result(static_cast<unsigned>(out.status));
    res.version(version == 10 ? 10 : 11);
    res.set(http::field::server, "abusewatch");
    if (!out.content_type.empty() && ValidHeader("Content-Type", out.content_type)) {
      res.set(http::field::content_type, out.content_type);
    }
    for (const auto& [name, value] : out.headers) {
      if (!ValidHeader(name, value) || IEquals(name, "content-length") ||
          IEquals(name, "transfer-encoding") || IEquals(name, "connection")) {
        continue;
      }
      if (IEquals(name, "server") || IEquals(name, "content-type")) {
        res.set(name, value);
      } else {
        res.insert(name, value);
      }
    }
    if (out.status == 204 || out.status == 304) {
      res.erase(http::field::content_type);
    } else {
      res.content_length(out.body.size());
      if (!head) res.body() = std::move(out.body);
    }
    res.keep_alive(keep_alive);
    writing_ = true;
    stream_.expires_after(options().read_timeout);
    http::async_write(stream_, res,
                      beast::bind_front_handler(&Session::OnWrite, shared_from_this(), keep_alive));
  }

  void OnWrite(bool keep_alive, beast::error_code ec, size_t) {
    writing_ = false;
    res_.reset();
    if (ec || closed_) return DoClose();
    if (!keep_alive || shared_->stopping.load()) return Linger();
    ReadHeader();
  }

  // Half-closes, then discards what the client still sends until it closes (or a limit).
  void Linger() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec || shared_->stopping.load()) return DoClose();
    drained_ = 0;
    Drain();
  }

  void Drain() {
    stream_.expires_after(kDrainTimeout);
    stream_.async_read_some(net::buffer(drain_),
                            beast::bind_front_handler(&Session::OnDrain, shared_from_this()));
  }

  void OnDrain(beast::error_code ec, size_t n) {
    drained_ += n;
    if (ec || closed_ || drained_ > kDrainLimit || shared_->stopping.load()) return DoClose();
    Drain();
  }

  void DoClose() {
    if (closed_) return;
    closed_ = true;
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();  // cancels pending operations and the timer
  }

  beast::tcp_stream stream_;
  std::shared_ptr<Shared> shared_;
  uint64_t id_ = 0;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::response<http::string_body>> res_;
  bool writing_ = false;
  bool closed_ = false;
  size_t drained_ = 0;
  char drain_[4096];
};

}  // namespace

struct HttpServer::Impl {
  enum class State { kIdle, kRunning, kStopping, kStopped };

  explicit Impl(Options o) : shared(std::make_shared<Shared>()) {
    shared->options = std::move(o);
    if (shared->options.threads < 1) shared->options.threads = 1;
  }

  ~Impl() {
    for (std::thread& t : threads) {
      if (!t.joinable()) continue;
      if (t.get_id() == std::this_thread::get_id()) {
        t.detach();  // destroyed from a handler: cannot join ourselves
      } else {
        t.join();
      }
    }
  }

  Status Start();
  void Stop();

  void DoAccept() {
    acceptor->async_accept(net::make_strand(*ioc), [this](beast::error_code ec, tcp::socket s) {
      OnAccept(ec, std::move(s));
    });
  }

  void OnAccept(beast::error_code ec, tcp::socket socket) {
    if (shared->stopping.load() || ec == net::error::operation_aborted) return;
    if (ec) {  // e.g. out of file descriptors: retry a little later instead of spinning
      retry_timer->expires_after(kAcceptRetryDelay);
      retry_timer->async_wait([this](beast::error_code wait_ec) {
        if (!wait_ec && !shared->stopping.load()) DoAccept();
      });
      return;
    }
    try {
      std::make_shared<Session>(std::move(socket), shared)->Start();
    } catch (...) {
      // Allocation failure: the socket is closed with the session; keep accepting.
    }
    DoAccept();
  }

  void Run() {
    for (;;) {
      try {
        ioc->run();
        break;
      } catch (...) {
        // Handlers catch their own exceptions; should one escape, keep serving.
      }
    }
    {
      std::lock_guard<std::mutex> lock(exit_mu);
      --running_threads;
    }
    exit_cv.notify_all();
  }

  bool OnServerThread() const {
    for (const std::thread& t : threads) {
      if (t.get_id() == std::this_thread::get_id()) return true;
    }
    return false;
  }

  std::shared_ptr<Shared> shared;
  std::unique_ptr<net::io_context> ioc;  // destroyed after the acceptor and timer below
  std::unique_ptr<tcp::acceptor> acceptor;
  std::unique_ptr<net::steady_timer> retry_timer;  // on the acceptor's strand
  std::vector<std::thread> threads;
  std::atomic<uint16_t> port{0};

  std::mutex state_mu;  // guards state; held through Start()
  State state = State::kIdle;
  std::mutex join_mu;  // serializes joining in Stop()
  std::mutex exit_mu;  // guards running_threads
  std::condition_variable exit_cv;
  int running_threads = 0;
};

Status HttpServer::Impl::Start() {
  std::lock_guard<std::mutex> lock(state_mu);
  if (state != State::kIdle) return Status::Internal("http server: already started");
  const Options& o = shared->options;
  std::string where = o.address + ":" + std::to_string(o.port);
  beast::error_code ec;
  net::ip::address addr = net::ip::make_address(o.address, ec);
  if (ec) return Status::InvalidArgument("http server: bad listen address \"" + o.address + "\"");
  auto new_ioc = std::make_unique<net::io_context>(o.threads);
  auto new_acceptor = std::make_unique<tcp::acceptor>(net::make_strand(*new_ioc));
  tcp::endpoint endpoint(addr, o.port);
  new_acceptor->open(endpoint.protocol(), ec);
  if (!ec) new_acceptor->set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) new_acceptor->bind(endpoint, ec);
  if (!ec) new_acceptor->listen(net::socket_base::max_listen_connections, ec);
  uint16_t bound = 0;
  if (!ec) bound = new_acceptor->local_endpoint(ec).port();
  if (ec) return Status::IoError("http server: cannot listen on " + where + ": " + ec.message());

  retry_timer = std::make_unique<net::steady_timer>(new_acceptor->get_executor());
  ioc = std::move(new_ioc);
  acceptor = std::move(new_acceptor);
  port.store(bound);
  DoAccept();
  state = State::kRunning;  // from here on Stop() cleans up, even if a thread fails to start
  threads.reserve(static_cast<size_t>(o.threads));
  for (int i = 0; i < o.threads; ++i) {
    {
      std::lock_guard<std::mutex> exit_lock(exit_mu);
      ++running_threads;
    }
    try {
      threads.emplace_back([this] { Run(); });
    } catch (...) {
      std::lock_guard<std::mutex> exit_lock(exit_mu);
      --running_threads;
      if (threads.empty()) return Status::Internal("http server: cannot start a thread");
      break;  // serve with the threads we have
    }
  }
  return Status::Ok();
}

void HttpServer::Impl::Stop() {
  {
    std::lock_guard<std::mutex> lock(state_mu);
    if (state == State::kIdle || state == State::kStopped) return;
    if (state == State::kRunning) {
      state = State::kStopping;
      std::vector<std::shared_ptr<Session>> open;
      {
        std::lock_guard<std::mutex> sessions_lock(shared->mu);
        shared->stopping.store(true);
        for (const auto& [id, weak] : shared->sessions) {
          if (auto s = weak.lock()) open.push_back(std::move(s));
        }
      }
      net::post(acceptor->get_executor(), [this] {
        beast::error_code ec;
        acceptor->close(ec);
        retry_timer->cancel();
      });
      for (const auto& s : open) s->Close();
    }
  }
  if (OnServerThread()) return;  // called from a handler: the destructor joins
  std::lock_guard<std::mutex> join_lock(join_mu);
  {
    std::unique_lock<std::mutex> exit_lock(exit_mu);
    if (!exit_cv.wait_for(exit_lock, kStopGrace, [this] { return running_threads == 0; })) {
      ioc->stop();  // something still holds work (a stuck client write): stop regardless
    }
  }
  for (std::thread& t : threads) {
    if (t.joinable()) t.join();
  }
  std::lock_guard<std::mutex> lock(state_mu);
  state = State::kStopped;
}

HttpServer::HttpServer(Options o) : impl_(std::make_unique<Impl>(std::move(o))) {}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Route(std::string method, std::string path, HttpHandler handler) {
  try {
    std::lock_guard<std::mutex> lock(impl_->state_mu);
    if (impl_->state != Impl::State::kIdle) return;
    impl_->shared->routes[std::move(path)][std::move(method)] = std::move(handler);
  } catch (...) {
    // Allocation failure: the route is not registered.
  }
}

void HttpServer::RoutePrefix(std::string method, std::string prefix, HttpHandler handler) {
  try {
    std::lock_guard<std::mutex> lock(impl_->state_mu);
    if (impl_->state != Impl::State::kIdle) return;
    impl_->shared->prefix_routes[std::move(prefix)][std::move(method)] = std::move(handler);
  } catch (...) {
    // Allocation failure: the route is not registered.
  }
}

Status HttpServer::Start() {
  try {
    return impl_->Start();
  } catch (const std::exception& e) {
    return Status::Internal(std::string("http server: cannot start: ") + e.what());
  } catch (...) {
    return Status::Internal("http server: cannot start");
  }
}

uint16_t HttpServer::port() const { return impl_->port.load(); }

void HttpServer::Stop() {
  try {
    impl_->Stop();
  } catch (...) {
    // Only std::system_error from mutexes or joins can get here; nothing more to do.
  }
}

}  // namespace abusewatch
