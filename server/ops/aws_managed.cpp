// File: aws_managed.cpp
//
// The predefined AWS managed aliases and the key their first use creates (aws_managed.hpp).
//
// Thread-safety: stateless, except EnsureAwsManagedKey, which writes under the registry's writer.
#include "server/ops/aws_managed.hpp"

#include <string>
#include <string_view>
#include <utility>

#include "domain/vocabulary.hpp"
#include "server/ops/key_lookup.hpp"
#include "server/ops/keys.hpp"

namespace kms::ops {
namespace {

constexpr std::int64_t kSecondsPerDay = 86'400;

// The DNS suffix of service endpoints in `partition` (kms:ViaService names an endpoint).
std::string_view DnsSuffixOf(std::string_view partition) {
  return partition == "aws-cn" ? "amazonaws.com.cn" : "amazonaws.com";
}

}  // namespace

const AwsManagedAlias* FindAwsManagedAlias(std::string_view alias_name) {
  const auto* it =
      std::ranges::lower_bound(kAwsManagedAliases, alias_name, {}, &AwsManagedAlias::name);
  if (it == std::ranges::end(kAwsManagedAliases) || it->name != alias_name) return nullptr;
  return it;
}

std::string AwsManagedKeyDescription(const AwsManagedAlias& alias) {
  return "Default key that protects my " + std::string(alias.protects) +
         " when no other key is defined";
}

std::string AwsManagedKeyPolicy(const storage::Scope& scope, const AwsManagedAlias& alias) {
  const std::string partition(PartitionOf(scope.region));
  const std::string service(alias.name.substr(alias.name.rfind('/') + 1));  // "s3"
  const std::string display(alias.display);
  // Laid out as DefaultKeyPolicy is (Jackson's pretty printer). AWS's Id ends in a per-service
  // policy version (seen from 1 to 3); kmsd's policies are all version 1.
  return "{\n"
         "  \"Version\" : \"2012-10-17\",\n"
         "  \"Id\" : \"auto-" +
         service +
         "-1\",\n"
         "  \"Statement\" : [ {\n"
         "    \"Sid\" : \"Allow access through " +
         display + " for all principals in the account that are authorized to use " + display +
         "\",\n"
         "    \"Effect\" : \"Allow\",\n"
         "    \"Principal\" : {\n"
         "      \"AWS\" : \"*\"\n"
         "    },\n"
         "    \"Action\" : [ \"kms:Encrypt\", \"kms:Decrypt\", \"kms:ReEncrypt*\", "
         "\"kms:GenerateDataKey*\", \"kms:CreateGrant\", \"kms:DescribeKey\" ],\n"
         "    \"Resource\" : \"*\",\n"
         "    \"Condition\" : {\n"
         "      \"StringEquals\" : {\n"
         "        \"kms:CallerAccount\" : \"" +
         scope.account +
         "\",\n"
         "        \"kms:ViaService\" : \"" +
         std::string(alias.via_service) + "." + scope.region + "." +
         std::string(DnsSuffixOf(partition)) +
         "\"\n"
         "      }\n"
         "    }\n"
         "  }, {\n"
         "    \"Sid\" : \"Allow direct access to key metadata to the account\",\n"
         "    \"Effect\" : \"Allow\",\n"
         "    \"Principal\" : {\n"
         "      \"AWS\" : \"arn:" +
         partition + ":iam::" + scope.account +
         ":root\"\n"
         "    },\n"
         "    \"Action\" : [ \"kms:Describe*\", \"kms:Get*\", \"kms:List*\", \"kms:RevokeGrant\" "
         "],\n"
         "    \"Resource\" : \"*\"\n"
         "  } ]\n"
         "}";
}

server::Result<storage::KeyRecord> NewAwsManagedKey(const storage::Scope& scope,
                                                    const AwsManagedAlias& alias,
                                                    std::int64_t now) {
  KMS_ASSIGN_OR_RETURN(storage::KeyRecord key, NewDefaultSymmetricKey(scope, now));
  key.key_manager = domain::KeyManager::kAws;
  key.description = AwsManagedKeyDescription(alias);
  key.policy = AwsManagedKeyPolicy(scope, alias);
  key.rotation_enabled = true;
  key.rotation_period_days = kAwsManagedRotationDays;
  key.next_rotation_date = now + kAwsManagedRotationDays * kSecondsPerDay;
  return key;
}

server::Result<std::string> EnsureAwsManagedKey(const OpContext& ctx,
                                                const AwsManagedAlias& alias) {
  const std::int64_t now = ctx.Now();
  // Made before the writer is taken, so no writer waits for the random generator; wasted if
  // another request creates the key first.
  KMS_ASSIGN_OR_RETURN(storage::KeyRecord key, NewAwsManagedKey(ctx.scope, alias, now));

  auto writer = ctx.registry.BeginWrite();
  // Again under the writer: a concurrent first use may have created the key since our read.
  if (auto existing = ctx.registry.FindAlias(ctx.scope, alias.name)) {
    return std::move(existing->target_key_id);
  }
  std::string key_id = key.key_id;
  if (!writer.InsertKey(std::move(key))) return StorageFailure("AWS managed key");
  if (!writer.InsertAlias({ctx.scope, std::string(alias.name), key_id, now, now})) {
    (void)writer.DeleteKey(ctx.scope, key_id);  // no key without its alias
    return StorageFailure("AWS managed key");
  }
  return key_id;
}

}  // namespace kms::ops
