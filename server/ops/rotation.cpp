// File: rotation.cpp
//
// Automatic key rotation settings: EnableKeyRotation, DisableKeyRotation,
// GetKeyRotationStatus. Only symmetric encryption keys with AWS_KMS material can rotate.
//
// Thread-safety: handlers run concurrently; changes are made under the registry's writer.
#include <cstdint>
#include <string>
#include <string_view>

#include "domain/vocabulary.hpp"
#include "server/ops/key_lookup.hpp"
#include "server/ops/ops.hpp"

namespace kms::ops {
namespace {

constexpr std::int64_t kSecondsPerDay = 86'400;
constexpr std::int64_t kDefaultRotationPeriodDays = 365;

// Automatic rotation exists only for symmetric encryption keys whose material KMS made.
// AWS answers an asymmetric or HMAC key with an empty message (KMS_FACTS §8, recorded for
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
// Deviation: OnDemandRotationStartDate is never sent (RotateKeyOnDemand is not implemented).
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

}  // namespace kms::ops
