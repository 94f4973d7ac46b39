// Lines that break the event contract (spec/events.md "Rejection"), one reason each. Apart from
// the defect, each is a harmless background event, so a decoder that wrongly accepted it would
// still cross no line.
#include <string>

#include "daemon/gen/gen_internal.h"

namespace abusewatch::gen_internal {
namespace {

enum Kind {
  kMalformedJson,
  kMissingField,
  kBadType,
  kUnknownType,
  kBadTimestamp,
  kBadAmount,
  kUnknownCurrency,
  kBadValue,
  kDuplicate,
  kLate,
  kTooLarge,
};
constexpr std::string_view kReasons[] = {
    "malformed_json",   "missing_field", "bad_type",  "unknown_type", "bad_timestamp", "bad_amount",
    "unknown_currency", "bad_value",     "duplicate", "late",         "too_large"};

constexpr size_t kTooLargeBytes = 70'000;  // over the default 64 KiB limit

// `{"id":"e-N","type":"T","ts":TS` with a fresh id (or `id` when non-zero).
void Head(Gen& g, std::string_view type, int64_t ts, uint64_t id = 0) {
  std::string* s = g.buf();
  s->append("{\"id\":\"e-");
  AppendUint(s, id != 0 ? id : g.NewId());
  s->append("\",\"type\":\"");
  s->append(type);
  s->append("\",\"ts\":");
  g.AppendTime(s, ts);
}

void Account(Gen& g) {
  std::string* s = g.buf();
  s->append(",\"account\":\"");
  AppendAccount(s, static_cast<uint32_t>(g.rng.Below(g.opt.accounts)));
  s->push_back('"');
}

}  // namespace

void EmitBad(Gen& g, int64_t ts) {
  // Every reason equally often, except too_large (big lines) at a quarter of the rate.
  uint64_t r = g.rng.Below(41);
  Kind kind = r < 40 ? static_cast<Kind>(r / 4) : kTooLarge;
  if ((kind == kDuplicate && g.last_good_id == 0) || (kind == kLate && g.max_ts == INT64_MIN)) {
    kind = kUnknownType;
  }
  std::string* s = g.buf();
  uint64_t v = g.rng.Below(4);
  switch (kind) {
    case kMalformedJson:
      if (v == 0) {
        s->append("[\"not\",\"an\",\"object\"]");
      } else if (v == 1) {
        s->append("{\"id\":\"e-");
        AppendUint(s, g.NewId());
        s->append("\",\"type\":\"payment\",");
      } else {
        Head(g, "login", ts);
        Account(g);
        if (v == 3) s->append("}}");  // trailing content; v == 2: the object never closes
      }
      break;
    case kMissingField:
      if (v == 0) {
        Head(g, "payment", ts);
        Account(g);
        s->append(",\"flow\":\"settlement\",\"method\":\"bank\"}");  // no amount
      } else if (v == 1) {
        Head(g, "login", ts);
        s->append(",\"ip\":\"10.0.0.1\"}");  // no account
      } else if (v == 2) {
        Head(g, "disposition", ts);
        Account(g);
        s->append(",\"ref\":\"e-1\"}");  // no action
      } else {
        Head(g, "login", ts);
        s->append(",\"account\":\"\"}");  // empty
      }
      break;
    case kBadType:
      Head(g, v == 2 ? "abuse_report" : "login", ts);
      if (v == 0) {
        s->append(",\"account\":42}");
      } else if (v == 3) {
        s->append(",\"account\":\"");
        s->append(129, 'a');  // over 128 bytes
        s->append("\"}");
      } else {
        Account(g);
        s->append(v == 1 ? ",\"signals\":\"tor\"}"
                         : ",\"category\":\"spam\",\"verified\":\"yes\"}");
      }
      break;
    case kUnknownType:
      Head(g, v == 0 ? "telepathy" : (v == 1 ? "heartbeat" : "chargeback"), ts);
      Account(g);
      s->push_back('}');
      break;
    case kBadTimestamp: {
      static constexpr std::string_view kTs[] = {"\"2026-02-30T10:00:00+08:00\"",
                                                 "\"1999-12-31T23:59:59Z\"", "\"yesterday\"",
                                                 "4133980800001"};
      s->append("{\"id\":\"e-");
      AppendUint(s, g.NewId());
      s->append("\",\"type\":\"login\",\"ts\":");
      s->append(kTs[v]);
      Account(g);
      s->push_back('}');
      break;
    }
    case kBadAmount: {
      static constexpr std::string_view kAmounts[] = {"\"-1.00\"", "\"1.005\"", "\"12a\"",
                                                      "\"10000000000000000\""};
      Head(g, "payment", ts);
      Account(g);
      s->append(",\"flow\":\"refund\",\"amount\":");
      s->append(kAmounts[v]);
      s->push_back('}');
      break;
    }
    case kUnknownCurrency: {
      static constexpr std::string_view kCodes[] = {"ZWL", "XBT", "BTC", "KPW"};
      Head(g, "payment", ts);
      Account(g);
      s->append(",\"flow\":\"service_fee\",\"amount\":\"10.00\",\"currency\":\"");
      s->append(kCodes[v]);
      s->append("\",\"method\":\"bank\"}");
      break;
    }
    case kBadValue:
      Head(g, v == 0 ? "disposition" : "payment", ts);
      Account(g);
      if (v == 0) {
        s->append(",\"action\":\"ignore\"}");
      } else if (v == 1) {
        s->append(",\"flow\":\"laundering\",\"amount\":\"1.00\"}");
      } else if (v == 2) {
        s->append(",\"flow\":\"refund\",\"amount\":\"1.00\",\"fee_rate\":\"ten percent\"}");
      } else {
        s->append(",\"flow\":\"refund\",\"amount\":\"1.00\",\"list_price\":\"-5\"}");
      }
      break;
    case kDuplicate:  // an accepted id again, on a plain login of the same account (a re-send
                      // keeps its Kafka key, so duplicates never depend on partition order)
      Head(g, "login", ts, g.last_good_id);
      if (g.last_good_account.empty()) {
        Account(g);
      } else {
        s->append(",\"account\":\"" + g.last_good_account + "\"");
      }
      s->push_back('}');
      break;
    case kLate:  // more than the 30 s allowed lateness below the largest time so far
      Head(g, "login", g.max_ts - 30'001 - static_cast<int64_t>(g.rng.Below(kHour)));
      Account(g);
      s->push_back('}');
      break;
    case kTooLarge:
      Head(g, "login", ts);
      Account(g);
      s->append(",\"pad\":\"");
      s->append(kTooLargeBytes, 'x');
      s->append("\"}");
      break;
  }
  g.EndBad(kReasons[kind]);
}

}  // namespace abusewatch::gen_internal
