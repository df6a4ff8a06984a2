// File: crypto/base64.hpp
//
// Standard base64 (RFC 4648 section 4: A-Z a-z 0-9 + /, '=' padding), as the AWS JSON
// protocol uses for blob fields. Decoding is strict: no whitespace, no URL-safe alphabet, no
// missing padding, and the unused bits before the padding must be zero, so every byte string
// has exactly one accepted encoding.
//
//   std::string text = crypto::Base64Encode(crypto::AsBytes("foo"));   // "Zm9v"
//   std::optional<crypto::Bytes> raw = crypto::Base64Decode(text);
//
// Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "crypto/bytes.hpp"

namespace kms::crypto {

// The padded standard encoding of `bytes`.
std::string Base64Encode(ByteView bytes);

// Appends the padded standard encoding of `bytes` to `out` (no temporary string; the JSON
// writer uses it to put a blob straight into a response body).
void Base64EncodeAppend(ByteView bytes, std::string& out);

// The bytes `text` encodes, or nullopt if `text` is not a canonical padded standard encoding:
// length not a multiple of 4, a character outside the alphabet, '=' anywhere but the last one
// or two positions, or non-zero bits before the padding. "" decodes to no bytes.
std::optional<Bytes> Base64Decode(std::string_view text);

// The number of bytes `text` would decode to, judged from its length and trailing '='s only
// (no validation): 3 per 4 characters, minus one per trailing '=' (at most two), and 1 or 2
// for a trailing group of 2 or 3 characters. Use it to enforce size limits before decoding.
std::size_t Base64DecodedSize(std::string_view text);

}  // namespace kms::crypto
