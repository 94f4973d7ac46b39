// Binary encoding of engine state for checkpoints (detectors/checkpoint.h): little-endian
// varints, zigzag signed varints and length-prefixed bytes. StateDecoder never reads out of
// bounds: a short or malformed input turns it into a failed state (ok() false) in which every
// getter returns zero / empty, so callers check ok() once at the end.
// Thread-compatible value types.
#ifndef ABUSEWATCH_DETECTORS_STATE_CODEC_H_
#define ABUSEWATCH_DETECTORS_STATE_CODEC_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "detectors/decimal.h"
#include "detectors/status.h"

namespace abusewatch {

class StateEncoder {
 public:
  explicit StateEncoder(std::string* out) : out_(out) {}
  void U8(uint8_t v) { out_->push_back(static_cast<char>(v)); }
  void Varint(uint64_t v);
  void Signed(int64_t v) {
    Varint((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
  }
  void Wide(Int128 v);  // 16 bytes, little-endian two's complement
  void Bytes(std::string_view v) {
    Varint(v.size());
    out_->append(v);
  }
  void Fixed64(uint64_t v);

 private:
  std::string* out_;
};

class StateDecoder {
 public:
  explicit StateDecoder(std::string_view in) : in_(in) {}
  uint8_t U8();
  uint64_t Varint();
  int64_t Signed() {
    const uint64_t u = Varint();
    return static_cast<int64_t>(u >> 1) ^ -static_cast<int64_t>(u & 1);
  }
  Int128 Wide();
  std::string_view Bytes();
  uint64_t Fixed64();
  // A count of items that each take at least `min_bytes`: fails when more than could fit in
  // what is left (so a corrupt count cannot make a caller allocate without bound).
  uint64_t Count(size_t min_bytes = 1);
  // A boolean (0 or 1; anything else fails).
  bool Bool();

  bool ok() const { return ok_; }
  bool done() const { return ok_ && pos_ == in_.size(); }
  void Fail() { ok_ = false; }
  // Ok when every read succeeded and the input was consumed entirely; otherwise Corruption
  // naming `what`.
  Status Finish(std::string_view what) const;

 private:
  std::string_view in_;
  size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace abusewatch

#endif  // ABUSEWATCH_DETECTORS_STATE_CODEC_H_
