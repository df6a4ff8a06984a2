#include "storage/store.hpp"

#include <stdexcept>

#include <catch2/catch.hpp>

namespace kms::storage {
namespace {

TEST_CASE("Result::value() on an error throws with the storage message", "[storage][store]") {
  const Result<int> failed = Error{Error::Code::kIo, "disk on fire"};
  CHECK_THROWS_AS(failed.value(), std::runtime_error);
  CHECK_THROWS_WITH(failed.value(), Catch::Contains("disk on fire"));
  const Result<int> ok = 7;
  CHECK(ok.value() == 7);
}

}  // namespace
}  // namespace kms::storage
