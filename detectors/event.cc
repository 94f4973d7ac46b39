#include "detectors/event.h"

#include <array>

namespace abusewatch {
namespace {

constexpr std::array<std::string_view, kNumEventTypes> kTypeNames = {
    "abuse_report", "regulator_notice", "disposition", "payment",
    "login",        "sanction",         "account_link"};

struct FieldInfo {
  std::string_view name;
  FieldType type;
};

constexpr std::array<FieldInfo, kNumFields> kFields = {{
    {"id", FieldType::kString},           {"type", FieldType::kString},
    {"account", FieldType::kString},      {"subject", FieldType::kString},
    {"source", FieldType::kString},       {"category", FieldType::kString},
    {"reporter", FieldType::kString},     {"verified", FieldType::kBool},
    {"severity", FieldType::kString},     {"authority", FieldType::kString},
    {"notice_id", FieldType::kString},    {"action", FieldType::kString},
    {"ref", FieldType::kString},          {"flow", FieldType::kString},
    {"amount", FieldType::kDecimal},      {"currency", FieldType::kString},
    {"method", FieldType::kString},       {"list_price", FieldType::kDecimal},
    {"fee_rate", FieldType::kDecimal},    {"price_ratio", FieldType::kDecimal},
    {"payer", FieldType::kString},        {"ip", FieldType::kString},
    {"signals", FieldType::kStringArray}, {"device", FieldType::kString},
    {"kind", FieldType::kString},         {"entity_keys", FieldType::kStringArray},
}};

}  // namespace

std::string_view EventTypeName(EventType t) { return kTypeNames[static_cast<int>(t)]; }

std::optional<EventType> EventTypeFromName(std::string_view name) {
  for (int i = 0; i < kNumEventTypes; ++i) {
    if (kTypeNames[i] == name) return static_cast<EventType>(i);
  }
  return std::nullopt;
}

std::string_view FieldName(FieldId f) { return kFields[static_cast<int>(f)].name; }
FieldType TypeOfField(FieldId f) { return kFields[static_cast<int>(f)].type; }

std::optional<FieldId> FieldFromName(std::string_view name) {
  for (int i = 0; i < kNumFields; ++i) {
    if (kFields[i].name == name) return static_cast<FieldId>(i);
  }
  return std::nullopt;
}

void Event::Clear() {
  storage_.clear();
  for (uint32_t m = set_fields_; m != 0; m &= m - 1) strs_[__builtin_ctz(m)] = StrRef{};
  set_fields_ = 0;
  elements_.clear();
  type = EventType::kLogin;
  ts_ms = 0;
  verified = false;
  has_verified = false;
  amount_base_fen = 0;
  amount_fen = 0;
  list_price.reset();
  fee_rate.reset();
}

void Event::Append(std::string_view v, StrRef* r) {
  // Field by field, not as a returned struct: the copy of a freshly stored StrRef stalls on
  // store-to-load forwarding (it was 15 % of decoding).
  r->offset = static_cast<uint32_t>(storage_.size());
  r->length = static_cast<uint32_t>(v.size());
  r->present = true;
  storage_.append(v);
}

void Event::SetStr(FieldId f, std::string_view v) {
  Append(v, &strs_[static_cast<int>(f)]);
  set_fields_ |= 1u << static_cast<int>(f);
}

void Event::AddArrayElement(FieldId f, std::string_view v) {
  MarkArrayPresent(f);
  Element& e = elements_.emplace_back();
  e.field = f;
  Append(v, &e.ref);
}

size_t Event::ArraySize(FieldId f) const {
  size_t n = 0;
  for (const Element& e : elements_) n += e.field == f;
  return n;
}

std::string_view Event::ArrayElement(FieldId f, size_t i) const {
  for (const Element& e : elements_) {
    if (e.field != f) continue;
    if (i == 0) return std::string_view(storage_.data() + e.ref.offset, e.ref.length);
    --i;
  }
  return {};
}

std::optional<Decimal> Event::NumericField(FieldId f) const {
  switch (f) {
    case FieldId::kAmount:
      if (type != EventType::kPayment) return std::nullopt;
      return Decimal{static_cast<UInt128>(amount_base_fen), 2};
    case FieldId::kListPrice:
      return list_price;
    case FieldId::kFeeRate:
      return fee_rate;
    default:
      return std::nullopt;
  }
}

namespace {

void SaveDecimal(const std::optional<Decimal>& d, StateEncoder* out) {
  out->U8(d.has_value());
  if (d) {
    out->Wide(static_cast<Int128>(d->mantissa));
    out->U8(static_cast<uint8_t>(d->scale));
  }
}

void LoadDecimal(StateDecoder* in, std::optional<Decimal>* d) {
  if (!in->Bool()) {
    d->reset();
    return;
  }
  Decimal v;
  v.mantissa = static_cast<UInt128>(in->Wide());
  v.scale = in->U8();
  if (v.scale > Decimal::kMaxScale) in->Fail();
  *d = v;
}

}  // namespace

void Event::Save(StateEncoder* out) const {
  out->U8(static_cast<uint8_t>(type));
  out->Signed(ts_ms);
  out->U8(verified);
  out->U8(has_verified);
  out->Signed(amount_base_fen);
  out->Signed(amount_fen);
  SaveDecimal(list_price, out);
  SaveDecimal(fee_rate, out);
  out->Bytes(storage_);
  out->Varint(set_fields_);
  for (uint32_t m = set_fields_; m != 0; m &= m - 1) {
    const StrRef& r = strs_[__builtin_ctz(m)];
    out->Varint(r.offset);
    out->Varint(r.length);
    out->U8(r.present);
  }
  out->Varint(elements_.size());
  for (const Element& e : elements_) {
    out->U8(static_cast<uint8_t>(e.field));
    out->Varint(e.ref.offset);
    out->Varint(e.ref.length);
  }
}

void Event::Load(StateDecoder* in) {
  Clear();
  const uint8_t t = in->U8();
  if (t >= kNumEventTypes) in->Fail();
  type = static_cast<EventType>(t);
  ts_ms = in->Signed();
  verified = in->Bool();
  has_verified = in->Bool();
  amount_base_fen = in->Signed();
  amount_fen = in->Signed();
  LoadDecimal(in, &list_price);
  LoadDecimal(in, &fee_rate);
  storage_.assign(in->Bytes());
  const auto ref = [&](StrRef* r) {
    const uint64_t offset = in->Varint(), length = in->Varint();
    if (offset > storage_.size() || length > storage_.size() - offset) in->Fail();
    if (!in->ok()) return;
    r->offset = static_cast<uint32_t>(offset);
    r->length = static_cast<uint32_t>(length);
  };
  const uint64_t mask = in->Varint();
  if (mask >> kNumFields != 0) in->Fail();
  for (uint64_t m = in->ok() ? mask : 0; m != 0 && in->ok(); m &= m - 1) {
    StrRef& r = strs_[__builtin_ctzll(m)];
    ref(&r);
    r.present = in->Bool();
  }
  if (in->ok()) set_fields_ = static_cast<uint32_t>(mask);
  const uint64_t n = in->Count(3);
  for (uint64_t i = 0; i < n && in->ok(); ++i) {
    const uint8_t f = in->U8();
    if (f >= kNumFields) in->Fail();
    Element e{static_cast<FieldId>(f), StrRef{}};
    ref(&e.ref);
    e.ref.present = true;
    if (in->ok()) elements_.push_back(e);
  }
  if (!in->ok()) Clear();
}

}  // namespace abusewatch
