// File: startup_heap.hpp
//
// Start-up with a large database allocates ~800 bytes per key in many small blocks (records,
// strings, map nodes). Each 4 KiB page the heap grows into costs a page fault, and on the
// virtual machines kmsd is benchmarked on a fault costs ~12 µs: 100,000 keys touch ~20,000
// pages, a quarter of a second. While a HugePageHeap lives, the heap grows into memory
// advised as transparent huge pages (2 MiB, one fault for 512 small pages).
//
//   {
//     const HugePageHeap heap(EstimatedLoadBytes(store->KeyCountBound()));
//     registry = Registry::Open(std::move(store));   // allocates on this thread
//   }                                                // malloc's settings are back to normal
//
// How: glibc's main arena grows with brk. The constructor sets M_TOP_PAD so that one growth
// reserves `bytes` more than asked, triggers that growth at once, and madvise()s the reserved
// range MADV_HUGEPAGE. Allocations on the main thread then come out of it. The destructor
// puts M_TOP_PAD back to glibc's default; unused reserved memory is returned by glibc's next
// trim and was never resident.
//
// Best effort: without glibc, with THP disabled, or when `bytes` is below kMinBytes it does
// nothing, and start-up is merely slower. RSS is unchanged for memory that is used: the
// records fill the huge pages densely.
//
// Thread-safety: construct and destroy it on the thread that does the loading, before other
// threads start; only that thread's allocations (the main arena) benefit.
#pragma once

#include <cstddef>

namespace kms::process {

class HugePageHeap {
 public:
  // Below this a load touches too few pages for huge pages to matter, and the idle RSS of a
  // small database stays at 4 KiB granularity.
  static constexpr std::size_t kMinBytes = std::size_t{8} << 20;

  explicit HugePageHeap(std::size_t bytes);
  HugePageHeap(const HugePageHeap&) = delete;
  HugePageHeap& operator=(const HugePageHeap&) = delete;
  ~HugePageHeap();

  // The bytes advised as huge pages (0 when nothing was done).
  std::size_t advised() const { return advised_; }

 private:
  bool tuned_ = false;  // mallopt settings changed; the destructor restores them
  std::size_t advised_ = 0;
};

// What loading `keys` keys will allocate, roughly (measured: ~830 bytes per key of RSS with
// 100,000 and with 1,000,000 default keys). Not the database's size: a key's record in
// memory is larger than its rows on disk, where keys share their policy text.
inline constexpr std::size_t kLoadBytesPerKey = 1024;
constexpr std::size_t EstimatedLoadBytes(std::size_t keys) { return keys * kLoadBytesPerKey; }

}  // namespace kms::process
