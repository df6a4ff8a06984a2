#include "crypto/digest.hpp"

#include <stdexcept>
#include <string_view>

#include <openssl/evp.h>

#include "crypto/evp_handles.hpp"

namespace kms::crypto {

Bytes Sha256(ByteView data) {
  static const Md kSha256(EVP_MD_fetch(nullptr, "SHA256", nullptr));
  if (kSha256 == nullptr) throw std::runtime_error(OpenSslError("EVP_MD_fetch(SHA256)").message);
  Bytes out(32);
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, kSha256.get(), nullptr) != 1 ||
      len != out.size()) {
    throw std::runtime_error(OpenSslError("EVP_Digest(SHA256)").message);
  }
  return out;
}

std::string HexEncode(ByteView bytes) {
  constexpr std::string_view kDigits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (std::uint8_t b : bytes) {
    out += kDigits[b >> 4];
    out += kDigits[b & 0x0F];
  }
  return out;
}

}  // namespace kms::crypto
