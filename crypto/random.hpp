// File: crypto/random.hpp
//
// The only source of randomness in kmsd: OpenSSL's RAND_bytes (the default DRBG, seeded from
// the OS). Used for IVs, key material, data keys and GenerateRandom.
//
//   KMS_ASSIGN_OR_RETURN(Bytes iv, crypto::RandomBytes(crypto::kGcmIvBytes));
//
// Small requests (up to kMaxBufferedRandomRequest bytes: IVs, data keys, key material) are
// served from a per-thread RandomBuffer of RAND_bytes output, refilled kRandomBufferBytes at a
// time. Why: each RAND_bytes call has a fixed cost (OpenSSL's fork check calls getpid() twice,
// a syscall, plus the DRBG's locking and bookkeeping) that was ~15 % of a GenerateDataKey
// request; one refill serves ~90 such requests. The bytes are the same DRBG output, only
// fetched earlier, so the source is still a CSPRNG. Every byte handed out is wiped from the
// buffer at once, and the rest is wiped when the thread exits, so a byte is never handed out
// twice and no spent secret stays in the buffer. kmsd never forks, so the buffer cannot be
// duplicated into a child process (which is what OpenSSL's getpid() check guards against).
//
// Thread safety: safe to call from any thread (each thread has its own buffer; OpenSSL keeps
// per-thread DRBGs). A RandomBuffer object itself is not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "crypto/bytes.hpp"
#include "crypto/error.hpp"

namespace kms::crypto {

// Per-thread buffer size, and the largest request served from it; larger requests (for
// example GenerateRandom of 1024 bytes) call RAND_bytes directly.
inline constexpr std::size_t kRandomBufferBytes = 4096;
inline constexpr std::size_t kMaxBufferedRandomRequest = 64;

// Initialises OpenSSL without reading openssl.cnf (kmsd needs only the built-in default
// provider, and a system-wide config must not change what it does) and seeds the shared
// DRBG, so the first request does not pay for either. Call once, early, from any thread
// (main runs it beside the database load). kOpenSsl if initialisation or seeding fails.
Result<void> InitializeOpenSsl();

// Fills `out` with random bytes. An empty span succeeds. kOpenSsl if the DRBG fails; `out` is
// then wiped (never left half-filled).
Result<void> RandomFill(std::span<std::uint8_t> out);

// n random bytes, for values that are not secret (IVs, nonces, GenerateRandom output).
Result<Bytes> RandomBytes(std::size_t n);

// n random bytes in a SecureBytes, for key material and data keys.
Result<SecureBytes> RandomSecureBytes(std::size_t n);

// Hands out the output of `source` in order, fetching it `capacity` bytes at a time. Requests
// larger than `max_buffered` go to `source` directly. Bytes handed out are wiped from the
// buffer (OPENSSL_cleanse); the destructor wipes the rest. Exposed for tests, which pass a
// deterministic source; production code calls RandomFill.
class RandomBuffer {
 public:
  using Source = Result<void> (*)(std::span<std::uint8_t> out);

  // REQUIRES: capacity > 0, max_buffered <= capacity, source != nullptr.
  RandomBuffer(std::size_t capacity, std::size_t max_buffered, Source source);
  ~RandomBuffer();
  RandomBuffer(const RandomBuffer&) = delete;
  RandomBuffer& operator=(const RandomBuffer&) = delete;

  // As RandomFill. On a source failure `out` is wiped and the buffer is left empty.
  Result<void> Fill(std::span<std::uint8_t> out);

  // Unspent bytes in the buffer (for tests).
  std::size_t available() const { return capacity_ - next_; }

 private:
  std::unique_ptr<std::uint8_t[]> bytes_;
  std::size_t capacity_;
  std::size_t max_buffered_;
  std::size_t next_;  // bytes_[next_, capacity_) are unspent; bytes_[0, next_) are wiped
  Source source_;
};

}  // namespace kms::crypto
