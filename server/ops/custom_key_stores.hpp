// File: custom_key_stores.hpp
//
// What operations outside custom_key_stores.cpp need to know about custom key stores:
// CreateKey places a key in one, GenerateRandom draws from a CloudHSM key store's "cluster",
// and key_lookup.cpp makes a key unusable while its store is not connected.
//
//   KMS_ASSIGN_OR_RETURN(auto placement, CheckCustomKeyStorePlacement(in, spec, usage));
//   ...
//   auto writer = ctx.registry.BeginWrite();
//   if (placement) KMS_TRY(CheckStoreTakesKey(ctx, *placement));   // under the writer
//
// The stores are emulated: no CloudHSM cluster or external key store proxy is ever contacted.
// Keys in them get their own AES material in kmsd, as any key does.
//
// Thread-safety: stateless functions over the thread-safe registry.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "domain/vocabulary.hpp"
#include "server/ops/context.hpp"
#include "server/protocol/json_io.hpp"
#include "server/protocol/result.hpp"
#include "storage/records.hpp"

namespace kms::ops {

// The custom key store `id` of the caller's scope.
// Errors: CustomKeyStoreNotFoundException "Custom key store '<id>' does not exist."
server::Result<storage::CustomKeyStoreRecord> FindCustomKeyStoreById(const OpContext& ctx,
                                                                     std::string_view id);

// Where CreateKey puts a key in a custom key store.
struct CustomKeyStorePlacement {
  std::string store_id;
  domain::Origin origin = domain::Origin::kAwsCloudHsm;  // or kExternalKeyStore
  std::string xks_key_id;                                // EXTERNAL_KEY_STORE only
};

// True for the two origins of keys in custom key stores, AWS_CLOUDHSM and EXTERNAL_KEY_STORE.
bool IsCustomKeyStoreOrigin(std::string_view origin);

// The CreateKey members that put a key in a custom key store (CustomKeyStoreId, Origin
// AWS_CLOUDHSM or EXTERNAL_KEY_STORE, XksKeyId, with the key's spec, usage and MultiRegion),
// checked without looking at the store: nullopt for a key outside any custom key store.
// Errors: ValidationException (CustomKeyStoreId without a custom key store Origin or the
// reverse, XksKeyId missing for EXTERNAL_KEY_STORE or given for another origin);
// UnsupportedOperationException (a key that is not SYMMETRIC_DEFAULT / ENCRYPT_DECRYPT, or a
// multi-Region key).
server::Result<std::optional<CustomKeyStorePlacement>> CheckCustomKeyStorePlacement(
    const server::JsonIn& in, domain::KeySpec spec, domain::KeyUsage usage);

// The store of `placement` can take a new key now: it exists, its type matches the origin, it
// is CONNECTED, and (EXTERNAL_KEY_STORE) no other key of the store uses the XksKeyId.
// REQUIRES: the caller holds the registry's writer, so the answer holds until it inserts.
// Errors: CustomKeyStoreNotFoundException, ValidationException (origin of the other type),
// CustomKeyStoreInvalidStateException, XksKeyAlreadyInUseException.
server::Result<void> CheckStoreTakesKey(const OpContext& ctx,
                                        const CustomKeyStorePlacement& placement);

// GenerateRandom's CustomKeyStoreId: a CONNECTED AWS_CLOUDHSM key store.
// Errors: CustomKeyStoreNotFoundException; UnsupportedOperationException for an external key
// store (AWS documents this); CustomKeyStoreInvalidStateException when it is not connected.
server::Result<void> RequireRandomSource(const OpContext& ctx, std::string_view store_id);

// True when `key` is in a custom key store that is not CONNECTED (or no longer exists): its
// key state reads Unavailable (unless it is PendingDeletion) and it cannot be used in
// cryptographic operations. False at once, with no lookup, for a key in no custom key store.
bool InUnavailableKeyStore(const OpContext& ctx, const storage::KeyRecord& key);

// DescribeKey's custom key store members for `key` (nothing for a key in no custom key store):
// CustomKeyStoreId, and CloudHsmClusterId (AWS_CLOUDHSM) from the store's current settings.
// XksKeyConfiguration is WriteXksKeyConfiguration's, as the model orders it last.
void WriteCustomKeyStoreMembers(const OpContext& ctx, const storage::KeyRecord& key,
                                server::JsonOut& out);
// "XksKeyConfiguration": {"Id": <XksKeyId>} for a key in an external key store.
void WriteXksKeyConfiguration(const storage::KeyRecord& key, server::JsonOut& out);

}  // namespace kms::ops
