// File: import.hpp
//
// Imported key material (keys with Origin EXTERNAL): the rules other operations share with
// ops/import.cpp (GetParametersForImport, ImportKeyMaterial, DeleteImportedKeyMaterial).
//
//   // key_lookup.cpp: every key a request sees is the key as it stands now.
//   if (HasExpiredMaterial(*key, now)) { copy = *key; ExpireImportedMaterial(copy, now); }
//   // keys.cpp: CreateKey with Origin EXTERNAL.
//   KMS_TRY(CheckImportableSpec(spec));
//
// Expiry in one place. Imported material with ValidTo expires by the clock alone: once ValidTo
// has passed, the key reads as if its material had been deleted (bytes gone, key state
// PendingImport), whatever the stored record still holds. key_lookup.cpp computes that view
// when it resolves a key (ResolveKey, and Decrypt's blob lookup), so no read writes to disk and
// no lock is taken on the hot path; the first write to the key (any operation that copies the
// resolved record and updates it) stores the expired view.
//
// Thread-safety: stateless functions over plain records.
#pragma once

#include <cstdint>

#include "domain/key_specs.hpp"
#include "server/protocol/result.hpp"
#include "storage/records.hpp"

namespace kms::ops {

// True when the key is EXTERNAL and holds the bytes of material whose ValidTo is at or before
// `now`: material that has expired but is still stored. Cheap for other keys (one comparison).
bool HasExpiredMaterial(const storage::KeyRecord& key, std::int64_t now);

// Deletes the bytes of every material of `key` whose ValidTo is at or before `now` and, if a
// permanently associated material (not one pending rotation) lost its bytes, moves the key to
// PendingImport (PendingDeletion stays). Returns whether anything changed.
bool ExpireImportedMaterial(storage::KeyRecord& key, std::int64_t now);

// True when every permanently associated material of an EXTERNAL key (version up to the current
// one) holds its bytes, and there is at least one: the key can be Enabled or Disabled. Always
// true for keys of other origins.
bool HasAllImportedMaterial(const storage::KeyRecord& key);

// CreateKey with Origin EXTERNAL: AWS imports material into symmetric, HMAC, RSA, ECC and SM2
// keys. Errors: UnsupportedOperationException for a spec kmsd cannot import into (ML-DSA).
server::Result<void> CheckImportableSpec(const domain::KeySpecInfo& spec);

}  // namespace kms::ops
