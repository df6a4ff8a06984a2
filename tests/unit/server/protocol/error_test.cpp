#include "server/protocol/error.hpp"

#include <set>
#include <string>

#include <catch2/catch.hpp>

using kms::server::ErrorCode;
using kms::server::ErrorTable;
using kms::server::KmsError;

TEST_CASE("Every error code has exactly one table row, in enum order", "[server][error]") {
  auto table = ErrorTable();
  REQUIRE(!table.empty());
  std::set<std::string> types;
  for (std::size_t i = 0; i < table.size(); ++i) {
    CHECK(static_cast<std::size_t>(table[i].code) == i);
    CHECK(types.insert(std::string(table[i].type)).second);
  }
  CHECK(static_cast<std::size_t>(ErrorCode::kThrottling) == table.size() - 1);
}

TEST_CASE("Faults are 500 and client errors are 400", "[server][error]") {
  CHECK(KmsError::Internal("x").HttpStatus() == 500);
  CHECK(KmsError{ErrorCode::kDependencyTimeout, ""}.HttpStatus() == 500);
  CHECK(KmsError{ErrorCode::kKeyUnavailable, ""}.HttpStatus() == 500);
  CHECK(KmsError::NotFound("x").HttpStatus() == 400);
  CHECK(KmsError::InvalidCiphertext().HttpStatus() == 400);
  CHECK(KmsError::Validation("x").HttpStatus() == 400);
}

TEST_CASE("Transport refusals have their own HTTP statuses", "[server][error]") {
  CHECK(KmsError{ErrorCode::kRequestEntityTooLarge, ""}.HttpStatus() == 413);
  const KmsError throttled{ErrorCode::kThrottling, "x"};
  CHECK(throttled.HttpStatus() == 503);
  CHECK(throttled.Type() == "ThrottlingException");
}

TEST_CASE("Error types carry AWS's names", "[server][error]") {
  CHECK(KmsError::Internal("").Type() == "KMSInternalException");
  CHECK(KmsError::InvalidState("").Type() == "KMSInvalidStateException");
  CHECK(KmsError{ErrorCode::kCustomKeyStoreHasCmks, ""}.Type() == "CustomKeyStoreHasCMKsException");
  CHECK(KmsError{ErrorCode::kInvalidMac, ""}.Type() == "KMSInvalidMacException");
  CHECK(KmsError{ErrorCode::kInvalidSignature, ""}.Type() == "KMSInvalidSignatureException");
  CHECK(KmsError::InvalidCiphertext().message.empty());
}
