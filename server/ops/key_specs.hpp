// File: key_specs.hpp
//
// The one table of what each KMS key spec is and may do: which KeyUsage values AWS accepts
// for it and, per usage, the algorithms DescribeKey and GetPublicKey list (KMS_FACTS §7).
// CreateKey checks requests against it; every operation that needs an algorithm list or the
// OpenSSL key type of a spec reads it here.
//
//   const KeySpecInfo* spec = FindKeySpec("ECC_NIST_P256");            // nullptr if unknown
//   auto algorithms = AlgorithmsFor("ECC_NIST_P256", "SIGN_VERIFY");  // {"ECDSA_SHA_256"}
//   WriteAlgorithmLists(key, out);  // "SigningAlgorithms": ["ECDSA_SHA_256"]
//
// Thread-safety: constant data.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

#include "crypto/key_pair.hpp"
#include "server/protocol/json_io.hpp"
#include "storage/records.hpp"

namespace kms::ops {

enum class KeyFamily {
  kSymmetric,   // SYMMETRIC_DEFAULT: AES-256-GCM under kmsd's ciphertext format
  kHmac,        // HMAC_224 ... HMAC_512: a random secret of the digest's block-size class
  kAsymmetric,  // RSA, ECC, SM2, ML-DSA: a private key stored as PKCS#8 DER
};

struct KeySpecInfo {
  std::string_view name;
  KeyFamily family;
  crypto::KeyPairType pair_type{};  // kAsymmetric only
  std::size_t hmac_key_bytes = 0;   // kHmac only
};

// The entry for a KeySpec (or CustomerMasterKeySpec, or DataKeyPairSpec: the names agree);
// nullptr for a name that is not one.
const KeySpecInfo* FindKeySpec(std::string_view spec);

// The algorithms a key of `spec` has with `usage`; empty when AWS does not allow the pair.
std::span<const std::string_view> AlgorithmsFor(std::string_view spec, std::string_view usage);

// The KeyMetadata / GetPublicKey member that lists a usage's algorithms:
// "EncryptionAlgorithms", "SigningAlgorithms", "MacAlgorithms" or "KeyAgreementAlgorithms".
std::string_view AlgorithmsMember(std::string_view usage);

// Writes the algorithm list member of `key` (none for an unknown pair, which storage never
// holds).
void WriteAlgorithmLists(const storage::KeyRecord& key, server::JsonOut& out);

}  // namespace kms::ops
