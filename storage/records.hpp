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
#include <optional>
#include <string>
#include <vector>

namespace kms::storage {

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
  std::vector<std::uint8_t> bytes;  // secret; never logged
  std::int64_t created_at = 0;      // epoch seconds
  friend bool operator==(const KeyMaterial&, const KeyMaterial&) = default;
};

struct KeyRecord {
  Scope scope;
  std::string key_id;  // UUID, or "mrk-" + 32 hex for multi-region keys
  std::string description;
  std::string key_spec = "SYMMETRIC_DEFAULT";
  std::string key_usage = "ENCRYPT_DECRYPT";
  std::string origin = "AWS_KMS";
  std::string key_manager = "CUSTOMER";
  std::string key_state = "Enabled";  // Enabled | Disabled | PendingDeletion | PendingImport | ...
  std::int64_t creation_date = 0;     // epoch seconds
  std::optional<std::int64_t> deletion_date;
  std::optional<int> pending_window_days;
  bool multi_region = false;
  bool rotation_enabled = false;
  std::optional<int> rotation_period_days;
  std::optional<std::int64_t> next_rotation_date;
  std::string policy;                  // JSON text; the "default" policy
  std::vector<Tag> tags;               // in insertion order
  std::vector<KeyMaterial> materials;  // ascending version
  std::uint32_t current_material_version = 0;
  friend bool operator==(const KeyRecord&, const KeyRecord&) = default;

  bool Enabled() const { return key_state == "Enabled"; }
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
