// Decodes and validates one input record (a Kafka message value or a JSON Lines line) into an
// Event, exactly as spec/events.md: every field, default and rejection code.
//
// The hot path: simdjson On-Demand over a reusable padded copy of the record. Money and
// decimals are parsed from the raw JSON token text, never through binary floating point.
// Thread safety: a Decoder is not thread-safe (it owns a parser); use one per thread.
#ifndef ABUSEWATCH_DETECTORS_DECODER_H_
#define ABUSEWATCH_DETECTORS_DECODER_H_

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "detectors/decimal.h"
#include "detectors/event.h"
#include "detectors/rule_spec.h"

namespace abusewatch {

enum class RejectReason : uint8_t {
  kMalformedJson = 0,
  kTooLarge,
  kMissingField,
  kBadType,
  kUnknownType,
  kBadTimestamp,
  kBadAmount,
  kUnknownCurrency,
  kBadValue,
  kDuplicate,
  kLate,
};
constexpr int kNumRejectReasons = 11;
std::string_view RejectReasonName(RejectReason r);

struct Rejection {
  RejectReason reason = RejectReason::kMalformedJson;
  std::string detail;  // one clear sentence; never contains more than a short excerpt of input
  std::string id;      // the event id when it could be read
  bool has_id = false;
};

// Appends `"id":<id or null>,"reason":"<code>","detail":"…"` (no braces) for reject records.
void AppendRejectionFields(const Rejection& r, std::string* out);

struct DecoderOptions {
  size_t max_event_bytes = 65'536;
  std::string base_currency = "CNY";
  std::map<std::string, Decimal> currency_rates;
};

// The decoder settings a config implies (size limit, base currency, rates).
DecoderOptions DecoderOptionsFor(const EngineConfig& config);

class Decoder {
 public:
  explicit Decoder(DecoderOptions options);
  ~Decoder();
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  // Decodes `record` (one JSON object; surrounding whitespace allowed). On success fills
  // `*event` (cleared first) and returns true. Otherwise fills `*rejection` and returns false;
  // `*event` is then unspecified. Never throws, whatever the bytes.
  bool Decode(std::string_view record, Event* event, Rejection* rejection);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace abusewatch

#endif  // ABUSEWATCH_DETECTORS_DECODER_H_
