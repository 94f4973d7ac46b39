// AlertmanagerSink against (1) a fake Alertmanager (our HttpServer on an ephemeral loopback
// port, recording POST bodies) and (2) a real Alertmanager (Debian package
// prometheus-alertmanager, /usr/bin/prometheus-alertmanager), started on a free loopback port.
#include "daemon/sinks/alertmanager_sink.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <utility>  // before any Boost header (Boost 1.74 + GCC 12 + C++20)
#include <vector>

#include "daemon/http/http_server.h"
#include "daemon/metrics/metrics.h"
#include "detectors/rule_set.h"
#include "detectors/timeutil.h"
#include "tests/daemon/fake_http_receiver.h"
#include "tests/daemon/real_alertmanager.h"

extern char** environ;

namespace abusewatch {
namespace {

using std::chrono::milliseconds;
using test::HttpGet;
using test::PollAlerts;
using test::RealAlertmanager;

int64_t T(const std::string& rfc3339) {
  int64_t ms = 0;
  EXPECT_TRUE(ParseRfc3339(rfc3339, &ms)) << rfc3339;
  return ms;
}

Decimal D(const std::string& text) {
  Decimal d;
  EXPECT_TRUE(ParseDecimal(text, DecimalLimits{9, 18}, &d)) << text;
  return d;
}

RuleSpec Threshold(std::string id, Aggregate agg, std::string threshold) {
  RuleSpec r;
  r.id = std::move(id);
  r.kind = RuleKind::kThreshold;
  r.select.type_mask = 1u << static_cast<int>(EventType::kPayment);
  r.aggregate = agg;
  r.field = FieldId::kAmount;
  r.window_ms = 3'600'000;
  r.granularity_ms = 1000;
  r.threshold = D(threshold);
  return r;
}

// Rules: 0 art11_3_fee_rate (sum, critical, notify), 1 art12_2_settlement (count, notify:
// false), 2 art287_2_case (count, group_by subject, notify).
std::shared_ptr<const RuleSet> MakeRules() {
  EngineConfig c;
  RuleSpec a = Threshold("art11_3_fee_rate", Aggregate::kSum, "100.5");
  a.severity = Severity::kCritical;
  a.basis = "办法 第十一条 第三项";
  a.explain_zh = "费率异常";
  a.explain_en = "fee \"rate\" above line";
  RuleSpec b = Threshold("art12_2_settlement", Aggregate::kCount, "3");
  b.notify = false;
  RuleSpec d = Threshold("art287_2_case", Aggregate::kCount, "5");
  d.group_by = FieldId::kSubject;
  d.basis = "刑法 287-2";
  c.rules = {a, b, d};
  std::shared_ptr<const RuleSet> rules;
  Status s = RuleSet::Compile(std::move(c), &rules);
  EXPECT_TRUE(s.ok()) << s.message();
  return rules;
}

Transition Tr(const RuleSet& rules, std::string_view rule, std::string key, bool firing, int64_t at,
              std::vector<std::string> events, int64_t value = -1) {
  Transition t;
  t.rule = rules.Find(rule);
  EXPECT_GE(t.rule, 0) << rule;
  t.key = std::move(key);
  t.firing = firing;
  t.at_ms = at;
  if (value >= 0) {
    t.has_value = true;
    t.value = value;
  }
  t.events = std::move(events);
  return t;
}

// A fake Alertmanager: records POST /api/v2/alerts.
class FakeAlertmanager : public test::FakeHttpReceiver {
 public:
  FakeAlertmanager() : FakeHttpReceiver("/api/v2/alerts") {}
  std::string url() const { return base_url(); }
};

AlertmanagerSink::Options SinkOptions(const std::string& url, std::atomic<int64_t>* clock) {
  AlertmanagerSink::Options o;
  o.url = url;
  o.request_timeout = milliseconds(5000);
  o.initial_backoff = milliseconds(10);
  o.max_backoff = milliseconds(40);
  if (clock != nullptr) o.now_ms = [clock] { return clock->load(); };
  return o;
}

double Sent(Metrics& m, const char* result) { return m.AlertsSent("alertmanager", result).Value(); }

const char kFeeLabels[] =
    R"({"alertname":"art11_3_fee_rate","severity":"critical","account":"acct-1","clause":"art11.3"})";
const char kFeeAnnotations[] =
    R"({"value":"123.45","threshold":"100.50","events":"e1,e2","basis":"办法 第十一条 第三项",)"
    R"("explain_zh":"费率异常","explain_en":"fee \"rate\" above line",)"
    R"("at":"2026-03-01T02:00:00.000Z")";  // then "transition_id" and "}"

TEST(ClauseForRuleId, Mapping) {
  EXPECT_EQ(ClauseForRuleId("art11_3_fee_rate"), "art11.3");
  EXPECT_EQ(ClauseForRuleId("art12_2_settlement"), "art12.1.2");
  EXPECT_EQ(ClauseForRuleId("art12_p2_gains_x5"), "art12.2");
  EXPECT_EQ(ClauseForRuleId("art287_2_case"), "art287-2");
  EXPECT_EQ(ClauseForRuleId("art11_3_fee_rate:warn80"), "art11.3");
  EXPECT_EQ(ClauseForRuleId("art11_3"), "art11.3");
  EXPECT_EQ(ClauseForRuleId("art13_predicate_verified"), "art13_predicate_verified");
  EXPECT_EQ(ClauseForRuleId("presumed_knowledge"), "presumed_knowledge");
  EXPECT_EQ(ClauseForRuleId("art_x_y"), "art_x_y");
  EXPECT_EQ(ClauseForRuleId(""), "");
}

TEST(AlertmanagerSink, RejectsBadUrls) {
  std::unique_ptr<AlertmanagerSink> sink;
  AlertmanagerSink::Options o;
  for (const char* url :
       {"https://a:1", "a:1", "http://:9093", "http://h:0", "http://h:x", "http://h:99999"}) {
    o.url = url;
    EXPECT_FALSE(AlertmanagerSink::Create(o, nullptr, &sink).ok()) << url;
  }
}

TEST(AlertmanagerSink, FiringAndResolvedExactJson) {
  auto rules = MakeRules();
  FakeAlertmanager am;
  Metrics metrics("test");
  std::atomic<int64_t> clock{T("2026-03-01T02:00:01Z")};
  std::unique_ptr<AlertmanagerSink> sink;
  ASSERT_TRUE(AlertmanagerSink::Create(SinkOptions(am.url(), &clock), &metrics, &sink).ok());

  const Transition fired = Tr(*rules, "art11_3_fee_rate", "acct-1", true, T("2026-03-01T02:00:00Z"),
                              {"e1", "e2"}, 12345);
  sink->OnTransition(fired, *rules);
  // notify: false: never sent.
  sink->OnTransition(
      Tr(*rules, "art12_2_settlement", "acct-1", true, T("2026-03-01T02:00:00Z"), {"e3"}, 3),
      *rules);
  ASSERT_TRUE(sink->Flush(milliseconds(5000)));
  auto bodies = am.bodies();
  ASSERT_EQ(bodies.size(), 1u);
  EXPECT_EQ(bodies[0], std::string("[{\"labels\":") + kFeeLabels +
                           ",\"annotations\":" + kFeeAnnotations + ",\"transition_id\":\"" +
                           TransitionId(fired, *rules) + "\"}" +
                           R"(,"startsAt":"2026-03-01T02:00:00.000Z",)"
                           R"("endsAt":"2026-03-01T02:05:01.000Z"}])");
  EXPECT_EQ(sink->stats().firing, 1u);

  // Resolution: endsAt = at, startsAt = the firing's at; value annotations from the resolution.
  clock = T("2026-03-01T02:30:00Z");
  const Transition resolved = Tr(*rules, "art11_3_fee_rate", "acct-1", false,
                                 T("2026-03-01T02:20:00Z"), {"e1", "e2"}, 9000);
  sink->OnTransition(resolved, *rules);
  sink->OnTransition(
      Tr(*rules, "art12_2_settlement", "acct-1", false, T("2026-03-01T02:20:00Z"), {}, 1), *rules);
  ASSERT_TRUE(sink->Flush(milliseconds(5000)));
  bodies = am.bodies();
  ASSERT_EQ(bodies.size(), 2u);
  EXPECT_EQ(bodies[1],
            std::string("[{\"labels\":") + kFeeLabels +
                R"(,"annotations":{"value":"90.00","threshold":"100.50","events":"e1,e2",)"
                R"("basis":"办法 第十一条 第三项","explain_zh":"费率异常",)"
                R"("explain_en":"fee \"rate\" above line","at":"2026-03-01T02:20:00.000Z",)"
                R"("transition_id":")" +
                TransitionId(resolved, *rules) +
                R"("},)"
                R"("startsAt":"2026-03-01T02:00:00.000Z","endsAt":"2026-03-01T02:20:00.000Z"}])");
  EXPECT_EQ(sink->stats().firing, 0u);
  EXPECT_EQ(Sent(metrics, "ok"), 2);
  EXPECT_EQ(Sent(metrics, "failed"), 0);
  EXPECT_EQ(Sent(metrics, "dropped"), 0);

  // A resolution with nothing remembered: startsAt = endsAt = at; group_by label = subject;
  // no value/threshold without a value; escaping of the key.
  const Transition nothing =
      Tr(*rules, "art287_2_case", "s\"1\n", false, T("2026-03-01T03:00:00Z"), {});
  sink->OnTransition(nothing, *rules);
  ASSERT_TRUE(sink->Flush(milliseconds(5000)));
  bodies = am.bodies();
  ASSERT_EQ(bodies.size(), 3u);
  EXPECT_EQ(bodies[2],
            R"([{"labels":{"alertname":"art287_2_case","severity":"warning","subject":"s\"1\n",)"
            R"("clause":"art287-2"},"annotations":{"events":"","basis":"刑法 287-2",)"
            R"("explain_zh":"","explain_en":"","at":"2026-03-01T03:00:00.000Z",)"
            R"("transition_id":")" +
                TransitionId(nothing, *rules) +
                R"("},)"
                R"("startsAt":"2026-03-01T03:00:00.000Z","endsAt":"2026-03-01T03:00:00.000Z"}])");
}

TEST(AlertmanagerSink, ResendsFiringAlertsUntilResolved) {
  auto rules = MakeRules();
  FakeAlertmanager am;
  std::atomic<int64_t> clock{T("2026-03-01T02:00:10Z")};
  auto opts = SinkOptions(am.url(), &clock);
  opts.resend_interval = milliseconds(60'000);
  opts.ends_ahead = milliseconds(120'000);
  std::unique_ptr<AlertmanagerSink> sink;
  ASSERT_TRUE(AlertmanagerSink::Create(opts, nullptr, &sink).ok());

  const Transition fired = Tr(*rules, "art11_3_fee_rate", "acct-1", true, T("2026-03-01T02:00:00Z"),
                              {"e1", "e2"}, 12345);
  sink->OnTransition(fired, *rules);
  ASSERT_TRUE(sink->Flush(milliseconds(5000)));
  EXPECT_EQ(sink->ResendDue(), 0u);  // not yet due
  clock = T("2026-03-01T02:00:40Z");
  EXPECT_EQ(sink->ResendDue(), 0u);
  clock = T("2026-03-01T02:01:10Z");
  sink->ResendDue();  // the worker may have done it already; exactly one re-send either way
  EXPECT_EQ(sink->ResendDue(), 0u);
  ASSERT_TRUE(sink->Flush(milliseconds(5000)));
  auto bodies = am.bodies();
  ASSERT_EQ(bodies.size(), 2u);
  EXPECT_NE(bodies[0].find(
                R"("startsAt":"2026-03-01T02:00:00.000Z","endsAt":"2026-03-01T02:02:10.000Z")"),
            std::string::npos)
      << bodies[0];
  // Same labels, annotations and startsAt; endsAt moved forward.
  EXPECT_EQ(bodies[1].substr(0, bodies[1].find("\"endsAt\"")),
            bodies[0].substr(0, bodies[0].find("\"endsAt\"")));
  EXPECT_NE(bodies[1].find(R"("endsAt":"2026-03-01T02:03:10.000Z"}])"), std::string::npos)
      << bodies[1];

  sink->OnTransition(
      Tr(*rules, "art11_3_fee_rate", "acct-1", false, T("2026-03-01T02:01:30Z"), {"e2"}, 5000),
      *rules);
  ASSERT_TRUE(sink->Flush(milliseconds(5000)));
  clock = T("2026-03-01T02:10:00Z");
  EXPECT_EQ(sink->ResendDue(), 0u);  // forgotten once resolved
  ASSERT_TRUE(sink->Flush(milliseconds(5000)));
  bodies = am.bodies();
  ASSERT_EQ(bodies.size(), 3u);
  EXPECT_NE(bodies[2].find(R"("endsAt":"2026-03-01T02:01:30.000Z")"), std::string::npos);
}

TEST(AlertmanagerSink, WorkerResendsOnItsOwn) {
  auto rules = MakeRules();
  FakeAlertmanager am;
  auto opts = SinkOptions(am.url(), nullptr);  // system clock
  opts.resend_interval = milliseconds(50);
  std::unique_ptr<AlertmanagerSink> sink;
  ASSERT_TRUE(AlertmanagerSink::Create(opts, nullptr, &sink).ok());
  sink->OnTransition(Tr(*rules, "art287_2_case", "s1", true, T("2026-03-01T02:00:00Z"), {"e"}, 5),
                     *rules);
  EXPECT_TRUE(am.WaitForRequests(3));
}

TEST(AlertmanagerSink, RetriesWithBackoffThenSucceeds) {
  auto rules = MakeRules();
  FakeAlertmanager am;
  am.Answer({500, 500});
  Metrics metrics("test");
  std::atomic<int64_t> clock{T("2026-03-01T02:00:01Z")};
  std::unique_ptr<AlertmanagerSink> sink;
  ASSERT_TRUE(AlertmanagerSink::Create(SinkOptions(am.url(), &clock), &metrics, &sink).ok());
  const Transition fired = Tr(*rules, "art11_3_fee_rate", "acct-1", true, T("2026-03-01T02:00:00Z"),
                              {"e1", "e2"}, 12345);
  sink->OnTransition(fired, *rules);
  ASSERT_TRUE(sink->Flush(milliseconds(5000)));
  auto bodies = am.bodies();
  ASSERT_EQ(bodies.size(), 3u);
  EXPECT_EQ(bodies[1], bodies[0]);
  EXPECT_EQ(bodies[2], bodies[0]);
  EXPECT_EQ(Sent(metrics, "ok"), 1);
  EXPECT_EQ(Sent(metrics, "failed"), 0);
  EXPECT_EQ(sink->stats().requests, 3u);
}

TEST(AlertmanagerSink, GivesUpAfterMaxAttempts) {
  auto rules = MakeRules();
  FakeAlertmanager am;
  am.Answer({503, 503, 503, 503});
  Metrics metrics("test");
  std::atomic<int64_t> clock{T("2026-03-01T02:00:01Z")};
  auto opts = SinkOptions(am.url(), &clock);
  opts.max_attempts = 3;
  std::unique_ptr<AlertmanagerSink> sink;
  ASSERT_TRUE(AlertmanagerSink::Create(opts, &metrics, &sink).ok());
  sink->OnTransition(
      Tr(*rules, "art11_3_fee_rate", "acct-1", true, T("2026-03-01T02:00:00Z"), {"e1"}, 12345),
      *rules);
  ASSERT_TRUE(sink->Flush(milliseconds(5000)));
  EXPECT_EQ(am.bodies().size(), 3u);
  EXPECT_EQ(Sent(metrics, "failed"), 1);
  EXPECT_EQ(Sent(metrics, "ok"), 0);

  // A 400 is not retried.
  am.Answer({400});
  sink->OnTransition(
      Tr(*rules, "art11_3_fee_rate", "acct-2", true, T("2026-03-01T02:00:00Z"), {"e1"}, 12345),
      *rules);
  ASSERT_TRUE(sink->Flush(milliseconds(5000)));
  EXPECT_EQ(am.bodies().size(), 4u);
  EXPECT_EQ(Sent(metrics, "failed"), 2);
}

TEST(AlertmanagerSink, ConnectionRefusedCountsFailed) {
  // A port nobody listens on: bind, read the port, close.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  auto rules = MakeRules();
  Metrics metrics("test");
  auto opts = SinkOptions("http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)), nullptr);
  opts.max_attempts = 2;
  std::unique_ptr<AlertmanagerSink> sink;
  ASSERT_TRUE(AlertmanagerSink::Create(opts, &metrics, &sink).ok());
  sink->OnTransition(Tr(*rules, "art287_2_case", "s1", true, T("2026-03-01T02:00:00Z"), {}, 5),
                     *rules);
  ASSERT_TRUE(sink->Flush(milliseconds(5000)));
  EXPECT_EQ(Sent(metrics, "failed"), 1);
  EXPECT_EQ(sink->stats().requests, 2u);
}

TEST(AlertmanagerSink, DropsWhenQueueFull) {
  auto rules = MakeRules();
  FakeAlertmanager am;
  am.Block(true);
  Metrics metrics("test");
  std::atomic<int64_t> clock{T("2026-03-01T02:00:01Z")};
  auto opts = SinkOptions(am.url(), &clock);
  opts.queue_capacity = 2;
  std::unique_ptr<AlertmanagerSink> sink;
  ASSERT_TRUE(AlertmanagerSink::Create(opts, &metrics, &sink).ok());
  auto fire = [&](int i) {
    sink->OnTransition(Tr(*rules, "art287_2_case", "s" + std::to_string(i), true,
                          T("2026-03-01T02:00:00Z"), {}, 5),
                       *rules);
  };
  fire(0);
  ASSERT_TRUE(am.WaitForRequests(1));  // the worker is now stuck in the first POST
  for (int i = 1; i <= 5; ++i) fire(i);
  EXPECT_EQ(Sent(metrics, "dropped"), 3);
  EXPECT_EQ(sink->stats().dropped, 3u);
  EXPECT_FALSE(sink->Flush(milliseconds(50)));
  am.Block(false);
  ASSERT_TRUE(sink->Flush(milliseconds(5000)));
  auto bodies = am.bodies();
  ASSERT_EQ(bodies.size(), 2u);  // the first alert, then the two queued ones in one batch
  EXPECT_NE(bodies[1].find(R"("subject":"s1")"), std::string::npos);
  EXPECT_NE(bodies[1].find(R"("subject":"s2")"), std::string::npos);
  EXPECT_EQ(Sent(metrics, "ok"), 3);
}

TEST(AlertmanagerSink, BatchesAtMost64) {
  auto rules = MakeRules();
  FakeAlertmanager am;
  am.Block(true);
  std::atomic<int64_t> clock{T("2026-03-01T02:00:01Z")};
  std::unique_ptr<AlertmanagerSink> sink;
  ASSERT_TRUE(AlertmanagerSink::Create(SinkOptions(am.url(), &clock), nullptr, &sink).ok());
  auto fire = [&](int i) {
    sink->OnTransition(Tr(*rules, "art287_2_case", "s" + std::to_string(i), true,
                          T("2026-03-01T02:00:00Z"), {}, 5),
                       *rules);
  };
  fire(0);
  ASSERT_TRUE(am.WaitForRequests(1));
  for (int i = 1; i <= 100; ++i) fire(i);
  am.Block(false);
  ASSERT_TRUE(sink->Flush(milliseconds(5000)));
  auto bodies = am.bodies();
  ASSERT_EQ(bodies.size(), 3u);
  auto count = [](const std::string& b) {
    size_t n = 0;
    for (size_t p = 0; (p = b.find("\"labels\"", p)) != std::string::npos; ++p) ++n;
    return n;
  };
  EXPECT_EQ(count(bodies[1]), 64u);
  EXPECT_EQ(count(bodies[2]), 36u);
  EXPECT_EQ(sink->stats().ok, 101u);
}

TEST(AlertmanagerSink, StopIsIdempotentAndIgnoresLaterTransitions) {
  auto rules = MakeRules();
  FakeAlertmanager am;
  std::unique_ptr<AlertmanagerSink> sink;
  ASSERT_TRUE(AlertmanagerSink::Create(SinkOptions(am.url(), nullptr), nullptr, &sink).ok());
  sink->Stop();
  sink->Stop();
  sink->OnTransition(Tr(*rules, "art287_2_case", "s1", true, T("2026-03-01T02:00:00Z"), {}, 5),
                     *rules);
  EXPECT_EQ(sink->stats().queued, 0u);
  sink.reset();
  EXPECT_TRUE(am.bodies().empty());
}

// ---------------------------------------------------------------------------------------
// Real Alertmanager.

TEST(AlertmanagerSinkReal, FiringThenResolved) {
  RealAlertmanager am;
  std::string err = am.Start();
  ASSERT_EQ(err, "") << "cannot run a real Alertmanager: " << err;

  auto rules = MakeRules();
  Metrics metrics("test");
  std::unique_ptr<AlertmanagerSink> sink;
  ASSERT_TRUE(
      AlertmanagerSink::Create(
          SinkOptions("http://127.0.0.1:" + std::to_string(am.port()), nullptr), &metrics, &sink)
          .ok());
  const int64_t now =
      std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  sink->OnTransition(
      Tr(*rules, "art11_3_fee_rate", "acct-1", true, now - 60'000, {"e1", "e2"}, 12345), *rules);
  ASSERT_TRUE(sink->Flush(milliseconds(10000)));
  ASSERT_EQ(Sent(metrics, "ok"), 1) << am.Log();

  // Alertmanager (Go) renders label maps with sorted keys.
  const std::string labels =
      R"("labels":{"account":"acct-1","alertname":"art11_3_fee_rate","clause":"art11.3",)"
      R"("severity":"critical"})";
  std::string body = PollAlerts(
      am.port(), [&](const std::string& b) { return b.find(labels) != std::string::npos; });
  EXPECT_NE(body.find(labels), std::string::npos) << body;
  EXPECT_NE(body.find(R"("state":"active")"), std::string::npos) << body;
  EXPECT_NE(body.find(R"("events":"e1,e2")"), std::string::npos) << body;
  EXPECT_NE(body.find(R"("value":"123.45")"), std::string::npos) << body;

  sink->OnTransition(Tr(*rules, "art11_3_fee_rate", "acct-1", false, now - 1000, {"e1", "e2"}, 100),
                     *rules);
  ASSERT_TRUE(sink->Flush(milliseconds(10000)));
  EXPECT_EQ(Sent(metrics, "ok"), 2);
  // Resolved (endsAt in the past): no longer listed; nothing else was ever sent.
  body = PollAlerts(am.port(), [&](const std::string& b) { return b == "[]"; });
  EXPECT_EQ(body, "[]");
  sink->Stop();
}

}  // namespace
}  // namespace abusewatch
