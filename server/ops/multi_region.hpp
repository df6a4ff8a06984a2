// File: multi_region.hpp
//
// Multi-region keys as the other operations see them. A multi-region key is one KeyRecord per
// region, all with the same "mrk-" key id: one PRIMARY, which lists its replicas' regions
// (KeyRecord::replica_regions, ascending), and REPLICAs, which name their primary's region
// (KeyRecord::primary_region). The shared properties (key spec, usage, origin, key material
// and its versions, automatic rotation settings) are copied from the primary to every replica
// whenever they change (SyncReplicas); the rest (state, description, policy, tags, aliases) is
// each region's own.
//
// Transitional states are settled lazily against the one clock, so they need no background
// thread and read the same before and after a restart (SettleMultiRegionState):
//   * a replica is Creating for kReplicaCreationSeconds after ReplicateKey made it, then Enabled
//     (PendingImport if it has no key material). ReplicateKey stores the final state, so a
//     created replica is read as stored (no copy on the hot path); only a record a write stored
//     while it was Creating is settled by a copy until its next write;
//   * a primary scheduled for deletion while it still has replicas is PendingReplicaDeletion;
//     once the last of them is gone it is PendingDeletion, its waiting period counted from the
//     moment that replica was deleted (its deletion date).
// A write that starts from a settled record (ResolveKey returns settled records) stores the
// settled state.
//
//   KeyPtr live = SettleMultiRegionState(ctx, registry.FindKey(scope, id));  // FindLiveKey does it
//   KMS_TRY(SyncReplicas(ctx, writer, updated_primary));                      // after a rotation
//
// Thread-safety: stateless functions over the thread-safe registry; SyncReplicas and
// DetachDeletedReplica need the caller's Writer.
#pragma once

#include <cstdint>

#include "server/ops/context.hpp"
#include "server/protocol/json_io.hpp"
#include "server/protocol/result.hpp"
#include "storage/records.hpp"
#include "storage/registry.hpp"

namespace kms::ops {

// How long a new replica stays Creating, in seconds of the one clock: long enough for a client
// to see the state AWS reports, short enough that a client polling DescribeKey sees Enabled
// within a second.
inline constexpr std::int64_t kReplicaCreationSeconds = 1;

// A multi-region key that is (or, written before kmsd knew replicas, is taken to be) a primary.
bool IsMultiRegionPrimary(const storage::KeyRecord& key);
// A multi-region replica key.
bool IsMultiRegionReplica(const storage::KeyRecord& key);

// `key` as it stands at ctx.Now(): the transitional states above settled, in a copy. Returns
// `key` itself when nothing changes (every single-region key: one branch on the hot path).
// nullptr stays nullptr.
storage::Registry::KeyPtr SettleMultiRegionState(const OpContext& ctx,
                                                 storage::Registry::KeyPtr key);

// Writes the member "MultiRegionConfiguration" for a multi-region key: MultiRegionKeyType,
// PrimaryKey {Arn, Region} and ReplicaKeys [{Arn, Region}...] (every replica that still exists,
// in region order; a replica lists itself too, as AWS does). Writes nothing for other keys.
void WriteMultiRegionConfiguration(const OpContext& ctx, const storage::KeyRecord& key,
                                   server::JsonOut& out);

// Copies the shared properties of `primary` (as it will be stored) to each of its replicas
// that still exists, and points them at the primary's region. Call it under `writer` after
// every change of a primary's key material or rotation settings (RotateKeyOnDemand, automatic
// rotation, EnableKeyRotation, DisableKeyRotation) and from UpdatePrimaryRegion. Imported
// material (Origin EXTERNAL) is not copied: each related key imports it itself, as in AWS.
// A single-region key or a replica: nothing to do. Writes only replicas that differ.
// Errors: KMSInternalException when storage fails.
server::Result<void> SyncReplicas(const OpContext& ctx, storage::Registry::Writer& writer,
                                  const storage::KeyRecord& primary);

// True if `key` is a primary with at least one replica that has not been deleted.
bool HasLiveReplicas(const OpContext& ctx, const storage::KeyRecord& key);

// For PurgeExpiredKeys, before it deletes the replica `replica` (past its deletion date): takes
// its region off its primary's list and, when it was the last replica of a primary that is
// PendingReplicaDeletion, stores that primary as PendingDeletion with its deletion date (the
// state SettleMultiRegionState already showed). Nothing to do for other keys.
// Errors: KMSInternalException when storage fails.
server::Result<void> DetachDeletedReplica(const OpContext& ctx, storage::Registry::Writer& writer,
                                          const storage::KeyRecord& replica);

}  // namespace kms::ops
