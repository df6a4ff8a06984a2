// File: mac.cpp
//
// GenerateMac and VerifyMac with an HMAC KMS key (key spec HMAC_224 ... HMAC_512, key usage
// GENERATE_VERIFY_MAC). The MAC is plain RFC 2104 HMAC under the key's current material, so a
// client holding the same secret (an imported key, or a test) computes the same bytes.
//
// Checks, in order: request shape, key (exists, enabled), key usage, MacAlgorithm against the
// key spec (domain/key_specs.hpp lists one algorithm per HMAC spec), DryRun, then the work. A MAC
// that does not verify is KMSInvalidMacException with no message (recorded from AWS): VerifyMac
// never answers MacValid=false.
//
// Thread-safety: handlers may run concurrently; they only read the registry, and the HMAC
// contexts are per thread (crypto/hmac.hpp).
#include <string>
#include <string_view>

#include "crypto/bytes.hpp"
#include "crypto/hmac.hpp"
#include "domain/key_specs.hpp"
#include "domain/vocabulary.hpp"
#include "server/ops/key_lookup.hpp"
#include "server/ops/ops.hpp"

namespace kms::ops {
namespace {

// A key checked for a MAC operation: the algorithm and its digest, and the material to key the
// HMAC with.
struct MacKey {
  KeyPtr key;
  domain::MacAlgorithm algorithm{};
  crypto::HmacDigest digest{};
  const storage::KeyMaterial* material = nullptr;
};

// Resolves KeyId and checks it, in AWS's order, for `operation` with `algorithm`.
Result<MacKey> ResolveMacKey(const OpContext& ctx, std::string_view key_ref,
                             std::string_view algorithm, std::string_view operation) {
  KMS_ASSIGN_OR_RETURN(KeyPtr key, ResolveUsableKey(ctx, key_ref));
  KMS_TRY(RequireUsage(ctx, *key, domain::KeyUsage::kGenerateVerifyMac, operation));
  KMS_ASSIGN_OR_RETURN(domain::MacAlgorithm listed,
                       RequireListedAlgorithm<domain::MacAlgorithm>(*key, algorithm));
  const storage::KeyMaterial* material = CurrentMaterial(*key);
  if (material == nullptr) {
    return KmsError::Internal("kmsd cannot compute MACs with " + ctx.KeyArn(key->key_id) + ".");
  }
  return MacKey{std::move(key), listed, domain::HmacDigestOf(listed), material};
}

}  // namespace

// GenerateMac: https://docs.aws.amazon.com/kms/latest/APIReference/API_GenerateMac.html
// Deviation: key policies, grants and GrantTokens are not enforced.
Result<void> GenerateMac(OpContext& ctx, const JsonIn& in, JsonOut& out) {
  KMS_ASSIGN_OR_RETURN(std::string_view key_ref, in.RequiredString("KeyId"));
  KMS_ASSIGN_OR_RETURN(crypto::SecureBytes message, in.RequiredSecretBlob("Message"));
  KMS_ASSIGN_OR_RETURN(std::string_view algorithm, in.RequiredString("MacAlgorithm"));

  KMS_ASSIGN_OR_RETURN(MacKey mac_key, ResolveMacKey(ctx, key_ref, algorithm, "GenerateMac"));
  KMS_TRY(CheckDryRun(in));

  auto mac = crypto::Hmac(mac_key.digest, mac_key.material->bytes, message);
  if (!mac) return KmsError::Internal("MAC generation failed: " + mac.error().message);
  out.Blob("Mac", *mac);
  out.String("MacAlgorithm", domain::WireName(mac_key.algorithm));
  out.String("KeyId", ctx.KeyArn(mac_key.key->key_id));
  return {};
}

// VerifyMac: https://docs.aws.amazon.com/kms/latest/APIReference/API_VerifyMac.html
// A MAC that does not match (any other length included) raises KMSInvalidMacException with an
// empty message, as AWS does; success always has MacValid=true.
// Deviation: key policies, grants and GrantTokens are not enforced.
Result<void> VerifyMac(OpContext& ctx, const JsonIn& in, JsonOut& out) {
  KMS_ASSIGN_OR_RETURN(std::string_view key_ref, in.RequiredString("KeyId"));
  KMS_ASSIGN_OR_RETURN(crypto::SecureBytes message, in.RequiredSecretBlob("Message"));
  KMS_ASSIGN_OR_RETURN(std::string_view algorithm, in.RequiredString("MacAlgorithm"));
  KMS_ASSIGN_OR_RETURN(crypto::Bytes mac, in.RequiredBlob("Mac"));

  KMS_ASSIGN_OR_RETURN(MacKey mac_key, ResolveMacKey(ctx, key_ref, algorithm, "VerifyMac"));
  KMS_TRY(CheckDryRun(in));

  auto valid = crypto::HmacVerify(mac_key.digest, mac_key.material->bytes, message, mac);
  if (!valid) return KmsError::Internal("MAC verification failed: " + valid.error().message);
  if (!*valid) return KmsError{server::ErrorCode::kInvalidMac, {}};
  out.String("KeyId", ctx.KeyArn(mac_key.key->key_id));
  out.Bool("MacValid", true);
  out.String("MacAlgorithm", domain::WireName(mac_key.algorithm));
  return {};
}

}  // namespace kms::ops
