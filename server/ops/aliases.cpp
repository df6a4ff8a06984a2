// File: aliases.cpp
//
// CreateAlias, UpdateAlias, DeleteAlias, ListAliases. An alias lives in (account, region) and
// names one key by id. An alias whose key has passed its deletion date is gone with the key:
// it is not listed, not found, and its name may be taken again. The predefined AWS managed
// aliases (alias/aws/*, aws_managed.hpp) exist in every scope: ListAliases lists them without a
// key until their first use stores them as aliases of their AWS managed key; customers cannot
// create, update or delete them.
//
// Thread-safety: handlers may run concurrently. Each write checks and changes the registry
// under one Registry::BeginWrite() writer, so two CreateAlias calls for one name cannot both
// succeed (the store's UNIQUE constraint backs this up).
#include <algorithm>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "domain/key_specs.hpp"
#include "server/ops/aws_managed.hpp"
#include "server/ops/key_lookup.hpp"
#include "server/ops/ops.hpp"
#include "server/ops/paging.hpp"

namespace kms::ops {
namespace {

constexpr std::string_view kAliasPrefix = "alias/";
constexpr std::string_view kReservedPrefix = "alias/aws/";  // AWS managed keys' aliases

// ListAliases: "must be between 1 and 100, inclusive. If you do not include a value, it
// defaults to 50." The model allows up to 1000; larger values get 100.
constexpr std::int64_t kDefaultAliasPage = 50;
constexpr std::int64_t kMaxAliasPage = 100;

// The checks the model's pattern cannot express, shared by the three alias writes.
Result<void> CheckAliasName(std::string_view name) {
  if (!name.starts_with(kAliasPrefix)) {
    return KmsError::Validation(
        "Alias must start with the prefix \"alias/\". Please see "
        "https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html");
  }
  if (name.starts_with(kReservedPrefix)) return KmsError{server::ErrorCode::kNotAuthorized, {}};
  // The model's pattern admits ':' (it is shared with alias ARNs); an alias name may hold only
  // letters, digits, '/', '_' and '-'.
  if (name.find(':') != std::string_view::npos) {
    return KmsError::Validation("1 validation error detected: Value '" + std::string(name) +
                                "' at 'aliasName' failed to satisfy constraint: Member must "
                                "satisfy regular expression pattern: ^[a-zA-Z0-9/_-]+$");
  }
  return {};
}

KmsError AliasNotFound(const OpContext& ctx, std::string_view name) {
  return KmsError::NotFound("Alias " + ctx.AliasArn(name) + " is not found.");
}

// The alias's key, or nullptr when it no longer exists (deleted, or past its deletion date).
KeyPtr LiveTarget(const OpContext& ctx, const storage::AliasRecord& alias) {
  return LiveKey(ctx, alias.target_key_id);
}

// The alias named `name` if it exists and its key still exists.
std::optional<storage::AliasRecord> FindLiveAlias(const OpContext& ctx, std::string_view name) {
  auto alias = ctx.registry.FindAlias(ctx.scope, name);
  if (!alias || LiveTarget(ctx, *alias) == nullptr) return std::nullopt;
  return alias;
}

// "Same type" as AWS documents it for UpdateAlias: symmetric, asymmetric or HMAC.
std::string_view KeyType(const storage::KeyRecord& key) {
  switch (domain::SpecInfo(key.key_spec).family) {
    case domain::KeyFamily::kSymmetric:
      return "symmetric";
    case domain::KeyFamily::kHmac:
      return "HMAC";
    case domain::KeyFamily::kAsymmetric:
      break;
  }
  return "asymmetric";
}

}  // namespace

// CreateAlias: https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateAlias.html
// The target must be a customer managed key (an AWS managed key's policy does not allow
// kms:CreateAlias); names under alias/aws/ are AWS's (NotAuthorizedException, empty message).
// Deviation: the per-account alias quota (LimitExceededException) is not enforced.
Result<void> CreateAlias(OpContext& ctx, const JsonIn& in, JsonOut& /*out*/) {
  KMS_ASSIGN_OR_RETURN(std::string_view name, in.RequiredString("AliasName"));
  KMS_ASSIGN_OR_RETURN(std::string_view target_ref, in.RequiredString("TargetKeyId"));
  KMS_TRY(CheckAliasName(name));

  // Order of checks: the name's form (a validation error), then the target key (a missing
  // target is NotFoundException even when the name is taken: kmsd's choice, AWS's order is not
  // recorded), then the name being free.
  auto writer = ctx.registry.BeginWrite();
  KMS_ASSIGN_OR_RETURN(KeyPtr target, ResolveKey(ctx, target_ref, KeyRefForms::kKeyIdOrArn));
  KMS_TRY(RequireCustomerManaged(ctx, *target, "CreateAlias"));
  KMS_TRY(RequireNotPendingDeletion(ctx, *target));
  auto existing = ctx.registry.FindAlias(ctx.scope, name);
  const bool stale = existing && LiveTarget(ctx, *existing) == nullptr;
  if (existing && !stale) {
    return KmsError{server::ErrorCode::kAlreadyExists,
                    "An alias with the name " + ctx.AliasArn(name) + " already exists"};
  }

  const std::int64_t now = ctx.Now();
  storage::AliasRecord alias{ctx.scope, std::string(name), target->key_id, now, now};
  // The alias of a key past its deletion date is free to take: reuse its row.
  auto written =
      stale ? writer.UpdateAlias(std::move(alias)) : writer.InsertAlias(std::move(alias));
  if (!written) {
    if (written.error().code == storage::Error::Code::kAlreadyExists) {
      return KmsError{server::ErrorCode::kAlreadyExists,
                      "An alias with the name " + ctx.AliasArn(name) + " already exists"};
    }
    return StorageFailure("CreateAlias");
  }
  return {};
}

// UpdateAlias: https://docs.aws.amazon.com/kms/latest/APIReference/API_UpdateAlias.html
// The new key must be of the same type (symmetric, asymmetric or HMAC) and key usage as the
// current one; the current key may be in any state, the new one not pending deletion nor AWS
// managed.
Result<void> UpdateAlias(OpContext& ctx, const JsonIn& in, JsonOut& /*out*/) {
  KMS_ASSIGN_OR_RETURN(std::string_view name, in.RequiredString("AliasName"));
  KMS_ASSIGN_OR_RETURN(std::string_view target_ref, in.RequiredString("TargetKeyId"));
  KMS_TRY(CheckAliasName(name));

  auto writer = ctx.registry.BeginWrite();
  auto alias = ctx.registry.FindAlias(ctx.scope, name);
  KeyPtr current = alias ? LiveTarget(ctx, *alias) : nullptr;
  if (current == nullptr) return AliasNotFound(ctx, name);

  KMS_ASSIGN_OR_RETURN(KeyPtr target, ResolveKey(ctx, target_ref, KeyRefForms::kKeyIdOrArn));
  KMS_TRY(RequireCustomerManaged(ctx, *target, "UpdateAlias"));
  KMS_TRY(RequireNotPendingDeletion(ctx, *target));
  if (KeyType(*target) != KeyType(*current) || target->key_usage != current->key_usage) {
    return KmsError::Validation(
        "Alias " + ctx.AliasArn(name) + " cannot be associated with " + ctx.KeyArn(target->key_id) +
        ": the new key must have the same key type and key usage as the current key (" +
        std::string(KeyType(*current)) + ", " + std::string(domain::WireName(current->key_usage)) +
        "), but it is " + std::string(KeyType(*target)) + ", " +
        std::string(domain::WireName(target->key_usage)) + ".");
  }

  alias->target_key_id = target->key_id;
  alias->last_updated_date = ctx.Now();
  auto written = writer.UpdateAlias(std::move(*alias));
  if (!written) {
    if (written.error().code == storage::Error::Code::kNotFound) return AliasNotFound(ctx, name);
    return StorageFailure("UpdateAlias");
  }
  return {};
}

// DeleteAlias: https://docs.aws.amazon.com/kms/latest/APIReference/API_DeleteAlias.html
// Allowed whatever the state of the alias's key.
Result<void> DeleteAlias(OpContext& ctx, const JsonIn& in, JsonOut& /*out*/) {
  KMS_ASSIGN_OR_RETURN(std::string_view name, in.RequiredString("AliasName"));
  KMS_TRY(CheckAliasName(name));

  auto writer = ctx.registry.BeginWrite();
  if (!FindLiveAlias(ctx, name)) return AliasNotFound(ctx, name);
  auto deleted = writer.DeleteAlias(ctx.scope, name);
  if (!deleted) {
    if (deleted.error().code == storage::Error::Code::kNotFound) return AliasNotFound(ctx, name);
    return StorageFailure("DeleteAlias");
  }
  return {};
}

// ListAliases: https://docs.aws.amazon.com/kms/latest/APIReference/API_ListAliases.html
// Aliases come sorted by name; Marker is the last name of the previous page. Without KeyId,
// the predefined AWS managed aliases (aws_managed.hpp) that name no key yet are listed too, as
// AWS lists them: AliasName and AliasArn only, in name order among the others.
Result<void> ListAliases(OpContext& ctx, const JsonIn& in, JsonOut& out) {
  const std::int64_t limit = std::clamp<std::int64_t>(
      in.OptionalInt("Limit").value_or(kDefaultAliasPage), 1, kMaxAliasPage);
  const std::optional<std::string_view> marker = in.OptionalString("Marker");
  if (marker && !marker->starts_with(kAliasPrefix)) {
    return InvalidMarker(*marker);
  }
  std::optional<std::string> key_id;
  if (auto key_ref = in.OptionalString("KeyId")) {
    KMS_ASSIGN_OR_RETURN(KeyPtr key, ResolveKey(ctx, *key_ref, KeyRefForms::kKeyIdOrArn));
    key_id = key->key_id;
  }

  // One entry of the page: a stored alias, or a predefined one without a key (record null).
  struct Entry {
    std::string_view name;
    const storage::AliasRecord* record = nullptr;
  };
  const std::vector<storage::AliasRecord> aliases = ctx.registry.ListAliases(ctx.scope);
  std::span<const AwsManagedAlias> predefined;
  if (!key_id) predefined = kAwsManagedAliases;
  std::vector<Entry> page;
  bool truncated = false;
  // Both lists are sorted by name: merge them. A predefined alias that names a key is stored
  // and listed as such; its table row is skipped.
  auto next_predefined = predefined.begin();
  auto stored = aliases.begin();
  while (stored != aliases.end() || next_predefined != predefined.end()) {
    Entry entry;
    if (next_predefined != predefined.end() &&
        (stored == aliases.end() || next_predefined->name <= stored->name)) {
      const bool has_key = stored != aliases.end() && next_predefined->name == stored->name;
      entry.name = (next_predefined++)->name;
      if (has_key) continue;
    } else {
      entry = {stored->name, &*stored};
      ++stored;
      if (key_id && entry.record->target_key_id != *key_id) continue;
      if (LiveTarget(ctx, *entry.record) == nullptr) continue;
    }
    if (marker && entry.name <= *marker) continue;
    if (std::cmp_equal(page.size(), limit)) {
      truncated = true;
      break;
    }
    page.push_back(entry);
  }

  out.Key("Aliases");
  out.StartArray();
  for (const Entry& entry : page) {
    out.StartObject();
    out.String("AliasName", entry.name);
    out.String("AliasArn", ctx.AliasArn(entry.name));
    if (const storage::AliasRecord* alias = entry.record) {
      out.String("TargetKeyId", alias->target_key_id);
      out.Timestamp("CreationDate", alias->creation_date);
      out.Timestamp("LastUpdatedDate", alias->last_updated_date);
    }
    out.EndObject();
  }
  out.EndArray();
  if (truncated) out.String("NextMarker", page.back().name);
  out.Bool("Truncated", truncated);
  return {};
}

}  // namespace kms::ops
