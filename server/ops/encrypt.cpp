// File: encrypt.cpp
//
// Encrypt, Decrypt, ReEncrypt under a KMS key: symmetric (SYMMETRIC_DEFAULT, kmsd's AES-GCM
// ciphertext blob) or asymmetric (RSA_* with RSAES_OAEP_SHA_1 / RSAES_OAEP_SHA_256, SM2 with
// SM2PKE; the ciphertext is the algorithm's raw output, as in AWS, so it interoperates with
// anyone holding GetPublicKey's DER).
//
// The symmetric path is the hot path: handlers only read the registry (no writer lock, no disk)
// and hold the key through a KeyPtr, so the key record and its material are never copied. The
// asymmetric path takes the parsed private key from PrivateKeyOf's per-thread cache.
//
// An asymmetric ciphertext carries no key id, so Decrypt (and ReEncrypt's source) use the
// public-key path exactly when KeyId (SourceKeyId) names an asymmetric ENCRYPT_DECRYPT key;
// otherwise the blob must be one of kmsd's symmetric blobs.
//
// Crypto errors are translated here and nowhere else: an authentication failure or a blob that
// does not parse is InvalidCiphertextException with no message (recorded from AWS); any other
// crypto failure is KMSInternalException.
//
// Thread-safety: handlers may run concurrently; they share only the thread-safe registry.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "crypto/asymmetric_cipher.hpp"
#include "crypto/bytes.hpp"
#include "crypto/ciphertext_blob.hpp"
#include "crypto/encryption_context.hpp"
#include "domain/key_specs.hpp"
#include "domain/vocabulary.hpp"
#include "server/ops/asymmetric.hpp"
#include "server/ops/key_lookup.hpp"
#include "server/ops/key_specs.hpp"
#include "server/ops/ops.hpp"
#include "server/ops/symmetric.hpp"

namespace kms::ops {
namespace {

using domain::EncryptionAlgorithm;

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

// RSA_* or SM2 with ENCRYPT_DECRYPT usage: encrypted with a public-key algorithm.
bool IsAsymmetricEncryptionKey(const storage::KeyRecord& key) {
  return key.key_usage == domain::KeyUsage::kEncryptDecrypt &&
         domain::SpecInfo(key.key_spec).family == KeyFamily::kAsymmetric;
}

// crypto's cipher for an asymmetric `algorithm` (checked against the key by
// CheckEncryptionAlgorithm, so never SYMMETRIC_DEFAULT).
Result<crypto::AsymmetricCipher> CipherFor(EncryptionAlgorithm algorithm) {
  if (auto cipher = domain::CipherOf(algorithm)) return *cipher;
  return KmsError::Internal("kmsd has no public-key cipher for " +
                            std::string(domain::WireName(algorithm)) + ".");
}

// ValidationException "Algorithm RSAES_OAEP_SHA_1 and key spec RSA_2048 cannot encrypt data
// larger than 214 bytes." (recorded from AWS; the SM2PKE variant follows the same pattern, not
// pinned). The limits are domain::MaxPlaintextBytes.
Result<void> CheckPlaintextLimit(const storage::KeyRecord& key, EncryptionAlgorithm algorithm,
                                 std::size_t plaintext_bytes) {
  const std::optional<std::size_t> limit = domain::MaxPlaintextBytes(key.key_spec, algorithm);
  if (!limit || plaintext_bytes <= *limit) return {};
  return KmsError::Validation("Algorithm " + std::string(domain::WireName(algorithm)) +
                              " and key spec " + std::string(domain::WireName(key.key_spec)) +
                              " cannot encrypt data larger than " + std::to_string(*limit) +
                              " bytes.");
}

// AWS documents that its asymmetric encryption algorithms take no encryption context. The error
// for sending one anyway is not pinned: ValidationException naming the member and the key spec.
// An empty map is the same as none (both encode as an empty context).
Result<void> RequireNoContext(const storage::KeyRecord& key,
                              const crypto::EncryptionContext& context, std::string_view member) {
  if (context.empty()) return {};
  return KmsError::Validation(std::string(member) +
                              " is not supported with asymmetric KMS keys (key spec " +
                              std::string(domain::WireName(key.key_spec)) + ").");
}

// The key and material version that sealed a ciphertext blob.
struct BlobKey {
  KeyPtr key;
  const storage::KeyMaterial* material = nullptr;
};

// Finds the key named by the blob's header in the caller's scope and checks that it may
// decrypt now. `named` (the resolution of Decrypt's KeyId / ReEncrypt's SourceKeyId), when
// given, must be that same key. Errors, in order: InvalidCiphertextException (the blob does not
// parse, or names no key of this scope); NotFoundException (the KeyId resolves to nothing);
// IncorrectKeyException (the KeyId names another key); DisabledException /
// KMSInvalidStateException (key state); InvalidCiphertextException (no such material version).
Result<BlobKey> FindBlobKey(const OpContext& ctx, crypto::ByteView blob,
                            const Result<KeyPtr>* named, std::string_view operation) {
  auto header = crypto::ParseBlobHeader(blob);
  if (!header || !IsWellFormedKeyId(header->key_id)) return KmsError::InvalidCiphertext();
  // A key of another region or account is not in scope: to this caller the blob names no key,
  // so it is not a valid ciphertext here.
  // A multi-region key's blob names only its key id, which its related keys share with it: a
  // replica (or the primary) in this region opens what another region's related key sealed.
  KeyPtr key = LiveKey(ctx, header->key_id);
  if (key == nullptr) return KmsError::InvalidCiphertext();

  if (named != nullptr) {
    if (!*named) return named->error();
    if ((*named).value()->key_id != key->key_id) return IncorrectKey();
  }
  KMS_TRY(RequireEnabled(ctx, *key));
  KMS_TRY(RequireUsage(ctx, *key, domain::KeyUsage::kEncryptDecrypt, operation));

  const storage::KeyMaterial* material = FindMaterial(*key, header->material_version);
  if (material == nullptr) return KmsError::InvalidCiphertext();
  return BlobKey{std::move(key), material};
}

// The key a ciphertext is opened with, and how.
struct Source {
  KeyPtr key;
  EncryptionAlgorithm algorithm{};                 // SYMMETRIC_DEFAULT, RSAES_OAEP_SHA_1, ...
  const storage::KeyMaterial* material = nullptr;  // symmetric only: the version that sealed it
};

// Decrypt's and ReEncrypt's checks of the ciphertext's key: `key_ref` is KeyId / SourceKeyId,
// `algorithm` EncryptionAlgorithm / SourceEncryptionAlgorithm and `context` the encryption
// context sent under `context_member`.
Result<Source> FindSource(const OpContext& ctx, crypto::ByteView blob,
                          std::optional<std::string_view> key_ref,
                          std::optional<std::string_view> algorithm,
                          const crypto::EncryptionContext& context, std::string_view context_member,
                          std::string_view operation) {
  std::optional<Result<KeyPtr>> named;
  if (key_ref) {
    named = ResolveKey(ctx, *key_ref, KeyRefForms::kAny);
    if (*named && IsAsymmetricEncryptionKey(*named->value())) {
      KeyPtr key = std::move(named->value());
      KMS_TRY(RequireEnabled(ctx, *key));
      KMS_ASSIGN_OR_RETURN(EncryptionAlgorithm checked, CheckEncryptionAlgorithm(*key, algorithm));
      KMS_TRY(RequireNoContext(*key, context, context_member));
      return Source{std::move(key), checked, nullptr};
    }
  }
  KMS_ASSIGN_OR_RETURN(BlobKey found, FindBlobKey(ctx, blob, named ? &*named : nullptr, operation));
  KMS_ASSIGN_OR_RETURN(EncryptionAlgorithm checked,
                       CheckEncryptionAlgorithm(*found.key, algorithm));
  return Source{std::move(found.key), checked, found.material};
}

Result<crypto::SecureBytes> OpenSource(const OpContext& ctx, const Source& source,
                                       crypto::ByteView blob,
                                       const crypto::EncryptionContext& context) {
  if (source.material != nullptr) {
    auto plaintext = crypto::OpenBlob(blob, source.material->bytes, context);
    if (!plaintext) return FromOpenError(plaintext.error());
    return std::move(*plaintext);
  }
  KMS_ASSIGN_OR_RETURN(crypto::AsymmetricCipher cipher, CipherFor(source.algorithm));
  KMS_ASSIGN_OR_RETURN(crypto::Pkey pkey, PrivateKeyOf(ctx, *source.key));
  auto plaintext = crypto::AsymmetricDecrypt(pkey.get(), cipher, blob);
  if (!plaintext) return FromOpenError(plaintext.error());
  return std::move(*plaintext);
}

// Encrypt's and ReEncrypt's checks of the destination key (already resolved and enabled):
// usage, algorithm, context. Returns the algorithm to seal with.
Result<EncryptionAlgorithm> CheckDestination(const OpContext& ctx, const storage::KeyRecord& key,
                                             std::optional<std::string_view> algorithm,
                                             const crypto::EncryptionContext& context,
                                             std::string_view context_member,
                                             std::string_view operation) {
  if (IsAsymmetricEncryptionKey(key)) {
    KMS_ASSIGN_OR_RETURN(EncryptionAlgorithm checked, CheckEncryptionAlgorithm(key, algorithm));
    KMS_TRY(RequireNoContext(key, context, context_member));
    return checked;
  }
  KMS_TRY(RequireSymmetricEncryptionKey(ctx, key, operation));
  return CheckEncryptionAlgorithm(key, algorithm);
}

struct Sealed {
  crypto::Bytes blob;
  const storage::KeyMaterial* material = nullptr;  // symmetric only: the version that sealed it
};

// Encrypts under `key` with the checked `algorithm`. A symmetric key may be rotated first
// (SealUnderCurrentMaterial): `key` then points at the rotated record.
Result<Sealed> Seal(const OpContext& ctx, KeyPtr& key, EncryptionAlgorithm algorithm,
                    crypto::ByteView plaintext, const crypto::EncryptionContext& context) {
  if (algorithm == EncryptionAlgorithm::kSymmetricDefault) {
    KMS_ASSIGN_OR_RETURN(SealedBlob sealed, SealUnderCurrentMaterial(ctx, key, plaintext, context));
    return Sealed{std::move(sealed.blob), sealed.material};
  }
  KMS_TRY(CheckPlaintextLimit(*key, algorithm, plaintext.size()));
  KMS_ASSIGN_OR_RETURN(crypto::AsymmetricCipher cipher, CipherFor(algorithm));
  KMS_ASSIGN_OR_RETURN(crypto::Pkey pkey, PrivateKeyOf(ctx, *key));
  auto blob = crypto::AsymmetricEncrypt(pkey.get(), cipher, plaintext);
  if (!blob) return KmsError::Internal("encryption failed: " + blob.error().message);
  return Sealed{std::move(*blob), nullptr};
}

void WriteKeyMaterialId(JsonOut& out, std::string_view member, const storage::KeyMaterial* m) {
  if (m != nullptr && !m->material_id.empty()) out.String(member, m->material_id);
}

}  // namespace

// Encrypt: https://docs.aws.amazon.com/kms/latest/APIReference/API_Encrypt.html
// Asymmetric keys need EncryptionAlgorithm (absent means SYMMETRIC_DEFAULT, which they do not
// list) and take no EncryptionContext.
// Deviation: key policies, grants and GrantTokens are not enforced.
// Deviation: SM2PKE works in every region (AWS offers it in China Regions only).
Result<void> Encrypt(OpContext& ctx, const JsonIn& in, JsonOut& out) {
  KMS_ASSIGN_OR_RETURN(std::string_view key_ref, in.RequiredString("KeyId"));
  KMS_ASSIGN_OR_RETURN(crypto::SecureBytes plaintext, in.RequiredSecretBlob("Plaintext"));
  KMS_ASSIGN_OR_RETURN(crypto::EncryptionContext context,
                       in.OptionalStringMap("EncryptionContext"));

  KMS_ASSIGN_OR_RETURN(KeyPtr key, ResolveUsableKey(ctx, key_ref));
  KMS_ASSIGN_OR_RETURN(EncryptionAlgorithm algorithm,
                       CheckDestination(ctx, *key, in.OptionalString("EncryptionAlgorithm"),
                                        context, "EncryptionContext", "Encrypt"));
  KMS_TRY(CheckPlaintextLimit(*key, algorithm, plaintext.size()));
  KMS_TRY(CheckDryRun(in));

  KMS_ASSIGN_OR_RETURN(Sealed sealed, Seal(ctx, key, algorithm, plaintext, context));
  out.Blob("CiphertextBlob", sealed.blob);
  out.String("KeyId", ctx.KeyArn(key->key_id));
  out.String("EncryptionAlgorithm", domain::WireName(algorithm));
  return {};
}

// Decrypt: https://docs.aws.amazon.com/kms/latest/APIReference/API_Decrypt.html
// A symmetric blob names its key and material version, so KeyId is optional; when given it must
// name the same key (IncorrectKeyException otherwise). An asymmetric ciphertext needs KeyId and
// EncryptionAlgorithm; without KeyId it is not a kmsd blob (InvalidCiphertextException).
// KeyMaterialId is sent for symmetric keys only (asymmetric keys have no CurrentKeyMaterialId).
// Deviation: key policies, grants and GrantTokens are not enforced; DryRunModifiers is ignored.
// Deviation: Recipient (Nitro Enclaves attestation) is not supported: UnsupportedOperation.
Result<void> Decrypt(OpContext& ctx, const JsonIn& in, JsonOut& out) {
  KMS_ASSIGN_OR_RETURN(crypto::Bytes blob, in.RequiredBlob("CiphertextBlob"));
  KMS_ASSIGN_OR_RETURN(crypto::EncryptionContext context,
                       in.OptionalStringMap("EncryptionContext"));
  if (in.Has("Recipient")) return RecipientUnsupported();

  KMS_ASSIGN_OR_RETURN(Source source, FindSource(ctx, blob, in.OptionalString("KeyId"),
                                                 in.OptionalString("EncryptionAlgorithm"), context,
                                                 "EncryptionContext", "Decrypt"));
  KMS_TRY(CheckDryRun(in));

  KMS_ASSIGN_OR_RETURN(crypto::SecureBytes plaintext, OpenSource(ctx, source, blob, context));
  out.String("KeyId", ctx.KeyArn(source.key->key_id));
  out.Blob("Plaintext", plaintext);
  out.String("EncryptionAlgorithm", domain::WireName(source.algorithm));
  WriteKeyMaterialId(out, "KeyMaterialId", source.material);
  return {};
}

// ReEncrypt: https://docs.aws.amazon.com/kms/latest/APIReference/API_ReEncrypt.html
// Decrypts under the source key (SourceKeyId optional for a symmetric blob, required with
// SourceEncryptionAlgorithm for an asymmetric ciphertext, as Decrypt) and encrypts under
// DestinationKeyId with DestinationEncryptionAlgorithm; any mix of symmetric and asymmetric
// keys works. The plaintext never leaves kmsd.
// Deviation: key policies, grants and GrantTokens are not enforced; DryRunModifiers is ignored.
Result<void> ReEncrypt(OpContext& ctx, const JsonIn& in, JsonOut& out) {
  KMS_ASSIGN_OR_RETURN(crypto::Bytes blob, in.RequiredBlob("CiphertextBlob"));
  KMS_ASSIGN_OR_RETURN(std::string_view destination_ref, in.RequiredString("DestinationKeyId"));
  KMS_ASSIGN_OR_RETURN(crypto::EncryptionContext source_context,
                       in.OptionalStringMap("SourceEncryptionContext"));
  KMS_ASSIGN_OR_RETURN(crypto::EncryptionContext destination_context,
                       in.OptionalStringMap("DestinationEncryptionContext"));

  KMS_ASSIGN_OR_RETURN(Source source,
                       FindSource(ctx, blob, in.OptionalString("SourceKeyId"),
                                  in.OptionalString("SourceEncryptionAlgorithm"), source_context,
                                  "SourceEncryptionContext", "ReEncrypt"));
  KMS_ASSIGN_OR_RETURN(KeyPtr destination, ResolveUsableKey(ctx, destination_ref));
  KMS_ASSIGN_OR_RETURN(
      EncryptionAlgorithm destination_algorithm,
      CheckDestination(ctx, *destination, in.OptionalString("DestinationEncryptionAlgorithm"),
                       destination_context, "DestinationEncryptionContext", "ReEncrypt"));
  KMS_TRY(CheckDryRun(in));

  KMS_ASSIGN_OR_RETURN(crypto::SecureBytes plaintext,
                       OpenSource(ctx, source, blob, source_context));
  KMS_ASSIGN_OR_RETURN(
      Sealed sealed, Seal(ctx, destination, destination_algorithm, plaintext, destination_context));

  out.Blob("CiphertextBlob", sealed.blob);
  out.String("SourceKeyId", ctx.KeyArn(source.key->key_id));
  out.String("KeyId", ctx.KeyArn(destination->key_id));
  out.String("SourceEncryptionAlgorithm", domain::WireName(source.algorithm));
  out.String("DestinationEncryptionAlgorithm", domain::WireName(destination_algorithm));
  WriteKeyMaterialId(out, "SourceKeyMaterialId", source.material);
  WriteKeyMaterialId(out, "DestinationKeyMaterialId", sealed.material);
  return {};
}

}  // namespace kms::ops
