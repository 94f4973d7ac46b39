// Internal to daemon/review/*.cc: helpers shared by the ReviewService sources. Not an API.
#ifndef ABUSEWATCH_DAEMON_REVIEW_REVIEW_INTERNAL_H_
#define ABUSEWATCH_DAEMON_REVIEW_REVIEW_INTERNAL_H_

#include <cstdint>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/review/review_service.h"
#include "daemon/review/review_types.h"
#include "detectors/status.h"

namespace abusewatch {

struct ReviewService::CaseRow {
  int64_t id = 0;
  std::string account, status, decision, decision_reason, decided_by, assignee;
  int64_t severity = 0;
  bool knowledge = false, serious = false;
  int64_t opened_at = 0, updated_at = 0, closed_at = 0;
};

namespace review_internal {

inline constexpr const char* kCaseColumns =
    "id, account, status, decision, decision_reason, decided_by, assignee, severity, knowledge, "
    "serious, opened_at, updated_at, closed_at";

// Fills a CaseRow from the columns of kCaseColumns, in that order.
void CaseRowFrom(const SqlRow& r, ReviewService::CaseRow* c);
CaseSummary SummaryFrom(const ReviewService::CaseRow& c);

// severity name <-> rank (info 0, warning 1, critical 2); -1 for an unknown name.
int SeverityRank(std::string_view name);
std::string_view SeverityByRank(int64_t rank);

// A database failure as a kStorage result.
ReviewResult StorageError(const Status& s);
ReviewResult BadInput(std::string msg);

// Actor checks: a name (1..200 bytes, valid UTF-8) and at least `min` role.
ReviewResult CheckActor(const Actor& actor, Role min);
// A required free text: non-empty after trimming spaces, at most max_bytes, valid UTF-8.
ReviewResult CheckText(std::string_view what, const std::string& text, size_t max_bytes,
                       bool required);

// Valid UTF-8 (detectors/utf8.h) without NUL bytes: what the review store accepts as text.
bool IsValidUtf8WithoutNul(std::string_view s);

// The articles a legal citation cites: every "第…条" (at most 8 characters between, none of
// them 第 or 条), once each, in order. "刑法第二百八十七条之二；法释〔2019〕15号 第十二条第一款、
// 第十六条" cites 第二百八十七条, 第十二条 and 第十六条. A basis contains an article token as a
// substring exactly when the token is among its articles.
std::vector<std::string> CitedArticles(std::string_view basis);
// Whether `s` is one such token (then the clause filter can use the case_articles table).
bool IsArticleToken(std::string_view s);
// Replaces invalid UTF-8 (and NUL) by U+FFFD, cuts at max_bytes on a character boundary.
std::string CleanUtf8(std::string_view s, size_t max_bytes, bool* cut);

// Runs f, turning an escaping exception into a kStorage result (none leaves the public API).
template <typename F>
ReviewResult Guarded(F&& f) {
  try {
    return f();
  } catch (const std::exception& e) {
    return ReviewResult::Error(ReviewErrc::kStorage, std::string("internal error: ") + e.what());
  } catch (...) {
    return ReviewResult::Error(ReviewErrc::kStorage, "internal error");
  }
}

// Members of a JSON object being written at the end of *out: the key (after a comma unless
// the object or an array was just opened), then the value. JsonTime writes `<key>_ms` (integer)
// and `<key>` (RFC 3339 UTC; "" for 0).
void JsonKey(std::string_view key, std::string* out);
void JsonStr(std::string_view key, std::string_view value, std::string* out);
void JsonInt(std::string_view key, int64_t value, std::string* out);
void JsonBool(std::string_view key, bool value, std::string* out);
void JsonTime(std::string_view key, int64_t ms, std::string* out);

// A tiny JSON object writer for audit before/after values.
class JsonObject {
 public:
  JsonObject& Str(std::string_view key, std::string_view value);
  JsonObject& Int(std::string_view key, int64_t value);
  JsonObject& Bool(std::string_view key, bool value);
  std::string Done() const { return out_ + "}"; }

 private:
  std::string out_ = "{";
};

std::string JsonStringArray(const std::vector<std::string>& items);
// Parses what JsonStringArray wrote (strings only); false on anything else.
bool ParseJsonStringArray(std::string_view json, std::vector<std::string>* out);

// "status" and "decision" (and assignee) of a case, as audit before/after JSON.
std::string CaseStateJson(const ReviewService::CaseRow& c);

}  // namespace review_internal
}  // namespace abusewatch

#endif  // ABUSEWATCH_DAEMON_REVIEW_REVIEW_INTERNAL_H_
