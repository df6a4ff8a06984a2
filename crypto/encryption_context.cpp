#include "crypto/encryption_context.hpp"

#include <cstdint>
#include <limits>
#include <stdexcept>

namespace kms::crypto {
namespace {

void AppendU32(std::size_t value, Bytes& out) {
  if (value > std::numeric_limits<std::uint32_t>::max()) {
    throw std::length_error("encryption context field does not fit a u32 length");
  }
  const auto v = static_cast<std::uint32_t>(value);
  out.push_back(static_cast<std::uint8_t>(v >> 24));
  out.push_back(static_cast<std::uint8_t>(v >> 16));
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}

void AppendField(const std::string& field, Bytes& out) {
  AppendU32(field.size(), out);
  const ByteView bytes = AsBytes(field);
  out.insert(out.end(), bytes.begin(), bytes.end());
}

}  // namespace

void AppendEncodedContext(const EncryptionContext& context, Bytes& out) {
  std::size_t encoded_size = 4;
  for (const auto& [key, value] : context) encoded_size += 8 + key.size() + value.size();
  out.reserve(out.size() + encoded_size);

  AppendU32(context.size(), out);
  for (const auto& [key, value] : context) {
    AppendField(key, out);
    AppendField(value, out);
  }
}

Bytes EncodeContext(const EncryptionContext& context) {
  Bytes out;
  AppendEncodedContext(context, out);
  return out;
}

}  // namespace kms::crypto
