// File: rotation.cpp
//
// Key rotation: the automatic schedule (EnableKeyRotation, DisableKeyRotation,
// GetKeyRotationStatus) and RotateKeyOnDemand. Only symmetric encryption keys with AWS_KMS
// material can rotate.
//
// Thread-safety: handlers run concurrently; changes are made under the registry's writer.
#include <cstdint>
#include <string>
#include <string_view>

#include "domain/vocabulary.hpp"
#include "server/ops/key_lookup.hpp"
#include "server/ops/key_specs.hpp"
#include "server/ops/keys.hpp"
#include "server/ops/ops.hpp"

namespace kms::ops {
namespace {

constexpr std::int64_t kSecondsPerDay = 86'400;
constexpr std::int64_t kDefaultRotationPeriodDays = 365;
// On-demand rotations AWS allows per key (AWS KMS Developer Guide, "Perform on-demand key
// rotation": "a maximum of 25 times per KMS key"; the API reference still says 10).
constexpr std::size_t kMaxOnDemandRotations = 25;

// Automatic rotation exists only for symmetric encryption keys whose material KMS made.
// AWS answers an asymmetric or HMAC key with an empty message (recorded from AWS for
// RotateKeyOnDemand), and other origins with "<arn> origin is <origin> which is not valid
// for this operation."
Result<void> RequireRotatable(const OpContext& ctx, const storage::KeyRecord& key) {
  if (key.key_spec != domain::KeySpec::kSymmetricDefault) return KmsError::Unsupported({});
  if (key.origin != domain::Origin::kAwsKms) {
    return KmsError::Unsupported(ctx.KeyArn(key.key_id) + " origin is " +
                                 std::string(domain::WireName(key.origin)) +
                                 " which is not valid for this operation.");
  }
  return {};
}

}  // namespace

// EnableKeyRotation: https://docs.aws.amazon.com/kms/latest/APIReference/API_EnableKeyRotation.html
// Calling it again on a key that rotates changes the period and restarts the schedule.
// Deviation: the key material is not rotated when NextRotationDate passes; only the
// schedule is recorded and reported.
Result<void> EnableKeyRotation(OpContext& ctx, const JsonIn& in, JsonOut& /*out*/) {
  KMS_ASSIGN_OR_RETURN(std::string_view key_ref, in.RequiredString("KeyId"));
  const std::int64_t period_days =
      in.OptionalInt("RotationPeriodInDays").value_or(kDefaultRotationPeriodDays);

  auto writer = ctx.registry.BeginWrite();
  KMS_ASSIGN_OR_RETURN(KeyPtr key, ResolveKey(ctx, key_ref, KeyRefForms::kKeyIdOrArn));
  KMS_TRY(RequireCustomerManaged(ctx, *key, "EnableKeyRotation"));
  KMS_TRY(RequireEnabled(ctx, *key));
  KMS_TRY(RequireRotatable(ctx, *key));

  storage::KeyRecord updated = *key;
  updated.rotation_enabled = true;
  updated.rotation_period_days = static_cast<int>(period_days);
  updated.next_rotation_date = ctx.Now() + period_days * kSecondsPerDay;
  if (!writer.UpdateKey(std::move(updated))) return StorageFailure("EnableKeyRotation");
  return {};
}

// DisableKeyRotation:
// https://docs.aws.amazon.com/kms/latest/APIReference/API_DisableKeyRotation.html
// The period is forgotten: enabling again without RotationPeriodInDays uses 365 days.
Result<void> DisableKeyRotation(OpContext& ctx, const JsonIn& in, JsonOut& /*out*/) {
  KMS_ASSIGN_OR_RETURN(std::string_view key_ref, in.RequiredString("KeyId"));

  auto writer = ctx.registry.BeginWrite();
  KMS_ASSIGN_OR_RETURN(KeyPtr key, ResolveKey(ctx, key_ref, KeyRefForms::kKeyIdOrArn));
  KMS_TRY(RequireCustomerManaged(ctx, *key, "DisableKeyRotation"));
  KMS_TRY(RequireEnabled(ctx, *key));
  KMS_TRY(RequireRotatable(ctx, *key));
  if (!key->rotation_enabled) return {};  // nothing to change

  storage::KeyRecord updated = *key;
  updated.rotation_enabled = false;
  updated.rotation_period_days.reset();
  updated.next_rotation_date.reset();
  if (!writer.UpdateKey(std::move(updated))) return StorageFailure("DisableKeyRotation");
  return {};
}

// GetKeyRotationStatus:
// https://docs.aws.amazon.com/kms/latest/APIReference/API_GetKeyRotationStatus.html
// Works in every key state.
// Deviation: OnDemandRotationStartDate is never sent: it names an on-demand rotation in
// progress, and kmsd's finish before RotateKeyOnDemand answers.
Result<void> GetKeyRotationStatus(OpContext& ctx, const JsonIn& in, JsonOut& out) {
  KMS_ASSIGN_OR_RETURN(std::string_view key_ref, in.RequiredString("KeyId"));
  KMS_ASSIGN_OR_RETURN(KeyPtr key, ResolveKey(ctx, key_ref, KeyRefForms::kKeyIdOrArn));
  KMS_TRY(RequireRotatable(ctx, *key));

  out.Bool("KeyRotationEnabled", key->rotation_enabled);
  out.String("KeyId", ctx.KeyArn(key->key_id));
  if (key->rotation_enabled) {
    if (key->rotation_period_days) out.Int("RotationPeriodInDays", *key->rotation_period_days);
    if (key->next_rotation_date) out.Timestamp("NextRotationDate", *key->next_rotation_date);
  }
  return {};
}

// RotateKeyOnDemand:
// https://docs.aws.amazon.com/kms/latest/APIReference/API_RotateKeyOnDemand.html
// New key material becomes the key's current version: later Encrypt and GenerateDataKey
// calls seal under it (DescribeKey's CurrentKeyMaterialId changes), and ciphertexts sealed
// under an older version still decrypt, since the blob names its version. The automatic
// schedule is left as it is. Errors as recorded from AWS: an asymmetric or HMAC
// key, or another origin, UnsupportedOperationException; a disabled key DisabledException;
// the 26th rotation LimitExceededException.
// Deviation: the rotation is finished when the call returns (AWS's runs in the background,
// so ConflictException for a rotation in progress never happens here).
Result<void> RotateKeyOnDemand(OpContext& ctx, const JsonIn& in, JsonOut& out) {
  KMS_ASSIGN_OR_RETURN(std::string_view key_ref, in.RequiredString("KeyId"));

  auto writer = ctx.registry.BeginWrite();
  KMS_ASSIGN_OR_RETURN(KeyPtr key, ResolveKey(ctx, key_ref, KeyRefForms::kKeyIdOrArn));
  KMS_TRY(RequireCustomerManaged(ctx, *key, "RotateKeyOnDemand"));
  KMS_TRY(RequireEnabled(ctx, *key));
  KMS_TRY(RequireRotatable(ctx, *key));
  // Every version after the first came from an on-demand rotation: kmsd rotates no other way.
  if (key->materials.size() > kMaxOnDemandRotations) {
    return KmsError{server::ErrorCode::kLimitExceeded,
                    "The on-demand rotations limit has been reached for the given keyId. No more "
                    "on-demand rotations can be performed for this key: " +
                        ctx.KeyArn(key->key_id)};
  }
  KMS_ASSIGN_OR_RETURN(storage::KeyMaterial material,
                       NewKeyMaterial(domain::SpecInfo(key->key_spec), ctx.Now()));
  material.version = key->materials.empty() ? 1 : key->materials.back().version + 1;

  storage::KeyRecord updated = *key;
  updated.current_material_version = material.version;
  updated.materials.push_back(std::move(material));
  if (!writer.UpdateKey(std::move(updated))) return StorageFailure("RotateKeyOnDemand");
  out.String("KeyId", key->key_id);
  return {};
}

}  // namespace kms::ops
