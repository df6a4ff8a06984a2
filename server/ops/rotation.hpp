// File: rotation.hpp
//
// Automatic key rotation, evaluated lazily from the one clock. A key whose rotation is enabled
// carries next_rotation_date; once the clock passes it, the key is rotated as AWS would have
// rotated it: one new material per elapsed period, each dated at its scheduled date, made
// current with RotationType AUTOMATIC, and next_rotation_date moves on by the period. kmsd
// applies those rotations the first time a request depends on them, so nothing runs in the
// background and a kmsd that was stopped for several periods catches up on its first use of
// the key. The rules (AWS's GetKeyRotationStatus and rotation pages):
//   - a key rotates only while it is Enabled: DisableKey and ScheduleKeyDeletion first apply
//     the rotations due until then (ApplyDueRotations); while disabled or pending deletion
//     nothing is due;
//   - re-enabling a key whose rotation date passed while it was disabled rotates it once, at
//     once, and every period after that (RestartOverdueSchedule); otherwise the schedule
//     resumes where it was;
//   - on-demand rotations leave the schedule alone.
//
// Where each piece is used:
//   KMS_TRY(CatchUpRotations(ctx, key));         // readers (KeyPtr key), no Writer held
//   storage::KeyRecord updated = *key;                                  // writers, under theirs
//   KMS_TRY(ApplyDueRotations(updated, ctx.Now()));
//
// Sealing under a key (symmetric.hpp's SealUnderCurrentMaterial) calls CatchUpRotations, so no
// ciphertext is ever made under material that should have been rotated away; DescribeKey,
// GetKeyRotationStatus and ListKeyRotations call it too. In the common case (rotation off or
// not due) it is one comparison: no clock read when rotation is off, no lock, no disk write.
//
// Thread-safety: stateless functions; CatchUpRotations writes under the registry's writer.
#pragma once

#include <cstdint>

#include "domain/vocabulary.hpp"
#include "server/ops/context.hpp"
#include "server/protocol/result.hpp"
#include "storage/records.hpp"
#include "storage/registry.hpp"

namespace kms::ops {

// The most automatic rotations one catch-up makes. Rotation periods are 90 to 2,560 days, so
// this covers 24 years at the shortest period; beyond it (a clock moved decades ahead), only
// the last kMaxCatchUpRotations scheduled dates get a rotation.
inline constexpr std::int64_t kMaxCatchUpRotations = 100;

// True if `key` (Enabled, rotation on) has a scheduled rotation at or before `now`.
bool AutomaticRotationDue(const storage::KeyRecord& key, std::int64_t now);

// Makes in `key` the automatic rotations due at `now` (none unless AutomaticRotationDue): one
// new current material per elapsed period, dated at its schedule, and moves
// next_rotation_date past `now`. Errors: KMSInternalException when the random generator fails
// (`key` is then partly rotated: do not store it).
server::Result<void> ApplyDueRotations(storage::KeyRecord& key, std::int64_t now);

// For EnableKey: if the rotation date of `key` (just re-enabled, rotation on) has passed, the
// schedule restarts at `now`, so that ApplyDueRotations rotates it once now and then every
// period, as AWS does when a key's material is older than its period on re-enabling.
void RestartOverdueSchedule(storage::KeyRecord& key, std::int64_t now);

// Leaves `key` alone when no automatic rotation is due (the hot path: a comparison); otherwise
// applies the due rotations, stores them through a Writer (re-checked under it, so concurrent
// callers rotate once) and points `key` at the stored record. The reply waits for that change
// to be durable, as for any write. Errors: KMSInternalException (random generator); `key` is
// then unchanged.
// REQUIRES: the calling thread holds no Writer of ctx.registry.
server::Result<void> CatchUpRotationsSlow(const OpContext& ctx, storage::Registry::KeyPtr& key);
// (CatchUpRotationsSlow is its part past the first check, kept out of line.)
inline server::Result<void> CatchUpRotations(const OpContext& ctx, storage::Registry::KeyPtr& key) {
  if (!key->rotation_enabled) return {};  // most keys: not even a clock read
  return CatchUpRotationsSlow(ctx, key);
}

}  // namespace kms::ops
