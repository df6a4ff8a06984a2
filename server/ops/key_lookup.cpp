#include "server/ops/key_lookup.hpp"

#include <algorithm>
#include <cctype>
#include <memory>
#include <utility>
#include <vector>

#include "server/ops/aws_managed.hpp"
#include "server/ops/custom_key_stores.hpp"
#include "server/ops/import.hpp"
#include "server/ops/multi_region.hpp"

namespace kms::ops {
namespace {

bool IsLowerHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

bool AllLowerHex(std::string_view s) { return std::all_of(s.begin(), s.end(), IsLowerHex); }

KmsError InvalidKeyId(std::string_view ref) {
  return KmsError::NotFound("Invalid keyId '" + std::string(ref) + "'");
}

Result<KeyPtr> FindById(const OpContext& ctx, std::string_view key_id) {
  KeyPtr key = LiveKey(ctx, key_id);
  if (key == nullptr) return KmsError::NotFound("Key '" + ctx.KeyArn(key_id) + "' does not exist");
  return key;
}

// A predefined AWS managed alias that names no key yet gets one now: its first use.
Result<KeyPtr> FindByAlias(const OpContext& ctx, std::string_view alias_name) {
  auto alias = ctx.registry.FindAlias(ctx.scope, alias_name);
  if (alias) return FindById(ctx, alias->target_key_id);
  const AwsManagedAlias* managed = FindAwsManagedAlias(alias_name);
  if (managed == nullptr) {
    return KmsError::NotFound("Alias " + ctx.AliasArn(alias_name) + " is not found.");
  }
  KMS_ASSIGN_OR_RETURN(const std::string key_id, EnsureAwsManagedKey(ctx, *managed));
  return FindById(ctx, key_id);
}

// The words AWS uses for a state in "<arn> is <words>.": PendingDeletion -> "pending deletion".
std::string StateWords(domain::KeyState state) {
  std::string out;
  for (char c : domain::WireName(state)) {
    if (std::isupper(static_cast<unsigned char>(c)) && !out.empty()) out += ' ';
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

}  // namespace

bool IsWellFormedKeyId(std::string_view id) {
  if (id.size() == 36 && id.starts_with("mrk-")) return AllLowerHex(id.substr(4));
  if (id.size() != 36) return false;
  for (std::size_t i = 0; i < id.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? id[i] != '-' : !IsLowerHex(id[i])) return false;
  }
  return true;
}

bool IsGone(const storage::KeyRecord& key, std::int64_t now) {
  return key.key_state == domain::KeyState::kPendingDeletion && key.deletion_date &&
         *key.deletion_date <= now;
}

KeyPtr LiveRecord(const OpContext& ctx, KeyPtr key) {
  if (key == nullptr) return nullptr;
  const std::int64_t now = ctx.Now();
  if (key->multi_region) key = SettleMultiRegionState(ctx, std::move(key));  // not on the hot path
  if (IsGone(*key, now)) return nullptr;
  if (HasExpiredMaterial(*key, now)) {
    auto expired = std::make_shared<storage::KeyRecord>(*key);
    ExpireImportedMaterial(*expired, now);
    return expired;
  }
  return key;
}

KeyPtr FindLiveKey(const OpContext& ctx, const storage::Scope& scope, std::string_view key_id) {
  return LiveRecord(ctx, ctx.registry.FindKey(scope, key_id));
}

KeyPtr LiveKey(const OpContext& ctx, std::string_view key_id) {
  return FindLiveKey(ctx, ctx.scope, key_id);
}

Result<KeyPtr> ResolveKey(const OpContext& ctx, std::string_view ref, KeyRefForms forms) {
  const bool aliases_allowed = forms == KeyRefForms::kAny;
  if (ref.starts_with("arn:")) {
    // arn:<partition>:kms:<region>:<account>:<resource>
    std::string_view parts[6];
    std::string_view rest = ref;
    for (int i = 0; i < 5; ++i) {
      auto colon = rest.find(':');
      if (colon == std::string_view::npos)
        return KmsError::NotFound("Invalid arn " + std::string(ref));
      parts[i] = rest.substr(0, colon);
      rest.remove_prefix(colon + 1);
    }
    parts[5] = rest;
    // An ARN of another partition (arn:aws:... sent to cn-north-1) names no key here. AWS's
    // text for it is not pinned; it gets the one for an ARN that is not a KMS ARN.
    if (parts[1] != ctx.Partition() || parts[2] != "kms") {
      return KmsError::NotFound("Invalid arn " + std::string(ref));
    }
    if (parts[3] != ctx.scope.region)
      return KmsError::NotFound("Invalid arn " + std::string(parts[3]));
    const std::string_view resource = parts[5];
    if (resource.starts_with("key/")) {
      const std::string_view id = resource.substr(4);
      if (parts[4] != ctx.scope.account) {
        return KmsError::NotFound("Key '" + std::string(ref) + "' does not exist");
      }
      if (!IsWellFormedKeyId(id)) return InvalidKeyId(ref);
      return FindById(ctx, id);
    }
    if (resource.starts_with("alias/") && aliases_allowed) {
      if (parts[4] != ctx.scope.account) {
        return KmsError::NotFound("Alias " + std::string(ref) + " is not found.");
      }
      return FindByAlias(ctx, resource);
    }
    return KmsError::NotFound("Invalid arn " + std::string(ref));
  }
  if (ref.starts_with("alias/")) {
    if (!aliases_allowed) return InvalidKeyId(ref);
    return FindByAlias(ctx, ref);
  }
  if (!IsWellFormedKeyId(ref)) return InvalidKeyId(ref);
  return FindById(ctx, ref);
}

domain::KeyState EffectiveKeyState(const OpContext& ctx, const storage::KeyRecord& key) {
  if (key.key_state != domain::KeyState::kPendingDeletion && InUnavailableKeyStore(ctx, key)) {
    return domain::KeyState::kUnavailable;
  }
  return key.key_state;
}

KmsError KeyStateError(const OpContext& ctx, const storage::KeyRecord& key) {
  const domain::KeyState state = EffectiveKeyState(ctx, key);
  const std::string text = ctx.KeyArn(key.key_id) + " is " + StateWords(state) + ".";
  if (state == domain::KeyState::kDisabled) return {server::ErrorCode::kDisabled, text};
  return KmsError::InvalidState(text);
}

Result<void> RequireEnabled(const OpContext& ctx, const storage::KeyRecord& key) {
  if (key.key_state != domain::KeyState::kEnabled) return KeyStateError(ctx, key);
  // A key in no custom key store costs one empty() test here.
  if (InUnavailableKeyStore(ctx, key)) return KeyStateError(ctx, key);
  ctx.used_keys.Note(key.key_id);
  return {};
}

Result<void> RequireNotPendingDeletion(const OpContext& ctx, const storage::KeyRecord& key) {
  using domain::KeyState;
  if (key.key_state == KeyState::kEnabled || key.key_state == KeyState::kDisabled ||
      key.key_state == KeyState::kPendingImport || key.key_state == KeyState::kCreating) {
    return {};
  }
  return KeyStateError(ctx, key);
}

Result<void> RequireCustomerManaged(const OpContext& ctx, const storage::KeyRecord& key,
                                    std::string_view operation) {
  if (key.key_manager == domain::KeyManager::kCustomer) return {};
  const std::string action = "kms:" + std::string(operation);
  return KmsError{server::ErrorCode::kAccessDenied,
                  "User: arn:" + std::string(ctx.Partition()) + ":iam::" + ctx.scope.account +
                      ":root is not authorized to perform: " + action +
                      " on resource: " + ctx.KeyArn(key.key_id) +
                      " because no resource-based policy allows the " + action + " action"};
}

Result<KeyPtr> ResolveUsableKey(const OpContext& ctx, std::string_view ref) {
  KMS_ASSIGN_OR_RETURN(KeyPtr key, ResolveKey(ctx, ref, KeyRefForms::kAny));
  KMS_TRY(RequireEnabled(ctx, *key));
  return key;
}

Result<void> RequireUsage(const OpContext& ctx, const storage::KeyRecord& key,
                          domain::KeyUsage usage, std::string_view operation) {
  if (key.key_usage == usage) return {};
  return KmsError{server::ErrorCode::kInvalidKeyUsage,
                  ctx.KeyArn(key.key_id) + " key usage is " +
                      std::string(domain::WireName(key.key_usage)) + " which is not valid for " +
                      std::string(operation) + "."};
}

KmsError IncompatibleAlgorithm(const storage::KeyRecord& key, std::string_view algorithm) {
  return KmsError{server::ErrorCode::kInvalidKeyUsage,
                  "Algorithm " + std::string(algorithm) + " is incompatible with key spec " +
                      std::string(domain::WireName(key.key_spec)) + "."};
}

KmsError RecipientUnsupported() {
  return KmsError::Unsupported(
      "kmsd does not support Recipient: there is no Nitro Enclave attestation to verify.");
}

const storage::KeyMaterial* FindMaterial(const storage::KeyRecord& key, std::uint32_t version) {
  // Versions ascend from 1 and are usually dense, so version v is at index v - 1: Decrypt of a
  // blob finds its material in O(1) however often the key was rotated. Should versions ever
  // have a gap, a binary search finds it.
  const std::vector<storage::KeyMaterial>& materials = key.materials;
  if (version >= 1 && version <= materials.size() && materials[version - 1].version == version) {
    return &materials[version - 1];
  }
  const auto it = std::ranges::lower_bound(materials, version, {}, &storage::KeyMaterial::version);
  return it != materials.end() && it->version == version ? &*it : nullptr;
}

const storage::KeyMaterial* CurrentMaterial(const storage::KeyRecord& key) {
  return FindMaterial(key, key.current_material_version);
}

Result<void> CheckDryRun(const JsonIn& in) {
  if (in.OptionalBool("DryRun").value_or(false)) {
    return KmsError{server::ErrorCode::kDryRunOperation,
                    "The request would have succeeded, but the DryRun option is set."};
  }
  return {};
}

KmsError StorageFailure(std::string_view what) {
  return KmsError::Internal("kmsd could not store the change (" + std::string(what) +
                            "); nothing was changed. Check the data directory and retry.");
}

}  // namespace kms::ops
