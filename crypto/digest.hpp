// File: crypto/digest.hpp
//
// SHA-256 and lowercase hex, for fingerprints and ids derived from bytes.
//
//   std::string fp = crypto::HexEncode(crypto::Sha256(crypto::AsBytes("abc")));
//
// Thread safety: safe to call concurrently from any thread.
#pragma once

#include <string>

#include "crypto/bytes.hpp"

namespace kms::crypto {

// The 32-byte SHA-256 digest of `data`. SHA-256 cannot fail on valid input; if OpenSSL itself
// fails (no provider, out of memory) this throws std::runtime_error, which the dispatcher turns
// into a KMSInternalException.
Bytes Sha256(ByteView data);

// Lowercase hex, two characters per byte.
std::string HexEncode(ByteView bytes);

}  // namespace kms::crypto
