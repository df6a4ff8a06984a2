// File: fuzz_blob.cpp
//
// libFuzzer harness for the ciphertext blob (crypto/ciphertext_blob.hpp): the header parser and
// the authenticated open path, under one fixed 32-byte key material.
//
// Input: the first byte picks a mode (modulo 3), the rest is that mode's data.
//   0  raw: the data is a blob. ParseBlobHeader and OpenBlob (empty and non-empty context) must
//      not crash; if OpenBlob succeeds, the header parsed and the plaintext has the size the
//      format implies (the corpus holds a blob sealed under the fixed material, so it can).
//   1  tamper: the data edits a fixed sealed blob: one byte of truncation length (modulo the
//      blob size + 1), then 3-byte records (offset u16 big-endian modulo the size, XOR mask).
//      OpenBlob must fail unless the edited blob equals the original, and then return the
//      original plaintext.
//   2  context: the data is an encryption context, NUL-separated key, value, key, value...
//      Opening the fixed blob must succeed exactly when that context equals the sealing one.
//
// Any crash, sanitizer report or failed invariant (abort) is a finding. Single-threaded.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "crypto/bytes.hpp"
#include "crypto/ciphertext_blob.hpp"
#include "crypto/encryption_context.hpp"

namespace {

using kms::crypto::Bytes;
using kms::crypto::ByteView;
using kms::crypto::EncryptionContext;

void Check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "fuzz_blob: invariant failed: %s\n", what);
  std::abort();
}

Bytes BytesOf(std::string_view s) { return Bytes(s.begin(), s.end()); }

// The fixed material, key id and sealed blob every mode works with. The IV is fixed too
// (SealBlobWithIv), so the blob is the same in every run and a corpus entry can hold it.
struct Fixture {
  Bytes material = BytesOf("fuzz-blob-key-material-32-bytes!");
  std::string key_id = "1234abcd-12ab-34cd-56ef-1234567890ab";
  Bytes plaintext = BytesOf("fuzz plaintext");
  EncryptionContext context{{"purpose", "fuzz"}, {"tenant", "42"}};
  Bytes blob;

  Fixture() {
    auto sealed = kms::crypto::detail::SealBlobWithIv(key_id, 7, material, BytesOf("fuzz-iv-12by"),
                                                      plaintext, context);
    Check(sealed.has_value(), "SealBlobWithIv of the fixture");
    blob = *sealed;
  }
};

const Fixture& TheFixture() {
  static const Fixture fixture;
  return fixture;
}

bool SamePlaintext(const kms::crypto::SecureBytes& got, const Bytes& want) {
  const ByteView view = got;
  return Bytes(view.begin(), view.end()) == want;
}

void Raw(ByteView data) {
  const Fixture& f = TheFixture();
  auto header = kms::crypto::ParseBlobHeader(data);
  if (header) {
    Check(header->key_id.size() == kms::crypto::kBlobKeyIdBytes, "parsed key id length");
    Check(data.size() >= kms::crypto::kBlobOverheadBytes, "parsed a blob shorter than overhead");
  }
  for (const EncryptionContext& context : {EncryptionContext{}, f.context}) {
    auto opened = kms::crypto::OpenBlob(data, f.material, context);
    if (!opened) continue;
    Check(header.has_value(), "OpenBlob succeeded where ParseBlobHeader failed");
    Check(opened->size() + kms::crypto::kBlobOverheadBytes == data.size(),
          "plaintext size is not blob size minus overhead");
  }
}

void Tamper(ByteView data) {
  const Fixture& f = TheFixture();
  Bytes blob = f.blob;
  if (!data.empty()) {
    blob.resize(blob.size() - data[0] % (blob.size() + 1));
    data = data.subspan(1);
  }
  for (; data.size() >= 3 && !blob.empty(); data = data.subspan(3)) {
    const std::size_t offset = (std::size_t{data[0]} << 8 | data[1]) % blob.size();
    blob[offset] ^= data[2];
  }
  auto opened = kms::crypto::OpenBlob(blob, f.material, f.context);
  if (blob == f.blob) {
    Check(opened.has_value(), "the unchanged blob did not open");
    Check(SamePlaintext(*opened, f.plaintext), "the unchanged blob opened to other plaintext");
  } else {
    Check(!opened.has_value(), "a modified blob opened");
    Check(opened.error().code != kms::crypto::Error::Code::kOpenSsl, "OpenSSL failure on open");
  }
}

void Context(ByteView data) {
  const Fixture& f = TheFixture();
  EncryptionContext context;
  const std::string_view text(reinterpret_cast<const char*>(data.data()), data.size());
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t key_end = std::min(text.find('\0', pos), text.size());
    const std::string_view key = text.substr(pos, key_end - pos);
    pos = key_end + 1;
    std::string_view value;
    if (pos < text.size()) {
      const std::size_t value_end = std::min(text.find('\0', pos), text.size());
      value = text.substr(pos, value_end - pos);
      pos = value_end + 1;
    }
    context.insert_or_assign(std::string(key), std::string(value));
  }
  auto opened = kms::crypto::OpenBlob(f.blob, f.material, context);
  if (context == f.context) {
    Check(opened.has_value(), "the sealing context did not open the blob");
    Check(SamePlaintext(*opened, f.plaintext), "the blob opened to other plaintext");
  } else {
    Check(!opened.has_value(), "a different encryption context opened the blob");
    Check(opened.error().code == kms::crypto::Error::Code::kAuthFailed,
          "a different context failed other than by authentication");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const ByteView rest(data + 1, size - 1);
  switch (data[0] % 3) {
    case 0:
      Raw(rest);
      break;
    case 1:
      Tamper(rest);
      break;
    default:
      Context(rest);
      break;
  }
  return 0;
}
