// Decoder robustness: valid records (every shared scenario line plus hand-written ones for every
// type and field) mutated byte by byte and member by member, several hundred thousand decodes.
// Whatever the bytes, the decoder must not crash (CI runs this under ASan/UBSan) and must either
// accept an event whose fields agree with an independent strict JSON reading (strict_json.h),
// or reject it with a reason and a detail. Failures are grouped by kind and minimized.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "tests/detectors/decoder_oracle.h"
#include "tests/detectors/decoder_test_util.h"
#include "tests/detectors/strict_json.h"

namespace abusewatch {
namespace {

using testing_util::DecoderOracle;
using testing_util::JsonObject;
using testing_util::SeedLines;
using testing_util::StrictJson;

class DecoderMutationTest : public ::testing::Test {
 protected:
  void Check(const std::string& rec) { oracle_.Check(rec); }
  void ExpectNoFailures() { oracle_.ExpectNoFailures(); }
  DecoderOracle oracle_;
};

TEST_F(DecoderMutationTest, OracleAgreesWithSpecOnSeeds) {
  JsonObject obj;
  EXPECT_TRUE(StrictJson::ParseObject(R"( {"a":[1,-0.5e+3,"\ud83d\ude00"],"b":{}} )", &obj));
  for (const char* bad : {R"({"a":01})", R"({"a":1.})", R"({"a":[1 2]})", R"({"a":"\x"})",
                          "{\"a\":\"\xff\"}", "{\"a\":\"\t\"}", R"({"a":1}x)", "[]", "{"}) {
    JsonObject o;
    EXPECT_FALSE(StrictJson::ParseObject(bad, &o)) << bad;
  }
  int invalid = 0;
  for (const std::string& s : SeedLines()) {
    JsonObject o;
    invalid += !StrictJson::ParseObject(s, &o);
    Check(s);
  }
  EXPECT_EQ(invalid, 2);  // scenario 09 lines 2 and 3
  ExpectNoFailures();
}

// Every strict prefix of a record is not a JSON object: always malformed_json.
TEST_F(DecoderMutationTest, EveryTruncation) {
  for (const std::string& s : SeedLines()) {
    for (size_t n = 0; n < s.size(); ++n) Check(s.substr(0, n));
  }
  ExpectNoFailures();
}

// Deterministic sweep: each byte deleted, and replaced by each structural or hostile byte.
TEST_F(DecoderMutationTest, EveryPositionSingleByte) {
  const std::string hostile[] = {"\"",   "\\",   "{", "}", "[", "]", ",", ":", std::string(1, '\0'),
                                 "\xff", "\xc3", "0", "-", " "};
  for (const std::string& s : SeedLines()) {
    for (size_t i = 0; i < s.size(); ++i) {
      Check(s.substr(0, i) + s.substr(i + 1));
      for (const std::string& h : hostile) Check(s.substr(0, i) + h + s.substr(i + 1));
    }
  }
  ExpectNoFailures();
}

TEST_F(DecoderMutationTest, RandomMutations) {
  const std::vector<std::string> seeds = SeedLines();
  const std::vector<std::string> tokens = {"\"",
                                           "{",
                                           "}",
                                           "[",
                                           "]",
                                           "\\",
                                           std::string(1, '\0'),
                                           "\xff",
                                           "\xc3",
                                           "\xed\xa0\x80",
                                           "\xf4\x90\x80\x80",
                                           ",",
                                           ":",
                                           "null",
                                           "true",
                                           "1e999",
                                           "-",
                                           "\\u0000",
                                           "\\ud800",
                                           "\\\"",
                                           "\\u00e9",
                                           "\r\n",
                                           "\t",
                                           "01",
                                           ".",
                                           "e5",
                                           "\"\":\"\",",
                                           "{}",
                                           "[[[[",
                                           "]]]]"};
  const std::vector<std::string> values = {"\"\"",
                                           "null",
                                           "true",
                                           "false",
                                           "0",
                                           "-1",
                                           "-0",
                                           "1.005",
                                           "1e3",
                                           "1E-2",
                                           "0.01",
                                           "01",
                                           "\"1.00\"",
                                           "\"-1\"",
                                           "[]",
                                           "[\"tor\"]",
                                           "[1]",
                                           "[\"a\",[]]",
                                           "{}",
                                           "{\"a\":[1,{}]}",
                                           "\"2026-02-30T00:00:00Z\"",
                                           "\"2000-01-01T00:00:00Z\"",
                                           "\"2100-12-31T23:59:59.999Z\"",
                                           "946684800000",
                                           "946684799999",
                                           "4133980800000",
                                           "1775008800000.0",
                                           "\"\\u0000\"",
                                           "\"\\ud800\"",
                                           "\"\\ud83d\\ude00\"",
                                           "\"" + std::string(128, 'a') + "\"",
                                           "\"" + std::string(129, 'a') + "\"",
                                           "1000000000000000",
                                           "1000000000000000.01",
                                           "\"1000000000000000\"",
                                           "140845070422535.21",
                                           "\"USD\"",
                                           "\"HKD\"",
                                           "\"ZWL\"",
                                           "\"CNY\"",
                                           "\"suspend\"",
                                           "\"laundering\"",
                                           "\"settlement\"",
                                           "\"payment\"",
                                           "\"login\"",
                                           "\"account_link\"",
                                           "\"abuse_report\"",
                                           "\"regulator_notice\"",
                                           "\"sanction\"",
                                           "\"disposition\"",
                                           "99999999999999999999999999999999999999999",
                                           "\"\\\"\\\\\"",
                                           "[\"\\u00e9\",\"x\"]",
                                           "\"1408.45\"",
                                           "1408.45",
                                           "\"0.50\""};
  const char* keys[] = {"id",   "type",     "ts",     "account",  "subject",    "amount",
                        "flow", "currency", "action", "verified", "signals",    "entity_keys",
                        "kind", "category", "method", "fee_rate", "list_price", "zz"};
  std::mt19937_64 rng(0x2872);
  auto pick = [&](size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng); };
  for (int iter = 0; iter < 250'000; ++iter) {
    std::string s = seeds[pick(seeds.size())];
    int rounds = 1 + static_cast<int>(pick(3));
    for (int r = 0; r < rounds; ++r) {
      size_t n = s.size();
      size_t at = pick(n + 1);
      switch (pick(9)) {
        case 0:  // flip a bit
          if (n) s[pick(n)] ^= static_cast<char>(1 << pick(8));
          break;
        case 1:  // random byte
          s.insert(at, 1, static_cast<char>(pick(256)));
          break;
        case 2:  // delete a span
          if (n) s.erase(pick(n), 1 + pick(8));
          break;
        case 3:  // truncate
          s.resize(pick(n + 1));
          break;
        case 4: {  // duplicate a span somewhere
          size_t from = pick(n + 1), len = std::min(n - from, 1 + pick(40));
          s.insert(at, s.substr(from, len));
          break;
        }
        case 5:  // hostile token
          s.insert(at, tokens[pick(tokens.size())]);
          break;
        case 6: {  // replace a member's value
          std::string key = "\"" + std::string(keys[pick(std::size(keys))]) + "\":";
          size_t k = s.find(key);
          if (k == std::string::npos) {
            s.insert(s.size() > 1 ? 1 : 0, key + values[pick(values.size())] + ",");
            break;
          }
          size_t v = k + key.size(), e = v;
          int depth = 0;
          bool in_str = false;
          for (; e < s.size(); ++e) {
            char c = s[e];
            if (in_str) {
              if (c == '\\')
                ++e;
              else if (c == '"')
                in_str = false;
            } else if (c == '"') {
              in_str = true;
            } else if (c == '[' || c == '{') {
              ++depth;
            } else if ((c == ']' || c == '}' || c == ',') && depth-- == 0) {
              break;
            }
          }
          s.replace(v, std::min(e, s.size()) - v, values[pick(values.size())]);
          break;
        }
        case 7:  // digit change (keeps the JSON shape, moves values across boundaries)
          for (size_t t = 0; t < 8 && n; ++t) {
            size_t i = pick(n);
            if (s[i] >= '0' && s[i] <= '9') {
              s[i] = static_cast<char>('0' + pick(10));
              break;
            }
          }
          break;
        case 8:  // whitespace in odd places
          s.insert(at, std::string(1 + pick(3), " \t\r\n\f\v"[pick(6)]));
          break;
      }
    }
    Check(s);
  }
  ExpectNoFailures();
}

// Big records: the scenario 09 oversized line shrunk and grown around the limit, and nesting far
// deeper than any parser's default limit. No crash, and too_large exactly above 64 KiB.
TEST_F(DecoderMutationTest, LargeAndDeepRecords) {
  std::string big;
  std::ifstream in(std::string(ABUSEWATCH_SHARED_DIR) + "/scenarios/09-bad-input.events.jsonl");
  for (std::string line; std::getline(in, line);) {
    if (line.size() > big.size()) big = line;
  }
  ASSERT_GT(big.size(), 65'536u);
  size_t pad = big.find("xxxx");
  ASSERT_NE(pad, std::string::npos);
  std::mt19937_64 rng(16);
  for (int i = 0; i < 300; ++i) {
    std::string s = big;
    size_t target = 65'536 - 50 + rng() % 100;
    s.erase(pad, s.size() - target);
    if (i % 3 == 0) s[rng() % s.size()] = "\"\\{}\0"[rng() % 5];
    Check(s);
  }
  for (const char* open_close : {"[]", "{}"}) {
    std::string deep = testing_util::Line("login", "\"pad\":");
    deep.pop_back();
    const int levels = open_close[0] == '[' ? 30'000 : 10'000;
    for (int i = 0; i < levels; ++i) deep += open_close[0] == '[' ? "[" : "{\"a\":";
    deep += "1";
    deep += std::string(static_cast<size_t>(levels), open_close[1]);
    deep += "}";
    Check(deep);
    Check(deep.substr(0, deep.size() - 2));
  }
  ExpectNoFailures();
}

}  // namespace
}  // namespace abusewatch
