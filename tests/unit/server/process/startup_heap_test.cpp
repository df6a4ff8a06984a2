#include "server/process/startup_heap.hpp"

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

namespace kms::process {
namespace {

TEST_CASE("HugePageHeap does nothing for a small load", "[server][startup_heap]") {
  const HugePageHeap heap(HugePageHeap::kMinBytes - 1);
  CHECK(heap.advised() == 0);
}

TEST_CASE("Allocations made while a HugePageHeap lives work and outlive it",
          "[server][startup_heap]") {
  constexpr std::size_t kBytes = std::size_t{64} << 20;
  std::vector<std::unique_ptr<std::string>> strings;
  {
    const HugePageHeap heap(kBytes);
#if defined(__GLIBC__)
    // The reservation is at most what was asked, rounded to whole huge pages.
    CHECK(heap.advised() <= kBytes);
    CHECK(heap.advised() % (std::size_t{2} << 20) == 0);
#endif
    for (int i = 0; i < 100'000; ++i) {
      strings.push_back(std::make_unique<std::string>(std::to_string(i) + std::string(40, 'x')));
    }
  }
  for (int i = 0; i < 100'000; i += 9'999) {
    CHECK(*strings[static_cast<std::size_t>(i)] == std::to_string(i) + std::string(40, 'x'));
  }
  strings.clear();
  // malloc still works normally afterwards, large blocks included.
  void* big = std::malloc(std::size_t{8} << 20);
  CHECK(big != nullptr);
  std::free(big);
}

TEST_CASE("EstimatedLoadBytes grows with the key count", "[server][startup_heap]") {
  CHECK(EstimatedLoadBytes(0) == 0);  // a new database: nothing to reserve
  CHECK(EstimatedLoadBytes(100'000) >= HugePageHeap::kMinBytes);
  CHECK(EstimatedLoadBytes(200'000) == 2 * EstimatedLoadBytes(100'000));
}

}  // namespace
}  // namespace kms::process
