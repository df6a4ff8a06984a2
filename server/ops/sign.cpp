// File: sign.cpp
//
// Sign and Verify with an asymmetric SIGN_VERIFY KMS key: RSA (PSS, PKCS#1 v1.5), ECDSA,
// Ed25519, SM2DSA. Signatures are the algorithms' standard encodings (crypto/signature.hpp), so
// they verify offline with GetPublicKey's DER and other implementations' signatures verify here.
//
// Both share one request check, in AWS's order: model validation (the dispatcher), resolve the
// key and require it enabled, key usage SIGN_VERIFY, the algorithm among the key spec's
// (domain/key_specs.hpp), the message type and digest length, what this OpenSSL can compute,
// DryRun.
//
// The hot path reads the registry only and signs through crypto's per-thread cache of prepared
// contexts (keyed by KeyMaterialId and algorithm): no lock, no disk, no key parse.
//
// Crypto errors are translated here: a signature that does not verify (or does not parse) is
// KMSInvalidSignatureException with no message (recorded from AWS); any other crypto failure is
// a kmsd fault, KMSInternalException.
//
// Thread-safety: handlers may run concurrently; they share only the thread-safe registry.
#include <optional>
#include <string>
#include <string_view>

#include "crypto/bytes.hpp"
#include "crypto/key_pair.hpp"
#include "crypto/signature.hpp"
#include "domain/key_specs.hpp"
#include "domain/vocabulary.hpp"
#include "server/ops/key_lookup.hpp"
#include "server/ops/ops.hpp"

namespace kms::ops {
namespace {

constexpr std::string_view kRaw = "RAW";
constexpr std::string_view kDigest = "DIGEST";

struct SigningRequest {
  KeyPtr key;
  domain::SigningAlgorithm algorithm{};         // as the response names it
  crypto::SigningAlgorithm crypto_algorithm{};  // as crypto computes it
  crypto::MessageType type{};
  const storage::KeyMaterial* material = nullptr;
};

KmsError MessageTypeError(std::string_view type, std::string_view what) {
  return KmsError::Validation("Message type " + std::string(type) + " is incompatible with " +
                              std::string(what) + ".");
}

// Sign's and Verify's shared checks, up to and including DryRun. `message` is the decoded
// Message member.
Result<SigningRequest> CheckSigningRequest(const OpContext& ctx, const JsonIn& in,
                                           crypto::ByteView message, std::string_view operation) {
  KMS_ASSIGN_OR_RETURN(std::string_view key_ref, in.RequiredString("KeyId"));
  KMS_ASSIGN_OR_RETURN(std::string_view algorithm_name, in.RequiredString("SigningAlgorithm"));
  const std::string_view type_name = in.OptionalString("MessageType").value_or(kRaw);

  KMS_ASSIGN_OR_RETURN(KeyPtr key, ResolveUsableKey(ctx, key_ref));
  KMS_TRY(RequireUsage(ctx, *key, domain::KeyUsage::kSignVerify, operation));
  KMS_ASSIGN_OR_RETURN(const domain::SigningAlgorithm listed,
                       RequireListedAlgorithm<domain::SigningAlgorithm>(*key, algorithm_name));

  // EXTERNAL_MU is ML-DSA's; ML-DSA takes no DIGEST (texts not pinned: the pattern other
  // emulators recorded from AWS for the Ed25519 rules below).
  const bool ml_dsa = domain::SpecInfo(key->key_spec).ml_dsa;
  if ((type_name != kRaw && type_name != kDigest && !ml_dsa) || (type_name == kDigest && ml_dsa)) {
    return MessageTypeError(type_name, "key spec " + std::string(domain::WireName(key->key_spec)));
  }
  const std::optional<crypto::SigningAlgorithm> algorithm = domain::CryptoSigningAlgorithm(listed);
  if (!algorithm) {
    // ML_DSA_SHAKE_256: listed for ML-DSA keys, which this OpenSSL cannot create anyway.
    return KmsError::Unsupported("kmsd does not implement " + std::string(algorithm_name) +
                                 " signatures yet.");
  }
  const crypto::MessageType type =
      type_name == kDigest ? crypto::MessageType::kDigest : crypto::MessageType::kRaw;
  if (!crypto::AcceptsMessageType(*algorithm, type)) {
    return MessageTypeError(type_name, "algorithm " + std::string(algorithm_name));
  }
  if (type == crypto::MessageType::kDigest && message.size() != crypto::DigestBytes(*algorithm)) {
    return KmsError::Validation("Digest is invalid length for algorithm " +
                                std::string(algorithm_name) + ".");
  }
  if (!crypto::SigningAlgorithmAvailable(*algorithm)) {
    return KmsError::Unsupported(
        "kmsd cannot use " + std::string(algorithm_name) + ": it needs OpenSSL " +
        std::string(crypto::OpenSslNeededFor(*algorithm)) + " or later, and kmsd runs with " +
        crypto::OpenSslVersionText() + ".");
  }
  KMS_TRY(CheckDryRun(in));

  const storage::KeyMaterial* material = CurrentMaterial(*key);
  if (material == nullptr) {
    return KmsError::Internal("kmsd cannot read the private key of " + ctx.KeyArn(key->key_id) +
                              ".");
  }
  return SigningRequest{std::move(key), listed, *algorithm, type, material};
}

}  // namespace

// Sign: https://docs.aws.amazon.com/kms/latest/APIReference/API_Sign.html
// Deviation: key policies, grants and GrantTokens are not enforced (GrantTokens are accepted and
// ignored).
// Deviation: ML_DSA_SHAKE_256 (and so EXTERNAL_MU) is not implemented: UnsupportedOperation.
// Deviation: SM2DSA works in every region (AWS offers it in China Regions only).
Result<void> Sign(OpContext& ctx, const JsonIn& in, JsonOut& out) {
  KMS_ASSIGN_OR_RETURN(crypto::SecureBytes message, in.RequiredSecretBlob("Message"));
  KMS_ASSIGN_OR_RETURN(SigningRequest request, CheckSigningRequest(ctx, in, message, "Sign"));

  auto signature = crypto::CachedSign(request.material->material_id, request.material->bytes,
                                      request.crypto_algorithm, request.type, message);
  if (!signature) {
    return KmsError::Internal("kmsd could not sign with " + ctx.KeyArn(request.key->key_id) + ": " +
                              signature.error().message);
  }
  out.String("KeyId", ctx.KeyArn(request.key->key_id));
  out.Blob("Signature", *signature);
  out.String("SigningAlgorithm", domain::WireName(request.algorithm));
  return {};
}

// Verify: https://docs.aws.amazon.com/kms/latest/APIReference/API_Verify.html
// A signature that does not verify raises KMSInvalidSignatureException (empty message), as AWS
// does; SignatureValid is only ever true. The message type need not be the one used to sign: a
// RAW signature verifies as the DIGEST of the same message and the other way round.
// Deviation: as Sign.
Result<void> Verify(OpContext& ctx, const JsonIn& in, JsonOut& out) {
  KMS_ASSIGN_OR_RETURN(crypto::SecureBytes message, in.RequiredSecretBlob("Message"));
  KMS_ASSIGN_OR_RETURN(crypto::Bytes signature, in.RequiredBlob("Signature"));
  KMS_ASSIGN_OR_RETURN(SigningRequest request, CheckSigningRequest(ctx, in, message, "Verify"));

  auto verified = crypto::CachedVerify(request.material->material_id, request.material->bytes,
                                       request.crypto_algorithm, request.type, message, signature);
  if (!verified) {
    if (verified.error().code == crypto::Error::Code::kAuthFailed) {
      return KmsError{server::ErrorCode::kInvalidSignature, {}};
    }
    return KmsError::Internal("kmsd could not verify with " + ctx.KeyArn(request.key->key_id) +
                              ": " + verified.error().message);
  }
  out.String("KeyId", ctx.KeyArn(request.key->key_id));
  out.Bool("SignatureValid", true);
  out.String("SigningAlgorithm", domain::WireName(request.algorithm));
  return {};
}

}  // namespace kms::ops
