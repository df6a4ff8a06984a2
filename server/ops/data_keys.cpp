// File: data_keys.cpp
//
// GenerateDataKey, GenerateDataKeyWithoutPlaintext (one file-local function; the variant drops
// the plaintext, as local-kms's generateDataKey() does) and GenerateRandom.
//
// Data keys are made with crypto::RandomSecureBytes and live only in SecureBytes, which cleanses
// them when the handler returns; kmsd never stores or logs them.
//
// Thread-safety: handlers may run concurrently; they only read the registry.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "crypto/bytes.hpp"
#include "crypto/encryption_context.hpp"
#include "crypto/random.hpp"
#include "server/ops/key_lookup.hpp"
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
// NumberOfBytes must be given (KMS_FACTS §5).
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

KmsError RecipientUnsupported() {
  return KmsError::Unsupported(
      "kmsd does not support Recipient: there is no Nitro Enclave attestation to verify.");
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
  KMS_ASSIGN_OR_RETURN(SealedBlob sealed, SealUnderCurrentMaterial(ctx, *key, *data_key, context));

  out.Blob("CiphertextBlob", sealed.blob);
  if (with_plaintext) out.Blob("Plaintext", *data_key);
  out.String("KeyId", ctx.KeyArn(key->key_id));
  if (!sealed.material->material_id.empty()) {
    out.String("KeyMaterialId", sealed.material->material_id);
  }
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

// GenerateRandom: https://docs.aws.amazon.com/kms/latest/APIReference/API_GenerateRandom.html
// Deviation: CustomKeyStoreId (CloudHSM key stores) is not supported: UnsupportedOperation.
// Deviation: Recipient (Nitro Enclaves attestation) is not supported: UnsupportedOperation.
Result<void> GenerateRandom(OpContext& /*ctx*/, const JsonIn& in, JsonOut& out) {
  if (!in.Has("NumberOfBytes")) return KmsError::Validation("NumberOfBytes is required.");
  auto n = in.OptionalInt("NumberOfBytes");
  if (!n) return KmsError::Serialization("NumberOfBytes must be an integer");
  KMS_ASSIGN_OR_RETURN(std::size_t length, CheckNumberOfBytes(*n));
  if (in.Has("CustomKeyStoreId")) {
    return KmsError::Unsupported(
        "kmsd does not support GenerateRandom in a custom key store (CustomKeyStoreId).");
  }
  if (in.Has("Recipient")) return RecipientUnsupported();

  auto bytes = crypto::RandomBytes(length);
  if (!bytes) return KmsError::Internal("random generation failed: " + bytes.error().message);
  out.Blob("Plaintext", *bytes);
  return {};
}

}  // namespace kms::ops
