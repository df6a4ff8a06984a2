// File: asymmetric.hpp
//
// Steps shared by the operations that use an asymmetric KMS key's private half: GetPublicKey,
// Sign and Verify, asymmetric Encrypt / Decrypt, DeriveSharedSecret. Header-only and small.
//
//   KMS_ASSIGN_OR_RETURN(crypto::Pkey pkey, PrivateKeyOf(ctx, *key));
//
// Thread-safety: stateless; the parsed-key cache behind PrivateKeyOf is per thread.
#pragma once

#include <string>

#include "crypto/key_pair.hpp"
#include "server/ops/context.hpp"
#include "server/ops/key_lookup.hpp"
#include "server/protocol/result.hpp"
#include "storage/records.hpp"

namespace kms::ops {

// The parsed private key of an asymmetric KMS key, from the per-thread cache (keyed by the
// material's KeyMaterialId, which never names other bytes). Material that does not parse is a
// kmsd fault: KMSInternalException naming the key, never the material.
inline server::Result<crypto::Pkey> PrivateKeyOf(const OpContext& ctx,
                                                 const storage::KeyRecord& key) {
  const storage::KeyMaterial* material = CurrentMaterial(key);
  if (material != nullptr) {
    auto pkey = crypto::CachedPrivateKey(material->material_id, material->bytes);
    if (pkey) return std::move(*pkey);
  }
  return server::KmsError::Internal("kmsd cannot read the private key of " +
                                    ctx.KeyArn(key.key_id) + ".");
}

}  // namespace kms::ops
