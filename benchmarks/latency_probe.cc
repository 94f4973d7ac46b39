// latency_probe: alert latency of the daemon, from an event appended to Kafka to the alert
// posted to a webhook, under a steady background load. Used by benchmarks/kafka_e2e.sh.
//
//   latency_probe --brokers B --topic T --port-file F --go-file G
//                 [--rate 50000] [--seconds 30] [--probe-ms 10] [--accounts 200000]
//                 [--warmup 3] [--drain 60]
//
// 1. Serves POST /hook on 127.0.0.1:0 (the daemon's webhook sink posts every notifying
//    transition there) and writes the port to F; then waits until G exists (the script creates
//    it once the daemon has joined its group and got its partitions).
// 2. Produces background logins of random accounts (keyed by account, `ts` = wall clock in
//    epoch ms) paced to --rate events/s, for --warmup s, then --seconds s with one probe every
//    --probe-ms: an abuse_report with severity especially_serious for a fresh account
//    "probe-<run>-<n>", which fires art12_p2_especially_serious of the legal pack on its own.
//    Then background only, until every probe's alert arrived or --drain s passed (the engine
//    releases an event once the watermark, the minimum over partitions of the newest `ts`
//    minus allowed_lateness, passes it: background traffic must keep flowing for that).
// 3. For each probe: latency = webhook receive time − the time librdkafka reported the record
//    delivered (acked by the broker = appended), and − the time it was handed to librdkafka.
//    Prints count, p50, p90, p99, max of both (milliseconds), and the background rate reached.
#include <librdkafka/rdkafka.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "daemon/http/http_server.h"

namespace {

using SysClock = std::chrono::system_clock;
using Clock = std::chrono::steady_clock;

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(SysClock::now().time_since_epoch())
      .count();
}

struct Probe {
  int64_t handed_us = 0;
  std::atomic<int64_t> acked_us{0};
  std::atomic<int64_t> received_us{0};
};

std::vector<Probe>* g_probes = nullptr;
std::atomic<long long> g_delivery_errors{0};

void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* m, void*) {
  const auto idx = reinterpret_cast<intptr_t>(m->_private);
  if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    ++g_delivery_errors;
    return;
  }
  if (idx > 0) (*g_probes)[idx - 1].acked_us = NowUs();
}

std::string Arg(int argc, char** argv, const std::string& name, const std::string& def) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (argv[i] == name) return argv[i + 1];
  }
  return def;
}

void Stats(const char* label, std::vector<double> v) {
  if (v.empty()) {
    std::printf("%s: no samples\n", label);
    return;
  }
  std::sort(v.begin(), v.end());
  auto q = [&](double p) {
    return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
  };
  std::printf("%s: n=%zu p50_ms=%.1f p90_ms=%.1f p99_ms=%.1f max_ms=%.1f min_ms=%.1f\n", label,
              v.size(), q(0.50), q(0.90), q(0.99), v.back(), v.front());
}

}  // namespace

int main(int argc, char** argv) {
  const std::string brokers = Arg(argc, argv, "--brokers", "");
  const std::string topic = Arg(argc, argv, "--topic", "");
  const std::string port_file = Arg(argc, argv, "--port-file", "");
  const std::string go_file = Arg(argc, argv, "--go-file", "");
  const double rate = std::atof(Arg(argc, argv, "--rate", "50000").c_str());
  const double seconds = std::atof(Arg(argc, argv, "--seconds", "30").c_str());
  const double probe_ms = std::atof(Arg(argc, argv, "--probe-ms", "10").c_str());
  const int accounts = std::atoi(Arg(argc, argv, "--accounts", "200000").c_str());
  const double warmup = std::atof(Arg(argc, argv, "--warmup", "3").c_str());
  const double drain = std::atof(Arg(argc, argv, "--drain", "60").c_str());
  if (brokers.empty() || topic.empty() || port_file.empty() || go_file.empty()) {
    std::fprintf(stderr,
                 "usage: latency_probe --brokers B --topic T --port-file F --go-file G "
                 "[--rate N] [--seconds S] [--probe-ms MS] [--accounts N] [--warmup S] "
                 "[--drain S]\n");
    return 2;
  }
  const std::string run = std::to_string(::getpid()) + "x" + std::to_string(NowUs() % 1000000);
  const std::string probe_prefix = "probe-" + run + "-";
  const size_t max_probes = static_cast<size_t>(seconds * 1000 / probe_ms) + 16;
  std::vector<Probe> probes(max_probes);
  g_probes = &probes;
  std::atomic<size_t> probes_sent{0};
  std::atomic<long long> posts{0}, unmatched{0};

  // 1. The webhook receiver.
  abusewatch::HttpServer::Options ho;
  ho.address = "127.0.0.1";
  ho.port = 0;
  abusewatch::HttpServer server(ho);
  server.Route("POST", "/hook", [&](const abusewatch::HttpRequest& req) {
    const int64_t now = NowUs();
    ++posts;
    const std::string& b = req.body;
    const size_t k = b.find("\"key\":\"" + probe_prefix);
    if (k != std::string::npos && b.find("\"art12_p2_especially_serious\"") != std::string::npos &&
        b.find("\"state\":\"firing\"") != std::string::npos) {
      const size_t start = k + 7 + probe_prefix.size();
      const size_t n = std::strtoull(b.c_str() + start, nullptr, 10);
      if (n < probes_sent.load()) {
        int64_t zero = 0;
        probes[n].received_us.compare_exchange_strong(zero, now);
      }
    } else {
      ++unmatched;
    }
    abusewatch::HttpResponse r;
    r.body = "ok";
    return r;
  });
  if (auto s = server.Start(); !s.ok()) {
    std::fprintf(stderr, "latency_probe: http: %s\n", s.message().c_str());
    return 1;
  }
  {
    std::ofstream(port_file + ".tmp") << server.port() << "\n";
    std::rename((port_file + ".tmp").c_str(), port_file.c_str());
  }
  std::fprintf(stderr, "latency_probe: webhook on http://127.0.0.1:%u/hook; waiting for %s\n",
               server.port(), go_file.c_str());
  for (int i = 0; access(go_file.c_str(), F_OK) != 0; ++i) {
    if (i > 3000) {
      std::fprintf(stderr, "latency_probe: %s never appeared\n", go_file.c_str());
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }

  // 2. The producer.
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  for (const auto& [k, v] : std::vector<std::pair<std::string, std::string>>{
           {"bootstrap.servers", brokers},
           {"linger.ms", "5"},
           {"acks", "all"},
           {"queue.buffering.max.messages", "1000000"}}) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
      std::fprintf(stderr, "latency_probe: %s: %s\n", k.c_str(), errstr);
      return 2;
    }
  }
  rd_kafka_conf_set_dr_msg_cb(conf, &OnDelivery);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (rk == nullptr) {
    std::fprintf(stderr, "latency_probe: rd_kafka_new: %s\n", errstr);
    return 1;
  }
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<int> acct(0, accounts - 1);
  std::string line, key;
  auto produce = [&](intptr_t opaque) {
    while (rd_kafka_producev(
               rk, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_KEY(key.data(), key.size()),
               RD_KAFKA_V_VALUE(line.data(), line.size()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
               RD_KAFKA_V_OPAQUE(reinterpret_cast<void*>(opaque)),
               RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      rd_kafka_poll(rk, 1);
    }
  };
  long long background = 0;
  const auto t0 = Clock::now();
  const double probe_start = warmup, probe_end = warmup + seconds;
  double next_probe = probe_start;
  double elapsed = 0;
  auto all_received = [&] {
    const size_t n = probes_sent.load();
    for (size_t i = 0; i < n; ++i) {
      if (probes[i].received_us.load() == 0) return false;
    }
    return true;
  };
  int64_t check_every = 0;
  for (;;) {
    elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
    if (elapsed >= probe_end) {
      if (elapsed >= probe_end + drain) break;
      if (++check_every % 100 == 0 && all_received()) break;
    }
    const auto target = static_cast<long long>(rate * elapsed);
    while (background < target) {
      const int a = acct(rng);
      key = "acct-" + std::to_string(a);
      const int64_t ts = NowUs() / 1000;
      line = "{\"id\":\"" + run + "-bg-" + std::to_string(background) +
             "\",\"type\":\"login\",\"ts\":" + std::to_string(ts) + ",\"account\":\"" + key +
             "\",\"ip\":\"10." + std::to_string(a % 256) + ".0.1\",\"source\":\"latency_probe\"}";
      produce(0);
      ++background;
    }
    while (elapsed >= next_probe && next_probe < probe_end && probes_sent < max_probes) {
      const size_t n = probes_sent.load();
      key = probe_prefix + std::to_string(n);
      Probe& p = probes[n];
      p.handed_us = NowUs();
      line = "{\"id\":\"" + run + "-probe-" + std::to_string(n) +
             "\",\"type\":\"abuse_report\",\"ts\":" + std::to_string(p.handed_us / 1000) +
             ",\"account\":\"" + key +
             "\",\"category\":\"fraud\",\"reporter\":\"latency_probe\","
             "\"severity\":\"especially_serious\"}";
      probes_sent = n + 1;
      produce(static_cast<intptr_t>(n + 1));
      next_probe += probe_ms / 1000;
    }
    rd_kafka_poll(rk, 0);
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  rd_kafka_flush(rk, 30000);
  // A little longer for stragglers when the drain ended early on all received.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  server.Stop();
  rd_kafka_destroy(rk);

  // 3. Results.
  std::vector<double> from_acked, from_handed, ack_delay;
  size_t missing = 0;
  for (size_t i = 0; i < probes_sent; ++i) {
    const Probe& p = probes[i];
    if (p.received_us == 0 || p.acked_us == 0) {
      ++missing;
      continue;
    }
    from_acked.push_back((p.received_us - p.acked_us) / 1000.0);
    from_handed.push_back((p.received_us - p.handed_us) / 1000.0);
    ack_delay.push_back((p.acked_us - p.handed_us) / 1000.0);
  }
  std::printf(
      "probes_sent=%zu probes_received=%zu missing=%zu webhook_posts=%lld "
      "unmatched_posts=%lld background_events=%lld background_eps=%.0f elapsed_s=%.1f "
      "delivery_errors=%lld\n",
      probes_sent.load(), from_acked.size(), missing, posts.load(), unmatched.load(), background,
      background / elapsed, elapsed, g_delivery_errors.load());
  Stats("latency_from_appended", from_acked);
  Stats("latency_from_handed", from_handed);
  Stats("produce_ack_delay", ack_delay);
  return missing == 0 ? 0 : 1;
}
