#include "daemon/review/schema.h"

#include <string>
#include <vector>

namespace abusewatch {
namespace {

// Written once in the SQL both SQLite and PostgreSQL accept. Times are ms since the epoch (UTC);
// booleans are INTEGER 0/1; values and thresholds are text exactly as the engine wrote them.
const char* const kMigrations[] = {
    // 1: the case store, the suppression list and the audit chain.
    R"sql(
CREATE TABLE cases (
  id BIGINT PRIMARY KEY,
  account TEXT NOT NULL UNIQUE,
  status TEXT NOT NULL,
  decision TEXT NOT NULL DEFAULT '',
  decision_reason TEXT NOT NULL DEFAULT '',
  decided_by TEXT NOT NULL DEFAULT '',
  assignee TEXT NOT NULL DEFAULT '',
  severity INTEGER NOT NULL DEFAULT 0,
  knowledge INTEGER NOT NULL DEFAULT 0,
  serious INTEGER NOT NULL DEFAULT 0,
  opened_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  closed_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX cases_by_updated ON cases (updated_at DESC, id DESC);
CREATE INDEX cases_by_status ON cases (status, updated_at DESC, id DESC);
CREATE INDEX cases_by_assignee ON cases (assignee, updated_at DESC, id DESC);
CREATE INDEX cases_by_opened ON cases (opened_at);
CREATE INDEX cases_by_flags ON cases (knowledge, serious, updated_at DESC, id DESC);

CREATE TABLE clauses (
  case_id BIGINT NOT NULL REFERENCES cases (id),
  rule_id TEXT NOT NULL,
  firing INTEGER NOT NULL,
  value TEXT NOT NULL,
  threshold TEXT NOT NULL,
  severity TEXT NOT NULL,
  basis TEXT NOT NULL,
  explain_zh TEXT NOT NULL,
  explain_en TEXT NOT NULL,
  first_at BIGINT NOT NULL,
  last_at BIGINT NOT NULL,
  PRIMARY KEY (case_id, rule_id)
);
CREATE INDEX clauses_by_rule ON clauses (rule_id, case_id);
CREATE INDEX clauses_by_severity ON clauses (severity, case_id);

CREATE TABLE timeline (
  id BIGINT PRIMARY KEY,
  case_id BIGINT NOT NULL REFERENCES cases (id),
  transition_id TEXT NOT NULL UNIQUE,
  rule_id TEXT NOT NULL,
  firing INTEGER NOT NULL,
  at_ms BIGINT NOT NULL,
  value TEXT NOT NULL,
  threshold TEXT NOT NULL,
  severity TEXT NOT NULL,
  basis TEXT NOT NULL,
  notify INTEGER NOT NULL,
  suppressed INTEGER NOT NULL,
  events TEXT NOT NULL,
  recorded_at BIGINT NOT NULL
);
CREATE INDEX timeline_by_case ON timeline (case_id, at_ms, id);

CREATE TABLE evidence (
  case_id BIGINT NOT NULL REFERENCES cases (id),
  event_id TEXT NOT NULL,
  raw TEXT NOT NULL,
  truncated INTEGER NOT NULL,
  original_bytes BIGINT NOT NULL,
  added_at BIGINT NOT NULL,
  PRIMARY KEY (case_id, event_id)
);

CREATE TABLE comments (
  id BIGINT PRIMARY KEY,
  case_id BIGINT NOT NULL REFERENCES cases (id),
  at_ms BIGINT NOT NULL,
  author TEXT NOT NULL,
  body TEXT NOT NULL
);
CREATE INDEX comments_by_case ON comments (case_id, id);

CREATE TABLE suppressions (
  id BIGINT PRIMARY KEY,
  case_id BIGINT NOT NULL REFERENCES cases (id),
  account TEXT NOT NULL,
  rule_id TEXT NOT NULL,
  from_ms BIGINT NOT NULL,
  until_ms BIGINT NOT NULL,
  created_by TEXT NOT NULL,
  reason TEXT NOT NULL,
  lifted_at BIGINT NOT NULL DEFAULT 0,
  lifted_by TEXT NOT NULL DEFAULT ''
);
CREATE INDEX suppressions_by_case ON suppressions (case_id, id);
CREATE INDEX suppressions_by_account ON suppressions (account, rule_id);
CREATE INDEX suppressions_active ON suppressions (lifted_at, until_ms);

CREATE TABLE audit_log (
  seq BIGINT PRIMARY KEY,
  at_ms BIGINT NOT NULL,
  actor TEXT NOT NULL,
  role TEXT NOT NULL,
  action TEXT NOT NULL,
  case_id BIGINT NOT NULL,
  before_json TEXT NOT NULL,
  after_json TEXT NOT NULL,
  reason TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
CREATE INDEX audit_by_case ON audit_log (case_id, seq);
)sql",
    // 2: the articles each case's clauses cite (review_internal.h CitedArticles), so that counts
    // by a clause filter such as 第十二条 read an index instead of matching every basis. Filled
    // by ReviewService for new clauses; the cases already stored are tagged by ReviewService::
    // Open() while the backfills row is there.
    R"sql(
CREATE TABLE case_articles (
  article TEXT NOT NULL,
  case_id BIGINT NOT NULL,
  PRIMARY KEY (article, case_id)
);
CREATE INDEX case_articles_by_case ON case_articles (case_id);
CREATE TABLE backfills (name TEXT PRIMARY KEY);
INSERT INTO backfills (name) VALUES ('case_articles');
)sql",
};

constexpr int64_t kLatest = static_cast<int64_t>(sizeof(kMigrations) / sizeof(kMigrations[0]));

Status Fail(SqlDb& db, Status s) {
  db.Rollback();
  return s;
}

}  // namespace

int64_t LatestSchemaVersion() { return kLatest; }

Status ReadSchemaVersion(SqlDb& db, int64_t* version) {
  std::vector<SqlRow> rows;
  Status s = db.Exec("SELECT version FROM schema_version", {}, &rows);
  if (!s.ok()) {
    // No table yet: an empty database. Any other failure (I/O) is reported.
    if (s.code() == Status::Code::kInvalidArgument) {
      *version = 0;
      return Status::Ok();
    }
    return s;
  }
  if (rows.size() != 1 || rows[0].size() != 1) {
    return Status::Corruption("review store: schema_version must hold exactly one row, has " +
                              std::to_string(rows.size()));
  }
  *version = SqlInt(rows[0][0]);
  return Status::Ok();
}

Status MigrateSchema(SqlDb& db, int* applied) {
  if (applied != nullptr) *applied = 0;
  for (;;) {
    // Each step in its own write transaction, which also excludes other instances migrating the
    // same database at the same time (they see the version this one reached).
    if (Status s = db.Begin(); !s.ok()) return s;
    if (Status s = db.Exec("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)");
        !s.ok()) {
      return Fail(db, s);
    }
    std::vector<SqlRow> rows;
    if (Status s = db.Exec("SELECT version FROM schema_version", {}, &rows); !s.ok()) {
      return Fail(db, s);
    }
    if (rows.empty()) {
      if (Status s = db.Exec("INSERT INTO schema_version (version) VALUES (0)"); !s.ok()) {
        return Fail(db, s);
      }
      rows.push_back({int64_t{0}});
    }
    if (rows.size() != 1) {
      return Fail(db, Status::Corruption("review store: schema_version has " +
                                         std::to_string(rows.size()) + " rows, expected one"));
    }
    int64_t version = SqlInt(rows[0][0]);
    if (version > kLatest) {
      return Fail(db, Status::Corruption(
                          "review store: the database has schema version " +
                          std::to_string(version) + ", newer than this binary knows (" +
                          std::to_string(kLatest) + "); refusing to open it: upgrade abusewatch"));
    }
    if (version < 0) {
      return Fail(db, Status::Corruption("review store: invalid schema version " +
                                         std::to_string(version)));
    }
    if (version == kLatest) return db.Commit();
    if (Status s = db.ExecScript(kMigrations[version]); !s.ok()) {
      return Fail(db,
                  Status(Status::Internal("review store: migration " + std::to_string(version + 1) +
                                          " failed: " + s.message())));
    }
    if (Status s = db.Exec("UPDATE schema_version SET version = ?", {version + 1}); !s.ok()) {
      return Fail(db, s);
    }
    if (Status s = db.Commit(); !s.ok()) return Fail(db, s);
    if (applied != nullptr) ++*applied;
  }
}

}  // namespace abusewatch
