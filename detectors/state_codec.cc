#include "detectors/state_codec.h"

namespace abusewatch {

void StateEncoder::Varint(uint64_t v) {
  while (v >= 0x80) {
    out_->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out_->push_back(static_cast<char>(v));
}

void StateEncoder::Fixed64(uint64_t v) {
  for (int i = 0; i < 8; ++i) out_->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void StateEncoder::Wide(Int128 v) {
  const UInt128 u = static_cast<UInt128>(v);
  Fixed64(static_cast<uint64_t>(u));
  Fixed64(static_cast<uint64_t>(u >> 64));
}

uint8_t StateDecoder::U8() {
  if (!ok_ || pos_ >= in_.size()) {
    ok_ = false;
    return 0;
  }
  return static_cast<uint8_t>(in_[pos_++]);
}

uint64_t StateDecoder::Varint() {
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (!ok_ || pos_ >= in_.size()) break;
    const uint8_t b = static_cast<uint8_t>(in_[pos_++]);
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) return v;
  }
  ok_ = false;
  return 0;
}

uint64_t StateDecoder::Fixed64() {
  if (!ok_ || in_.size() - pos_ < 8) {
    ok_ = false;
    return 0;
  }
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) {
    v |= static_cast<uint64_t>(static_cast<uint8_t>(in_[pos_ + i])) << (8 * i);
  }
  pos_ += 8;
  return v;
}

Int128 StateDecoder::Wide() {
  const uint64_t lo = Fixed64();
  const uint64_t hi = Fixed64();
  return static_cast<Int128>((static_cast<UInt128>(hi) << 64) | lo);
}

std::string_view StateDecoder::Bytes() {
  const uint64_t n = Varint();
  if (!ok_ || n > in_.size() - pos_) {
    ok_ = false;
    return {};
  }
  std::string_view v = in_.substr(pos_, n);
  pos_ += n;
  return v;
}

uint64_t StateDecoder::Count(size_t min_bytes) {
  const uint64_t n = Varint();
  if (!ok_ || (min_bytes > 0 && n > (in_.size() - pos_) / min_bytes)) {
    ok_ = false;
    return 0;
  }
  return n;
}

bool StateDecoder::Bool() {
  const uint8_t b = U8();
  if (b > 1) ok_ = false;
  return b == 1;
}

Status StateDecoder::Finish(std::string_view what) const {
  if (!ok_) return Status::Corruption(std::string(what) + ": truncated or malformed record");
  if (pos_ != in_.size()) {
    return Status::Corruption(std::string(what) + ": " + std::to_string(in_.size() - pos_) +
                              " unexpected trailing bytes");
  }
  return Status::Ok();
}

}  // namespace abusewatch
