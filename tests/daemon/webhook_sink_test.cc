// WebhookSink against a fake receiver (our HttpServer on an ephemeral loopback port) that
// records each POST's body and headers; plus HttpDelivery's URL parsing.
#include "daemon/sinks/webhook_sink.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "daemon/http/http_server.h"
#include "daemon/metrics/metrics.h"
#include "daemon/sinks/http_delivery.h"
#include "detectors/rule_set.h"
#include "detectors/timeutil.h"
#include "tests/daemon/fake_http_receiver.h"
#include "tests/daemon/sink_test_util.h"

namespace abusewatch {
namespace {

using std::chrono::milliseconds;

constexpr char kSecret[] = "s3cr\0t-key";  // with a NUL byte: the secret is raw bytes
const std::string kSecretBytes(kSecret, sizeof kSecret - 1);

// Rules: 0 art287_2_case (notify), 1 art12_2_settlement (notify: false).
std::shared_ptr<const RuleSet> MakeRules() { return test::TwoRules(); }

Transition Tr(const RuleSet& rules, std::string_view rule, std::string key, bool firing,
              int64_t value = 3) {
  return test::MakeTransition(rules, rule, std::move(key), firing, 1'772'330'400'000, value,
                              {"e1", "e\"2"});
}

std::string Json(const Transition& t, const RuleSet& rules) {
  std::string out;
  AppendTransitionJson(t, rules, &out);
  return out;
}

// Records POST /hook requests; `statuses` are answered in order (then 200); while `blocked`,
// the handler waits.
class FakeReceiver : public test::FakeHttpReceiver {
 public:
  FakeReceiver() : FakeHttpReceiver("/hook") {}
  std::string url() const { return base_url() + "/hook"; }
};

WebhookSink::Options SinkOptions(const std::string& url) {
  WebhookSink::Options o;
  o.url = url;
  o.secret = kSecretBytes;
  o.request_timeout = milliseconds(5000);
  o.initial_backoff = milliseconds(10);
  o.max_backoff = milliseconds(40);
  return o;
}

std::string Header(const HttpRequest& r, const std::string& name) {
  auto it = r.headers.find(name);
  return it == r.headers.end() ? std::string() : it->second;
}

double Sent(Metrics& m, const char* result) { return m.AlertsSent("webhook", result).Value(); }

TEST(WebhookSignature, MatchesRfc4231TestCase2) {
  EXPECT_EQ(WebhookSignature("Jefe", "what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(WebhookSink, RejectsBadOptions) {
  std::unique_ptr<WebhookSink> sink;
  WebhookSink::Options o = SinkOptions("https://example.com/hook");
  EXPECT_FALSE(WebhookSink::Create(o, nullptr, &sink).ok());
  o = SinkOptions("http://127.0.0.1:1/hook");
  o.secret.clear();
  EXPECT_FALSE(WebhookSink::Create(o, nullptr, &sink).ok());
  for (const char* url : {"http://", "http://:80/", "http://h:0/", "http://h:99999", "http://h:8x",
                          "http://u@h/", "http://h/a b", "http://[::1/"}) {
    o = SinkOptions(url);
    EXPECT_FALSE(WebhookSink::Create(o, nullptr, &sink).ok()) << url;
  }
}

TEST(HttpUrl, Parses) {
  HttpUrl u;
  ASSERT_TRUE(ParseHttpUrl("http://[::1]:8080/a/b/", "x", &u).ok());
  EXPECT_EQ(u.host, "::1");
  EXPECT_EQ(u.port, "8080");
  EXPECT_EQ(u.path, "/a/b");
  ASSERT_TRUE(ParseHttpUrl("http://hooks.local", "x", &u).ok());
  EXPECT_EQ(u.host, "hooks.local");
  EXPECT_EQ(u.port, "80");
  EXPECT_EQ(u.path, "");
  ASSERT_TRUE(ParseHttpUrl("http://h:1?token=a", "x", &u).ok());
  EXPECT_EQ(u.path, "/?token=a");
}

TEST(WebhookSink, BodyIsTheTransitionAndTheSignatureVerifies) {
  auto rules = MakeRules();
  FakeReceiver rx;
  Metrics metrics("test");
  std::unique_ptr<WebhookSink> sink;
  ASSERT_TRUE(WebhookSink::Create(SinkOptions(rx.url()), &metrics, &sink).ok());
  EXPECT_EQ(sink->name(), "webhook");
  const Transition a = Tr(*rules, "art287_2_case", "acct-1", true);
  const Transition b = Tr(*rules, "art287_2_case", "acct-\u00e9\n", false, 2);
  sink->OnTransition(a, *rules);
  sink->OnTransition(b, *rules);
  ASSERT_TRUE(sink->Flush(milliseconds(5000)));

  auto reqs = rx.requests();
  ASSERT_EQ(reqs.size(), 2u);  // one POST per transition, in order
  EXPECT_EQ(reqs[0].body, Json(a, *rules));
  EXPECT_EQ(reqs[1].body, Json(b, *rules));
  for (const HttpRequest& r : reqs) {
    EXPECT_EQ(r.method, "POST");
    EXPECT_EQ(r.target, "/hook");
    EXPECT_EQ(Header(r, "content-type"), "application/json");
    const std::string sig = Header(r, "x-abusewatch-signature");
    ASSERT_EQ(sig.size(), 7u + 64u) << sig;
    EXPECT_EQ(sig.substr(0, 7), "sha256=");
    EXPECT_EQ(sig.find_first_not_of("0123456789abcdef", 7), std::string::npos) << sig;
    // The receiver's check: HMAC of the received body with the shared secret.
    EXPECT_EQ(sig, WebhookSignature(kSecretBytes, r.body));
    // A tampered body, or another secret, does not verify.
    std::string tampered = r.body;
    tampered[tampered.find("acct-")] = 'A';
    EXPECT_NE(sig, WebhookSignature(kSecretBytes, tampered));
    EXPECT_NE(sig, WebhookSignature("s3cr", r.body));
  }
  EXPECT_NE(Header(reqs[0], "x-abusewatch-signature"), Header(reqs[1], "x-abusewatch-signature"));
  EXPECT_EQ(Sent(metrics, "ok"), 2);
  EXPECT_EQ(sink->stats().ok, 2u);
}

TEST(WebhookSink, RetriesAfter503WithTheSameSignedBody) {
  auto rules = MakeRules();
  FakeReceiver rx;
  rx.Answer({503, 429});
  Metrics metrics("test");
  std::unique_ptr<WebhookSink> sink;
  ASSERT_TRUE(WebhookSink::Create(SinkOptions(rx.url()), &metrics, &sink).ok());
  sink->OnTransition(Tr(*rules, "art287_2_case", "acct-1", true), *rules);
  ASSERT_TRUE(sink->Flush(milliseconds(5000)));
  auto reqs = rx.requests();
  ASSERT_EQ(reqs.size(), 3u);
  for (const HttpRequest& r : reqs) {
    EXPECT_EQ(r.body, reqs[0].body);
    EXPECT_EQ(Header(r, "x-abusewatch-signature"), WebhookSignature(kSecretBytes, reqs[0].body));
  }
  EXPECT_EQ(Sent(metrics, "ok"), 1);
  EXPECT_EQ(Sent(metrics, "failed"), 0);
  EXPECT_EQ(sink->stats().requests, 3u);
}

TEST(WebhookSink, GivesUpAfterMaxAttemptsAndDoesNotRetry400) {
  auto rules = MakeRules();
  FakeReceiver rx;
  rx.Answer({500, 500, 500, 400});
  Metrics metrics("test");
  auto opts = SinkOptions(rx.url());
  opts.max_attempts = 3;
  std::unique_ptr<WebhookSink> sink;
  ASSERT_TRUE(WebhookSink::Create(opts, &metrics, &sink).ok());
  sink->OnTransition(Tr(*rules, "art287_2_case", "acct-1", true), *rules);
  sink->OnTransition(Tr(*rules, "art287_2_case", "acct-2", true), *rules);
  ASSERT_TRUE(sink->Flush(milliseconds(5000)));
  EXPECT_EQ(rx.requests().size(), 4u);  // 3 attempts, then one 400 not retried
  EXPECT_EQ(Sent(metrics, "failed"), 2);
  EXPECT_EQ(Sent(metrics, "ok"), 0);
}

TEST(WebhookSink, NotifyOnlyFiltersRulesWithoutNotify) {
  auto rules = MakeRules();
  FakeReceiver rx;
  {
    std::unique_ptr<WebhookSink> sink;
    ASSERT_TRUE(WebhookSink::Create(SinkOptions(rx.url()), nullptr, &sink).ok());
    sink->OnTransition(Tr(*rules, "art12_2_settlement", "acct-1", true), *rules);
    sink->OnTransition(Tr(*rules, "art287_2_case", "acct-2", true), *rules);
    ASSERT_TRUE(sink->Flush(milliseconds(5000)));
    auto reqs = rx.requests();
    ASSERT_EQ(reqs.size(), 1u);
    EXPECT_NE(reqs[0].body.find("\"acct-2\""), std::string::npos);
  }
  auto opts = SinkOptions(rx.url());
  opts.notify_only = false;
  std::unique_ptr<WebhookSink> sink;
  ASSERT_TRUE(WebhookSink::Create(opts, nullptr, &sink).ok());
  sink->OnTransition(Tr(*rules, "art12_2_settlement", "acct-3", true), *rules);
  ASSERT_TRUE(sink->Flush(milliseconds(5000)));
  auto reqs = rx.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[1].body, Json(Tr(*rules, "art12_2_settlement", "acct-3", true), *rules));
}

TEST(WebhookSink, CountsDroppedWhenTheQueueIsFull) {
  auto rules = MakeRules();
  FakeReceiver rx;
  rx.Block(true);
  Metrics metrics("test");
  auto opts = SinkOptions(rx.url());
  opts.queue_capacity = 1;
  std::unique_ptr<WebhookSink> sink;
  ASSERT_TRUE(WebhookSink::Create(opts, &metrics, &sink).ok());
  sink->OnTransition(Tr(*rules, "art287_2_case", "k0", true), *rules);
  ASSERT_TRUE(rx.WaitForRequests(1));  // the worker is stuck in the first POST
  for (int i = 1; i <= 4; ++i) {
    sink->OnTransition(Tr(*rules, "art287_2_case", "k" + std::to_string(i), true), *rules);
  }
  EXPECT_EQ(Sent(metrics, "dropped"), 3);  // k1 queued; k2..k4 refused
  EXPECT_FALSE(sink->Flush(milliseconds(50)));
  rx.Block(false);
  ASSERT_TRUE(sink->Flush(milliseconds(5000)));
  auto reqs = rx.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_NE(reqs[1].body.find("\"k1\""), std::string::npos);
  EXPECT_EQ(Sent(metrics, "ok"), 2);

  // After Stop(), transitions are counted as dropped, not sent.
  sink->Stop();
  sink->Stop();
  sink->OnTransition(Tr(*rules, "art287_2_case", "k9", true), *rules);
  EXPECT_EQ(Sent(metrics, "dropped"), 4);
  EXPECT_EQ(rx.requests().size(), 2u);
}

}  // namespace
}  // namespace abusewatch
