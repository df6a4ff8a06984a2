// File: crypto/key_wrap.hpp
//
// Key wrapping for imported key material (GetParametersForImport / ImportKeyMaterial): AES key
// wrap with padding (RFC 5649), and the wrapping schemes AWS KMS documents for the encrypted key
// material a client sends ("Importing key material", step 3):
//
//   scheme               EncryptedKeyMaterial
//   kRsaOaepSha1/256     RSAES-OAEP(material), MGF1 with the same hash, no label: as long as the
//                        wrapping key's modulus
//   kRsaAesKeyWrapSha*   RSAES-OAEP(aes_key) || AES-KWP(aes_key, material): an ephemeral 128-,
//                        192- or 256-bit AES key (AWS's instructions make a 256-bit one, then
//                        `openssl enc -id-aes256-wrap-pad`), encrypted first under the RSA key;
//                        the wrapped material follows (a multiple of 8 bytes, at least 16)
//   kSm2Pke              SM2 public-key encryption of the material (crypto/asymmetric_cipher.hpp)
//
//   auto wrapped = crypto::WrapKeyMaterial(public_key, crypto::KeyWrapScheme::kRsaAesKeyWrapSha256,
//                                          pkcs8_private_key);   // what a client does
//   auto material = crypto::UnwrapKeyMaterial(wrapping_private_key,
//                                             crypto::KeyWrapScheme::kRsaAesKeyWrapSha256,
//                                             *wrapped);         // what kmsd does
//
// Errors: unwrapping anything that is not a valid wrapping under this key and scheme (wrong key,
// wrong scheme, truncated or tampered bytes, an AES key of another size) is kAuthFailed, with no
// detail; a key of the wrong type for the scheme is kBadInput.
//
// Thread safety: every function may run on any thread; keys are only read.
#pragma once

#include "crypto/bytes.hpp"
#include "crypto/error.hpp"
#include "crypto/evp_handles.hpp"

namespace kms::crypto {

enum class KeyWrapScheme {
  kRsaOaepSha1,          // RSAES_OAEP_SHA_1
  kRsaOaepSha256,        // RSAES_OAEP_SHA_256
  kRsaAesKeyWrapSha1,    // RSA_AES_KEY_WRAP_SHA_1
  kRsaAesKeyWrapSha256,  // RSA_AES_KEY_WRAP_SHA_256
  kSm2Pke,               // SM2PKE
};

// AES key wrap with padding (RFC 5649, the default alternative IV A65959A6) of `plaintext`
// (1 byte or more) under a 16-, 24- or 32-byte `kek`. kBadInput for another KEK size or an empty
// plaintext.
Result<Bytes> AesKeyWrapPad(ByteView kek, ByteView plaintext);

// The inverse of AesKeyWrapPad. kAuthFailed when `wrapped` is not a wrapping under `kek` (the
// integrity check or the padding fails, or its length is impossible); kBadInput for a KEK size
// other than 16, 24 or 32 bytes.
Result<SecureBytes> AesKeyUnwrapPad(ByteView kek, ByteView wrapped);

// Wraps `material` under the public half of `wrapping_key` as a client does before
// ImportKeyMaterial, with a fresh random 256-bit AES key for the RSA_AES schemes. kBadInput when
// the key does not fit the scheme or the material is too long for a direct RSAES-OAEP wrapping.
Result<Bytes> WrapKeyMaterial(const EVP_PKEY* wrapping_key, KeyWrapScheme scheme,
                              ByteView material);

// Recovers the material from `encrypted` with the private `wrapping_key` (an RSA key for the RSA
// schemes, an SM2 key for kSm2Pke). kAuthFailed for anything that does not unwrap; kBadInput for
// a key of the wrong type.
Result<SecureBytes> UnwrapKeyMaterial(const EVP_PKEY* wrapping_key, KeyWrapScheme scheme,
                                      ByteView encrypted);

}  // namespace kms::crypto
