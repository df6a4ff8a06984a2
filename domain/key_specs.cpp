#include "domain/key_specs.hpp"

#include <array>

namespace kms::domain {
namespace {

using crypto::KeyPairType;
using EA = EncryptionAlgorithm;
using SA = SigningAlgorithm;

constexpr EA kSymmetricEncryption[] = {EA::kSymmetricDefault};
constexpr EA kRsaEncryption[] = {EA::kRsaesOaepSha1, EA::kRsaesOaepSha256};
constexpr EA kSm2Encryption[] = {EA::kSm2Pke};
constexpr SA kRsaSigning[] = {SA::kRsassaPkcs1V15Sha256, SA::kRsassaPkcs1V15Sha384,
                              SA::kRsassaPkcs1V15Sha512, SA::kRsassaPssSha256,
                              SA::kRsassaPssSha384,      SA::kRsassaPssSha512};
constexpr SA kEcdsaSha256[] = {SA::kEcdsaSha256};
constexpr SA kEcdsaSha384[] = {SA::kEcdsaSha384};
constexpr SA kEcdsaSha512[] = {SA::kEcdsaSha512};
constexpr SA kEd25519Signing[] = {SA::kEd25519Sha512, SA::kEd25519PhSha512};
constexpr SA kSm2Signing[] = {SA::kSm2Dsa};
constexpr SA kMlDsaSigning[] = {SA::kMlDsaShake256};
constexpr MacAlgorithm kHmacSha224[] = {MacAlgorithm::kHmacSha224};
constexpr MacAlgorithm kHmacSha256[] = {MacAlgorithm::kHmacSha256};
constexpr MacAlgorithm kHmacSha384[] = {MacAlgorithm::kHmacSha384};
constexpr MacAlgorithm kHmacSha512[] = {MacAlgorithm::kHmacSha512};
constexpr KeyAgreementAlgorithm kEcdh[] = {KeyAgreementAlgorithm::kEcdh};

constexpr KeySpecInfo Rsa(KeySpec spec, KeyPairType type, std::size_t modulus_bytes) {
  return {.spec = spec,
          .family = KeyFamily::kAsymmetric,
          .encryption = kRsaEncryption,
          .signing = kRsaSigning,
          .pair_type = type,
          .rsa_modulus_bytes = modulus_bytes};
}

// A NIST curve: signing with the curve's ECDSA, and ECDH.
constexpr KeySpecInfo NistCurve(KeySpec spec, KeyPairType type, std::span<const SA> signing) {
  return {.spec = spec,
          .family = KeyFamily::kAsymmetric,
          .signing = signing,
          .key_agreement = kEcdh,
          .pair_type = type};
}

constexpr KeySpecInfo MlDsa(KeySpec spec, KeyPairType type) {
  return {.spec = spec,
          .family = KeyFamily::kAsymmetric,
          .signing = kMlDsaSigning,
          .pair_type = type,
          .ml_dsa = true};
}

// An HMAC key is as long as its digest, as AWS documents (HMAC_224: 224 bits).
constexpr KeySpecInfo Hmac(KeySpec spec, std::span<const MacAlgorithm> mac, std::size_t key_bytes) {
  return {.spec = spec, .family = KeyFamily::kHmac, .mac = mac, .hmac_key_bytes = key_bytes};
}

// In KeySpec order (checked below), so SpecInfo indexes.
constexpr std::array kKeySpecs = {
    Rsa(KeySpec::kRsa2048, KeyPairType::kRsa2048, 256),
    Rsa(KeySpec::kRsa3072, KeyPairType::kRsa3072, 384),
    Rsa(KeySpec::kRsa4096, KeyPairType::kRsa4096, 512),
    NistCurve(KeySpec::kEccNistP256, KeyPairType::kEccNistP256, kEcdsaSha256),
    NistCurve(KeySpec::kEccNistP384, KeyPairType::kEccNistP384, kEcdsaSha384),
    NistCurve(KeySpec::kEccNistP521, KeyPairType::kEccNistP521, kEcdsaSha512),
    KeySpecInfo{.spec = KeySpec::kEccSecgP256k1,
                .family = KeyFamily::kAsymmetric,
                .signing = kEcdsaSha256,
                .pair_type = KeyPairType::kEccSecgP256k1},
    KeySpecInfo{.spec = KeySpec::kSymmetricDefault,
                .family = KeyFamily::kSymmetric,
                .encryption = kSymmetricEncryption},
    Hmac(KeySpec::kHmac224, kHmacSha224, 28),
    Hmac(KeySpec::kHmac256, kHmacSha256, 32),
    Hmac(KeySpec::kHmac384, kHmacSha384, 48),
    Hmac(KeySpec::kHmac512, kHmacSha512, 64),
    KeySpecInfo{.spec = KeySpec::kSm2,
                .family = KeyFamily::kAsymmetric,
                .encryption = kSm2Encryption,
                .signing = kSm2Signing,
                .key_agreement = kEcdh,
                .pair_type = KeyPairType::kSm2},
    MlDsa(KeySpec::kMlDsa44, KeyPairType::kMlDsa44),
    MlDsa(KeySpec::kMlDsa65, KeyPairType::kMlDsa65),
    MlDsa(KeySpec::kMlDsa87, KeyPairType::kMlDsa87),
    KeySpecInfo{.spec = KeySpec::kEccNistEdwards25519,
                .family = KeyFamily::kAsymmetric,
                .signing = kEd25519Signing,
                .pair_type = KeyPairType::kEd25519},
};

constexpr bool SpecsInEnumOrder() {
  for (std::size_t i = 0; i < kKeySpecs.size(); ++i) {
    if (static_cast<std::size_t>(kKeySpecs[i].spec) != i) return false;
  }
  return kKeySpecs.size() == std::size(kKeySpecNames);
}
static_assert(SpecsInEnumOrder());

struct EncryptionAlgorithmInfo {
  EA algorithm;
  std::optional<crypto::AsymmetricCipher> cipher;  // nullopt: kmsd's symmetric blob
  std::size_t oaep_hash_bytes = 0;                 // RSAES-OAEP only
  std::size_t max_plaintext_bytes = 0;             // a fixed limit (SM2PKE), else 0
};

// In EncryptionAlgorithm order.
constexpr EncryptionAlgorithmInfo kEncryptionAlgorithms[] = {
    {EA::kSymmetricDefault, std::nullopt},
    {EA::kRsaesOaepSha1, crypto::AsymmetricCipher::kRsaOaepSha1, 20},
    {EA::kRsaesOaepSha256, crypto::AsymmetricCipher::kRsaOaepSha256, 32},
    // AWS's documented SM2PKE plaintext limit (Encrypt API reference).
    {EA::kSm2Pke, crypto::AsymmetricCipher::kSm2, 0, 1024},
};

struct SigningAlgorithmInfo {
  SA algorithm;
  std::optional<crypto::SigningAlgorithm> crypto;
};

// In SigningAlgorithm order.
constexpr SigningAlgorithmInfo kSigningAlgorithms[] = {
    {SA::kRsassaPssSha256, crypto::SigningAlgorithm::kRsaPssSha256},
    {SA::kRsassaPssSha384, crypto::SigningAlgorithm::kRsaPssSha384},
    {SA::kRsassaPssSha512, crypto::SigningAlgorithm::kRsaPssSha512},
    {SA::kRsassaPkcs1V15Sha256, crypto::SigningAlgorithm::kRsaPkcs1Sha256},
    {SA::kRsassaPkcs1V15Sha384, crypto::SigningAlgorithm::kRsaPkcs1Sha384},
    {SA::kRsassaPkcs1V15Sha512, crypto::SigningAlgorithm::kRsaPkcs1Sha512},
    {SA::kEcdsaSha256, crypto::SigningAlgorithm::kEcdsaSha256},
    {SA::kEcdsaSha384, crypto::SigningAlgorithm::kEcdsaSha384},
    {SA::kEcdsaSha512, crypto::SigningAlgorithm::kEcdsaSha512},
    {SA::kSm2Dsa, crypto::SigningAlgorithm::kSm2Dsa},
    {SA::kMlDsaShake256, std::nullopt},  // not implemented
    {SA::kEd25519Sha512, crypto::SigningAlgorithm::kEd25519Sha512},
    {SA::kEd25519PhSha512, crypto::SigningAlgorithm::kEd25519PhSha512},
};

struct MacAlgorithmInfo {
  MacAlgorithm algorithm;
  crypto::HmacDigest digest;
};

// In MacAlgorithm order.
constexpr MacAlgorithmInfo kMacAlgorithms[] = {
    {MacAlgorithm::kHmacSha224, crypto::HmacDigest::kSha224},
    {MacAlgorithm::kHmacSha256, crypto::HmacDigest::kSha256},
    {MacAlgorithm::kHmacSha384, crypto::HmacDigest::kSha384},
    {MacAlgorithm::kHmacSha512, crypto::HmacDigest::kSha512},
};

template <class Row, std::size_t N, class NameRow, std::size_t M>
constexpr bool RowsInEnumOrder(const Row (&rows)[N], const NameRow (&/*names*/)[M]) {
  for (std::size_t i = 0; i < N; ++i) {
    if (static_cast<std::size_t>(rows[i].algorithm) != i) return false;
  }
  return N == M;
}
static_assert(RowsInEnumOrder(kEncryptionAlgorithms, kEncryptionAlgorithmNames));
static_assert(RowsInEnumOrder(kSigningAlgorithms, kSigningAlgorithmNames));
static_assert(RowsInEnumOrder(kMacAlgorithms, kMacAlgorithmNames));

}  // namespace

bool KeySpecInfo::Allows(KeyUsage usage) const {
  switch (usage) {
    case KeyUsage::kEncryptDecrypt:
      return !encryption.empty();
    case KeyUsage::kSignVerify:
      return !signing.empty();
    case KeyUsage::kGenerateVerifyMac:
      return !mac.empty();
    case KeyUsage::kKeyAgreement:
      return !key_agreement.empty();
  }
  return false;
}

const KeySpecInfo& SpecInfo(KeySpec spec) { return kKeySpecs[static_cast<std::size_t>(spec)]; }

std::span<const KeySpecInfo> AllKeySpecs() { return kKeySpecs; }

std::string DataKeyPairSpecList() {
  std::string list = "[";
  for (const KeySpecInfo& info : kKeySpecs) {
    if (!info.IsDataKeyPairSpec()) continue;
    if (list.size() > 1) list += ", ";
    list += WireName(info.spec);
  }
  return list + "]";
}

std::optional<crypto::AsymmetricCipher> CipherOf(EncryptionAlgorithm algorithm) {
  return kEncryptionAlgorithms[static_cast<std::size_t>(algorithm)].cipher;
}

std::optional<std::size_t> MaxPlaintextBytes(KeySpec spec, EncryptionAlgorithm algorithm) {
  const EncryptionAlgorithmInfo& info = kEncryptionAlgorithms[static_cast<std::size_t>(algorithm)];
  if (!info.cipher) return std::nullopt;
  if (info.max_plaintext_bytes != 0) return info.max_plaintext_bytes;
  return SpecInfo(spec).rsa_modulus_bytes - 2 * info.oaep_hash_bytes - 2;
}

std::optional<crypto::SigningAlgorithm> CryptoSigningAlgorithm(SigningAlgorithm algorithm) {
  return kSigningAlgorithms[static_cast<std::size_t>(algorithm)].crypto;
}

crypto::HmacDigest HmacDigestOf(MacAlgorithm algorithm) {
  return kMacAlgorithms[static_cast<std::size_t>(algorithm)].digest;
}

}  // namespace kms::domain
