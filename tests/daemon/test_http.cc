#include "tests/daemon/test_http.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <exception>
#include <utility>

namespace abusewatch::test {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

// One request on a fresh connection to 127.0.0.1:port; throws on any failure.
template <typename Body>
http::response<http::string_body> Exchange(uint16_t port, http::request<Body>& req) {
  asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.expires_after(std::chrono::seconds(10));
  stream.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  req.set(http::field::host, "127.0.0.1");
  req.set(http::field::connection, "close");
  http::write(stream, req);
  beast::flat_buffer buf;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64u << 20);
  http::read(stream, buf, parser);
  beast::error_code ignored;
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  return parser.release();
}

}  // namespace

HttpResult HttpGet(uint16_t port, const std::string& target, bool trim) {
  HttpResult out;
  try {
    http::request<http::empty_body> req{http::verb::get, target, 11};
    http::response<http::string_body> res = Exchange(port, req);
    out.status = static_cast<int>(res.result_int());
    out.body = std::move(res.body());
    while (trim && !out.body.empty() && (out.body.back() == '\n' || out.body.back() == '\r')) {
      out.body.pop_back();
    }
  } catch (const std::exception&) {
    out = HttpResult{};
  }
  return out;
}

int HttpPostJson(uint16_t port, const std::string& target, const std::string& body) {
  try {
    http::request<http::string_body> req{http::verb::post, target, 11};
    req.set(http::field::content_type, "application/json");
    req.body() = body;
    req.prepare_payload();
    return static_cast<int>(Exchange(port, req).result_int());
  } catch (const std::exception&) {
    return -1;
  }
}

}  // namespace abusewatch::test
