// File: keys.hpp
//
// Key-lifecycle helpers from keys.cpp that run outside a single request's handler.
//
// Thread-safety: safe to call concurrently with the handlers; writes go through the
// registry's writer.
#pragma once

#include <cstdint>

#include "server/ops/context.hpp"
#include "server/ops/key_specs.hpp"
#include "server/protocol/result.hpp"
#include "storage/records.hpp"

namespace kms::ops {

// Physically deletes the keys of ctx.scope whose deletion date has passed (IsGone), with
// their aliases, tags, material and last usage (ctx.key_usage, when set). ListKeys calls it;
// the server also calls it on a timer.
// Cheap when nothing has expired: the writer is taken only if an expired key is found.
// Errors: KMSInternalException when storage fails (keys deleted before the failure stay
// deleted; expired keys are invisible to every operation either way).
server::Result<void> PurgeExpiredKeys(const OpContext& ctx);

// The record CreateKey makes for a request without members (`{}`) in `scope` at `now`: a new
// random key id, one version of fresh random AES-256 material, the default key policy. Used by
// tools that fill a database without going through HTTP (bench/populate_keys.cpp).
// Errors: KMSInternalException when the random generator fails.
// Version 1 of new key material for `spec`: random bytes for symmetric and HMAC keys, a PKCS#8
// private key for asymmetric ones. Rotation renumbers it. Errors: KMSInternalException when
// the random generator or key generation fails.
server::Result<storage::KeyMaterial> NewKeyMaterial(const KeySpecInfo& spec, std::int64_t now);

server::Result<storage::KeyRecord> NewDefaultSymmetricKey(const storage::Scope& scope,
                                                          std::int64_t now);

}  // namespace kms::ops
