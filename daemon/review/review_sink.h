// The daemon's side of the review store (review_service.h).
//
// ReviewSink: an AlertSink that turns every engine transition (notify and not: non-notify
// transitions join the timeline of an open case) into a CaseTransition, with the raw payloads of
// its evidence ids still held by an EvidenceBuffer (evidence_buffer.h; ids no longer held are
// recorded as ids only), and records it with ReviewService::RecordTransition on one worker
// thread, so the loop never waits on the database. The queue is bounded (Options::
// queue_capacity): a transition arriving when it is full is dropped and counted. A storage error
// is retried (Options::max_attempts, backoff from 100 ms), then given up and counted.
// Metrics: abusewatch_alerts_sent_total{sink="review",result="ok|failed|dropped"},
// abusewatch_review_store_errors_total (each failed attempt), and abusewatch_review_cases{status}
// refreshed by the worker every Options::counts_interval (and once at start). At the same pace
// the worker reloads the suppression cache (ReviewService::Refresh), so a false-positive decision
// taken through another instance sharing the store (PostgreSQL) reaches this one's gate.
//
// SuppressionGate: wraps a sink that notifies people (Alertmanager, webhook): a firing
// transition that ReviewService::IsSuppressed says is suppressed (a false-positive decision) is
// not passed on, and is counted in abusewatch_alerts_suppressed_total{rule}. Resolutions always
// pass. Transition records (file, stdout, Kafka) are not gated: they are the engine's output.
//
// Thread safety: OnTransition(), Tick() are called on the daemon's loop thread (the evidence
// buffer is read there); Flush(), Stop() and the counters from any thread. Stop() must not race
// the destructor. No exception leaves a public function or the worker thread.
#ifndef ABUSEWATCH_DAEMON_REVIEW_REVIEW_SINK_H_
#define ABUSEWATCH_DAEMON_REVIEW_REVIEW_SINK_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "daemon/review/evidence_buffer.h"
#include "daemon/review/review_service.h"
#include "daemon/sinks/sink.h"

namespace abusewatch {

class Metrics;

// The engine transition as the review store takes it (value and threshold as in the transition
// JSON, without quotes; empty when null). `evidence` may be null (no payloads).
CaseTransition ToCaseTransition(const Transition& t, const RuleSet& rules,
                                const EvidenceBuffer* evidence);

class ReviewSink final : public AlertSink {
 public:
  struct Options {
    size_t queue_capacity = 10'000;  // transitions waiting; values < 1 mean 1
    int max_attempts = 3;            // per transition, on a storage error; values < 1 mean 1
    // review_cases gauge and suppression cache refresh
    std::chrono::milliseconds counts_interval{10'000};
  };

  // `service` must be Open()ed and outlive the sink; `evidence` and `metrics` may be null and
  // must otherwise outlive it. Starts the worker thread.
  ReviewSink(ReviewService* service, const EvidenceBuffer* evidence, Metrics* metrics,
             Options options);
  ~ReviewSink() override;  // Stop()s

  const std::string& name() const override { return name_; }
  void OnTransition(const Transition& t, const RuleSet& rules) override;
  bool Flush(std::chrono::milliseconds timeout) override;
  void Stop() override;

  uint64_t recorded() const;  // recorded (or found recorded) in the store
  uint64_t failed() const;    // given up after storage errors
  uint64_t dropped() const;   // queue full, or discarded by Stop()

 private:
  void Work();
  void Record(const CaseTransition& t);
  void RefreshCounts();
  void Periodic();  // the suppression cache, then RefreshCounts()

  const std::string name_ = "review";
  ReviewService* service_;
  const EvidenceBuffer* evidence_;
  Metrics* metrics_;
  const Options options_;

  mutable std::mutex mu_;  // guards everything below
  std::condition_variable work_cv_, idle_cv_;
  std::deque<CaseTransition> queue_;
  bool busy_ = false;  // the worker is recording one it popped
  bool stop_ = false;
  uint64_t recorded_ = 0, failed_ = 0, dropped_ = 0;
  std::thread worker_;  // last: started after everything above is built
};

class SuppressionGate final : public AlertSink {
 public:
  // `service` and `metrics` (may be null) must outlive the gate.
  SuppressionGate(std::unique_ptr<AlertSink> inner, const ReviewService* service, Metrics* metrics)
      : inner_(std::move(inner)), service_(service), metrics_(metrics) {}

  const std::string& name() const override { return inner_->name(); }
  void OnTransition(const Transition& t, const RuleSet& rules) override;
  void Tick() override { inner_->Tick(); }
  bool Flush(std::chrono::milliseconds timeout) override { return inner_->Flush(timeout); }
  void Stop() override { inner_->Stop(); }
  uint64_t suppressed() const { return suppressed_; }

 private:
  std::unique_ptr<AlertSink> inner_;
  const ReviewService* service_;
  Metrics* metrics_;
  uint64_t suppressed_ = 0;  // loop thread only
};

}  // namespace abusewatch

#endif  // ABUSEWATCH_DAEMON_REVIEW_REVIEW_SINK_H_
