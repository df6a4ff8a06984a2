#include "server/ops/key_specs.hpp"

#include <algorithm>
#include <span>
#include <string>
#include <string_view>

#include <catch2/catch.hpp>

#include "server/protocol/model_table.hpp"

namespace kms::ops {
namespace {

// The enum values of model shape `name` (botocore's service model, compiled in).
std::span<const std::string_view> ModelEnum(std::string_view name) {
  const auto& t = server::model::kTables;
  for (const auto& shape : t.shapes) {
    if (shape.name == name) return t.enum_values.subspan(shape.enum_first, shape.enum_count);
  }
  FAIL("no shape " << std::string(name));
  return {};
}

bool Contains(std::span<const std::string_view> values, std::string_view v) {
  return std::ranges::find(values, v) != values.end();
}

TEST_CASE("Every model KeySpec has an entry and at least one usage", "[ops][key_specs]") {
  for (std::string_view spec : ModelEnum("KeySpec")) {
    CAPTURE(std::string(spec));
    const KeySpecInfo* info = FindKeySpec(spec);
    REQUIRE(info != nullptr);
    CHECK(info->name == spec);
    int usages = 0;
    for (std::string_view usage : ModelEnum("KeyUsageType")) {
      if (!AlgorithmsFor(spec, usage).empty()) ++usages;
    }
    CHECK(usages >= 1);
  }
  CHECK(FindKeySpec("RSA_1024") == nullptr);
  CHECK(FindKeySpec("") == nullptr);
}

TEST_CASE("Every DataKeyPairSpec is an asymmetric key spec", "[ops][key_specs]") {
  for (std::string_view spec : ModelEnum("DataKeyPairSpec")) {
    CAPTURE(std::string(spec));
    const KeySpecInfo* info = FindKeySpec(spec);
    REQUIRE(info != nullptr);
    CHECK(info->family == KeyFamily::kAsymmetric);
  }
}

TEST_CASE("Listed algorithms are model values of the member they are listed in",
          "[ops][key_specs]") {
  struct Member {
    const char* usage;
    const char* member;
    const char* shape;
  };
  const Member m =
      GENERATE(Member{"ENCRYPT_DECRYPT", "EncryptionAlgorithms", "EncryptionAlgorithmSpec"},
               Member{"SIGN_VERIFY", "SigningAlgorithms", "SigningAlgorithmSpec"},
               Member{"GENERATE_VERIFY_MAC", "MacAlgorithms", "MacAlgorithmSpec"},
               Member{"KEY_AGREEMENT", "KeyAgreementAlgorithms", "KeyAgreementAlgorithmSpec"});
  CHECK(AlgorithmsMember(m.usage) == m.member);
  for (std::string_view spec : ModelEnum("KeySpec")) {
    for (std::string_view algorithm : AlgorithmsFor(spec, m.usage)) {
      CAPTURE(std::string(spec), std::string(algorithm));
      CHECK(Contains(ModelEnum(m.shape), algorithm));
    }
  }
  CHECK(AlgorithmsMember("BOGUS").empty());
}

TEST_CASE("The table matches AWS's recorded algorithm lists", "[ops][key_specs]") {
  using List = std::vector<std::string_view>;
  auto list = [](std::string_view spec, std::string_view usage) {
    auto a = AlgorithmsFor(spec, usage);
    return List(a.begin(), a.end());
  };
  CHECK(list("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT") == List{"SYMMETRIC_DEFAULT"});
  CHECK(list("RSA_3072", "ENCRYPT_DECRYPT") == List{"RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"});
  CHECK(list("RSA_4096", "SIGN_VERIFY").size() == 6);
  CHECK(list("ECC_NIST_P256", "SIGN_VERIFY") == List{"ECDSA_SHA_256"});
  CHECK(list("ECC_SECG_P256K1", "SIGN_VERIFY") == List{"ECDSA_SHA_256"});
  CHECK(list("ECC_NIST_P384", "SIGN_VERIFY") == List{"ECDSA_SHA_384"});
  CHECK(list("ECC_NIST_P521", "SIGN_VERIFY") == List{"ECDSA_SHA_512"});
  CHECK(list("ECC_NIST_P521", "KEY_AGREEMENT") == List{"ECDH"});
  CHECK(list("HMAC_224", "GENERATE_VERIFY_MAC") == List{"HMAC_SHA_224"});
  CHECK(list("SM2", "ENCRYPT_DECRYPT") == List{"SM2PKE"});
  // Pairs AWS rejects.
  CHECK(list("RSA_2048", "KEY_AGREEMENT").empty());
  CHECK(list("ECC_SECG_P256K1", "KEY_AGREEMENT").empty());
  CHECK(list("ECC_NIST_EDWARDS25519", "KEY_AGREEMENT").empty());
  CHECK(list("SYMMETRIC_DEFAULT", "SIGN_VERIFY").empty());
  CHECK(list("HMAC_256", "ENCRYPT_DECRYPT").empty());
}

TEST_CASE("HMAC keys are as long as their digest", "[ops][key_specs]") {
  CHECK(FindKeySpec("HMAC_224")->hmac_key_bytes == 28);
  CHECK(FindKeySpec("HMAC_256")->hmac_key_bytes == 32);
  CHECK(FindKeySpec("HMAC_384")->hmac_key_bytes == 48);
  CHECK(FindKeySpec("HMAC_512")->hmac_key_bytes == 64);
}

}  // namespace
}  // namespace kms::ops
