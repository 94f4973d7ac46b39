// Exports of one case (from ReviewService::Get) for the compliance file and for regulators:
//   JSON  every part of the case, one object (times as ms and RFC 3339 UTC)
//   CSV   the timeline, one row per transition; RFC 4180 (CRLF, quoted where needed) and safe to
//         open in a spreadsheet: a cell starting with = + - @ (or tab / CR) gets a leading '
//   HTML  a printable, self-contained case file in Chinese and English: no scripts, no external
//         resources, every value HTML-escaped
// Pure functions of their input; thread-safe.
#ifndef ABUSEWATCH_DAEMON_REVIEW_CASE_EXPORT_H_
#define ABUSEWATCH_DAEMON_REVIEW_CASE_EXPORT_H_

#include <string>
#include <string_view>

#include "daemon/review/review_types.h"

namespace abusewatch {

std::string CaseToJson(const CaseDetail& c);
std::string CaseTimelineCsv(const CaseDetail& c);
std::string CaseToHtml(const CaseDetail& c);

// One CSV cell: formula-neutralized, then quoted when it holds , " CR or LF.
std::string CsvCell(std::string_view value);
// & < > " ' as entities.
std::string HtmlEscape(std::string_view value);

}  // namespace abusewatch

#endif  // ABUSEWATCH_DAEMON_REVIEW_CASE_EXPORT_H_
