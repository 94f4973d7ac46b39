#include "detectors/decoder.h"

#include <simdjson.h>

#include <array>
#include <cstring>
#include <vector>

#include "detectors/timeutil.h"
#include "detectors/transition.h"

namespace abusewatch {
namespace {

namespace od = simdjson::ondemand;

constexpr size_t kMaxIdBytes = 128;
constexpr DecimalLimits kAmountLimits{2, 16};
constexpr DecimalLimits kRatioLimits{9, 16};
constexpr UInt128 kMaxAmountFen = static_cast<UInt128>(100'000'000'000'000'000LL);  // 10^15 units

// Input fields: FieldId values plus the timestamp.
constexpr int kTs = kNumFields;
constexpr int kNumInputs = kNumFields + 1;

int LookupField(std::string_view k) {
  auto is = [&](const char* s) { return k == s; };
  switch (k.size()) {
    case 2:
      if (is("id")) return static_cast<int>(FieldId::kId);
      if (is("ts")) return kTs;
      if (is("ip")) return static_cast<int>(FieldId::kIp);
      break;
    case 3:
      if (is("ref")) return static_cast<int>(FieldId::kRef);
      break;
    case 4:
      if (is("type")) return static_cast<int>(FieldId::kType);
      if (is("flow")) return static_cast<int>(FieldId::kFlow);
      if (is("kind")) return static_cast<int>(FieldId::kKind);
      break;
    case 5:
      if (is("payer")) return static_cast<int>(FieldId::kPayer);
      break;
    case 6:
      if (is("source")) return static_cast<int>(FieldId::kSource);
      if (is("action")) return static_cast<int>(FieldId::kAction);
      if (is("amount")) return static_cast<int>(FieldId::kAmount);
      if (is("method")) return static_cast<int>(FieldId::kMethod);
      if (is("device")) return static_cast<int>(FieldId::kDevice);
      break;
    case 7:
      if (is("account")) return static_cast<int>(FieldId::kAccount);
      if (is("subject")) return static_cast<int>(FieldId::kSubject);
      if (is("signals")) return static_cast<int>(FieldId::kSignals);
      break;
    case 8:
      if (is("category")) return static_cast<int>(FieldId::kCategory);
      if (is("reporter")) return static_cast<int>(FieldId::kReporter);
      if (is("verified")) return static_cast<int>(FieldId::kVerified);
      if (is("severity")) return static_cast<int>(FieldId::kSeverity);
      if (is("currency")) return static_cast<int>(FieldId::kCurrency);
      if (is("fee_rate")) return static_cast<int>(FieldId::kFeeRate);
      break;
    case 9:
      if (is("authority")) return static_cast<int>(FieldId::kAuthority);
      if (is("notice_id")) return static_cast<int>(FieldId::kNoticeId);
      break;
    case 10:
      if (is("list_price")) return static_cast<int>(FieldId::kListPrice);
      break;
    case 11:
      if (is("entity_keys")) return static_cast<int>(FieldId::kEntityKeys);
      break;
    default:
      break;
  }
  return -1;
}

std::string_view InputName(int f) {
  return f == kTs ? std::string_view("ts") : FieldName(static_cast<FieldId>(f));
}

enum class RawKind : uint8_t { kAbsent, kNull, kString, kNumber, kBool, kArray, kOther };

struct RawValue {
  RawKind kind = RawKind::kAbsent;
  bool b = false;
  bool array_of_strings = true;
  std::string_view text;  // string (unescaped) or number (raw token)
  uint32_t first = 0;     // array elements in Impl::elems
  uint32_t count = 0;
};

// A short, printable excerpt of untrusted text for messages.
std::string Excerpt(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 40)) {
    out.push_back(static_cast<unsigned char>(c) < 0x20 || c == '"' || c == '\\' ? '?' : c);
  }
  if (s.size() > 40) out += "...";
  return out;
}

constexpr std::array<std::string_view, 7> kActions = {
    "suspend", "takedown", "restrict", "report_to_police", "warn", "restore", "close"};
constexpr std::array<std::string_view, 5> kFlows = {"service_fee", "settlement", "ad_funding",
                                                    "gain", "refund"};

template <size_t N>
bool OneOf(std::string_view v, const std::array<std::string_view, N>& set) {
  for (std::string_view s : set) {
    if (s == v) return true;
  }
  return false;
}

std::string_view TrimRawNumber(std::string_view t) {
  while (!t.empty() &&
         (t.back() == ' ' || t.back() == '\t' || t.back() == '\n' || t.back() == '\r')) {
    t.remove_suffix(1);
  }
  return t;
}

// JSON number grammar (RFC 8259): -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
bool IsJsonNumber(std::string_view t) {
  size_t i = 0, n = t.size();
  auto digits = [&] {
    size_t start = i;
    while (i < n && t[i] >= '0' && t[i] <= '9') ++i;
    return i > start;
  };
  if (i < n && t[i] == '-') ++i;
  if (i < n && t[i] == '0') {
    ++i;
  } else if (!digits()) {
    return false;
  }
  if (i < n && t[i] == '.') {
    ++i;
    if (!digits()) return false;
  }
  if (i < n && (t[i] == 'e' || t[i] == 'E')) {
    ++i;
    if (i < n && (t[i] == '+' || t[i] == '-')) ++i;
    if (!digits()) return false;
  }
  return i == n;
}

// On-Demand skips unread scalars without looking at what follows them, so `[0""]` or
// `"a":1 2` would pass: a scalar must be followed by a separator. The byte after the raw token
// is the next structural character (always readable: the input is padded).
bool FollowedBySeparator(od::value& v) {
  std::string_view tok = v.raw_json_token();
  const char next = tok.data()[tok.size()];
  return next == ',' || next == '}' || next == ']';
}

// Reads a value to its end so that malformed JSON anywhere in the record is found, including
// inside fields the decoder otherwise ignores (On-Demand would skip them unchecked).
simdjson::error_code Walk(od::value& v, int depth) {
  if (depth > 128) return simdjson::DEPTH_ERROR;
  od::json_type t;
  if (auto e = v.type().get(t); e) return e;
  if (t != od::json_type::array && t != od::json_type::object && !FollowedBySeparator(v)) {
    return simdjson::TAPE_ERROR;
  }
  switch (t) {
    case od::json_type::array: {
      od::array a;
      if (auto e = v.get_array().get(a); e) return e;
      for (auto el_result : a) {
        if (auto e = el_result.error(); e) return e;
        od::value& el = el_result.value_unsafe();
        if (auto e = Walk(el, depth + 1); e) return e;
      }
      return simdjson::SUCCESS;
    }
    case od::json_type::object: {
      od::object o;
      if (auto e = v.get_object().get(o); e) return e;
      for (auto f_result : o) {
        if (auto e = f_result.error(); e) return e;
        od::field& f = f_result.value_unsafe();
        std::string_view key;
        if (auto e = f.unescaped_key().get(key); e) return e;
        od::value& inner = f.value();
        if (auto e = Walk(inner, depth + 1); e) return e;
      }
      return simdjson::SUCCESS;
    }
    case od::json_type::string: {
      std::string_view s;
      return v.get_string().get(s);
    }
    case od::json_type::number:
      return IsJsonNumber(TrimRawNumber(v.raw_json_token())) ? simdjson::SUCCESS
                                                             : simdjson::NUMBER_ERROR;
    case od::json_type::boolean: {
      bool b;
      return v.get_bool().get(b);
    }
    case od::json_type::null: {
      bool is_null = false;
      if (auto e = v.is_null().get(is_null); e) return e;
      return is_null ? simdjson::SUCCESS : simdjson::INCORRECT_TYPE;
    }
  }
  return simdjson::SUCCESS;
}

}  // namespace

std::string_view RejectReasonName(RejectReason r) {
  static constexpr std::array<std::string_view, kNumRejectReasons> kNames = {
      "malformed_json", "too_large",     "missing_field", "bad_type",
      "unknown_type",   "bad_timestamp", "bad_amount",    "unknown_currency",
      "bad_value",      "duplicate",     "late"};
  return kNames[static_cast<int>(r)];
}

DecoderOptions DecoderOptionsFor(const EngineConfig& c) {
  DecoderOptions o;
  o.max_event_bytes = static_cast<size_t>(c.max_event_bytes);
  o.base_currency = c.base_currency;
  o.currency_rates = c.currency_rates;
  return o;
}

void AppendRejectionFields(const Rejection& r, std::string* out) {
  out->append("\"id\":");
  if (r.has_id) {
    AppendJsonString(r.id, out);
  } else {
    out->append("null");
  }
  out->append(",\"reason\":\"");
  out->append(RejectReasonName(r.reason));
  out->append("\",\"detail\":");
  AppendJsonString(r.detail, out);
}

struct Decoder::Impl {
  DecoderOptions options;
  od::parser parser;
  std::string padded;
  std::array<RawValue, kNumInputs> raw;
  std::vector<int> touched;  // fields of `raw` set by the last Collect
  std::vector<std::string_view> elems;
  Rejection* rej = nullptr;

  bool Reject(RejectReason reason, std::string detail) {
    rej->reason = reason;
    rej->detail = std::move(detail);
    return false;
  }

  bool Collect(std::string_view record);
  bool Validate(Event* ev);
  // Required/optional string helpers. Return false after rejecting.
  bool String(int f, bool required, size_t max_len, Event* ev);
  bool Bool(int f, bool default_value, Event* ev);
  bool StringArray(int f, bool required, Event* ev);
  bool Ratio(int f, std::optional<Decimal>* out);
  bool Payment(Event* ev);
};

Decoder::Decoder(DecoderOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
}
Decoder::~Decoder() = default;

bool Decoder::Impl::Collect(std::string_view record) {
  for (int f : touched) raw[f] = RawValue{};
  touched.clear();
  elems.clear();
  padded.assign(record);
  padded.append(simdjson::SIMDJSON_PADDING, '\0');
  simdjson::padded_string_view view(padded.data(), record.size(), padded.size());
  od::document doc;
  auto fail = [&](simdjson::error_code e) {
    return Reject(RejectReason::kMalformedJson,
                  std::string("not one JSON object: ") + simdjson::error_message(e));
  };
  if (auto e = parser.iterate(view).get(doc); e) return fail(e);
  od::object obj;
  if (auto e = doc.get_object().get(obj); e) return fail(e);
  for (auto field_result : obj) {
    // Used in place, as `v` below: moving it out of the result costs another stalled copy.
    if (auto e = field_result.error(); e) return fail(e);
    od::field& field = field_result.value_unsafe();
    std::string_view key;
    if (auto e = field.unescaped_key().get(key); e) return fail(e);
    int f = LookupField(key);
    if (f < 0) {  // unknown fields are ignored (forward compatible), but must be valid JSON
      od::value& unknown = field.value();
      if (auto e = Walk(unknown, 1); e) return fail(e);
      continue;
    }
    RawValue& rv = raw[f];
    if (rv.kind != RawKind::kAbsent) {
      return Reject(RejectReason::kMalformedJson,
                    "field \"" + std::string(InputName(f)) + "\" appears more than once");
    }
    touched.push_back(f);
    // A reference, not a copy: copying the value just built by the iterator stalls on
    // store-to-load forwarding (~45 ns of each record's decoding).
    od::value& v = field.value();
    od::json_type t;
    if (auto e = v.type().get(t); e) return fail(e);
    if (t != od::json_type::array && t != od::json_type::object && !FollowedBySeparator(v)) {
      return fail(simdjson::TAPE_ERROR);
    }
    switch (t) {
      case od::json_type::null: {
        bool is_null = false;
        if (auto e = v.is_null().get(is_null); e || !is_null) {
          return fail(e ? e : simdjson::INCORRECT_TYPE);
        }
        rv.kind = RawKind::kNull;
        break;
      }
      case od::json_type::string:
        if (auto e = v.get_string().get(rv.text); e) return fail(e);
        rv.kind = RawKind::kString;
        break;
      case od::json_type::number: {
        // The token's text is what counts (money is never converted through a double); it must
        // still be a JSON number.
        std::string_view tok = TrimRawNumber(v.raw_json_token());
        if (!IsJsonNumber(tok)) return fail(simdjson::NUMBER_ERROR);
        rv.text = tok;
        rv.kind = RawKind::kNumber;
        break;
      }
      case od::json_type::boolean:
        if (auto e = v.get_bool().get(rv.b); e) return fail(e);
        rv.kind = RawKind::kBool;
        break;
      case od::json_type::array: {
        od::array arr;
        if (auto e = v.get_array().get(arr); e) return fail(e);
        rv.kind = RawKind::kArray;
        rv.first = static_cast<uint32_t>(elems.size());
        for (auto el_result : arr) {
          if (auto e = el_result.error(); e) return fail(e);
          od::value& el = el_result.value_unsafe();
          od::json_type et;
          if (auto e = el.type().get(et); e) return fail(e);
          if (et == od::json_type::string) {
            if (!FollowedBySeparator(el)) return fail(simdjson::TAPE_ERROR);
            std::string_view s;
            if (auto e = el.get_string().get(s); e) return fail(e);
            elems.push_back(s);
          } else {
            rv.array_of_strings = false;
            // Read the element anyway: malformed JSON inside it is still malformed_json.
            if (auto e = Walk(el, 2); e) return fail(e);
          }
        }
        rv.count = static_cast<uint32_t>(elems.size()) - rv.first;
        break;
      }
      case od::json_type::object: {
        if (auto e = Walk(v, 1); e) return fail(e);
        rv.kind = RawKind::kOther;
        break;
      }
    }
  }
  // In bounds after the closing brace means something follows the object.
  if (doc.current_location().error() != simdjson::OUT_OF_BOUNDS) {
    return fail(simdjson::TRAILING_CONTENT);
  }
  // Remember the id for the reject record whenever it is readable.
  const RawValue& id = raw[static_cast<int>(FieldId::kId)];
  if (id.kind == RawKind::kString && !id.text.empty() && id.text.size() <= kMaxIdBytes) {
    rej->id.assign(id.text);
    rej->has_id = true;
  }
  return true;
}

bool Decoder::Impl::String(int f, bool required, size_t max_len, Event* ev) {
  const RawValue& rv = raw[f];
  auto name = [f] { return std::string(InputName(f)); };
  if (rv.kind == RawKind::kAbsent || rv.kind == RawKind::kNull ||
      (required && rv.kind == RawKind::kString && rv.text.empty())) {
    if (required)
      return Reject(RejectReason::kMissingField,
                    "required field \"" + name() + "\" is absent or empty");
    return true;
  }
  if (rv.kind != RawKind::kString) {
    return Reject(RejectReason::kBadType, "field \"" + name() + "\" must be a string");
  }
  if (max_len > 0 && rv.text.size() > max_len) {
    return Reject(RejectReason::kBadType, "field \"" + name() + "\" is " +
                                              std::to_string(rv.text.size()) + " bytes, over " +
                                              std::to_string(max_len));
  }
  ev->SetStr(static_cast<FieldId>(f), rv.text);
  return true;
}

bool Decoder::Impl::Bool(int f, bool default_value, Event* ev) {
  const RawValue& rv = raw[f];
  ev->has_verified = true;
  if (rv.kind == RawKind::kAbsent || rv.kind == RawKind::kNull) {
    ev->verified = default_value;
    return true;
  }
  if (rv.kind != RawKind::kBool) {
    return Reject(RejectReason::kBadType,
                  "field \"" + std::string(InputName(f)) + "\" must be true or false");
  }
  ev->verified = rv.b;
  return true;
}

bool Decoder::Impl::StringArray(int f, bool required, Event* ev) {
  const RawValue& rv = raw[f];
  auto name = [f] { return std::string(InputName(f)); };
  if (rv.kind == RawKind::kAbsent || rv.kind == RawKind::kNull ||
      (rv.kind == RawKind::kArray && rv.count == 0 && rv.array_of_strings)) {
    if (required)
      return Reject(RejectReason::kMissingField,
                    "required field \"" + name() + "\" is absent or empty");
    ev->MarkArrayPresent(static_cast<FieldId>(f));
    return true;
  }
  if (rv.kind != RawKind::kArray || !rv.array_of_strings) {
    return Reject(RejectReason::kBadType, "field \"" + name() + "\" must be an array of strings");
  }
  for (uint32_t i = 0; i < rv.count; ++i)
    ev->AddArrayElement(static_cast<FieldId>(f), elems[rv.first + i]);
  return true;
}

bool Decoder::Impl::Ratio(int f, std::optional<Decimal>* out) {
  const RawValue& rv = raw[f];
  if (rv.kind == RawKind::kAbsent || rv.kind == RawKind::kNull) return true;
  auto name = [f] { return std::string(InputName(f)); };
  Decimal d;
  if ((rv.kind != RawKind::kString && rv.kind != RawKind::kNumber) ||
      !ParseDecimal(rv.text, kRatioLimits, &d)) {
    return Reject(RejectReason::kBadValue,
                  "field \"" + name() +
                      "\" must be a non-negative decimal (at most 9 fractional digits), got \"" +
                      Excerpt(rv.text) + "\"");
  }
  *out = d;
  return true;
}

bool Decoder::Impl::Payment(Event* ev) {
  if (!String(static_cast<int>(FieldId::kFlow), true, 0, ev)) return false;
  if (!OneOf(ev->Str(FieldId::kFlow), kFlows)) {
    return Reject(RejectReason::kBadValue,
                  "flow \"" + Excerpt(ev->Str(FieldId::kFlow)) +
                      "\" is not one of service_fee, settlement, ad_funding, gain, refund");
  }
  const RawValue& a = raw[static_cast<int>(FieldId::kAmount)];
  if (a.kind == RawKind::kAbsent || a.kind == RawKind::kNull ||
      (a.kind == RawKind::kString && a.text.empty())) {
    return Reject(RejectReason::kMissingField, "required field \"amount\" is absent or empty");
  }
  if (a.kind != RawKind::kString && a.kind != RawKind::kNumber) {
    return Reject(RejectReason::kBadType, "field \"amount\" must be a decimal string or number");
  }
  Decimal amount;
  if (!ParseDecimal(a.text, kAmountLimits, &amount)) {
    return Reject(
        RejectReason::kBadAmount,
        "amount \"" + Excerpt(a.text) +
            "\" is not a non-negative decimal with at most 2 fractional digits up to 10^15");
  }
  UInt128 fen;
  if (!RoundHalfUpScaled(amount, 2, kMaxAmountFen, &fen)) {
    return Reject(RejectReason::kBadAmount, "amount \"" + Excerpt(a.text) + "\" is over 10^15");
  }
  ev->amount_fen = static_cast<int64_t>(fen);
  if (!String(static_cast<int>(FieldId::kCurrency), false, 0, ev)) return false;
  if (!ev->Has(FieldId::kCurrency)) ev->SetStr(FieldId::kCurrency, "CNY");  // events.md default
  std::string_view cur = ev->Str(FieldId::kCurrency);
  if (cur == options.base_currency) {
    ev->amount_base_fen = ev->amount_fen;
  } else {
    auto it = options.currency_rates.find(std::string(cur));
    if (it == options.currency_rates.end()) {
      return Reject(
          RejectReason::kUnknownCurrency,
          "currency \"" + Excerpt(cur) + "\" has no configured rate to " + options.base_currency);
    }
    Decimal product;
    UInt128 base;
    if (!MultiplyDecimal(Decimal{fen, 0}, it->second, &product) ||
        !RoundHalfUpScaled(product, 0, kMaxAmountFen, &base)) {
      return Reject(RejectReason::kBadAmount,
                    "amount converted to " + options.base_currency + " is over 10^15");
    }
    ev->amount_base_fen = static_cast<int64_t>(base);
  }
  if (!String(static_cast<int>(FieldId::kMethod), false, 0, ev)) return false;
  if (!ev->Has(FieldId::kMethod)) ev->SetStr(FieldId::kMethod, "other");
  if (!Ratio(static_cast<int>(FieldId::kListPrice), &ev->list_price)) return false;
  if (!Ratio(static_cast<int>(FieldId::kFeeRate), &ev->fee_rate)) return false;
  return String(static_cast<int>(FieldId::kPayer), false, 0, ev);
}

bool Decoder::Impl::Validate(Event* ev) {
  auto S = [&](FieldId f, bool required = false, size_t max_len = 0) {
    return String(static_cast<int>(f), required, max_len, ev);
  };
  auto Default = [&](FieldId f, std::string_view v) {
    if (!ev->Has(f)) ev->SetStr(f, v);
  };
  if (!S(FieldId::kId, true, kMaxIdBytes) || !S(FieldId::kType, true)) return false;
  auto type = EventTypeFromName(ev->Str(FieldId::kType));
  if (!type) {
    return Reject(RejectReason::kUnknownType,
                  "type \"" + Excerpt(ev->Str(FieldId::kType)) + "\" is not a known event type");
  }
  ev->type = *type;
  const RawValue& ts = raw[kTs];
  if (ts.kind == RawKind::kAbsent || ts.kind == RawKind::kNull ||
      (ts.kind == RawKind::kString && ts.text.empty())) {
    return Reject(RejectReason::kMissingField, "required field \"ts\" is absent or empty");
  }
  if (ts.kind == RawKind::kString) {
    if (!ParseRfc3339(ts.text, &ev->ts_ms)) {
      return Reject(RejectReason::kBadTimestamp,
                    "ts \"" + Excerpt(ts.text) + "\" is not an RFC 3339 time with offset");
    }
  } else if (ts.kind == RawKind::kNumber) {
    int64_t v = 0;
    bool ok = !ts.text.empty() && ts.text.size() <= 15;
    for (char c : ts.text) {
      if (c < '0' || c > '9') ok = false;
      if (ok) v = v * 10 + (c - '0');
    }
    if (!ok) {
      return Reject(RejectReason::kBadTimestamp,
                    "ts " + Excerpt(ts.text) + " is not integer milliseconds since the epoch");
    }
    ev->ts_ms = v;
  } else {
    return Reject(RejectReason::kBadType, "field \"ts\" must be a string or an integer");
  }
  if (!InEventTimeRange(ev->ts_ms)) {
    return Reject(RejectReason::kBadTimestamp, "ts is outside the years 2000-2100");
  }
  if (!S(FieldId::kAccount, true, kMaxIdBytes) || !S(FieldId::kSubject, false, kMaxIdBytes) ||
      !S(FieldId::kSource)) {
    return false;
  }
  switch (ev->type) {
    case EventType::kAbuseReport:
      if (!S(FieldId::kCategory) || !S(FieldId::kReporter) ||
          !Bool(static_cast<int>(FieldId::kVerified), false, ev) || !S(FieldId::kSeverity)) {
        return false;
      }
      Default(FieldId::kCategory, "other");
      Default(FieldId::kSeverity, "normal");
      return true;
    case EventType::kRegulatorNotice:
      return S(FieldId::kAuthority) && S(FieldId::kNoticeId) &&
             Bool(static_cast<int>(FieldId::kVerified), true, ev);
    case EventType::kDisposition:
      if (!S(FieldId::kAction, true) || !S(FieldId::kRef)) return false;
      if (!OneOf(ev->Str(FieldId::kAction), kActions)) {
        return Reject(RejectReason::kBadValue,
                      "action \"" + Excerpt(ev->Str(FieldId::kAction)) +
                          "\" is not one of suspend, takedown, restrict, report_to_police, warn, "
                          "restore, close");
      }
      return true;
    case EventType::kPayment:
      return Payment(ev);
    case EventType::kLogin:
      return S(FieldId::kIp) && StringArray(static_cast<int>(FieldId::kSignals), false, ev) &&
             S(FieldId::kDevice);
    case EventType::kSanction:
      if (!S(FieldId::kKind) || !S(FieldId::kAuthority)) return false;
      Default(FieldId::kKind, "administrative");
      return true;
    case EventType::kAccountLink:
      return StringArray(static_cast<int>(FieldId::kEntityKeys), true, ev);
  }
  return true;
}

bool Decoder::Decode(std::string_view record, Event* event, Rejection* rejection) {
  Impl& im = *impl_;
  im.rej = rejection;
  rejection->has_id = false;
  rejection->id.clear();
  rejection->detail.clear();
  if (record.size() > im.options.max_event_bytes) {
    return im.Reject(RejectReason::kTooLarge, "record is " + std::to_string(record.size()) +
                                                  " bytes, over the limit of " +
                                                  std::to_string(im.options.max_event_bytes));
  }
  if (!im.Collect(record)) return false;
  event->Clear();
  return im.Validate(event);
}

}  // namespace abusewatch
