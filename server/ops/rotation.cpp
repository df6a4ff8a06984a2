// File: rotation.cpp
//
// Key rotation: the automatic schedule (EnableKeyRotation, DisableKeyRotation,
// GetKeyRotationStatus, and the lazy catch-up of rotation.hpp), RotateKeyOnDemand and the
// rotation history, ListKeyRotations.
//
// A key's materials are its versions, ascending (storage/records.hpp): version 1 is the first
// material, each rotation adds one and makes it current. On an EXTERNAL key, material whose
// version is above the current one was imported for a later rotation (PENDING_ROTATION), and
// RotateKeyOnDemand makes the lowest such version current instead of generating material; a
// material without bytes there is PENDING_IMPORT (it expired or was deleted).
//
// Thread-safety: handlers run concurrently; changes are made under the registry's writer.
#include "server/ops/rotation.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "domain/vocabulary.hpp"
#include "server/ops/key_lookup.hpp"
#include "server/ops/key_specs.hpp"
#include "server/ops/keys.hpp"
#include "server/ops/multi_region.hpp"
#include "server/ops/ops.hpp"
#include "server/ops/paging.hpp"

namespace kms::ops {
namespace {

using domain::KeyMaterialState;
using domain::RotationType;

constexpr std::int64_t kSecondsPerDay = 86'400;
constexpr std::int64_t kDefaultRotationPeriodDays = 365;
// On-demand rotations AWS allows per key (RotateKeyOnDemand's API reference and the developer
// guide: "a maximum of 25 times per KMS key"; older pages said 10). Automatic rotations do not
// count.
constexpr std::size_t kMaxOnDemandRotations = 25;
// ListKeyRotations: "If you do not include a value, it defaults to 100."
constexpr std::int64_t kDefaultRotationsPage = 100;

// What a rotation operation needs of the key.
enum class Rotation {
  kAutomatic,  // EnableKeyRotation, DisableKeyRotation
  kAny,        // RotateKeyOnDemand, GetKeyRotationStatus, ListKeyRotations
};

// Only symmetric encryption keys rotate. AWS answers an asymmetric or HMAC key with an empty
// message (recorded from AWS for RotateKeyOnDemand; the same assumed for the other rotation
// operations). Automatic rotation needs material KMS made (Origin AWS_KMS); on-demand rotation,
// the status and the history also take imported material (EXTERNAL). Keys in custom key stores
// never rotate: "<arn> origin is <origin> which is not valid for this operation." (recorded from
// AWS for RotateKeyOnDemand on an EXTERNAL key before AWS allowed that).
Result<void> RequireRotatable(const OpContext& ctx, const storage::KeyRecord& key, Rotation kind) {
  if (key.key_spec != domain::KeySpec::kSymmetricDefault) return KmsError::Unsupported({});
  const bool origin_ok = key.origin == domain::Origin::kAwsKms ||
                         (kind == Rotation::kAny && key.origin == domain::Origin::kExternal);
  if (!origin_ok) {
    return KmsError::Unsupported(ctx.KeyArn(key.key_id) + " origin is " +
                                 std::string(domain::WireName(key.origin)) +
                                 " which is not valid for this operation.");
  }
  return {};
}

std::int64_t PeriodSeconds(const storage::KeyRecord& key) {
  return std::int64_t{key.rotation_period_days.value_or(kDefaultRotationPeriodDays)} *
         kSecondsPerDay;
}

// Adds fresh material made current by a rotation of `type` at `date`.
Result<void> AddRotatedMaterial(storage::KeyRecord& key, RotationType type, std::int64_t date) {
  KMS_ASSIGN_OR_RETURN(storage::KeyMaterial material,
                       NewKeyMaterial(domain::SpecInfo(key.key_spec), date));
  material.version = key.materials.empty() ? 1 : key.materials.back().version + 1;
  material.rotation_type = type;
  material.rotation_date = date;
  key.current_material_version = material.version;
  key.materials.push_back(std::move(material));
  return {};
}

std::size_t OnDemandRotations(const storage::KeyRecord& key) {
  return static_cast<std::size_t>(std::ranges::count_if(
      key.materials, [](const auto& m) { return m.rotation_type == RotationType::kOnDemand; }));
}

// An EXTERNAL key's on-demand rotation: the lowest imported version above the current one
// becomes current. Without one, KMSInvalidStateException (recorded from AWS).
Result<void> RotateInPendingMaterial(const OpContext& ctx, storage::KeyRecord& key,
                                     std::int64_t now) {
  for (storage::KeyMaterial& material : key.materials) {
    if (material.version <= key.current_material_version || material.bytes.empty()) continue;
    material.rotation_type = RotationType::kOnDemand;
    material.rotation_date = now;
    key.current_material_version = material.version;
    return {};
  }
  return KmsError::InvalidState(
      "No available key material pending rotation for the key: " + ctx.KeyArn(key.key_id) + ".");
}

KeyMaterialState StateOf(const storage::KeyRecord& key, const storage::KeyMaterial& material) {
  if (material.version == key.current_material_version) return KeyMaterialState::kCurrent;
  return material.version < key.current_material_version ? KeyMaterialState::kNonCurrent
                                                         : KeyMaterialState::kPendingRotation;
}

// One RotationsListEntry, members in the order AWS's documentation shows them. The import
// members are for EXTERNAL keys only; RotationDate and RotationType for material that a
// rotation made current.
void WriteRotationsEntry(const storage::KeyRecord& key, const storage::KeyMaterial& material,
                         JsonOut& out) {
  const bool imported = key.origin == domain::Origin::kExternal;
  out.String("KeyId", key.key_id);
  out.String("KeyMaterialId", material.material_id);
  if (imported && !material.description.empty()) {
    out.String("KeyMaterialDescription", material.description);
  }
  if (imported) {
    out.String("ImportState",
               domain::WireName(material.bytes.empty() ? domain::ImportState::kPendingImport
                                                       : domain::ImportState::kImported));
  }
  out.String("KeyMaterialState", domain::WireName(StateOf(key, material)));
  if (imported && material.expiration_model) {
    out.String("ExpirationModel", domain::WireName(*material.expiration_model));
    if (material.valid_to) out.Timestamp("ValidTo", *material.valid_to);
  }
  if (material.rotation_type) {
    if (material.rotation_date) out.Timestamp("RotationDate", *material.rotation_date);
    out.String("RotationType", domain::WireName(*material.rotation_type));
  }
}

// ListKeyRotations' Marker: the version of the last material of the previous page, in decimal.
Result<std::uint32_t> ParseRotationsMarker(std::string_view marker) {
  std::uint32_t version = 0;
  const auto [end, ec] = std::from_chars(marker.data(), marker.data() + marker.size(), version);
  if (ec != std::errc() || end != marker.data() + marker.size()) return InvalidMarker(marker);
  return version;
}

// A multi-region replica shares its primary's material and rotation settings (multi_region.hpp):
// they change on the primary only, which passes them on (SyncReplicas). AWS's code and text for
// rotating a replica are not pinned.
Result<void> RequireNotReplica(const OpContext& ctx, const storage::KeyRecord& key) {
  if (!IsMultiRegionReplica(key)) return {};
  return KmsError::Unsupported(
      ctx.KeyArn(key.key_id) + " is a multi-region replica key. Rotate its primary key " +
      KeyArnOf({key.scope.account, key.primary_region}, key.key_id) + " instead.");
}

// CatchUpRotations for a multi-region replica, which never rotates by itself: once its
// schedule (its primary's, copied) has passed, the primary's due rotations are made and passed
// on to every replica, the first time any related key depends on them; `key` is then re-read.
// The writer is taken only when the primary is due (an Enabled primary past its date).
Result<void> CatchUpReplicaRotations(const OpContext& ctx, KeyPtr& key, std::int64_t now) {
  if (!key->next_rotation_date || *key->next_rotation_date > now) return {};
  const storage::Scope primary_scope{key->scope.account, key->primary_region};
  KeyPtr primary = ctx.registry.FindKey(primary_scope, key->key_id);
  if (primary == nullptr || !AutomaticRotationDue(*primary, now)) return {};
  {
    auto writer = ctx.registry.BeginWrite();
    primary = ctx.registry.FindKey(primary_scope, key->key_id);
    if (primary != nullptr && AutomaticRotationDue(*primary, now)) {
      storage::KeyRecord updated = *primary;
      KMS_TRY(ApplyDueRotations(updated, now));
      KMS_TRY(SyncReplicas(ctx, writer, updated));
      if (!writer.UpdateKey(std::move(updated))) return StorageFailure("automatic key rotation");
    }
  }
  if (KeyPtr current = FindLiveKey(ctx, key->scope, key->key_id)) key = std::move(current);
  return {};
}

}  // namespace

bool AutomaticRotationDue(const storage::KeyRecord& key, std::int64_t now) {
  return key.rotation_enabled && key.next_rotation_date && *key.next_rotation_date <= now &&
         key.key_state == domain::KeyState::kEnabled && !IsMultiRegionReplica(key);
}

Result<void> ApplyDueRotations(storage::KeyRecord& key, std::int64_t now) {
  if (!AutomaticRotationDue(key, now)) return {};
  const std::int64_t period = PeriodSeconds(key);
  std::int64_t date = *key.next_rotation_date;
  std::int64_t due = (now - date) / period + 1;
  if (due > kMaxCatchUpRotations) {
    date += (due - kMaxCatchUpRotations) * period;
    due = kMaxCatchUpRotations;
  }
  key.materials.reserve(key.materials.size() + static_cast<std::size_t>(due));
  for (std::int64_t i = 0; i < due; ++i, date += period) {
    KMS_TRY(AddRotatedMaterial(key, RotationType::kAutomatic, date));
  }
  key.next_rotation_date = date;
  return {};
}

void RestartOverdueSchedule(storage::KeyRecord& key, std::int64_t now) {
  if (IsMultiRegionReplica(key)) return;  // the schedule is its primary's
  if (key.rotation_enabled && key.next_rotation_date && *key.next_rotation_date <= now) {
    key.next_rotation_date = now;
  }
}

Result<void> CatchUpRotationsSlow(const OpContext& ctx, KeyPtr& key) {
  const std::int64_t now = ctx.Now();
  if (IsMultiRegionReplica(*key)) return CatchUpReplicaRotations(ctx, key, now);
  if (!AutomaticRotationDue(*key, now)) return {};

  auto writer = ctx.registry.BeginWrite();
  KeyPtr current = ctx.registry.FindKey(key->scope, key->key_id);
  if (current == nullptr) return {};  // deleted meanwhile: the caller's view stands
  if (AutomaticRotationDue(*current, now)) {
    storage::KeyRecord updated = *current;
    KMS_TRY(ApplyDueRotations(updated, now));
    KMS_TRY(SyncReplicas(ctx, writer, updated));  // a primary's replicas get the same material
    if (!writer.UpdateKey(std::move(updated))) return StorageFailure("automatic key rotation");
    current = ctx.registry.FindKey(key->scope, key->key_id);
  }
  key = std::move(current);  // rotated now, or by another request meanwhile
  return {};
}

// EnableKeyRotation: https://docs.aws.amazon.com/kms/latest/APIReference/API_EnableKeyRotation.html
// The first rotation comes RotationPeriodInDays after the call, then one every period
// (rotation.hpp). Calling it again on a key that rotates changes the period and restarts the
// schedule from the call (AWS does not document how it recomputes the date).
Result<void> EnableKeyRotation(OpContext& ctx, const JsonIn& in, JsonOut& /*out*/) {
  KMS_ASSIGN_OR_RETURN(std::string_view key_ref, in.RequiredString("KeyId"));
  const std::int64_t period_days =
      in.OptionalInt("RotationPeriodInDays").value_or(kDefaultRotationPeriodDays);

  auto writer = ctx.registry.BeginWrite();
  KMS_ASSIGN_OR_RETURN(KeyPtr key, ResolveKey(ctx, key_ref, KeyRefForms::kKeyIdOrArn));
  KMS_TRY(RequireCustomerManaged(ctx, *key, "EnableKeyRotation"));
  KMS_TRY(RequireEnabled(ctx, *key));
  KMS_TRY(RequireRotatable(ctx, *key, Rotation::kAutomatic));
  KMS_TRY(RequireNotReplica(ctx, *key));

  const std::int64_t now = ctx.Now();
  storage::KeyRecord updated = *key;
  KMS_TRY(ApplyDueRotations(updated, now));  // what the old schedule made due happened first
  updated.rotation_enabled = true;
  updated.rotation_period_days = static_cast<int>(period_days);
  updated.next_rotation_date = now + period_days * kSecondsPerDay;
  KMS_TRY(SyncReplicas(ctx, writer, updated));
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
  KMS_TRY(RequireRotatable(ctx, *key, Rotation::kAutomatic));
  KMS_TRY(RequireNotReplica(ctx, *key));
  if (!key->rotation_enabled) return {};  // nothing to change

  storage::KeyRecord updated = *key;
  KMS_TRY(ApplyDueRotations(updated, ctx.Now()));  // rotations due before the call happened
  updated.rotation_enabled = false;
  updated.rotation_period_days.reset();
  updated.next_rotation_date.reset();
  KMS_TRY(SyncReplicas(ctx, writer, updated));
  if (!writer.UpdateKey(std::move(updated))) return StorageFailure("DisableKeyRotation");
  return {};
}

// GetKeyRotationStatus:
// https://docs.aws.amazon.com/kms/latest/APIReference/API_GetKeyRotationStatus.html
// Works in every key state. While a key is pending deletion its status is false (and comes back
// if the deletion is cancelled), as AWS documents; a disabled key keeps its status and date.
// Keys with imported material answer false: they rotate on demand only.
// Deviation: OnDemandRotationStartDate is never sent: it names an on-demand rotation in
// progress, and kmsd's finish before RotateKeyOnDemand answers.
Result<void> GetKeyRotationStatus(OpContext& ctx, const JsonIn& in, JsonOut& out) {
  KMS_ASSIGN_OR_RETURN(std::string_view key_ref, in.RequiredString("KeyId"));
  KMS_ASSIGN_OR_RETURN(KeyPtr key, ResolveKey(ctx, key_ref, KeyRefForms::kKeyIdOrArn));
  KMS_TRY(RequireRotatable(ctx, *key, Rotation::kAny));
  KMS_TRY(CatchUpRotations(ctx, key));

  const bool enabled =
      key->rotation_enabled && key->key_state != domain::KeyState::kPendingDeletion;
  out.Bool("KeyRotationEnabled", enabled);
  out.String("KeyId", ctx.KeyArn(key->key_id));
  if (enabled) {
    out.Int("RotationPeriodInDays", PeriodSeconds(*key) / kSecondsPerDay);
    if (key->next_rotation_date) out.Timestamp("NextRotationDate", *key->next_rotation_date);
  }
  return {};
}

// RotateKeyOnDemand:
// https://docs.aws.amazon.com/kms/latest/APIReference/API_RotateKeyOnDemand.html
// A key with AWS_KMS material gets new material, current at once; an EXTERNAL key makes current
// the material imported for rotation (ImportKeyMaterial with ImportType NEW_KEY_MATERIAL; the
// lowest version pending), else KMSInvalidStateException "No available key material pending
// rotation for the key: <arn>." (recorded from AWS). Later encryptions seal under the new
// material (DescribeKey's CurrentKeyMaterialId changes); ciphertexts sealed under older
// versions still decrypt, since the blob names its version. The automatic schedule is left as
// it is. Errors as recorded from AWS: an asymmetric or HMAC key UnsupportedOperationException
// (empty message; AWS documents that HMAC keys cannot be rotated on demand), a key in a custom
// key store the "origin is" text; a disabled key DisabledException; the 26th on-demand rotation
// LimitExceededException (automatic rotations do not count).
// Deviation: the rotation is finished when the call returns (AWS's runs in the background,
// so ConflictException for a rotation in progress never happens here).
// Deviation: multi-Region keys with imported material have no
// PENDING_MULTI_REGION_IMPORT_AND_ROTATION stage.
Result<void> RotateKeyOnDemand(OpContext& ctx, const JsonIn& in, JsonOut& out) {
  KMS_ASSIGN_OR_RETURN(std::string_view key_ref, in.RequiredString("KeyId"));

  auto writer = ctx.registry.BeginWrite();
  KMS_ASSIGN_OR_RETURN(KeyPtr key, ResolveKey(ctx, key_ref, KeyRefForms::kKeyIdOrArn));
  KMS_TRY(RequireCustomerManaged(ctx, *key, "RotateKeyOnDemand"));
  KMS_TRY(RequireEnabled(ctx, *key));
  KMS_TRY(RequireRotatable(ctx, *key, Rotation::kAny));
  KMS_TRY(RequireNotReplica(ctx, *key));
  if (OnDemandRotations(*key) >= kMaxOnDemandRotations) {
    return KmsError{server::ErrorCode::kLimitExceeded,
                    "The on-demand rotations limit has been reached for the given keyId. No more "
                    "on-demand rotations can be performed for this key: " +
                        ctx.KeyArn(key->key_id)};
  }

  const std::int64_t now = ctx.Now();
  storage::KeyRecord updated = *key;
  KMS_TRY(ApplyDueRotations(updated, now));  // automatic rotations due before this one
  if (updated.origin == domain::Origin::kExternal) {
    KMS_TRY(RotateInPendingMaterial(ctx, updated, now));
  } else {
    KMS_TRY(AddRotatedMaterial(updated, RotationType::kOnDemand, now));
  }
  KMS_TRY(SyncReplicas(ctx, writer, updated));  // a primary's replicas get the same material
  if (!writer.UpdateKey(std::move(updated))) return StorageFailure("RotateKeyOnDemand");
  out.String("KeyId", key->key_id);
  return {};
}

// ListKeyRotations:
// https://docs.aws.amazon.com/kms/latest/APIReference/API_ListKeyRotations.html
// The key's materials in rotation order, oldest first. IncludeKeyMaterial ROTATIONS_ONLY (the
// default) lists the materials rotations made current, so a key never rotated lists none;
// ALL_KEY_MATERIAL adds the first material and imported material pending rotation. Each entry:
// KeyId (the bare key id, as in AWS's example), KeyMaterialId, KeyMaterialState (CURRENT,
// NON_CURRENT, PENDING_ROTATION), RotationDate and RotationType (AUTOMATIC, ON_DEMAND) for
// rotated material; for EXTERNAL keys also ImportState, KeyMaterialDescription, ExpirationModel
// and ValidTo. Marker: the version of the last material of the previous page (paging.hpp).
// Works in every key state; asymmetric and HMAC keys get UnsupportedOperationException with an
// empty message (AWS's text not pinned), as the other rotation operations.
// Deviation: PENDING_MULTI_REGION_IMPORT_AND_ROTATION is never listed.
Result<void> ListKeyRotations(OpContext& ctx, const JsonIn& in, JsonOut& out) {
  KMS_ASSIGN_OR_RETURN(std::string_view key_ref, in.RequiredString("KeyId"));
  const bool all_material = in.OptionalString("IncludeKeyMaterial") == "ALL_KEY_MATERIAL";
  const std::int64_t limit = in.OptionalInt("Limit").value_or(kDefaultRotationsPage);
  std::uint32_t after_version = 0;
  if (const auto marker = in.OptionalString("Marker")) {
    KMS_ASSIGN_OR_RETURN(after_version, ParseRotationsMarker(*marker));
  }

  KMS_ASSIGN_OR_RETURN(KeyPtr key, ResolveKey(ctx, key_ref, KeyRefForms::kKeyIdOrArn));
  KMS_TRY(RequireRotatable(ctx, *key, Rotation::kAny));
  KMS_TRY(CatchUpRotations(ctx, key));

  std::vector<const storage::KeyMaterial*> listed;
  for (auto it = std::ranges::upper_bound(key->materials, after_version, {},
                                          &storage::KeyMaterial::version);
       it != key->materials.end(); ++it) {
    if (all_material || it->rotation_type) listed.push_back(&*it);
  }
  WritePage(
      out, "Rotations", std::span<const storage::KeyMaterial* const>(listed), limit,
      [&](const storage::KeyMaterial* m) { WriteRotationsEntry(*key, *m, out); },
      [](const storage::KeyMaterial* m) { return std::to_string(m->version); });
  return {};
}

}  // namespace kms::ops
