// File: keys.cpp
//
// The key lifecycle: CreateKey, DescribeKey, ListKeys, UpdateKeyDescription, EnableKey,
// DisableKey, ScheduleKeyDeletion, CancelKeyDeletion, and PurgeExpiredKeys (keys.hpp).
//
// State changes resolve and check the key under the registry's writer, so each
// read-check-modify-write is atomic against other writers.
//
// Thread-safety: handlers run concurrently; see storage/registry.hpp.
#include "server/ops/keys.hpp"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/digest.hpp"
#include "crypto/key_pair.hpp"
#include "crypto/random.hpp"
#include "domain/key_specs.hpp"
#include "domain/vocabulary.hpp"
#include "server/ops/custom_key_stores.hpp"
#include "server/ops/import.hpp"
#include "server/ops/key_lookup.hpp"
#include "server/ops/key_metadata.hpp"
#include "server/ops/key_specs.hpp"
#include "server/ops/multi_region.hpp"
#include "server/ops/ops.hpp"
#include "server/ops/paging.hpp"
#include "server/ops/policies.hpp"
#include "server/ops/rotation.hpp"
#include "server/ops/tags.hpp"

namespace kms::ops {
namespace {

constexpr std::size_t kSymmetricKeyBytes = 32;  // AES-256
constexpr std::int64_t kSecondsPerDay = 86'400;
constexpr std::int64_t kMinPendingWindowDays = 7;
constexpr std::int64_t kMaxPendingWindowDays = 30;
constexpr std::int64_t kDefaultPendingWindowDays = 30;
constexpr std::int64_t kDefaultListLimit = 100;

KmsError RandomFailure(const crypto::Error& error) {
  return KmsError::Internal("kmsd could not generate random bytes: " + error.message);
}

// A new key id: "mrk-" + 32 lowercase hex for a multi-region key, else a random UUID v4.
Result<std::string> NewKeyId(bool multi_region) {
  auto random = crypto::RandomBytes(16);
  if (!random) return RandomFailure(random.error());
  crypto::Bytes& b = *random;
  if (multi_region) return "mrk-" + crypto::HexEncode(b);
  b[6] = static_cast<std::uint8_t>((b[6] & 0x0fU) | 0x40U);  // version 4
  b[8] = static_cast<std::uint8_t>((b[8] & 0x3fU) | 0x80U);  // RFC 4122 variant
  const std::string hex = crypto::HexEncode(b);
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20);
}

// A fresh KeyMaterial (version 1) holding `secret`. Its KeyMaterialId is public: a random
// id, never derived from the secret.
Result<storage::KeyMaterial> NewMaterial(crypto::ByteView secret, std::int64_t now) {
  auto material_id = crypto::RandomBytes(32);
  if (!material_id) return RandomFailure(material_id.error());
  storage::KeyMaterial material;
  material.version = 1;
  material.material_id = crypto::HexEncode(*material_id);
  material.bytes.assign(secret.begin(), secret.end());
  material.created_at = now;
  return material;
}

}  // namespace

Result<storage::KeyMaterial> NewKeyMaterial(const KeySpecInfo& spec, std::int64_t now) {
  if (spec.family == KeyFamily::kAsymmetric) {
    auto pkcs8 = crypto::GeneratePrivateKey(spec.pair_type);
    if (!pkcs8) {
      return KmsError::Internal("kmsd could not generate a " +
                                std::string(domain::WireName(spec.spec)) +
                                " key pair: " + pkcs8.error().message);
    }
    return NewMaterial(pkcs8->view(), now);
  }
  const std::size_t size =
      spec.family == KeyFamily::kHmac ? spec.hmac_key_bytes : kSymmetricKeyBytes;
  auto secret = crypto::RandomSecureBytes(size);
  if (!secret) return RandomFailure(secret.error());
  return NewMaterial(secret->view(), now);
}

namespace {

// The kind of key a CreateKey request asks for.
struct KeyKind {
  const KeySpecInfo* spec = nullptr;  // never null once checked
  domain::KeyUsage usage{};
  domain::Origin origin = domain::Origin::kAwsKms;
};

// The CreateKey members that pick the kind of key, checked as AWS does.
// Origin EXTERNAL needs a spec that can be imported; the custom key store origins are checked by
// CheckCustomKeyStorePlacement.
Result<KeyKind> CheckCreateKeyKind(const JsonIn& in) {
  const auto key_spec = in.OptionalString("KeySpec");
  const auto master_key_spec = in.OptionalString("CustomerMasterKeySpec");
  if (key_spec && master_key_spec) {
    return KmsError::Validation(
        "You cannot specify KeySpec and CustomerMasterKeySpec in the same request. "
        "CustomerMasterKeySpec is deprecated.");
  }
  const std::optional<std::string_view> spec_member = key_spec ? key_spec : master_key_spec;
  const std::optional<domain::KeySpec> parsed_spec =
      spec_member ? domain::Parse<domain::KeySpec>(*spec_member)
                  : domain::KeySpec::kSymmetricDefault;
  if (!parsed_spec) {  // the model's enum check runs first; this guards the handler
    return KmsError::Validation("KeySpec " + std::string(*spec_member) + " is not supported.");
  }
  const KeySpecInfo* spec = &domain::SpecInfo(*parsed_spec);
  const std::optional<std::string_view> usage = in.OptionalString("KeyUsage");
  if (!usage && spec->family != KeyFamily::kSymmetric) {
    return KmsError::Validation(
        "You must specify a KeyUsage value for all KMS keys except for symmetric encryption "
        "keys.");
  }
  const std::optional<domain::KeyUsage> parsed_usage =
      usage ? domain::Parse<domain::KeyUsage>(*usage) : domain::KeyUsage::kEncryptDecrypt;
  if (!parsed_usage || !spec->Allows(*parsed_usage)) {
    return KmsError::Validation(
        "KeyUsage " +
        std::string(usage ? *usage : domain::WireName(domain::KeyUsage::kEncryptDecrypt)) +
        " is not compatible with KeySpec " + std::string(domain::WireName(spec->spec)));
  }
  if (spec->family == KeyFamily::kAsymmetric && !crypto::KeyPairTypeAvailable(spec->pair_type)) {
    return KmsError::Unsupported("kmsd cannot create " + std::string(domain::WireName(spec->spec)) +
                                 " keys: they need OpenSSL 3.5 or later, and kmsd runs with " +
                                 crypto::OpenSslVersionText() + ".");
  }
  const std::optional<std::string_view> origin = in.OptionalString("Origin");
  const std::optional<domain::Origin> parsed_origin =
      origin ? domain::Parse<domain::Origin>(*origin) : domain::Origin::kAwsKms;
  if (!parsed_origin) {  // the model's enum check runs first; this guards the handler
    return KmsError::Validation("Origin " + std::string(*origin) + " is not supported.");
  }
  if (*parsed_origin == domain::Origin::kExternal) KMS_TRY(CheckImportableSpec(*spec));
  return KeyKind{spec, *parsed_usage, *parsed_origin};
}

// Enable/DisableKey accept only the two settled states; a key pending deletion (or import)
// answers with the state error.
Result<void> RequireEnabledOrDisabled(const OpContext& ctx, const storage::KeyRecord& key) {
  if (key.key_state == domain::KeyState::kEnabled || key.key_state == domain::KeyState::kDisabled) {
    return {};
  }
  return KeyStateError(ctx, key);
}

// Resolves `key_ref` (key id or ARN) under `writer`, checks it, sets its state and stores it.
Result<void> SetKeyState(OpContext& ctx, std::string_view key_ref, domain::KeyState state,
                         std::string_view operation) {
  auto writer = ctx.registry.BeginWrite();
  KMS_ASSIGN_OR_RETURN(KeyPtr key, ResolveKey(ctx, key_ref, KeyRefForms::kKeyIdOrArn));
  KMS_TRY(RequireCustomerManaged(ctx, *key, operation));
  KMS_TRY(RequireEnabledOrDisabled(ctx, *key));
  if (key->key_state == state) return {};  // already there: nothing to write

  // A key rotates automatically only while enabled (rotation.hpp): the rotations that fell due
  // before it is disabled happen first, and a key enabled after its rotation date rotates now.
  const std::int64_t now = ctx.Now();
  storage::KeyRecord updated = *key;
  KMS_TRY(ApplyDueRotations(updated, now));
  updated.key_state = state;
  if (state == domain::KeyState::kEnabled) {
    RestartOverdueSchedule(updated, now);
    KMS_TRY(ApplyDueRotations(updated, now));
  }
  KMS_TRY(SyncReplicas(ctx, writer, updated));  // a primary's rotations reach its replicas
  if (!writer.UpdateKey(std::move(updated))) return StorageFailure(operation);
  return {};
}

}  // namespace

Result<void> PurgeExpiredKeys(const OpContext& ctx) {
  const auto expired = [&ctx](const KeyPtr& key) { return LiveRecord(ctx, key) == nullptr; };
  if (std::ranges::none_of(ctx.registry.ListKeys(ctx.scope), expired)) return {};

  auto writer = ctx.registry.BeginWrite();
  for (const KeyPtr& key : ctx.registry.ListKeys(ctx.scope)) {  // again, under the writer
    if (!expired(key)) continue;
    KMS_TRY(DetachDeletedReplica(ctx, writer, *key));  // a replica leaves its primary's list
    if (!writer.DeleteKey(ctx.scope, key->key_id)) return StorageFailure("PurgeExpiredKeys");
    if (ctx.key_usage != nullptr) ctx.key_usage->Forget(ctx.scope, key->key_id);
  }
  return {};
}

Result<storage::KeyRecord> NewDefaultSymmetricKey(const storage::Scope& scope, std::int64_t now) {
  storage::KeyRecord key;
  key.scope = scope;
  KMS_ASSIGN_OR_RETURN(key.key_id, NewKeyId(/*multi_region=*/false));
  key.key_spec = domain::KeySpec::kSymmetricDefault;
  key.key_usage = domain::KeyUsage::kEncryptDecrypt;
  key.creation_date = now;
  key.policy = DefaultKeyPolicy(scope);
  KMS_ASSIGN_OR_RETURN(storage::KeyMaterial material,
                       NewKeyMaterial(domain::SpecInfo(key.key_spec), now));
  key.materials.push_back(std::move(material));
  key.current_material_version = 1;
  return key;
}

// CreateKey: https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateKey.html
// Every key spec and usage AWS allows (domain/key_specs.cpp), except ML_DSA_* when the OpenSSL in
// use lacks ML-DSA (before 3.5): UnsupportedOperationException naming the OpenSSL.
// A key in a custom key store (CustomKeyStoreId with Origin AWS_CLOUDHSM, or EXTERNAL_KEY_STORE
// and XksKeyId) is a SYMMETRIC_DEFAULT key whose store must be CONNECTED
// (custom_key_stores.hpp); it gets kmsd's own AES material.
// Origin EXTERNAL makes a key without material, PendingImport and disabled, for
// ImportKeyMaterial (ops/import.cpp).
// Deviation: an XksKeyId is taken to name an AES-256 key of the external key manager
// (XksKeyNotFoundException and XksKeyInvalidConfigurationException never occur).
// Deviation: the policy is checked for shape only and never enforced;
// BypassPolicyLockoutSafetyCheck is accepted and ignored.
// A multi-region key (MultiRegion=true) is a primary; ReplicateKey makes its replicas.
Result<void> CreateKey(OpContext& ctx, const JsonIn& in, JsonOut& out) {
  KMS_ASSIGN_OR_RETURN(const KeyKind kind, CheckCreateKeyKind(in));
  KMS_ASSIGN_OR_RETURN(const std::optional<CustomKeyStorePlacement> placement,
                       CheckCustomKeyStorePlacement(in, kind.spec->spec, kind.usage));
  const std::optional<std::string_view> policy = in.OptionalString("Policy");
  if (policy) KMS_TRY(CheckPolicyDocument(*policy));
  KMS_ASSIGN_OR_RETURN(std::vector<storage::Tag> added_tags, ReadTags(in));
  std::vector<storage::Tag> tags;
  KMS_TRY(MergeTags(ctx, tags, added_tags));

  const std::int64_t now = ctx.Now();
  storage::KeyRecord key;
  key.scope = ctx.scope;
  key.multi_region = in.OptionalBool("MultiRegion").value_or(false);
  if (key.multi_region) key.multi_region_type = domain::MultiRegionKeyType::kPrimary;
  KMS_ASSIGN_OR_RETURN(key.key_id, NewKeyId(key.multi_region));
  key.description = std::string(in.OptionalString("Description").value_or(""));
  key.key_spec = kind.spec->spec;
  key.key_usage = kind.usage;
  key.origin = kind.origin;
  key.key_manager = domain::KeyManager::kCustomer;
  key.key_state = domain::KeyState::kEnabled;
  key.creation_date = now;
  key.policy = policy ? std::string(*policy) : DefaultKeyPolicy(ctx);
  key.tags = std::move(tags);
  if (kind.origin == domain::Origin::kExternal) {
    key.key_state = domain::KeyState::kPendingImport;  // no material until ImportKeyMaterial
  } else {
    KMS_ASSIGN_OR_RETURN(storage::KeyMaterial material, NewKeyMaterial(*kind.spec, now));
    key.materials.push_back(std::move(material));
    key.current_material_version = 1;
  }

  if (placement) {  // emulated: the key's material is kmsd's own, as for any key
    key.origin = placement->origin;
    key.custom_key_store_id = placement->store_id;
    key.xks_key_id = placement->xks_key_id;
  }
  {
    auto writer = ctx.registry.BeginWrite();
    if (placement) KMS_TRY(CheckStoreTakesKey(ctx, *placement));
    if (!writer.InsertKey(key)) return StorageFailure("CreateKey");
  }
  WriteKeyMetadata(ctx, key, out);
  return {};
}

// DescribeKey: https://docs.aws.amazon.com/kms/latest/APIReference/API_DescribeKey.html
// Works in every key state.
// Deviation: GrantTokens are accepted and ignored (grants are not enforced).
Result<void> DescribeKey(OpContext& ctx, const JsonIn& in, JsonOut& out) {
  KMS_ASSIGN_OR_RETURN(std::string_view key_ref, in.RequiredString("KeyId"));
  KMS_ASSIGN_OR_RETURN(KeyPtr key, ResolveKey(ctx, key_ref, KeyRefForms::kAny));
  KMS_TRY(CatchUpRotations(ctx, key));  // CurrentKeyMaterialId after any due rotation
  WriteKeyMetadata(ctx, *key, out);
  return {};
}

// ListKeys: https://docs.aws.amazon.com/kms/latest/APIReference/API_ListKeys.html
// Keys are listed in key id order. NextMarker is the id of the last key returned, so paging
// survives keys being created or deleted between pages.
Result<void> ListKeys(OpContext& ctx, const JsonIn& in, JsonOut& out) {
  const std::int64_t limit = in.OptionalInt("Limit").value_or(kDefaultListLimit);
  const std::optional<std::string_view> marker = in.OptionalString("Marker");
  if (marker && !IsWellFormedKeyId(*marker)) return InvalidMarker(*marker);

  // A failed purge changes nothing visible: expired keys are skipped below either way.
  (void)PurgeExpiredKeys(ctx);

  std::vector<KeyPtr> keys = ctx.registry.ListKeys(ctx.scope);
  if (marker) {
    keys.erase(keys.begin(), std::ranges::upper_bound(
                                 keys, *marker, std::less<>{},
                                 [](const KeyPtr& k) -> std::string_view { return k->key_id; }));
  }
  std::erase_if(keys, [&ctx](const KeyPtr& k) { return LiveRecord(ctx, k) == nullptr; });
  WritePage(
      out, "Keys", std::span<const KeyPtr>(keys), limit,
      [&](const KeyPtr& key) {
        out.String("KeyId", key->key_id);
        out.String("KeyArn", ctx.KeyArn(key->key_id));
      },
      [](const KeyPtr& key) -> std::string_view { return key->key_id; });
  return {};
}

// UpdateKeyDescription:
// https://docs.aws.amazon.com/kms/latest/APIReference/API_UpdateKeyDescription.html
Result<void> UpdateKeyDescription(OpContext& ctx, const JsonIn& in, JsonOut& /*out*/) {
  KMS_ASSIGN_OR_RETURN(std::string_view key_ref, in.RequiredString("KeyId"));
  KMS_ASSIGN_OR_RETURN(std::string_view description, in.RequiredString("Description"));

  auto writer = ctx.registry.BeginWrite();
  KMS_ASSIGN_OR_RETURN(KeyPtr key, ResolveKey(ctx, key_ref, KeyRefForms::kKeyIdOrArn));
  KMS_TRY(RequireCustomerManaged(ctx, *key, "UpdateKeyDescription"));
  KMS_TRY(RequireNotPendingDeletion(ctx, *key));

  storage::KeyRecord updated = *key;
  updated.description = std::string(description);
  if (!writer.UpdateKey(std::move(updated))) return StorageFailure("UpdateKeyDescription");
  return {};
}

// EnableKey: https://docs.aws.amazon.com/kms/latest/APIReference/API_EnableKey.html
Result<void> EnableKey(OpContext& ctx, const JsonIn& in, JsonOut& /*out*/) {
  KMS_ASSIGN_OR_RETURN(std::string_view key_ref, in.RequiredString("KeyId"));
  return SetKeyState(ctx, key_ref, domain::KeyState::kEnabled, "EnableKey");
}

// DisableKey: https://docs.aws.amazon.com/kms/latest/APIReference/API_DisableKey.html
Result<void> DisableKey(OpContext& ctx, const JsonIn& in, JsonOut& /*out*/) {
  KMS_ASSIGN_OR_RETURN(std::string_view key_ref, in.RequiredString("KeyId"));
  return SetKeyState(ctx, key_ref, domain::KeyState::kDisabled, "DisableKey");
}

// ScheduleKeyDeletion:
// https://docs.aws.amazon.com/kms/latest/APIReference/API_ScheduleKeyDeletion.html
// Once DeletionDate passes the key is gone: every operation answers NotFoundException, and
// PurgeExpiredKeys removes it from storage with its aliases.
// A multi-region primary that still has replicas becomes PendingReplicaDeletion, with a window
// but no DeletionDate (in the response too); its window starts when its last replica is deleted
// (multi_region.hpp). A replica is scheduled like any key.
Result<void> ScheduleKeyDeletion(OpContext& ctx, const JsonIn& in, JsonOut& out) {
  KMS_ASSIGN_OR_RETURN(std::string_view key_ref, in.RequiredString("KeyId"));
  // Order of checks: the window's range is a ValidationException, which AWS raises with the
  // request's validation, before it looks the key up (kmsd's choice: the order is not recorded).
  const std::int64_t days =
      in.OptionalInt("PendingWindowInDays").value_or(kDefaultPendingWindowDays);
  if (days < kMinPendingWindowDays || days > kMaxPendingWindowDays) {
    return KmsError::Validation("PendingWindowInDays should be between 7 and 30, but it is " +
                                std::to_string(days));
  }

  auto writer = ctx.registry.BeginWrite();
  KMS_ASSIGN_OR_RETURN(KeyPtr key, ResolveKey(ctx, key_ref, KeyRefForms::kKeyIdOrArn));
  KMS_TRY(RequireCustomerManaged(ctx, *key, "ScheduleKeyDeletion"));
  KMS_TRY(RequireNotPendingDeletion(ctx, *key));

  const std::int64_t now = ctx.Now();
  const bool waits_for_replicas = HasLiveReplicas(ctx, *key);
  const domain::KeyState state = waits_for_replicas ? domain::KeyState::kPendingReplicaDeletion
                                                    : domain::KeyState::kPendingDeletion;
  const std::int64_t deletion_date = now + days * kSecondsPerDay;
  storage::KeyRecord updated = *key;
  KMS_TRY(ApplyDueRotations(updated, now));     // due while enabled; none while pending deletion
  KMS_TRY(SyncReplicas(ctx, writer, updated));  // a primary's rotations reach its replicas
  updated.key_state = state;
  updated.pending_window_days = static_cast<int>(days);
  updated.deletion_date.reset();
  if (!waits_for_replicas) updated.deletion_date = deletion_date;
  if (!writer.UpdateKey(std::move(updated))) return StorageFailure("ScheduleKeyDeletion");

  out.String("KeyId", ctx.KeyArn(key->key_id));
  if (!waits_for_replicas) out.Timestamp("DeletionDate", deletion_date);
  out.String("KeyState", domain::WireName(state));
  out.Int("PendingWindowInDays", days);
  return {};
}

// CancelKeyDeletion:
// https://docs.aws.amazon.com/kms/latest/APIReference/API_CancelKeyDeletion.html
// The key comes back Disabled, as in AWS; EnableKey makes it usable again. A multi-region
// primary waiting for its replicas' deletion (PendingReplicaDeletion) can be cancelled too.
Result<void> CancelKeyDeletion(OpContext& ctx, const JsonIn& in, JsonOut& out) {
  KMS_ASSIGN_OR_RETURN(std::string_view key_ref, in.RequiredString("KeyId"));

  auto writer = ctx.registry.BeginWrite();
  KMS_ASSIGN_OR_RETURN(KeyPtr key, ResolveKey(ctx, key_ref, KeyRefForms::kKeyIdOrArn));
  KMS_TRY(RequireCustomerManaged(ctx, *key, "CancelKeyDeletion"));
  if (key->key_state != domain::KeyState::kPendingDeletion &&
      key->key_state != domain::KeyState::kPendingReplicaDeletion) {
    return KmsError::InvalidState(ctx.KeyArn(key->key_id) + " is not pending deletion.");
  }

  storage::KeyRecord updated = *key;
  // A key whose imported material is missing comes back waiting for it.
  updated.key_state =
      HasAllImportedMaterial(*key) ? domain::KeyState::kDisabled : domain::KeyState::kPendingImport;
  updated.deletion_date.reset();
  updated.pending_window_days.reset();
  if (!writer.UpdateKey(std::move(updated))) return StorageFailure("CancelKeyDeletion");

  out.String("KeyId", ctx.KeyArn(key->key_id));
  return {};
}

}  // namespace kms::ops
