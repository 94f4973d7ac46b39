// Fresh, empty databases for the review tests, one per call, on every backend the machine has.
//
// "sqlite": a new file under the test's temporary directory.
// "postgresql": a new database (CREATE DATABASE aw_test_<n>) on a real PostgreSQL server that
// the harness starts once per test process, on first use: initdb into a temporary directory,
// `postgres` on a free 127.0.0.1 port with its Unix socket in that directory and fsync off
// (start-up takes about a second). It is stopped, and the directory removed, at process exit,
// or by a watchdog within ~1 s when the process dies without exiting (crash, kill -9, timeout).
// As root (CI), initdb and postgres run as the user `postgres` (else `nobody`; $AW_PG_USER
// chooses), because PostgreSQL refuses to run as root. The Debian cluster service is never
// used.
//
// PostgreSQL binaries: $AW_PG_BINDIR when set (and only there), else the newest
// /usr/lib/postgresql/<version>/bin, else initdb and postgres on $PATH. When none is found,
// TestBackends() returns only "sqlite" and prints a loud warning on stderr -- unless
// AW_REQUIRE_POSTGRES=1, in which case it still returns "postgresql" and OpenTestDb("postgresql",
// ...) fails with the reason (for CI). $AW_PG_KEEP_DIR=1 keeps the server's directory
// (postgres.log, data/) after exit.
//
// Under ctest every test is its own process, hence its own server: to keep that cheap, the
// first initdb's result is cached beside the test binary (pg-template/, keyed by the server
// binary; guarded by pg-template.lock) and later processes copy it (~0.1 s instead of ~1 s).
// $AW_PG_NO_TEMPLATE=1 runs initdb every time.
//
// Thread safety: all functions may be called from any thread.
#ifndef ABUSEWATCH_TESTS_REVIEW_TEST_DB_H_
#define ABUSEWATCH_TESTS_REVIEW_TEST_DB_H_

#include <memory>
#include <string>
#include <vector>

#include "daemon/review/sql_db.h"
#include "detectors/status.h"

namespace abusewatch::testing {

// The backends to run every parametrized review test on: "sqlite", and "postgresql" when its
// binaries are installed (or AW_REQUIRE_POSTGRES=1). Cheap: starts no server (it is called
// when tests are listed, e.g. by gtest_discover_tests at build time).
std::vector<std::string> TestBackends();

// A new empty database on `backend`. *where receives what a CLI would be given to open it again
// (the SQLite file path, or the PostgreSQL conninfo "host=127.0.0.1 port=... user=aw
// dbname=aw_test_<n>") when where is not null.
Status OpenTestDb(const std::string& backend, std::unique_ptr<SqlDb>* db,
                  std::string* where = nullptr);

// Another connection to a database OpenTestDb created: `where` is what it returned in *where.
Status ReopenTestDb(const std::string& backend, const std::string& where,
                    std::unique_ptr<SqlDb>* db);

}  // namespace abusewatch::testing

#endif  // ABUSEWATCH_TESTS_REVIEW_TEST_DB_H_
