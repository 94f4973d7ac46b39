#include "tests/review/test_db.h"

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>

namespace abusewatch::testing {

std::vector<std::string> TestBackends() { return {"sqlite"}; }

Status OpenTestDb(const std::string& backend, std::unique_ptr<SqlDb>* db, std::string* where) {
  static std::atomic<int> counter{0};
  if (backend == "sqlite") {
    const char* tmp = std::getenv("TEST_TMPDIR");
    std::filesystem::path dir = tmp != nullptr ? tmp : std::filesystem::temp_directory_path();
    std::string path = (dir / ("aw-review-" + std::to_string(getpid()) + "-" +
                               std::to_string(counter.fetch_add(1)) + ".sqlite"))
                           .string();
    std::filesystem::remove(path);
    if (where != nullptr) *where = path;
    return OpenSqliteDb(path, db);
  }
  return Status::InvalidArgument("unknown test backend: " + backend);
}

}  // namespace abusewatch::testing
