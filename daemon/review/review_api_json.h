// Internal to the review API (review_api*.cc): request parsing (JSON bodies with simdjson, query
// strings) and the JSON the API answers with. Pure functions; thread-safe; no exceptions escape
// (an allocation failure aside).
#ifndef ABUSEWATCH_DAEMON_REVIEW_REVIEW_API_JSON_H_
#define ABUSEWATCH_DAEMON_REVIEW_REVIEW_API_JSON_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "daemon/review/audit.h"
#include "daemon/review/review_types.h"

namespace abusewatch::review_api {

// One expected member of a request body; every member is a JSON string.
struct BodyField {
  std::string_view name;
  bool required = false;
  std::string value;     // out
  bool present = false;  // out
};

// Parses `body` as one JSON object whose members are all among `fields` (each at most once,
// each a string). An empty or all-whitespace body is {}. Returns "" on success, else a message
// naming the offending field (or saying the body is not a JSON object).
std::string ParseBody(std::string_view body, std::vector<BodyField>* fields);

// Splits a query string at '&' and '=', percent-decoding names and values ('+' is a space).
// False on a malformed escape.
bool SplitQuery(std::string_view query, std::vector<std::pair<std::string, std::string>>* out);

// GET /api/v1/cases parameters (review_api.h) into `filter`. Returns "" or a message naming the
// parameter.
std::string ParseCaseQuery(std::string_view query, CaseFilter* filter);

// A strictly positive decimal id ("" / sign / leading junk / overflow: false).
bool ParseId(std::string_view text, int64_t* id);

// {"error":code,"message":message}
std::string ErrorJson(std::string_view code, std::string_view message);

// A case summary as a JSON object (times as *_ms and RFC 3339, "" when 0).
void AppendSummaryJson(const CaseSummary& s, std::string* out);
// {"cases":[…],"next_cursor":"…","counts":{status:n,…}}
std::string CasePageJson(const CasePage& page, const std::vector<StatusCount>& counts);
// {"entries":[{seq,at_ms,at,actor,role,action,case_id,before,after,reason,prev_hash,hash}]}
// (before/after: the stored JSON text, as strings).
std::string AuditEntriesJson(const std::vector<AuditEntry>& entries);
// {"intact":…,"problem":…,"bad_seq":…,"detail":…,"entries":n,"head":{"seq":…,"hash":…}}
std::string VerificationJson(const AuditVerification& v);

}  // namespace abusewatch::review_api

#endif  // ABUSEWATCH_DAEMON_REVIEW_REVIEW_API_JSON_H_
