#include "server/startup_heap.hpp"

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <unistd.h>

namespace kms::server {
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

TEST_CASE("EstimatedLoadBytes adds the database and its WAL", "[server][startup_heap]") {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("startup_heap_test." + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto db = dir / "kms.db";
  CHECK(EstimatedLoadBytes(db) == 0);  // missing: a new database
  std::ofstream(db) << std::string(1000, 'd');
  CHECK(EstimatedLoadBytes(db) == 1000);
  std::ofstream(db.string() + "-wal") << std::string(300, 'w');
  CHECK(EstimatedLoadBytes(db) == 1300);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace kms::server
