// The review store's schema: numbered migrations applied in order, each in its own transaction,
// with the version reached kept in `schema_version` (one row). A database written by a newer
// binary (a version this one does not know) is refused, never modified.
//
// Thread safety: the caller serializes access to `db` (as for every SqlDb).
#ifndef ABUSEWATCH_DAEMON_REVIEW_SCHEMA_H_
#define ABUSEWATCH_DAEMON_REVIEW_SCHEMA_H_

#include <cstdint>

#include "daemon/review/sql_db.h"
#include "detectors/status.h"

namespace abusewatch {

// The newest schema version this binary knows (the number of migrations).
int64_t LatestSchemaVersion();

// Reads the version (0 for an empty database without `schema_version`).
Status ReadSchemaVersion(SqlDb& db, int64_t* version);

// Brings `db` to LatestSchemaVersion(). *applied (when not null) receives how many migrations
// ran. Returns kCorruption, naming both versions, when the database is newer than this binary;
// a failed migration is rolled back and leaves the previous version in place.
Status MigrateSchema(SqlDb& db, int* applied = nullptr);

}  // namespace abusewatch

#endif  // ABUSEWATCH_DAEMON_REVIEW_SCHEMA_H_
