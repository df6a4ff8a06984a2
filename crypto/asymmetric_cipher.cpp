#include "crypto/asymmetric_cipher.hpp"

#include "base/try.hpp"

#include <cstddef>
#include <string>

#include <openssl/evp.h>
#include <openssl/rsa.h>

namespace kms::crypto {
namespace {

bool IsRsa(AsymmetricCipher cipher) { return cipher != AsymmetricCipher::kSm2; }

// A context for `key` set up for encryption or decryption with `cipher`; kBadInput when the key
// is of the wrong type for the cipher.
Result<PkeyCtx> CipherContext(const EVP_PKEY* key, AsymmetricCipher cipher, bool encrypt) {
  if (key == nullptr || EVP_PKEY_is_a(key, IsRsa(cipher) ? "RSA" : "SM2") != 1) {
    return Error{Error::Code::kBadInput, "the key does not fit the asymmetric cipher"};
  }
  // OpenSSL only reads the key; its API is not const-correct here.
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, const_cast<EVP_PKEY*>(key), nullptr));
  if (ctx == nullptr) return OpenSslError("EVP_PKEY_CTX_new_from_pkey");
  const int init = encrypt ? EVP_PKEY_encrypt_init(ctx.get()) : EVP_PKEY_decrypt_init(ctx.get());
  if (init != 1) return OpenSslError(encrypt ? "EVP_PKEY_encrypt_init" : "EVP_PKEY_decrypt_init");
  if (IsRsa(cipher)) {
    const EVP_MD* md = cipher == AsymmetricCipher::kRsaOaepSha1 ? EVP_sha1() : EVP_sha256();
    if (EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING) != 1 ||
        EVP_PKEY_CTX_set_rsa_oaep_md(ctx.get(), md) != 1 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), md) != 1) {
      return OpenSslError("RSA-OAEP parameters");
    }
  }
  return ctx;
}

// True when `der` is exactly one DER SEQUENCE (tag, definite length, contents) with nothing
// after it. OpenSSL's SM2 decryption ignores trailing bytes; AWS-style strictness wants a
// ciphertext with bytes appended to be refused like any other damaged one.
bool IsOneDerSequence(ByteView der) {
  if (der.size() < 2 || der[0] != 0x30) return false;
  std::size_t header = 2;
  std::size_t length = der[1];
  if (length & 0x80) {
    const std::size_t count = length & 0x7f;
    if (count == 0 || count > sizeof(std::size_t) || der.size() < 2 + count) return false;
    length = 0;
    for (std::size_t i = 0; i < count; ++i) length = (length << 8) | der[2 + i];
    header += count;
  }
  return der.size() - header == length;
}

}  // namespace

Result<Bytes> AsymmetricEncrypt(const EVP_PKEY* key, AsymmetricCipher cipher, ByteView plaintext) {
  KMS_ASSIGN_OR_RETURN(auto ctx, CipherContext(key, cipher, /*encrypt=*/true));
  std::size_t len = 0;
  if (EVP_PKEY_encrypt(ctx.get(), nullptr, &len, plaintext.data(), plaintext.size()) != 1) {
    return OpenSslError("EVP_PKEY_encrypt(size)");
  }
  Bytes out(len);
  if (EVP_PKEY_encrypt(ctx.get(), out.data(), &len, plaintext.data(), plaintext.size()) != 1) {
    // RSA refuses a plaintext longer than the padding allows; callers check limits first.
    Error e = OpenSslError("EVP_PKEY_encrypt");
    e.code = Error::Code::kBadInput;
    return e;
  }
  out.resize(len);
  return out;
}

Result<SecureBytes> AsymmetricDecrypt(const EVP_PKEY* key, AsymmetricCipher cipher,
                                      ByteView ciphertext) {
  KMS_ASSIGN_OR_RETURN(auto ctx, CipherContext(key, cipher, /*encrypt=*/false));
  const Error failed{Error::Code::kAuthFailed, "the ciphertext does not decrypt"};
  if (cipher == AsymmetricCipher::kSm2 && !IsOneDerSequence(ciphertext)) return failed;
  std::size_t len = 0;
  if (EVP_PKEY_decrypt(ctx.get(), nullptr, &len, ciphertext.data(), ciphertext.size()) != 1) {
    DrainOpenSslErrors();
    return failed;
  }
  SecureBytes out(len);
  if (EVP_PKEY_decrypt(ctx.get(), out.data(), &len, ciphertext.data(), ciphertext.size()) != 1) {
    DrainOpenSslErrors();
    return failed;
  }
  out.resize(len);
  return out;
}

}  // namespace kms::crypto
