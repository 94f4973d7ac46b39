// The review store's part of the composition root (run.cc), kept apart to keep run.cc small:
// the ReviewService and TokenStore of config `review:`, the evidence buffer the loop fills, the
// ReviewSink, and the suppression gate in front of the sinks that notify people.
//
// Lifetime (run.cc): Open() before the HTTP server starts (the review routes need the service and
// the tokens); the sinks made here are stopped by the daemon with the others; the runtime is
// destroyed after the HTTP server stopped (reverse order).
//
// Thread safety: Open(), MakeSink(), Gate(), BeforeOffer(), AfterOffer() and ReloadTokens() on
// the loop thread only; service() and tokens() are themselves thread-safe.
#ifndef ABUSEWATCH_DAEMON_RUN_REVIEW_H_
#define ABUSEWATCH_DAEMON_RUN_REVIEW_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/daemon_config.h"
#include "daemon/review/auth.h"
#include "daemon/review/evidence_buffer.h"
#include "daemon/review/review_api.h"
#include "daemon/review/review_service.h"
#include "daemon/sinks/sink.h"
#include "detectors/status.h"

namespace abusewatch {

class Logger;
class Metrics;

class ReviewRuntime {
 public:
  // Opens (and migrates) the store of `config` (enabled), loads its token file. `metrics` and
  // `log` must outlive the runtime. Errors name the config section.
  static Status Open(const ReviewConfig& config, Metrics* metrics, Logger* log,
                     std::unique_ptr<ReviewRuntime>* out);
  ~ReviewRuntime();

  ReviewService& service() { return *service_; }
  TokenStore& tokens() { return *tokens_; }
  const ReviewConfig& config() const { return config_; }
  // For RegisterReviewRoutes: the page per config, audit verify on a new connection.
  ReviewApiOptions ApiOptions() const;

  // The sink recording every transition in the store (reads this runtime's evidence buffer).
  std::unique_ptr<AlertSink> MakeSink();
  // Wraps `sink` in a SuppressionGate when `type` notifies people (alertmanager, webhook).
  std::unique_ptr<AlertSink> Gate(const std::string& type, std::unique_ptr<AlertSink> sink);

  // Around Engine::OfferBatch: remembers the payloads of the records offered (before, so that
  // transitions emitted during the offer find them) and forgets those the engine rejected.
  void BeforeOffer(const std::string_view* records, size_t n);
  void AfterOffer(const std::string_view* records, size_t n, const bool* accepted);

  // SIGHUP: re-reads the token file; on error keeps the current tokens and returns the error.
  Status ReloadTokens();

 private:
  ReviewRuntime(const ReviewConfig& config, Metrics* metrics, Logger* log);

  const ReviewConfig config_;
  Metrics* metrics_;
  Logger* log_;
  std::unique_ptr<TokenStore> tokens_;
  std::unique_ptr<ReviewService> service_;
  std::unique_ptr<EvidenceBuffer> evidence_;  // null when evidence_buffer is 0
  std::vector<char> inserted_;                // per record of the batch being offered
};

}  // namespace abusewatch

#endif  // ABUSEWATCH_DAEMON_RUN_REVIEW_H_
