// File: symmetric.hpp
//
// Steps shared by the operations that seal data under a symmetric KMS key: Encrypt, ReEncrypt
// (encrypt.cpp) and GenerateDataKey[Pair][WithoutPlaintext] (data_keys.cpp), plus the
// EncryptionAlgorithm check every encryption operation makes, symmetric or not. Header-only, so it
// needs no build change; everything here is small and on the hot path.
//
//   KMS_TRY(RequireSymmetricEncryptionKey(ctx, *key, "GenerateDataKey"));
//   KMS_ASSIGN_OR_RETURN(domain::EncryptionAlgorithm algorithm,
//                        CheckEncryptionAlgorithm(*key, in.OptionalString("EncryptionAlgorithm")));
//   KMS_ASSIGN_OR_RETURN(SealedBlob sealed, SealUnderCurrentMaterial(ctx, key, data, context));
//
// Thread-safety: stateless functions (sealing may store a due automatic rotation through the
// registry's writer). A SealedBlob points into the KeyRecord it was made from: keep the KeyPtr
// that SealUnderCurrentMaterial updated alive while using it.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "crypto/bytes.hpp"
#include "crypto/ciphertext_blob.hpp"
#include "crypto/encryption_context.hpp"
#include "domain/vocabulary.hpp"
#include "server/ops/context.hpp"
#include "server/ops/key_lookup.hpp"
#include "server/ops/key_specs.hpp"
#include "server/ops/rotation.hpp"
#include "server/protocol/result.hpp"
#include "storage/records.hpp"

namespace kms::ops {

// ENCRYPT_DECRYPT usage (else AWS's InvalidKeyUsageException "<arn> key usage is X which is
// not valid for <operation>."), then key spec SYMMETRIC_DEFAULT: an asymmetric ENCRYPT_DECRYPT
// key (RSA_*, SM2) gives InvalidKeyUsageException "<arn> key spec is X which is not valid for
// <operation>." (AWS's exact text for this case is not pinned).
inline server::Result<void> RequireSymmetricEncryptionKey(const OpContext& ctx,
                                                          const storage::KeyRecord& key,
                                                          std::string_view operation) {
  KMS_TRY(RequireUsage(ctx, key, domain::KeyUsage::kEncryptDecrypt, operation));
  if (key.key_spec != domain::KeySpec::kSymmetricDefault) {
    return server::KmsError{server::ErrorCode::kInvalidKeyUsage,
                            ctx.KeyArn(key.key_id) + " key spec is " +
                                std::string(domain::WireName(key.key_spec)) +
                                " which is not valid for " + std::string(operation) + "."};
  }
  return {};
}

// The EncryptionAlgorithm member `algorithm` (absent means SYMMETRIC_DEFAULT, as in AWS) for an
// ENCRYPT_DECRYPT key: it must be one the key lists (domain/key_specs.hpp). Returns it.
// Otherwise InvalidKeyUsageException "Algorithm SYMMETRIC_DEFAULT is incompatible with key spec
// RSA_4096." (AWS's text when an asymmetric key gets no algorithm, seen in client reports; the
// same pattern as the pinned MAC text). One check for symmetric and asymmetric keys alike.
inline server::Result<domain::EncryptionAlgorithm> CheckEncryptionAlgorithm(
    const storage::KeyRecord& key, std::optional<std::string_view> algorithm) {
  constexpr auto kDefault = domain::EncryptionAlgorithm::kSymmetricDefault;
  const std::string_view wanted = algorithm.value_or(domain::WireName(kDefault));
  if (wanted == domain::WireName(kDefault) && key.key_spec == domain::KeySpec::kSymmetricDefault) {
    return kDefault;
  }
  return RequireListedAlgorithm<domain::EncryptionAlgorithm>(key, wanted);
}

struct SealedBlob {
  crypto::Bytes blob;
  const storage::KeyMaterial* material = nullptr;  // the version that sealed it; never null
};

// Seals `plaintext` under the key's current material, after the automatic rotations due now
// (rotation.hpp: `key` then points at the rotated record), so nothing is ever sealed under
// material that should have been rotated away. A key without current material or a crypto
// failure is a kmsd fault: KMSInternalException (the message names no secret).
// REQUIRES: the calling thread holds no Writer of ctx.registry.
inline server::Result<SealedBlob> SealUnderCurrentMaterial(
    const OpContext& ctx, KeyPtr& key, crypto::ByteView plaintext,
    const crypto::EncryptionContext& context) {
  KMS_TRY(CatchUpRotations(ctx, key));
  const storage::KeyMaterial* material = CurrentMaterial(*key);
  if (material == nullptr) {
    return server::KmsError::Internal("kmsd has no current key material for " +
                                      ctx.KeyArn(key->key_id) + ".");
  }
  auto blob = crypto::SealBlob(key->key_id, material->version, material->bytes, plaintext, context);
  if (!blob) return server::KmsError::Internal("encryption failed: " + blob.error().message);
  return SealedBlob{std::move(*blob), material};
}

}  // namespace kms::ops
