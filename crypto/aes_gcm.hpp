// File: crypto/aes_gcm.hpp
//
// One-shot AES-GCM (128/192/256-bit keys, 96-bit IV, full 128-bit tag) over caller-owned
// buffers. This is the primitive under ciphertext blobs; it never allocates per call.
//
//   std::array<std::uint8_t, crypto::kGcmTagBytes> tag;
//   Bytes ct(pt.size());
//   KMS_TRY(crypto::AesGcmSeal(key, iv, aad, pt, ct, tag));   // base/try.hpp
//
// Implementation notes: the EVP_CIPHERs are fetched once per process and each thread reuses
// one EVP_CIPHER_CTX, re-initialised with the new IV on every call and with the key only when
// it differs from the previous call's (the AES key schedule is then reused).
//
// Thread safety: safe to call concurrently from any number of threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "crypto/bytes.hpp"
#include "crypto/error.hpp"

namespace kms::crypto {

inline constexpr std::size_t kGcmIvBytes = 12;
inline constexpr std::size_t kGcmTagBytes = 16;

// Encrypts `plaintext` into `ciphertext_out` and writes the 16-byte tag into `tag_out`, both
// authenticating `aad`.
// REQUIRES: `ciphertext_out` is either disjoint from `plaintext` or exactly the same bytes
//           (in-place); partial overlap fails with kOpenSsl.
// Errors: kBadInput if key is not 16, 24 or 32 bytes, iv is not 12 bytes,
//         ciphertext_out.size() != plaintext.size() or tag_out.size() != 16;
//         kOpenSsl if OpenSSL fails (message holds the drained error queue).
// The caller must never reuse an (key, iv) pair: use a fresh RandomFill'd IV per message.
Result<void> AesGcmSeal(ByteView key, ByteView iv, ByteView aad, ByteView plaintext,
                        std::span<std::uint8_t> ciphertext_out, std::span<std::uint8_t> tag_out);

// Decrypts `ciphertext` into `plaintext_out` after checking `tag` over `aad` and the
// ciphertext. The tag is compared inside GCM (constant time), never with ==.
// REQUIRES: as for AesGcmSeal, `plaintext_out` is disjoint from `ciphertext` or identical to it.
// Errors: kBadInput for the size errors of AesGcmSeal (and tag.size() != 16; truncated tags are
//         not accepted); kAuthFailed if the tag does not verify; kOpenSsl if OpenSSL fails.
// On any error `plaintext_out` is cleansed, so unauthenticated plaintext never escapes.
Result<void> AesGcmOpen(ByteView key, ByteView iv, ByteView aad, ByteView ciphertext, ByteView tag,
                        std::span<std::uint8_t> plaintext_out);

}  // namespace kms::crypto
