// The decoder oracle of the robustness tests: seed records, and a classifier that decodes a
// record and compares the outcome with spec/events.md and with an independent strict JSON reading
// (strict_json.h). Failures are grouped by kind and minimized for the report.
#ifndef ABUSEWATCH_TESTS_DETECTORS_DECODER_ORACLE_H_
#define ABUSEWATCH_TESTS_DETECTORS_DECODER_ORACLE_H_

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "detectors/decoder.h"
#include "detectors/timeutil.h"
#include "tests/detectors/decoder_test_util.h"
#include "tests/detectors/strict_json.h"

namespace abusewatch {
namespace testing_util {

inline constexpr int64_t kMaxFen = 100'000'000'000'000'000;  // 10^15 units

// Every line of the shared scenarios (up to 4 KiB) plus hand-written records of every type.
inline std::vector<std::string> SeedLines() {
  std::vector<std::string> seeds;
  const std::filesystem::path dir = std::filesystem::path(ABUSEWATCH_SHARED_DIR) / "scenarios";
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().string().ends_with(".events.jsonl")) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    std::ifstream in(f);
    for (std::string line; std::getline(in, line);) {
      if (!line.empty() && line.size() <= 4096) seeds.push_back(line);
    }
  }
  for (
      std::string s : {
          Line("abuse_report", R"("category":"phishing_kit","reporter":"cert","verified":true,)"
                               R"("severity":"serious","subject":"s1","source":"x")"),
          Line("regulator_notice", R"("authority":"CAC","notice_id":"N1","verified":false)"),
          Line("disposition", R"("action":"takedown","ref":"r1")"),
          Line("payment", R"("flow":"service_fee","amount":1408.45,"currency":"USD",)"
                          R"("method":"crypto","list_price":"3.5","fee_rate":0.10,"payer":"p")"),
          Line("payment", R"("flow":"gain","amount":"0.05","currency":"HKD")"),
          Line("login", R"("ip":"1.2.3.4","signals":["tor","vpn"],"device":"d\u00e9")"),
          Line("sanction", R"("kind":"criminal","authority":"court")"),
          Line("account_link", R"("entity_keys":["idcard:1","phone:2"])"),
          std::string(
              R"({"id":"n1","type":"login","ts":1775008800000,"account":"a","x":{"y":[1,{"z":null}]}})"),
      }) {
    seeds.push_back(s);
  }
  return seeds;
}

inline bool OneOf(std::string_view v, std::initializer_list<std::string_view> set) {
  return std::find(set.begin(), set.end(), v) != set.end();
}

// Exact fen of a decimal text with at most 2 fractional digits, or -1.
inline int64_t BruteFen(const std::string& t) {
  size_t dot = t.find('.');
  std::string whole = t.substr(0, dot), frac = dot == std::string::npos ? "" : t.substr(dot + 1);
  auto digits = [](const std::string& s) {
    return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
  };
  if (!digits(whole) || (dot != std::string::npos && !digits(frac)) || frac.size() > 2) return -1;
  Int128 v = 0;
  for (char c : whole + frac + std::string(2 - frac.size(), '0')) {
    v = v * 10 + (c - '0');
    if (v > kMaxFen) return -1;
  }
  return static_cast<int64_t>(v);
}

class DecoderOracle {
 public:
  DecoderOracle() : decoder_(TestDecoderOptions()), shadow_(TestDecoderOptions()) {}

  // "" when the outcome is acceptable, otherwise the kind of failure (detail in *why).
  std::string Classify(const std::string& rec, std::string* why) {
    Event ev;
    Rejection rej;
    bool ok = decoder_.Decode(rec, &ev, &rej);
    JsonObject obj;
    bool valid = StrictJson::ParseObject(rec, &obj);
    bool judged = !obj.uncertain;
    if (!ok) {
      int r = static_cast<int>(rej.reason);
      if (r < 0 || r >= kNumRejectReasons || rej.reason == RejectReason::kDuplicate ||
          rej.reason == RejectReason::kLate || rej.detail.empty() || rej.detail.size() > 600 ||
          (rej.has_id && (rej.id.empty() || rej.id.size() > 128))) {
        *why = std::string(RejectReasonName(rej.reason)) + " / " + rej.detail;
        return "rejection_shape";
      }
      if ((rec.size() > 65'536) != (rej.reason == RejectReason::kTooLarge)) {
        *why = "size " + std::to_string(rec.size());
        return "too_large_boundary";
      }
      if (judged && !valid && rej.reason != RejectReason::kMalformedJson &&
          rej.reason != RejectReason::kTooLarge) {
        *why = rej.detail;
        return "invalid_json_rejected_as_" + std::string(RejectReasonName(rej.reason));
      }
      if (valid && judged && rej.has_id) {
        auto it = obj.members.find("id");
        if (it == obj.members.end() || it->second.text != rej.id) {
          *why = "rejection id " + rej.id;
          return "rejection_id";
        }
      }
      return "";
    }
    if (std::string inv = Invariants(ev); !inv.empty()) {
      *why = inv;
      return "invariant";
    }
    if (!judged) return "";
    if (!valid) {
      *why = "accepted, not one JSON object";
      return "accepted_invalid_json";
    }
    for (const char* k : {"id", "type", "ts", "account", "subject", "source", "category",
                          "verified", "severity", "action", "flow", "amount", "currency", "method",
                          "list_price", "fee_rate", "signals", "kind", "entity_keys"}) {
      if (obj.duplicate_keys.count(k)) {
        *why = std::string("duplicate key ") + k;
        return "accepted_duplicate_key";
      }
    }
    if (std::string m = Mismatch(ev, obj); !m.empty()) {
      *why = m;
      return "value_mismatch";
    }
    return "";
  }

  static std::string Invariants(const Event& ev) {
    auto s = [&](FieldId f) { return ev.Str(f); };
    if (ev.id().empty() || ev.id().size() > 128) return "id length";
    if (ev.account().empty() || ev.account().size() > 128) return "account length";
    if (ev.Has(FieldId::kSubject) && s(FieldId::kSubject).size() > 128) return "subject length";
    if (static_cast<int>(ev.type) >= kNumEventTypes) return "type enum";
    if (s(FieldId::kType) != EventTypeName(ev.type)) return "type text";
    if (!InEventTimeRange(ev.ts_ms)) return "ts out of range";
    switch (ev.type) {
      case EventType::kPayment:
        if (ev.amount_fen < 0 || ev.amount_fen > kMaxFen) return "amount_fen";
        if (ev.amount_base_fen < 0 || ev.amount_base_fen > kMaxFen) return "amount_base_fen";
        if (!OneOf(s(FieldId::kFlow),
                   {"service_fee", "settlement", "ad_funding", "gain", "refund"})) {
          return "flow";
        }
        if (!ev.Has(FieldId::kCurrency) || !ev.Has(FieldId::kMethod)) return "payment defaults";
        break;
      case EventType::kDisposition:
        if (!OneOf(s(FieldId::kAction), {"suspend", "takedown", "restrict", "report_to_police",
                                         "warn", "restore", "close"})) {
          return "action";
        }
        break;
      case EventType::kAccountLink:
        if (ev.ArraySize(FieldId::kEntityKeys) == 0) return "entity_keys empty";
        break;
      case EventType::kAbuseReport:
        if (!ev.has_verified || !ev.Has(FieldId::kCategory) || !ev.Has(FieldId::kSeverity)) {
          return "abuse_report defaults";
        }
        break;
      case EventType::kRegulatorNotice:
        if (!ev.has_verified) return "regulator_notice verified";
        break;
      case EventType::kSanction:
        if (!ev.Has(FieldId::kKind)) return "sanction kind";
        break;
      case EventType::kLogin:
        if (!ev.Has(FieldId::kSignals)) return "login signals";
        break;
    }
    return "";
  }

  // Compares the decoded event with the strict reading of the same bytes.
  static std::string Mismatch(const Event& ev, const JsonObject& obj) {
    auto member = [&](const char* k) -> const JsonMember* {
      auto it = obj.members.find(k);
      return it == obj.members.end() || it->second.kind == 'z' ? nullptr : &it->second;
    };
    using P = std::pair<const char*, FieldId>;
    for (auto [k, f] :
         {P{"id", FieldId::kId}, P{"type", FieldId::kType}, P{"account", FieldId::kAccount}}) {
      const JsonMember* m = member(k);
      if (!m || m->kind != 's' || m->text != ev.Str(f)) return std::string(k) + " differs";
    }
    const JsonMember* subject = member("subject");
    if ((subject != nullptr) != ev.Has(FieldId::kSubject) ||
        (subject && subject->text != ev.Str(FieldId::kSubject))) {
      return "subject differs";
    }
    const JsonMember* ts = member("ts");
    if (!ts) return "ts absent";
    int64_t want_ts = 0;
    if (ts->kind == 's' && (!ParseRfc3339(ts->text, &want_ts) || want_ts != ev.ts_ms)) {
      return "ts differs";
    }
    if (ts->kind == 'n' &&
        (ts->text.size() > 18 || ts->text.find_first_not_of("0123456789") != std::string::npos ||
         std::stoll(ts->text) != ev.ts_ms)) {
      return "ts number differs";
    }
    if (ev.type == EventType::kPayment) {
      const JsonMember* a = member("amount");
      if (!a || (a->kind != 's' && a->kind != 'n')) return "amount member";
      int64_t fen = BruteFen(a->text);
      if (fen < 0) return "accepted amount " + a->text;
      if (fen != ev.amount_fen) return "amount_fen differs";
      const JsonMember* c = member("currency");
      std::string cur = c ? c->text : "CNY";
      if (cur != ev.Str(FieldId::kCurrency)) return "currency differs";
      Int128 base = cur == "CNY"   ? fen
                    : cur == "USD" ? (static_cast<Int128>(fen) * 710 + 50) / 100
                    : cur == "HKD" ? (static_cast<Int128>(fen) * 91 + 50) / 100
                                   : -1;
      if (base != ev.amount_base_fen) return "amount_base_fen differs for " + cur;
      if ((member("list_price") != nullptr) != ev.list_price.has_value()) return "list_price";
      if ((member("fee_rate") != nullptr) != ev.fee_rate.has_value()) return "fee_rate";
    }
    auto array_differs = [&](const char* k, FieldId f) {
      const JsonMember* m = member(k);
      std::vector<std::string> want = m ? m->strings : std::vector<std::string>{};
      if (ev.ArraySize(f) != want.size()) return true;
      for (size_t i = 0; i < want.size(); ++i) {
        if (ev.ArrayElement(f, i) != want[i]) return true;
      }
      return false;
    };
    if (ev.type == EventType::kLogin && array_differs("signals", FieldId::kSignals))
      return "signals";
    if (ev.type == EventType::kAccountLink && array_differs("entity_keys", FieldId::kEntityKeys)) {
      return "entity_keys";
    }
    if (ev.type == EventType::kAbuseReport || ev.type == EventType::kRegulatorNotice) {
      const JsonMember* v = member("verified");
      bool want = v ? v->text == "true" : ev.type == EventType::kRegulatorNotice;
      if (want != ev.verified) return "verified";
    }
    if (ev.type == EventType::kDisposition) {
      const JsonMember* a = member("action");
      if (!a || a->text != ev.Str(FieldId::kAction)) return "action";
    }
    return "";
  }

  static std::string Fingerprint(Decoder& d, const std::string& rec) {
    Event ev;
    Rejection rej;
    if (!d.Decode(rec, &ev, &rej)) {
      return "rejected " + std::string(RejectReasonName(rej.reason)) + " " +
             (rej.has_id ? rej.id : "-");
    }
    std::string f = "accepted " + std::string(ev.id()) + " " + std::string(ev.account()) + " " +
                    std::to_string(static_cast<int>(ev.type)) + " " + std::to_string(ev.ts_ms) +
                    " " + std::to_string(ev.amount_fen) + " " + std::to_string(ev.amount_base_fen);
    for (int i = 0; i < kNumFields; ++i) {
      FieldId fid = static_cast<FieldId>(i);
      if (ev.Has(fid)) f += " " + std::string(FieldName(fid)) + "=" + std::string(ev.Str(fid));
    }
    return f;
  }

  // Records a failure, keeping the shortest minimized example per kind.
  void Check(const std::string& rec) {
    ++decodes_;
    std::string why;
    std::string kind = Classify(rec, &why);
    // Every 8th record also goes through a second decoder with a different history: the outcome
    // must not depend on what a decoder decoded before.
    if (kind.empty() && decodes_ % 8 == 0 &&
        Fingerprint(decoder_, rec) != Fingerprint(shadow_, rec)) {
      kind = "history_dependent";
      why = Fingerprint(decoder_, rec) + " vs " + Fingerprint(shadow_, rec);
    }
    if (kind.empty()) return;
    Failure& f = failures_[kind];
    ++f.count;
    if (f.count > 3) {  // only the first few are minimized; later ones kept when shorter
      if (rec.size() < f.example.size()) {
        f.example = rec;
        f.why = why;
      }
      return;
    }
    // Greedy minimization: drop chunks of 16, 4 and 1 bytes while the failure kind stays.
    std::string small = rec;
    for (bool progress = true; progress && small.size() < 2000;) {
      progress = false;
      for (size_t len : {16, 4, 1}) {
        for (size_t i = 0; i + len <= small.size();) {
          std::string cand = small.substr(0, i) + small.substr(i + len);
          std::string w;
          if (Classify(cand, &w) == kind) {
            small = cand;
            progress = true;
          } else {
            ++i;
          }
        }
      }
    }
    Classify(small, &why);
    if (f.example.empty() || small.size() < f.example.size()) {
      f.example = small;
      f.why = why;
    }
  }

  void ExpectNoFailures() {
    for (const auto& [kind, f] : failures_) {
      ADD_FAILURE() << kind << ": " << f.count << " of " << decodes_
                    << " decodes; minimal: " << Printable(f.example) << " (" << f.why << ")";
    }
    ::testing::Test::RecordProperty("decodes", static_cast<int>(decodes_));
  }

  int64_t decodes() const { return decodes_; }

 private:
  struct Failure {
    int count = 0;
    std::string example, why;
  };
  Decoder decoder_;
  Decoder shadow_;
  std::map<std::string, Failure> failures_;
  int64_t decodes_ = 0;
};

}  // namespace testing_util
}  // namespace abusewatch

#endif  // ABUSEWATCH_TESTS_DETECTORS_DECODER_ORACLE_H_
