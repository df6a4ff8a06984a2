#include "crypto/aes_gcm.hpp"

#include "base/try.hpp"

#include <algorithm>
#include <array>
#include <string>
#include <string_view>
#include <utility>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "crypto/evp_handles.hpp"

namespace kms::crypto {
namespace {

// EVP_CipherUpdate takes int lengths; larger inputs go in chunks of this size.
constexpr std::size_t kMaxUpdateChunk = std::size_t{1} << 30;

Error BadInput(std::string message) { return Error{Error::Code::kBadInput, std::move(message)}; }

// The GCM ciphers, fetched once per process (EVP_aes_256_gcm() would do an implicit fetch on
// every init). nullptr if the provider does not offer the algorithm.
const EVP_CIPHER* GcmCipher(std::size_t key_bytes) {
  static const Cipher kAes128(EVP_CIPHER_fetch(nullptr, "AES-128-GCM", nullptr));
  static const Cipher kAes192(EVP_CIPHER_fetch(nullptr, "AES-192-GCM", nullptr));
  static const Cipher kAes256(EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr));
  switch (key_bytes) {
    case 16:
      return kAes128.get();
    case 24:
      return kAes192.get();
    case 32:
      return kAes256.get();
    default:
      return nullptr;
  }
}

// One cipher context per thread. `primed` is the cipher whose provider context `ctx`
// currently holds: re-initialising with a null cipher reuses that provider context, whereas
// passing a cipher makes OpenSSL free and reallocate it.
//
// `key` is the key whose schedule `ctx` holds (valid when primed). A call under the same key
// (the common case: one KMS key serving many requests) passes only the new IV, so OpenSSL
// skips the AES key expansion and the GCM hash-key setup, ~5 % of a GenerateDataKey request.
// The context holds the expanded key anyway, so keeping the raw key beside it exposes nothing
// new; both are cleansed when the thread exits.
struct ThreadGcm {
  ThreadGcm() = default;
  ThreadGcm(const ThreadGcm&) = delete;
  ThreadGcm& operator=(const ThreadGcm&) = delete;
  ~ThreadGcm() { OPENSSL_cleanse(key.data(), key.size()); }

  CipherCtx ctx{EVP_CIPHER_CTX_new()};
  const EVP_CIPHER* primed = nullptr;
  std::array<std::uint8_t, 32> key{};
};

ThreadGcm& ThisThreadGcm() {
  thread_local ThreadGcm state;
  return state;
}

Result<void> CheckKeyAndIv(ByteView key, ByteView iv) {
  if (key.size() != 16 && key.size() != 24 && key.size() != 32) {
    return BadInput("AES-GCM key must be 16, 24 or 32 bytes, got " + std::to_string(key.size()));
  }
  if (iv.size() != kGcmIvBytes) {
    return BadInput("AES-GCM IV must be 12 bytes, got " + std::to_string(iv.size()));
  }
  return {};
}

// Fails the current operation with kOpenSsl. The thread's context is left in an unknown state,
// so the next call starts it over from scratch.
Error Fail(ThreadGcm& state, std::string_view operation) {
  state.primed = nullptr;
  OPENSSL_cleanse(state.key.data(), state.key.size());
  return OpenSslError(operation);
}

// Initialises this thread's context for one seal (encrypt = 1) or open (encrypt = 0).
Result<EVP_CIPHER_CTX*> Begin(ThreadGcm& state, ByteView key, ByteView iv, int encrypt) {
  const EVP_CIPHER* cipher = GcmCipher(key.size());
  if (cipher == nullptr) return Fail(state, "EVP_CIPHER_fetch(AES-GCM)");
  if (state.ctx == nullptr) return Fail(state, "EVP_CIPHER_CTX_new");
  // The cipher's key size equals key.size(), so a primed context's key is compared in full.
  const bool same_cipher = state.primed == cipher;
  const bool same_key = same_cipher && CRYPTO_memcmp(state.key.data(), key.data(), key.size()) == 0;
  state.primed = nullptr;
  // The default GCM IV length is 12 bytes, so no IV-length parameter is needed. A null key
  // keeps the schedule already in the context; a null cipher keeps its provider context.
  if (EVP_CipherInit_ex2(state.ctx.get(), same_cipher ? nullptr : cipher,
                         same_key ? nullptr : key.data(), iv.data(), encrypt, nullptr) != 1) {
    return Fail(state, "EVP_CipherInit_ex2");
  }
  if (!same_key) std::copy(key.begin(), key.end(), state.key.begin());
  state.primed = cipher;
  return state.ctx.get();
}

// Feeds `in` through the context: AAD when `out` is null, otherwise data written to `out`.
Result<void> Update(ThreadGcm& state, std::uint8_t* out, ByteView in) {
  while (!in.empty()) {
    const std::size_t n = std::min(in.size(), kMaxUpdateChunk);
    int written = 0;
    if (EVP_CipherUpdate(state.ctx.get(), out, &written, in.data(), static_cast<int>(n)) != 1 ||
        (out != nullptr && static_cast<std::size_t>(written) != n)) {
      return Fail(state, out == nullptr ? "EVP_CipherUpdate(aad)" : "EVP_CipherUpdate");
    }
    in = in.subspan(n);
    if (out != nullptr) out += n;
  }
  return {};
}

// Cleanses a plaintext buffer on scope exit unless Keep() was called.
class CleanseUnlessKept {
 public:
  explicit CleanseUnlessKept(std::span<std::uint8_t> buf) : buf_(buf) {}
  CleanseUnlessKept(const CleanseUnlessKept&) = delete;
  CleanseUnlessKept& operator=(const CleanseUnlessKept&) = delete;
  ~CleanseUnlessKept() {
    if (!kept_ && !buf_.empty()) OPENSSL_cleanse(buf_.data(), buf_.size());
  }
  void Keep() { kept_ = true; }

 private:
  std::span<std::uint8_t> buf_;
  bool kept_ = false;
};

}  // namespace

// NOLINTNEXTLINE(bugprone-easily-swappable-parameters): the public signature is fixed.
Result<void> AesGcmSeal(ByteView key, ByteView iv, ByteView aad, ByteView plaintext,
                        std::span<std::uint8_t> ciphertext_out, std::span<std::uint8_t> tag_out) {
  KMS_TRY(CheckKeyAndIv(key, iv));
  if (ciphertext_out.size() != plaintext.size()) {
    return BadInput("AES-GCM ciphertext buffer must be as long as the plaintext");
  }
  if (tag_out.size() != kGcmTagBytes) return BadInput("AES-GCM tag buffer must be 16 bytes");

  ThreadGcm& state = ThisThreadGcm();
  KMS_ASSIGN_OR_RETURN(auto ctx, Begin(state, key, iv, 1));
  KMS_TRY(Update(state, nullptr, aad));
  KMS_TRY(Update(state, ciphertext_out.data(), plaintext));

  std::array<std::uint8_t, kGcmTagBytes> unused{};  // GCM's final step outputs no data bytes
  int final_len = 0;
  if (EVP_EncryptFinal_ex(ctx, unused.data(), &final_len) != 1 || final_len != 0) {
    return Fail(state, "EVP_EncryptFinal_ex");
  }
  std::array<OSSL_PARAM, 2> params = {
      OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag_out.data(), tag_out.size()),
      OSSL_PARAM_construct_end()};
  if (EVP_CIPHER_CTX_get_params(ctx, params.data()) != 1) {
    return Fail(state, "EVP_CIPHER_CTX_get_params(tag)");
  }
  return {};
}

// NOLINTNEXTLINE(bugprone-easily-swappable-parameters): the public signature is fixed.
Result<void> AesGcmOpen(ByteView key, ByteView iv, ByteView aad, ByteView ciphertext, ByteView tag,
                        std::span<std::uint8_t> plaintext_out) {
  CleanseUnlessKept guard(plaintext_out);
  KMS_TRY(CheckKeyAndIv(key, iv));
  if (plaintext_out.size() != ciphertext.size()) {
    return BadInput("AES-GCM plaintext buffer must be as long as the ciphertext");
  }
  if (tag.size() != kGcmTagBytes) return BadInput("AES-GCM tag must be 16 bytes");

  ThreadGcm& state = ThisThreadGcm();
  KMS_ASSIGN_OR_RETURN(auto ctx, Begin(state, key, iv, 0));
  KMS_TRY(Update(state, nullptr, aad));
  KMS_TRY(Update(state, plaintext_out.data(), ciphertext));

  // OpenSSL copies the expected tag out of the parameter; it never writes through the pointer.
  std::array<OSSL_PARAM, 2> params = {
      OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG,
                                        const_cast<std::uint8_t*>(tag.data()), tag.size()),
      OSSL_PARAM_construct_end()};
  if (EVP_CIPHER_CTX_set_params(ctx, params.data()) != 1) {
    return Fail(state, "EVP_CIPHER_CTX_set_params(tag)");
  }
  std::array<std::uint8_t, kGcmTagBytes> unused{};
  int final_len = 0;
  if (EVP_DecryptFinal_ex(ctx, unused.data(), &final_len) != 1) {
    // A tag mismatch: the expected, common failure. The context stays reusable (the next
    // call re-keys it), but clear anything the provider may have queued.
    DrainOpenSslErrors();
    return Error{Error::Code::kAuthFailed, "AES-GCM authentication tag mismatch"};
  }
  if (final_len != 0) return Fail(state, "EVP_DecryptFinal_ex");
  guard.Keep();
  return {};
}

}  // namespace kms::crypto
