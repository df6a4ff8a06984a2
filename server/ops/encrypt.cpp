// File: encrypt.cpp
//
// Encrypt, Decrypt, ReEncrypt: symmetric encryption under a KMS key. The hot path: handlers
// only read the registry (no writer lock, no disk) and hold the key through a KeyPtr, so the
// key record and its material are never copied.
//
// Crypto errors are translated here and nowhere else: an authentication failure or a blob that
// does not parse is InvalidCiphertextException with no message (KMS_FACTS §1, §4); any other
// crypto failure is KMSInternalException.
//
// Thread-safety: handlers may run concurrently; they share only the thread-safe registry.
#include <optional>
#include <string>
#include <string_view>

#include "crypto/bytes.hpp"
#include "crypto/ciphertext_blob.hpp"
#include "crypto/encryption_context.hpp"
#include "server/ops/key_lookup.hpp"
#include "server/ops/ops.hpp"
#include "server/ops/symmetric.hpp"

namespace kms::ops {
namespace {

KmsError IncorrectKey() {
  return {server::ErrorCode::kIncorrectKey,
          "The key ID in the request does not identify a CMK that can perform this operation."};
}

KmsError FromOpenError(const crypto::Error& error) {
  switch (error.code) {
    case crypto::Error::Code::kAuthFailed:
    case crypto::Error::Code::kBadInput:
      return KmsError::InvalidCiphertext();
    case crypto::Error::Code::kOpenSsl:
      break;
  }
  return KmsError::Internal("decryption failed: " + error.message);
}

// kmsd seals only under symmetric keys; RSA / SM2 encryption is not implemented.
Result<void> RequireSupportedSpec(const storage::KeyRecord& key, std::string_view operation) {
  if (key.key_usage == kEncryptDecrypt && key.key_spec != kSymmetricDefault) {
    return KmsError::Unsupported("kmsd does not implement " + std::string(operation) + " with " +
                                 key.key_spec + " keys; only SYMMETRIC_DEFAULT keys.");
  }
  return {};
}

// The key and material version that sealed a ciphertext blob.
struct BlobKey {
  KeyPtr key;
  const storage::KeyMaterial* material = nullptr;
};

// Finds the key named by the blob's header in the caller's scope and checks that it may
// decrypt now. `key_ref` (Decrypt's KeyId, ReEncrypt's SourceKeyId), when given, must resolve
// to that same key. Errors, in order: InvalidCiphertextException (the blob does not parse, or
// names no key of this scope); NotFoundException (key_ref resolves to nothing);
// IncorrectKeyException (key_ref names another key); DisabledException /
// KMSInvalidStateException (key state); InvalidCiphertextException (no such material version).
Result<BlobKey> FindBlobKey(const OpContext& ctx, crypto::ByteView blob,
                            std::optional<std::string_view> key_ref, std::string_view operation) {
  auto header = crypto::ParseBlobHeader(blob);
  if (!header || !IsWellFormedKeyId(header->key_id)) return KmsError::InvalidCiphertext();
  // A key of another region or account is not in scope: to this caller the blob names no key,
  // so it is not a valid ciphertext here.
  KeyPtr key = ctx.registry.FindKey(ctx.scope, header->key_id);
  if (key == nullptr || IsGone(*key, ctx.Now())) return KmsError::InvalidCiphertext();

  if (key_ref) {
    KMS_ASSIGN_OR_RETURN(KeyPtr named, ResolveKey(ctx, *key_ref, KeyRefForms::kAny));
    if (named->key_id != key->key_id) return IncorrectKey();
  }
  KMS_TRY(RequireEnabled(ctx, *key));
  KMS_TRY(RequireUsage(ctx, *key, kEncryptDecrypt, operation));

  const storage::KeyMaterial* material = FindMaterial(*key, header->material_version);
  if (material == nullptr) return KmsError::InvalidCiphertext();
  return BlobKey{std::move(key), material};
}

void WriteKeyMaterialId(JsonOut& out, std::string_view member, const storage::KeyMaterial& m) {
  if (!m.material_id.empty()) out.String(member, m.material_id);
}

}  // namespace

// Encrypt: https://docs.aws.amazon.com/kms/latest/APIReference/API_Encrypt.html
// Deviation: key policies, grants and GrantTokens are not enforced.
// Deviation: asymmetric (RSA, SM2) encryption is not implemented: UnsupportedOperationException.
Result<void> Encrypt(OpContext& ctx, const JsonIn& in, JsonOut& out) {
  KMS_ASSIGN_OR_RETURN(std::string_view key_ref, in.RequiredString("KeyId"));
  KMS_ASSIGN_OR_RETURN(crypto::SecureBytes plaintext, in.RequiredSecretBlob("Plaintext"));
  KMS_ASSIGN_OR_RETURN(crypto::EncryptionContext context,
                       in.OptionalStringMap("EncryptionContext"));

  KMS_ASSIGN_OR_RETURN(KeyPtr key, ResolveUsableKey(ctx, key_ref));
  KMS_TRY(RequireSupportedSpec(*key, "Encrypt"));
  KMS_TRY(RequireSymmetricEncryptionKey(ctx, *key, "Encrypt"));
  KMS_TRY(CheckSymmetricAlgorithm(in.OptionalString("EncryptionAlgorithm")));
  KMS_TRY(CheckDryRun(in));

  KMS_ASSIGN_OR_RETURN(SealedBlob sealed, SealUnderCurrentMaterial(ctx, *key, plaintext, context));
  out.Blob("CiphertextBlob", sealed.blob);
  out.String("KeyId", ctx.KeyArn(key->key_id));
  out.String("EncryptionAlgorithm", kSymmetricDefault);
  return {};
}

// Decrypt: https://docs.aws.amazon.com/kms/latest/APIReference/API_Decrypt.html
// The blob names its key and material version, so KeyId is optional; when given it must name
// the same key (IncorrectKeyException otherwise).
// Deviation: key policies, grants and GrantTokens are not enforced; DryRunModifiers is ignored.
// Deviation: Recipient (Nitro Enclaves attestation) is not supported: UnsupportedOperation.
// Deviation: only kmsd's own symmetric blobs decrypt; there is no RSA / SM2 decryption.
Result<void> Decrypt(OpContext& ctx, const JsonIn& in, JsonOut& out) {
  KMS_ASSIGN_OR_RETURN(crypto::Bytes blob, in.RequiredBlob("CiphertextBlob"));
  KMS_ASSIGN_OR_RETURN(crypto::EncryptionContext context,
                       in.OptionalStringMap("EncryptionContext"));
  if (in.Has("Recipient")) {
    return KmsError::Unsupported(
        "kmsd does not support Recipient: there is no Nitro Enclave attestation to verify.");
  }

  KMS_ASSIGN_OR_RETURN(BlobKey source,
                       FindBlobKey(ctx, blob, in.OptionalString("KeyId"), "Decrypt"));
  KMS_TRY(CheckSymmetricAlgorithm(in.OptionalString("EncryptionAlgorithm")));
  KMS_TRY(CheckDryRun(in));

  auto plaintext = crypto::OpenBlob(blob, source.material->bytes, context);
  if (!plaintext) return FromOpenError(plaintext.error());
  out.String("KeyId", ctx.KeyArn(source.key->key_id));
  out.Blob("Plaintext", *plaintext);
  out.String("EncryptionAlgorithm", kSymmetricDefault);
  WriteKeyMaterialId(out, "KeyMaterialId", *source.material);
  return {};
}

// ReEncrypt: https://docs.aws.amazon.com/kms/latest/APIReference/API_ReEncrypt.html
// Decrypts under the blob's key (SourceKeyId optional, as Decrypt's KeyId) and encrypts under
// DestinationKeyId; the plaintext never leaves kmsd.
// Deviation: key policies, grants and GrantTokens are not enforced; DryRunModifiers is ignored.
// Deviation: asymmetric source or destination keys are not supported.
Result<void> ReEncrypt(OpContext& ctx, const JsonIn& in, JsonOut& out) {
  KMS_ASSIGN_OR_RETURN(crypto::Bytes blob, in.RequiredBlob("CiphertextBlob"));
  KMS_ASSIGN_OR_RETURN(std::string_view destination_ref, in.RequiredString("DestinationKeyId"));
  KMS_ASSIGN_OR_RETURN(crypto::EncryptionContext source_context,
                       in.OptionalStringMap("SourceEncryptionContext"));
  KMS_ASSIGN_OR_RETURN(crypto::EncryptionContext destination_context,
                       in.OptionalStringMap("DestinationEncryptionContext"));

  KMS_ASSIGN_OR_RETURN(BlobKey source,
                       FindBlobKey(ctx, blob, in.OptionalString("SourceKeyId"), "ReEncrypt"));
  KMS_TRY(CheckSymmetricAlgorithm(in.OptionalString("SourceEncryptionAlgorithm")));

  KMS_ASSIGN_OR_RETURN(KeyPtr destination, ResolveUsableKey(ctx, destination_ref));
  KMS_TRY(RequireSupportedSpec(*destination, "ReEncrypt"));
  KMS_TRY(RequireSymmetricEncryptionKey(ctx, *destination, "ReEncrypt"));
  KMS_TRY(CheckSymmetricAlgorithm(in.OptionalString("DestinationEncryptionAlgorithm")));
  KMS_TRY(CheckDryRun(in));

  auto plaintext = crypto::OpenBlob(blob, source.material->bytes, source_context);
  if (!plaintext) return FromOpenError(plaintext.error());
  KMS_ASSIGN_OR_RETURN(SealedBlob sealed, SealUnderCurrentMaterial(ctx, *destination, *plaintext,
                                                                   destination_context));

  out.Blob("CiphertextBlob", sealed.blob);
  out.String("SourceKeyId", ctx.KeyArn(source.key->key_id));
  out.String("KeyId", ctx.KeyArn(destination->key_id));
  out.String("SourceEncryptionAlgorithm", kSymmetricDefault);
  out.String("DestinationEncryptionAlgorithm", kSymmetricDefault);
  WriteKeyMaterialId(out, "SourceKeyMaterialId", *source.material);
  WriteKeyMaterialId(out, "DestinationKeyMaterialId", *sealed.material);
  return {};
}

}  // namespace kms::ops
