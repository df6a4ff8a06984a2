// File: key_lookup.hpp
//
// The one place that turns a client's key reference into a key, and the shared checks
// that follow (key state, key usage, DryRun). Every message here copies AWS's wording;
// handlers never type these strings themselves.
//
// Thread-safety: stateless functions over the thread-safe registry.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "domain/key_specs.hpp"
#include "domain/vocabulary.hpp"
#include "server/ops/context.hpp"
#include "server/protocol/json_io.hpp"
#include "server/protocol/result.hpp"
#include "storage/registry.hpp"

namespace kms::ops {

using server::JsonIn;
using server::JsonOut;
using server::KmsError;
using server::Result;
using KeyPtr = storage::Registry::KeyPtr;

// Which spellings of a key an operation accepts, as AWS documents per operation.
enum class KeyRefForms {
  kKeyIdOrArn,  // key id or key ARN (EnableKey, TagResource, ScheduleKeyDeletion, ...)
  kAny,         // also alias name ("alias/x") and alias ARN (Encrypt, DescribeKey, ...)
};

// Resolves `ref` in the caller's scope. Keys whose deletion date has passed count as gone.
// An ARN must name the caller's partition (PartitionOf), service, region and account.
// Errors (NotFoundException): "Invalid keyId '<ref>'", "Key '<arn>' does not exist",
// "Invalid arn <region>", "Invalid arn <ref>" (another partition or service, or no resource),
// "Alias <alias-arn> is not found."
// With kAny, a predefined AWS managed alias (alias/aws/s3, ...; aws_managed.hpp) that names no
// key yet gets its key now: a write, made durable before the reply like any other.
// REQUIRES: with kAny, the calling thread holds no Registry::Writer (that first use takes one).
Result<KeyPtr> ResolveKey(const OpContext& ctx, std::string_view ref, KeyRefForms forms);

// True once a key pending deletion has passed its deletion date: it no longer exists.
// `key` must be settled (SettleMultiRegionState): a multi-region primary waiting for its
// replicas' deletion has no deletion date until then.
bool IsGone(const storage::KeyRecord& key, std::int64_t now);

// The key `key_id` of `scope` as it stands now, or nullptr if there is none or it is gone
// (IsGone): transitional multi-region states settled (multi_region.hpp), and a key whose
// imported material has passed its ValidTo read as expired (ops/import.hpp): a copy without
// those bytes, in PendingImport. Every lookup of a key by id goes through here (LiveKey for the
// caller's scope), so every operation sees the same state; no disk write and no lock beyond the
// registry's read.
KeyPtr FindLiveKey(const OpContext& ctx, const storage::Scope& scope, std::string_view key_id);
// FindLiveKey in the caller's scope.
KeyPtr LiveKey(const OpContext& ctx, std::string_view key_id);
// The same for a record already read (nullptr stays nullptr).
KeyPtr LiveRecord(const OpContext& ctx, KeyPtr key);

// The key state clients see (DescribeKey's KeyState): the stored one, except that a key in a
// custom key store that is not connected is Unavailable unless it is PendingDeletion (AWS:
// "The KMS keys in a disconnected custom key store will have a key state of Unavailable or
// PendingDeletion"). Enable/DisableKey change the stored state meanwhile, which shows again once
// the store is connected.
domain::KeyState EffectiveKeyState(const OpContext& ctx, const storage::KeyRecord& key);

// The error AWS gives for using a key in a state that does not allow the operation, for its
// EffectiveKeyState: Disabled -> DisabledException "<arn> is disabled."; PendingDeletion /
// PendingImport / Unavailable ... -> KMSInvalidStateException "<arn> is pending deletion." etc.
KmsError KeyStateError(const OpContext& ctx, const storage::KeyRecord& key);

// Enabled, else KeyStateError. For cryptographic operations. A key in a custom key store that
// is not CONNECTED fails here ("<arn> is unavailable."): the one check of every cryptographic
// operation; a key in no custom key store pays one empty-string test for it. It notes each key
// that passes in ctx.used_keys (for GetKeyLastUsage: the dispatcher records the use once the
// operation has succeeded).
Result<void> RequireEnabled(const OpContext& ctx, const storage::KeyRecord& key);
// Enabled, Disabled, PendingImport or Creating (a new multi-region replica "can be managed"
// while it is created, AWS documents); PendingDeletion, PendingReplicaDeletion and the rest
// give KeyStateError. For management operations (tags, aliases, description, policy writes).
Result<void> RequireNotPendingDeletion(const OpContext& ctx, const storage::KeyRecord& key);

// Refuses an AWS managed key (KeyManager AWS) for a management `operation` ("DisableKey"): its
// policy lets the account only read it, so AWS answers AccessDeniedException
// "User: <caller> is not authorized to perform: kms:<operation> on resource: <key-arn> because
// no resource-based policy allows the kms:<operation> action" (the shape AWS's answers have;
// kmsd knows no caller, so it names the account root, arn:<partition>:iam::<account>:root).
// Call it right after resolving the key, before state checks: AWS authorizes first. Used by
// Enable/DisableKey, Schedule/CancelKeyDeletion, UpdateKeyDescription, PutKeyPolicy,
// Tag/UntagResource, Enable/DisableKeyRotation, RotateKeyOnDemand, and Create/UpdateAlias for
// their target. (Not pinned by a recording: the shape is the one AWS's authorization failures
// have, and AWS documents that customers cannot manage AWS managed keys.)
Result<void> RequireCustomerManaged(const OpContext& ctx, const storage::KeyRecord& key,
                                    std::string_view operation);

// ResolveKey(kAny) + RequireEnabled: the first step of every cryptographic operation.
Result<KeyPtr> ResolveUsableKey(const OpContext& ctx, std::string_view ref);

// InvalidKeyUsageException "<arn> key usage is <usage> which is not valid for <operation>."
Result<void> RequireUsage(const OpContext& ctx, const storage::KeyRecord& key,
                          domain::KeyUsage usage, std::string_view operation);

// InvalidKeyUsageException "Algorithm HMAC_SHA_256 is incompatible with key spec HMAC_224."
// (recorded from AWS), for the request's algorithm text `algorithm`.
KmsError IncompatibleAlgorithm(const storage::KeyRecord& key, std::string_view algorithm);

// The request's algorithm member `name` parsed as an E (EncryptionAlgorithm, SigningAlgorithm,
// MacAlgorithm, KeyAgreementAlgorithm), if domain/key_specs.hpp lists it for the key's spec.
// Otherwise, a name that is no algorithm included (model validation refuses those first),
// IncompatibleAlgorithm.
template <class E>
Result<E> RequireListedAlgorithm(const storage::KeyRecord& key, std::string_view name) {
  if (const std::optional<E> algorithm = domain::Parse<E>(name)) {
    for (E listed : domain::SpecInfo(key.key_spec).Algorithms<E>()) {
      if (listed == *algorithm) return listed;
    }
  }
  return IncompatibleAlgorithm(key, name);
}

// UnsupportedOperationException for a request with Recipient (Nitro Enclaves attestation),
// which kmsd does not support: Decrypt, GenerateDataKey, GenerateDataKeyPair, GenerateRandom,
// DeriveSharedSecret.
KmsError RecipientUnsupported();

// Key material by version (O(1): materials ascend by version); nullptr if the key has no such
// version.
const storage::KeyMaterial* FindMaterial(const storage::KeyRecord& key, std::uint32_t version);
const storage::KeyMaterial* CurrentMaterial(const storage::KeyRecord& key);

// DryRun=true: DryRunOperationException once every other check passed; call it last,
// before the work.
Result<void> CheckDryRun(const JsonIn& in);

// A write failed in storage: KMSInternalException with a generic message (never key data).
KmsError StorageFailure(std::string_view what);

// A valid key id: a UUID (8-4-4-4-12 lowercase hex) or "mrk-" + 32 lowercase hex.
bool IsWellFormedKeyId(std::string_view id);

}  // namespace kms::ops
