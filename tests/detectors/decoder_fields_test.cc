// Decoder acceptance: every field and default of every event type (spec/events.md "Types"),
// exact amounts and currency conversion, unknown fields, and scenario 09 line by line.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "detectors/decoder.h"
#include "detectors/timeutil.h"
#include "tests/detectors/decoder_test_util.h"

namespace abusewatch {
namespace {

using testing_util::DecoderTestBase;
using testing_util::Line;
using testing_util::Payment;
using F = FieldId;

class DecoderFieldsTest : public DecoderTestBase {
 protected:
  std::vector<std::string> Array(FieldId f) {
    std::vector<std::string> out;
    for (size_t i = 0; i < ev_.ArraySize(f); ++i) out.emplace_back(ev_.ArrayElement(f, i));
    return out;
  }
};

TEST_F(DecoderFieldsTest, Envelope) {
  ASSERT_TRUE(Accepts(R"({"id":"ev-1","type":"login","ts":"2026-04-01T10:00:00.123456+08:00",)"
                      R"("account":"acct-7","subject":"site-9","source":"edge"})"));
  EXPECT_EQ(ev_.type, EventType::kLogin);
  EXPECT_EQ(ev_.id(), "ev-1");
  EXPECT_EQ(ev_.Str(F::kType), "login");
  EXPECT_EQ(ev_.account(), "acct-7");
  EXPECT_EQ(ev_.Str(F::kSubject), "site-9");
  EXPECT_EQ(ev_.Str(F::kSource), "edge");
  EXPECT_EQ(ev_.ts_ms, 1'775'008'800'123);
  ASSERT_TRUE(Accepts(Line("login")));
  EXPECT_FALSE(ev_.Has(F::kSubject));
  EXPECT_FALSE(ev_.Has(F::kSource));
  EXPECT_EQ(ev_.ts_ms, 1'775'008'800'000);
  // Integer milliseconds since the epoch.
  ASSERT_TRUE(Accepts(R"({"id":"a","type":"login","ts":1775008800123,"account":"x"})"));
  EXPECT_EQ(ev_.ts_ms, 1'775'008'800'123);
  // Escapes are decoded; keys may be escaped too.
  ASSERT_TRUE(Accepts(R"({"\u0069d":"q\"\\\/\u00e9\n","type":"login","ts":1775008800000,)"
                      R"("account":"\u4e2d\u6587"})"));
  EXPECT_EQ(ev_.id(), "q\"\\/\xc3\xa9\n");
  EXPECT_EQ(ev_.account(), "\xe4\xb8\xad\xe6\x96\x87");
}

TEST_F(DecoderFieldsTest, AbuseReportFieldsAndDefaults) {
  ASSERT_TRUE(Accepts(Line("abuse_report", R"("category":"phishing_kit","reporter":"cert",)"
                                           R"("verified":true,"severity":"especially_serious")")));
  EXPECT_EQ(ev_.type, EventType::kAbuseReport);
  EXPECT_EQ(ev_.Str(F::kCategory), "phishing_kit");
  EXPECT_EQ(ev_.Str(F::kReporter), "cert");
  EXPECT_TRUE(ev_.has_verified);
  EXPECT_TRUE(ev_.verified);
  EXPECT_EQ(ev_.Str(F::kSeverity), "especially_serious");
  ASSERT_TRUE(Accepts(Line("abuse_report")));
  EXPECT_EQ(ev_.Str(F::kCategory), "other");
  EXPECT_TRUE(ev_.Has(F::kCategory));
  EXPECT_FALSE(ev_.Has(F::kReporter));
  EXPECT_TRUE(ev_.has_verified);
  EXPECT_FALSE(ev_.verified);
  EXPECT_EQ(ev_.Str(F::kSeverity), "normal");
  ASSERT_TRUE(Accepts(Line("abuse_report", R"("category":"made_up_kind","verified":false)")));
  EXPECT_EQ(ev_.Str(F::kCategory), "made_up_kind");  // unknown strings are kept as given
  EXPECT_FALSE(ev_.verified);
}

TEST_F(DecoderFieldsTest, RegulatorNotice) {
  ASSERT_TRUE(Accepts(Line("regulator_notice", R"("authority":"CAC","notice_id":"N-1")")));
  EXPECT_EQ(ev_.type, EventType::kRegulatorNotice);
  EXPECT_EQ(ev_.Str(F::kAuthority), "CAC");
  EXPECT_EQ(ev_.Str(F::kNoticeId), "N-1");
  EXPECT_TRUE(ev_.has_verified);
  EXPECT_TRUE(ev_.verified);  // default true
  ASSERT_TRUE(Accepts(Line("regulator_notice", R"("verified":false)")));
  EXPECT_FALSE(ev_.verified);
  EXPECT_FALSE(ev_.Has(F::kAuthority));
}

TEST_F(DecoderFieldsTest, DispositionEveryAction) {
  for (const char* a :
       {"suspend", "takedown", "restrict", "report_to_police", "warn", "restore", "close"}) {
    ASSERT_TRUE(Accepts(Line("disposition", R"("action":")" + std::string(a) + R"(","ref":"r9")")));
    EXPECT_EQ(ev_.type, EventType::kDisposition);
    EXPECT_EQ(ev_.Str(F::kAction), a);
    EXPECT_EQ(ev_.Str(F::kRef), "r9");
    EXPECT_FALSE(ev_.has_verified);
  }
}

TEST_F(DecoderFieldsTest, PaymentEveryFieldAndFlow) {
  for (const char* flow : {"service_fee", "settlement", "ad_funding", "gain", "refund"}) {
    ASSERT_TRUE(Accepts(Line("payment", R"("flow":")" + std::string(flow) +
                                            R"(","amount":"12.30","currency":"CNY",)"
                                            R"("method":"gift_card","list_price":"4.1",)"
                                            R"("fee_rate":"0.10","payer":"p-1")")));
    EXPECT_EQ(ev_.type, EventType::kPayment);
    EXPECT_EQ(ev_.Str(F::kFlow), flow);
    EXPECT_EQ(ev_.amount_fen, 1230);
    EXPECT_EQ(ev_.amount_base_fen, 1230);
    EXPECT_EQ(ev_.Str(F::kCurrency), "CNY");
    EXPECT_EQ(ev_.Str(F::kMethod), "gift_card");
    ASSERT_TRUE(ev_.list_price.has_value());
    EXPECT_EQ(FormatDecimal(*ev_.list_price), "4.1");
    ASSERT_TRUE(ev_.fee_rate.has_value());
    EXPECT_EQ(FormatDecimal(*ev_.fee_rate), "0.10");
    EXPECT_EQ(ev_.Str(F::kPayer), "p-1");
    auto amount = ev_.NumericField(F::kAmount);
    ASSERT_TRUE(amount.has_value());
    EXPECT_EQ(FormatDecimal(*amount), "12.30");
  }
}

TEST_F(DecoderFieldsTest, PaymentDefaults) {
  ASSERT_TRUE(Accepts(Payment(R"("5")")));
  EXPECT_EQ(ev_.Str(F::kCurrency), "CNY");
  EXPECT_EQ(ev_.Str(F::kMethod), "other");
  EXPECT_FALSE(ev_.list_price.has_value());
  EXPECT_FALSE(ev_.fee_rate.has_value());
  EXPECT_FALSE(ev_.NumericField(F::kListPrice).has_value());
  EXPECT_FALSE(ev_.Has(F::kPayer));
  EXPECT_EQ(ev_.amount_fen, 500);
  ASSERT_TRUE(Accepts(Payment(R"("5")", R"("currency":null,"method":null,"list_price":null)")));
  EXPECT_EQ(ev_.Str(F::kCurrency), "CNY");
  EXPECT_EQ(ev_.Str(F::kMethod), "other");
  EXPECT_FALSE(ev_.list_price.has_value());
  // JSON numbers for list_price / fee_rate are read exactly too.
  ASSERT_TRUE(Accepts(Payment(R"("5")", R"("list_price":12.50,"fee_rate":0.05)")));
  EXPECT_EQ(FormatDecimal(*ev_.list_price), "12.50");
  EXPECT_EQ(FormatDecimal(*ev_.fee_rate), "0.05");
}

// events.md: `currency` defaults to CNY, even where the configured base currency differs.
TEST(DecoderCurrencyDefaultTest, DefaultIsCnyNotTheBaseCurrency) {
  DecoderOptions o;
  o.base_currency = "USD";
  o.currency_rates["CNY"] = Decimal{14, 2};
  Decoder d(o);
  Event ev;
  Rejection rej;
  ASSERT_TRUE(d.Decode(Payment(R"("100.00")"), &ev, &rej)) << rej.detail;
  EXPECT_EQ(ev.Str(F::kCurrency), "CNY");
  EXPECT_EQ(ev.amount_fen, 10'000);
  EXPECT_EQ(ev.amount_base_fen, 1'400);
}

TEST_F(DecoderFieldsTest, AmountsAreExactAsStringsAndNumbers) {
  struct Case {
    const char* json;
    int64_t fen;
  } cases[] = {{"0.01", 1},
               {"49999.99", 4'999'999},
               {"1408.45", 140'845},
               {"1408.44", 140'844},
               {"0.1", 10},
               {"0.29", 29},
               {"0.57", 57},
               {"1.15", 115},
               {"4.35", 435},
               {"8.2", 820},
               {"200000", 20'000'000},
               {"199999.99", 19'999'999},
               {"0", 0},
               {"0.00", 0},
               {"9007199254740993", -1},  // 2^53 + 1: over 10^15, rejected
               {"999999999999999.99", 99'999'999'999'999'999},
               {"123456789012345.67", 12'345'678'901'234'567}};
  for (const Case& c : cases) {
    for (bool quoted : {false, true}) {
      std::string json = quoted ? "\"" + std::string(c.json) + "\"" : c.json;
      if (c.fen < 0) {
        EXPECT_TRUE(Rejects(Payment(json), RejectReason::kBadAmount)) << json;
        continue;
      }
      ASSERT_TRUE(Accepts(Payment(json)));
      EXPECT_EQ(ev_.amount_fen, c.fen) << json;
      EXPECT_EQ(ev_.amount_base_fen, c.fen) << json;
    }
  }
  ASSERT_TRUE(Accepts(Payment(R"("0001.50")")));
  EXPECT_EQ(ev_.amount_fen, 150);
  ASSERT_TRUE(Accepts(Payment("1.5 ")));  // whitespace after a number token
  EXPECT_EQ(ev_.amount_fen, 150);
  ASSERT_TRUE(Accepts(Payment("\n 2.25\t")));
  EXPECT_EQ(ev_.amount_fen, 225);
}

TEST_F(DecoderFieldsTest, CurrencyConversionHalfUp) {
  struct Case {
    const char* amount;
    const char* currency;
    int64_t fen;
    int64_t base_fen;
  } cases[] = {
      {"1408.45", "USD", 140'845, 1'000'000},  // 9999.995 -> 10000.00
      {"1408.44", "USD", 140'844, 999'992},    // 9999.924 -> 9999.92
      {"0.01", "USD", 1, 7},                   // 0.071 -> 0.07
      {"0.07", "USD", 7, 50},                  // 0.497 -> 0.50
      {"1.00", "HKD", 100, 91},
      {"0.01", "HKD", 1, 1},    // 0.0091 -> 0.01
      {"0.05", "HKD", 5, 5},    // 0.0455 -> 0.05
      {"0.50", "HKD", 50, 46},  // 0.455 -> 0.46
      {"10", "CNY", 1'000, 1'000},
  };
  for (const Case& c : cases) {
    ASSERT_TRUE(Accepts(Payment("\"" + std::string(c.amount) + "\"",
                                R"("currency":")" + std::string(c.currency) + "\"")));
    EXPECT_EQ(ev_.Str(F::kCurrency), c.currency);
    EXPECT_EQ(ev_.amount_fen, c.fen) << c.amount << " " << c.currency;
    EXPECT_EQ(ev_.amount_base_fen, c.base_fen) << c.amount << " " << c.currency;
    EXPECT_EQ(FormatDecimal(*ev_.NumericField(F::kAmount)), FormatScaled(c.base_fen, 2));
  }
}

TEST_F(DecoderFieldsTest, LoginSignals) {
  ASSERT_TRUE(Accepts(Line("login", R"("ip":"10.0.0.1","signals":["tor","vpn","geo_jump"],)"
                                    R"("device":"d-1")")));
  EXPECT_EQ(ev_.type, EventType::kLogin);
  EXPECT_EQ(ev_.Str(F::kIp), "10.0.0.1");
  EXPECT_EQ(ev_.Str(F::kDevice), "d-1");
  EXPECT_EQ(Array(F::kSignals), (std::vector<std::string>{"tor", "vpn", "geo_jump"}));
  ASSERT_TRUE(Accepts(Line("login")));
  EXPECT_TRUE(ev_.Has(F::kSignals));  // default []
  EXPECT_EQ(ev_.ArraySize(F::kSignals), 0u);
  EXPECT_FALSE(ev_.Has(F::kIp));
  ASSERT_TRUE(Accepts(Line("login", R"("signals":[])")));
  EXPECT_EQ(ev_.ArraySize(F::kSignals), 0u);
  ASSERT_TRUE(Accepts(Line("login", R"("signals":null)")));
  EXPECT_EQ(ev_.ArraySize(F::kSignals), 0u);
}

TEST_F(DecoderFieldsTest, SanctionKindDefault) {
  ASSERT_TRUE(Accepts(Line("sanction", R"("authority":"police")")));
  EXPECT_EQ(ev_.type, EventType::kSanction);
  EXPECT_EQ(ev_.Str(F::kKind), "administrative");
  EXPECT_EQ(ev_.Str(F::kAuthority), "police");
  ASSERT_TRUE(Accepts(Line("sanction", R"("kind":"criminal")")));
  EXPECT_EQ(ev_.Str(F::kKind), "criminal");
}

TEST_F(DecoderFieldsTest, AccountLinkKeys) {
  ASSERT_TRUE(Accepts(Line("account_link", R"("entity_keys":["idcard:ab","phone:12"])")));
  EXPECT_EQ(ev_.type, EventType::kAccountLink);
  EXPECT_EQ(Array(F::kEntityKeys), (std::vector<std::string>{"idcard:ab", "phone:12"}));
  EXPECT_EQ(ev_.ArraySize(F::kSignals), 0u);
}

TEST_F(DecoderFieldsTest, UnknownFieldsIgnored) {
  ASSERT_TRUE(Accepts(Line("login", R"("extra":1,"nested":{"a":{"b":[1,{"c":null}],"id":5}},)"
                                    R"("list":[[],{},"x",-1.5e3,true,null],"ID":7,"Type":"x",)"
                                    R"("v2_field":"\u00e9")")));
  EXPECT_EQ(ev_.id(), "e1");
  EXPECT_EQ(ev_.type, EventType::kLogin);
  ASSERT_TRUE(Accepts(R"({"z":{"id":"inner","type":"payment"},"id":"outer","type":"login",)"
                      R"("ts":"2026-04-01T10:00:00Z","account":"a","zz":[{"account":1}]})"));
  EXPECT_EQ(ev_.id(), "outer");
  EXPECT_EQ(ev_.account(), "a");
}

TEST_F(DecoderFieldsTest, EventIsClearedBetweenDecodes) {
  ASSERT_TRUE(Accepts(Payment(R"("12.00")", R"("currency":"USD","list_price":"3","fee_rate":"1",)"
                                            R"("payer":"p","subject":"s")")));
  ASSERT_TRUE(Accepts(Line("login")));
  EXPECT_FALSE(ev_.Has(F::kFlow));
  EXPECT_FALSE(ev_.Has(F::kCurrency));
  EXPECT_FALSE(ev_.Has(F::kSubject));
  EXPECT_FALSE(ev_.list_price.has_value());
  EXPECT_FALSE(ev_.fee_rate.has_value());
  EXPECT_EQ(ev_.amount_fen, 0);
  EXPECT_EQ(ev_.amount_base_fen, 0);
  EXPECT_FALSE(ev_.NumericField(F::kAmount).has_value());
  // After a rejection the decoder still decodes the next record correctly.
  ASSERT_FALSE(decoder_.Decode(R"({"id":"x","type":"payment",)", &ev_, &rej_));
  ASSERT_TRUE(Accepts(Line("abuse_report", R"("verified":true)")));
  EXPECT_TRUE(ev_.verified);
  EXPECT_EQ(ev_.Str(F::kCategory), "other");
}

// Scenario 09: lines 1-17 and 20 one by one (18 is an engine-level duplicate, 19 is blank).
TEST_F(DecoderFieldsTest, Scenario09LineByLine) {
  const std::string dir = std::string(ABUSEWATCH_SHARED_DIR) + "/scenarios/";
  std::ifstream events(dir + "09-bad-input.events.jsonl");
  std::ifstream rejects(dir + "09-bad-input.rejects.jsonl");
  ASSERT_TRUE(events.is_open() && rejects.is_open()) << dir;
  std::map<int, std::string> want;  // line -> reason
  for (std::string l; std::getline(rejects, l);) {
    size_t line_at = l.find("\"line\":");
    size_t reason_at = l.find("\"reason\":");
    ASSERT_NE(line_at, std::string::npos) << l;
    ASSERT_NE(reason_at, std::string::npos) << l;
    int line = std::stoi(l.substr(line_at + 7));
    size_t q1 = l.find('"', reason_at + 9);
    size_t q2 = l.find('"', q1 + 1);
    want[line] = l.substr(q1 + 1, q2 - q1 - 1);
  }
  ASSERT_EQ(want.size(), 16u);
  EXPECT_EQ(want[18], "duplicate");
  int n = 0, checked = 0;
  for (std::string l; std::getline(events, l);) {
    ++n;
    if (n == 18 || l.empty()) continue;
    bool ok = decoder_.Decode(l, &ev_, &rej_);
    auto it = want.find(n);
    if (it == want.end()) {
      EXPECT_TRUE(ok) << "line " << n << " rejected as " << RejectReasonName(rej_.reason) << ": "
                      << rej_.detail;
    } else {
      EXPECT_FALSE(ok) << "line " << n << " accepted";
      EXPECT_EQ(RejectReasonName(rej_.reason), it->second) << "line " << n << ": " << rej_.detail;
      EXPECT_FALSE(rej_.detail.empty()) << "line " << n;
      // Every line after the two malformed ones has a readable id, except the oversized one.
      if (n >= 4 && n != 16) {
        EXPECT_TRUE(rej_.has_id) << "line " << n;
        EXPECT_EQ(rej_.id, "b" + std::to_string(n - 3)) << "line " << n;
      }
    }
    ++checked;
  }
  EXPECT_EQ(n, 20);
  EXPECT_EQ(checked, 18);
}

}  // namespace
}  // namespace abusewatch
