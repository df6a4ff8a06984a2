// File: crypto/ciphertext_blob.hpp
//
// The CiphertextBlob that Encrypt returns and Decrypt accepts. AWS blobs are opaque to
// clients, so the format is ours. Version 1, all integers big-endian:
//
//   off   size  field
//   0     1     format version (= kBlobFormatV1 = 1)
//   1     36    key id (ASCII; a UUID or "mrk-" + 32 hex, both exactly 36 chars)
//   37    4     key material version, uint32 big-endian   <- rotation without trial decryption
//   41    12    IV (RAND_bytes, fresh per blob)
//   53    n     AES-256-GCM ciphertext (n = plaintext length)
//   53+n  16    GCM tag
//
//   AAD = bytes[0,53) || EncodeContext(encryption_context)
//
// The whole header is authenticated, so swapping the key id or material version breaks the tag
// rather than decrypting under another key. The encryption context is authenticated but not
// stored: Decrypt must be given the same context (see encryption_context.hpp).
// Changing anything in this table needs a new format byte and a new golden test in
// tests/unit/crypto/ciphertext_blob_test.cpp.
//
//   auto blob = crypto::SealBlob(key_id, material_version, material, plaintext, context);
//   auto header = crypto::ParseBlobHeader(*blob);      // which key and which material version
//   auto plain = crypto::OpenBlob(*blob, material, context);
//
// Thread safety: safe to call concurrently from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "crypto/aes_gcm.hpp"
#include "crypto/bytes.hpp"
#include "crypto/encryption_context.hpp"
#include "crypto/error.hpp"

namespace kms::crypto {

inline constexpr std::uint8_t kBlobFormatV1 = 1;
inline constexpr std::size_t kBlobKeyIdBytes = 36;
inline constexpr std::size_t kBlobMaterialVersionOffset = 1 + kBlobKeyIdBytes;      // 37
inline constexpr std::size_t kBlobIvOffset = kBlobMaterialVersionOffset + 4;        // 41
inline constexpr std::size_t kBlobHeaderBytes = kBlobIvOffset + kGcmIvBytes;        // 53
inline constexpr std::size_t kBlobOverheadBytes = kBlobHeaderBytes + kGcmTagBytes;  // 69
inline constexpr std::size_t kBlobKeyMaterialBytes = 32;                            // AES-256

struct BlobHeader {
  std::string key_id;
  std::uint32_t material_version;
};

// Encrypts `plaintext` under `key_material` with a fresh random IV; returns a blob of
// kBlobOverheadBytes + plaintext.size() bytes.
// Errors: kBadInput if key_id is not 36 printable ASCII characters or key_material is not 32
//         bytes; kOpenSsl if RAND_bytes or the cipher fails.
Result<Bytes> SealBlob(std::string_view key_id, std::uint32_t material_version,
                       ByteView key_material, ByteView plaintext, const EncryptionContext& context);

// Reads the unauthenticated header, to find the key and material version to open the blob with.
// Errors: kBadInput if the blob is shorter than kBlobOverheadBytes, its format byte is not
//         kBlobFormatV1, or its key id holds a non-printable byte.
Result<BlobHeader> ParseBlobHeader(ByteView blob);

// Authenticates and decrypts a blob made by SealBlob.
// Errors: kBadInput if the header does not parse or key_material is not 32 bytes; kAuthFailed if
//         the tag does not verify (wrong key material, different context, any modified byte);
//         kOpenSsl if the cipher fails. No plaintext is returned or left behind on error.
Result<SecureBytes> OpenBlob(ByteView blob, ByteView key_material,
                             const EncryptionContext& context);

namespace detail {

// SealBlob with a caller-chosen IV, for golden-bytes tests only. Production code must use
// SealBlob: reusing an IV under one key breaks GCM. Errors as for SealBlob, plus kBadInput if
// iv is not 12 bytes.
Result<Bytes> SealBlobWithIv(std::string_view key_id, std::uint32_t material_version,
                             ByteView key_material, ByteView iv, ByteView plaintext,
                             const EncryptionContext& context);

}  // namespace detail
}  // namespace kms::crypto
