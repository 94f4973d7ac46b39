// Metrics: families, labels and TYPE lines of the exposition text, and the /metrics, /healthz,
// /readyz routes through a real HttpServer (queried with a Beast client).
#include "daemon/metrics/metrics.h"

#include <gtest/gtest.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <utility>  // before Boost (Boost 1.74 + GCC 12 + C++20)
#include <vector>

#include "daemon/allocator.h"
#include "daemon/http/http_server.h"

namespace abusewatch {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using boost::asio::ip::tcp;

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

int CountLines(const std::string& text, const std::string& prefix) {
  std::istringstream in(text);
  int n = 0;
  for (std::string line; std::getline(in, line);) n += line.rfind(prefix, 0) == 0;
  return n;
}

TEST(Metrics, TypeLinesForEveryFamily) {
  Metrics m("1.2.3");
  // Families without a series are not exposed: give each one a child first.
  m.Transitions("art12_1_1", "firing");
  m.AlertsSent("alertmanager", "ok");
  m.AlertsFiring("art12_1_1", "critical");
  m.StateKeys("art12_1_1");
  m.ConsumerLag("events", 3);
  m.SetConfigSha256("abc123");
  std::string text = m.Serialize();
  for (const char* line : {
           "# TYPE abusewatch_events_total counter",
           "# TYPE abusewatch_events_rejected_total counter",
           "# TYPE abusewatch_transitions_total counter",
           "# TYPE abusewatch_alerts_sent_total counter",
           "# TYPE abusewatch_config_reload_total counter",
           "# TYPE abusewatch_alerts_firing gauge",
           "# TYPE abusewatch_state_keys gauge",
           "# TYPE abusewatch_consumer_lag gauge",
           "# TYPE abusewatch_watermark_seconds gauge",
           "# TYPE abusewatch_reorder_buffer_events gauge",
           "# TYPE abusewatch_ready gauge",
           "# TYPE abusewatch_build_info gauge",
           "# TYPE abusewatch_config_info gauge",
           "# TYPE abusewatch_event_processing_seconds histogram",
       }) {
    EXPECT_TRUE(Contains(text, line)) << line << "\n" << text;
  }
  EXPECT_TRUE(
      Contains(text, "abusewatch_transitions_total{rule=\"art12_1_1\",state=\"firing\"} 0"));
  EXPECT_TRUE(Contains(text, "abusewatch_alerts_sent_total{result=\"ok\",sink=\"alertmanager\"} 0"))
      << text;
  EXPECT_TRUE(
      Contains(text, "abusewatch_alerts_firing{rule=\"art12_1_1\",severity=\"critical\"} 0"));
  EXPECT_TRUE(Contains(text, "abusewatch_consumer_lag{partition=\"3\",topic=\"events\"} 0"));
  EXPECT_TRUE(Contains(
      text, "abusewatch_build_info{allocator=\"" + AllocatorName() + "\",version=\"1.2.3\"} 1"))
      << text;
  EXPECT_TRUE(Contains(text, "abusewatch_config_info{sha256=\"abc123\"} 1"));
  EXPECT_TRUE(Contains(text, "abusewatch_ready 0"));
  EXPECT_TRUE(Contains(text, "abusewatch_watermark_seconds 0"));
  // 19 finite buckets from 1 µs to 1 s, plus +Inf.
  EXPECT_EQ(CountLines(text, "abusewatch_event_processing_seconds_bucket{"), 20) << text;
  EXPECT_TRUE(Contains(text, "abusewatch_event_processing_seconds_bucket{le=\"+Inf\"} 0"));
}

TEST(Metrics, PreCreatedAtZero) {
  Metrics m("0.1.0");
  std::string text = m.Serialize();
  for (int i = 0; i < kNumEventTypes; ++i) {
    std::string name(EventTypeName(static_cast<EventType>(i)));
    EXPECT_TRUE(Contains(text, "abusewatch_events_total{stream=\"" + name + "\"} 0")) << name;
  }
  for (int i = 0; i < kNumRejectReasons; ++i) {
    std::string name(RejectReasonName(static_cast<RejectReason>(i)));
    EXPECT_TRUE(Contains(text, "abusewatch_events_rejected_total{reason=\"" + name + "\"} 0"))
        << name;
  }
  EXPECT_TRUE(Contains(text, "abusewatch_config_reload_total{result=\"ok\"} 0"));
  EXPECT_TRUE(Contains(text, "abusewatch_config_reload_total{result=\"failed\"} 0"));
  EXPECT_TRUE(Contains(text, "abusewatch_events_rejected_total{reason=\"malformed_json\"} 0"));
  EXPECT_TRUE(Contains(text, "abusewatch_events_total{stream=\"login\"} 0"));
}

TEST(Metrics, CountersIncrementAndChildrenAreCached) {
  Metrics m("0.1.0");
  prometheus::Counter& login = m.Events("login");
  EXPECT_EQ(&login, &m.Events(EventType::kLogin));
  EXPECT_EQ(&login, &m.Events("login"));
  login.Increment();
  m.Events(EventType::kLogin).Increment(2);
  m.Rejected(RejectReason::kLate).Increment();
  m.Rejected("late").Increment();
  EXPECT_EQ(&m.Rejected("late"), &m.Rejected(RejectReason::kLate));
  m.Transitions("r1", "firing").Increment();
  m.Transitions("r1", "firing").Increment();
  m.Transitions("r1", "resolved").Increment();
  EXPECT_EQ(&m.Transitions("r1", "firing"), &m.Transitions("r1", "firing"));
  EXPECT_NE(&m.Transitions("r1", "firing"), &m.Transitions("r1", "resolved"));
  m.ConfigReload("failed").Increment();
  m.AlertsSent("webhook", "error").Increment(4);
  m.AlertsFiring("r1", "warning").Set(7);
  m.StateKeys("r1").Set(12);
  m.Watermark().Set(1772330400);
  m.ProcessingSeconds().Observe(3e-6);
  m.SetReady(true);
  EXPECT_TRUE(m.ready());

  std::string text = m.Serialize();
  EXPECT_TRUE(Contains(text, "abusewatch_events_total{stream=\"login\"} 3"));
  EXPECT_TRUE(Contains(text, "abusewatch_events_rejected_total{reason=\"late\"} 2"));
  EXPECT_TRUE(Contains(text, "abusewatch_transitions_total{rule=\"r1\",state=\"firing\"} 2"));
  EXPECT_TRUE(Contains(text, "abusewatch_transitions_total{rule=\"r1\",state=\"resolved\"} 1"));
  EXPECT_TRUE(Contains(text, "abusewatch_config_reload_total{result=\"failed\"} 1"));
  EXPECT_TRUE(Contains(text, "abusewatch_alerts_sent_total{result=\"error\",sink=\"webhook\"} 4"));
  EXPECT_TRUE(Contains(text, "abusewatch_alerts_firing{rule=\"r1\",severity=\"warning\"} 7"));
  EXPECT_TRUE(Contains(text, "abusewatch_state_keys{rule=\"r1\"} 12"));
  EXPECT_TRUE(Contains(text, "abusewatch_watermark_seconds 1772330400"));
  EXPECT_TRUE(Contains(text, "abusewatch_event_processing_seconds_count 1"));
  EXPECT_TRUE(Contains(text, "abusewatch_event_processing_seconds_bucket{le=\"+Inf\"} 1"));
  EXPECT_TRUE(Contains(text, "abusewatch_ready 1"));
}

TEST(Metrics, ConfigInfoLabelIsReplaced) {
  Metrics m("0.1.0");
  m.SetConfigSha256("aaaa");
  m.SetConfigSha256("aaaa");  // same value: still one series
  EXPECT_EQ(CountLines(m.Serialize(), "abusewatch_config_info{"), 1);
  m.SetConfigSha256("bbbb");
  std::string text = m.Serialize();
  EXPECT_TRUE(Contains(text, "abusewatch_config_info{sha256=\"bbbb\"} 1"));
  EXPECT_FALSE(Contains(text, "aaaa"));
  EXPECT_EQ(CountLines(text, "abusewatch_config_info{"), 1);
}

TEST(Metrics, ConsumerLagSeriesCanBeRemoved) {
  Metrics m("0.1.0");
  m.ConsumerLag("events", 0).Set(5);
  m.ConsumerLag("events", 1).Set(6);
  m.RemoveConsumerLag("events", 0);
  m.RemoveConsumerLag("events", 9);  // unknown: no-op
  std::string text = m.Serialize();
  EXPECT_FALSE(Contains(text, "partition=\"0\""));
  EXPECT_TRUE(Contains(text, "abusewatch_consumer_lag{partition=\"1\",topic=\"events\"} 6"));
  m.ConsumerLag("events", 0).Set(1);  // re-assigned: a fresh series
  EXPECT_TRUE(
      Contains(m.Serialize(), "abusewatch_consumer_lag{partition=\"0\",topic=\"events\"} 1"));
}

TEST(Metrics, ConcurrentLookupsAndIncrements) {
  Metrics m("0.1.0");
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&m, t] {
      for (int i = 0; i < 1000; ++i) {
        m.Events("login").Increment();
        m.Transitions("rule" + std::to_string(i % 10), t % 2 ? "firing" : "resolved").Increment();
        m.ProcessingSeconds().Observe(1e-5);
        if (i % 100 == 0) m.SetConfigSha256(std::to_string(i));
        if (i % 250 == 0) (void)m.Serialize();
      }
    });
  }
  for (auto& t : threads) t.join();
  std::string text = m.Serialize();
  EXPECT_TRUE(Contains(text, "abusewatch_events_total{stream=\"login\"} 8000"));
  EXPECT_TRUE(Contains(text, "abusewatch_transitions_total{rule=\"rule0\",state=\"firing\"} 400"));
  EXPECT_TRUE(Contains(text, "abusewatch_event_processing_seconds_count 8000"));
  EXPECT_EQ(CountLines(text, "abusewatch_config_info{"), 1);
}

struct Reply {
  int status = 0;
  std::string content_type;
  std::string body;
};

Reply Fetch(uint16_t port, http::verb verb, const std::string& target) {
  boost::asio::io_context ioc;
  tcp::resolver resolver(ioc);
  beast::tcp_stream stream(ioc);
  stream.expires_after(std::chrono::seconds(5));
  stream.connect(resolver.resolve("127.0.0.1", std::to_string(port)));
  http::request<http::string_body> req(verb, target, 11);
  req.set(http::field::host, "127.0.0.1");
  http::write(stream, req);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.skip(verb == http::verb::head);
  http::read(stream, buffer, parser);
  const auto& res = parser.get();
  Reply r;
  r.status = res.result_int();
  auto ct = res[http::field::content_type];
  r.content_type.assign(ct.data(), ct.size());
  r.body = res.body();
  beast::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  return r;
}

TEST(MetricsRoutes, MetricsHealthzReadyz) {
  Metrics m("0.1.0");
  m.Events(EventType::kLogin).Increment(5);
  std::atomic<bool> ready{false};
  HttpServer::Options o;
  o.port = 0;
  HttpServer server(o);
  RegisterMetricsRoutes(server, m, [&ready] { return ready.load(); });
  ASSERT_TRUE(server.Start().ok());

  Reply r = Fetch(server.port(), http::verb::get, "/metrics");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_TRUE(Contains(r.body, "# TYPE abusewatch_events_total counter"));
  EXPECT_TRUE(Contains(r.body, "abusewatch_events_total{stream=\"login\"} 5"));

  r = Fetch(server.port(), http::verb::head, "/metrics");
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.body.empty());

  r = Fetch(server.port(), http::verb::get, "/healthz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "ok");

  r = Fetch(server.port(), http::verb::get, "/readyz");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, "not ready");
  ready = true;
  r = Fetch(server.port(), http::verb::get, "/readyz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "ready");

  EXPECT_EQ(Fetch(server.port(), http::verb::post, "/metrics").status, 405);
  EXPECT_EQ(Fetch(server.port(), http::verb::get, "/metrics/x").status, 404);
}

TEST(MetricsRoutes, ReadyzFallsBackToTheReadyGauge) {
  Metrics m("0.1.0");
  HttpServer::Options o;
  o.port = 0;
  HttpServer server(o);
  RegisterMetricsRoutes(server, m, nullptr);
  ASSERT_TRUE(server.Start().ok());
  EXPECT_EQ(Fetch(server.port(), http::verb::get, "/readyz").status, 503);
  m.SetReady(true);
  EXPECT_EQ(Fetch(server.port(), http::verb::get, "/readyz").status, 200);
}

}  // namespace
}  // namespace abusewatch

namespace abusewatch {
namespace {

TEST(MetricsProcessingTest, ABatchCountsEachRecordInTheBucketOfItsMean) {
  Metrics m("t");
  m.ObserveProcessing(64 * 3e-6, 64);  // mean 3 µs: bucket le=5e-06
  m.ObserveProcessing(0.5, 0);         // nothing
  m.ObserveProcessing(2.0, 1);         // over every bound: +Inf only
  const std::string text = m.Serialize();
  EXPECT_NE(text.find("abusewatch_event_processing_seconds_count 65"), std::string::npos) << text;
  EXPECT_NE(text.find("abusewatch_event_processing_seconds_bucket{le=\"2.5e-06\"} 0"),
            std::string::npos);
  EXPECT_NE(text.find("abusewatch_event_processing_seconds_bucket{le=\"5e-06\"} 64"),
            std::string::npos);
  EXPECT_NE(text.find("abusewatch_event_processing_seconds_bucket{le=\"1\"} 64"),
            std::string::npos);
  EXPECT_NE(text.find("abusewatch_event_processing_seconds_bucket{le=\"+Inf\"} 65"),
            std::string::npos);
}

}  // namespace
}  // namespace abusewatch
