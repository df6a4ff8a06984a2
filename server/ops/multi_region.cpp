// File: multi_region.cpp
//
// Multi-region keys: ReplicateKey and UpdatePrimaryRegion, and the helpers of multi_region.hpp
// that the key lifecycle (keys.cpp), DescribeKey and rotation use.
//
// Thread-safety: handlers run concurrently; every change is made under the registry's writer,
// which also orders the changes to related keys in other regions.
#include "server/ops/multi_region.hpp"

#include <algorithm>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "domain/vocabulary.hpp"
#include "server/ops/key_lookup.hpp"
#include "server/ops/key_metadata.hpp"
#include "server/ops/ops.hpp"
#include "server/ops/policies.hpp"
#include "server/ops/tags.hpp"

namespace kms::ops {
namespace {

using domain::KeyState;
using domain::MultiRegionKeyType;

constexpr std::int64_t kSecondsPerDay = 86'400;

// The Regions where KMS is offered (AWS General Reference, "AWS Key Management Service
// endpoints and quotas", 2025), in the three partitions kmsd models (PartitionOf). A replica
// can be made only in one of them. Add new Regions here.
constexpr std::string_view kKmsRegions[] = {
    "af-south-1",     "ap-east-1",      "ap-east-2",      "ap-northeast-1", "ap-northeast-2",
    "ap-northeast-3", "ap-south-1",     "ap-south-2",     "ap-southeast-1", "ap-southeast-2",
    "ap-southeast-3", "ap-southeast-4", "ap-southeast-5", "ap-southeast-6", "ap-southeast-7",
    "ca-central-1",   "ca-west-1",      "eu-central-1",   "eu-central-2",   "eu-north-1",
    "eu-south-1",     "eu-south-2",     "eu-west-1",      "eu-west-2",      "eu-west-3",
    "il-central-1",   "me-central-1",   "me-south-1",     "mx-central-1",   "sa-east-1",
    "us-east-1",      "us-east-2",      "us-west-1",      "us-west-2",      "cn-north-1",
    "cn-northwest-1", "us-gov-east-1",  "us-gov-west-1",
};

bool IsKmsRegion(std::string_view region) {
  return std::ranges::find(kKmsRegions, region) != std::end(kKmsRegions);
}

storage::Scope ScopeIn(const storage::Scope& scope, std::string_view region) {
  return storage::Scope{scope.account, std::string(region)};
}

// UnsupportedOperationException "<arn> is not a multi-region primary key." (recorded from AWS
// for ReplicateKey on a replica; kmsd answers a single-region key and UpdatePrimaryRegion the
// same way, which is not pinned).
KmsError NotPrimary(const OpContext& ctx, const storage::KeyRecord& key) {
  return KmsError::Unsupported(ctx.KeyArn(key.key_id) + " is not a multi-region primary key.");
}

// The properties AWS keeps equal across related multi-Region keys ("shared properties" in the
// ReplicateKey reference): key spec, usage, origin, automatic rotation and the key material
// (every version, with its KeyMaterialId, so a blob names the same version everywhere).
// Material imported into an EXTERNAL key is not shared: each related key gets its own import
// of the same material, as AWS requires.
void CopySharedProperties(const storage::KeyRecord& from, storage::KeyRecord& to) {
  to.multi_region = true;
  to.key_spec = from.key_spec;
  to.key_usage = from.key_usage;
  to.origin = from.origin;
  to.rotation_enabled = from.rotation_enabled;
  to.rotation_period_days = from.rotation_period_days;
  to.next_rotation_date = from.next_rotation_date;
  if (from.origin != domain::Origin::kExternal) {
    to.materials = from.materials;
    to.current_material_version = from.current_material_version;
  }
}

// True if `replica` already has `primary`'s shared properties and names it as its primary.
// (Field by field: KeyRecord's operator== is ambiguous for clang in C++20, see records.hpp.)
bool InSync(const storage::KeyRecord& primary, const storage::KeyRecord& replica) {
  const bool material_shared =
      primary.origin == domain::Origin::kExternal ||
      (replica.current_material_version == primary.current_material_version &&
       replica.materials == primary.materials);
  return material_shared && replica.multi_region && replica.key_spec == primary.key_spec &&
         replica.key_usage == primary.key_usage && replica.origin == primary.origin &&
         replica.rotation_enabled == primary.rotation_enabled &&
         replica.rotation_period_days == primary.rotation_period_days &&
         replica.next_rotation_date == primary.next_rotation_date &&
         replica.multi_region_type == MultiRegionKeyType::kReplica &&
         replica.primary_region == primary.scope.region && replica.replica_regions.empty();
}

// The regions of `primary`'s replicas that still exist (not deleted, not past their deletion
// date), ascending.
std::vector<std::string> LiveReplicaRegions(const OpContext& ctx,
                                            const storage::KeyRecord& primary) {
  std::vector<std::string> regions;
  for (const std::string& region : primary.replica_regions) {
    if (FindLiveKey(ctx, ScopeIn(primary.scope, region), primary.key_id) != nullptr) {
      regions.push_back(region);
    }
  }
  return regions;
}

void WriteRegionKey(const storage::Scope& scope, std::string_view key_id, server::JsonOut& out) {
  out.StartObject();
  out.String("Arn", KeyArnOf(scope, key_id));
  out.String("Region", scope.region);
  out.EndObject();
}

// ReplicateKey's checks of ReplicaRegion: a Region where KMS is offered, in the primary's
// partition, and not the primary's own. AWS's texts for these are not pinned.
Result<void> CheckReplicaRegion(const OpContext& ctx, std::string_view region) {
  if (!IsKmsRegion(region)) {
    return KmsError::Unsupported("The replica region " + std::string(region) +
                                 " is not a region where AWS KMS is available.");
  }
  if (PartitionOf(region) != ctx.Partition()) {
    return KmsError::Unsupported("The replica region " + std::string(region) +
                                 " is not in the same AWS partition as the primary key (" +
                                 std::string(ctx.Partition()) + ").");
  }
  if (region == ctx.scope.region) {
    return KmsError::Validation("The replica region " + std::string(region) +
                                " must be different from the region of the primary key.");
  }
  return {};
}

// A primary can be replicated while it is Enabled, or PendingImport (imported material: the
// replica is made without material either way). Disabled: DisabledException; PendingDeletion,
// PendingReplicaDeletion, Updating: KMSInvalidStateException (KeyStateError).
Result<void> RequireReplicable(const OpContext& ctx, const storage::KeyRecord& key) {
  if (key.key_state == KeyState::kEnabled || key.key_state == KeyState::kPendingImport) return {};
  return KeyStateError(ctx, key);
}

// The state a new replica settles in once created: Enabled, or PendingImport without key
// material (a replica of a primary with imported material gets its own import).
KeyState FinalReplicaState(const storage::KeyRecord& replica) {
  const storage::KeyMaterial* material = CurrentMaterial(replica);
  return material == nullptr || material->bytes.empty() ? KeyState::kPendingImport
                                                        : KeyState::kEnabled;
}

// The replica ReplicateKey makes in `scope`: `primary`'s id and shared properties, its own
// description, policy and tags.
storage::KeyRecord NewReplica(const OpContext& ctx, const storage::KeyRecord& primary,
                              const storage::Scope& scope, const JsonIn& in,
                              std::vector<storage::Tag> tags) {
  storage::KeyRecord replica;
  replica.scope = scope;
  replica.key_id = primary.key_id;
  replica.description = std::string(in.OptionalString("Description").value_or(""));
  replica.key_manager = primary.key_manager;
  replica.creation_date = ctx.Now();
  const std::optional<std::string_view> policy = in.OptionalString("Policy");
  replica.policy = policy ? std::string(*policy) : DefaultKeyPolicy(scope);
  replica.tags = std::move(tags);
  CopySharedProperties(primary, replica);
  replica.multi_region_type = MultiRegionKeyType::kReplica;
  replica.primary_region = primary.scope.region;
  // Stored as it will end, so that once created it is read without settling (a copy) on the
  // hot path; SettleMultiRegionState shows it Creating until then.
  replica.key_state = FinalReplicaState(replica);
  return replica;
}

}  // namespace

bool IsMultiRegionPrimary(const storage::KeyRecord& key) {
  return key.multi_region && key.multi_region_type.value_or(MultiRegionKeyType::kPrimary) ==
                                 MultiRegionKeyType::kPrimary;
}

bool IsMultiRegionReplica(const storage::KeyRecord& key) {
  return key.multi_region && key.multi_region_type == MultiRegionKeyType::kReplica;
}

KeyPtr SettleMultiRegionState(const OpContext& ctx, KeyPtr key) {
  if (key == nullptr || !key->multi_region) return key;
  const std::int64_t now = ctx.Now();
  if (IsMultiRegionReplica(*key) &&
      (key->key_state == KeyState::kEnabled || key->key_state == KeyState::kPendingImport ||
       key->key_state == KeyState::kCreating)) {
    // ReplicateKey stores the state the replica ends in; a write made while it was Creating
    // may have stored Creating itself.
    KeyState state = key->key_state;
    if (now < key->creation_date + kReplicaCreationSeconds) {
      state = KeyState::kCreating;
    } else if (state == KeyState::kCreating) {
      state = FinalReplicaState(*key);
    }
    if (state == key->key_state) return key;
    auto settled = std::make_shared<storage::KeyRecord>(*key);
    settled->key_state = state;
    return settled;
  }
  if (key->key_state == KeyState::kPendingReplicaDeletion) {
    // Deleted when the last replica's deletion date passed (the latest of them).
    std::optional<std::int64_t> last_deleted;
    for (const std::string& region : key->replica_regions) {
      KeyPtr replica = SettleMultiRegionState(
          ctx, ctx.registry.FindKey(ScopeIn(key->scope, region), key->key_id));
      if (replica == nullptr) continue;
      if (!IsGone(*replica, now)) return key;  // a replica still exists: keep waiting
      last_deleted = std::max(last_deleted.value_or(0), replica->deletion_date.value_or(0));
    }
    auto settled = std::make_shared<storage::KeyRecord>(*key);
    settled->key_state = KeyState::kPendingDeletion;
    // A replica record vanishes only through PurgeExpiredKeys, which stores this very state
    // first (DetachDeletedReplica), so a date is always found; `now` only guards the invariant.
    settled->deletion_date = last_deleted.value_or(now) +
                             std::int64_t{key->pending_window_days.value_or(30)} * kSecondsPerDay;
    settled->replica_regions.clear();
    return settled;
  }
  return key;
}

void WriteMultiRegionConfiguration(const OpContext& ctx, const storage::KeyRecord& key,
                                   server::JsonOut& out) {
  if (!key.multi_region) return;
  const bool replica = IsMultiRegionReplica(key);
  const storage::Scope primary_scope = replica ? ScopeIn(key.scope, key.primary_region) : key.scope;
  // The list of replicas lives on the primary.
  std::vector<std::string> regions;
  if (replica) {
    if (KeyPtr primary = FindLiveKey(ctx, primary_scope, key.key_id)) {
      regions = LiveReplicaRegions(ctx, *primary);
    }
    if (!std::ranges::binary_search(regions, key.scope.region)) {
      regions.insert(std::ranges::upper_bound(regions, key.scope.region), key.scope.region);
    }
  } else {
    regions = LiveReplicaRegions(ctx, key);
  }

  out.Key("MultiRegionConfiguration");
  out.StartObject();
  out.String("MultiRegionKeyType", domain::WireName(replica ? MultiRegionKeyType::kReplica
                                                            : MultiRegionKeyType::kPrimary));
  out.Key("PrimaryKey");
  WriteRegionKey(primary_scope, key.key_id, out);
  out.Key("ReplicaKeys");
  out.StartArray();
  for (const std::string& region : regions)
    WriteRegionKey(ScopeIn(key.scope, region), key.key_id, out);
  out.EndArray();
  out.EndObject();
}

Result<void> SyncReplicas(const OpContext& ctx, storage::Registry::Writer& writer,
                          const storage::KeyRecord& primary) {
  if (!IsMultiRegionPrimary(primary)) return {};
  for (const std::string& region : primary.replica_regions) {
    KeyPtr replica = ctx.registry.FindKey(ScopeIn(primary.scope, region), primary.key_id);
    if (replica == nullptr || LiveRecord(ctx, replica) == nullptr) continue;
    if (InSync(primary, *replica)) continue;  // nothing to write (DisableKey of a primary, ...)
    storage::KeyRecord updated = *replica;    // the stored record: its own state stays as stored
    CopySharedProperties(primary, updated);
    updated.multi_region_type = MultiRegionKeyType::kReplica;
    updated.primary_region = primary.scope.region;
    updated.replica_regions.clear();
    if (!writer.UpdateKey(std::move(updated))) return StorageFailure("SyncReplicas");
  }
  return {};
}

bool HasLiveReplicas(const OpContext& ctx, const storage::KeyRecord& key) {
  return IsMultiRegionPrimary(key) && !LiveReplicaRegions(ctx, key).empty();
}

Result<void> DetachDeletedReplica(const OpContext& ctx, storage::Registry::Writer& writer,
                                  const storage::KeyRecord& replica) {
  if (!IsMultiRegionReplica(replica)) return {};
  KeyPtr primary =
      ctx.registry.FindKey(ScopeIn(replica.scope, replica.primary_region), replica.key_id);
  if (primary == nullptr || !IsMultiRegionPrimary(*primary)) return {};
  // Settled while this replica is still listed, so its deletion date counts.
  const KeyPtr settled = SettleMultiRegionState(ctx, primary);
  storage::KeyRecord updated = *settled;
  const bool listed = std::erase(updated.replica_regions, replica.scope.region) > 0;
  if (settled == primary && !listed) return {};  // nothing to store
  if (!writer.UpdateKey(std::move(updated))) return StorageFailure("PurgeExpiredKeys");
  return {};
}

// ReplicateKey: https://docs.aws.amazon.com/kms/latest/APIReference/API_ReplicateKey.html
// Makes the replica in (account, ReplicaRegion) with the primary's key id, shared properties and
// key material, and adds the region to the primary's replicas. The replica is Creating for
// kReplicaCreationSeconds, then Enabled (multi_region.hpp), as AWS's finishes "after a few
// seconds"; ReplicaKeyMetadata shows it Creating, without CurrentKeyMaterialId (recorded from
// AWS). Description, Policy (default: the default key policy) and Tags are the replica's own.
// Order of checks (a choice where AWS's is not pinned): the key (NotFoundException), that it is
// a primary (recorded: before anything about ReplicaRegion), its key state, ReplicaRegion, an
// existing replica there (AlreadyExistsException), then Policy and Tags.
// Deviation: the policy is checked for shape only and never enforced;
// BypassPolicyLockoutSafetyCheck is accepted and ignored.
// Deviation: ReplicaRegion must be one of the Regions kmsd knows KMS in (kKmsRegions).
Result<void> ReplicateKey(OpContext& ctx, const JsonIn& in, JsonOut& out) {
  KMS_ASSIGN_OR_RETURN(std::string_view key_ref, in.RequiredString("KeyId"));
  KMS_ASSIGN_OR_RETURN(std::string_view replica_region, in.RequiredString("ReplicaRegion"));

  auto writer = ctx.registry.BeginWrite();
  KMS_ASSIGN_OR_RETURN(KeyPtr primary, ResolveKey(ctx, key_ref, KeyRefForms::kKeyIdOrArn));
  if (!IsMultiRegionPrimary(*primary)) return NotPrimary(ctx, *primary);
  KMS_TRY(RequireReplicable(ctx, *primary));
  KMS_TRY(CheckReplicaRegion(ctx, replica_region));
  const storage::Scope replica_scope = ScopeIn(ctx.scope, replica_region);
  // A replica scheduled for deletion still exists: AWS's advice is to cancel its deletion or
  // wait for it. Text not pinned.
  KeyPtr existing = ctx.registry.FindKey(replica_scope, primary->key_id);
  if (existing != nullptr && LiveRecord(ctx, existing) != nullptr) {
    return KmsError{server::ErrorCode::kAlreadyExists,
                    "A replica of " + ctx.KeyArn(primary->key_id) + " already exists in " +
                        std::string(replica_region) + ": " +
                        KeyArnOf(replica_scope, primary->key_id)};
  }
  if (const auto policy = in.OptionalString("Policy")) KMS_TRY(CheckPolicyDocument(*policy));
  KMS_ASSIGN_OR_RETURN(std::vector<storage::Tag> added_tags, ReadTags(in));
  std::vector<storage::Tag> tags;
  KMS_TRY(MergeTags(ctx, tags, added_tags));

  const storage::KeyRecord replica = NewReplica(ctx, *primary, replica_scope, in, std::move(tags));
  // A deleted replica that PurgeExpiredKeys has not removed yet makes room for the new one.
  if (existing != nullptr) {
    if (!writer.DeleteKey(replica_scope, replica.key_id)) return StorageFailure("ReplicateKey");
    // The new replica starts with no usage (GetKeyLastUsage), as every new key does.
    if (ctx.key_usage != nullptr) ctx.key_usage->Forget(replica_scope, replica.key_id);
  }
  if (!writer.InsertKey(replica)) return StorageFailure("ReplicateKey");
  // The primary lists the region already when the replica replaced is a deleted one.
  if (!std::ranges::binary_search(primary->replica_regions, replica_scope.region)) {
    storage::KeyRecord updated = *primary;
    std::vector<std::string>& regions = updated.replica_regions;
    regions.insert(std::ranges::upper_bound(regions, replica_scope.region), replica_scope.region);
    if (!writer.UpdateKey(std::move(updated))) return StorageFailure("ReplicateKey");
  }

  // The replica is described as its own region sees it.
  const OpContext replica_ctx{ctx.registry, ctx.clock, ctx.config, replica_scope, ctx.request_id};
  const KeyPtr created =
      SettleMultiRegionState(replica_ctx, std::make_shared<const storage::KeyRecord>(replica));
  WriteKeyMetadata(replica_ctx, *created, out, "ReplicaKeyMetadata");
  out.String("ReplicaPolicy", replica.policy);
  if (!replica.tags.empty()) {  // AWS sends no ReplicaTags for a replica without tags (recorded)
    out.Key("ReplicaTags");
    out.StartArray();
    for (const storage::Tag& tag : replica.tags) {
      out.StartObject();
      out.String("TagKey", tag.key);
      out.String("TagValue", tag.value);
      out.EndObject();
    }
    out.EndArray();
  }
  return {};
}

// UpdatePrimaryRegion:
// https://docs.aws.amazon.com/kms/latest/APIReference/API_UpdatePrimaryRegion.html
// The replica in PrimaryRegion becomes the primary (with the other replicas and the old
// primary as its replicas) and the old primary a replica; every related key then names the new
// primary. Both keys must be Enabled, as AWS documents ("Both the primary key and the replica
// key must be in the Enabled key state"): else DisabledException / KMSInvalidStateException
// naming the key at fault. Order of checks (a choice): the key, that it is a primary,
// PrimaryRegion, the primary's state, the replica's state. AWS's texts for a PrimaryRegion
// without a replica and for the primary's own Region are not pinned.
// Deviation: the change is complete when the call returns: the keys never show the transient
// Updating state AWS shows for a few seconds.
Result<void> UpdatePrimaryRegion(OpContext& ctx, const JsonIn& in, JsonOut& /*out*/) {
  KMS_ASSIGN_OR_RETURN(std::string_view key_ref, in.RequiredString("KeyId"));
  KMS_ASSIGN_OR_RETURN(std::string_view new_region, in.RequiredString("PrimaryRegion"));

  auto writer = ctx.registry.BeginWrite();
  KMS_ASSIGN_OR_RETURN(KeyPtr primary, ResolveKey(ctx, key_ref, KeyRefForms::kKeyIdOrArn));
  if (!IsMultiRegionPrimary(*primary)) return NotPrimary(ctx, *primary);
  if (new_region == ctx.scope.region) {
    return KmsError::Unsupported(ctx.KeyArn(primary->key_id) + " is already the primary key in " +
                                 std::string(new_region) + ".");
  }
  const storage::Scope new_scope = ScopeIn(ctx.scope, new_region);
  const std::vector<std::string> replicas = LiveReplicaRegions(ctx, *primary);
  KeyPtr replica = FindLiveKey(ctx, new_scope, primary->key_id);
  if (replica == nullptr || !std::ranges::binary_search(replicas, new_scope.region)) {
    return KmsError::NotFound("Key '" + KeyArnOf(new_scope, primary->key_id) + "' does not exist");
  }
  KMS_TRY(RequireEnabled(ctx, *primary));
  {
    const OpContext replica_ctx{ctx.registry, ctx.clock, ctx.config, new_scope, ctx.request_id};
    KMS_TRY(RequireEnabled(replica_ctx, *replica));
  }

  storage::KeyRecord promoted = *replica;  // settled: a replica Creating no more is stored Enabled
  CopySharedProperties(*primary, promoted);
  promoted.multi_region_type = MultiRegionKeyType::kPrimary;
  promoted.primary_region.clear();
  promoted.replica_regions.clear();
  for (const std::string& region : replicas) {
    if (region != new_scope.region) promoted.replica_regions.push_back(region);
  }
  promoted.replica_regions.insert(
      std::ranges::upper_bound(promoted.replica_regions, ctx.scope.region), ctx.scope.region);
  if (!writer.UpdateKey(promoted)) return StorageFailure("UpdatePrimaryRegion");
  // The old primary and every other replica now name the new primary.
  return SyncReplicas(ctx, writer, promoted);
}

}  // namespace kms::ops
