// File: aws_managed.hpp
//
// AWS managed keys: the predefined `alias/aws/<service>` aliases every account and region has,
// and the key KMS makes behind one the first time it is used.
//
// In AWS, ListAliases shows each predefined alias without a TargetKeyId until a service first
// uses it; that first use (a cryptographic operation, or DescribeKey, which AWS documents as the
// way services create these keys) creates a symmetric key with KeyManager AWS, the AWS managed
// key policy and automatic rotation every year, and points the alias at it. Customers can use
// and describe the key but not manage it (key_lookup.hpp: RequireCustomerManaged).
//
// Deviation: AWS lets only the service use an AWS managed key for cryptography (the policy's
// kms:ViaService condition). kmsd cannot tell a service's request from any other and enforces
// no key policy, so any caller of the account may encrypt, decrypt and generate data keys
// with it.
//
//   if (const AwsManagedAlias* managed = FindAwsManagedAlias(name)) ...  // alias/aws/s3 etc.
//   KMS_ASSIGN_OR_RETURN(std::string key_id, EnsureAwsManagedKey(ctx, *managed));  // first use
//
// Thread-safety: the table is constant; EnsureAwsManagedKey writes under the registry's writer.
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "server/ops/context.hpp"
#include "server/protocol/result.hpp"
#include "storage/records.hpp"

namespace kms::ops {

// One predefined AWS managed alias.
struct AwsManagedAlias {
  std::string_view name;         // "alias/aws/s3"
  std::string_view via_service;  // the policy's kms:ViaService is <via_service>.<region>.<dns>
  std::string_view display;      // the service's name in the policy's first Sid
  std::string_view protects;     // the Description: "Default key that protects my <protects>
                                 // when no other key is defined"
};

// The predefined aliases kmsd lists, sorted by name (bytewise, as ListAliases sorts): those of
// the services that have used AWS managed keys longest. AWS adds aliases as services adopt
// them, and no AWS page lists them all.
// Descriptions: the "Default key that protects my ... when no other key is defined" format is
// the one AWS reserves for AWS managed keys (KMS developer guide); the <protects> words are as
// DescribeKey shows them in real accounts for acm, dynamodb, ebs, elasticfilesystem, lambda,
// rds, s3, secretsmanager and ssm (es, glue, kinesisvideo and xray were seen in the older
// "Default master key ..." wording, whose words are kept), and guessed for redshift. The
// display names are seen in real policies for S3, EBS and AWS Lambda, and guessed for the rest.
inline constexpr AwsManagedAlias kAwsManagedAliases[] = {
    {"alias/aws/acm", "acm", "ACM", "ACM private keys"},
    {"alias/aws/dynamodb", "dynamodb", "Amazon DynamoDB", "DynamoDB data"},
    {"alias/aws/ebs", "ec2", "EBS", "EBS volumes"},
    {"alias/aws/elasticfilesystem", "elasticfilesystem", "Amazon Elastic File System",
     "EFS filesystems"},
    {"alias/aws/es", "es", "Amazon Elasticsearch Service", "Elasticsearch data"},
    {"alias/aws/glue", "glue", "AWS Glue", "Glue data"},
    {"alias/aws/kinesisvideo", "kinesisvideo", "Amazon Kinesis Video Streams",
     "kinesis video data"},
    {"alias/aws/lambda", "lambda", "AWS Lambda", "Lambda functions"},
    {"alias/aws/rds", "rds", "RDS", "RDS database volumes"},
    {"alias/aws/redshift", "redshift", "Amazon Redshift", "Redshift data"},
    {"alias/aws/s3", "s3", "S3", "S3 objects"},
    {"alias/aws/secretsmanager", "secretsmanager", "AWS Secrets Manager", "Secrets Manager data"},
    {"alias/aws/ssm", "ssm", "AWS Systems Manager", "SSM parameters"},
    {"alias/aws/xray", "xray", "AWS X-Ray", "X-Ray data"},
};
static_assert(std::ranges::is_sorted(kAwsManagedAliases, {}, &AwsManagedAlias::name),
              "ListAliases merges this table with the registry's aliases: keep it sorted");

// AWS rotates the material of every AWS managed key once a year (EnableKeyRotation's page).
inline constexpr int kAwsManagedRotationDays = 365;

// The predefined alias named `alias_name` ("alias/aws/s3"), or nullptr.
const AwsManagedAlias* FindAwsManagedAlias(std::string_view alias_name);

// "Default key that protects my S3 objects when no other key is defined".
std::string AwsManagedKeyDescription(const AwsManagedAlias& alias);

// The key policy of an AWS managed key in `scope`, pretty-printed as AWS prints policies: the
// service may use the key for the account's principals (Principal "*", conditions
// kms:CallerAccount and kms:ViaService), and the account may only read its metadata
// (Describe*, Get*, List*, RevokeGrant). kmsd does not enforce it (README: deviations).
std::string AwsManagedKeyPolicy(const storage::Scope& scope, const AwsManagedAlias& alias);

// The record the first use of `alias` creates in `scope` at `now`: a SYMMETRIC_DEFAULT key with
// fresh material, KeyManager AWS, the description and policy above, and rotation enabled every
// kAwsManagedRotationDays. Errors: KMSInternalException when the random generator fails.
server::Result<storage::KeyRecord> NewAwsManagedKey(const storage::Scope& scope,
                                                    const AwsManagedAlias& alias, std::int64_t now);

// The id of the key `alias` names in the caller's scope, after creating the key and the alias
// (under one Registry::Writer) if the alias names none yet. Re-checks under the writer, so
// concurrent first uses create exactly one key. The change is made in memory at once and
// committed by the registry; the dispatcher's ticket holds the reply until it is durable, as
// for any write. Errors: KMSInternalException when key generation or the write fails.
// REQUIRES: the calling thread holds no Writer of ctx.registry.
server::Result<std::string> EnsureAwsManagedKey(const OpContext& ctx, const AwsManagedAlias& alias);

}  // namespace kms::ops
