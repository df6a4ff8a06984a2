// File: crypto/key_pair.hpp
//
// Asymmetric key pairs: generation, the DER encodings KMS exchanges (PKCS#8 PrivateKeyInfo for
// private keys, X.509 SubjectPublicKeyInfo for public keys) and a per-thread cache of parsed
// private keys, so the hot path of Sign, Decrypt or DeriveSharedSecret does not re-parse DER.
//
//   auto der = crypto::GeneratePrivateKey(crypto::KeyPairType::kEccP256);     // PKCS#8
//   auto key = crypto::CachedPrivateKey(material.material_id, material.bytes);
//   auto spki = crypto::PublicKeyDer(key->get());
//
// Key types whose algorithm the OpenSSL in use does not provide (ML-DSA before 3.5) are
// reported by KeyPairTypeAvailable(); generating one fails with kBadInput.
//
// Thread safety: every function may run on any thread. CachedPrivateKey's cache is per thread;
// the EVP_PKEY it returns is reference-counted and read-only once parsed, as OpenSSL allows
// for concurrent signing, decryption and derivation with separate contexts.
#pragma once

#include <string>
#include <string_view>

#include "crypto/bytes.hpp"
#include "crypto/error.hpp"
#include "crypto/evp_handles.hpp"

namespace kms::crypto {

enum class KeyPairType {
  kRsa2048,
  kRsa3072,
  kRsa4096,
  kEccNistP256,
  kEccNistP384,
  kEccNistP521,
  kEccSecgP256k1,
  kEd25519,
  kSm2,
  kMlDsa44,
  kMlDsa65,
  kMlDsa87,
};

// False when the OpenSSL in use cannot generate or use this type (ML-DSA needs 3.5+).
bool KeyPairTypeAvailable(KeyPairType type);

// "OpenSSL 3.0.22 25 Aug 2026": the library kmsd runs with, for error messages.
std::string OpenSslVersionText();

// A fresh private key as DER PKCS#8 PrivateKeyInfo (it embeds the public key where the
// algorithm has one). Secret: callers must never log it.
Result<SecureBytes> GeneratePrivateKey(KeyPairType type);

// Parses DER PKCS#8 PrivateKeyInfo. kBadInput when it is not one.
Result<Pkey> ParsePrivateKey(ByteView pkcs8_der);

// ParsePrivateKey through a small per-thread cache keyed by `cache_id`, which must identify
// these exact bytes for the life of the process (a KeyMaterialId does). Returns a new
// reference; the cache keeps its own.
Result<Pkey> CachedPrivateKey(std::string_view cache_id, ByteView pkcs8_der);

// The public half as DER X.509 SubjectPublicKeyInfo.
Result<Bytes> PublicKeyDer(const EVP_PKEY* key);

// Parses DER SubjectPublicKeyInfo. kBadInput when it is not one, or has bytes after it.
Result<Pkey> ParsePublicKey(ByteView spki_der);

// RSA modulus size in bits, EC field size and so on (EVP_PKEY_get_bits).
int KeyBits(const EVP_PKEY* key);

// True when `key` is a key of `type`: the algorithm, and the modulus size (RSA) or the curve (EC)
// match. How imported private keys are checked against their KMS key's spec.
bool IsKeyPairType(const EVP_PKEY* key, KeyPairType type);

}  // namespace kms::crypto
