// Test helper: a fake HTTP endpoint (our HttpServer on an ephemeral loopback port) that records
// POST requests to one path. `Answer(statuses)` answers the next requests in order (then 200);
// while `Block(true)`, the handler waits. For the HTTP sink tests.
#ifndef ABUSEWATCH_TESTS_DAEMON_FAKE_HTTP_RECEIVER_H_
#define ABUSEWATCH_TESTS_DAEMON_FAKE_HTTP_RECEIVER_H_

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "daemon/http/http_server.h"

namespace abusewatch::test {

class FakeHttpReceiver {
 public:
  explicit FakeHttpReceiver(const std::string& path) : server_(Opts()) {
    server_.Route("POST", path, [this](const HttpRequest& req) {
      std::unique_lock<std::mutex> lk(mu_);
      requests_.push_back(req);
      cv_.notify_all();
      cv_.wait(lk, [&] { return !blocked_; });
      HttpResponse r;
      r.status = 200;
      if (!statuses_.empty()) {
        r.status = statuses_.front();
        statuses_.erase(statuses_.begin());
      }
      return r;
    });
    Status s = server_.Start();
    EXPECT_TRUE(s.ok()) << s.message();
  }
  ~FakeHttpReceiver() {
    Block(false);
    server_.Stop();
  }

  // "http://127.0.0.1:PORT" (no path).
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(server_.port()); }
  void Answer(std::vector<int> statuses) {
    std::lock_guard<std::mutex> lk(mu_);
    statuses_ = std::move(statuses);
  }
  void Block(bool b) {
    std::lock_guard<std::mutex> lk(mu_);
    blocked_ = b;
    cv_.notify_all();
  }
  bool WaitForRequests(size_t n,
                       std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
    std::unique_lock<std::mutex> lk(mu_);
    return cv_.wait_for(lk, timeout, [&] { return requests_.size() >= n; });
  }
  std::vector<HttpRequest> requests() const {
    std::lock_guard<std::mutex> lk(mu_);
    return requests_;
  }
  std::vector<std::string> bodies() const {
    std::lock_guard<std::mutex> lk(mu_);
    std::vector<std::string> out;
    for (const HttpRequest& r : requests_) out.push_back(r.body);
    return out;
  }

 private:
  static HttpServer::Options Opts() {
    HttpServer::Options o;
    o.port = 0;
    o.threads = 2;
    return o;
  }
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<HttpRequest> requests_;
  std::vector<int> statuses_;
  bool blocked_ = false;
  HttpServer server_;  // last: stopped (and its threads joined) before the rest is destroyed
};

}  // namespace abusewatch::test

#endif  // ABUSEWATCH_TESTS_DAEMON_FAKE_HTTP_RECEIVER_H_
