// File: crypto/random.hpp
//
// The only source of randomness in kmsd: OpenSSL's RAND_bytes (the default DRBG, seeded from
// the OS). Used for IVs, key material, data keys and GenerateRandom.
//
//   auto iv = crypto::RandomBytes(crypto::kGcmIvBytes);
//   if (!iv) return iv.error();
//
// Thread safety: safe to call from any thread (OpenSSL keeps per-thread DRBGs).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "crypto/bytes.hpp"
#include "crypto/error.hpp"

namespace kms::crypto {

// Fills `out` with random bytes. An empty span succeeds. kOpenSsl if the DRBG fails.
Result<void> RandomFill(std::span<std::uint8_t> out);

// n random bytes, for values that are not secret (IVs, nonces, GenerateRandom output).
Result<Bytes> RandomBytes(std::size_t n);

// n random bytes in a SecureBytes, for key material and data keys.
Result<SecureBytes> RandomSecureBytes(std::size_t n);

}  // namespace kms::crypto
