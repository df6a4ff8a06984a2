// File: crypto/hmac.hpp
//
// HMAC (RFC 2104) with SHA-224, SHA-256, SHA-384 and SHA-512: the MAC algorithms of KMS's
// HMAC_224 ... HMAC_512 keys (HMAC_SHA_224 ... HMAC_SHA_512).
//
//   auto mac = crypto::Hmac(crypto::HmacDigest::kSha256, key_material, message);
//   auto ok = crypto::HmacVerify(crypto::HmacDigest::kSha256, key_material, message, *mac);
//   if (ok && *ok) ...   // constant-time comparison (CRYPTO_memcmp)
//
// Each thread keeps one EVP_MAC context per digest, created on first use with its digest
// already set, and remembers the key it holds: a call with the same key (one KMS key serving
// many requests) only resets the context instead of re-deriving the keyed pads.
//
// Thread safety: every function may run on any thread; the contexts are per thread.
#pragma once

#include <cstddef>

#include "crypto/bytes.hpp"
#include "crypto/error.hpp"

namespace kms::crypto {

enum class HmacDigest {
  kSha224,  // HMAC_SHA_224: 28-byte MAC
  kSha256,  // HMAC_SHA_256: 32-byte MAC
  kSha384,  // HMAC_SHA_384: 48-byte MAC
  kSha512,  // HMAC_SHA_512: 64-byte MAC
};

// The MAC length of `digest` in bytes (the digest's output size).
std::size_t HmacSize(HmacDigest digest);

// HMAC of `message` under `key`. kBadInput for an empty key (no KMS key has one); kOpenSsl
// if OpenSSL fails.
Result<Bytes> Hmac(HmacDigest digest, ByteView key, ByteView message);

// True when `mac` is exactly HMAC(key, message). The bytes are compared in constant time; a
// `mac` of the wrong length is false. Errors as Hmac.
Result<bool> HmacVerify(HmacDigest digest, ByteView key, ByteView message, ByteView mac);

}  // namespace kms::crypto
