// HugePageAllocator: an allocator for the engine's large hash tables (dedup ids, keys).
// Blocks of 2 MiB and more are 2 MiB-aligned and advised as transparent huge pages
// (madvise(MADV_HUGEPAGE)), which removes most TLB misses of random probes into tables of
// hundreds of MiB; smaller blocks come from operator new. Stateless; thread-safe.
#ifndef ABUSEWATCH_DETECTORS_HUGE_PAGE_ALLOCATOR_H_
#define ABUSEWATCH_DETECTORS_HUGE_PAGE_ALLOCATOR_H_

#include <sys/mman.h>

#include <cstdlib>
#include <new>

namespace abusewatch {

template <typename T>
struct HugePageAllocator {
  using value_type = T;
  static constexpr size_t kHuge = size_t{2} << 20;

  HugePageAllocator() = default;
  template <typename U>
  HugePageAllocator(const HugePageAllocator<U>&) {}  // NOLINT: allocator rebinding

  T* allocate(size_t n) {
    const size_t bytes = n * sizeof(T);
    if (bytes < kHuge) return static_cast<T*>(::operator new(bytes));
    const size_t rounded = (bytes + kHuge - 1) / kHuge * kHuge;
    void* p = std::aligned_alloc(kHuge, rounded);
    if (p == nullptr) throw std::bad_alloc();
    madvise(p, rounded, MADV_HUGEPAGE);  // advisory: failure only costs speed
    return static_cast<T*>(p);
  }
  void deallocate(T* p, size_t n) {
    if (n * sizeof(T) < kHuge) {
      ::operator delete(p);
    } else {
      std::free(p);
    }
  }
  template <typename U>
  bool operator==(const HugePageAllocator<U>&) const {
    return true;
  }
};

}  // namespace abusewatch

#endif  // ABUSEWATCH_DETECTORS_HUGE_PAGE_ALLOCATOR_H_
