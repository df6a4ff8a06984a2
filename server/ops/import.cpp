// File: import.cpp
//
// Imported key material (Origin EXTERNAL): GetParametersForImport, ImportKeyMaterial,
// DeleteImportedKeyMaterial, and the expiry rules declared in import.hpp.
//
// A key's imported materials live in KeyRecord::materials like generated ones: version 1 is the
// first import, a material above current_material_version was imported with
// ImportType=NEW_KEY_MATERIAL and waits for RotateKeyOnDemand (ops/rotation.cpp promotes it), and
// a material with empty bytes was deleted or expired (ImportState PENDING_IMPORT). Its
// KeyMaterialId is derived from the key id and the material (ImportedMaterialId), so importing
// the same bytes again finds the same material, and the same version: ciphertexts made before a
// DeleteImportedKeyMaterial decrypt again after the re-import.
//
// The ImportToken is kmsd's own format (opaque to clients, like the ciphertext blob):
//   off  size  field
//   0    1     format version (= 1)
//   1    36    key id (ASCII)
//   37   16    token id (random; ImportParameters::token_id holds it as lowercase hex)
//   53   8     ParametersValidTo, epoch seconds, int64 big-endian
// The wrapping private key stays in the key record (ImportParameters, durable, so a token
// outlives a restart); the token only names it. Because the token carries its expiry, an expired
// token gets ExpiredImportTokenException even after its parameters were dropped.
//
// Thread-safety: handlers run concurrently; changes are made under the registry's writer. Key
// pair generation and unwrapping (milliseconds to seconds) run before the writer is taken, and
// the key is resolved and checked again under it.
#include "server/ops/import.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "crypto/bytes.hpp"
#include "crypto/digest.hpp"
#include "crypto/hmac.hpp"
#include "crypto/key_pair.hpp"
#include "crypto/key_wrap.hpp"
#include "crypto/random.hpp"
#include "domain/key_specs.hpp"
#include "domain/vocabulary.hpp"
#include "server/ops/key_lookup.hpp"
#include "server/ops/key_specs.hpp"
#include "server/ops/ops.hpp"

namespace kms::ops {
namespace {

using domain::ExpirationModel;
using domain::ImportType;
using domain::KeySpec;
using domain::KeyState;
using domain::WrappingAlgorithm;
using domain::WrappingKeySpec;

constexpr std::int64_t kSecondsPerDay = 86'400;
// "Each public key and import token set is valid for 24 hours."
constexpr std::int64_t kParametersLifetimeSeconds = kSecondsPerDay;
// ValidTo: "The maximum value is 365 days from the request date."
constexpr std::int64_t kMaxValidToSeconds = 365 * kSecondsPerDay;
// Unexpired GetParametersForImport results kept per key; the oldest goes first.
constexpr std::size_t kMaxImportParameters = 16;
constexpr std::size_t kSymmetricMaterialBytes = 32;  // AES-256

constexpr std::uint8_t kTokenVersion = 1;
constexpr std::size_t kKeyIdChars = 36;
constexpr std::size_t kTokenIdBytes = 16;
constexpr std::size_t kTokenBytes = 1 + kKeyIdChars + kTokenIdBytes + 8;

// --- Checks shared by the three operations. ---

// Only EXTERNAL keys take imported material. Text recorded from AWS for an AWS_KMS key.
Result<void> RequireExternal(const OpContext& ctx, const storage::KeyRecord& key) {
  if (key.origin == domain::Origin::kExternal) return {};
  return KmsError::Unsupported(ctx.KeyArn(key.key_id) + " origin is " +
                               std::string(domain::WireName(key.origin)) +
                               " which is not valid for this operation.");
}

// GetParametersForImport and ImportKeyMaterial work on Enabled, Disabled and PendingImport keys
// (AWS's key state table); PendingDeletion and the rest get the state error.
// DeleteImportedKeyMaterial also works on a key pending deletion (its state then stays).
Result<void> RequireImportState(const OpContext& ctx, const storage::KeyRecord& key,
                                bool pending_deletion_allowed) {
  switch (key.key_state) {
    case KeyState::kEnabled:
    case KeyState::kDisabled:
    case KeyState::kPendingImport:
      return {};
    case KeyState::kPendingDeletion:
      if (pending_deletion_allowed) return {};
      break;
    default:
      break;
  }
  return KeyStateError(ctx, key);
}

// Resolves KeyId (key id or key ARN, as AWS documents for these operations) and makes the
// checks every import operation starts with, in AWS's order: the key exists, its origin, its
// state.
Result<KeyPtr> ResolveImportKey(const OpContext& ctx, std::string_view key_ref,
                                bool pending_deletion_allowed) {
  KMS_ASSIGN_OR_RETURN(KeyPtr key, ResolveKey(ctx, key_ref, KeyRefForms::kKeyIdOrArn));
  KMS_TRY(RequireExternal(ctx, *key));
  KMS_TRY(RequireImportState(ctx, *key, pending_deletion_allowed));
  return key;
}

void DropExpiredParameters(storage::KeyRecord& key, std::int64_t now) {
  std::erase_if(key.import_params,
                [now](const storage::ImportParameters& p) { return p.valid_to <= now; });
}

storage::KeyMaterial* FindMaterialById(storage::KeyRecord& key, std::string_view material_id) {
  for (storage::KeyMaterial& m : key.materials) {
    if (m.material_id == material_id) return &m;
  }
  return nullptr;
}

// Forgets a material's bytes and expiry: it is PENDING_IMPORT until the same bytes come back.
void DeleteMaterialBytes(storage::KeyMaterial& material) {
  std::fill(material.bytes.begin(), material.bytes.end(), std::uint8_t{0});
  material.bytes.clear();
  material.bytes.shrink_to_fit();
  material.expiration_model.reset();
  material.valid_to.reset();
}

// --- GetParametersForImport. ---

struct Wrapping {
  WrappingAlgorithm algorithm{};
  WrappingKeySpec spec{};
  crypto::KeyPairType pair_type{};  // of the wrapping key pair
};

bool IsRsaOaep(WrappingAlgorithm algorithm) {
  return algorithm == WrappingAlgorithm::kRsaesOaepSha1 ||
         algorithm == WrappingAlgorithm::kRsaesOaepSha256;
}

bool IsRsaAes(WrappingAlgorithm algorithm) {
  return algorithm == WrappingAlgorithm::kRsaAesKeyWrapSha1 ||
         algorithm == WrappingAlgorithm::kRsaAesKeyWrapSha256;
}

bool IsRsaKeySpec(KeySpec spec) {
  return spec == KeySpec::kRsa2048 || spec == KeySpec::kRsa3072 || spec == KeySpec::kRsa4096;
}

// The WrappingAlgorithm and WrappingKeySpec of a request, checked against each other, the
// caller's partition and the key's material as AWS documents it ("Select a wrapping algorithm"):
// RSAES_PKCS1_V1_5 is no longer supported (since 2023-10-10); SM2PKE with SM2 only, and only in
// China Regions, where RSA_AES_KEY_WRAP_* are not supported; RSA private keys only with an
// RSA_AES algorithm (they are longer than RSAES-OAEP can wrap); ECC_NIST_P521 not with RSAES-OAEP
// under an RSA_2048 wrapping key. Every text here is ValidationException, and AWS's texts for
// these cases are not known: these name the members as AWS's pinned KeyUsage/KeySpec text does.
Result<Wrapping> CheckWrapping(const OpContext& ctx, const storage::KeyRecord& key,
                               std::string_view algorithm_name, std::string_view spec_name) {
  const std::optional<WrappingAlgorithm> algorithm =
      domain::Parse<WrappingAlgorithm>(algorithm_name);
  const std::optional<WrappingKeySpec> spec = domain::Parse<WrappingKeySpec>(spec_name);
  if (!algorithm || !spec) {  // the model's enum check runs first; this guards the handler
    return KmsError::Validation("WrappingAlgorithm " + std::string(algorithm_name) +
                                " or WrappingKeySpec " + std::string(spec_name) +
                                " is not supported.");
  }
  const std::string alg_text(algorithm_name);
  const std::string spec_text(spec_name);
  if (*algorithm == WrappingAlgorithm::kRsaesPkcs1V15) {
    return KmsError::Validation(
        "The RSAES_PKCS1_V1_5 wrapping algorithm is no longer supported. Use RSAES_OAEP_SHA_256 "
        "or RSA_AES_KEY_WRAP_SHA_256.");
  }
  const bool china = ctx.Partition() == "aws-cn";
  const bool sm2_algorithm = *algorithm == WrappingAlgorithm::kSm2Pke;
  const bool sm2_spec = *spec == WrappingKeySpec::kSm2;
  if ((sm2_algorithm || sm2_spec) && !china) {
    return KmsError::Validation(
        "WrappingAlgorithm SM2PKE and WrappingKeySpec SM2 are supported "
        "only in China Regions.");
  }
  if (IsRsaAes(*algorithm) && china) {
    return KmsError::Validation("WrappingAlgorithm " + alg_text +
                                " is not supported in China Regions.");
  }
  if (sm2_algorithm != sm2_spec) {
    return KmsError::Validation("WrappingAlgorithm " + alg_text +
                                " is not compatible with WrappingKeySpec " + spec_text + ".");
  }
  if (IsRsaOaep(*algorithm) && IsRsaKeySpec(key.key_spec)) {
    return KmsError::Validation("WrappingAlgorithm " + alg_text + " cannot wrap " +
                                std::string(domain::WireName(key.key_spec)) +
                                " key material. Use RSA_AES_KEY_WRAP_SHA_1 or "
                                "RSA_AES_KEY_WRAP_SHA_256.");
  }
  if (IsRsaOaep(*algorithm) && *spec == WrappingKeySpec::kRsa2048 &&
      key.key_spec == KeySpec::kEccNistP521) {
    return KmsError::Validation("WrappingAlgorithm " + alg_text +
                                " with WrappingKeySpec RSA_2048 cannot wrap ECC_NIST_P521 key "
                                "material. Use a longer wrapping key or an RSA_AES_KEY_WRAP "
                                "algorithm.");
  }

  Wrapping w{*algorithm, *spec, {}};
  switch (*spec) {
    case WrappingKeySpec::kRsa2048:
      w.pair_type = crypto::KeyPairType::kRsa2048;
      break;
    case WrappingKeySpec::kRsa3072:
      w.pair_type = crypto::KeyPairType::kRsa3072;
      break;
    case WrappingKeySpec::kRsa4096:
      w.pair_type = crypto::KeyPairType::kRsa4096;
      break;
    case WrappingKeySpec::kSm2:
      w.pair_type = crypto::KeyPairType::kSm2;
      break;
  }
  return w;
}

crypto::KeyWrapScheme SchemeOf(WrappingAlgorithm algorithm) {
  switch (algorithm) {
    case WrappingAlgorithm::kRsaesOaepSha1:
      return crypto::KeyWrapScheme::kRsaOaepSha1;
    case WrappingAlgorithm::kRsaesOaepSha256:
      return crypto::KeyWrapScheme::kRsaOaepSha256;
    case WrappingAlgorithm::kRsaAesKeyWrapSha1:
      return crypto::KeyWrapScheme::kRsaAesKeyWrapSha1;
    case WrappingAlgorithm::kRsaAesKeyWrapSha256:
      return crypto::KeyWrapScheme::kRsaAesKeyWrapSha256;
    case WrappingAlgorithm::kSm2Pke:
    case WrappingAlgorithm::kRsaesPkcs1V15:  // never stored: GetParametersForImport refuses it
      return crypto::KeyWrapScheme::kSm2Pke;
  }
  return crypto::KeyWrapScheme::kSm2Pke;
}

crypto::Bytes MakeToken(std::string_view key_id, crypto::ByteView token_id, std::int64_t valid_to) {
  crypto::Bytes token;
  token.reserve(kTokenBytes);
  token.push_back(kTokenVersion);
  token.insert(token.end(), key_id.begin(), key_id.end());
  token.insert(token.end(), token_id.begin(), token_id.end());
  const auto v = static_cast<std::uint64_t>(valid_to);
  for (int shift = 56; shift >= 0; shift -= 8) {
    token.push_back(static_cast<std::uint8_t>((v >> static_cast<unsigned>(shift)) & 0xffU));
  }
  return token;
}

// --- ImportKeyMaterial. ---

struct TokenRef {
  std::string_view key_id;
  std::string token_id;  // lowercase hex
  std::int64_t valid_to = 0;
};

std::optional<TokenRef> ParseToken(crypto::ByteView token) {
  if (token.size() != kTokenBytes || token[0] != kTokenVersion) return std::nullopt;
  TokenRef ref;
  ref.key_id = std::string_view(reinterpret_cast<const char*>(token.data() + 1), kKeyIdChars);
  ref.token_id = crypto::HexEncode(token.subspan(1 + kKeyIdChars, kTokenIdBytes));
  std::uint64_t v = 0;
  for (std::size_t i = 1 + kKeyIdChars + kTokenIdBytes; i < kTokenBytes; ++i) {
    v = (v << 8U) | token[i];
  }
  ref.valid_to = static_cast<std::int64_t>(v);
  return ref;
}

// AWS's texts for the token errors are not known; these paraphrase the exceptions' model
// documentation.
KmsError InvalidToken() {
  return {server::ErrorCode::kInvalidImportToken,
          "The import token is invalid or is associated with a different KMS key."};
}

KmsError ExpiredToken() {
  return {server::ErrorCode::kExpiredImportToken,
          "The import token has expired. Use GetParametersForImport to get a new import token "
          "and public key."};
}

// The parameters `token` names on `key`. InvalidImportTokenException for a token that is not
// one of kmsd's, names another key or names no parameters of this key;
// ExpiredImportTokenException once its ParametersValidTo has passed.
Result<storage::ImportParameters> FindParameters(const storage::KeyRecord& key,
                                                 crypto::ByteView token, std::int64_t now) {
  const std::optional<TokenRef> ref = ParseToken(token);
  if (!ref || ref->key_id != key.key_id) return InvalidToken();
  if (ref->valid_to <= now) return ExpiredToken();
  for (const storage::ImportParameters& p : key.import_params) {
    if (p.token_id == ref->token_id && p.valid_to == ref->valid_to) return p;
  }
  return InvalidToken();
}

// Whether ExpirationModel / ValidTo say the material expires, and when.
struct Expiration {
  ExpirationModel model = ExpirationModel::kKeyMaterialExpires;
  std::optional<std::int64_t> valid_to;
};

// ExpirationModel (default KEY_MATERIAL_EXPIRES, as in AWS) and ValidTo, which it needs and
// KEY_MATERIAL_DOES_NOT_EXPIRE forbids; ValidTo must lie in the future and at most 365 days
// ahead. The first text is recorded from AWS; the others are not known (these follow it).
Result<Expiration> CheckExpiration(const JsonIn& in, std::int64_t now) {
  Expiration e;
  if (const std::optional<std::string_view> model = in.OptionalString("ExpirationModel")) {
    const std::optional<ExpirationModel> parsed = domain::Parse<ExpirationModel>(*model);
    if (!parsed) {  // the model's enum check runs first; this guards the handler
      return KmsError::Validation("ExpirationModel " + std::string(*model) + " is not supported.");
    }
    e.model = *parsed;
  }
  const std::optional<double> valid_to = in.OptionalNumber("ValidTo");
  if (e.model == ExpirationModel::kKeyMaterialDoesNotExpire) {
    if (valid_to) {
      return KmsError::Validation(
          "A validTo date must not be set if the ExpirationModel is "
          "KEY_MATERIAL_DOES_NOT_EXPIRE");
    }
    return e;
  }
  if (!valid_to) {
    return KmsError::Validation(
        "A validTo date must be set if the ExpirationModel is KEY_MATERIAL_EXPIRES");
  }
  // Compared as doubles first, so no huge or negative value is converted out of range.
  if (!(*valid_to > static_cast<double>(now)) ||
      std::floor(*valid_to) <= static_cast<double>(now)) {
    return KmsError::Validation("The validTo date must be in the future.");
  }
  if (*valid_to > static_cast<double>(now + kMaxValidToSeconds)) {
    return KmsError::Validation(
        "The validTo date must be no more than 365 days after the request date.");
  }
  e.valid_to = static_cast<std::int64_t>(std::floor(*valid_to));
  return e;
}

KmsError IncorrectMaterial(std::string message) {
  return {server::ErrorCode::kIncorrectKeyMaterial, std::move(message)};
}

// The HMAC key sizes AWS accepts for imported HMAC material ("Requirements for imported key
// material"): from the digest length up to the hash's block size.
struct SizeRange {
  std::size_t min = 0;
  std::size_t max = 0;
};

SizeRange HmacMaterialRange(KeySpec spec) {
  switch (spec) {
    case KeySpec::kHmac224:
      return {28, 64};
    case KeySpec::kHmac256:
      return {32, 64};
    case KeySpec::kHmac384:
      return {48, 128};
    case KeySpec::kHmac512:
      return {64, 128};
    default:
      return {};
  }
}

// The unwrapped material must be key material of the key's spec: 32 bytes for a symmetric
// key, an HMAC key size the spec allows, or a DER PKCS#8 private key of the spec's algorithm,
// size and curve. IncorrectKeyMaterialException otherwise (AWS's text is not known).
Result<void> CheckMaterialFits(const storage::KeyRecord& key, crypto::ByteView material) {
  const KeySpecInfo& spec = domain::SpecInfo(key.key_spec);
  bool fits = false;
  switch (spec.family) {
    case KeyFamily::kSymmetric:
      fits = material.size() == kSymmetricMaterialBytes;
      break;
    case KeyFamily::kHmac: {
      const SizeRange range = HmacMaterialRange(key.key_spec);
      fits = material.size() >= range.min && material.size() <= range.max;
      break;
    }
    case KeyFamily::kAsymmetric: {
      auto pkey = crypto::ParsePrivateKey(material);
      fits = pkey && crypto::IsKeyPairType(pkey->get(), spec.pair_type);
      break;
    }
  }
  if (fits) return {};
  return IncorrectMaterial("The key material is not valid for a KMS key with key spec " +
                           std::string(domain::WireName(key.key_spec)) + ".");
}

// The KeyMaterialId of `material` imported into `key_id`: HMAC-SHA-256 keyed with the material
// over a label and the key id, as 64 lowercase hex characters. Deterministic (AWS: "based on the
// KMS key ID and the imported key material"), so a re-import is recognised even after the bytes
// were deleted; one-way, so the public id reveals nothing of the material.
Result<std::string> ImportedMaterialId(std::string_view key_id, crypto::ByteView material) {
  const std::string label = "kmsd imported key material id\n" + std::string(key_id);
  auto mac = crypto::Hmac(crypto::HmacDigest::kSha256, material, crypto::AsBytes(label));
  if (!mac) return KmsError::Internal("kmsd could not name key material: " + mac.error().message);
  return crypto::HexEncode(*mac);
}

// What an ImportKeyMaterial request asks for besides the material itself.
struct ImportRequest {
  std::optional<ImportType> type;
  std::optional<std::string_view> material_id;  // KeyMaterialId
  std::optional<std::string_view> description;  // KeyMaterialDescription
  Expiration expiration;
};

void SetExpiration(storage::KeyMaterial& m, const Expiration& e) {
  m.expiration_model = e.model;
  m.valid_to = e.valid_to;
}

// Applies an import of `material` (named `material_id`) to `key`, as AWS documents ImportType:
// EXISTING_KEY_MATERIAL (the default once the key has material) re-imports a material the key
// already has; NEW_KEY_MATERIAL (the default for a key that never had any) adds the first
// material, or, for a symmetric key, one that waits for RotateKeyOnDemand. A PendingImport key
// whose materials are all present again becomes Enabled. Errors texts, except the recorded
// "pending rotation" one, are not known.
Result<void> ApplyImport(const OpContext& ctx, storage::KeyRecord& key, const ImportRequest& req,
                         crypto::ByteView material, const std::string& material_id) {
  const ImportType type = req.type.value_or(
      key.materials.empty() ? ImportType::kNewKeyMaterial : ImportType::kExistingKeyMaterial);
  if (type == ImportType::kExistingKeyMaterial) {
    if (req.material_id && *req.material_id != material_id) {
      return IncorrectMaterial("The key material does not match KeyMaterialId " +
                               std::string(*req.material_id) + ".");
    }
    storage::KeyMaterial* existing = FindMaterialById(key, material_id);
    if (existing == nullptr) {
      if (key.materials.empty()) {
        return IncorrectMaterial("No key material was imported into " + ctx.KeyArn(key.key_id) +
                                 " before. Import it with ImportType NEW_KEY_MATERIAL.");
      }
      return IncorrectMaterial(
          "The key material is not the key material that was previously imported into " +
          ctx.KeyArn(key.key_id) + ".");
    }
    existing->bytes.assign(material.begin(), material.end());
    SetExpiration(*existing, req.expiration);
    if (req.description) existing->description = std::string(*req.description);
  } else {
    if (!key.materials.empty()) {
      if (key.key_spec != KeySpec::kSymmetricDefault ||
          key.multi_region_type == domain::MultiRegionKeyType::kReplica) {
        return KmsError::Unsupported(
            "New key material cannot be imported into " + ctx.KeyArn(key.key_id) +
            ": only symmetric encryption keys that are not multi-Region replicas take more than "
            "one key material.");
      }
      for (const storage::KeyMaterial& m : key.materials) {
        if (m.version > key.current_material_version) {
          return KmsError::InvalidState("New key material (id: " + material_id +
                                        ") cannot be imported into KMS key " + key.key_id +
                                        ", because another key material (id: " + m.material_id +
                                        ") is pending rotation.");
        }
      }
      if (FindMaterialById(key, material_id) != nullptr) {
        return IncorrectMaterial("Key material (id: " + material_id +
                                 ") is already associated with KMS key " + key.key_id +
                                 ". Import it with ImportType EXISTING_KEY_MATERIAL.");
      }
    }
    storage::KeyMaterial added;
    added.version = key.materials.empty() ? 1 : key.materials.back().version + 1;
    added.material_id = material_id;
    added.bytes.assign(material.begin(), material.end());
    added.created_at = ctx.Now();
    added.description = std::string(req.description.value_or(""));
    SetExpiration(added, req.expiration);
    key.materials.push_back(std::move(added));
    if (key.materials.size() == 1) key.current_material_version = key.materials.front().version;
  }
  if (key.key_state == KeyState::kPendingImport && HasAllImportedMaterial(key)) {
    key.key_state = KeyState::kEnabled;
  }
  return {};
}

}  // namespace

// --- import.hpp ---

bool HasExpiredMaterial(const storage::KeyRecord& key, std::int64_t now) {
  if (key.origin != domain::Origin::kExternal) return false;
  return std::ranges::any_of(key.materials, [now](const storage::KeyMaterial& m) {
    return m.valid_to && *m.valid_to <= now && !m.bytes.empty();
  });
}

bool ExpireImportedMaterial(storage::KeyRecord& key, std::int64_t now) {
  bool changed = false;
  bool lost_permanent = false;
  for (storage::KeyMaterial& m : key.materials) {
    if (!m.valid_to || *m.valid_to > now || m.bytes.empty()) continue;
    DeleteMaterialBytes(m);
    changed = true;
    if (m.version <= key.current_material_version) lost_permanent = true;
  }
  if (lost_permanent &&
      (key.key_state == KeyState::kEnabled || key.key_state == KeyState::kDisabled)) {
    key.key_state = KeyState::kPendingImport;
  }
  return changed;
}

bool HasAllImportedMaterial(const storage::KeyRecord& key) {
  if (key.origin != domain::Origin::kExternal) return true;
  bool any = false;
  for (const storage::KeyMaterial& m : key.materials) {
    if (m.version > key.current_material_version) continue;  // pending rotation
    if (m.bytes.empty()) return false;
    any = true;
  }
  return any;
}

server::Result<void> CheckImportableSpec(const domain::KeySpecInfo& spec) {
  if (spec.ml_dsa) {
    // AWS's text is not known.
    return KmsError::Unsupported("KeySpec " + std::string(domain::WireName(spec.spec)) +
                                 " is not supported for Origin EXTERNAL.");
  }
  return {};
}

// --- Handlers. ---

// GetParametersForImport:
// https://docs.aws.amazon.com/kms/latest/APIReference/API_GetParametersForImport.html
// Each call makes a new wrapping key pair (RSA_2048/3072/4096, or SM2 in China Regions) whose
// private half stays in the key record for 24 hours; the token names it.
// Deviation: a key keeps its 16 newest unexpired parameter sets; an older token, though not
// expired, is then InvalidImportTokenException (AWS documents no such limit).
Result<void> GetParametersForImport(OpContext& ctx, const JsonIn& in, JsonOut& out) {
  KMS_ASSIGN_OR_RETURN(std::string_view key_ref, in.RequiredString("KeyId"));
  KMS_ASSIGN_OR_RETURN(std::string_view algorithm, in.RequiredString("WrappingAlgorithm"));
  KMS_ASSIGN_OR_RETURN(std::string_view spec, in.RequiredString("WrappingKeySpec"));

  KMS_ASSIGN_OR_RETURN(KeyPtr key, ResolveImportKey(ctx, key_ref, false));
  KMS_ASSIGN_OR_RETURN(const Wrapping wrapping, CheckWrapping(ctx, *key, algorithm, spec));

  // The slow part (an RSA_4096 key pair takes a second or more) runs without the writer.
  auto private_key = crypto::GeneratePrivateKey(wrapping.pair_type);
  if (!private_key) {
    return KmsError::Internal("kmsd could not generate a wrapping key pair: " +
                              private_key.error().message);
  }
  auto parsed = crypto::ParsePrivateKey(*private_key);
  if (!parsed) return KmsError::Internal("kmsd could not read its wrapping key pair.");
  auto public_key = crypto::PublicKeyDer(parsed->get());
  if (!public_key) return KmsError::Internal("kmsd could not encode its wrapping public key.");
  auto token_id = crypto::RandomBytes(kTokenIdBytes);
  if (!token_id) return KmsError::Internal("kmsd could not generate random bytes.");

  const std::int64_t now = ctx.Now();
  storage::ImportParameters params;
  params.token_id = crypto::HexEncode(*token_id);
  params.wrapping_algorithm = wrapping.algorithm;
  params.wrapping_key_spec = wrapping.spec;
  params.private_key.assign(private_key->begin(), private_key->end());
  params.valid_to = now + kParametersLifetimeSeconds;
  const std::int64_t valid_to = params.valid_to;

  std::string key_id;
  {
    auto writer = ctx.registry.BeginWrite();
    KMS_ASSIGN_OR_RETURN(KeyPtr current, ResolveImportKey(ctx, key_ref, false));
    storage::KeyRecord updated = *current;
    DropExpiredParameters(updated, now);
    updated.import_params.push_back(std::move(params));
    if (updated.import_params.size() > kMaxImportParameters) {
      updated.import_params.erase(
          updated.import_params.begin(),
          updated.import_params.end() - static_cast<std::ptrdiff_t>(kMaxImportParameters));
    }
    key_id = updated.key_id;
    if (!writer.UpdateKey(std::move(updated))) return StorageFailure("GetParametersForImport");
  }

  out.String("KeyId", ctx.KeyArn(key_id));
  out.Blob("ImportToken", MakeToken(key_id, *token_id, valid_to));
  out.Blob("PublicKey", *public_key);
  out.Timestamp("ParametersValidTo", valid_to);
  return {};
}

// ImportKeyMaterial:
// https://docs.aws.amazon.com/kms/latest/APIReference/API_ImportKeyMaterial.html
// Checks, in order: the key (exists, EXTERNAL, not pending deletion), ExpirationModel and
// ValidTo, ImportType with KeyMaterialId, the token, the unwrapping (InvalidCiphertextException,
// no message), the material against the key spec, then ImportType's rules. Where a request is
// wrong in several ways the order is kmsd's choice, the key first as everywhere.
// Deviation: KeyMaterialDescription and KeyMaterialId are accepted for every key spec (AWS
// documents them for symmetric keys only).
Result<void> ImportKeyMaterial(OpContext& ctx, const JsonIn& in, JsonOut& out) {
  KMS_ASSIGN_OR_RETURN(std::string_view key_ref, in.RequiredString("KeyId"));
  KMS_ASSIGN_OR_RETURN(crypto::Bytes token, in.RequiredBlob("ImportToken"));
  KMS_ASSIGN_OR_RETURN(crypto::Bytes encrypted, in.RequiredBlob("EncryptedKeyMaterial"));

  KMS_ASSIGN_OR_RETURN(KeyPtr key, ResolveImportKey(ctx, key_ref, false));
  const std::int64_t now = ctx.Now();
  ImportRequest req;
  KMS_ASSIGN_OR_RETURN(req.expiration, CheckExpiration(in, now));
  if (const std::optional<std::string_view> type = in.OptionalString("ImportType")) {
    req.type = domain::Parse<ImportType>(*type);
    if (!req.type) {  // the model's enum check runs first; this guards the handler
      return KmsError::Validation("ImportType " + std::string(*type) + " is not supported.");
    }
  }
  req.material_id = in.OptionalString("KeyMaterialId");
  req.description = in.OptionalString("KeyMaterialDescription");
  if (req.material_id && req.type == ImportType::kNewKeyMaterial) {
    // The API reference's sentence; AWS's error text is not known.
    return KmsError::Validation(
        "You cannot specify a key material ID with ImportType set to NEW_KEY_MATERIAL.");
  }

  KMS_ASSIGN_OR_RETURN(const storage::ImportParameters params, FindParameters(*key, token, now));
  auto wrapping_key = crypto::ParsePrivateKey(params.private_key);
  if (!wrapping_key) return KmsError::Internal("kmsd cannot read the wrapping key of its token.");
  auto material = crypto::UnwrapKeyMaterial(wrapping_key->get(),
                                            SchemeOf(params.wrapping_algorithm), encrypted);
  if (!material) {
    if (material.error().code == crypto::Error::Code::kOpenSsl) {
      return KmsError::Internal("unwrapping failed: " + material.error().message);
    }
    return KmsError::InvalidCiphertext();
  }
  KMS_TRY(CheckMaterialFits(*key, *material));
  KMS_ASSIGN_OR_RETURN(const std::string material_id, ImportedMaterialId(key->key_id, *material));

  std::string key_id;
  {
    auto writer = ctx.registry.BeginWrite();
    KMS_ASSIGN_OR_RETURN(KeyPtr current, ResolveImportKey(ctx, key_ref, false));
    storage::KeyRecord updated = *current;
    KMS_TRY(ApplyImport(ctx, updated, req, *material, material_id));
    DropExpiredParameters(updated, now);
    key_id = updated.key_id;
    if (!writer.UpdateKey(std::move(updated))) return StorageFailure("ImportKeyMaterial");
  }
  out.String("KeyId", ctx.KeyArn(key_id));
  out.String("KeyMaterialId", material_id);
  return {};
}

// DeleteImportedKeyMaterial:
// https://docs.aws.amazon.com/kms/latest/APIReference/API_DeleteImportedKeyMaterial.html
// Deletes the bytes of the current material, or of the one KeyMaterialId names; the material
// stays listed (PENDING_IMPORT) so the same bytes can be imported again. Deleting a permanently
// associated material makes the key PendingImport, unless it is pending deletion; deleting one
// that is pending rotation leaves the key state alone. A key that never had material answers
// with an empty KeyMaterialId and changes nothing.
Result<void> DeleteImportedKeyMaterial(OpContext& ctx, const JsonIn& in, JsonOut& out) {
  KMS_ASSIGN_OR_RETURN(std::string_view key_ref, in.RequiredString("KeyId"));
  const std::optional<std::string_view> material_id = in.OptionalString("KeyMaterialId");

  auto writer = ctx.registry.BeginWrite();
  KMS_ASSIGN_OR_RETURN(KeyPtr key, ResolveImportKey(ctx, key_ref, true));
  storage::KeyRecord updated = *key;
  storage::KeyMaterial* material = nullptr;
  if (material_id) {
    material = FindMaterialById(updated, *material_id);
    if (material == nullptr) {
      // AWS's text is not known.
      return KmsError::NotFound("Key material (id: " + std::string(*material_id) +
                                ") is not associated with KMS key " + ctx.KeyArn(key->key_id) +
                                ".");
    }
  } else {
    for (storage::KeyMaterial& m : updated.materials) {
      if (m.version == updated.current_material_version) material = &m;
    }
  }
  std::string deleted_id;
  if (material != nullptr) {
    deleted_id = material->material_id;
    DeleteMaterialBytes(*material);
    if (material->version <= updated.current_material_version &&
        updated.key_state != KeyState::kPendingDeletion) {
      updated.key_state = KeyState::kPendingImport;
    }
  }
  DropExpiredParameters(updated, ctx.Now());
  if (updated != *key && !writer.UpdateKey(std::move(updated))) {
    return StorageFailure("DeleteImportedKeyMaterial");
  }
  out.String("KeyId", ctx.KeyArn(key->key_id));
  out.String("KeyMaterialId", deleted_id);
  return {};
}

}  // namespace kms::ops
