// File: key_metadata.hpp
//
// The KeyMetadata structure that CreateKey, DescribeKey and ReplicateKey return.
// One writer, so every operation reports a key the same way.
//
//   WriteKeyMetadata(ctx, *key, out);   // writes "KeyMetadata": { ... }
//
// Thread-safety: stateless.
#pragma once

#include <string>
#include <string_view>

#include "domain/vocabulary.hpp"
#include "server/ops/context.hpp"
#include "server/ops/custom_key_stores.hpp"
#include "server/ops/key_lookup.hpp"
#include "server/ops/key_specs.hpp"
#include "server/ops/multi_region.hpp"
#include "server/protocol/json_io.hpp"
#include "storage/records.hpp"

namespace kms::ops {

// An EXTERNAL key whose current material is imported: ExpirationModel, and ValidTo when it
// expires (recorded from AWS: absent before the import and after DeleteImportedKeyMaterial).
inline void WriteImportedMaterialExpiry(const storage::KeyRecord& key, server::JsonOut& out) {
  if (key.origin != domain::Origin::kExternal) return;
  const storage::KeyMaterial* material = CurrentMaterial(key);
  if (material == nullptr || material->bytes.empty() || !material->expiration_model) return;
  out.String("ExpirationModel", domain::WireName(*material->expiration_model));
  if (*material->expiration_model == domain::ExpirationModel::kKeyMaterialExpires &&
      material->valid_to) {
    out.Timestamp("ValidTo", *material->valid_to);
  }
}

// Writes the member `member` ("KeyMetadata"; ReplicateKey's "ReplicaKeyMetadata") with every
// field AWS sends for `key` (recorded from AWS). ARNs are built in ctx.scope, which must be the
// key's own scope (ReplicateKey describes the replica through a context of the replica's region).
inline void WriteKeyMetadata(const OpContext& ctx, const storage::KeyRecord& key,
                             server::JsonOut& out, std::string_view member = "KeyMetadata") {
  using domain::KeyState;
  out.Key(member);
  out.StartObject();
  out.String("AWSAccountId", ctx.scope.account);
  out.String("KeyId", key.key_id);
  out.String("Arn", ctx.KeyArn(key.key_id));
  out.Timestamp("CreationDate", key.creation_date);
  const domain::KeyState state = EffectiveKeyState(ctx, key);  // Unavailable: store disconnected
  out.Bool("Enabled", state == domain::KeyState::kEnabled);
  out.String("Description", key.description);
  out.String("KeyUsage", domain::WireName(key.key_usage));
  out.String("KeyState", domain::WireName(state));
  if (key.key_state == KeyState::kPendingDeletion && key.deletion_date) {
    out.Timestamp("DeletionDate", *key.deletion_date);
  }
  out.String("Origin", domain::WireName(key.origin));
  WriteCustomKeyStoreMembers(ctx, key, out);  // CustomKeyStoreId, CloudHsmClusterId
  out.String("KeyManager", domain::WireName(key.key_manager));
  out.String("CustomerMasterKeySpec", domain::WireName(key.key_spec));
  out.String("KeySpec", domain::WireName(key.key_spec));
  WriteAlgorithmLists(key, out);  // EncryptionAlgorithms, SigningAlgorithms, ...
  out.Bool("MultiRegion", key.multi_region);
  WriteMultiRegionConfiguration(ctx, key, out);
  // A primary waiting for its replicas' deletion has a window but no date yet.
  if ((key.key_state == KeyState::kPendingDeletion ||
       key.key_state == KeyState::kPendingReplicaDeletion) &&
      key.pending_window_days) {
    out.Int("PendingDeletionWindowInDays", *key.pending_window_days);
  }
  // A replica being created reports no material yet (ReplicateKey's response, recorded from AWS).
  if (key.key_spec == domain::KeySpec::kSymmetricDefault && key.key_state != KeyState::kCreating) {
    if (const storage::KeyMaterial* material = CurrentMaterial(key)) {
      out.String("CurrentKeyMaterialId", material->material_id);
    }
  }
  WriteXksKeyConfiguration(key, out);
  WriteImportedMaterialExpiry(key, out);
  out.EndObject();
}

}  // namespace kms::ops
