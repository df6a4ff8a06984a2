// File: tests/unit/crypto/hex_util.hpp
//
// Hex decoding for test vectors. Test-only: production code has no need to parse hex.
#pragma once

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "crypto/bytes.hpp"

namespace kms::crypto::testing {

inline Bytes Unhex(std::string_view hex) {
  auto nibble = [](char c) -> std::uint8_t {
    if (c >= '0' && c <= '9') return static_cast<std::uint8_t>(c - '0');
    if (c >= 'a' && c <= 'f') return static_cast<std::uint8_t>(c - 'a' + 10);
    if (c >= 'A' && c <= 'F') return static_cast<std::uint8_t>(c - 'A' + 10);
    throw std::invalid_argument("bad hex digit");
  };
  if (hex.size() % 2 != 0) throw std::invalid_argument("odd-length hex");
  Bytes out;
  out.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    out.push_back(static_cast<std::uint8_t>((nibble(hex[i]) << 4) | nibble(hex[i + 1])));
  }
  return out;
}

inline Bytes ToBytes(std::string_view s) {
  const ByteView view = AsBytes(s);
  return Bytes(view.begin(), view.end());
}

// a || b. (Built with copies into a sized buffer; GCC 12 reports a bogus -Wstringop-overflow
// for some vector::insert chains.)
inline Bytes Concat(ByteView a, ByteView b) {
  Bytes out(a.size() + b.size());
  std::copy(a.begin(), a.end(), out.data());
  std::copy(b.begin(), b.end(), out.data() + a.size());
  return out;
}

inline bool AllZero(ByteView bytes) {
  for (std::uint8_t b : bytes) {
    if (b != 0) return false;
  }
  return true;
}

}  // namespace kms::crypto::testing
