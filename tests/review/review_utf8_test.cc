// The review store's text checks: valid UTF-8 (detectors/utf8.h) and, unlike the engine's JSON
// writer, no NUL byte; CleanUtf8 replaces both by U+FFFD.
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "daemon/review/review_internal.h"

namespace abusewatch::testing {
namespace {

using review_internal::CheckText;
using review_internal::CleanUtf8;
using review_internal::IsValidUtf8WithoutNul;

constexpr std::string_view kZhong = "\xE4\xB8\xAD";  // 中
constexpr std::string_view kReplacement = "\xEF\xBF\xBD";

TEST(ReviewUtf8Test, ValidUtf8WithoutNul) {
  EXPECT_TRUE(IsValidUtf8WithoutNul(""));
  EXPECT_TRUE(IsValidUtf8WithoutNul("payroll, \xE4\xB8\xAD\xE6\x96\x87, \xF0\x9F\x98\x80"));
  EXPECT_FALSE(IsValidUtf8WithoutNul(std::string_view("a\0b", 3)));
  EXPECT_FALSE(IsValidUtf8WithoutNul(std::string_view("\0", 1)));
  EXPECT_FALSE(IsValidUtf8WithoutNul("\xC0\x80"));  // overlong NUL
  EXPECT_FALSE(IsValidUtf8WithoutNul("\xED\xA0\x80"));
  EXPECT_FALSE(IsValidUtf8WithoutNul("\xE4\xB8"));
}

TEST(ReviewUtf8Test, CheckTextRefusesNulAndInvalidUtf8) {
  EXPECT_TRUE(CheckText("reason", "ok", 100, true).ok());
  ReviewResult nul = CheckText("reason", std::string("a\0b", 3), 100, true);
  EXPECT_EQ(nul.code, ReviewErrc::kBadInput);
  EXPECT_EQ(nul.message, "reason is not valid UTF-8");
  EXPECT_EQ(CheckText("reason", "\xFF", 100, true).code, ReviewErrc::kBadInput);
}

TEST(ReviewUtf8Test, CleanUtf8ReplacesNulAndInvalidBytesAndCutsOnABoundary) {
  bool cut = true;
  EXPECT_EQ(CleanUtf8(std::string_view("a\0b\xFF"
                                       "c\xE4\xB8",
                                       7),
                      100, &cut),
            "a" + std::string(kReplacement) + "b" + std::string(kReplacement) + "c" +
                std::string(kReplacement) + std::string(kReplacement));
  EXPECT_FALSE(cut);
  const std::string two = std::string(kZhong) + std::string(kZhong);
  EXPECT_EQ(CleanUtf8(two, 5, &cut), kZhong);
  EXPECT_TRUE(cut);
  EXPECT_EQ(CleanUtf8(two, 6, &cut), two);
  EXPECT_FALSE(cut);
}

}  // namespace
}  // namespace abusewatch::testing
