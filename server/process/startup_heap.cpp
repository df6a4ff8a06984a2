#include "server/process/startup_heap.hpp"

#include <array>
#include <cstdint>
#include <cstdlib>

#if defined(__GLIBC__)
#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>
#endif

namespace kms::process {
namespace {

#if defined(__GLIBC__)
constexpr std::uintptr_t kHugePage = std::uintptr_t{2} << 20;
// glibc's default (DEFAULT_TOP_PAD in malloc/malloc-machine.h).
constexpr int kDefaultTopPad = 128 * 1024;
// Probes that make the heap grow: below glibc's smallest mmap threshold (128 KiB), so they
// come from the heap; as many as it takes to use up the free top of the heap.
constexpr std::size_t kProbeBytes = std::size_t{64} << 10;
constexpr std::size_t kMaxProbes = 64;
// mallopt takes an int.
constexpr std::size_t kMaxBytes = std::size_t{1} << 30;
#endif

}  // namespace

HugePageHeap::HugePageHeap(std::size_t bytes) {
#if defined(__GLIBC__)
  if (bytes < kMinBytes) return;
  if (bytes > kMaxBytes) bytes = kMaxBytes;
  // NOLINTNEXTLINE(concurrency-mt-unsafe): glibc's mallopt locks the arena; start-up only
  if (mallopt(M_TOP_PAD, static_cast<int>(bytes)) == 0) return;
  tuned_ = true;
  auto* before = static_cast<char*>(sbrk(0));
  auto* after = before;
  // volatile: a malloc/free pair whose memory is unused may otherwise be optimised away.
  std::array<void* volatile, kMaxProbes> probes{};
  for (std::size_t i = 0; i < kMaxProbes && after == before; ++i) {
    probes[i] = std::malloc(kProbeBytes);
    after = static_cast<char*>(sbrk(0));
  }
  // Back into the top chunk; glibc's trim keeps M_TOP_PAD bytes of it.
  for (void* probe : probes) std::free(probe);
  // NOLINTNEXTLINE(performance-no-int-to-ptr): sbrk's failure value is (void*)-1
  if (before == reinterpret_cast<char*>(-1) || after <= before) return;
  const auto begin = (reinterpret_cast<std::uintptr_t>(before) + kHugePage - 1) & ~(kHugePage - 1);
  const auto end = reinterpret_cast<std::uintptr_t>(after) & ~(kHugePage - 1);
  if (end <= begin) return;
  // NOLINTNEXTLINE(performance-no-int-to-ptr): start-up only, nothing to optimise
  if (madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE) == 0) {
    advised_ = end - begin;
  }
#else
  (void)bytes;
#endif
}

HugePageHeap::~HugePageHeap() {
#if defined(__GLIBC__)
  if (!tuned_) return;
  mallopt(M_TOP_PAD, kDefaultTopPad);  // NOLINT(concurrency-mt-unsafe): as in the constructor
#endif
}

}  // namespace kms::process
