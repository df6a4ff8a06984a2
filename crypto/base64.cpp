#include "crypto/base64.hpp"

#include <array>
#include <cstdint>

namespace kms::crypto {
namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::uint8_t kInvalid = 0xFF;

// Maps each byte to its 6-bit value, or kInvalid.
constexpr std::array<std::uint8_t, 256> MakeDecodeTable() {
  std::array<std::uint8_t, 256> table{};
  table.fill(kInvalid);
  for (std::size_t i = 0; i < kAlphabet.size(); ++i) {
    table[static_cast<unsigned char>(kAlphabet[i])] = static_cast<std::uint8_t>(i);
  }
  return table;
}

constexpr std::array<std::uint8_t, 256> kDecodeTable = MakeDecodeTable();

std::uint8_t Sextet(char c) { return kDecodeTable[static_cast<unsigned char>(c)]; }

}  // namespace

std::string Base64Encode(ByteView bytes) {
  std::string out;
  Base64EncodeAppend(bytes, out);
  return out;
}

void Base64EncodeAppend(ByteView bytes, std::string& out) {
  // Sized once, then written through a pointer: no per-character capacity check.
  const std::size_t start = out.size();
  out.resize(start + (bytes.size() + 2) / 3 * 4);
  char* p = out.data() + start;
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t group = (std::uint32_t{bytes[i]} << 16) |
                                (std::uint32_t{bytes[i + 1]} << 8) | std::uint32_t{bytes[i + 2]};
    *p++ = kAlphabet[(group >> 18) & 0x3F];
    *p++ = kAlphabet[(group >> 12) & 0x3F];
    *p++ = kAlphabet[(group >> 6) & 0x3F];
    *p++ = kAlphabet[group & 0x3F];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest == 1) {
    const std::uint32_t group = std::uint32_t{bytes[i]} << 16;
    *p++ = kAlphabet[(group >> 18) & 0x3F];
    *p++ = kAlphabet[(group >> 12) & 0x3F];
    *p++ = '=';
    *p++ = '=';
  } else if (rest == 2) {
    const std::uint32_t group =
        (std::uint32_t{bytes[i]} << 16) | (std::uint32_t{bytes[i + 1]} << 8);
    *p++ = kAlphabet[(group >> 18) & 0x3F];
    *p++ = kAlphabet[(group >> 12) & 0x3F];
    *p++ = kAlphabet[(group >> 6) & 0x3F];
    *p++ = '=';
  }
}

std::size_t Base64DecodedSize(std::string_view text) {
  std::size_t size = text.size() / 4 * 3;
  switch (text.size() % 4) {
    case 0:
      if (!text.empty() && text.back() == '=') {
        --size;
        if (text[text.size() - 2] == '=') --size;
      }
      break;
    case 2:
      size += 1;
      break;
    case 3:
      size += 2;
      break;
    default:
      break;
  }
  return size;
}

std::optional<Bytes> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::size_t padding = 0;
  if (!text.empty() && text.back() == '=') {
    padding = text[text.size() - 2] == '=' ? 2 : 1;
  }

  Bytes out;
  out.reserve(Base64DecodedSize(text));
  const std::size_t body = text.size() - padding;  // characters that must be in the alphabet
  std::uint32_t group = 0;
  for (std::size_t i = 0; i < body; ++i) {
    const std::uint8_t v = Sextet(text[i]);
    if (v == kInvalid) return std::nullopt;  // includes a '=' before the padding
    group = (group << 6) | v;
    if (i % 4 == 3) {
      out.push_back(static_cast<std::uint8_t>(group >> 16));
      out.push_back(static_cast<std::uint8_t>(group >> 8));
      out.push_back(static_cast<std::uint8_t>(group));
      group = 0;
    }
  }
  if (padding == 2) {  // last group holds 2 sextets = 1 byte + 4 zero bits
    if ((group & 0x0F) != 0) return std::nullopt;
    out.push_back(static_cast<std::uint8_t>(group >> 4));
  } else if (padding == 1) {  // 3 sextets = 2 bytes + 2 zero bits
    if ((group & 0x03) != 0) return std::nullopt;
    out.push_back(static_cast<std::uint8_t>(group >> 10));
    out.push_back(static_cast<std::uint8_t>(group >> 2));
  }
  return out;
}

}  // namespace kms::crypto
