#include "crypto/random.hpp"

#include "base/try.hpp"

#include <algorithm>
#include <climits>
#include <cstring>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "crypto/evp_handles.hpp"

namespace kms::crypto {
namespace {

// RAND_bytes itself, for any length (it takes an int; larger requests go in chunks).
Result<void> DrbgFill(std::span<std::uint8_t> out) {
  constexpr std::size_t kMaxChunk = INT_MAX;
  while (!out.empty()) {
    const std::size_t n = std::min(out.size(), kMaxChunk);
    if (RAND_bytes(out.data(), static_cast<int>(n)) != 1) return OpenSslError("RAND_bytes");
    out = out.subspan(n);
  }
  return {};
}

}  // namespace

RandomBuffer::RandomBuffer(std::size_t capacity, std::size_t max_buffered, Source source)
    : bytes_(new std::uint8_t[capacity]()),
      capacity_(capacity),
      max_buffered_(max_buffered),
      next_(capacity),  // empty: the first Fill refills
      source_(source) {}

RandomBuffer::~RandomBuffer() { OPENSSL_cleanse(bytes_.get(), capacity_); }

Result<void> RandomBuffer::Fill(std::span<std::uint8_t> out) {
  if (out.size() > max_buffered_) {
    auto r = source_(out);
    if (!r) OPENSSL_cleanse(out.data(), out.size());
    return r;
  }
  std::size_t done = 0;
  while (done < out.size()) {
    if (next_ == capacity_) {
      if (auto r = source_({bytes_.get(), capacity_}); !r) {
        OPENSSL_cleanse(bytes_.get(), capacity_);
        OPENSSL_cleanse(out.data(), out.size());
        return r;
      }
      next_ = 0;
    }
    const std::size_t n = std::min(out.size() - done, capacity_ - next_);
    std::memcpy(out.data() + done, bytes_.get() + next_, n);
    OPENSSL_cleanse(bytes_.get() + next_, n);  // handed out: never again, and not kept
    next_ += n;
    done += n;
  }
  return {};
}

Result<void> InitializeOpenSsl() {
  if (OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, nullptr) != 1) {
    return OpenSslError("OPENSSL_init_crypto");
  }
  std::uint8_t probe[1];
  if (RAND_bytes(probe, sizeof probe) != 1) return OpenSslError("RAND_bytes");
  OPENSSL_cleanse(probe, sizeof probe);
  return {};
}

Result<void> RandomFill(std::span<std::uint8_t> out) {
  if (out.empty()) return {};
  if (out.size() > kMaxBufferedRandomRequest) {
    auto r = DrbgFill(out);
    if (!r) OPENSSL_cleanse(out.data(), out.size());
    return r;
  }
  thread_local RandomBuffer buffer(kRandomBufferBytes, kMaxBufferedRandomRequest, &DrbgFill);
  return buffer.Fill(out);
}

Result<Bytes> RandomBytes(std::size_t n) {
  Bytes out(n);
  KMS_TRY(RandomFill(out));
  return out;
}

Result<SecureBytes> RandomSecureBytes(std::size_t n) {
  SecureBytes out(n);
  KMS_TRY(RandomFill(out.span()));
  return out;
}

}  // namespace kms::crypto
