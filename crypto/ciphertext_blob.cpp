#include "crypto/ciphertext_blob.hpp"

#include "base/try.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <utility>

#include "crypto/random.hpp"

namespace kms::crypto {
namespace {

// A thread's AAD buffer is kept between calls, but not if a huge context made it grow past this.
constexpr std::size_t kMaxRetainedAadBytes = std::size_t{64} * 1024;

Error BadInput(std::string message) { return Error{Error::Code::kBadInput, std::move(message)}; }

bool IsPrintableAscii(std::uint8_t c) { return c >= 0x20 && c <= 0x7E; }

bool IsPrintableAscii(ByteView bytes) {
  return std::all_of(bytes.begin(), bytes.end(),
                     [](std::uint8_t c) { return IsPrintableAscii(c); });
}

Result<void> CheckSealInputs(std::string_view key_id, ByteView key_material) {
  if (key_id.size() != kBlobKeyIdBytes || !IsPrintableAscii(AsBytes(key_id))) {
    return BadInput("ciphertext blob key id must be 36 printable ASCII characters");
  }
  if (key_material.size() != kBlobKeyMaterialBytes) {
    return BadInput("ciphertext blob key material must be 32 bytes");
  }
  return {};
}

// Fills bytes [0, kBlobIvOffset) of `blob`: format byte, key id, material version.
void WriteHeaderPrefix(std::string_view key_id, std::uint32_t material_version, Bytes& blob) {
  blob[0] = kBlobFormatV1;
  std::memcpy(blob.data() + 1, key_id.data(), kBlobKeyIdBytes);
  std::uint8_t* version = blob.data() + kBlobMaterialVersionOffset;
  version[0] = static_cast<std::uint8_t>(material_version >> 24);
  version[1] = static_cast<std::uint8_t>(material_version >> 16);
  version[2] = static_cast<std::uint8_t>(material_version >> 8);
  version[3] = static_cast<std::uint8_t>(material_version);
}

// This thread's AAD buffer, filled with header || EncodeContext(context). The returned view is
// valid until the next call on this thread.
ByteView BuildAad(ByteView header, const EncryptionContext& context) {
  thread_local Bytes aad;
  if (aad.capacity() > kMaxRetainedAadBytes) Bytes().swap(aad);
  aad.assign(header.begin(), header.end());
  AppendEncodedContext(context, aad);
  return aad;
}

// Seals into a blob whose header (including the IV) is already written.
Result<void> SealInto(Bytes& blob, ByteView key_material, ByteView plaintext,
                      const EncryptionContext& context) {
  const std::span<std::uint8_t> all(blob);
  const ByteView header = all.first(kBlobHeaderBytes);
  return AesGcmSeal(key_material, header.subspan(kBlobIvOffset, kGcmIvBytes),
                    BuildAad(header, context), plaintext,
                    all.subspan(kBlobHeaderBytes, plaintext.size()),
                    all.subspan(kBlobHeaderBytes + plaintext.size(), kGcmTagBytes));
}

}  // namespace

Result<Bytes> SealBlob(std::string_view key_id, std::uint32_t material_version,
                       ByteView key_material, ByteView plaintext,
                       const EncryptionContext& context) {
  KMS_TRY(CheckSealInputs(key_id, key_material));
  Bytes blob(kBlobOverheadBytes + plaintext.size());
  WriteHeaderPrefix(key_id, material_version, blob);
  if (auto r = RandomFill(std::span(blob).subspan(kBlobIvOffset, kGcmIvBytes)); !r) {
    return r.error();
  }
  KMS_TRY(SealInto(blob, key_material, plaintext, context));
  return blob;
}

Result<BlobHeader> ParseBlobHeader(ByteView blob) {
  if (blob.size() < kBlobOverheadBytes) {
    return BadInput("ciphertext blob is shorter than its " + std::to_string(kBlobOverheadBytes) +
                    "-byte minimum");
  }
  if (blob[0] != kBlobFormatV1) return BadInput("ciphertext blob has an unknown format version");
  const ByteView key_id = blob.subspan(1, kBlobKeyIdBytes);
  if (!IsPrintableAscii(key_id)) return BadInput("ciphertext blob key id is not printable ASCII");
  const ByteView v = blob.subspan(kBlobMaterialVersionOffset, 4);
  const std::uint32_t version = (std::uint32_t{v[0]} << 24) | (std::uint32_t{v[1]} << 16) |
                                (std::uint32_t{v[2]} << 8) | std::uint32_t{v[3]};
  return BlobHeader{std::string(key_id.begin(), key_id.end()), version};
}

Result<SecureBytes> OpenBlob(ByteView blob, ByteView key_material,
                             const EncryptionContext& context) {
  KMS_TRY(ParseBlobHeader(blob));
  if (key_material.size() != kBlobKeyMaterialBytes) {
    return BadInput("ciphertext blob key material must be 32 bytes");
  }
  const std::size_t n = blob.size() - kBlobOverheadBytes;
  const ByteView header = blob.first(kBlobHeaderBytes);
  SecureBytes plaintext(n);
  if (auto r = AesGcmOpen(key_material, header.subspan(kBlobIvOffset, kGcmIvBytes),
                          BuildAad(header, context), blob.subspan(kBlobHeaderBytes, n),
                          blob.subspan(kBlobHeaderBytes + n, kGcmTagBytes), plaintext.span());
      !r) {
    return r.error();
  }
  return plaintext;
}

namespace detail {

Result<Bytes> SealBlobWithIv(std::string_view key_id, std::uint32_t material_version,
                             // NOLINTNEXTLINE(bugprone-easily-swappable-parameters): test hook
                             ByteView key_material, ByteView iv, ByteView plaintext,
                             const EncryptionContext& context) {
  KMS_TRY(CheckSealInputs(key_id, key_material));
  if (iv.size() != kGcmIvBytes) return BadInput("ciphertext blob IV must be 12 bytes");
  Bytes blob(kBlobOverheadBytes + plaintext.size());
  WriteHeaderPrefix(key_id, material_version, blob);
  std::copy(iv.begin(), iv.end(), blob.data() + kBlobIvOffset);
  KMS_TRY(SealInto(blob, key_material, plaintext, context));
  return blob;
}

}  // namespace detail
}  // namespace kms::crypto
