// Test helpers: a blocking HTTP/1.1 client for loopback services (the daemon, a real
// Alertmanager or Prometheus), compiled once (test_http.cc) so that the tests using it do not
// each compile Boost.Beast. Thread-safe (no shared state); never throws.
#ifndef ABUSEWATCH_TESTS_DAEMON_TEST_HTTP_H_
#define ABUSEWATCH_TESTS_DAEMON_TEST_HTTP_H_

#include <cstdint>
#include <string>

namespace abusewatch::test {

struct HttpResult {
  int status = -1;
  std::string body;
};

// GET http://127.0.0.1:port/target (10 s limit, bodies up to 64 MiB). With `trim`, trailing
// newlines are removed from the body. Status -1 when the request failed.
HttpResult HttpGet(uint16_t port, const std::string& target, bool trim = true);

// POST of a JSON body to http://127.0.0.1:port/target (10 s limit); the status, or -1.
int HttpPostJson(uint16_t port, const std::string& target, const std::string& body);

}  // namespace abusewatch::test

#endif  // ABUSEWATCH_TESTS_DAEMON_TEST_HTTP_H_
