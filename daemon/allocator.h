// AllocatorName: which malloc the running process uses, for `--version` and the
// `abusewatch_build_info{allocator}` label.
//
// The `abusewatch` executable links jemalloc (CMake option ABUSEWATCH_JEMALLOC, on by default,
// off under sanitizers, whose allocator must own malloc). jemalloc keeps a cache per thread, so
// librdkafka's fetch thread allocating each message and the loop thread freeing it no longer
// take the same glibc arena lock: with glibc malloc the loop thread blocked on that lock ~5 000
// times per 2 M records (benchmarks/README.md, "End to end with a real Kafka broker").
//
// Detection is at run time (jemalloc's `mallctl`, declared weak), so the answer is also right
// for a build without jemalloc that runs with LD_PRELOAD=libjemalloc.so.2.
//
// Thread safety: may be called from any thread.

#ifndef ABUSEWATCH_DAEMON_ALLOCATOR_H_
#define ABUSEWATCH_DAEMON_ALLOCATOR_H_

#include <string>

namespace abusewatch {

// "jemalloc 5.3.0-0-g54eaed1d8b56…" (jemalloc's own version string) or "system" (the C
// library's malloc, or a sanitizer's).
std::string AllocatorName();

}  // namespace abusewatch

#endif  // ABUSEWATCH_DAEMON_ALLOCATOR_H_
