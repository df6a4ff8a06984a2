// File: key_metadata.hpp
//
// The KeyMetadata structure that CreateKey and DescribeKey return (and, later, ReplicateKey).
// One writer, so every operation reports a key the same way.
//
//   WriteKeyMetadata(ctx, *key, out);   // writes "KeyMetadata": { ... }
//
// Thread-safety: stateless.
#pragma once

#include <string>

#include "domain/vocabulary.hpp"
#include "server/ops/context.hpp"
#include "server/ops/custom_key_stores.hpp"
#include "server/ops/key_lookup.hpp"
#include "server/ops/key_specs.hpp"
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

// Writes the member "KeyMetadata" with every field AWS sends for `key` (recorded from AWS).
// ARNs are built in the caller's scope, which is the key's own scope.
inline void WriteKeyMetadata(const OpContext& ctx, const storage::KeyRecord& key,
                             server::JsonOut& out) {
  const std::string arn = ctx.KeyArn(key.key_id);
  out.Key("KeyMetadata");
  out.StartObject();
  out.String("AWSAccountId", ctx.scope.account);
  out.String("KeyId", key.key_id);
  out.String("Arn", arn);
  out.Timestamp("CreationDate", key.creation_date);
  const domain::KeyState state = EffectiveKeyState(ctx, key);  // Unavailable: store disconnected
  out.Bool("Enabled", state == domain::KeyState::kEnabled);
  out.String("Description", key.description);
  out.String("KeyUsage", domain::WireName(key.key_usage));
  out.String("KeyState", domain::WireName(state));
  if (key.key_state == domain::KeyState::kPendingDeletion && key.deletion_date) {
    out.Timestamp("DeletionDate", *key.deletion_date);
  }
  out.String("Origin", domain::WireName(key.origin));
  WriteCustomKeyStoreMembers(ctx, key, out);  // CustomKeyStoreId, CloudHsmClusterId
  out.String("KeyManager", domain::WireName(key.key_manager));
  out.String("CustomerMasterKeySpec", domain::WireName(key.key_spec));
  out.String("KeySpec", domain::WireName(key.key_spec));
  WriteAlgorithmLists(key, out);  // EncryptionAlgorithms, SigningAlgorithms, ...
  out.Bool("MultiRegion", key.multi_region);
  if (key.multi_region) {
    // Replicas do not exist yet (ReplicateKey is not implemented): every mrk key is a primary.
    out.Key("MultiRegionConfiguration");
    out.StartObject();
    out.String("MultiRegionKeyType", "PRIMARY");
    out.Key("PrimaryKey");
    out.StartObject();
    out.String("Arn", arn);
    out.String("Region", ctx.scope.region);
    out.EndObject();
    out.Key("ReplicaKeys");
    out.StartArray();
    out.EndArray();
    out.EndObject();
  }
  if (key.key_state == domain::KeyState::kPendingDeletion && key.pending_window_days) {
    out.Int("PendingDeletionWindowInDays", *key.pending_window_days);
  }
  if (key.key_spec == domain::KeySpec::kSymmetricDefault) {
    if (const storage::KeyMaterial* material = CurrentMaterial(key)) {
      out.String("CurrentKeyMaterialId", material->material_id);
    }
  }
  WriteXksKeyConfiguration(key, out);
  WriteImportedMaterialExpiry(key, out);
  out.EndObject();
}

}  // namespace kms::ops
