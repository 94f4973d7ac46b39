#include "config/selector_parser.h"

#include <cstdint>
#include <string>

#include "detectors/event.h"

namespace abusewatch::config_internal {
namespace {

constexpr uint32_t Bit(EventType t) { return 1u << static_cast<int>(t); }
constexpr uint32_t kAllTypes = (1u << kNumEventTypes) - 1;

// Event types that carry each field (spec/events.md), for the "can never hold" warning.
uint32_t TypesWithField(FieldId f) {
  switch (f) {
    case FieldId::kCategory:
    case FieldId::kReporter:
    case FieldId::kSeverity:
      return Bit(EventType::kAbuseReport);
    case FieldId::kVerified:
      return Bit(EventType::kAbuseReport) | Bit(EventType::kRegulatorNotice);
    case FieldId::kAuthority:
      return Bit(EventType::kRegulatorNotice) | Bit(EventType::kSanction);
    case FieldId::kNoticeId:
      return Bit(EventType::kRegulatorNotice);
    case FieldId::kAction:
    case FieldId::kRef:
      return Bit(EventType::kDisposition);
    case FieldId::kFlow:
    case FieldId::kAmount:
    case FieldId::kCurrency:
    case FieldId::kMethod:
    case FieldId::kListPrice:
    case FieldId::kFeeRate:
    case FieldId::kPriceRatio:
    case FieldId::kPayer:
      return Bit(EventType::kPayment);
    case FieldId::kIp:
    case FieldId::kSignals:
    case FieldId::kDevice:
      return Bit(EventType::kLogin);
    case FieldId::kKind:
      return Bit(EventType::kSanction);
    case FieldId::kEntityKeys:
      return Bit(EventType::kAccountLink);
    default:
      return kAllTypes;
  }
}

std::vector<std::string_view> AllTypeNames() {
  std::vector<std::string_view> names;
  for (int i = 0; i < kNumEventTypes; ++i)
    names.push_back(EventTypeName(static_cast<EventType>(i)));
  return names;
}

std::vector<std::string_view> FieldNamesOfType(FieldType type) {
  std::vector<std::string_view> names;
  for (int i = 0; i < kNumFields; ++i) {
    if (TypeOfField(static_cast<FieldId>(i)) == type)
      names.push_back(FieldName(static_cast<FieldId>(i)));
  }
  return names;
}

std::string FieldLabel(FieldId f) { return Quote(FieldName(f)); }

// Scalar condition: equality.
Status ParseScalarCondition(const Entry& e, FieldId f, std::string_view what, Condition* c) {
  c->op = Condition::Op::kEquals;
  switch (TypeOfField(f)) {
    case FieldType::kBool:
      return ReadBool(e, "condition on " + FieldLabel(f) + " in " + std::string(what),
                      &c->bool_value);
    case FieldType::kDecimal:
      return ReadDecimal(e, "condition on " + FieldLabel(f) + " in " + std::string(what),
                         DecimalLimits{}, &c->number);
    case FieldType::kStringArray:
      return ErrorAt(e.value_pos, FieldLabel(f) +
                                      " is a list field; match it with {any: [...]}, "
                                      "e.g. " +
                                      std::string(FieldName(f)) + ": {any: [a, b]}");
    case FieldType::kString:
      c->strings = {e.value.Scalar()};
      return Status::Ok();
  }
  return Status::Ok();
}

// Mapping condition: {any: [...]} or {gt|gte|lt|lte: decimal}.
Status ParseMapCondition(const std::string& file, const Entry& e, FieldId f, std::string_view what,
                         Condition* c) {
  std::string cond_what = "condition on " + FieldLabel(f) + " in " + std::string(what);
  MapView map;
  Status s = MapView::Make(file, e.value, e.value_pos, cond_what, &map);
  if (!s.ok()) return s;
  s = map.CheckAllowed({"any", "gt", "gte", "lt", "lte"});
  if (!s.ok()) return s;
  if (map.entries().empty()) {
    return ErrorAt(e.value_pos, cond_what +
                                    " is empty (allowed: {any: [...]} for list fields, "
                                    "{gt|gte|lt|lte: decimal} for numeric fields)");
  }
  if (const Entry* any = map.Find("any")) {
    if (TypeOfField(f) != FieldType::kStringArray) {
      return ErrorAt(any->key_pos, "{any: [...]} only applies to list fields (" +
                                       JoinNames(FieldNamesOfType(FieldType::kStringArray)) +
                                       "); " + FieldLabel(f) +
                                       " is a single value, write a list instead: " +
                                       std::string(FieldName(f)) + ": [a, b]");
    }
    if (map.entries().size() > 1) {
      return ErrorAt(any->key_pos,
                     "{any: [...]} cannot be combined with other keys in " + cond_what);
    }
    c->op = Condition::Op::kContainsAny;
    return ReadStringList(any->value, any->value_pos, "any of " + cond_what, false, &c->strings,
                          nullptr);
  }
  if (TypeOfField(f) != FieldType::kDecimal) {
    return ErrorAt(map.entries().front().key_pos,
                   "comparisons (gt, gte, lt, lte) only apply to numeric fields (" +
                       JoinNames(FieldNamesOfType(FieldType::kDecimal)) + "); " + FieldLabel(f) +
                       " is not numeric");
  }
  c->op = Condition::Op::kRange;
  for (const Entry& b : map.entries()) {
    Decimal d;
    s = ReadDecimal(b, b.key + " of " + cond_what, DecimalLimits{}, &d);
    if (!s.ok()) return s;
    if (b.key == "gt") c->gt = d;
    if (b.key == "gte") c->gte = d;
    if (b.key == "lt") c->lt = d;
    if (b.key == "lte") c->lte = d;
  }
  return Status::Ok();
}

Status ParseCondition(const std::string& file, const Entry& e, std::string_view what,
                      uint32_t type_mask, Condition* c, std::vector<std::string>* warnings) {
  std::optional<FieldId> f = FieldFromName(e.key);
  if (!f) {
    return ErrorAt(e.key_pos, "unknown field " + Quote(e.key) + " in where of " +
                                  std::string(what) + " (allowed: " + JoinNames(AllFieldNames()) +
                                  ")");
  }
  c->field = *f;
  if (warnings != nullptr && (TypesWithField(*f) & type_mask) == 0) {
    warnings->push_back(PosText(e.key_pos) + ": condition on " + FieldLabel(*f) + " in " +
                        std::string(what) + " never holds: none of its streams has this field");
  }
  Status s;
  if (e.value.IsScalar()) {
    s = ParseScalarCondition(e, *f, what, c);
  } else if (e.value.IsSequence()) {
    if (TypeOfField(*f) != FieldType::kString) {
      std::string hint = TypeOfField(*f) == FieldType::kStringArray ? "use {any: [...]}"
                         : TypeOfField(*f) == FieldType::kBool
                             ? "use true or false"
                             : "use a decimal or a comparison such as {gte: \"3\"}";
      return ErrorAt(e.value_pos, "a list (one of) only applies to string fields; for " +
                                      FieldLabel(*f) + " " + hint);
    }
    c->op = Condition::Op::kOneOf;
    s = ReadStringList(e.value, e.value_pos,
                       "condition on " + FieldLabel(*f) + " in " + std::string(what), false,
                       &c->strings, nullptr);
  } else if (e.value.IsMap()) {
    s = ParseMapCondition(file, e, *f, what, c);
  } else {
    s = ErrorAt(e.value_pos, "condition on " + FieldLabel(*f) + " in " + std::string(what) +
                                 " is empty (allowed: a value, a list of values, {any: [...]}, "
                                 "or {gt|gte|lt|lte: decimal})");
  }
  return s;
}

}  // namespace

std::vector<std::string_view> AllFieldNames() {
  std::vector<std::string_view> names;
  for (int i = 0; i < kNumFields; ++i) names.push_back(FieldName(static_cast<FieldId>(i)));
  return names;
}

Status ParseSelector(const std::string& file, const Entry& e, std::string_view what, Selector* out,
                     std::vector<std::string>* warnings) {
  *out = Selector();
  MapView map;
  Status s = MapView::Make(file, e.value, e.value_pos, what, &map);
  if (!s.ok()) return s;
  s = map.CheckAllowed({"stream", "where"});
  if (!s.ok()) return s;
  s = map.Require("stream", "the event type(s) to match, e.g. stream: payment");
  if (!s.ok()) return s;

  const Entry* stream = map.Find("stream");
  std::vector<std::string> types;
  std::vector<SourcePos> type_pos;
  s = ReadStringList(stream->value, stream->value_pos, "stream of " + std::string(what), true,
                     &types, &type_pos);
  if (!s.ok()) return s;
  for (size_t i = 0; i < types.size(); ++i) {
    std::optional<EventType> t = EventTypeFromName(types[i]);
    if (!t) {
      return ErrorAt(type_pos[i], "unknown stream " + Quote(types[i]) + " in " + std::string(what) +
                                      " (allowed: " + JoinNames(AllTypeNames()) + ")");
    }
    out->type_mask |= Bit(*t);
  }

  const Entry* where = map.Find("where");
  if (where == nullptr) return Status::Ok();
  MapView conds;
  s = MapView::Make(file, where->value, where->value_pos, "where of " + std::string(what), &conds);
  if (!s.ok()) return s;
  for (const Entry& c : conds.entries()) {
    Condition cond;
    s = ParseCondition(file, c, what, out->type_mask, &cond, warnings);
    if (!s.ok()) return s;
    out->where.push_back(std::move(cond));
  }
  return Status::Ok();
}

}  // namespace abusewatch::config_internal
