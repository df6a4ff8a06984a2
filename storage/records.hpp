// File: records.hpp
//
// Plain records that the storage layer persists. No behaviour lives here.
//
// Glossary (confusion alert — KMS uses "key" for three different things):
//   KMS key      (KeyRecord)    the customer-visible key: id, ARN parts, metadata,
//                               state, tags, policy. Never leaves kmsd as raw bytes.
//   key material (KeyMaterial)  the secret bytes behind a KMS key. Versioned:
//                               rotation adds a version; the ciphertext blob names the
//                               version that sealed it, so old blobs keep decrypting.
//   data key                    what GenerateDataKey* returns to the caller. Never
//                               stored anywhere in kmsd.
//
// Thread-safety: plain values; callers synchronise.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "domain/vocabulary.hpp"

namespace kms::storage {

// An immutable text shared by reference. Copying one copies a pointer, and records loaded
// from the Store share one allocation per distinct text (100,000 keys with the default
// policy hold one copy of it, not 100,000). Reads as a std::string_view; compares by content.
class SharedText {
 public:
  SharedText() = default;
  SharedText(std::string text)  // NOLINT(google-explicit-constructor): assign like a string
      : text_(std::make_shared<const std::string>(std::move(text))) {}
  SharedText(const char* text) : SharedText(std::string(text)) {}  // NOLINT(google-explicit-*)

  std::string_view view() const { return text_ ? std::string_view(*text_) : std::string_view(); }
  operator std::string_view() const { return view(); }  // NOLINT(google-explicit-*)
  bool empty() const { return view().empty(); }
  std::size_t size() const { return view().size(); }
  // True if both share one allocation (not merely equal texts).
  bool SharesWith(const SharedText& other) const { return text_ == other.text_; }

  // By content, with another SharedText or anything that reads as a string_view (std::string,
  // std::string_view, literals). Two overloads rather than one taking string_view: with one,
  // C++20's reversed candidates make SharedText == SharedText ambiguous (clang's
  // -Wambiguous-reversed-operator, reached through KeyRecord's defaulted ==).
  friend bool operator==(const SharedText& a, const SharedText& b) { return a.view() == b.view(); }
  template <class T>
  requires(std::is_convertible_v<const T&, std::string_view> &&
           !std::is_same_v<std::remove_cvref_t<T>, SharedText>) friend bool
  operator==(const SharedText& a, const T& b) {
    return a.view() == std::string_view(b);
  }

 private:
  std::shared_ptr<const std::string> text_;  // nullptr reads as ""
};

// Keys and aliases live in (account, region), as in AWS: a key made in eu-west-2
// is not visible from us-east-1.
struct Scope {
  std::string account;
  std::string region;
  friend bool operator==(const Scope&, const Scope&) = default;
  friend auto operator<=>(const Scope&, const Scope&) = default;
};

struct Tag {
  std::string key;
  std::string value;
  friend bool operator==(const Tag&, const Tag&) = default;
};

struct KeyMaterial {
  std::uint32_t version = 0;        // 1, 2, ... in creation order; named by ciphertext blobs
  std::string material_id;          // KeyMaterialId as AWS reports it (64 hex chars)
  std::vector<std::uint8_t> bytes;  // secret; never logged. Empty: imported material that
                                    // expired or was deleted (ImportState PENDING_IMPORT)
  std::int64_t created_at = 0;      // epoch seconds
  // How this version became (or will become) current; unset for a key's first material.
  std::optional<domain::RotationType> rotation_type;
  std::optional<std::int64_t> rotation_date;  // when it became current by a rotation
  // Imported material (Origin EXTERNAL) only.
  std::string description;  // KeyMaterialDescription
  std::optional<domain::ExpirationModel> expiration_model;
  std::optional<std::int64_t> valid_to;  // with KEY_MATERIAL_EXPIRES
  friend bool operator==(const KeyMaterial&, const KeyMaterial&) = default;
};

// A grant on a key (CreateGrant). Enforcement is not done yet: the record keeps everything a
// later check needs (grantee, operations, constraints).
struct GrantRecord {
  std::string grant_id;  // 64 hex chars
  std::string name;      // "" when none was given
  std::string grantee_principal;
  std::string retiring_principal;  // "" when none
  std::string issuing_account;     // "arn:aws:iam::<account>:root"
  std::vector<domain::GrantOperation> operations;
  // GrantConstraints: each is present (possibly empty) or absent.
  std::optional<std::vector<std::pair<std::string, std::string>>> context_subset;
  std::optional<std::vector<std::pair<std::string, std::string>>> context_equals;
  std::int64_t creation_date = 0;
  friend bool operator==(const GrantRecord&, const GrantRecord&) = default;
};

// The wrapping key pair and token of one GetParametersForImport call.
struct ImportParameters {
  std::string token_id;  // names the parameters inside the ImportToken
  domain::WrappingAlgorithm wrapping_algorithm = domain::WrappingAlgorithm::kRsaesOaepSha256;
  domain::WrappingKeySpec wrapping_key_spec = domain::WrappingKeySpec::kRsa2048;
  std::vector<std::uint8_t> private_key;  // PKCS#8 DER of the wrapping key; secret
  std::int64_t valid_to = 0;              // ParametersValidTo
  friend bool operator==(const ImportParameters&, const ImportParameters&) = default;
};

struct KeyRecord {
  Scope scope;
  std::string key_id;  // UUID, or "mrk-" + 32 hex for multi-region keys
  std::string description;
  // Typed (domain/vocabulary.hpp); sqlite_store.cpp stores their wire names as text.
  domain::KeySpec key_spec = domain::KeySpec::kSymmetricDefault;
  domain::KeyUsage key_usage = domain::KeyUsage::kEncryptDecrypt;
  domain::Origin origin = domain::Origin::kAwsKms;
  domain::KeyManager key_manager = domain::KeyManager::kCustomer;
  domain::KeyState key_state = domain::KeyState::kEnabled;
  std::int64_t creation_date = 0;  // epoch seconds
  std::optional<std::int64_t> deletion_date;
  std::optional<int> pending_window_days;
  bool multi_region = false;
  bool rotation_enabled = false;
  std::optional<int> rotation_period_days;
  std::optional<std::int64_t> next_rotation_date;
  SharedText policy;      // JSON text; the "default" policy
  std::vector<Tag> tags;  // in insertion order
  // Ascending version. Versions above current_material_version are imported material waiting
  // for RotateKeyOnDemand (KeyMaterialState PENDING_ROTATION).
  std::vector<KeyMaterial> materials;
  std::uint32_t current_material_version = 0;
  // Multi-region keys: unset for a single-region key. A primary lists its replicas' regions
  // (ascending); a replica names its primary's region. Replicas share key id and materials.
  std::optional<domain::MultiRegionKeyType> multi_region_type;
  std::string primary_region;                // a replica's primary
  std::vector<std::string> replica_regions;  // a primary's replicas
  // Keys in a custom key store ("" for none); XksKeyId for EXTERNAL_KEY_STORE keys.
  std::string custom_key_store_id;
  std::string xks_key_id;
  std::vector<GrantRecord> grants;              // in creation order
  std::vector<ImportParameters> import_params;  // unexpired GetParametersForImport results
  friend bool operator==(const KeyRecord&, const KeyRecord&) = default;

  bool Enabled() const { return key_state == domain::KeyState::kEnabled; }
};

// A custom key store (CreateCustomKeyStore) of either type. The secrets (KeyStorePassword,
// XksProxyAuthenticationCredential's RawSecretAccessKey) are kept but never returned.
struct CustomKeyStoreRecord {
  Scope scope;
  std::string id;  // "cks-" + 17 hex
  std::string name;
  domain::CustomKeyStoreType type = domain::CustomKeyStoreType::kAwsCloudHsm;
  domain::ConnectionState connection_state = domain::ConnectionState::kDisconnected;
  std::optional<domain::ConnectionErrorCode> connection_error_code;
  std::int64_t creation_date = 0;
  // AWS_CLOUDHSM
  std::string cloud_hsm_cluster_id;
  std::string trust_anchor_certificate;
  std::string key_store_password;  // secret
  // EXTERNAL_KEY_STORE
  std::optional<domain::XksProxyConnectivity> xks_connectivity;
  std::string xks_uri_endpoint;
  std::string xks_uri_path;
  std::string xks_vpc_endpoint_service_name;
  std::string xks_vpc_endpoint_service_owner;
  std::string xks_access_key_id;
  std::string xks_secret_access_key;  // secret
  friend bool operator==(const CustomKeyStoreRecord&, const CustomKeyStoreRecord&) = default;
};

// The last cryptographic use of a key (GetKeyLastUsage), kept apart from KeyRecord because
// it changes on the hot path and is written to the Store in batches.
struct KeyUsageRecord {
  Scope scope;
  std::string key_id;
  std::string operation;  // the KMS operation name, e.g. "Decrypt"
  std::int64_t used_at = 0;
  std::string request_id;
  friend bool operator==(const KeyUsageRecord&, const KeyUsageRecord&) = default;
};

struct AliasRecord {
  Scope scope;
  std::string name;  // "alias/..."
  std::string target_key_id;
  std::int64_t creation_date = 0;
  std::int64_t last_updated_date = 0;
  friend bool operator==(const AliasRecord&, const AliasRecord&) = default;
};

}  // namespace kms::storage
