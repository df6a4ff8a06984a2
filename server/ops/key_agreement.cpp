// File: key_agreement.cpp
//
// DeriveSharedSecret: ECDH between a KEY_AGREEMENT KMS key (ECC_NIST_P256, ECC_NIST_P384,
// ECC_NIST_P521, SM2) and a public key the caller sends as DER SubjectPublicKeyInfo. The answer
// is the raw shared secret (crypto/key_agreement.hpp), as AWS returns it: no KDF applied.
//
// Checks, in order: request shape (Recipient is refused), key (exists, enabled), key usage,
// KeyAgreementAlgorithm against the key spec, the public key, DryRun, then the work. A public
// key that does not parse, lies on another curve or is not a valid point is ValidationException
// with an empty message (recorded from AWS).
//
// Thread-safety: handlers may run concurrently; they only read the registry. The parsed private
// key comes from PrivateKeyOf's per-thread cache.
#include "crypto/key_agreement.hpp"

#include <string>
#include <string_view>

#include "crypto/bytes.hpp"
#include "domain/vocabulary.hpp"
#include "server/ops/asymmetric.hpp"
#include "server/ops/key_lookup.hpp"
#include "server/ops/ops.hpp"

namespace kms::ops {
namespace {

// crypto -> KMS: an unusable public key is an empty ValidationException; anything else is a
// kmsd fault.
KmsError FromKeyAgreementError(const crypto::Error& error) {
  if (error.code == crypto::Error::Code::kBadInput) return KmsError::Validation({});
  return KmsError::Internal("key agreement failed: " + error.message);
}

}  // namespace

// DeriveSharedSecret:
// https://docs.aws.amazon.com/kms/latest/APIReference/API_DeriveSharedSecret.html
// Deviation: key policies, grants and GrantTokens are not enforced; DryRunModifiers is ignored.
// Deviation: Recipient (Nitro Enclaves attestation) is not supported: UnsupportedOperation.
// Deviation: SM2 works in every region (AWS offers it in China Regions only).
Result<void> DeriveSharedSecret(OpContext& ctx, const JsonIn& in, JsonOut& out) {
  KMS_ASSIGN_OR_RETURN(std::string_view key_ref, in.RequiredString("KeyId"));
  KMS_ASSIGN_OR_RETURN(std::string_view algorithm, in.RequiredString("KeyAgreementAlgorithm"));
  KMS_ASSIGN_OR_RETURN(crypto::Bytes public_key, in.RequiredBlob("PublicKey"));
  if (in.Has("Recipient")) return RecipientUnsupported();

  KMS_ASSIGN_OR_RETURN(KeyPtr key, ResolveUsableKey(ctx, key_ref));
  KMS_TRY(RequireUsage(ctx, *key, domain::KeyUsage::kKeyAgreement, "DeriveSharedSecret"));
  // The model allows only ECDH, which every KEY_AGREEMENT spec lists: this guards the handler.
  KMS_ASSIGN_OR_RETURN(domain::KeyAgreementAlgorithm checked,
                       RequireListedAlgorithm<domain::KeyAgreementAlgorithm>(*key, algorithm));
  KMS_ASSIGN_OR_RETURN(crypto::Pkey own, PrivateKeyOf(ctx, *key));
  auto peer = crypto::ParsePeerPublicKey(own.get(), public_key);
  if (!peer) return FromKeyAgreementError(peer.error());
  KMS_TRY(CheckDryRun(in));

  auto secret = crypto::EcdhSharedSecret(own.get(), peer->get());
  if (!secret) return FromKeyAgreementError(secret.error());
  out.String("KeyId", ctx.KeyArn(key->key_id));
  out.Blob("SharedSecret", *secret);
  out.String("KeyAgreementAlgorithm", domain::WireName(checked));
  out.String("KeyOrigin", domain::WireName(key->origin));
  return {};
}

}  // namespace kms::ops
