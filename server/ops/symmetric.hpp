// File: symmetric.hpp
//
// Steps shared by the operations that seal data under a symmetric KMS key: Encrypt, ReEncrypt
// (encrypt.cpp) and GenerateDataKey[WithoutPlaintext] (data_keys.cpp). Header-only, so it needs
// no build change; everything here is small and on the hot path.
//
//   KMS_TRY(RequireSymmetricEncryptionKey(ctx, *key, "GenerateDataKey"));
//   KMS_TRY(CheckSymmetricAlgorithm(in.OptionalString("EncryptionAlgorithm")));
//   KMS_ASSIGN_OR_RETURN(SealedBlob sealed, SealUnderCurrentMaterial(ctx, *key, data, context));
//
// Thread-safety: stateless functions. A SealedBlob points into the KeyRecord it was made
// from: keep the KeyPtr alive while using it.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "crypto/bytes.hpp"
#include "crypto/ciphertext_blob.hpp"
#include "crypto/encryption_context.hpp"
#include "server/ops/context.hpp"
#include "server/ops/key_lookup.hpp"
#include "server/protocol/result.hpp"
#include "storage/records.hpp"

namespace kms::ops {

inline constexpr std::string_view kSymmetricDefault = "SYMMETRIC_DEFAULT";
inline constexpr std::string_view kEncryptDecrypt = "ENCRYPT_DECRYPT";

// ENCRYPT_DECRYPT usage (else AWS's InvalidKeyUsageException "<arn> key usage is X which is
// not valid for <operation>."), then key spec SYMMETRIC_DEFAULT: an asymmetric ENCRYPT_DECRYPT
// key (RSA_*, SM2) gives InvalidKeyUsageException "<arn> key spec is X which is not valid for
// <operation>." (AWS's exact text for this case is not pinned).
inline server::Result<void> RequireSymmetricEncryptionKey(const OpContext& ctx,
                                                          const storage::KeyRecord& key,
                                                          std::string_view operation) {
  KMS_TRY(RequireUsage(ctx, key, kEncryptDecrypt, operation));
  if (key.key_spec != kSymmetricDefault) {
    return server::KmsError{server::ErrorCode::kInvalidKeyUsage,
                            ctx.KeyArn(key.key_id) + " key spec is " + key.key_spec +
                                " which is not valid for " + std::string(operation) + "."};
  }
  return {};
}

// An EncryptionAlgorithm member (absent, or SYMMETRIC_DEFAULT) for a symmetric key; the enum
// itself was checked by the model. Any other algorithm: InvalidKeyUsageException
// "Algorithm RSAES_OAEP_SHA_256 is incompatible with key spec SYMMETRIC_DEFAULT." (modelled on
// AWS's pinned MAC text; the encryption variant is not pinned).
inline server::Result<void> CheckSymmetricAlgorithm(std::optional<std::string_view> algorithm) {
  if (!algorithm || *algorithm == kSymmetricDefault) return {};
  return server::KmsError{
      server::ErrorCode::kInvalidKeyUsage,
      "Algorithm " + std::string(*algorithm) + " is incompatible with key spec SYMMETRIC_DEFAULT."};
}

struct SealedBlob {
  crypto::Bytes blob;
  const storage::KeyMaterial* material = nullptr;  // the version that sealed it; never null
};

// Seals `plaintext` under the key's current material. A key without current material or a
// crypto failure is a kmsd fault: KMSInternalException (the message names no secret).
inline server::Result<SealedBlob> SealUnderCurrentMaterial(
    const OpContext& ctx, const storage::KeyRecord& key, crypto::ByteView plaintext,
    const crypto::EncryptionContext& context) {
  const storage::KeyMaterial* material = CurrentMaterial(key);
  if (material == nullptr) {
    return server::KmsError::Internal("kmsd has no current key material for " +
                                      ctx.KeyArn(key.key_id) + ".");
  }
  auto blob = crypto::SealBlob(key.key_id, material->version, material->bytes, plaintext, context);
  if (!blob) return server::KmsError::Internal("encryption failed: " + blob.error().message);
  return SealedBlob{std::move(*blob), material};
}

}  // namespace kms::ops
