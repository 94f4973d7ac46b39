// detectors/utf8.h: UTF-8 validation per RFC 3629 (the table of well-formed byte sequences).
#include "detectors/utf8.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace abusewatch {
namespace {

TEST(Utf8Test, ValidSequencesAndTheirLengths) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ascii ~\x7f"));
  EXPECT_TRUE(IsValidUtf8(std::string_view("a\0b", 3)));  // NUL is valid UTF-8
  EXPECT_EQ(Utf8SequenceLength(std::string_view("\0", 1), 0), 1u);
  EXPECT_EQ(Utf8SequenceLength("A", 0), 1u);
  EXPECT_EQ(Utf8SequenceLength("\xC2\x80", 0), 2u);          // U+0080, smallest 2-byte
  EXPECT_EQ(Utf8SequenceLength("\xC3\xA9", 0), 2u);          // é
  EXPECT_EQ(Utf8SequenceLength("\xDF\xBF", 0), 2u);          // U+07FF
  EXPECT_EQ(Utf8SequenceLength("\xE0\xA0\x80", 0), 3u);      // U+0800, smallest 3-byte
  EXPECT_EQ(Utf8SequenceLength("\xE4\xB8\xAD", 0), 3u);      // 中
  EXPECT_EQ(Utf8SequenceLength("\xED\x9F\xBF", 0), 3u);      // U+D7FF, below the surrogates
  EXPECT_EQ(Utf8SequenceLength("\xEE\x80\x80", 0), 3u);      // U+E000, above them
  EXPECT_EQ(Utf8SequenceLength("\xEF\xBF\xBD", 0), 3u);      // U+FFFD
  EXPECT_EQ(Utf8SequenceLength("\xF0\x90\x80\x80", 0), 4u);  // U+10000, smallest 4-byte
  EXPECT_EQ(Utf8SequenceLength("\xF0\x9F\x98\x80", 0), 4u);  // 😀
  EXPECT_EQ(Utf8SequenceLength("\xF4\x8F\xBF\xBF", 0), 4u);  // U+10FFFF, the last code point
  // CJK text (the legal pack's bases and reasons): 刑法第二百八十七条之二；法释〔2019〕15号
  EXPECT_TRUE(IsValidUtf8(
      "\xE5\x88\x91\xE6\xB3\x95\xE7\xAC\xAC\xE4\xBA\x8C\xE7\x99\xBE\xE5\x85\xAB\xE5\x8D\x81"
      "\xE4\xB8\x83\xE6\x9D\xA1\xE4\xB9\x8B\xE4\xBA\x8C\xEF\xBC\x9B\xE6\xB3\x95\xE9\x87\x8A"
      "\xE3\x80\x94"
      "2019"
      "\xE3\x80\x95"
      "15"
      "\xE5\x8F\xB7"));
  // Lengths at an offset inside a string.
  const std::string_view mixed = "a\xC3\xA9\xE4\xB8\xAD\xF0\x9F\x98\x80z";
  EXPECT_EQ(Utf8SequenceLength(mixed, 1), 2u);
  EXPECT_EQ(Utf8SequenceLength(mixed, 3), 3u);
  EXPECT_EQ(Utf8SequenceLength(mixed, 6), 4u);
  EXPECT_EQ(Utf8SequenceLength(mixed, 10), 1u);
  EXPECT_EQ(Utf8SequenceLength(mixed, 2), 0u);  // a continuation byte starts nothing
  EXPECT_TRUE(IsValidUtf8(mixed));
}

TEST(Utf8Test, OverlongEncodingsAreInvalid) {
  for (std::string_view s : {"\xC0\x80", "\xC0\xAF", "\xC1\xBF", "\xE0\x80\x80", "\xE0\x9F\xBF",
                             "\xF0\x80\x80\x80", "\xF0\x8F\xBF\xBF"}) {
    EXPECT_EQ(Utf8SequenceLength(s, 0), 0u) << testing::PrintToString(s);
    EXPECT_FALSE(IsValidUtf8(s)) << testing::PrintToString(s);
  }
}

TEST(Utf8Test, SurrogatesAreInvalid) {
  for (std::string_view s : {"\xED\xA0\x80", "\xED\xAD\xBF", "\xED\xB0\x80", "\xED\xBF\xBF",
                             "\xED\xA0\xBD\xED\xB8\x80"}) {  // last: a CESU-8 pair for U+1F600
    EXPECT_EQ(Utf8SequenceLength(s, 0), 0u) << testing::PrintToString(s);
    EXPECT_FALSE(IsValidUtf8(s)) << testing::PrintToString(s);
  }
}

TEST(Utf8Test, AboveU10FFFFIsInvalid) {
  for (std::string_view s : {"\xF4\x90\x80\x80", "\xF5\x80\x80\x80", "\xF7\xBF\xBF\xBF",
                             "\xF8\x88\x80\x80\x80", "\xFC\x84\x80\x80\x80\x80"}) {
    EXPECT_EQ(Utf8SequenceLength(s, 0), 0u) << testing::PrintToString(s);
    EXPECT_FALSE(IsValidUtf8(s)) << testing::PrintToString(s);
  }
}

TEST(Utf8Test, TruncatedAndBrokenSequencesAreInvalid) {
  for (std::string_view s : {"\xC3", "\xE4\xB8", "\xE4", "\xF0\x9F\x98", "\xF0\x9F", "\xF0"}) {
    EXPECT_EQ(Utf8SequenceLength(s, 0), 0u) << testing::PrintToString(s);
    EXPECT_FALSE(IsValidUtf8(s)) << testing::PrintToString(s);
    EXPECT_FALSE(IsValidUtf8(std::string("ok ") + std::string(s))) << testing::PrintToString(s);
  }
  // A lead byte followed by a non-continuation byte, lone continuations, bytes never in UTF-8.
  for (std::string_view s : {"\xE4\x41\xAD", "\xE4\xB8\x41", "\xC3\x28", "\xF0\x9F\x98\x41", "\x80",
                             "\xBF", "\xC3\xA9\xA9", "\xFE", "\xFF"}) {
    EXPECT_FALSE(IsValidUtf8(s)) << testing::PrintToString(s);
  }
  EXPECT_EQ(Utf8SequenceLength("\xE4\x41\xAD", 0), 0u);
  EXPECT_FALSE(IsValidUtf8("\xE4\xB8\xAD\xE4\xB8"));  // valid 中, then a cut one
}

}  // namespace
}  // namespace abusewatch
