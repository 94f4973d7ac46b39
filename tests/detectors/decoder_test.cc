// Decoder rejections: every code of spec/events.md "Rejection" that the decoder produces
// (duplicate and late are engine-level), with the boundary that separates accept from reject.
#include "detectors/decoder.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/detectors/decoder_test_util.h"

namespace abusewatch {
namespace {

using testing_util::DecoderTestBase;
using testing_util::Line;
using testing_util::Payment;
using R = RejectReason;

class DecoderRejectTest : public DecoderTestBase {};

constexpr const char* kTs = R"("ts":"2026-04-01T10:00:00+08:00")";

TEST_F(DecoderRejectTest, ReasonNamesMatchSpec) {
  const char* names[] = {"malformed_json", "too_large",     "missing_field", "bad_type",
                         "unknown_type",   "bad_timestamp", "bad_amount",    "unknown_currency",
                         "bad_value",      "duplicate",     "late"};
  for (int i = 0; i < kNumRejectReasons; ++i) {
    EXPECT_EQ(RejectReasonName(static_cast<RejectReason>(i)), names[i]);
  }
}

TEST_F(DecoderRejectTest, MalformedJsonNotOneObject) {
  for (std::string rec : {
           std::string(R"({"id":"m1","type":"payment",)"),
           std::string(R"({"id":"m1","type":"login")"),
           std::string(R"({"id":"m1)"),
           std::string("{"),
           std::string(""),
           std::string("   "),
           std::string(R"(["not","an","object"])"),
           std::string(R"("just a string")"),
           std::string("42"),
           std::string("null"),
           std::string("true"),
           std::string("[]"),
           std::string("{}{}"),
           std::string("}"),
       }) {
    EXPECT_TRUE(Rejects(rec, R::kMalformedJson));
  }
}

TEST_F(DecoderRejectTest, MalformedJsonTrailingContent) {
  const std::string ok = Line("login");
  ASSERT_TRUE(Accepts(ok));
  for (const char* tail : {" x", "}", "]", ",", "{}", " {\"a\":1}", "\"\"", " 0", " null"}) {
    EXPECT_TRUE(Rejects(ok + tail, R::kMalformedJson)) << tail;
  }
  EXPECT_TRUE(Rejects(ok + "\n" + ok, R::kMalformedJson));
  // Surrounding whitespace is allowed.
  EXPECT_TRUE(Accepts(" \t" + ok + " \r\n"));
}

TEST_F(DecoderRejectTest, MalformedJsonDuplicateField) {
  EXPECT_TRUE(
      Rejects(R"({"id":"a","id":"a","type":"login",)" + std::string(kTs) + R"(,"account":"x"})",
              R::kMalformedJson));
  EXPECT_TRUE(Rejects(Line("login", R"("account":"y")"), R::kMalformedJson));
  EXPECT_TRUE(Rejects(Line("login", R"("ts":"2026-04-01T10:00:00+08:00")"), R::kMalformedJson));
  EXPECT_TRUE(Rejects(Line("login", R"("type":"login")"), R::kMalformedJson));
  EXPECT_TRUE(Rejects(Payment(R"("1.00")", R"("amount":"1.00")"), R::kMalformedJson));
  EXPECT_TRUE(Rejects(Line("login", R"("signals":[],"signals":["tor"])"), R::kMalformedJson));
  // The same key spelled with an escape is the same key.
  EXPECT_TRUE(Rejects(Line("login", R"("acc\u006funt":"y")"), R::kMalformedJson));
}

TEST_F(DecoderRejectTest, MalformedJsonSyntax) {
  for (
      std::string rec : {
          R"({"id":"a" "type":"login","ts":"2026-04-01T10:00:00Z","account":"x"})",
          R"({"id" "a","type":"login","ts":"2026-04-01T10:00:00Z","account":"x"})",
          R"({id:"a","type":"login","ts":"2026-04-01T10:00:00Z","account":"x"})",
          R"({'id':'a','type':'login','ts':'2026-04-01T10:00:00Z','account':'x'})",
          R"({"id":"a","type":"login","ts":"2026-04-01T10:00:00Z","account":"x",})",
          R"({"id":"a",,"type":"login","ts":"2026-04-01T10:00:00Z","account":"x"})",
          R"({"id":"a","type":"login","ts":"2026-04-01T10:00:00Z","account":"x"/*c*/})",
          R"({"id":"a","type":"login","ts":"2026-04-01T10:00:00Z","account":"x\q"})",
          R"({"id":"a","type":"login","ts":"2026-04-01T10:00:00Z","account":"x\u12"})",
          R"({"id":"a","type":"login","ts":"2026-04-01T10:00:00Z","account":"x})",
          R"({"id":"a","type":"abuse_report","ts":"2026-04-01T10:00:00Z","account":"x","verified":tru})",
          R"({"id":"a","type":"abuse_report","ts":"2026-04-01T10:00:00Z","account":"x","verified":True})",
          R"({"id":"a","type":"login","ts":"2026-04-01T10:00:00Z","account":"x","ip":nul})",
          R"({"id":"a","type":"login","ts":"2026-04-01T10:00:00Z","account":"x","signals":["tor",]})",
          R"({"id":"a","type":"login","ts":"2026-04-01T10:00:00Z","account":"x","signals":["tor" "vpn"]})",
          R"({"id":"a","type":"login","ts":"2026-04-01T10:00:00Z","account":"x","signals":["tor"})",
      }) {
    EXPECT_TRUE(Rejects(rec, R::kMalformedJson));
  }
}

// Numbers that are not JSON numbers (RFC 8259 §6) make the record malformed.
TEST_F(DecoderRejectTest, MalformedJsonInvalidNumbers) {
  for (const char* amount :
       {"01.5", ".5", "1.", "+1", "-", "1.5.5", "NaN", "Infinity", "0x10", "1e", "--1", "1_000"}) {
    EXPECT_TRUE(Rejects(Payment(amount), R::kMalformedJson)) << amount;
  }
  EXPECT_TRUE(
      Rejects(R"({"id":"a","type":"login","ts":01775008800000,"account":"x"})", R::kMalformedJson));
}

// RFC 8259: a string must not contain raw control characters, and JSON text is UTF-8.
TEST_F(DecoderRejectTest, MalformedJsonStringContent) {
  EXPECT_TRUE(Rejects(Line("login", "\"ip\":\"1.2.3.4\tx\""), R::kMalformedJson));
  EXPECT_TRUE(Rejects(Line("login", "\"ip\":\"a\nb\""), R::kMalformedJson));
  EXPECT_TRUE(Rejects(Line("login", "\"ip\":\"\xff\xfe\""), R::kMalformedJson));
  EXPECT_TRUE(Rejects(Line("login", "\"ip\":\"\xc3\""), R::kMalformedJson));
  EXPECT_TRUE(Rejects(Line("login", std::string("\"ip\":\"a\0b\"", 10)), R::kMalformedJson));
  EXPECT_TRUE(Rejects(Line("login", std::string(",\0", 2) + "\"ip\":\"a\""), R::kMalformedJson));
}

// Malformed JSON inside a field the decoder ignores is still malformed JSON.
TEST_F(DecoderRejectTest, MalformedJsonInsideUnknownFields) {
  for (const char* extra : {
           R"("pad":[1 2])",
           R"("pad":{"a" 1})",
           R"("pad":{"a":1,})",
           R"("pad":[1,])",
           R"("pad":tru)",
           R"("pad":nul)",
           R"("pad":01)",
           R"("pad":-)",
           R"("pad":[1,2})",
           R"("pad":{"a":[}})",
           "\"pad\":\"\xff\"",
           "\"pad\":\"a\tb\"",
           R"("pad":"\x")",
           R"("pad":{"a":1}})",
       }) {
    EXPECT_TRUE(Rejects(Line("login", extra), R::kMalformedJson)) << extra;
  }
}

TEST_F(DecoderRejectTest, TooLargeBoundary) {
  const size_t max = DecoderOptions{}.max_event_bytes;
  ASSERT_EQ(max, 65'536u);
  std::string base = Line("login", R"("pad":"")");
  std::string exact = base;
  exact.insert(exact.size() - 2, max - base.size(), 'x');
  ASSERT_EQ(exact.size(), max);
  EXPECT_TRUE(Accepts(exact));
  std::string over = base;
  over.insert(over.size() - 2, max + 1 - base.size(), 'x');
  ASSERT_EQ(over.size(), max + 1);
  EXPECT_TRUE(Rejects(over, R::kTooLarge));
  EXPECT_TRUE(Rejects(std::string(max + 1, '{'), R::kTooLarge));
  EXPECT_TRUE(Rejects(std::string(max, '{'), R::kMalformedJson));
}

TEST_F(DecoderRejectTest, TooLargeHonoursConfiguredLimit) {
  DecoderOptions o = testing_util::TestDecoderOptions();
  o.max_event_bytes = 200;
  Decoder d(o);
  std::string base = Line("login", R"("pad":"")");
  std::string rec = base;
  rec.insert(rec.size() - 2, 200 - base.size(), 'y');
  Event ev;
  Rejection rej;
  EXPECT_TRUE(d.Decode(rec, &ev, &rej)) << rej.detail;
  rec.insert(rec.size() - 2, 1, 'y');
  EXPECT_FALSE(d.Decode(rec, &ev, &rej));
  EXPECT_EQ(rej.reason, R::kTooLarge);
  EXPECT_FALSE(rej.detail.empty());
}

TEST_F(DecoderRejectTest, MissingEnvelopeField) {
  const std::string id = R"("id":"e1")", type = R"("type":"login")", ts = kTs,
                    acct = R"("account":"acct-t")";
  const std::string fields[] = {id, type, ts, acct};
  const char* names[] = {"id", "type", "ts", "account"};
  for (int drop = 0; drop < 4; ++drop) {
    std::string absent = "{", empty = "{", null = "{";
    for (int i = 0; i < 4; ++i) {
      std::string sep = (absent.size() > 1) ? "," : "";
      if (i != drop) absent += sep + fields[i];
      empty += (i ? "," : "") + (i == drop ? "\"" + std::string(names[i]) + "\":\"\"" : fields[i]);
      null += (i ? "," : "") + (i == drop ? "\"" + std::string(names[i]) + "\":null" : fields[i]);
    }
    EXPECT_TRUE(Rejects(absent + "}", R::kMissingField)) << names[drop];
    EXPECT_TRUE(Rejects(empty + "}", R::kMissingField)) << names[drop];
    EXPECT_TRUE(Rejects(null + "}", R::kMissingField)) << names[drop];
  }
}

TEST_F(DecoderRejectTest, MissingTypeSpecificField) {
  EXPECT_TRUE(Rejects(Line("payment", R"("flow":"settlement")"), R::kMissingField));
  EXPECT_TRUE(Rejects(Line("payment", R"("flow":"settlement","amount":"")"), R::kMissingField));
  EXPECT_TRUE(Rejects(Line("payment", R"("flow":"settlement","amount":null)"), R::kMissingField));
  EXPECT_TRUE(Rejects(Line("payment", R"("amount":"1.00")"), R::kMissingField));
  EXPECT_TRUE(Rejects(Line("payment", R"("flow":"","amount":"1.00")"), R::kMissingField));
  EXPECT_TRUE(Rejects(Line("payment", R"("flow":null,"amount":"1.00")"), R::kMissingField));
  EXPECT_TRUE(Rejects(Line("disposition"), R::kMissingField));
  EXPECT_TRUE(Rejects(Line("disposition", R"("action":"")"), R::kMissingField));
  EXPECT_TRUE(Rejects(Line("disposition", R"("action":null)"), R::kMissingField));
  EXPECT_TRUE(Rejects(Line("account_link"), R::kMissingField));
  EXPECT_TRUE(Rejects(Line("account_link", R"("entity_keys":[])"), R::kMissingField));
  EXPECT_TRUE(Rejects(Line("account_link", R"("entity_keys":null)"), R::kMissingField));
}

TEST_F(DecoderRejectTest, BadTypeEnvelope) {
  EXPECT_TRUE(
      Rejects(R"({"id":7,"type":"login",)" + std::string(kTs) + R"(,"account":"x"})", R::kBadType));
  EXPECT_TRUE(
      Rejects(R"({"id":"a","type":7,)" + std::string(kTs) + R"(,"account":"x"})", R::kBadType));
  EXPECT_TRUE(Rejects(R"({"id":"a","type":"login",)" + std::string(kTs) + R"(,"account":42})",
                      R::kBadType));
  EXPECT_TRUE(Rejects(R"({"id":"a","type":"login",)" + std::string(kTs) + R"(,"account":["x"]})",
                      R::kBadType));
  EXPECT_TRUE(Rejects(
      R"({"id":{"v":"a"},"type":"login",)" + std::string(kTs) + R"(,"account":"x"})", R::kBadType));
  for (const char* ts : {"true", "false", "[]", R"(["2026-04-01T10:00:00Z"])", R"({"ms":1})"}) {
    EXPECT_TRUE(Rejects(
        R"({"id":"a","type":"login","ts":)" + std::string(ts) + R"(,"account":"x"})", R::kBadType))
        << ts;
  }
  EXPECT_TRUE(Rejects(Line("login", R"("subject":5)"), R::kBadType));
  EXPECT_TRUE(Rejects(Line("login", R"("source":true)"), R::kBadType));
}

TEST_F(DecoderRejectTest, BadTypeLengthLimits) {
  const std::string s128(128, 'a'), s129(129, 'a');
  auto env = [&](const std::string& id, const std::string& acct, const std::string& extra) {
    return R"({"id":")" + id + R"(","type":"login",)" + kTs + R"(,"account":")" + acct + "\"" +
           extra + "}";
  };
  EXPECT_TRUE(Accepts(env(s128, "x", "")));
  EXPECT_TRUE(Rejects(env(s129, "x", ""), R::kBadType));
  EXPECT_TRUE(Accepts(env("a", s128, "")));
  EXPECT_TRUE(Rejects(env("a", s129, ""), R::kBadType));
  EXPECT_TRUE(Accepts(env("a", "x", R"(,"subject":")" + s128 + "\"")));
  EXPECT_TRUE(Rejects(env("a", "x", R"(,"subject":")" + s129 + "\""), R::kBadType));
  // Limits are in bytes of the decoded string: 64 x U+00E9 is 128 bytes.
  std::string e64;
  for (int i = 0; i < 64; ++i) e64 += "\xc3\xa9";
  EXPECT_TRUE(Accepts(env(e64, "x", "")));
  EXPECT_TRUE(Rejects(env(e64 + "a", "x", ""), R::kBadType));
  std::string esc64;  // the same 128 bytes written as escapes
  for (int i = 0; i < 64; ++i) esc64 += "\\u00e9";
  EXPECT_TRUE(Accepts(env("a", esc64, "")));
  EXPECT_EQ(ev_.account(), e64);
  EXPECT_TRUE(Rejects(env("a", esc64 + "b", ""), R::kBadType));
}

TEST_F(DecoderRejectTest, BadTypeArraysAndOptionalFields) {
  EXPECT_TRUE(Rejects(Line("login", R"("signals":"tor")"), R::kBadType));
  EXPECT_TRUE(Rejects(Line("login", R"("signals":[1])"), R::kBadType));
  EXPECT_TRUE(Rejects(Line("login", R"("signals":["tor",1])"), R::kBadType));
  EXPECT_TRUE(Rejects(Line("login", R"("signals":["tor",null])"), R::kBadType));
  EXPECT_TRUE(Rejects(Line("login", R"("signals":["tor",["vpn"]])"), R::kBadType));
  EXPECT_TRUE(Rejects(Line("login", R"("signals":{"tor":true})"), R::kBadType));
  EXPECT_TRUE(Rejects(Line("account_link", R"("entity_keys":"phone:1")"), R::kBadType));
  EXPECT_TRUE(Rejects(Line("account_link", R"("entity_keys":[1])"), R::kBadType));
  EXPECT_TRUE(Rejects(Line("abuse_report", R"("verified":"true")"), R::kBadType));
  EXPECT_TRUE(Rejects(Line("abuse_report", R"("verified":1)"), R::kBadType));
  EXPECT_TRUE(Rejects(Line("regulator_notice", R"("verified":"false")"), R::kBadType));
  EXPECT_TRUE(Rejects(Line("abuse_report", R"("category":5)"), R::kBadType));
  EXPECT_TRUE(Rejects(Line("abuse_report", R"("reporter":[])"), R::kBadType));
  EXPECT_TRUE(Rejects(Line("abuse_report", R"("severity":true)"), R::kBadType));
  EXPECT_TRUE(Rejects(Line("regulator_notice", R"("authority":1)"), R::kBadType));
  EXPECT_TRUE(Rejects(Line("regulator_notice", R"("notice_id":1)"), R::kBadType));
  EXPECT_TRUE(Rejects(Line("disposition", R"("action":5)"), R::kBadType));
  EXPECT_TRUE(Rejects(Line("disposition", R"("action":"warn","ref":1)"), R::kBadType));
  EXPECT_TRUE(Rejects(Line("payment", R"("flow":5,"amount":"1")"), R::kBadType));
  EXPECT_TRUE(Rejects(Payment("true"), R::kBadType));
  EXPECT_TRUE(Rejects(Payment(R"(["1.00"])"), R::kBadType));
  EXPECT_TRUE(Rejects(Payment(R"({"v":"1.00"})"), R::kBadType));
  EXPECT_TRUE(Rejects(Payment(R"("1.00")", R"("currency":840)"), R::kBadType));
  EXPECT_TRUE(Rejects(Payment(R"("1.00")", R"("method":1)"), R::kBadType));
  EXPECT_TRUE(Rejects(Payment(R"("1.00")", R"("payer":1)"), R::kBadType));
  EXPECT_TRUE(Rejects(Line("login", R"("ip":1)"), R::kBadType));
  EXPECT_TRUE(Rejects(Line("login", R"("device":{})"), R::kBadType));
  EXPECT_TRUE(Rejects(Line("sanction", R"("kind":1)"), R::kBadType));
  EXPECT_TRUE(Rejects(Line("sanction", R"("authority":false)"), R::kBadType));
}

TEST_F(DecoderRejectTest, UnknownType) {
  EXPECT_TRUE(Rejects(Line("telepathy"), R::kUnknownType));
  EXPECT_TRUE(Rejects(Line("Payment"), R::kUnknownType));  // names are case-sensitive
  EXPECT_TRUE(Rejects(Line("login "), R::kUnknownType));
  EXPECT_TRUE(Rejects(Line("abuse-report"), R::kUnknownType));
}

TEST_F(DecoderRejectTest, BadTimestamp) {
  auto with_ts = [](const std::string& ts) {
    return R"({"id":"a","type":"login","ts":)" + ts + R"(,"account":"x"})";
  };
  for (const char* ts : {
           R"("2026-02-30T10:00:00+08:00")",
           R"("2027-02-29T00:00:00Z")",
           R"("1999-12-31T23:59:59Z")",
           R"("1999-12-31T23:59:59.999Z")",
           R"("2000-01-01T07:59:59+08:00")",
           R"("2101-01-01T00:00:00Z")",
           R"("2026-04-01T10:00:00")",
           R"("2026-04-01 10:00:00+08:00")",
           R"("yesterday")",
           R"("1775008800000")",
           R"("2026-04-01T24:00:00Z")",
           "1775008800000.0",
           "1.7750088e12",
           "-1",
           "0",
           "946684799999",
           "4133980800000",
           "1775008800",  // seconds, not milliseconds: 1970
           "99999999999999999999",
       }) {
    EXPECT_TRUE(Rejects(with_ts(ts), R::kBadTimestamp)) << ts;
  }
  EXPECT_TRUE(Accepts(with_ts("946684800000")));
  EXPECT_EQ(ev_.ts_ms, 946'684'800'000);
  EXPECT_TRUE(Accepts(with_ts("4133980799999")));
  EXPECT_TRUE(Accepts(with_ts(R"("2000-01-01T00:00:00Z")")));
  EXPECT_TRUE(Accepts(with_ts(R"("2100-12-31T23:59:59.999Z")")));
  EXPECT_TRUE(Accepts(with_ts(R"("2028-02-29T00:00:00Z")")));
}

TEST_F(DecoderRejectTest, BadAmount) {
  for (const char* a : {
           R"("-1.00")",
           "-1",
           "-0.01",
           R"("1.005")",
           "1.005",
           R"("1.000")",
           "1.000",
           R"("1e3")",
           "1e3",
           "1E3",
           "1.0e1",
           R"(" 1")",
           R"("1 ")",
           R"("abc")",
           R"("1,000")",
           R"("0x10")",
           R"("+1")",
           R"(".5")",
           R"("1.")",
           R"("NaN")",
           R"("Infinity")",
           R"("1000000000000000.01")",
           "1000000000000000.01",
           R"("1000000000000001")",
           "1000000000000001",
           R"("99999999999999999999")",
           "99999999999999999999",
           R"("\u0661")",
           R"("１")",
       }) {
    EXPECT_TRUE(Rejects(Payment(a), R::kBadAmount)) << a;
  }
  EXPECT_TRUE(Accepts(Payment(R"("1000000000000000")")));
  EXPECT_EQ(ev_.amount_fen, 100'000'000'000'000'000);
  EXPECT_TRUE(Accepts(Payment("1000000000000000")));
  EXPECT_EQ(ev_.amount_fen, 100'000'000'000'000'000);
  EXPECT_TRUE(Accepts(Payment("1000000000000000.00")));
  EXPECT_EQ(ev_.amount_fen, 100'000'000'000'000'000);
  // Converted to the base currency over 10^15 is over the limit too.
  EXPECT_TRUE(Rejects(Payment(R"("1000000000000000")", R"("currency":"USD")"), R::kBadAmount));
  EXPECT_TRUE(Accepts(Payment(R"("140845070422535.21")", R"("currency":"USD")")));
}

TEST_F(DecoderRejectTest, UnknownCurrency) {
  EXPECT_TRUE(Rejects(Payment(R"("10.00")", R"("currency":"ZWL")"), R::kUnknownCurrency));
  EXPECT_TRUE(Rejects(Payment(R"("10.00")", R"("currency":"usd")"), R::kUnknownCurrency));
  EXPECT_TRUE(Rejects(Payment(R"("10.00")", R"("currency":"USD ")"), R::kUnknownCurrency));
  EXPECT_TRUE(Accepts(Payment(R"("10.00")", R"("currency":"USD")")));
  EXPECT_TRUE(Accepts(Payment(R"("10.00")", R"("currency":"CNY")")));
}

TEST_F(DecoderRejectTest, BadValue) {
  EXPECT_TRUE(Rejects(Line("disposition", R"("action":"ignore")"), R::kBadValue));
  EXPECT_TRUE(Rejects(Line("disposition", R"("action":"Suspend")"), R::kBadValue));
  EXPECT_TRUE(Rejects(Line("disposition", R"("action":" warn")"), R::kBadValue));
  EXPECT_TRUE(Rejects(Line("payment", R"("flow":"laundering","amount":"1.00")"), R::kBadValue));
  EXPECT_TRUE(Rejects(Line("payment", R"("flow":"Settlement","amount":"1.00")"), R::kBadValue));
  for (const char* field : {"list_price", "fee_rate"}) {
    for (const char* v : {R"("abc")", R"("-1")", "-1", R"("1e2")", "1e2", "true", "[]",
                          R"({"v":1})", R"("")", R"(" 1")", R"(".5")", R"("1.")"}) {
      std::string extra = "\"" + std::string(field) + "\":" + v;
      EXPECT_TRUE(Rejects(Payment(R"("1.00")", extra), R::kBadValue)) << extra;
    }
  }
}

TEST_F(DecoderRejectTest, RejectionCarriesIdWhenReadable) {
  ASSERT_TRUE(Rejects(R"({"id":"b2","type":"login",)" + std::string(kTs) + R"(,"account":42})",
                      R::kBadType));
  EXPECT_TRUE(rej_.has_id);
  EXPECT_EQ(rej_.id, "b2");
  ASSERT_TRUE(Rejects(Payment(R"("-1")"), R::kBadAmount));
  EXPECT_TRUE(rej_.has_id);
  EXPECT_EQ(rej_.id, "e1");
  ASSERT_TRUE(Rejects(Line("telepathy"), R::kUnknownType));
  EXPECT_EQ(rej_.id, "e1");
  // Unreadable: malformed, absent, not a string, empty.
  ASSERT_TRUE(Rejects(R"({"id":"m1","type":"payment",)", R::kMalformedJson));
  EXPECT_FALSE(rej_.has_id);
  EXPECT_TRUE(rej_.id.empty());
  ASSERT_TRUE(
      Rejects(R"({"type":"login",)" + std::string(kTs) + R"(,"account":"x"})", R::kMissingField));
  EXPECT_FALSE(rej_.has_id);
  ASSERT_TRUE(
      Rejects(R"({"id":5,"type":"login",)" + std::string(kTs) + R"(,"account":"x"})", R::kBadType));
  EXPECT_FALSE(rej_.has_id);
  EXPECT_TRUE(rej_.id.empty());
  // A previous rejection's id does not leak into the next one.
  ASSERT_TRUE(Rejects(Line("telepathy"), R::kUnknownType));
  ASSERT_TRUE(Rejects("[1]", R::kMalformedJson));
  EXPECT_FALSE(rej_.has_id);
  EXPECT_TRUE(rej_.id.empty());
}

TEST_F(DecoderRejectTest, DetailIsShortForHugeInput) {
  std::string huge(60'000, 'z');
  ASSERT_TRUE(Rejects(Line("login", "\"signals\":\"" + huge + "\""), R::kBadType));
  ASSERT_TRUE(Rejects(Line(huge), R::kUnknownType));
  EXPECT_LT(rej_.detail.size(), 400u);
  ASSERT_TRUE(Rejects(Payment("\"" + huge + "\""), R::kBadAmount));
  EXPECT_LT(rej_.detail.size(), 400u);
}

}  // namespace
}  // namespace abusewatch
