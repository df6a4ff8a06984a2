// File: crypto/bytes.hpp
//
// Byte containers shared by every crypto wrapper.
//
//   Bytes        an owning, growable buffer for data that is not secret (ciphertext blobs,
//                digests, public keys).
//   ByteView     a read-only view; every input parameter in crypto/ takes one.
//   SecureBytes  an owning buffer for secrets (key material, plaintext data keys, decrypted
//                plaintext). Every byte it ever held is overwritten with OPENSSL_cleanse
//                before the memory is released or reused.
//
//   crypto::SecureBytes key(32);
//   KMS_TRY(crypto::RandomFill(key.span()));
//   auto blob = crypto::SealBlob(key_id, 1, key, crypto::AsBytes("hello"), {});
//
// Thread safety: none of these types synchronise; share a const object freely, give each
// thread its own mutable one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

namespace kms::crypto {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

// Views the characters of `s` as bytes. The view is valid as long as `s`'s storage is.
inline ByteView AsBytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// An owning byte buffer for secrets.
//
// Contract: every byte the buffer has held is cleansed (OPENSSL_cleanse) when it is destroyed,
// assigned over, shrunk by resize()/clear(), or reallocated by a growing resize(). A moved-from
// SecureBytes is empty (it hands its allocation to the target; nothing is left behind to
// cleanse). Copies are allowed because callers need them (e.g. a key record copied out of a
// cache), and each copy is cleansed on its own.
//
// Unlike std::vector, growth never leaves an uncleansed copy behind in freed memory.
class SecureBytes {
 public:
  SecureBytes() = default;
  explicit SecureBytes(std::size_t n);   // n zero bytes
  explicit SecureBytes(ByteView bytes);  // a copy of `bytes`
  SecureBytes(const SecureBytes& other);
  SecureBytes(SecureBytes&& other) noexcept;
  SecureBytes& operator=(const SecureBytes& other);
  SecureBytes& operator=(SecureBytes&& other) noexcept;
  ~SecureBytes();

  std::uint8_t* data() { return data_.get(); }
  const std::uint8_t* data() const { return data_.get(); }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  ByteView view() const { return {data_.get(), size_}; }
  // Implicit conversion is intended: a SecureBytes goes wherever a ByteView input is taken.
  // The non-const overload exists because SecureBytes is also a contiguous range, so span's
  // (template) range constructor competes; with both overloads the non-template conversion
  // always wins and GCC's -Wconversion "choosing constructor over conversion" stays quiet.
  operator ByteView() const { return view(); }  // NOLINT(google-explicit-constructor)
  operator ByteView() { return view(); }        // NOLINT(google-explicit-constructor)
  std::span<std::uint8_t> span() { return {data_.get(), size_}; }

  // Shrinking cleanses the dropped tail; growing appends zero bytes (and cleanses the old
  // allocation if it has to move).
  void resize(std::size_t n);
  void clear() { resize(0); }

  std::uint8_t* begin() { return data_.get(); }
  std::uint8_t* end() { return data_.get() + size_; }
  const std::uint8_t* begin() const { return data_.get(); }
  const std::uint8_t* end() const { return data_.get() + size_; }

 private:
  // Cleanses the whole allocation and releases it; leaves *this empty.
  void Release() noexcept;

  std::unique_ptr<std::uint8_t[]> data_;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

}  // namespace kms::crypto
