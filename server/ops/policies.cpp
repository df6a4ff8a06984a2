// File: policies.cpp
//
// GetKeyPolicy, PutKeyPolicy, ListKeyPolicies, and the policy helpers of policies.hpp.
// Each key has exactly one policy, "default", stored as JSON text on the KeyRecord.
//
// Thread-safety: handlers run concurrently; PutKeyPolicy changes the key under the registry's
// writer.
#include "server/ops/policies.hpp"

#include <string>

#include <rapidjson/document.h>

#include "server/ops/key_lookup.hpp"
#include "server/ops/ops.hpp"

namespace kms::ops {
namespace {

KmsError MalformedPolicy(std::string reason) {
  return KmsError{server::ErrorCode::kMalformedPolicyDocument, std::move(reason)};
}

// PolicyName is optional and defaults to "default", the only name KMS knows.
Result<void> CheckPolicyName(const JsonIn& in) {
  const std::string_view name = in.OptionalString("PolicyName").value_or(kDefaultPolicyName);
  if (name != kDefaultPolicyName) return KmsError::NotFound("No such policy exists");
  return {};
}

}  // namespace

std::string DefaultKeyPolicy(const OpContext& ctx) { return DefaultKeyPolicy(ctx.scope); }

std::string DefaultKeyPolicy(const storage::Scope& scope) {
  // AWS's own layout (Jackson's pretty printer): " : " separators, two-space indent, and
  // the statement array opened on the same line.
  return "{\n"
         "  \"Version\" : \"2012-10-17\",\n"
         "  \"Id\" : \"key-default-1\",\n"
         "  \"Statement\" : [ {\n"
         "    \"Sid\" : \"Enable IAM User Permissions\",\n"
         "    \"Effect\" : \"Allow\",\n"
         "    \"Principal\" : {\n"
         "      \"AWS\" : \"arn:" +
         std::string(PartitionOf(scope.region)) + ":iam::" + scope.account +
         ":root\"\n"
         "    },\n"
         "    \"Action\" : \"kms:*\",\n"
         "    \"Resource\" : \"*\"\n"
         "  } ]\n"
         "}";
}

Result<void> CheckPolicyDocument(std::string_view policy) {
  // A resource quota, refused as AWS refuses one. AWS's text for it is not known; this one
  // states the limit. (std::string_view::size() counts the UTF-8 bytes of the text.)
  if (policy.size() > kMaxKeyPolicyBytes) {
    return KmsError{server::ErrorCode::kLimitExceeded,
                    "The key policy exceeds the maximum size of " +
                        std::to_string(kMaxKeyPolicyBytes) + " bytes."};
  }
  rapidjson::Document doc;
  doc.Parse(policy.data(), policy.size());
  if (doc.HasParseError()) return MalformedPolicy("The key policy is not valid JSON.");
  if (!doc.IsObject()) return MalformedPolicy("The key policy must be a JSON object.");
  const rapidjson::Document& policy_doc = doc;  // const iterators: C++20 compares them cleanly
  auto statement = policy_doc.FindMember("Statement");
  if (statement == policy_doc.MemberEnd()) {
    return MalformedPolicy("The key policy must contain a Statement.");
  }
  const rapidjson::Value& value = statement->value;
  bool ok = value.IsObject();
  if (value.IsArray()) {
    ok = !value.Empty();
    for (const auto& s : value.GetArray()) ok = ok && s.IsObject();
  }
  if (!ok) {
    return MalformedPolicy(
        "The key policy Statement must be an object or a non-empty list of objects.");
  }
  return {};
}

// GetKeyPolicy: https://docs.aws.amazon.com/kms/latest/APIReference/API_GetKeyPolicy.html
// Deviation: key policies are stored and returned, never enforced.
Result<void> GetKeyPolicy(OpContext& ctx, const JsonIn& in, JsonOut& out) {
  KMS_ASSIGN_OR_RETURN(std::string_view key_ref, in.RequiredString("KeyId"));
  // A missing key is named before a wrong PolicyName (an order kmsd chose; AWS's is unknown).
  KMS_ASSIGN_OR_RETURN(KeyPtr key, ResolveKey(ctx, key_ref, KeyRefForms::kKeyIdOrArn));
  KMS_TRY(CheckPolicyName(in));

  out.String("Policy", key->policy);
  out.String("PolicyName", kDefaultPolicyName);
  return {};
}

// PutKeyPolicy: https://docs.aws.amazon.com/kms/latest/APIReference/API_PutKeyPolicy.html
// Deviation: the policy is checked for shape only (a JSON object with a Statement); its
// principals, actions and conditions are not validated or enforced.
// Deviation: BypassPolicyLockoutSafetyCheck is accepted and ignored; there is no lockout check.
Result<void> PutKeyPolicy(OpContext& ctx, const JsonIn& in, JsonOut& /*out*/) {
  KMS_ASSIGN_OR_RETURN(std::string_view key_ref, in.RequiredString("KeyId"));
  KMS_ASSIGN_OR_RETURN(std::string_view policy, in.RequiredString("Policy"));

  // Order of checks: the key first (a missing key is NotFoundException whatever the policy
  // holds, as AWS answers), then who manages it and its state, then the policy itself.
  auto writer = ctx.registry.BeginWrite();
  KMS_ASSIGN_OR_RETURN(KeyPtr key, ResolveKey(ctx, key_ref, KeyRefForms::kKeyIdOrArn));
  KMS_TRY(RequireCustomerManaged(ctx, *key, "PutKeyPolicy"));
  KMS_TRY(RequireNotPendingDeletion(ctx, *key));
  KMS_TRY(CheckPolicyName(in));
  KMS_TRY(CheckPolicyDocument(policy));

  storage::KeyRecord updated = *key;
  updated.policy = std::string(policy);
  if (!writer.UpdateKey(updated)) return StorageFailure("PutKeyPolicy");
  return {};
}

// ListKeyPolicies: https://docs.aws.amazon.com/kms/latest/APIReference/API_ListKeyPolicies.html
// Every key has exactly one policy, so Limit and Marker never matter.
Result<void> ListKeyPolicies(OpContext& ctx, const JsonIn& in, JsonOut& out) {
  KMS_ASSIGN_OR_RETURN(std::string_view key_ref, in.RequiredString("KeyId"));
  KMS_TRY(ResolveKey(ctx, key_ref, KeyRefForms::kKeyIdOrArn));

  out.StringList("PolicyNames", {std::string(kDefaultPolicyName)});
  out.Bool("Truncated", false);
  return {};
}

}  // namespace kms::ops
