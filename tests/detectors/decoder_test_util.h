// Shared fixture for the decoder tests: a Decoder with USD/HKD rates, a line builder and
// assertions that print the actual reason and detail on failure.
#ifndef ABUSEWATCH_TESTS_DETECTORS_DECODER_TEST_UTIL_H_
#define ABUSEWATCH_TESTS_DETECTORS_DECODER_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <utility>

#include "detectors/decimal.h"
#include "detectors/decoder.h"
#include "detectors/event.h"

namespace abusewatch {
namespace testing_util {

// rules.md example: currency_rates { USD: "7.10", HKD: "0.91" }, base CNY, 64 KiB.
inline DecoderOptions TestDecoderOptions() {
  DecoderOptions o;
  o.currency_rates["USD"] = Decimal{710, 2};
  o.currency_rates["HKD"] = Decimal{91, 2};
  return o;
}

// `{"id":"e1","type":<type>,"ts":"2026-04-01T10:00:00+08:00","account":"acct-t",<extra>}`.
inline std::string Line(std::string_view type, std::string_view extra = "") {
  std::string s = R"({"id":"e1","type":")";
  s += type;
  s += R"(","ts":"2026-04-01T10:00:00+08:00","account":"acct-t")";
  if (!extra.empty()) {
    s += ',';
    s += extra;
  }
  s += '}';
  return s;
}

// A payment line with the given amount member text (e.g. `"1.00"` or `1.00`) and extras.
inline std::string Payment(std::string_view amount_json, std::string_view extra = "") {
  std::string e = R"("flow":"settlement","amount":)";
  e += amount_json;
  if (!extra.empty()) {
    e += ',';
    e += extra;
  }
  return Line("payment", e);
}

inline std::string Printable(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 300)) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f) {
      static const char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    } else {
      out += c;
    }
  }
  if (s.size() > 300) out += "...(" + std::to_string(s.size()) + " bytes)";
  return out;
}

class DecoderTestBase : public ::testing::Test {
 protected:
  explicit DecoderTestBase(DecoderOptions options = TestDecoderOptions())
      : decoder_(std::move(options)) {}

  ::testing::AssertionResult Accepts(std::string_view record) {
    rej_ = Rejection{};
    if (decoder_.Decode(record, &ev_, &rej_)) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "rejected as " << RejectReasonName(rej_.reason) << " ("
                                         << rej_.detail << "): " << Printable(record);
  }

  // Rejected with `want`, with a non-empty detail.
  ::testing::AssertionResult Rejects(std::string_view record, RejectReason want) {
    rej_ = Rejection{};
    if (decoder_.Decode(record, &ev_, &rej_)) {
      return ::testing::AssertionFailure()
             << "accepted, expected " << RejectReasonName(want) << ": " << Printable(record);
    }
    if (rej_.reason != want) {
      return ::testing::AssertionFailure()
             << "rejected as " << RejectReasonName(rej_.reason) << " (" << rej_.detail
             << "), expected " << RejectReasonName(want) << ": " << Printable(record);
    }
    if (rej_.detail.empty()) {
      return ::testing::AssertionFailure() << "empty detail for " << Printable(record);
    }
    return ::testing::AssertionSuccess();
  }

  Decoder decoder_;
  Event ev_;
  Rejection rej_;
};

}  // namespace testing_util
}  // namespace abusewatch

#endif  // ABUSEWATCH_TESTS_DETECTORS_DECODER_TEST_UTIL_H_
