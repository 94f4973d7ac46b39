// UTF-8 validation (RFC 3629): the one definition of "valid UTF-8" shared by the JSON writer
// (transition.cc) and the review store (daemon/review/). Pure functions, no allocation.
#ifndef ABUSEWATCH_DETECTORS_UTF8_H_
#define ABUSEWATCH_DETECTORS_UTF8_H_

#include <cstddef>
#include <string_view>

namespace abusewatch {

// Length in bytes (1 to 4) of the valid UTF-8 sequence starting at s[i], or 0 when the bytes
// there do not start one: a continuation or invalid lead byte (0x80-0xBF, 0xF8-0xFF), a
// sequence cut by the end of `s` or by a byte that is not a continuation, an overlong encoding
// (C0 80, E0 80 80, …), a UTF-16 surrogate (U+D800-U+DFFF) or a code point above U+10FFFF.
// Every ASCII byte, NUL included, is a sequence of length 1. Requires i < s.size().
size_t Utf8SequenceLength(std::string_view s, size_t i);

// Whether `s` is entirely valid UTF-8 (every sequence as above; NUL bytes are valid, the empty
// string is valid).
bool IsValidUtf8(std::string_view s);

}  // namespace abusewatch

#endif  // ABUSEWATCH_DETECTORS_UTF8_H_
