#include "crypto/key_wrap.hpp"

#include "base/try.hpp"

#include <cstddef>
#include <limits>

#include <openssl/evp.h>

#include "crypto/asymmetric_cipher.hpp"
#include "crypto/random.hpp"

namespace kms::crypto {
namespace {

constexpr std::size_t kSemiblock = 8;           // RFC 5649 works in 64-bit semiblocks
constexpr std::size_t kEphemeralKeyBytes = 32;  // AES-256, as AWS's instructions make

const EVP_CIPHER* WrapPadCipher(std::size_t kek_bytes) {
  switch (kek_bytes) {
    case 16:
      return EVP_aes_128_wrap_pad();
    case 24:
      return EVP_aes_192_wrap_pad();
    case 32:
      return EVP_aes_256_wrap_pad();
    default:
      return nullptr;
  }
}

// A context for AES-KWP under `kek`, for wrapping or unwrapping. kBadInput for a bad KEK size.
Result<CipherCtx> WrapContext(ByteView kek, bool wrap) {
  const EVP_CIPHER* cipher = WrapPadCipher(kek.size());
  if (cipher == nullptr) {
    return Error{Error::Code::kBadInput, "an AES key wrap KEK is 16, 24 or 32 bytes"};
  }
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (ctx == nullptr) return OpenSslError("EVP_CIPHER_CTX_new");
  // Wrap modes must be allowed explicitly; a null IV selects RFC 5649's alternative IV.
  EVP_CIPHER_CTX_set_flags(ctx.get(), EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
  const int ok = wrap ? EVP_EncryptInit_ex(ctx.get(), cipher, nullptr, kek.data(), nullptr)
                      : EVP_DecryptInit_ex(ctx.get(), cipher, nullptr, kek.data(), nullptr);
  if (ok != 1) return OpenSslError("AES key wrap init");
  return ctx;
}

bool IsRsaScheme(KeyWrapScheme scheme) { return scheme != KeyWrapScheme::kSm2Pke; }

bool IsHybridScheme(KeyWrapScheme scheme) {
  return scheme == KeyWrapScheme::kRsaAesKeyWrapSha1 ||
         scheme == KeyWrapScheme::kRsaAesKeyWrapSha256;
}

// The asymmetric cipher that wraps the material (or, for the hybrid schemes, the AES key).
AsymmetricCipher OuterCipher(KeyWrapScheme scheme) {
  switch (scheme) {
    case KeyWrapScheme::kRsaOaepSha1:
    case KeyWrapScheme::kRsaAesKeyWrapSha1:
      return AsymmetricCipher::kRsaOaepSha1;
    case KeyWrapScheme::kRsaOaepSha256:
    case KeyWrapScheme::kRsaAesKeyWrapSha256:
      return AsymmetricCipher::kRsaOaepSha256;
    case KeyWrapScheme::kSm2Pke:
      return AsymmetricCipher::kSm2;
  }
  return AsymmetricCipher::kSm2;
}

Result<void> RequireKeyFits(const EVP_PKEY* key, KeyWrapScheme scheme) {
  if (key == nullptr || EVP_PKEY_is_a(key, IsRsaScheme(scheme) ? "RSA" : "SM2") != 1) {
    return Error{Error::Code::kBadInput, "the wrapping key does not fit the wrapping scheme"};
  }
  return {};
}

}  // namespace

Result<Bytes> AesKeyWrapPad(ByteView kek, ByteView plaintext) {
  if (plaintext.empty() ||
      plaintext.size() > static_cast<std::size_t>(std::numeric_limits<int>::max() / 2)) {
    return Error{Error::Code::kBadInput, "AES key wrap needs 1 byte or more"};
  }
  KMS_ASSIGN_OR_RETURN(CipherCtx ctx, WrapContext(kek, /*wrap=*/true));
  // The output: the plaintext padded to whole semiblocks, plus one semiblock.
  Bytes out((plaintext.size() + kSemiblock - 1) / kSemiblock * kSemiblock + kSemiblock);
  int len = 0;
  if (EVP_EncryptUpdate(ctx.get(), out.data(), &len, plaintext.data(),
                        static_cast<int>(plaintext.size())) != 1) {
    return OpenSslError("AES key wrap");
  }
  int tail = 0;
  if (EVP_EncryptFinal_ex(ctx.get(), out.data() + len, &tail) != 1) {
    return OpenSslError("AES key wrap final");
  }
  out.resize(static_cast<std::size_t>(len) + static_cast<std::size_t>(tail));
  return out;
}

Result<SecureBytes> AesKeyUnwrapPad(ByteView kek, ByteView wrapped) {
  KMS_ASSIGN_OR_RETURN(CipherCtx ctx, WrapContext(kek, /*wrap=*/false));
  const Error failed{Error::Code::kAuthFailed, "the key material does not unwrap"};
  if (wrapped.size() < 2 * kSemiblock || wrapped.size() % kSemiblock != 0 ||
      wrapped.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    return failed;
  }
  SecureBytes out(wrapped.size());
  int len = 0;
  if (EVP_DecryptUpdate(ctx.get(), out.data(), &len, wrapped.data(),
                        static_cast<int>(wrapped.size())) != 1 ||
      len <= 0) {
    DrainOpenSslErrors();
    return failed;
  }
  int tail = 0;
  if (EVP_DecryptFinal_ex(ctx.get(), out.data() + len, &tail) != 1) {
    DrainOpenSslErrors();
    return failed;
  }
  out.resize(static_cast<std::size_t>(len) + static_cast<std::size_t>(tail));
  return out;
}

Result<Bytes> WrapKeyMaterial(const EVP_PKEY* wrapping_key, KeyWrapScheme scheme,
                              ByteView material) {
  KMS_TRY(RequireKeyFits(wrapping_key, scheme));
  if (!IsHybridScheme(scheme)) {
    return AsymmetricEncrypt(wrapping_key, OuterCipher(scheme), material);
  }
  KMS_ASSIGN_OR_RETURN(SecureBytes aes_key, RandomSecureBytes(kEphemeralKeyBytes));
  KMS_ASSIGN_OR_RETURN(Bytes out, AsymmetricEncrypt(wrapping_key, OuterCipher(scheme), aes_key));
  KMS_ASSIGN_OR_RETURN(Bytes wrapped, AesKeyWrapPad(aes_key, material));
  out.insert(out.end(), wrapped.begin(), wrapped.end());
  return out;
}

Result<SecureBytes> UnwrapKeyMaterial(const EVP_PKEY* wrapping_key, KeyWrapScheme scheme,
                                      ByteView encrypted) {
  KMS_TRY(RequireKeyFits(wrapping_key, scheme));
  if (!IsHybridScheme(scheme)) {
    return AsymmetricDecrypt(wrapping_key, OuterCipher(scheme), encrypted);
  }
  const Error failed{Error::Code::kAuthFailed, "the key material does not unwrap"};
  // The RSA ciphertext of the AES key is exactly as long as the modulus.
  const int modulus = EVP_PKEY_get_size(wrapping_key);
  if (modulus <= 0 || encrypted.size() <= static_cast<std::size_t>(modulus)) return failed;
  const auto split = static_cast<std::size_t>(modulus);
  auto aes_key = AsymmetricDecrypt(wrapping_key, OuterCipher(scheme), encrypted.first(split));
  if (!aes_key) return failed;
  auto material = AesKeyUnwrapPad(*aes_key, encrypted.subspan(split));
  if (!material) return failed;  // an AES key of a bad size is the client's error too
  return std::move(*material);
}

}  // namespace kms::crypto
