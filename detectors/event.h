// The decoded, validated event of spec/events.md (contract version 1).
//
// An Event owns its bytes: every string field is a view into `storage_`, so an Event can be
// moved into the reorder buffer and reused (Clear keeps the capacity). Not thread-safe; an
// Event belongs to one thread at a time.
#ifndef ABUSEWATCH_DETECTORS_EVENT_H_
#define ABUSEWATCH_DETECTORS_EVENT_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "detectors/decimal.h"
#include "detectors/state_codec.h"

namespace abusewatch {

enum class EventType : uint8_t {
  kAbuseReport = 0,
  kRegulatorNotice,
  kDisposition,
  kPayment,
  kLogin,
  kSanction,
  kAccountLink,
};
constexpr int kNumEventTypes = 7;
std::string_view EventTypeName(EventType t);
std::optional<EventType> EventTypeFromName(std::string_view name);

// Every field a selector or `group_by` can name.
enum class FieldId : uint8_t {
  kId = 0,
  kType,
  kAccount,
  kSubject,
  kSource,
  kCategory,
  kReporter,
  kVerified,
  kSeverity,
  kAuthority,
  kNoticeId,
  kAction,
  kRef,
  kFlow,
  kAmount,
  kCurrency,
  kMethod,
  kListPrice,
  kFeeRate,
  kPriceRatio,
  kPayer,
  kIp,
  kSignals,
  kDevice,
  kKind,
  kEntityKeys,
  kCount_,  // number of fields, not a field
};
constexpr int kNumFields = static_cast<int>(FieldId::kCount_);

enum class FieldType : uint8_t { kString, kBool, kDecimal, kStringArray };

std::string_view FieldName(FieldId f);
std::optional<FieldId> FieldFromName(std::string_view name);
FieldType TypeOfField(FieldId f);

// A string stored in Event::storage_.
struct StrRef {
  uint32_t offset = 0;
  uint32_t length = 0;
  bool present = false;
};

class Event {
 public:
  Event() = default;
  Event(Event&&) = default;
  Event& operator=(Event&&) = default;
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;

  // Resets every field, keeping allocated capacity.
  void Clear();

  EventType type = EventType::kLogin;
  int64_t ts_ms = 0;
  bool verified = false;        // abuse_report (default false), regulator_notice (default true)
  bool has_verified = false;    // the event type carries `verified`
  int64_t amount_base_fen = 0;  // payment: amount converted to the base currency, half-up
  int64_t amount_fen = 0;       // payment: amount in the event's own currency
  std::optional<Decimal> list_price;
  std::optional<Decimal> fee_rate;

  // String fields (and array elements) live in storage_.
  std::string_view Str(FieldId f) const {
    const StrRef& r = strs_[static_cast<int>(f)];
    return std::string_view(storage_.data() + r.offset, r.length);
  }
  bool Has(FieldId f) const { return strs_[static_cast<int>(f)].present; }
  void SetStr(FieldId f, std::string_view v);
  // Array elements (signals, entity_keys).
  void AddArrayElement(FieldId f, std::string_view v);
  size_t ArraySize(FieldId f) const;
  std::string_view ArrayElement(FieldId f, size_t i) const;
  void MarkArrayPresent(FieldId f) {
    strs_[static_cast<int>(f)].present = true;
    set_fields_ |= 1u << static_cast<int>(f);
  }

  std::string_view id() const { return Str(FieldId::kId); }
  std::string_view account() const { return Str(FieldId::kAccount); }

  // Numeric field value as a Decimal (amount in base currency with scale 2, list_price,
  // fee_rate). price_ratio is not representable as a Decimal; see selector.h.
  std::optional<Decimal> NumericField(FieldId f) const;

  // Checkpoints: the whole event, exactly. Load() replaces this event (Clear() first) and fails
  // `in` on malformed input (out-of-range field, reference or type).
  void Save(StateEncoder* out) const;
  void Load(StateDecoder* in);

  // Cache hints for an event about to be used (it waited in the reorder buffer or the pool):
  // PrefetchObject() asks for this object's own bytes without reading them; PrefetchData()
  // reads its buffer pointers (so call it once the object is cached) and asks for the string
  // bytes. No effect on the value.
  void PrefetchObject() const {
    const char* p = reinterpret_cast<const char*>(this);
    for (size_t off = 0; off < sizeof(Event); off += 64) __builtin_prefetch(p + off, 1);
  }
  void PrefetchData() const {
    __builtin_prefetch(storage_.data(), 1);
    __builtin_prefetch(storage_.data() + 64, 1);
    if (!elements_.empty()) __builtin_prefetch(elements_.data(), 1);
  }

  // Bytes retained by this event (for memory accounting).
  size_t Footprint() const {
    return sizeof(Event) + storage_.capacity() + elements_.capacity() * sizeof(Element);
  }

 private:
  struct Element {
    FieldId field;
    StrRef ref;
  };
  // Stores `v` at the end of storage_ and points *r at it.
  void Append(std::string_view v, StrRef* r);

  std::string storage_;
  std::array<StrRef, kNumFields> strs_{};
  uint32_t set_fields_ = 0;  // bit per FieldId set in strs_ (so Clear touches only those)
  std::vector<Element> elements_;
};

}  // namespace abusewatch

#endif  // ABUSEWATCH_DETECTORS_EVENT_H_
