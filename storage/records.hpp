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

  // One overload serves SharedText, std::string, std::string_view and literals alike.
  friend bool operator==(const SharedText& a, std::string_view b) { return a.view() == b; }

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
  std::vector<std::uint8_t> bytes;  // secret; never logged
  std::int64_t created_at = 0;      // epoch seconds
  friend bool operator==(const KeyMaterial&, const KeyMaterial&) = default;
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
  SharedText policy;                   // JSON text; the "default" policy
  std::vector<Tag> tags;               // in insertion order
  std::vector<KeyMaterial> materials;  // ascending version
  std::uint32_t current_material_version = 0;
  friend bool operator==(const KeyRecord&, const KeyRecord&) = default;

  bool Enabled() const { return key_state == domain::KeyState::kEnabled; }
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
