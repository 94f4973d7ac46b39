#include "daemon/allocator.h"

#include <cstddef>

// jemalloc's control interface; null when jemalloc is not the process's malloc.
extern "C" int mallctl(const char* name, void* oldp, size_t* oldlenp, void* newp, size_t newlen)
    __attribute__((weak));

namespace abusewatch {

std::string AllocatorName() {
  if (mallctl == nullptr) return "system";
  const char* version = nullptr;
  size_t len = sizeof(version);
  if (mallctl("version", &version, &len, nullptr, 0) != 0 || version == nullptr) {
    return "jemalloc";
  }
  return std::string("jemalloc ") + version;
}

}  // namespace abusewatch
