// Fresh, empty databases for the review tests, one per call, on every backend the machine has.
//
// "sqlite": a new file under the test's temporary directory.
// "postgresql": a new database on a real PostgreSQL server that the harness starts once per
// test binary (initdb into a temporary directory, a free loopback port, stopped at exit).
#ifndef ABUSEWATCH_TESTS_REVIEW_TEST_DB_H_
#define ABUSEWATCH_TESTS_REVIEW_TEST_DB_H_

#include <memory>
#include <string>
#include <vector>

#include "daemon/review/sql_db.h"
#include "detectors/status.h"

namespace abusewatch::testing {

// The backends to run every parametrized review test on.
std::vector<std::string> TestBackends();

// A new empty database on `backend`. *where receives what a CLI would be given to open it again
// (the SQLite file path, or the PostgreSQL conninfo) when where is not null.
Status OpenTestDb(const std::string& backend, std::unique_ptr<SqlDb>* db,
                  std::string* where = nullptr);

}  // namespace abusewatch::testing

#endif  // ABUSEWATCH_TESTS_REVIEW_TEST_DB_H_
