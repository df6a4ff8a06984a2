// File: domain/key_specs.hpp
//
// The one table of what each KMS key spec is and may do: its family, the algorithms AWS lists
// for it per key usage (a usage with no algorithms is one AWS refuses for the spec; recorded from
// AWS), and the facts the work needs (OpenSSL key pair type, RSA modulus, HMAC key length). Beside
// it, one row per algorithm with what crypto/ calls it and its size limits. CreateKey checks
// requests against these tables; DescribeKey, GetPublicKey, Encrypt, Sign, GenerateMac,
// DeriveSharedSecret and GenerateDataKeyPair read them. Nothing else decides what a spec allows.
//
//   const domain::KeySpecInfo& info = domain::SpecInfo(domain::KeySpec::kEccNistP256);
//   info.Allows(domain::KeyUsage::kSignVerify);            // true
//   info.Algorithms<domain::SigningAlgorithm>();           // {kEcdsaSha256}
//   domain::CryptoSigningAlgorithm(domain::SigningAlgorithm::kEcdsaSha256);  // crypto's enum
//
// Why here and not in crypto/ or server/ops: it maps the AWS vocabulary (domain/vocabulary.hpp)
// onto crypto's own small enums (KeyPairType, AsymmetricCipher, SigningAlgorithm, HmacDigest),
// so it sits above both and below ops. It is its own library (kms_key_specs) so that storage,
// which needs only the vocabulary, does not link crypto.
//
// Errors: none; every function is total over its enum. A spec or algorithm crypto does not
// implement says so with std::nullopt (ML_DSA_SHAKE_256) or KeyPairTypeAvailable.
//
// Thread-safety: constant data and pure functions.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <type_traits>

#include "crypto/asymmetric_cipher.hpp"
#include "crypto/hmac.hpp"
#include "crypto/key_pair.hpp"
#include "crypto/signature.hpp"
#include "domain/vocabulary.hpp"

namespace kms::domain {

enum class KeyFamily {
  kSymmetric,   // SYMMETRIC_DEFAULT: AES-256-GCM under kmsd's ciphertext format
  kHmac,        // HMAC_224 ... HMAC_512: a random secret as long as the digest
  kAsymmetric,  // RSA, ECC, SM2, ML-DSA: a private key stored as PKCS#8 DER
};

struct KeySpecInfo {
  KeySpec spec;
  KeyFamily family;
  // The algorithms a key of this spec lists for each usage; empty where AWS refuses the usage.
  std::span<const EncryptionAlgorithm> encryption = {};       // ENCRYPT_DECRYPT
  std::span<const SigningAlgorithm> signing = {};             // SIGN_VERIFY
  std::span<const MacAlgorithm> mac = {};                     // GENERATE_VERIFY_MAC
  std::span<const KeyAgreementAlgorithm> key_agreement = {};  // KEY_AGREEMENT
  crypto::KeyPairType pair_type{};                            // kAsymmetric only
  std::size_t rsa_modulus_bytes = 0;                          // RSA_* only
  std::size_t hmac_key_bytes = 0;                             // kHmac only
  bool ml_dsa = false;  // ML_DSA_*: no DIGEST messages, not a DataKeyPairSpec

  // Whether AWS creates a key of this spec with `usage`.
  bool Allows(KeyUsage usage) const;

  // A valid DataKeyPairSpec (GenerateDataKeyPair): every asymmetric spec but ML-DSA.
  bool IsDataKeyPairSpec() const { return family == KeyFamily::kAsymmetric && !ml_dsa; }

  // The list of algorithm type E (EncryptionAlgorithm, SigningAlgorithm, MacAlgorithm or
  // KeyAgreementAlgorithm).
  template <class E>
  std::span<const E> Algorithms() const {
    if constexpr (std::is_same_v<E, EncryptionAlgorithm>) {
      return encryption;
    } else if constexpr (std::is_same_v<E, SigningAlgorithm>) {
      return signing;
    } else if constexpr (std::is_same_v<E, MacAlgorithm>) {
      return mac;
    } else {
      static_assert(std::is_same_v<E, KeyAgreementAlgorithm>);
      return key_agreement;
    }
  }
};

// The row of `spec`. Every KeySpec has one (KeySpec, CustomerMasterKeySpec and
// DataKeyPairSpec share the names).
const KeySpecInfo& SpecInfo(KeySpec spec);

// Every row, in KeySpec order.
std::span<const KeySpecInfo> AllKeySpecs();

// "[RSA_2048, RSA_3072, ..., ECC_NIST_EDWARDS25519]": the DataKeyPairSpec values in model order,
// as AWS's enum-value-set validation message lists them.
std::string DataKeyPairSpecList();

// crypto's cipher for an asymmetric encryption algorithm; nullopt for SYMMETRIC_DEFAULT.
std::optional<crypto::AsymmetricCipher> CipherOf(EncryptionAlgorithm algorithm);

// The largest plaintext AWS encrypts with the asymmetric `algorithm` under a key of `spec`
// (which lists it): SM2PKE's documented 1024 bytes; for RSAES-OAEP the modulus bytes
// - 2 * hash bytes - 2 (RSA_2048: 214 with SHA-1, 190 with SHA-256). nullopt for
// SYMMETRIC_DEFAULT, whose limit is the model's.
std::optional<std::size_t> MaxPlaintextBytes(KeySpec spec, EncryptionAlgorithm algorithm);

// crypto's signing algorithm; nullopt for ML_DSA_SHAKE_256, which kmsd does not implement.
std::optional<crypto::SigningAlgorithm> CryptoSigningAlgorithm(SigningAlgorithm algorithm);

// crypto's HMAC digest for a MAC algorithm.
crypto::HmacDigest HmacDigestOf(MacAlgorithm algorithm);

}  // namespace kms::domain
