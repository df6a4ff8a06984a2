// File: public_key.cpp
//
// GetPublicKey: the public half of an asymmetric KMS key, as DER SubjectPublicKeyInfo, so
// clients can verify signatures, encrypt or agree on secrets offline.
//
// Thread-safety: reads the registry only.
#include <string>

#include "crypto/key_pair.hpp"
#include "server/ops/asymmetric.hpp"
#include "server/ops/key_lookup.hpp"
#include "server/ops/key_specs.hpp"
#include "server/ops/ops.hpp"

namespace kms::ops {

// GetPublicKey: https://docs.aws.amazon.com/kms/latest/APIReference/API_GetPublicKey.html
// The key must be enabled. Symmetric and HMAC keys have no public key:
// UnsupportedOperationException "<arn> key spec is HMAC_256 which is not valid for
// GetPublicKey." (AWS's exact text for this case is not pinned).
// Deviation: GrantTokens are accepted and ignored (grants are not enforced).
Result<void> GetPublicKey(OpContext& ctx, const JsonIn& in, JsonOut& out) {
  KMS_ASSIGN_OR_RETURN(std::string_view key_ref, in.RequiredString("KeyId"));
  KMS_ASSIGN_OR_RETURN(KeyPtr key, ResolveUsableKey(ctx, key_ref));
  if (domain::SpecInfo(key->key_spec).family != KeyFamily::kAsymmetric) {
    return KmsError::Unsupported(ctx.KeyArn(key->key_id) + " key spec is " +
                                 std::string(domain::WireName(key->key_spec)) +
                                 " which is not valid for GetPublicKey.");
  }
  KMS_ASSIGN_OR_RETURN(crypto::Pkey pkey, PrivateKeyOf(ctx, *key));
  auto spki = crypto::PublicKeyDer(pkey.get());
  if (!spki)
    return KmsError::Internal("kmsd could not encode a public key: " + spki.error().message);

  out.String("KeyId", ctx.KeyArn(key->key_id));
  out.Blob("PublicKey", *spki);
  out.String("CustomerMasterKeySpec", domain::WireName(key->key_spec));
  out.String("KeySpec", domain::WireName(key->key_spec));
  out.String("KeyUsage", domain::WireName(key->key_usage));
  WriteAlgorithmLists(*key, out);
  return {};
}

}  // namespace kms::ops
