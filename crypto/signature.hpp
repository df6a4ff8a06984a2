// File: crypto/signature.hpp
//
// Digital signatures with an asymmetric KMS key, in exactly the encodings AWS KMS produces, so
// a signature made here verifies with anyone holding GetPublicKey's DER and the other way round:
//   * RSASSA-PSS (MGF1 with the same hash, salt length = digest length) and RSASSA-PKCS1-v1_5
//     with SHA-256/384/512: an integer as long as the modulus (RFC 8017).
//   * ECDSA with SHA-256/384/512: DER SEQUENCE { r INTEGER, s INTEGER } (RFC 3279 2.2.3).
//   * Ed25519 (pure, RFC 8032) over the message itself: 64 bytes. Ed25519ph (phflag = 1, the
//     prehash SHA-512 applied to the 64-byte digest the caller sends, as AWS documents: the
//     input is hashed twice) needs OpenSSL 3.2 or later; SigningAlgorithmAvailable() says.
//   * SM2DSA with SM3: DER SEQUENCE { r, s }. For a RAW message the signed value is
//     e = SM3(Z || M), Z computed with the default distinguishing ID "1234567812345678"
//     (GB/T 32918.2, as AWS documents); a DIGEST message is e itself, signed directly.
//
// MessageType RAW hashes the message with the algorithm's hash first; DIGEST signs the given
// digest, which must be exactly DigestBytes(algorithm) long.
//
//   auto sig = crypto::CachedSign(material.material_id, material.bytes,
//                                 crypto::SigningAlgorithm::kEcdsaSha256,
//                                 crypto::MessageType::kRaw, message);
//   auto ok = crypto::CachedVerify(material.material_id, material.bytes, alg, type, message,
//                                  *sig);   // kAuthFailed when the signature does not verify
//
// Thread safety: every function may run on any thread. The Cached* functions keep prepared
// OpenSSL contexts (EVP_PKEY_CTX initialised for one algorithm and direction) in a per-thread
// cache, so the hot path neither parses the key nor builds contexts, and takes no lock.
#pragma once

#include <cstddef>
#include <string_view>

#include "crypto/bytes.hpp"
#include "crypto/error.hpp"
#include "crypto/evp_handles.hpp"

namespace kms::crypto {

// The algorithms crypto implements. The AWS names in the comments are spelt, and mapped to
// these, only by domain/ (vocabulary.hpp, key_specs.hpp): crypto knows no wire names.
enum class SigningAlgorithm {
  kRsaPssSha256,     // RSASSA_PSS_SHA_256
  kRsaPssSha384,     // RSASSA_PSS_SHA_384
  kRsaPssSha512,     // RSASSA_PSS_SHA_512
  kRsaPkcs1Sha256,   // RSASSA_PKCS1_V1_5_SHA_256
  kRsaPkcs1Sha384,   // RSASSA_PKCS1_V1_5_SHA_384
  kRsaPkcs1Sha512,   // RSASSA_PKCS1_V1_5_SHA_512
  kEcdsaSha256,      // ECDSA_SHA_256
  kEcdsaSha384,      // ECDSA_SHA_384
  kEcdsaSha512,      // ECDSA_SHA_512
  kEd25519Sha512,    // ED25519_SHA_512 (pure Ed25519; RAW only)
  kEd25519PhSha512,  // ED25519_PH_SHA_512 (Ed25519ph; DIGEST only)
  kSm2Dsa,           // SM2DSA
};
inline constexpr std::size_t kSigningAlgorithmCount = 12;

enum class MessageType {
  kRaw,     // hash, then sign
  kDigest,  // sign the given digest
};

// The length a DIGEST message must have: the algorithm's hash length (32 for SHA-256 and SM3,
// 48, 64). 0 for ED25519_SHA_512, which takes RAW messages only.
std::size_t DigestBytes(SigningAlgorithm algorithm);

// Whether `algorithm` accepts `type` at all (AWS: ED25519_SHA_512 needs RAW,
// ED25519_PH_SHA_512 needs DIGEST; the others take both).
bool AcceptsMessageType(SigningAlgorithm algorithm, MessageType type);

// False when the OpenSSL in use cannot compute `algorithm` (Ed25519ph needs 3.2 or later).
bool SigningAlgorithmAvailable(SigningAlgorithm algorithm);

// The OpenSSL release `algorithm` needs ("3.2"), or "" when 3.0 suffices.
std::string_view OpenSslNeededFor(SigningAlgorithm algorithm);

// Signs `message` with the private `key`. kBadInput when the key does not fit the algorithm,
// the message type is not accepted or a digest has the wrong length, or the algorithm is not
// available; kOpenSsl when OpenSSL fails.
Result<Bytes> Sign(const EVP_PKEY* key, SigningAlgorithm algorithm, MessageType type,
                   ByteView message);

// Verifies `signature` over `message` with `key` (private or public). kAuthFailed, with no
// detail, when the signature does not verify or does not parse; kBadInput / kOpenSsl as Sign.
Result<void> Verify(const EVP_PKEY* key, SigningAlgorithm algorithm, MessageType type,
                    ByteView message, ByteView signature);

// Sign / Verify with the private key `pkcs8_der`, through the per-thread cache keyed by
// `cache_id`, which must identify these exact bytes for the life of the process (a
// KeyMaterialId does). kBadInput also when the bytes are not a private key.
Result<Bytes> CachedSign(std::string_view cache_id, ByteView pkcs8_der, SigningAlgorithm algorithm,
                         MessageType type, ByteView message);
Result<void> CachedVerify(std::string_view cache_id, ByteView pkcs8_der, SigningAlgorithm algorithm,
                          MessageType type, ByteView message, ByteView signature);

}  // namespace kms::crypto
