// File: crypto/encryption_context.hpp
//
// Canonical, unambiguous byte encoding of a KMS encryption context, used as (part of) the
// AES-GCM additional authenticated data of a ciphertext blob.
//
//   u32 BE  pair count
//   per pair, in bytewise key order:
//     u32 BE  key length,   key bytes
//     u32 BE  value length, value bytes
//
// Missing and empty contexts both encode as the four bytes 00 00 00 00. The length prefixes
// are what keep {"ab":"c"} and {"a":"bc"} apart; local-kms and LocalStack concatenate
// key||value with no separator, which makes those two contexts interchangeable.
//
// Thread safety: pure functions.
#pragma once

#include <map>
#include <string>

#include "crypto/bytes.hpp"

namespace kms::crypto {

// std::less<std::string> orders keys bytewise: char_traits<char>::lt compares as unsigned char,
// so iteration order is the canonical order whatever the platform's char signedness.
using EncryptionContext = std::map<std::string, std::string>;

// Appends the encoding of `context` to `out` (reserving the exact size first).
// REQUIRES: every key and value is shorter than 4 GiB (throws std::length_error otherwise;
//           the server caps contexts far below that).
void AppendEncodedContext(const EncryptionContext& context, Bytes& out);

// The encoding of `context` as a new buffer.
Bytes EncodeContext(const EncryptionContext& context);

}  // namespace kms::crypto
