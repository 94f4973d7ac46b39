#include "daemon/run_review.h"

#include <filesystem>
#include <utility>

#include "daemon/log.h"
#include "daemon/metrics/metrics.h"
#include "daemon/review/review_sink.h"
#include "daemon/review/sql_db.h"

namespace abusewatch {
namespace {

Status Prefixed(const Status& s, const std::string& prefix) {
  return s.code() == Status::Code::kInvalidArgument ? Status::InvalidArgument(prefix + s.message())
                                                    : Status::IoError(prefix + s.message());
}

}  // namespace

ReviewRuntime::ReviewRuntime(const ReviewConfig& config, Metrics* metrics, Logger* log)
    : config_(config), metrics_(metrics), log_(log) {}

ReviewRuntime::~ReviewRuntime() = default;

Status ReviewRuntime::Open(const ReviewConfig& config, Metrics* metrics, Logger* log,
                           std::unique_ptr<ReviewRuntime>* out) {
  std::unique_ptr<ReviewRuntime> rt(new ReviewRuntime(config, metrics, log));
  rt->tokens_ = std::make_unique<TokenStore>();
  std::string warning;
  if (Status s = rt->tokens_->Load(config.tokens, &warning); !s.ok()) {
    return Status::InvalidArgument("review tokens: " + s.message());  // exit 2
  }
  if (!warning.empty()) log->Warn("review tokens: " + warning);
  std::unique_ptr<SqlDb> db;
  Status s;
  if (config.store == "sqlite") {
    std::error_code ec;
    const auto parent = std::filesystem::path(config.path).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
    s = OpenSqliteDb(config.path, &db);
  } else {
    s = OpenPostgresDb(config.postgres, &db);
  }
  if (!s.ok()) return Prefixed(s, "review store: ");
  ReviewOptions ro;
  ro.four_eyes = config.four_eyes;
  ro.max_evidence_bytes = config.max_evidence_bytes;
  rt->service_ = std::make_unique<ReviewService>(std::move(db), ro);
  if (ReviewResult r = rt->service_->Open(); !r.ok()) {
    return Status::IoError("review store: " + r.message);
  }
  if (config.evidence_buffer_bytes > 0) {
    rt->evidence_ =
        std::make_unique<EvidenceBuffer>(static_cast<size_t>(config.evidence_buffer_bytes));
  }
  log->Info("review store: " + config.store + " " +
            (config.store == "sqlite" ? config.path : std::string("(postgresql)")) + ", " +
            std::to_string(rt->tokens_->size()) + " token(s)");
  *out = std::move(rt);
  return Status::Ok();
}

ReviewApiOptions ReviewRuntime::ApiOptions() const {
  ReviewApiOptions o;
  o.enable_page = config_.page;
  o.open_audit_db = [store = config_.store, path = config_.path,
                     conninfo = config_.postgres](std::unique_ptr<SqlDb>* db) {
    return store == "sqlite" ? OpenSqliteDb(path, db) : OpenPostgresDb(conninfo, db);
  };
  return o;
}

std::unique_ptr<AlertSink> ReviewRuntime::MakeSink() {
  return std::make_unique<ReviewSink>(service_.get(), evidence_.get(), metrics_,
                                      ReviewSink::Options{});
}

std::unique_ptr<AlertSink> ReviewRuntime::Gate(const std::string& type,
                                               std::unique_ptr<AlertSink> sink) {
  if (type != "alertmanager" && type != "webhook") return sink;
  return std::make_unique<SuppressionGate>(std::move(sink), service_.get(), metrics_);
}

void ReviewRuntime::BeforeOffer(const std::string_view* records, size_t n) {
  inserted_.assign(n, 0);
  if (!evidence_) return;
  for (size_t i = 0; i < n; ++i) {
    std::string_view id;
    if (ExtractEventId(records[i], &id)) inserted_[i] = evidence_->Insert(id, records[i]);
  }
}

void ReviewRuntime::AfterOffer(const std::string_view* records, size_t n, const bool* accepted) {
  if (!evidence_) return;
  for (size_t i = 0; i < n && i < inserted_.size(); ++i) {
    std::string_view id;
    if (accepted[i] == (inserted_[i] != 0) || !ExtractEventId(records[i], &id)) continue;
    if (accepted[i]) {
      evidence_->Insert(id, records[i]);  // an earlier record of the batch held the id
    } else {
      evidence_->Erase(id);
    }
  }
}

Status ReviewRuntime::ReloadTokens() {
  std::string warning;
  Status s = tokens_->Reload(&warning);
  if (s.ok() && !warning.empty()) log_->Warn("review tokens: " + warning);
  return s;
}

}  // namespace abusewatch
