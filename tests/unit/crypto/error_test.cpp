#include "crypto/error.hpp"

#include <stdexcept>
#include <string>

#include <catch2/catch.hpp>

namespace kms::crypto {
namespace {

TEST_CASE("Result value() on an error throws a runtime_error with the message", "[crypto][error]") {
  Result<int> r = Error{Error::Code::kBadInput, "key too short"};
  REQUIRE_FALSE(r);
  CHECK_THROWS_AS(r.value(), std::runtime_error);
  CHECK_THROWS_WITH(r.value(), Catch::Contains("BadInput") && Catch::Contains("key too short"));

  Result<void> v = Error{Error::Code::kOpenSsl, "boom"};
  CHECK_THROWS_AS(v.value(), std::runtime_error);
}

TEST_CASE("Every error code has a name", "[crypto][error]") {
  CHECK(CodeName(Error::Code::kAuthFailed) == "AuthFailed");
  CHECK(CodeName(Error::Code::kBadInput) == "BadInput");
  CHECK(CodeName(Error::Code::kOpenSsl) == "OpenSsl");
}

}  // namespace
}  // namespace kms::crypto
