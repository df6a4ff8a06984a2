#include "crypto/random.hpp"

#include <algorithm>
#include <climits>

#include <openssl/rand.h>

#include "crypto/evp_handles.hpp"

namespace kms::crypto {

Result<void> RandomFill(std::span<std::uint8_t> out) {
  // RAND_bytes takes an int length; feed larger requests in chunks.
  constexpr std::size_t kMaxChunk = INT_MAX;
  while (!out.empty()) {
    const std::size_t n = std::min(out.size(), kMaxChunk);
    if (RAND_bytes(out.data(), static_cast<int>(n)) != 1) return OpenSslError("RAND_bytes");
    out = out.subspan(n);
  }
  return {};
}

Result<Bytes> RandomBytes(std::size_t n) {
  Bytes out(n);
  if (auto r = RandomFill(out); !r) return r.error();
  return out;
}

Result<SecureBytes> RandomSecureBytes(std::size_t n) {
  SecureBytes out(n);
  if (auto r = RandomFill(out.span()); !r) return r.error();
  return out;
}

}  // namespace kms::crypto
