// The JSON side of the key spec table (server/ops/key_specs.hpp); the table itself is tested in
// tests/unit/domain/key_specs_test.cpp.
#include "server/ops/key_specs.hpp"

#include <string>

#include <catch2/catch.hpp>

#include "domain/vocabulary.hpp"
#include "server/protocol/json_io.hpp"
#include "storage/records.hpp"

namespace kms::ops {
namespace {

using domain::KeySpec;
using domain::KeyUsage;

std::string Written(KeySpec spec, KeyUsage usage) {
  storage::KeyRecord key;
  key.key_spec = spec;
  key.key_usage = usage;
  server::JsonOut out;
  WriteAlgorithmLists(key, out);
  return out.Finish();
}

TEST_CASE("Each usage lists its algorithms under AWS's member name", "[ops][key_specs]") {
  CHECK(AlgorithmsMember(KeyUsage::kEncryptDecrypt) == "EncryptionAlgorithms");
  CHECK(AlgorithmsMember(KeyUsage::kSignVerify) == "SigningAlgorithms");
  CHECK(AlgorithmsMember(KeyUsage::kGenerateVerifyMac) == "MacAlgorithms");
  CHECK(AlgorithmsMember(KeyUsage::kKeyAgreement) == "KeyAgreementAlgorithms");
}

TEST_CASE("WriteAlgorithmLists writes the wire names of the key's usage only", "[ops][key_specs]") {
  CHECK(Written(KeySpec::kSymmetricDefault, KeyUsage::kEncryptDecrypt) ==
        R"({"EncryptionAlgorithms":["SYMMETRIC_DEFAULT"]})");
  CHECK(Written(KeySpec::kRsa2048, KeyUsage::kEncryptDecrypt) ==
        R"({"EncryptionAlgorithms":["RSAES_OAEP_SHA_1","RSAES_OAEP_SHA_256"]})");
  CHECK(Written(KeySpec::kSm2, KeyUsage::kSignVerify) == R"({"SigningAlgorithms":["SM2DSA"]})");
  CHECK(Written(KeySpec::kHmac384, KeyUsage::kGenerateVerifyMac) ==
        R"({"MacAlgorithms":["HMAC_SHA_384"]})");
  CHECK(Written(KeySpec::kEccNistP384, KeyUsage::kKeyAgreement) ==
        R"({"KeyAgreementAlgorithms":["ECDH"]})");
  // A pair AWS does not allow (storage never holds one) writes nothing.
  CHECK(Written(KeySpec::kHmac256, KeyUsage::kSignVerify) == "{}");
}

}  // namespace
}  // namespace kms::ops
