#include "daemon/review/review_sink.h"

#include <algorithm>
#include <utility>

#include "daemon/metrics/metrics.h"
#include "detectors/decimal.h"

namespace abusewatch {

CaseTransition ToCaseTransition(const Transition& t, const RuleSet& rules,
                                const EvidenceBuffer* evidence) {
  const CompiledRule& r = rules.rules()[t.rule];
  CaseTransition c;
  c.transition_id = TransitionId(t, rules);
  c.rule_id = r.spec.id;
  c.key = t.key;
  c.firing = t.firing;
  c.at_ms = t.at_ms;
  if (t.has_value) {  // as AppendTransitionJson (detectors/transition.cc)
    const bool sum = r.spec.aggregate == Aggregate::kSum;
    c.value = sum ? FormatScaled(t.value, 2) : FormatInt(t.value);
    c.threshold = sum ? FormatScaled(r.line, 2) : FormatInt(r.line);
  }
  c.severity = std::string(SeverityName(r.spec.severity));
  c.basis = r.spec.basis;
  c.explain_zh = r.spec.explain_zh;
  c.explain_en = r.spec.explain_en;
  c.notify = r.spec.notify;
  c.event_ids = t.events;
  if (evidence != nullptr) {
    for (const std::string& id : t.events) {
      if (const std::string* raw = evidence->Find(id)) c.payloads.emplace_back(id, *raw);
    }
  }
  return c;
}

ReviewSink::ReviewSink(ReviewService* service, const EvidenceBuffer* evidence, Metrics* metrics,
                       Options options)
    : service_(service), evidence_(evidence), metrics_(metrics), options_(options) {
  if (metrics_ != nullptr) {
    for (const char* result : {"ok", "failed", "dropped"}) metrics_->AlertsSent(name_, result);
    metrics_->ReviewStoreErrors();
  }
  worker_ = std::thread([this] { Work(); });
}

ReviewSink::~ReviewSink() { Stop(); }

void ReviewSink::OnTransition(const Transition& t, const RuleSet& rules) {
  try {
    CaseTransition c = ToCaseTransition(t, rules, evidence_);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!stop_ && queue_.size() < std::max<size_t>(options_.queue_capacity, 1)) {
        queue_.push_back(std::move(c));
        work_cv_.notify_one();
        return;
      }
      ++dropped_;
    }
  } catch (const std::exception&) {  // bad_alloc: counted as dropped
    std::lock_guard<std::mutex> lock(mu_);
    ++dropped_;
  }
  if (metrics_ != nullptr) metrics_->AlertsSent(name_, "dropped").Increment();
}

bool ReviewSink::Flush(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return idle_cv_.wait_for(lock, timeout, [this] { return queue_.empty() && !busy_; });
}

void ReviewSink::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_ && !worker_.joinable()) return;
    stop_ = true;
    work_cv_.notify_all();
  }
  if (worker_.joinable() && worker_.get_id() != std::this_thread::get_id()) worker_.join();
  size_t discarded = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    discarded = queue_.size();
    dropped_ += discarded;
    queue_.clear();
    idle_cv_.notify_all();
  }
  if (metrics_ != nullptr && discarded > 0) {
    metrics_->AlertsSent(name_, "dropped").Increment(static_cast<double>(discarded));
  }
}

uint64_t ReviewSink::recorded() const {
  std::lock_guard<std::mutex> lock(mu_);
  return recorded_;
}
uint64_t ReviewSink::failed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return failed_;
}
uint64_t ReviewSink::dropped() const {
  std::lock_guard<std::mutex> lock(mu_);
  return dropped_;
}

void ReviewSink::Work() {
  try {
    Periodic();
    auto next_counts = std::chrono::steady_clock::now() + options_.counts_interval;
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      work_cv_.wait_until(lock, next_counts, [this] { return stop_ || !queue_.empty(); });
      if (stop_) break;
      if (std::chrono::steady_clock::now() >= next_counts) {
        lock.unlock();
        Periodic();
        lock.lock();
        next_counts = std::chrono::steady_clock::now() + options_.counts_interval;
        continue;
      }
      CaseTransition t = std::move(queue_.front());
      queue_.pop_front();
      busy_ = true;
      lock.unlock();
      Record(t);
      lock.lock();
      busy_ = false;
      if (queue_.empty()) idle_cv_.notify_all();
    }
    lock.unlock();
    RefreshCounts();
  } catch (const std::exception&) {
    // Nothing can be done on this thread; what is queued is counted as dropped by Stop().
    std::lock_guard<std::mutex> lock(mu_);
    busy_ = false;
    idle_cv_.notify_all();
  }
}

void ReviewSink::Record(const CaseTransition& t) {
  const int attempts = std::max(options_.max_attempts, 1);
  auto backoff = std::chrono::milliseconds(100);
  for (int a = 1;; ++a) {
    const ReviewResult r = service_->RecordTransition(t);
    if (r.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      ++recorded_;
      if (metrics_ != nullptr) metrics_->AlertsSent(name_, "ok").Increment();
      return;
    }
    if (metrics_ != nullptr) metrics_->ReviewStoreErrors().Increment();
    std::unique_lock<std::mutex> lock(mu_);
    if (a >= attempts || r.code != ReviewErrc::kStorage || stop_) {
      ++failed_;
      if (metrics_ != nullptr) metrics_->AlertsSent(name_, "failed").Increment();
      return;
    }
    work_cv_.wait_for(lock, backoff, [this] { return stop_; });
    backoff *= 2;
  }
}

void ReviewSink::Periodic() {
  if (!service_->Refresh().ok() && metrics_ != nullptr) metrics_->ReviewStoreErrors().Increment();
  RefreshCounts();
}

void ReviewSink::RefreshCounts() {
  if (metrics_ == nullptr) return;
  std::vector<StatusCount> counts;
  if (!service_->Counts(CaseFilter{}, &counts).ok()) {
    metrics_->ReviewStoreErrors().Increment();
    return;
  }
  for (std::string_view s :
       {kStatusOpen, kStatusInReview, kStatusAwaitingSecond, kStatusDecided, kStatusClosed}) {
    int64_t n = 0;
    for (const StatusCount& c : counts) {
      if (c.status == s) n = c.count;
    }
    metrics_->ReviewCases(s).Set(static_cast<double>(n));
  }
}

void SuppressionGate::OnTransition(const Transition& t, const RuleSet& rules) {
  if (t.firing && service_ != nullptr) {
    const CompiledRule& r = rules.rules()[t.rule];
    if (service_->IsSuppressed(r.spec.id, t.key, t.at_ms)) {
      ++suppressed_;
      if (metrics_ != nullptr) metrics_->AlertsSuppressed(r.spec.id).Increment();
      return;
    }
  }
  inner_->OnTransition(t, rules);
}

}  // namespace abusewatch
