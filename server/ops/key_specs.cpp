#include "server/ops/key_specs.hpp"

#include <array>

namespace kms::ops {
namespace {

using crypto::KeyPairType;

constexpr std::array kKeySpecs = {
    KeySpecInfo{"SYMMETRIC_DEFAULT", KeyFamily::kSymmetric},
    KeySpecInfo{"RSA_2048", KeyFamily::kAsymmetric, KeyPairType::kRsa2048},
    KeySpecInfo{"RSA_3072", KeyFamily::kAsymmetric, KeyPairType::kRsa3072},
    KeySpecInfo{"RSA_4096", KeyFamily::kAsymmetric, KeyPairType::kRsa4096},
    KeySpecInfo{"ECC_NIST_P256", KeyFamily::kAsymmetric, KeyPairType::kEccNistP256},
    KeySpecInfo{"ECC_NIST_P384", KeyFamily::kAsymmetric, KeyPairType::kEccNistP384},
    KeySpecInfo{"ECC_NIST_P521", KeyFamily::kAsymmetric, KeyPairType::kEccNistP521},
    KeySpecInfo{"ECC_SECG_P256K1", KeyFamily::kAsymmetric, KeyPairType::kEccSecgP256k1},
    KeySpecInfo{"ECC_NIST_EDWARDS25519", KeyFamily::kAsymmetric, KeyPairType::kEd25519},
    KeySpecInfo{"SM2", KeyFamily::kAsymmetric, KeyPairType::kSm2},
    KeySpecInfo{"ML_DSA_44", KeyFamily::kAsymmetric, KeyPairType::kMlDsa44},
    KeySpecInfo{"ML_DSA_65", KeyFamily::kAsymmetric, KeyPairType::kMlDsa65},
    KeySpecInfo{"ML_DSA_87", KeyFamily::kAsymmetric, KeyPairType::kMlDsa87},
    // An HMAC key is as long as its digest, as AWS documents (HMAC_224: 224 bits).
    KeySpecInfo{"HMAC_224", KeyFamily::kHmac, {}, 28},
    KeySpecInfo{"HMAC_256", KeyFamily::kHmac, {}, 32},
    KeySpecInfo{"HMAC_384", KeyFamily::kHmac, {}, 48},
    KeySpecInfo{"HMAC_512", KeyFamily::kHmac, {}, 64},
};

constexpr std::string_view kSymmetricAlgorithms[] = {"SYMMETRIC_DEFAULT"};
constexpr std::string_view kRsaEncryption[] = {"RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"};
constexpr std::string_view kRsaSigning[] = {
    "RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_384", "RSASSA_PKCS1_V1_5_SHA_512",
    "RSASSA_PSS_SHA_256",        "RSASSA_PSS_SHA_384",        "RSASSA_PSS_SHA_512"};
constexpr std::string_view kEcdsaSha256[] = {"ECDSA_SHA_256"};
constexpr std::string_view kEcdsaSha384[] = {"ECDSA_SHA_384"};
constexpr std::string_view kEcdsaSha512[] = {"ECDSA_SHA_512"};
constexpr std::string_view kEcdh[] = {"ECDH"};
constexpr std::string_view kEd25519Signing[] = {"ED25519_SHA_512", "ED25519_PH_SHA_512"};
constexpr std::string_view kSm2Signing[] = {"SM2DSA"};
constexpr std::string_view kSm2Encryption[] = {"SM2PKE"};
constexpr std::string_view kMlDsaSigning[] = {"ML_DSA_SHAKE_256"};
constexpr std::string_view kHmacSha224[] = {"HMAC_SHA_224"};
constexpr std::string_view kHmacSha256[] = {"HMAC_SHA_256"};
constexpr std::string_view kHmacSha384[] = {"HMAC_SHA_384"};
constexpr std::string_view kHmacSha512[] = {"HMAC_SHA_512"};

// Every (KeySpec, KeyUsage) pair AWS accepts, with its algorithms.
struct UsageRow {
  std::string_view spec;
  std::string_view usage;
  std::span<const std::string_view> algorithms;
};

constexpr std::array kUsageRows = {
    UsageRow{"SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", kSymmetricAlgorithms},
    UsageRow{"RSA_2048", "ENCRYPT_DECRYPT", kRsaEncryption},
    UsageRow{"RSA_2048", "SIGN_VERIFY", kRsaSigning},
    UsageRow{"RSA_3072", "ENCRYPT_DECRYPT", kRsaEncryption},
    UsageRow{"RSA_3072", "SIGN_VERIFY", kRsaSigning},
    UsageRow{"RSA_4096", "ENCRYPT_DECRYPT", kRsaEncryption},
    UsageRow{"RSA_4096", "SIGN_VERIFY", kRsaSigning},
    UsageRow{"ECC_NIST_P256", "SIGN_VERIFY", kEcdsaSha256},
    UsageRow{"ECC_NIST_P256", "KEY_AGREEMENT", kEcdh},
    UsageRow{"ECC_NIST_P384", "SIGN_VERIFY", kEcdsaSha384},
    UsageRow{"ECC_NIST_P384", "KEY_AGREEMENT", kEcdh},
    UsageRow{"ECC_NIST_P521", "SIGN_VERIFY", kEcdsaSha512},
    UsageRow{"ECC_NIST_P521", "KEY_AGREEMENT", kEcdh},
    UsageRow{"ECC_SECG_P256K1", "SIGN_VERIFY", kEcdsaSha256},
    UsageRow{"ECC_NIST_EDWARDS25519", "SIGN_VERIFY", kEd25519Signing},
    UsageRow{"SM2", "SIGN_VERIFY", kSm2Signing},
    UsageRow{"SM2", "ENCRYPT_DECRYPT", kSm2Encryption},
    UsageRow{"SM2", "KEY_AGREEMENT", kEcdh},
    UsageRow{"ML_DSA_44", "SIGN_VERIFY", kMlDsaSigning},
    UsageRow{"ML_DSA_65", "SIGN_VERIFY", kMlDsaSigning},
    UsageRow{"ML_DSA_87", "SIGN_VERIFY", kMlDsaSigning},
    UsageRow{"HMAC_224", "GENERATE_VERIFY_MAC", kHmacSha224},
    UsageRow{"HMAC_256", "GENERATE_VERIFY_MAC", kHmacSha256},
    UsageRow{"HMAC_384", "GENERATE_VERIFY_MAC", kHmacSha384},
    UsageRow{"HMAC_512", "GENERATE_VERIFY_MAC", kHmacSha512},
};

}  // namespace

const KeySpecInfo* FindKeySpec(std::string_view spec) {
  for (const KeySpecInfo& info : kKeySpecs) {
    if (info.name == spec) return &info;
  }
  return nullptr;
}

std::span<const std::string_view> AlgorithmsFor(std::string_view spec, std::string_view usage) {
  for (const UsageRow& row : kUsageRows) {
    if (row.spec == spec && row.usage == usage) return row.algorithms;
  }
  return {};
}

std::string_view AlgorithmsMember(std::string_view usage) {
  if (usage == "ENCRYPT_DECRYPT") return "EncryptionAlgorithms";
  if (usage == "SIGN_VERIFY") return "SigningAlgorithms";
  if (usage == "GENERATE_VERIFY_MAC") return "MacAlgorithms";
  if (usage == "KEY_AGREEMENT") return "KeyAgreementAlgorithms";
  return {};
}

void WriteAlgorithmLists(const storage::KeyRecord& key, server::JsonOut& out) {
  const auto algorithms = AlgorithmsFor(key.key_spec, key.key_usage);
  if (algorithms.empty()) return;
  out.StringList(AlgorithmsMember(key.key_usage), algorithms);
}

}  // namespace kms::ops
