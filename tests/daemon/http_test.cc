// HttpServer over real loopback sockets (127.0.0.1, ephemeral ports), with a raw socket client
// so malformed requests can be sent byte for byte.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "daemon/http/http_server.h"

namespace abusewatch {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

struct Response {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// A blocking HTTP/1.1 client on one TCP connection; every read gives up after 5 s.
class RawClient {
 public:
  explicit RawClient(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~RawClient() { ::close(fd_); }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  bool connected() const { return connected_; }

  bool Send(const std::string& data) {
    return ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(data.size());
  }

  // Reads one final response (skipping 1xx unless `interim`); false on EOF, error or timeout.
  bool Read(Response* r, bool head = false, bool interim = false) {
    for (;;) {
      size_t end;
      while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
        if (!Fill()) return false;
      }
      std::string head_block = buf_.substr(0, end);
      buf_.erase(0, end + 4);
      *r = Response();
      size_t line_end = head_block.find("\r\n");
      std::string status_line = head_block.substr(0, line_end);
      if (status_line.rfind("HTTP/1.", 0) != 0 || status_line.size() < 12) return false;
      r->status = std::stoi(status_line.substr(9, 3));
      while (line_end != std::string::npos) {
        size_t next = head_block.find("\r\n", line_end + 2);
        std::string line = head_block.substr(line_end + 2, next - line_end - 2);
        size_t colon = line.find(':');
        if (colon != std::string::npos) {
          std::string value = line.substr(colon + 1);
          value.erase(0, value.find_first_not_of(' '));
          r->headers[Lower(line.substr(0, colon))] = value;
        }
        line_end = next;
      }
      if (r->status < 200) {
        if (interim) return true;
        continue;
      }
      size_t length = 0;
      if (!head && r->headers.count("content-length")) {
        length = std::stoul(r->headers["content-length"]);
      }
      while (buf_.size() < length) {
        if (!Fill()) return false;
      }
      r->body = buf_.substr(0, length);
      buf_.erase(0, length);
      return true;
    }
  }

  // True when the server closes the connection within `timeout`.
  bool ClosedWithin(milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    auto deadline = steady_clock::now() + timeout;
    for (;;) {
      auto left = std::chrono::duration_cast<milliseconds>(deadline - steady_clock::now());
      if (left.count() <= 0) return false;
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
      char c[512];
      ssize_t n = ::recv(fd_, c, sizeof c, 0);
      if (n <= 0) return true;  // EOF or reset
    }
  }

 private:
  bool Fill() {
    char chunk[4096];
    ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buf_.append(chunk, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  bool connected_ = false;
  std::string buf_;
};

HttpServer::Options TestOptions() {
  HttpServer::Options o;
  o.address = "127.0.0.1";
  o.port = 0;
  return o;
}

HttpResponse Text(std::string body, int status = 200) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

// A server with a few routes, started.
class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override { Start(TestOptions()); }

  void Start(HttpServer::Options o) {
    server_ = std::make_unique<HttpServer>(o);
    server_->Route("GET", "/hello", [](const HttpRequest& req) {
      HttpResponse r = Text("hi " + req.query);
      r.headers.emplace_back("X-Path", req.path);
      return r;
    });
    server_->Route("POST", "/echo", [](const HttpRequest& req) {
      HttpResponse r = Text(req.body);
      r.content_type = "application/octet-stream";
      auto it = req.headers.find("x-tag");
      r.headers.emplace_back("X-Tag", it == req.headers.end() ? "none" : it->second);
      return r;
    });
    server_->Route("*", "/any", [](const HttpRequest& req) { return Text(req.method); });
    server_->Route("GET", "/throw",
                   [](const HttpRequest&) -> HttpResponse { throw std::runtime_error("boom"); });
    server_->Route("GET", "/throw-int", [](const HttpRequest&) -> HttpResponse { throw 42; });
    server_->Route("GET", "/bad-status", [](const HttpRequest&) { return Text("x", 42); });
    server_->Route("GET", "/no-content", [](const HttpRequest&) { return Text("dropped", 204); });
    Status s = server_->Start();
    ASSERT_TRUE(s.ok()) << s.ToString();
    ASSERT_NE(server_->port(), 0);
  }

  Response Get(const std::string& target) {
    RawClient c(server_->port());
    EXPECT_TRUE(c.connected());
    EXPECT_TRUE(c.Send("GET " + target + " HTTP/1.1\r\nHost: t\r\n\r\n"));
    Response r;
    EXPECT_TRUE(c.Read(&r)) << target;
    return r;
  }

  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpServerTest, GetRouteWithQuery) {
  Response r = Get("/hello?a=1&b=2");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hi a=1&b=2");
  EXPECT_EQ(r.headers["content-length"], "10");
  EXPECT_EQ(r.headers["content-type"], "text/plain; charset=utf-8");
  EXPECT_EQ(r.headers["server"], "abusewatch");
  EXPECT_EQ(r.headers["x-path"], "/hello");
}

TEST_F(HttpServerTest, PostBodyAndLowerCaseHeaders) {
  RawClient c(server_->port());
  ASSERT_TRUE(c.Send(
      "POST /echo HTTP/1.1\r\nHost: t\r\nX-TAG: a\r\nx-tag: b\r\nContent-Length: 5\r\n\r\nhello"));
  Response r;
  ASSERT_TRUE(c.Read(&r));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hello");
  EXPECT_EQ(r.headers["content-type"], "application/octet-stream");
  EXPECT_EQ(r.headers["x-tag"], "a, b");
}

TEST_F(HttpServerTest, ChunkedBody) {
  RawClient c(server_->port());
  ASSERT_TRUE(
      c.Send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
             "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"));
  Response r;
  ASSERT_TRUE(c.Read(&r));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "abcde");
}

TEST_F(HttpServerTest, WildcardMethod) {
  RawClient c(server_->port());
  ASSERT_TRUE(
      c.Send("DELETE /any HTTP/1.1\r\nHost: t\r\n\r\nPATCH /any HTTP/1.1\r\nHost: t\r\n\r\n"));
  Response r;
  ASSERT_TRUE(c.Read(&r));
  EXPECT_EQ(r.body, "DELETE");
  ASSERT_TRUE(c.Read(&r));
  EXPECT_EQ(r.body, "PATCH");
}

TEST_F(HttpServerTest, UnknownPathIs404) {
  Response r = Get("/nope");
  EXPECT_EQ(r.status, 404);
  EXPECT_FALSE(r.body.empty());
  EXPECT_EQ(r.headers["content-length"], std::to_string(r.body.size()));
  EXPECT_EQ(Get("/hello/").status, 404);  // exact paths only
}

TEST(HttpServer, PrefixRoutesLongestWinsExactFirst) {
  HttpServer server(TestOptions());
  server.Route("GET", "/api/v1/cases", [](const HttpRequest&) { return Text("exact"); });
  server.RoutePrefix("GET", "/api/v1/", [](const HttpRequest& req) {
    return Text("short " + req.path + " " + req.query);
  });
  server.RoutePrefix("*", "/api/v1/cases/", [](const HttpRequest& req) {
    return Text("long " + req.method + " " + req.path);
  });
  server.RoutePrefix("POST", "/only-post/", [](const HttpRequest&) { return Text("p"); });
  ASSERT_TRUE(server.Start().ok());
  auto get = [&](const std::string& method, const std::string& target) {
    RawClient c(server.port());
    EXPECT_TRUE(
        c.Send(method + " " + target + " HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n"));
    Response r;
    EXPECT_TRUE(c.Read(&r)) << target;
    return r;
  };
  EXPECT_EQ(get("GET", "/api/v1/cases").body, "exact");
  EXPECT_EQ(get("GET", "/api/v1/audit?case=3").body, "short /api/v1/audit case=3");
  EXPECT_EQ(get("GET", "/api/v1/").body, "short /api/v1/ ");
  EXPECT_EQ(get("GET", "/api/v1/cases/7/export.csv").body, "long GET /api/v1/cases/7/export.csv");
  EXPECT_EQ(get("POST", "/api/v1/cases/7/decide").body, "long POST /api/v1/cases/7/decide");
  EXPECT_EQ(get("GET", "/api/v2/x").status, 404);
  EXPECT_EQ(get("GET", "/api/v1").status, 404);  // the prefix is not a route itself
  Response wrong = get("GET", "/only-post/x");
  EXPECT_EQ(wrong.status, 405);
  EXPECT_EQ(wrong.headers["allow"], "POST");
  EXPECT_EQ(get("POST", "/only-post/x").body, "p");
}

TEST(HttpServer, PrefixRouteAfterStartIsIgnored) {
  HttpServer server(TestOptions());
  ASSERT_TRUE(server.Start().ok());
  server.RoutePrefix("GET", "/late/", [](const HttpRequest&) { return Text("late"); });
  RawClient c(server.port());
  ASSERT_TRUE(c.Send("GET /late/x HTTP/1.1\r\nHost: t\r\n\r\n"));
  Response r;
  ASSERT_TRUE(c.Read(&r));
  EXPECT_EQ(r.status, 404);
}

TEST_F(HttpServerTest, WrongMethodIs405WithAllow) {
  RawClient c(server_->port());
  ASSERT_TRUE(c.Send("POST /hello HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n"));
  Response r;
  ASSERT_TRUE(c.Read(&r));
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.headers["allow"], "GET, HEAD");
}

TEST_F(HttpServerTest, HeadHasLengthButNoBody) {
  RawClient c(server_->port());
  // HEAD then GET on the same connection: a body after the HEAD would corrupt the second read.
  ASSERT_TRUE(c.Send("HEAD /hello?x HTTP/1.1\r\nHost: t\r\n\r\n"));
  Response r;
  ASSERT_TRUE(c.Read(&r, /*head=*/true));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["content-length"], "4");
  ASSERT_TRUE(c.Send("GET /hello?y HTTP/1.1\r\nHost: t\r\n\r\n"));
  ASSERT_TRUE(c.Read(&r));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hi y");
}

TEST_F(HttpServerTest, KeepAliveTwoRequestsOneConnection) {
  RawClient c(server_->port());
  Response r;
  ASSERT_TRUE(c.Send("GET /hello?1 HTTP/1.1\r\nHost: t\r\n\r\n"));
  ASSERT_TRUE(c.Read(&r));
  EXPECT_EQ(r.body, "hi 1");
  EXPECT_NE(Lower(r.headers["connection"]), "close");
  ASSERT_TRUE(c.Send("GET /hello?2 HTTP/1.1\r\nHost: t\r\n\r\n"));
  ASSERT_TRUE(c.Read(&r));
  EXPECT_EQ(r.body, "hi 2");
  // Pipelined.
  ASSERT_TRUE(c.Send("GET /hello?3 HTTP/1.1\r\nHost: t\r\n\r\nGET /hello?4 HTTP/1.1\r\n\r\n"));
  ASSERT_TRUE(c.Read(&r));
  EXPECT_EQ(r.body, "hi 3");
  ASSERT_TRUE(c.Read(&r));
  EXPECT_EQ(r.body, "hi 4");
}

TEST_F(HttpServerTest, ConnectionCloseAndHttp10Close) {
  RawClient c(server_->port());
  ASSERT_TRUE(c.Send("GET /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"));
  Response r;
  ASSERT_TRUE(c.Read(&r));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(Lower(r.headers["connection"]), "close");
  EXPECT_TRUE(c.ClosedWithin(milliseconds(2000)));

  RawClient c10(server_->port());
  ASSERT_TRUE(c10.Send("GET /hello HTTP/1.0\r\n\r\n"));
  ASSERT_TRUE(c10.Read(&r));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hi ");
  EXPECT_TRUE(c10.ClosedWithin(milliseconds(2000)));
}

TEST_F(HttpServerTest, ThrowingHandlerIs500AndServingGoesOn) {
  RawClient c(server_->port());
  Response r;
  ASSERT_TRUE(c.Send("GET /throw HTTP/1.1\r\nHost: t\r\n\r\n"));
  ASSERT_TRUE(c.Read(&r));
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body.find("boom"), std::string::npos);  // no internals leak
  ASSERT_TRUE(c.Send("GET /throw-int HTTP/1.1\r\nHost: t\r\n\r\n"));
  ASSERT_TRUE(c.Read(&r));
  EXPECT_EQ(r.status, 500);
  ASSERT_TRUE(c.Send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"));  // same connection
  ASSERT_TRUE(c.Read(&r));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(Get("/hello").status, 200);  // new connection
}

TEST_F(HttpServerTest, InvalidStatusIs500And204HasNoBody) {
  EXPECT_EQ(Get("/bad-status").status, 500);
  Response r = Get("/no-content");
  EXPECT_EQ(r.status, 204);
  EXPECT_TRUE(r.body.empty());
  EXPECT_EQ(Get("/hello").status, 200);
}

TEST_F(HttpServerTest, MalformedRequestsAre400) {
  for (const std::string& bad : {
           std::string("GARBAGE\r\n\r\n"),
           std::string("GET /hello HTTP/1.1\r\nNo colon here\r\n\r\n"),
           std::string("GET /hello HTTP/9.9\r\n\r\n"),
           std::string("POST /echo HTTP/1.1\r\nContent-Length: abc\r\n\r\n"),
           std::string("POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"),
           std::string("GET * HTTP/1.1\r\nHost: t\r\n\r\n"),
       }) {
    RawClient c(server_->port());
    ASSERT_TRUE(c.Send(bad));
    Response r;
    ASSERT_TRUE(c.Read(&r)) << bad;
    EXPECT_EQ(r.status, 400) << bad;
  }
  EXPECT_EQ(Get("/hello").status, 200);
}

TEST_F(HttpServerTest, OversizedHeaderIs431) {
  RawClient c(server_->port());
  ASSERT_TRUE(c.Send("GET /hello HTTP/1.1\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n"));
  Response r;
  ASSERT_TRUE(c.Read(&r));
  EXPECT_EQ(r.status, 431);
}

TEST_F(HttpServerTest, ExpectContinue) {
  RawClient c(server_->port());
  ASSERT_TRUE(c.Send(
      "POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n"));
  Response r;  // the interim response arrives before the body is sent
  ASSERT_TRUE(c.Read(&r, /*head=*/false, /*interim=*/true));
  EXPECT_EQ(r.status, 100);
  ASSERT_TRUE(c.Send("abc"));
  ASSERT_TRUE(c.Read(&r));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "abc");
}

class HttpServerLimitsTest : public HttpServerTest {
 protected:
  void SetUp() override {
    HttpServer::Options o = TestOptions();
    o.max_body_bytes = 16;
    o.read_timeout = milliseconds(300);
    Start(o);
  }
};

TEST_F(HttpServerLimitsTest, BodyOverLimitIs413) {
  {
    RawClient c(server_->port());
    ASSERT_TRUE(c.Send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n" +
                       std::string(100, 'x')));
    Response r;
    ASSERT_TRUE(c.Read(&r));
    EXPECT_EQ(r.status, 413);
    EXPECT_TRUE(c.ClosedWithin(milliseconds(3000)));
  }
  {  // Chunked: the limit holds whatever the framing.
    RawClient c(server_->port());
    ASSERT_TRUE(
        c.Send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
               "10\r\n0123456789abcdef\r\n10\r\n0123456789abcdef\r\n0\r\n\r\n"));
    Response r;
    ASSERT_TRUE(c.Read(&r));
    EXPECT_EQ(r.status, 413);
  }
  {  // At the limit: fine.
    RawClient c(server_->port());
    ASSERT_TRUE(c.Send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 16\r\n\r\n" +
                       std::string(16, 'y')));
    Response r;
    ASSERT_TRUE(c.Read(&r));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, std::string(16, 'y'));
  }
}

TEST_F(HttpServerLimitsTest, IdleConnectionTimesOut) {
  RawClient c(server_->port());
  Response r;
  ASSERT_TRUE(c.Send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"));
  ASSERT_TRUE(c.Read(&r));
  EXPECT_TRUE(c.ClosedWithin(milliseconds(3000)));
  RawClient slow(server_->port());  // half a request, never finished
  ASSERT_TRUE(slow.Send("GET /hello HTTP/1.1\r\n"));
  EXPECT_TRUE(slow.ClosedWithin(milliseconds(3000)));
}

TEST(HttpServer, StopWithIdleConnectionReturnsPromptly) {
  HttpServer server(TestOptions());
  server.Route("GET", "/x", [](const HttpRequest&) { return Text("x"); });
  ASSERT_TRUE(server.Start().ok());
  RawClient idle(server.port());  // connected, never sends
  RawClient used(server.port());  // one request, then idle in keep-alive
  ASSERT_TRUE(used.Send("GET /x HTTP/1.1\r\nHost: t\r\n\r\n"));
  Response r;
  ASSERT_TRUE(used.Read(&r));
  ASSERT_TRUE(idle.connected());
  std::this_thread::sleep_for(milliseconds(50));  // let the server accept `idle`
  auto t0 = steady_clock::now();
  server.Stop();
  EXPECT_LT(steady_clock::now() - t0, milliseconds(1000));
  EXPECT_TRUE(idle.ClosedWithin(milliseconds(1000)));
  EXPECT_TRUE(used.ClosedWithin(milliseconds(1000)));
  server.Stop();  // idempotent
  RawClient after(server.port());
  EXPECT_FALSE(after.connected());
  EXPECT_FALSE(server.Start().ok());  // not restartable
}

TEST(HttpServer, StartOnPortInUseFails) {
  HttpServer first(TestOptions());
  ASSERT_TRUE(first.Start().ok());
  HttpServer::Options o = TestOptions();
  o.port = first.port();
  HttpServer second(o);
  Status s = second.Start();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find(std::to_string(o.port)), std::string::npos) << s.message();
  EXPECT_EQ(second.port(), 0);
  second.Stop();  // harmless after a failed Start
}

TEST(HttpServer, BadAddressFailsAndStopWithoutStartIsHarmless) {
  HttpServer::Options o = TestOptions();
  o.address = "not-an-address";
  HttpServer server(o);
  EXPECT_FALSE(server.Start().ok());
  server.Stop();
  HttpServer never(TestOptions());  // destroyed without Start
}

TEST(HttpServer, StartTwiceFails) {
  HttpServer server(TestOptions());
  ASSERT_TRUE(server.Start().ok());
  EXPECT_FALSE(server.Start().ok());
}  // destructor stops

TEST(HttpServer, ManyThreadsManyClients) {
  HttpServer::Options o = TestOptions();
  o.threads = 4;
  HttpServer server(o);
  std::atomic<int> calls{0};
  server.Route("GET", "/n", [&calls](const HttpRequest& req) {
    ++calls;
    return Text(req.query);
  });
  ASSERT_TRUE(server.Start().ok());
  std::atomic<int> ok{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 8; ++t) {
    clients.emplace_back([&, t] {
      RawClient c(server.port());
      for (int i = 0; i < 50; ++i) {
        std::string q = std::to_string(t) + "-" + std::to_string(i);
        Response r;
        if (c.Send("GET /n?" + q + " HTTP/1.1\r\nHost: t\r\n\r\n") && c.Read(&r) &&
            r.status == 200 && r.body == q) {
          ++ok;
        }
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(ok.load(), 400);
  EXPECT_EQ(calls.load(), 400);
}

TEST(HttpServer, StopFromHandlerDoesNotDeadlock) {
  auto server = std::make_unique<HttpServer>(TestOptions());
  HttpServer* raw = server.get();
  server->Route("POST", "/quit", [raw](const HttpRequest&) {
    raw->Stop();
    return Text("bye");
  });
  ASSERT_TRUE(server->Start().ok());
  RawClient c(server->port());
  ASSERT_TRUE(c.Send("POST /quit HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n"));
  Response r;
  ASSERT_TRUE(c.Read(&r));
  EXPECT_EQ(r.body, "bye");
  EXPECT_EQ(Lower(r.headers["connection"]), "close");
  server.reset();  // joins
}

}  // namespace
}  // namespace abusewatch
