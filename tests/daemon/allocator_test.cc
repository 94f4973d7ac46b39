// The shipped binary's malloc: jemalloc when the build links it (daemon/allocator.h says why),
// the system's under sanitizers. `abusewatch_build_info{allocator}` reports the same string
// (checked against a live daemon in prometheus_test.cc).

#include "daemon/allocator.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace abusewatch {
namespace {

std::string VersionOutput() {
  std::string out;
  FILE* p = popen((std::string(ABUSEWATCH_BINARY) + " --version").c_str(), "r");
  if (p == nullptr) return out;
  char buf[256];
  while (size_t n = fread(buf, 1, sizeof(buf), p)) out.append(buf, n);
  EXPECT_EQ(pclose(p), 0);
  return out;
}

TEST(AllocatorTest, DaemonBinaryReportsItsMalloc) {
  const std::string out = VersionOutput();
  ASSERT_EQ(out.rfind("abusewatch ", 0), 0u) << out;
#ifdef ABUSEWATCH_EXPECT_JEMALLOC
  // "(malloc: jemalloc 5.3.0-0-g…)": the library answered mallctl("version"), so it is the
  // process's malloc, not merely linked.
  EXPECT_NE(out.find("(malloc: jemalloc 5."), std::string::npos) << out;
#else
  EXPECT_NE(out.find("(malloc: system)"), std::string::npos) << out;
#endif
}

TEST(AllocatorTest, TestBinaryWithoutJemallocSaysSystem) {
  // The test binaries do not link jemalloc (only the executable does), so the weak mallctl
  // stays null here and the name must not pretend otherwise.
  EXPECT_EQ(AllocatorName(), "system");
}

}  // namespace
}  // namespace abusewatch
