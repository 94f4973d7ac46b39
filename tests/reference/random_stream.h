// Deterministic random rule configs and event streams for differential testing of the engine
// against the reference (tests only). Everything derives from one seed through
// std::mt19937_64 and the integer helpers below (no <random> distributions, whose results
// differ between standard libraries), so a seed reproduces the same case everywhere.
#ifndef ABUSEWATCH_TESTS_REFERENCE_RANDOM_STREAM_H_
#define ABUSEWATCH_TESTS_REFERENCE_RANDOM_STREAM_H_

#include <cstdint>
#include <iterator>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "detectors/rule_spec.h"

namespace abusewatch::testing::ref {

class Rng {
 public:
  explicit Rng(uint64_t seed) : gen_(seed) {}
  uint64_t Next() { return gen_(); }
  // Uniform in [lo, hi] (inclusive); lo <= hi.
  int64_t Range(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(Next() % static_cast<uint64_t>(hi - lo + 1));
  }
  // True with probability percent / 100.
  bool Percent(int percent) { return Range(0, 99) < percent; }
  // A uniformly chosen element of a non-empty vector or array.
  template <typename C>
  const auto& Pick(const C& c) {
    return c[static_cast<size_t>(Range(0, static_cast<int64_t>(std::size(c)) - 1))];
  }

 private:
  std::mt19937_64 gen_;
};

// Value vocabularies shared by the config and stream generators, so selectors can match.
namespace vocab {
inline constexpr std::string_view kCategories[] = {"fraud", "phishing_kit", "c2",
                                                   "spam",  "other",        "custom_cat"};
inline constexpr std::string_view kSeverities[] = {"normal", "serious", "especially_serious"};
inline constexpr std::string_view kActions[] = {
    "suspend", "takedown", "restrict", "report_to_police", "warn", "restore", "close"};
inline constexpr std::string_view kFlows[] = {"service_fee", "settlement", "ad_funding", "gain",
                                              "refund"};
inline constexpr std::string_view kMethods[] = {"bank", "crypto", "gift_card", "other"};
inline constexpr std::string_view kSignals[] = {"tor", "vpn", "proxy", "geo_jump"};
inline constexpr std::string_view kKinds[] = {"administrative", "criminal"};
inline constexpr std::string_view kEntityKeys[] = {"idcard:1", "phone:2", "company:3"};
inline constexpr std::string_view kDevices[] = {"dev-1", "dev-2", "dev-3"};
inline constexpr std::string_view kIps[] = {"10.0.0.1", "10.0.0.2", "10.0.0.3"};
inline constexpr std::string_view kPayers[] = {"payer-1", "payer-2", "payer-3"};
inline constexpr std::string_view kAuthorities[] = {"CAC", "MPS", "PBOC"};
inline constexpr std::string_view kSubjects[] = {"site-1", "site-2", "S3", "tenant.4"};
}  // namespace vocab

// 1-8 rules of every kind (threshold count/sum/distinct, absence, sequence, all_of/any_of
// including nested ones, warn_at, reset_on, disabled rules), random timezone, lateness and
// dedup horizon. RuleSet::Compile is expected to accept every config this returns.
EngineConfig RandomConfig(Rng& rng);

// 20-300 JSON lines over 2-4 accounts and 0-3 subjects for `config`: every event type, both
// ts forms, ties, out-of-order and late arrivals, duplicate ids, events exactly on bucket
// boundaries and deadlines, blank lines and a few malformed records.
std::vector<std::string> RandomStream(const EngineConfig& config, Rng& rng);

// RFC 3339 text of `ms` in a fixed offset of `offset_minutes`, with `fraction_digits`
// fractional digits (0 only when the milliseconds are 0; beyond 3 the extra digits are noise
// that parsers must truncate).
std::string FormatRfc3339(int64_t ms, int offset_minutes, int fraction_digits, Rng& rng);

}  // namespace abusewatch::testing::ref

#endif  // ABUSEWATCH_TESTS_REFERENCE_RANDOM_STREAM_H_
