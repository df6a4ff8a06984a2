// File: grants.cpp
//
// CreateGrant, ListGrants, ListRetirableGrants, RetireGrant, RevokeGrant. A grant lives in its
// key's record (KeyRecord::grants, in creation order), so it is durable with the key and goes
// with it: a key past its deletion date takes its grants along (they are neither listed nor
// found), and purging the key deletes them from storage. Grant tokens: grant_token.hpp.
//
// Grants are recorded, listed and deleted as AWS does; they are not enforced (neither are key
// policies): a GrantRecord keeps everything an enforcing check needs (grantee, operations,
// constraints, retiring principal).
//
// Where AWS's texts are unknown the comments say so; the order of the checks follows the rule
// of issue 19 (a key that does not exist is NotFoundException whatever else is wrong, after the
// model's own validation), and is a choice where noted.
//
// Thread-safety: handlers may run concurrently. Each write resolves the key and changes it under
// one Registry::BeginWrite() writer, so concurrent CreateGrant calls never lose a grant and two
// retries with one Name cannot both create it.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "crypto/digest.hpp"
#include "crypto/random.hpp"
#include "domain/key_specs.hpp"
#include "domain/vocabulary.hpp"
#include "server/ops/grant_token.hpp"
#include "server/ops/key_lookup.hpp"
#include "server/ops/ops.hpp"
#include "server/ops/paging.hpp"

namespace kms::ops {
namespace {

using domain::GrantOperation;
using storage::GrantRecord;
using ContextPairs = std::vector<std::pair<std::string, std::string>>;

// AWS quota "Grants per KMS key: 50,000" (customer managed keys only).
constexpr std::size_t kMaxGrantsPerKey = 50'000;
// ListGrants, ListRetirableGrants: "between 1 and 100, inclusive ... defaults to 50".
constexpr std::int64_t kDefaultGrantPage = 50;
constexpr std::int64_t kMaxGrantPage = 100;
// GrantConstraints: "Each constraint value can include up to 8 encryption context pairs. The
// encryption context value in each constraint cannot exceed 384 characters."
constexpr std::size_t kMaxConstraintPairs = 8;
constexpr std::size_t kMaxConstraintChars = 384;
// A grant's sort key (GrantSortKey): the creation date as 20 decimal digits, then the grant id.
constexpr std::size_t kDateDigits = 20;
constexpr std::size_t kGrantSortKeyChars = kDateDigits + 64;

struct Constraints {
  std::optional<ContextPairs> subset;  // EncryptionContextSubset
  std::optional<ContextPairs> equals;  // EncryptionContextEquals
};

// The operations every key supports in a grant: they take no key-type-specific input.
bool IsManagementOperation(GrantOperation op) {
  return op == GrantOperation::kCreateGrant || op == GrantOperation::kRetireGrant ||
         op == GrantOperation::kDescribeKey;
}

// Whether a grant on `key` may allow `op`, by the developer guide's "Grant operations" and its
// key type table: a symmetric encryption key allows the encryption and data key operations; an
// HMAC key GenerateMac and VerifyMac; an asymmetric key what its key usage does, and
// GetPublicKey; every key CreateGrant, RetireGrant and DescribeKey.
bool KeySupports(const storage::KeyRecord& key, GrantOperation op) {
  using enum GrantOperation;
  if (IsManagementOperation(op)) return true;
  switch (domain::SpecInfo(key.key_spec).family) {
    case domain::KeyFamily::kSymmetric:
      return op == kDecrypt || op == kEncrypt || op == kGenerateDataKey ||
             op == kGenerateDataKeyWithoutPlaintext || op == kReEncryptFrom || op == kReEncryptTo ||
             op == kGenerateDataKeyPair || op == kGenerateDataKeyPairWithoutPlaintext;
    case domain::KeyFamily::kHmac:
      return op == kGenerateMac || op == kVerifyMac;
    case domain::KeyFamily::kAsymmetric:
      break;
  }
  switch (key.key_usage) {
    case domain::KeyUsage::kEncryptDecrypt:
      return op == kEncrypt || op == kDecrypt || op == kReEncryptFrom || op == kReEncryptTo ||
             op == kGetPublicKey;
    case domain::KeyUsage::kSignVerify:
      return op == kSign || op == kVerify || op == kGetPublicKey;
    case domain::KeyUsage::kKeyAgreement:
      return op == kDeriveSharedSecret || op == kGetPublicKey;
    case domain::KeyUsage::kGenerateVerifyMac:
      break;
  }
  return false;
}

// The request's Operations, each once, in the order first given.
Result<std::vector<GrantOperation>> ReadOperations(const JsonIn& in) {
  std::vector<GrantOperation> operations;
  for (std::string_view name : in.OptionalStringList("Operations")) {
    const std::optional<GrantOperation> op = domain::Parse<GrantOperation>(name);
    // The model's enum check refused unknown names before the handler ran.
    if (!op) return KmsError::Validation("Unknown grant operation " + std::string(name));
    if (std::find(operations.begin(), operations.end(), *op) == operations.end()) {
      operations.push_back(*op);
    }
  }
  if (operations.empty()) {
    // The model has no minimum for GrantOperationList; AWS text unknown, in its validation style.
    return KmsError::Validation(
        "1 validation error detected: Value '[]' at 'operations' failed to satisfy constraint: "
        "Member must have length greater than or equal to 1");
  }
  return operations;
}

// The number of Unicode code points in UTF-8 `text` (the request parser validated the UTF-8).
std::size_t CodePoints(std::string_view text) {
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0U) != 0x80U;
  }));
}

// Constraints: each member present (possibly empty) or absent. The shape checks that need no
// key: one constraint type only, at most 8 pairs of at most 384 characters in all.
Result<Constraints> ReadConstraints(const JsonIn& in) {
  Constraints constraints;
  const rapidjson::Value* value = in.Find("Constraints");
  if (value == nullptr) return constraints;
  if (!value->IsObject()) return KmsError::Serialization("Expected an object for 'Constraints'");
  const JsonIn members(*value);
  for (auto [name, slot] : {std::pair{"EncryptionContextSubset", &constraints.subset},
                            std::pair{"EncryptionContextEquals", &constraints.equals}}) {
    if (!members.Has(name)) continue;
    KMS_ASSIGN_OR_RETURN(crypto::EncryptionContext context, members.OptionalStringMap(name));
    // AWS texts unknown for the three checks below.
    if (context.size() > kMaxConstraintPairs) {
      return KmsError::Validation(
          "A grant constraint can hold at most 8 encryption context "
          "pairs, but " +
          std::string(name) + " has " + std::to_string(context.size()) + ".");
    }
    std::size_t chars = 0;
    for (const auto& [k, v] : context) chars += CodePoints(k) + CodePoints(v);
    if (chars > kMaxConstraintChars) {
      return KmsError::Validation(
          "The encryption context in a grant constraint can be at most "
          "384 characters long, but " +
          std::string(name) + " has " + std::to_string(chars) + ".");
    }
    *slot = ContextPairs(context.begin(), context.end());  // sorted by key
  }
  // "The grant constraint can be one of two types" (kms:GrantConstraintType is single-valued).
  if (constraints.subset && constraints.equals) {
    return KmsError::Validation(
        "A grant constraint can be EncryptionContextSubset or EncryptionContextEquals, not both.");
  }
  return constraints;
}

// AWS's key state table for CreateGrant: Enabled, Unavailable and Updating keys allow it;
// Disabled -> DisabledException "<arn> is disabled."; pending deletion, pending replica deletion,
// pending import and creating -> KMSInvalidStateException "<arn> is <state>.".
Result<void> RequireGrantableState(const OpContext& ctx, const storage::KeyRecord& key) {
  using domain::KeyState;
  if (key.key_state == KeyState::kEnabled || key.key_state == KeyState::kUnavailable ||
      key.key_state == KeyState::kUpdating) {
    return {};
  }
  return KeyStateError(ctx, key);
}

// The grant's operations on this key: not CreateGrant alone, each supported by the key.
Result<void> CheckOperations(const OpContext& ctx, const storage::KeyRecord& key,
                             const std::vector<GrantOperation>& operations) {
  if (operations.size() == 1 && operations.front() == GrantOperation::kCreateGrant) {
    // Recorded from AWS (a ValidationException text quoted in ansible/ansible#31960).
    return KmsError::Validation("Grants must not contain only the CreateGrant operation.");
  }
  for (GrantOperation op : operations) {
    if (KeySupports(key, op)) continue;
    // AWS answers ValidationException (its developer guide); the text is unknown.
    return KmsError::Validation(
        "Grant operation " + std::string(domain::WireName(op)) + " is not valid for " +
        ctx.KeyArn(key.key_id) + ": its KeySpec is " + std::string(domain::WireName(key.key_spec)) +
        " and its KeyUsage is " + std::string(domain::WireName(key.key_usage)) + ".");
  }
  return {};
}

// Encryption context constraints are "valid only in a grant for a symmetric encryption KMS key".
Result<void> CheckConstraintsFitKey(const OpContext& ctx, const storage::KeyRecord& key,
                                    const GrantRecord& grant) {
  const bool constrained = grant.context_subset || grant.context_equals;
  if (!constrained || domain::SpecInfo(key.key_spec).family == domain::KeyFamily::kSymmetric) {
    return {};
  }
  // AWS answers ValidationException; the text is unknown.
  return KmsError::Validation(
      "Encryption context grant constraints are valid only for symmetric "
      "encryption KMS keys, and " +
      ctx.KeyArn(key.key_id) + " has KeySpec " + std::string(domain::WireName(key.key_spec)) + ".");
}

bool SameOperations(const std::vector<GrantOperation>& a, const std::vector<GrantOperation>& b) {
  return a.size() == b.size() && std::all_of(a.begin(), a.end(), [&b](GrantOperation op) {
           return std::find(b.begin(), b.end(), op) != b.end();
         });
}

// The grant a CreateGrant with a Name retries: same name, grantee, retiring principal,
// operations (in any order) and constraints. nullptr if none.
const GrantRecord* FindRetried(const storage::KeyRecord& key, const GrantRecord& wanted) {
  for (const GrantRecord& grant : key.grants) {
    if (grant.name == wanted.name && grant.grantee_principal == wanted.grantee_principal &&
        grant.retiring_principal == wanted.retiring_principal &&
        SameOperations(grant.operations, wanted.operations) &&
        grant.context_subset == wanted.context_subset &&
        grant.context_equals == wanted.context_equals) {
      return &grant;
    }
  }
  return nullptr;
}

Result<std::string> NewGrantId() {
  auto random = crypto::RandomBytes(32);
  if (!random) {
    return KmsError::Internal("kmsd could not generate random bytes: " + random.error().message);
  }
  return crypto::HexEncode(*random);
}

KmsError InvalidGrantId(std::string_view grant_id) {
  // AWS text unknown; in the style of its "Invalid keyId '<id>'".
  return KmsError{server::ErrorCode::kInvalidGrantId,
                  "Invalid grantId '" + std::string(grant_id) + "'"};
}

KmsError GrantNotFound(std::string_view grant_id) {
  // AWS text unknown; in the style of its "Key '<arn>' does not exist".
  return KmsError::NotFound("Grant '" + std::string(grant_id) + "' does not exist");
}

const GrantRecord* FindGrant(const storage::KeyRecord& key, std::string_view grant_id) {
  for (const GrantRecord& grant : key.grants) {
    if (grant.grant_id == grant_id) return &grant;
  }
  return nullptr;
}

// Deletes grant `grant_id` from `key` (RetireGrant, RevokeGrant), after DryRun.
Result<void> DeleteGrant(storage::Registry::Writer& writer, const JsonIn& in,
                         const storage::KeyRecord& key, std::string_view grant_id,
                         std::string_view operation) {
  if (FindGrant(key, grant_id) == nullptr) return GrantNotFound(grant_id);
  KMS_TRY(CheckDryRun(in));
  storage::KeyRecord updated = key;
  std::erase_if(updated.grants,
                [grant_id](const GrantRecord& g) { return g.grant_id == grant_id; });
  if (!writer.UpdateKey(std::move(updated))) return StorageFailure(operation);
  return {};
}

// --- Listing --------------------------------------------------------------------------------

// A grant's place in a listing: creation date, then grant id, so grants come in creation order
// (those of one second by id) and a marker stays valid when grants come and go between pages.
std::string GrantSortKey(const GrantRecord& grant) {
  std::string digits = std::to_string(std::max<std::int64_t>(grant.creation_date, 0));
  std::string key(kDateDigits - std::min(kDateDigits, digits.size()), '0');
  key += digits;
  key += grant.grant_id;
  return key;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// A ListGrants marker: a GrantSortKey.
bool IsGrantMarker(std::string_view marker) {
  return marker.size() == kGrantSortKeyChars &&
         std::all_of(marker.begin(), marker.begin() + kDateDigits, IsDigit) &&
         IsWellFormedGrantId(marker.substr(kDateDigits));
}

// A ListRetirableGrants marker: "<key id>/<GrantSortKey>".
bool IsRetirableMarker(std::string_view marker) {
  const std::size_t slash = marker.find('/');
  return slash != std::string_view::npos && IsWellFormedKeyId(marker.substr(0, slash)) &&
         IsGrantMarker(marker.substr(slash + 1));
}

// The grants of `key` in listing order.
std::vector<std::pair<std::string, const GrantRecord*>> SortedGrants(
    const storage::KeyRecord& key) {
  std::vector<std::pair<std::string, const GrantRecord*>> sorted;
  sorted.reserve(key.grants.size());
  for (const GrantRecord& grant : key.grants) sorted.emplace_back(GrantSortKey(grant), &grant);
  std::sort(sorted.begin(), sorted.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  return sorted;
}

void WritePairs(JsonOut& out, std::string_view member, const ContextPairs& pairs) {
  out.Key(member);
  out.StartObject();
  for (const auto& [k, v] : pairs) out.String(k, v);
  out.EndObject();
}

// One GrantListEntry.
void WriteGrant(const OpContext& ctx, const storage::KeyRecord& key, const GrantRecord& grant,
                JsonOut& out) {
  out.StartObject();
  out.String("KeyId", ctx.KeyArn(key.key_id));
  out.String("GrantId", grant.grant_id);
  // The model says "Otherwise this value is null"; AWS's own ListGrants examples show
  // "Name": "" for a grant made without one, and that is what kmsd sends.
  out.String("Name", grant.name);
  out.Timestamp("CreationDate", grant.creation_date);
  out.String("GranteePrincipal", grant.grantee_principal);
  if (!grant.retiring_principal.empty()) out.String("RetiringPrincipal", grant.retiring_principal);
  out.String("IssuingAccount", grant.issuing_account);
  out.Key("Operations");
  out.StartArray();
  for (GrantOperation op : grant.operations) out.StringValue(domain::WireName(op));
  out.EndArray();
  if (grant.context_subset || grant.context_equals) {
    out.Key("Constraints");
    out.StartObject();
    if (grant.context_subset) WritePairs(out, "EncryptionContextSubset", *grant.context_subset);
    if (grant.context_equals) WritePairs(out, "EncryptionContextEquals", *grant.context_equals);
    out.EndObject();
  }
  out.EndObject();
}

struct RetirableGrant {
  std::string sort_key;  // "<key id>/<GrantSortKey>"
  KeyPtr key;            // keeps `grant` alive
  const GrantRecord* grant;
};

// Every grant of the caller's account and region whose retiring principal is `principal`, in
// listing order (key id, then GrantSortKey). A scan of every key of the scope: the one place
// to replace when listings are made O(page).
std::vector<RetirableGrant> FindRetirableGrants(const OpContext& ctx, std::string_view principal) {
  std::vector<RetirableGrant> found;
  for (const KeyPtr& key : ctx.registry.ListKeys(ctx.scope)) {  // sorted by key id
    if (LiveRecord(ctx, key) == nullptr) continue;  // gone (a multi-region primary's date settled)
    for (auto& [sort_key, grant] : SortedGrants(*key)) {
      if (grant->retiring_principal != principal) continue;
      found.push_back(RetirableGrant{key->key_id + "/" + sort_key, key, grant});
    }
  }
  return found;
}

}  // namespace

// CreateGrant: https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateGrant.html
// KeyId is a key id or key ARN. With a Name, a retry (same name, grantee and retiring principal,
// operations in any order, constraints) returns the existing grant's GrantId and a new token;
// a Name with other parameters makes a new grant (names need not be unique, and AWS does not
// let a Name identify a grant). Order of checks (a choice past the model's validation and the
// key lookup): key state, operations, constraints against the key, retry, quota, DryRun.
// Deviation: principals are not checked against IAM (AWS refuses unknown ones); grants are not
// enforced, nor are the CreateGrant-from-a-grant restrictions on child grants.
Result<void> CreateGrant(OpContext& ctx, const JsonIn& in, JsonOut& out) {
  KMS_ASSIGN_OR_RETURN(std::string_view key_ref, in.RequiredString("KeyId"));
  GrantRecord grant;
  KMS_ASSIGN_OR_RETURN(std::string_view grantee, in.RequiredString("GranteePrincipal"));
  grant.grantee_principal = std::string(grantee);
  grant.retiring_principal = std::string(in.OptionalString("RetiringPrincipal").value_or(""));
  grant.name = std::string(in.OptionalString("Name").value_or(""));
  KMS_ASSIGN_OR_RETURN(grant.operations, ReadOperations(in));
  KMS_ASSIGN_OR_RETURN(Constraints constraints, ReadConstraints(in));
  grant.context_subset = std::move(constraints.subset);
  grant.context_equals = std::move(constraints.equals);

  auto writer = ctx.registry.BeginWrite();
  KMS_ASSIGN_OR_RETURN(KeyPtr key, ResolveKey(ctx, key_ref, KeyRefForms::kKeyIdOrArn));
  KMS_TRY(RequireGrantableState(ctx, *key));
  KMS_TRY(CheckOperations(ctx, *key, grant.operations));
  KMS_TRY(CheckConstraintsFitKey(ctx, *key, grant));

  const GrantRecord* retried = grant.name.empty() ? nullptr : FindRetried(*key, grant);
  if (retried == nullptr && key->key_manager == domain::KeyManager::kCustomer &&
      key->grants.size() >= kMaxGrantsPerKey) {
    // AWS text unknown; worded as its pinned on-demand rotation limit text.
    return KmsError{server::ErrorCode::kLimitExceeded,
                    "The grants limit has been reached for the given keyId. No more grants can be "
                    "created for this key: " +
                        ctx.KeyArn(key->key_id)};
  }
  KMS_TRY(CheckDryRun(in));

  if (retried != nullptr) {
    grant.grant_id = retried->grant_id;
  } else {
    KMS_ASSIGN_OR_RETURN(grant.grant_id, NewGrantId());
  }
  KMS_ASSIGN_OR_RETURN(std::string token, MakeGrantToken(ctx.scope, key->key_id, grant.grant_id));
  if (retried == nullptr) {
    grant.issuing_account =
        "arn:" + std::string(ctx.Partition()) + ":iam::" + ctx.scope.account + ":root";
    grant.creation_date = ctx.Now();
    storage::KeyRecord updated = *key;
    updated.grants.push_back(grant);
    if (!writer.UpdateKey(std::move(updated))) return StorageFailure("CreateGrant");
  }
  out.String("GrantToken", token);
  out.String("GrantId", grant.grant_id);
  return {};
}

// ListGrants: https://docs.aws.amazon.com/kms/latest/APIReference/API_ListGrants.html
// KeyId is a key id or key ARN; allowed in every key state. Grants come in creation order;
// GrantId and GranteePrincipal filter them. A malformed GrantId is InvalidGrantIdException; a
// well-formed one that names no grant of the key lists nothing (AWS's answer there is unknown).
Result<void> ListGrants(OpContext& ctx, const JsonIn& in, JsonOut& out) {
  KMS_ASSIGN_OR_RETURN(std::string_view key_ref, in.RequiredString("KeyId"));
  KMS_ASSIGN_OR_RETURN(KeyPtr key, ResolveKey(ctx, key_ref, KeyRefForms::kKeyIdOrArn));
  KMS_ASSIGN_OR_RETURN(Pager pager,
                       Pager::Read(in, kDefaultGrantPage, kMaxGrantPage, &IsGrantMarker));
  const std::optional<std::string_view> grant_id = in.OptionalString("GrantId");
  if (grant_id && !IsWellFormedGrantId(*grant_id)) return InvalidGrantId(*grant_id);
  const std::optional<std::string_view> grantee = in.OptionalString("GranteePrincipal");

  out.Key("Grants");
  out.StartArray();
  for (const auto& [sort_key, grant] : SortedGrants(*key)) {
    if (!pager.After(sort_key)) continue;
    if (grant_id && grant->grant_id != *grant_id) continue;
    if (grantee && grant->grantee_principal != *grantee) continue;
    if (!pager.Take(sort_key)) break;
    WriteGrant(ctx, *key, *grant, out);
  }
  out.EndArray();
  pager.Finish(out);
  return {};
}

// ListRetirableGrants:
// https://docs.aws.amazon.com/kms/latest/APIReference/API_ListRetirableGrants.html
// The grants of every key in the caller's account and region whose RetiringPrincipal is the one
// given, by key id and then creation order.
// Deviation: kmsd has one account, so grants on other accounts' keys are never listed.
Result<void> ListRetirableGrants(OpContext& ctx, const JsonIn& in, JsonOut& out) {
  KMS_ASSIGN_OR_RETURN(std::string_view principal, in.RequiredString("RetiringPrincipal"));
  KMS_ASSIGN_OR_RETURN(Pager pager,
                       Pager::Read(in, kDefaultGrantPage, kMaxGrantPage, &IsRetirableMarker));

  out.Key("Grants");
  out.StartArray();
  for (const RetirableGrant& found : FindRetirableGrants(ctx, principal)) {
    if (!pager.After(found.sort_key)) continue;
    if (!pager.Take(found.sort_key)) break;
    WriteGrant(ctx, *found.key, *found.grant, out);
  }
  out.EndArray();
  pager.Finish(out);
  return {};
}

// RetireGrant: https://docs.aws.amazon.com/kms/latest/APIReference/API_RetireGrant.html
// The grant is named by GrantToken, or by KeyId (key id or key ARN) and GrantId; given both
// ways, they must name the same grant. Allowed in every key state.
// Deviation: who may retire (retiring principal, grantee, issuing account) is not checked.
Result<void> RetireGrant(OpContext& ctx, const JsonIn& in, JsonOut& /*out*/) {
  const std::optional<std::string_view> token_text = in.OptionalString("GrantToken");
  const std::optional<std::string_view> key_ref = in.OptionalString("KeyId");
  const std::optional<std::string_view> grant_id_text = in.OptionalString("GrantId");
  if (!token_text && (!key_ref || !grant_id_text)) {
    // AWS text unknown.
    return KmsError::Validation("Either GrantToken, or both KeyId and GrantId, must be specified.");
  }
  std::optional<GrantTokenContent> token;
  if (token_text) {
    token = ParseGrantToken(*token_text);
    if (!token) return InvalidGrantToken();
  }

  auto writer = ctx.registry.BeginWrite();
  KeyPtr key;
  if (key_ref) {
    KMS_ASSIGN_OR_RETURN(key, ResolveKey(ctx, *key_ref, KeyRefForms::kKeyIdOrArn));
  } else if (token->scope != ctx.scope) {
    // A grant of another region (or account) is not visible from here.
    return GrantNotFound(token->grant_id);
  } else {
    KMS_ASSIGN_OR_RETURN(key, ResolveKey(ctx, token->key_id, KeyRefForms::kKeyIdOrArn));
  }
  if (grant_id_text && !IsWellFormedGrantId(*grant_id_text)) return InvalidGrantId(*grant_id_text);
  if (token && (token->scope != ctx.scope || token->key_id != key->key_id)) {
    return KmsError::Validation(
        "The GrantToken and the KeyId name different keys.");  // AWS text unknown
  }
  if (token && grant_id_text && token->grant_id != *grant_id_text) {
    return KmsError::Validation(
        "The GrantToken and the GrantId name different grants.");  // AWS text unknown
  }
  const std::string grant_id = token ? token->grant_id : std::string(*grant_id_text);
  return DeleteGrant(writer, in, *key, grant_id, "RetireGrant");
}

// RevokeGrant: https://docs.aws.amazon.com/kms/latest/APIReference/API_RevokeGrant.html
// KeyId is a key id or key ARN; allowed in every key state. A malformed GrantId is
// InvalidGrantIdException, a grant the key does not have NotFoundException (texts unknown).
Result<void> RevokeGrant(OpContext& ctx, const JsonIn& in, JsonOut& /*out*/) {
  KMS_ASSIGN_OR_RETURN(std::string_view key_ref, in.RequiredString("KeyId"));
  KMS_ASSIGN_OR_RETURN(std::string_view grant_id, in.RequiredString("GrantId"));

  auto writer = ctx.registry.BeginWrite();
  KMS_ASSIGN_OR_RETURN(KeyPtr key, ResolveKey(ctx, key_ref, KeyRefForms::kKeyIdOrArn));
  if (!IsWellFormedGrantId(grant_id)) return InvalidGrantId(grant_id);
  return DeleteGrant(writer, in, *key, grant_id, "RevokeGrant");
}

}  // namespace kms::ops
