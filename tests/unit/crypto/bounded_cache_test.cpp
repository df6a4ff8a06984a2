#include "crypto/bounded_cache.hpp"

#include <string>

#include <catch2/catch.hpp>

namespace kms::crypto {
namespace {

TEST_CASE("BoundedCache builds an entry once per id and returns it on every hit") {
  BoundedCache<std::string> cache(4);
  int builds = 0;
  const auto make = [&builds]() -> Result<std::string> {
    return "built " + std::to_string(++builds);
  };
  auto first = cache.GetOrMake("a", make);
  REQUIRE(first);
  CHECK(**first == "built 1");
  auto again = cache.GetOrMake(std::string("a"), make);
  REQUIRE(again);
  CHECK(**again == "built 1");
  CHECK(builds == 1);
  REQUIRE(cache.GetOrMake("b", make));
  CHECK(builds == 2);
}

TEST_CASE("BoundedCache holds at most its capacity, dropping entries to make room") {
  BoundedCache<int> cache(3);
  int builds = 0;
  for (int i = 0; i < 10; ++i) {
    REQUIRE(cache.GetOrMake(std::to_string(i), [&]() -> Result<int> { return ++builds; }));
    CHECK(cache.size() <= 3);
  }
  CHECK(cache.size() == 3);
  CHECK(builds == 10);
  // The newest entry is always in: a hit, no build.
  REQUIRE(cache.GetOrMake("9", [&]() -> Result<int> { return ++builds; }));
  CHECK(builds == 10);
}

TEST_CASE("BoundedCache does not cache a failed build") {
  BoundedCache<int> cache(2);
  auto failed = cache.GetOrMake("x", []() -> Result<int> {
    return Error{Error::Code::kBadInput, "no"};
  });
  REQUIRE_FALSE(failed);
  CHECK(failed.error().code == Error::Code::kBadInput);
  CHECK(cache.size() == 0);
  auto later = cache.GetOrMake("x", []() -> Result<int> { return 7; });
  REQUIRE(later);
  CHECK(**later == 7);
}

}  // namespace
}  // namespace kms::crypto
