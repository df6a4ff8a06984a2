#include "domain/key_specs.hpp"

#include <algorithm>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/unit/domain/model_enum.hpp"

namespace kms::domain {
namespace {

using testing::ModelEnum;

template <class E>
std::vector<std::string_view> ListNames(KeySpec spec) {
  std::vector<std::string_view> names;
  for (E algorithm : SpecInfo(spec).Algorithms<E>()) names.push_back(WireName(algorithm));
  return names;
}

using List = std::vector<std::string_view>;

TEST_CASE("Every key spec has its own row and at least one usage", "[domain][key_specs]") {
  REQUIRE(AllKeySpecs().size() == std::size(kKeySpecNames));
  for (const WireRow<KeySpec>& row : kKeySpecNames) {
    CAPTURE(std::string(row.name));
    const KeySpecInfo& info = SpecInfo(row.value);
    CHECK(info.spec == row.value);
    int usages = 0;
    for (const WireRow<KeyUsage>& usage : kKeyUsageNames) usages += info.Allows(usage.value);
    CHECK(usages >= 1);
  }
}

TEST_CASE("Facts agree with the family", "[domain][key_specs]") {
  for (const KeySpecInfo& info : AllKeySpecs()) {
    CAPTURE(std::string(WireName(info.spec)));
    const std::string_view name = WireName(info.spec);
    switch (info.family) {
      case KeyFamily::kSymmetric:
        CHECK(info.spec == KeySpec::kSymmetricDefault);
        break;
      case KeyFamily::kHmac:
        CHECK(name.starts_with("HMAC_"));
        CHECK(info.hmac_key_bytes * 8 == std::stoul(std::string(name.substr(5))));
        CHECK(info.Allows(KeyUsage::kGenerateVerifyMac));
        break;
      case KeyFamily::kAsymmetric:
        CHECK(info.hmac_key_bytes == 0);
        CHECK(info.mac.empty());
        break;
    }
    CHECK((info.rsa_modulus_bytes != 0) == name.starts_with("RSA_"));
    if (info.rsa_modulus_bytes != 0) {
      CHECK(info.rsa_modulus_bytes * 8 == std::stoul(std::string(name.substr(4))));
    }
    CHECK(info.ml_dsa == name.starts_with("ML_DSA_"));
  }
}

TEST_CASE("The DataKeyPairSpec values are exactly the model's, in its order",
          "[domain][key_specs]") {
  std::vector<std::string_view> ours;
  for (const KeySpecInfo& info : AllKeySpecs()) {
    if (info.IsDataKeyPairSpec()) ours.push_back(WireName(info.spec));
  }
  const auto model = ModelEnum("DataKeyPairSpec");
  CHECK(ours == std::vector<std::string_view>(model.begin(), model.end()));
  CHECK(DataKeyPairSpecList() ==
        "[RSA_2048, RSA_3072, RSA_4096, ECC_NIST_P256, ECC_NIST_P384, ECC_NIST_P521, "
        "ECC_SECG_P256K1, SM2, ECC_NIST_EDWARDS25519]");
}

TEST_CASE("The table matches AWS's recorded algorithm lists", "[domain][key_specs]") {
  CHECK(ListNames<EncryptionAlgorithm>(KeySpec::kSymmetricDefault) == List{"SYMMETRIC_DEFAULT"});
  CHECK(ListNames<EncryptionAlgorithm>(KeySpec::kRsa3072) ==
        List{"RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"});
  CHECK(ListNames<SigningAlgorithm>(KeySpec::kRsa4096) ==
        List{"RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_384", "RSASSA_PKCS1_V1_5_SHA_512",
             "RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_384", "RSASSA_PSS_SHA_512"});
  CHECK(ListNames<SigningAlgorithm>(KeySpec::kEccNistP256) == List{"ECDSA_SHA_256"});
  CHECK(ListNames<SigningAlgorithm>(KeySpec::kEccSecgP256k1) == List{"ECDSA_SHA_256"});
  CHECK(ListNames<SigningAlgorithm>(KeySpec::kEccNistP384) == List{"ECDSA_SHA_384"});
  CHECK(ListNames<SigningAlgorithm>(KeySpec::kEccNistP521) == List{"ECDSA_SHA_512"});
  CHECK(ListNames<SigningAlgorithm>(KeySpec::kEccNistEdwards25519) ==
        List{"ED25519_SHA_512", "ED25519_PH_SHA_512"});
  CHECK(ListNames<SigningAlgorithm>(KeySpec::kMlDsa65) == List{"ML_DSA_SHAKE_256"});
  CHECK(ListNames<KeyAgreementAlgorithm>(KeySpec::kEccNistP521) == List{"ECDH"});
  CHECK(ListNames<MacAlgorithm>(KeySpec::kHmac224) == List{"HMAC_SHA_224"});
  CHECK(ListNames<EncryptionAlgorithm>(KeySpec::kSm2) == List{"SM2PKE"});
  CHECK(ListNames<SigningAlgorithm>(KeySpec::kSm2) == List{"SM2DSA"});
  CHECK(ListNames<KeyAgreementAlgorithm>(KeySpec::kSm2) == List{"ECDH"});
  // Pairs AWS rejects.
  CHECK_FALSE(SpecInfo(KeySpec::kRsa2048).Allows(KeyUsage::kKeyAgreement));
  CHECK_FALSE(SpecInfo(KeySpec::kEccSecgP256k1).Allows(KeyUsage::kKeyAgreement));
  CHECK_FALSE(SpecInfo(KeySpec::kEccNistEdwards25519).Allows(KeyUsage::kKeyAgreement));
  CHECK_FALSE(SpecInfo(KeySpec::kSymmetricDefault).Allows(KeyUsage::kSignVerify));
  CHECK_FALSE(SpecInfo(KeySpec::kHmac256).Allows(KeyUsage::kEncryptDecrypt));
  CHECK_FALSE(SpecInfo(KeySpec::kEccNistP256).Allows(KeyUsage::kEncryptDecrypt));
}

TEST_CASE("RSA and SM2 plaintext limits follow AWS's documented sizes", "[domain][key_specs]") {
  using EA = EncryptionAlgorithm;
  CHECK(MaxPlaintextBytes(KeySpec::kRsa2048, EA::kRsaesOaepSha1) == 214u);
  CHECK(MaxPlaintextBytes(KeySpec::kRsa2048, EA::kRsaesOaepSha256) == 190u);
  CHECK(MaxPlaintextBytes(KeySpec::kRsa3072, EA::kRsaesOaepSha1) == 342u);
  CHECK(MaxPlaintextBytes(KeySpec::kRsa3072, EA::kRsaesOaepSha256) == 318u);
  CHECK(MaxPlaintextBytes(KeySpec::kRsa4096, EA::kRsaesOaepSha1) == 470u);
  CHECK(MaxPlaintextBytes(KeySpec::kRsa4096, EA::kRsaesOaepSha256) == 446u);
  CHECK(MaxPlaintextBytes(KeySpec::kSm2, EA::kSm2Pke) == 1024u);
  CHECK_FALSE(MaxPlaintextBytes(KeySpec::kSymmetricDefault, EA::kSymmetricDefault));
}

TEST_CASE("Algorithms map onto crypto's enums one to one", "[domain][key_specs]") {
  CHECK_FALSE(CipherOf(EncryptionAlgorithm::kSymmetricDefault));
  CHECK(CipherOf(EncryptionAlgorithm::kRsaesOaepSha1) == crypto::AsymmetricCipher::kRsaOaepSha1);
  CHECK(CipherOf(EncryptionAlgorithm::kRsaesOaepSha256) ==
        crypto::AsymmetricCipher::kRsaOaepSha256);
  CHECK(CipherOf(EncryptionAlgorithm::kSm2Pke) == crypto::AsymmetricCipher::kSm2);

  std::set<crypto::SigningAlgorithm> seen;
  for (const WireRow<SigningAlgorithm>& row : kSigningAlgorithmNames) {
    CAPTURE(std::string(row.name));
    const auto mapped = CryptoSigningAlgorithm(row.value);
    if (row.value == SigningAlgorithm::kMlDsaShake256) {
      CHECK_FALSE(mapped);  // not implemented
      continue;
    }
    REQUIRE(mapped);
    CHECK(seen.insert(*mapped).second);
  }
  CHECK(seen.size() == crypto::kSigningAlgorithmCount);
  CHECK(CryptoSigningAlgorithm(SigningAlgorithm::kRsassaPssSha384) ==
        crypto::SigningAlgorithm::kRsaPssSha384);
  CHECK(CryptoSigningAlgorithm(SigningAlgorithm::kRsassaPkcs1V15Sha512) ==
        crypto::SigningAlgorithm::kRsaPkcs1Sha512);
  CHECK(CryptoSigningAlgorithm(SigningAlgorithm::kEd25519PhSha512) ==
        crypto::SigningAlgorithm::kEd25519PhSha512);

  for (const WireRow<MacAlgorithm>& row : kMacAlgorithmNames) {
    CAPTURE(std::string(row.name));
    // HMAC_SHA_384 -> a 48-byte MAC.
    CHECK(crypto::HmacSize(HmacDigestOf(row.value)) * 8 ==
          std::stoul(std::string(row.name.substr(9))));
  }
}

}  // namespace
}  // namespace kms::domain
