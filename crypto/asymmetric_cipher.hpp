// File: crypto/asymmetric_cipher.hpp
//
// Public-key encryption with an asymmetric KMS key: RSAES-OAEP (MGF1 with the same hash, no
// label) and SM2 public-key encryption. The ciphertext is exactly the algorithm's standard
// output, with no kmsd framing, so data encrypted offline with the public key decrypts here and
// the other way round:
//   * RSA-OAEP: a big-endian integer as long as the modulus (256 bytes for RSA_2048).
//   * SM2: OpenSSL's encoding, DER SEQUENCE { C1x INTEGER, C1y INTEGER, C3 OCTET STRING (SM3
//     hash), C2 OCTET STRING }: the GM/T 0009 ASN.1 form in C1C3C2 order.
//
//   auto blob = crypto::AsymmetricEncrypt(pkey.get(), crypto::AsymmetricCipher::kRsaOaepSha256,
//                                         plaintext);
//   auto plain = crypto::AsymmetricDecrypt(pkey.get(), crypto::AsymmetricCipher::kRsaOaepSha256,
//                                          *blob);  // kAuthFailed when it does not decrypt
//
// Thread safety: every function may run on any thread; `key` is only read (OpenSSL allows
// concurrent use of one EVP_PKEY with separate contexts, which these functions create).
#pragma once

#include "crypto/bytes.hpp"
#include "crypto/error.hpp"
#include "crypto/evp_handles.hpp"

namespace kms::crypto {

enum class AsymmetricCipher {
  kRsaOaepSha1,    // RSAES_OAEP_SHA_1
  kRsaOaepSha256,  // RSAES_OAEP_SHA_256
  kSm2,            // SM2PKE
};

// Encrypts `plaintext` under the public half of `key` (a private key works too). kBadInput when
// the key does not fit the cipher or the plaintext is too long for it; kOpenSsl otherwise.
Result<Bytes> AsymmetricEncrypt(const EVP_PKEY* key, AsymmetricCipher cipher, ByteView plaintext);

// Decrypts with the private `key`. Any ciphertext that does not decrypt (wrong length, wrong
// padding, wrong key, tampered bytes, not DER for SM2) is kAuthFailed, with no detail: callers
// must not tell those cases apart.
Result<SecureBytes> AsymmetricDecrypt(const EVP_PKEY* key, AsymmetricCipher cipher,
                                      ByteView ciphertext);

}  // namespace kms::crypto
