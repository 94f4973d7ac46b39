#include "daemon/sinks/alertmanager_sink.h"

#include <algorithm>
#include <exception>

#include "detectors/timeutil.h"

namespace abusewatch {
namespace {

constexpr size_t kMaxBatch = 64;
constexpr std::string_view kSinkName = "alertmanager";

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

void AppendField(std::string_view name, std::string_view value, bool* first, std::string* out) {
  if (!*first) out->push_back(',');
  *first = false;
  AppendJsonString(name, out);
  out->push_back(':');
  AppendJsonString(value, out);
}

std::string Rfc3339(int64_t ms) { return FormatRfc3339Utc(ms); }

}  // namespace

std::string ClauseForRuleId(std::string_view id) {
  std::string_view base = id.substr(0, id.find(':'));
  if (base.substr(0, 3) != "art") return std::string(id);
  std::string_view rest = base.substr(3);
  size_t u1 = rest.find('_');
  if (u1 == std::string_view::npos) return std::string(id);
  std::string_view article = rest.substr(0, u1);
  if (!AllDigits(article)) return std::string(id);
  std::string_view tail = rest.substr(u1 + 1);
  std::string_view second = tail.substr(0, tail.find('_'));
  if (article == "12" && second == "p2") return "art12.2";
  if (!AllDigits(second)) return std::string(id);
  if (article == "12") return "art12.1." + std::string(second);
  if (article == "287") return "art287-" + std::string(second);
  return "art" + std::string(article) + "." + std::string(second);
}

Status AlertmanagerSink::Create(Options options, Metrics* metrics,
                                std::unique_ptr<AlertmanagerSink>* out) {
  if (options.resend_interval.count() < 1) options.resend_interval = std::chrono::milliseconds(1);
  HttpDelivery::Options d;
  d.name = std::string(kSinkName);
  d.url = options.url;
  d.append_path = "/api/v2/alerts";
  d.framing = HttpDelivery::Framing::kJsonArray;
  d.max_batch = kMaxBatch;
  d.queue_capacity = options.queue_capacity;
  d.request_timeout = options.request_timeout;
  d.max_attempts = options.max_attempts;
  d.initial_backoff = options.initial_backoff;
  d.max_backoff = options.max_backoff;
  d.periodic_interval = options.resend_interval;
  std::unique_ptr<AlertmanagerSink> sink;
  try {
    sink.reset(new AlertmanagerSink(std::move(options)));
  } catch (const std::exception& e) {
    return Status::Internal(std::string("alertmanager sink: ") + e.what());
  }
  AlertmanagerSink* raw = sink.get();
  // The worker may call ResendDue() as soon as it starts: `sink` outlives the delivery, which
  // its destructor stops first.
  d.periodic = [raw] { raw->ResendDue(); };
  if (Status s = HttpDelivery::Create(std::move(d), metrics, &sink->delivery_); !s.ok()) return s;
  *out = std::move(sink);
  return Status::Ok();
}

AlertmanagerSink::AlertmanagerSink(Options options) : options_(std::move(options)) {}

AlertmanagerSink::~AlertmanagerSink() { Stop(); }

void AlertmanagerSink::Stop() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
  }
  if (delivery_ != nullptr) delivery_->Stop();
}

int64_t AlertmanagerSink::Now() const {
  if (options_.now_ms) return options_.now_ms();
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string AlertmanagerSink::AlertJson(const Firing& f, int64_t ends_at_ms) const {
  std::string out;
  out.reserve(f.labels.size() + f.annotations.size() + 96);
  out.append("{\"labels\":");
  out.append(f.labels);
  out.append(",\"annotations\":");
  out.append(f.annotations);
  out.append(",\"startsAt\":\"");
  out.append(Rfc3339(f.starts_at_ms));
  out.append("\",\"endsAt\":\"");
  out.append(Rfc3339(ends_at_ms));
  out.append("\"}");
  return out;
}

void AlertmanagerSink::OnTransition(const Transition& t, const RuleSet& rules) {
  try {
    if (t.rule < 0 || static_cast<size_t>(t.rule) >= rules.rules().size()) return;
    const CompiledRule& r = rules.rules()[t.rule];
    if (!r.spec.notify) return;

    Firing f;
    bool first = true;
    f.labels.push_back('{');
    AppendField("alertname", r.spec.id, &first, &f.labels);
    AppendField("severity", SeverityName(r.spec.severity), &first, &f.labels);
    AppendField(FieldName(r.spec.group_by), t.key, &first, &f.labels);
    AppendField("clause", ClauseForRuleId(r.spec.id), &first, &f.labels);
    f.labels.push_back('}');

    first = true;
    f.annotations.push_back('{');
    if (t.has_value) {
      bool sum = r.spec.aggregate == Aggregate::kSum;
      AppendField("value", sum ? FormatScaled(t.value, 2) : FormatInt(t.value), &first,
                  &f.annotations);
      AppendField("threshold", sum ? FormatScaled(r.line, 2) : FormatInt(r.line), &first,
                  &f.annotations);
    }
    std::string events;
    for (size_t i = 0; i < t.events.size(); ++i) {
      if (i > 0) events.push_back(',');
      events.append(t.events[i]);
    }
    AppendField("events", events, &first, &f.annotations);
    AppendField("basis", r.spec.basis, &first, &f.annotations);
    AppendField("explain_zh", r.spec.explain_zh, &first, &f.annotations);
    AppendField("explain_en", r.spec.explain_en, &first, &f.annotations);
    AppendField("at", Rfc3339(t.at_ms), &first, &f.annotations);
    AppendField("transition_id", TransitionId(t, rules), &first, &f.annotations);
    f.annotations.push_back('}');

    std::string id = r.spec.id;
    id.push_back('\0');
    id.append(t.key);

    std::lock_guard<std::mutex> lk(mu_);
    if (stop_) return;
    const int64_t ends_ahead = options_.ends_ahead.count();
    if (t.firing) {
      f.starts_at_ms = t.at_ms;
      int64_t now = Now();
      f.last_sent_ms = now;
      int64_t ends = now + ends_ahead;
      if (ends <= f.starts_at_ms) ends = f.starts_at_ms + std::max<int64_t>(ends_ahead, 1);
      delivery_->Enqueue(AlertJson(f, ends));
      firing_[id] = std::move(f);
    } else {
      auto it = firing_.find(id);
      f.starts_at_ms = it != firing_.end() ? std::min(it->second.starts_at_ms, t.at_ms) : t.at_ms;
      if (it != firing_.end()) firing_.erase(it);
      delivery_->Enqueue(AlertJson(f, t.at_ms));
    }
  } catch (...) {
    // Out of memory while building the alert: count it as dropped rather than throw into
    // the engine.
    delivery_->CountDropped(1);
  }
}

size_t AlertmanagerSink::ResendDue() {
  std::lock_guard<std::mutex> lk(mu_);
  try {
    return ResendDueLocked();
  } catch (...) {
    return 0;
  }
}

size_t AlertmanagerSink::ResendDueLocked() {
  if (stop_ || firing_.empty()) return 0;
  const int64_t now = Now();
  const int64_t interval = options_.resend_interval.count();
  const int64_t ends_ahead = options_.ends_ahead.count();
  size_t n = 0;
  for (auto& [id, f] : firing_) {
    if (now - f.last_sent_ms < interval) continue;
    f.last_sent_ms = now;
    int64_t ends = now + ends_ahead;
    if (ends <= f.starts_at_ms) ends = f.starts_at_ms + std::max<int64_t>(ends_ahead, 1);
    delivery_->Enqueue(AlertJson(f, ends));
    ++n;
  }
  return n;
}

bool AlertmanagerSink::Flush(std::chrono::milliseconds timeout) {
  return delivery_->Flush(timeout);
}

AlertmanagerSink::Stats AlertmanagerSink::stats() const {
  HttpDelivery::Stats d = delivery_->stats();
  std::lock_guard<std::mutex> lk(mu_);
  Stats s;
  s.ok = d.ok;
  s.failed = d.failed;
  s.dropped = d.dropped;
  s.requests = d.requests;
  s.queued = d.queued;
  s.firing = firing_.size();
  return s;
}

}  // namespace abusewatch
