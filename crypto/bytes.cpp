#include "crypto/bytes.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

#include <openssl/crypto.h>

namespace kms::crypto {

SecureBytes::SecureBytes(std::size_t n)
    : data_(n == 0 ? nullptr : new std::uint8_t[n]()), size_(n), capacity_(n) {}

SecureBytes::SecureBytes(ByteView bytes) : SecureBytes(bytes.size()) {
  if (!bytes.empty()) std::memcpy(data_.get(), bytes.data(), bytes.size());
}

SecureBytes::SecureBytes(const SecureBytes& other) : SecureBytes(other.view()) {}

SecureBytes::SecureBytes(SecureBytes&& other) noexcept
    : data_(std::move(other.data_)),
      size_(std::exchange(other.size_, 0)),
      capacity_(std::exchange(other.capacity_, 0)) {}

SecureBytes& SecureBytes::operator=(const SecureBytes& other) {
  if (this == &other) return *this;
  if (capacity_ >= other.size_) {
    // Reuse the allocation: copy over the old secret, then cleanse what is left of it.
    if (other.size_ != 0) std::memcpy(data_.get(), other.data_.get(), other.size_);
    if (size_ > other.size_) OPENSSL_cleanse(data_.get() + other.size_, size_ - other.size_);
    size_ = other.size_;
    return *this;
  }
  SecureBytes copy(other);
  *this = std::move(copy);
  return *this;
}

SecureBytes& SecureBytes::operator=(SecureBytes&& other) noexcept {
  if (this == &other) return *this;
  Release();
  data_ = std::move(other.data_);
  size_ = std::exchange(other.size_, 0);
  capacity_ = std::exchange(other.capacity_, 0);
  return *this;
}

SecureBytes::~SecureBytes() { Release(); }

void SecureBytes::resize(std::size_t n) {
  if (n <= size_) {
    if (n < size_) OPENSSL_cleanse(data_.get() + n, size_ - n);
    size_ = n;
    return;
  }
  if (n <= capacity_) {
    // Bytes past size_ were zeroed by OPENSSL_cleanse when the buffer shrank; writing the
    // zeros here keeps "growth appends zeros" from depending on that.
    std::memset(data_.get() + size_, 0, n - size_);
    size_ = n;
    return;
  }
  SecureBytes grown(n);
  if (size_ != 0) std::memcpy(grown.data_.get(), data_.get(), size_);
  *this = std::move(grown);  // cleanses and frees the old allocation
}

void SecureBytes::Release() noexcept {
  if (data_ != nullptr) OPENSSL_cleanse(data_.get(), capacity_);
  data_.reset();
  size_ = 0;
  capacity_ = 0;
}

}  // namespace kms::crypto
