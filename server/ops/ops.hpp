// File: ops.hpp
//
// Every implemented KMS operation, named exactly as its X-Amz-Target, grouped by the file
// that defines it. The dispatch table (server/protocol/dispatch.cpp) lists all 54 model
// operations; those without a handler here answer UnsupportedOperationException.
//
// Each handler: checks its request (beyond the model validation the dispatcher already ran),
// resolves the key, checks state and usage, does the work and writes the response members.
#pragma once

#include "server/ops/context.hpp"
#include "server/protocol/json_io.hpp"
#include "server/protocol/result.hpp"

namespace kms::ops {

using Handler = server::Result<void> (*)(OpContext&, const server::JsonIn&, server::JsonOut&);

#define KMS_DECLARE_OP(name) \
  server::Result<void> name(OpContext& ctx, const server::JsonIn& in, server::JsonOut& out)

// ops/keys.cpp
KMS_DECLARE_OP(CreateKey);
KMS_DECLARE_OP(DescribeKey);
KMS_DECLARE_OP(ListKeys);
KMS_DECLARE_OP(UpdateKeyDescription);
KMS_DECLARE_OP(EnableKey);
KMS_DECLARE_OP(DisableKey);
KMS_DECLARE_OP(ScheduleKeyDeletion);
KMS_DECLARE_OP(CancelKeyDeletion);

// ops/public_key.cpp
KMS_DECLARE_OP(GetPublicKey);

// ops/sign.cpp
KMS_DECLARE_OP(Sign);
KMS_DECLARE_OP(Verify);

// ops/encrypt.cpp
KMS_DECLARE_OP(Encrypt);
KMS_DECLARE_OP(Decrypt);
KMS_DECLARE_OP(ReEncrypt);

// ops/data_keys.cpp
KMS_DECLARE_OP(GenerateDataKey);
KMS_DECLARE_OP(GenerateDataKeyWithoutPlaintext);
KMS_DECLARE_OP(GenerateDataKeyPair);
KMS_DECLARE_OP(GenerateDataKeyPairWithoutPlaintext);
KMS_DECLARE_OP(GenerateRandom);

// ops/mac.cpp
KMS_DECLARE_OP(GenerateMac);
KMS_DECLARE_OP(VerifyMac);

// ops/key_agreement.cpp
KMS_DECLARE_OP(DeriveSharedSecret);

// ops/aliases.cpp
KMS_DECLARE_OP(CreateAlias);
KMS_DECLARE_OP(UpdateAlias);
KMS_DECLARE_OP(DeleteAlias);
KMS_DECLARE_OP(ListAliases);

// ops/tags.cpp
KMS_DECLARE_OP(TagResource);
KMS_DECLARE_OP(UntagResource);
KMS_DECLARE_OP(ListResourceTags);

// ops/grants.cpp
KMS_DECLARE_OP(CreateGrant);
KMS_DECLARE_OP(ListGrants);
KMS_DECLARE_OP(ListRetirableGrants);
KMS_DECLARE_OP(RetireGrant);
KMS_DECLARE_OP(RevokeGrant);

// ops/policies.cpp
KMS_DECLARE_OP(GetKeyPolicy);
KMS_DECLARE_OP(PutKeyPolicy);
KMS_DECLARE_OP(ListKeyPolicies);

// ops/rotation.cpp
KMS_DECLARE_OP(EnableKeyRotation);
KMS_DECLARE_OP(DisableKeyRotation);
KMS_DECLARE_OP(GetKeyRotationStatus);
KMS_DECLARE_OP(RotateKeyOnDemand);
KMS_DECLARE_OP(ListKeyRotations);

// ops/custom_key_stores.cpp
KMS_DECLARE_OP(CreateCustomKeyStore);
KMS_DECLARE_OP(DescribeCustomKeyStores);
KMS_DECLARE_OP(UpdateCustomKeyStore);
KMS_DECLARE_OP(ConnectCustomKeyStore);
KMS_DECLARE_OP(DisconnectCustomKeyStore);
KMS_DECLARE_OP(DeleteCustomKeyStore);

// ops/import.cpp
KMS_DECLARE_OP(GetParametersForImport);
KMS_DECLARE_OP(ImportKeyMaterial);
KMS_DECLARE_OP(DeleteImportedKeyMaterial);

// ops/multi_region.cpp
KMS_DECLARE_OP(ReplicateKey);
KMS_DECLARE_OP(UpdatePrimaryRegion);

// ops/key_usage.cpp
KMS_DECLARE_OP(GetKeyLastUsage);

#undef KMS_DECLARE_OP

}  // namespace kms::ops
