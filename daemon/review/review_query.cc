// ReviewService: queries (List with keyset pagination, Counts, Get).
#include <charconv>
#include <string>
#include <vector>

#include "daemon/review/audit.h"
#include "daemon/review/review_internal.h"
#include "daemon/review/review_service.h"

namespace abusewatch {

using review_internal::BadInput;
using review_internal::Guarded;
using review_internal::StorageError;

namespace {

constexpr int kDefaultLimit = 50;
constexpr int kMaxLimit = 500;

// LIKE pattern matching `text` literally ('!' escapes).
std::string LikeLiteral(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '!' || c == '%' || c == '_') out.push_back('!');
    out.push_back(c);
  }
  return out;
}

// Cursor: hex of "<updated_at>:<id>", opaque to clients.
std::string EncodeCursor(int64_t updated_at, int64_t id) {
  std::string plain = std::to_string(updated_at) + ":" + std::to_string(id);
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : plain) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

bool DecodeCursor(std::string_view cursor, int64_t* updated_at, int64_t* id) {
  if (cursor.empty() || cursor.size() % 2 != 0 || cursor.size() > 80) return false;
  std::string plain;
  for (size_t i = 0; i < cursor.size(); i += 2) {
    unsigned v = 0;
    auto [p, ec] = std::from_chars(cursor.data() + i, cursor.data() + i + 2, v, 16);
    if (ec != std::errc() || p != cursor.data() + i + 2) return false;
    plain.push_back(static_cast<char>(v));
  }
  size_t colon = plain.find(':');
  if (colon == std::string::npos) return false;
  const char* b = plain.data();
  auto r1 = std::from_chars(b, b + colon, *updated_at);
  auto r2 = std::from_chars(b + colon + 1, b + plain.size(), *id);
  return r1.ec == std::errc() && r1.ptr == b + colon && r2.ec == std::errc() &&
         r2.ptr == b + plain.size();
}

// The WHERE clause (without "WHERE") and its parameters for `f`; status optional.
ReviewResult BuildWhere(const CaseFilter& f, bool with_status, std::string* where,
                        std::vector<SqlValue>* params, bool for_counts = false) {
  std::vector<std::string> terms;
  auto add = [&](std::string term, SqlValue v) {
    terms.push_back(std::move(term));
    params->push_back(std::move(v));
  };
  for (const std::optional<std::string>* s :
       {&f.status, &f.decision, &f.rule_id, &f.severity, &f.clause, &f.account, &f.assignee}) {
    if (s->has_value() && (!review_internal::IsValidUtf8WithoutNul(**s) || (*s)->size() > 1024)) {
      return BadInput("filter values must be valid UTF-8 of at most 1024 bytes");
    }
  }
  if (with_status && f.status) add("status = ?", *f.status);
  if (f.decision) add("decision = ?", *f.decision);
  if (f.rule_id) {
    add("EXISTS (SELECT 1 FROM clauses k WHERE k.case_id = cases.id AND k.rule_id = ?)",
        *f.rule_id);
  }
  if (f.severity) {
    if (review_internal::SeverityRank(*f.severity) < 0) {
      return BadInput("severity must be info, warning or critical");
    }
    add("EXISTS (SELECT 1 FROM clauses k WHERE k.case_id = cases.id AND k.severity = ?)",
        *f.severity);
  }
  if (f.clause) {
    if (f.clause->empty()) return BadInput("clause filter is empty");
    if (for_counts && review_internal::IsArticleToken(*f.clause)) {
      // The same cases (review_internal.h CitedArticles), from an index: counting by the
      // substring match read every basis (200 ms at 100 k cases). Lists keep the EXISTS, which
      // stops at the first page.
      add("id IN (SELECT case_id FROM case_articles WHERE article = ?)", *f.clause);
    } else {
      add("EXISTS (SELECT 1 FROM clauses k WHERE k.case_id = cases.id AND k.basis LIKE ? "
          "ESCAPE '!')",
          "%" + LikeLiteral(*f.clause) + "%");
    }
  }
  if (f.account) {
    if (f.account_prefix) {
      add("account LIKE ? ESCAPE '!'", LikeLiteral(*f.account) + "%");
    } else {
      add("account = ?", *f.account);
    }
  }
  if (f.assignee) add("assignee = ?", *f.assignee);
  const char* column = f.time_field == CaseFilter::TimeField::kOpened ? "opened_at" : "updated_at";
  if (f.from_ms) add(std::string(column) + " >= ?", *f.from_ms);
  if (f.to_ms) add(std::string(column) + " < ?", *f.to_ms);
  if (f.knowledge_and_serious) terms.push_back("knowledge = 1 AND serious = 1");
  where->clear();
  for (const std::string& t : terms) {
    *where += where->empty() ? "" : " AND ";
    *where += t;
  }
  if (where->empty()) *where = "1 = 1";
  return ReviewResult::Ok();
}

}  // namespace

ReviewResult ReviewService::List(const CaseFilter& filter, CasePage* page) {
  *page = CasePage();
  if (filter.limit < 0 || filter.limit > kMaxLimit) {
    return BadInput("limit must be between 1 and " + std::to_string(kMaxLimit));
  }
  const int limit = filter.limit == 0 ? kDefaultLimit : filter.limit;
  std::string where;
  std::vector<SqlValue> params;
  if (ReviewResult r = BuildWhere(filter, true, &where, &params); !r.ok()) return r;
  if (!filter.cursor.empty()) {
    int64_t updated = 0, id = 0;
    if (!DecodeCursor(filter.cursor, &updated, &id)) return BadInput("malformed cursor");
    where += " AND (updated_at < ? OR (updated_at = ? AND id < ?))";
    for (int64_t v : {updated, updated, id}) params.emplace_back(std::in_place_type<int64_t>, v);
  }
  params.emplace_back(std::in_place_type<int64_t>, limit + 1);
  return Guarded([&] {
    std::lock_guard<std::mutex> lock(mu_);
    if (ReviewResult r = CheckReady(); !r.ok()) return r;
    std::vector<SqlRow> rows;
    if (Status s = db_->Exec(std::string("SELECT ") + review_internal::kCaseColumns +
                                 " FROM cases WHERE " + where +
                                 " ORDER BY updated_at DESC, id DESC LIMIT ?",
                             params, &rows);
        !s.ok()) {
      return StorageError(s);
    }
    const bool more = rows.size() > static_cast<size_t>(limit);
    if (more) rows.resize(limit);
    for (const SqlRow& r : rows) {
      CaseRow c;
      review_internal::CaseRowFrom(r, &c);
      page->cases.push_back(review_internal::SummaryFrom(c));
    }
    if (more) {
      page->next_cursor = EncodeCursor(page->cases.back().updated_at_ms, page->cases.back().id);
    }
    return ReviewResult::Ok();
  });
}

ReviewResult ReviewService::Counts(const CaseFilter& filter, std::vector<StatusCount>* counts) {
  counts->clear();
  std::string where;
  std::vector<SqlValue> params;
  if (ReviewResult r = BuildWhere(filter, false, &where, &params, /*for_counts=*/true); !r.ok()) {
    return r;
  }
  return Guarded([&] {
    std::lock_guard<std::mutex> lock(mu_);
    if (ReviewResult r = CheckReady(); !r.ok()) return r;
    std::vector<SqlRow> rows;
    if (Status s = db_->Exec("SELECT status, COUNT(*) FROM cases WHERE " + where +
                                 " GROUP BY status ORDER BY status",
                             params, &rows);
        !s.ok()) {
      return StorageError(s);
    }
    for (const SqlRow& r : rows) counts->push_back({SqlText(r[0]), SqlInt(r[1])});
    return ReviewResult::Ok();
  });
}

ReviewResult ReviewService::Get(int64_t case_id, CaseDetail* d) {
  *d = CaseDetail();
  return Guarded([&] {
    std::lock_guard<std::mutex> lock(mu_);
    if (ReviewResult r = CheckReady(); !r.ok()) return r;
    CaseRow c;
    if (ReviewResult r = LoadCase(case_id, &c); !r.ok()) return r;
    d->summary = review_internal::SummaryFrom(c);
    std::vector<SqlRow> rows;
    if (Status s = db_->Exec(
            "SELECT rule_id, firing, value, threshold, severity, basis, explain_zh, explain_en, "
            "first_at, last_at FROM clauses WHERE case_id = ? ORDER BY rule_id",
            {case_id}, &rows);
        !s.ok()) {
      return StorageError(s);
    }
    for (const SqlRow& r : rows) {
      d->clauses.push_back({SqlText(r[0]), SqlInt(r[1]) != 0, SqlText(r[2]), SqlText(r[3]),
                            SqlText(r[4]), SqlText(r[5]), SqlText(r[6]), SqlText(r[7]),
                            SqlInt(r[8]), SqlInt(r[9])});
    }
    rows.clear();
    if (Status s = db_->Exec(
            "SELECT transition_id, rule_id, firing, at_ms, value, threshold, severity, basis, "
            "notify, suppressed, events FROM timeline WHERE case_id = ? ORDER BY at_ms, id",
            {case_id}, &rows);
        !s.ok()) {
      return StorageError(s);
    }
    for (const SqlRow& r : rows) {
      TimelineEntry t{SqlText(r[0]),
                      SqlText(r[1]),
                      SqlInt(r[2]) != 0,
                      SqlInt(r[3]),
                      SqlText(r[4]),
                      SqlText(r[5]),
                      SqlText(r[6]),
                      SqlText(r[7]),
                      SqlInt(r[8]) != 0,
                      SqlInt(r[9]) != 0,
                      {}};
      review_internal::ParseJsonStringArray(SqlText(r[10]), &t.event_ids);
      d->timeline.push_back(std::move(t));
    }
    rows.clear();
    if (Status s = db_->Exec(
            "SELECT event_id, raw, truncated, original_bytes FROM evidence WHERE case_id = ? "
            "ORDER BY event_id",
            {case_id}, &rows);
        !s.ok()) {
      return StorageError(s);
    }
    for (const SqlRow& r : rows) {
      d->evidence.push_back({SqlText(r[0]), SqlText(r[1]), SqlInt(r[2]) != 0, SqlInt(r[3])});
    }
    rows.clear();
    if (Status s =
            db_->Exec("SELECT id, at_ms, author, body FROM comments WHERE case_id = ? ORDER BY id",
                      {case_id}, &rows);
        !s.ok()) {
      return StorageError(s);
    }
    for (const SqlRow& r : rows) {
      d->comments.push_back({SqlInt(r[0]), SqlInt(r[1]), SqlText(r[2]), SqlText(r[3])});
    }
    rows.clear();
    if (Status s = db_->Exec(
            "SELECT id, case_id, account, rule_id, from_ms, until_ms, created_by, reason, "
            "lifted_at, lifted_by FROM suppressions WHERE case_id = ? ORDER BY id",
            {case_id}, &rows);
        !s.ok()) {
      return StorageError(s);
    }
    for (const SqlRow& r : rows) {
      d->suppressions.push_back({SqlInt(r[0]), SqlInt(r[1]), SqlText(r[2]), SqlText(r[3]),
                                 SqlInt(r[4]), SqlInt(r[5]), SqlText(r[6]), SqlText(r[7]),
                                 SqlInt(r[8]), SqlText(r[9])});
    }
    if (Status s = ReadAudit(*db_, case_id, &d->audit); !s.ok()) return StorageError(s);
    return ReviewResult::Ok();
  });
}

}  // namespace abusewatch
