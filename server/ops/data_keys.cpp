// File: data_keys.cpp
//
// GenerateDataKey, GenerateDataKeyWithoutPlaintext (one file-local function; the variant drops
// the plaintext), GenerateDataKeyPair,
// GenerateDataKeyPairWithoutPlaintext (likewise) and GenerateRandom.
//
// Data keys are made with crypto::RandomSecureBytes, data key pairs with
// crypto::GeneratePrivateKey; secrets live only in SecureBytes, which cleanses them when the
// handler returns; kmsd never stores or logs them. A pair's private key is sealed as a normal
// symmetric ciphertext blob of its PKCS#8 DER, so Decrypt (with the same context) returns it.
//
// Thread-safety: handlers may run concurrently; they only read the registry.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "crypto/bytes.hpp"
#include "crypto/encryption_context.hpp"
#include "crypto/key_pair.hpp"
#include "crypto/random.hpp"
#include "domain/key_specs.hpp"
#include "domain/vocabulary.hpp"
#include "server/ops/custom_key_stores.hpp"
#include "server/ops/key_lookup.hpp"
#include "server/ops/key_specs.hpp"
#include "server/ops/ops.hpp"
#include "server/ops/symmetric.hpp"

namespace kms::ops {
namespace {

constexpr std::int64_t kMinRandomBytes = 1;
constexpr std::int64_t kMaxRandomBytes = 1024;

// AWS's text for a value outside the model range; the dispatcher's model validation normally
// answers first, this only guards the handler.
Result<std::size_t> CheckNumberOfBytes(std::int64_t n) {
  if (n < kMinRandomBytes) {
    return KmsError::Validation("1 validation error detected: Value '" + std::to_string(n) +
                                "' at 'numberOfBytes' failed to satisfy constraint: Member must "
                                "have value greater than or equal to 1");
  }
  if (n > kMaxRandomBytes) {
    return KmsError::Validation("1 validation error detected: Value '" + std::to_string(n) +
                                "' at 'numberOfBytes' failed to satisfy constraint: Member must "
                                "have value less than or equal to 1024");
  }
  return static_cast<std::size_t>(n);
}

// The data key length: exactly one of KeySpec (AES_128 = 16 bytes, AES_256 = 32) or
// NumberOfBytes must be given (recorded from AWS).
Result<std::size_t> DataKeyLength(const JsonIn& in) {
  const bool has_spec = in.Has("KeySpec");
  const bool has_count = in.Has("NumberOfBytes");
  if (has_spec == has_count) {
    return KmsError::Validation("Please specify either number of bytes or key spec.");
  }
  if (has_count) {
    auto n = in.OptionalInt("NumberOfBytes");
    if (!n) return KmsError::Serialization("NumberOfBytes must be an integer");
    return CheckNumberOfBytes(*n);
  }
  const std::string_view spec = in.OptionalString("KeySpec").value_or("");
  if (spec == "AES_256") return std::size_t{32};
  if (spec == "AES_128") return std::size_t{16};
  return KmsError::Validation("1 validation error detected: Value '" + std::string(spec) +
                              "' at 'keySpec' failed to satisfy constraint: Member must satisfy "
                              "enum value set: [AES_256, AES_128]");
}

// KeyMaterialId: the version of the wrapping key's material that sealed the blob.
void WriteKeyMaterialId(JsonOut& out, const SealedBlob& sealed) {
  if (!sealed.material->material_id.empty()) {
    out.String("KeyMaterialId", sealed.material->material_id);
  }
}

Result<void> GenerateDataKeyImpl(OpContext& ctx, const JsonIn& in, JsonOut& out,
                                 std::string_view operation, bool with_plaintext) {
  KMS_ASSIGN_OR_RETURN(std::string_view key_ref, in.RequiredString("KeyId"));
  KMS_ASSIGN_OR_RETURN(crypto::EncryptionContext context,
                       in.OptionalStringMap("EncryptionContext"));
  KMS_ASSIGN_OR_RETURN(std::size_t length, DataKeyLength(in));
  if (with_plaintext && in.Has("Recipient")) return RecipientUnsupported();

  KMS_ASSIGN_OR_RETURN(KeyPtr key, ResolveUsableKey(ctx, key_ref));
  KMS_TRY(RequireSymmetricEncryptionKey(ctx, *key, operation));
  KMS_TRY(CheckDryRun(in));

  auto data_key = crypto::RandomSecureBytes(length);
  if (!data_key) return KmsError::Internal("random generation failed: " + data_key.error().message);
  KMS_ASSIGN_OR_RETURN(SealedBlob sealed, SealUnderCurrentMaterial(ctx, key, *data_key, context));

  out.Blob("CiphertextBlob", sealed.blob);
  if (with_plaintext) out.Blob("Plaintext", *data_key);
  out.String("KeyId", ctx.KeyArn(key->key_id));
  WriteKeyMaterialId(out, sealed);
  return {};
}

// The key pair type of a DataKeyPairSpec. The model check already refused other values; this
// guards the handler with the same kind of message (ML-DSA specs are key specs, not data key
// pair specs).
Result<crypto::KeyPairType> DataKeyPairType(std::string_view spec) {
  const std::optional<domain::KeySpec> parsed = domain::Parse<domain::KeySpec>(spec);
  if (!parsed || !domain::SpecInfo(*parsed).IsDataKeyPairSpec()) {
    return KmsError::Validation(
        "1 validation error detected: Value '" + std::string(spec) +
        "' at 'keyPairSpec' failed to satisfy constraint: Member must satisfy enum value set: " +
        domain::DataKeyPairSpecList());
  }
  return domain::SpecInfo(*parsed).pair_type;
}

Result<void> GenerateDataKeyPairImpl(OpContext& ctx, const JsonIn& in, JsonOut& out,
                                     std::string_view operation, bool with_plaintext) {
  KMS_ASSIGN_OR_RETURN(std::string_view key_ref, in.RequiredString("KeyId"));
  KMS_ASSIGN_OR_RETURN(std::string_view spec, in.RequiredString("KeyPairSpec"));
  KMS_ASSIGN_OR_RETURN(crypto::KeyPairType type, DataKeyPairType(spec));
  KMS_ASSIGN_OR_RETURN(crypto::EncryptionContext context,
                       in.OptionalStringMap("EncryptionContext"));
  if (with_plaintext && in.Has("Recipient")) return RecipientUnsupported();

  KMS_ASSIGN_OR_RETURN(KeyPtr key, ResolveUsableKey(ctx, key_ref));
  KMS_TRY(RequireSymmetricEncryptionKey(ctx, *key, operation));
  KMS_TRY(CheckDryRun(in));

  auto private_key = crypto::GeneratePrivateKey(type);
  if (!private_key) {
    return KmsError::Internal("key pair generation failed: " + private_key.error().message);
  }
  auto parsed = crypto::ParsePrivateKey(*private_key);
  if (!parsed) return KmsError::Internal("key pair generation failed: " + parsed.error().message);
  auto public_key = crypto::PublicKeyDer(parsed->get());
  if (!public_key) {
    return KmsError::Internal("key pair generation failed: " + public_key.error().message);
  }
  KMS_ASSIGN_OR_RETURN(SealedBlob sealed,
                       SealUnderCurrentMaterial(ctx, key, *private_key, context));

  out.Blob("PrivateKeyCiphertextBlob", sealed.blob);
  if (with_plaintext) out.Blob("PrivateKeyPlaintext", *private_key);
  out.Blob("PublicKey", *public_key);
  out.String("KeyId", ctx.KeyArn(key->key_id));
  out.String("KeyPairSpec", spec);
  WriteKeyMaterialId(out, sealed);
  return {};
}

}  // namespace

// GenerateDataKey: https://docs.aws.amazon.com/kms/latest/APIReference/API_GenerateDataKey.html
// Deviation: key policies, grants and GrantTokens are not enforced.
// Deviation: Recipient (Nitro Enclaves attestation) is not supported: UnsupportedOperation.
Result<void> GenerateDataKey(OpContext& ctx, const JsonIn& in, JsonOut& out) {
  return GenerateDataKeyImpl(ctx, in, out, "GenerateDataKey", /*with_plaintext=*/true);
}

// GenerateDataKeyWithoutPlaintext:
// https://docs.aws.amazon.com/kms/latest/APIReference/API_GenerateDataKeyWithoutPlaintext.html
// Deviation: key policies, grants and GrantTokens are not enforced.
Result<void> GenerateDataKeyWithoutPlaintext(OpContext& ctx, const JsonIn& in, JsonOut& out) {
  return GenerateDataKeyImpl(ctx, in, out, "GenerateDataKeyWithoutPlaintext",
                             /*with_plaintext=*/false);
}

// GenerateDataKeyPair:
// https://docs.aws.amazon.com/kms/latest/APIReference/API_GenerateDataKeyPair.html
// PublicKey is DER SubjectPublicKeyInfo, PrivateKeyPlaintext DER PKCS#8 PrivateKeyInfo.
// Deviation: key policies, grants and GrantTokens are not enforced.
// Deviation: Recipient (Nitro Enclaves attestation) is not supported: UnsupportedOperation.
Result<void> GenerateDataKeyPair(OpContext& ctx, const JsonIn& in, JsonOut& out) {
  return GenerateDataKeyPairImpl(ctx, in, out, "GenerateDataKeyPair", /*with_plaintext=*/true);
}

// GenerateDataKeyPairWithoutPlaintext:
// https://docs.aws.amazon.com/kms/latest/APIReference/API_GenerateDataKeyPairWithoutPlaintext.html
// Deviation: key policies, grants and GrantTokens are not enforced.
Result<void> GenerateDataKeyPairWithoutPlaintext(OpContext& ctx, const JsonIn& in, JsonOut& out) {
  return GenerateDataKeyPairImpl(ctx, in, out, "GenerateDataKeyPairWithoutPlaintext",
                                 /*with_plaintext=*/false);
}

// GenerateRandom: https://docs.aws.amazon.com/kms/latest/APIReference/API_GenerateRandom.html
// With CustomKeyStoreId the bytes come "from" that CloudHSM key store, which must be CONNECTED
// (custom_key_stores.hpp); an external key store is refused as AWS documents.
// Deviation: the bytes of a CloudHSM key store come from kmsd's RAND_bytes like the others.
// Deviation: Recipient (Nitro Enclaves attestation) is not supported: UnsupportedOperation.
Result<void> GenerateRandom(OpContext& ctx, const JsonIn& in, JsonOut& out) {
  if (!in.Has("NumberOfBytes")) return KmsError::Validation("NumberOfBytes is required.");
  auto n = in.OptionalInt("NumberOfBytes");
  if (!n) return KmsError::Serialization("NumberOfBytes must be an integer");
  KMS_ASSIGN_OR_RETURN(std::size_t length, CheckNumberOfBytes(*n));
  if (auto store_id = in.OptionalString("CustomKeyStoreId")) {
    KMS_TRY(RequireRandomSource(ctx, *store_id));
  }
  if (in.Has("Recipient")) return RecipientUnsupported();

  auto bytes = crypto::RandomBytes(length);
  if (!bytes) return KmsError::Internal("random generation failed: " + bytes.error().message);
  out.Blob("Plaintext", *bytes);
  return {};
}

}  // namespace kms::ops
