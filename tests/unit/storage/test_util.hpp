// File: test_util.hpp
//
// Shared helpers for the storage unit tests: a temporary directory, a umask for a scope, file
// modes, a raw SQLite connection for looking under the Store, and sample records.
//
// Thread-safety: TempDir and RawDb are single-threaded, ScopedUmask changes the whole
// process's umask; the record factories are pure.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <sys/stat.h>
#include <system_error>
#include <tuple>
#include <unistd.h>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>
#include <sqlite3.h>

#include "storage/records.hpp"
#include "storage/sqlite_handles.hpp"
#include "storage/store.hpp"

namespace kms::storage::testing {

// A fresh directory under the system temp directory, removed with its contents on scope exit.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "kms_storage_test.XXXXXX");
    if (::mkdtemp(pattern.data()) == nullptr) FAIL("mkdtemp failed for " << pattern);
    // Resolved: SQLite is opened with SQLITE_OPEN_NOFOLLOW, which refuses a path through a
    // symbolic link, and TMPDIR may be one.
    path_ = std::filesystem::canonical(pattern);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    std::filesystem::permissions(path_, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::add, ec);
    std::filesystem::remove_all(path_, ec);
  }

  const std::filesystem::path& path() const { return path_; }
  std::string File(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// Sets the process umask for the scope (a test's files must get their modes from the code
// under test, not from the umask), then restores the old one.
class ScopedUmask {
 public:
  explicit ScopedUmask(mode_t mask) : old_(::umask(mask)) {}
  ScopedUmask(const ScopedUmask&) = delete;
  ScopedUmask& operator=(const ScopedUmask&) = delete;
  ~ScopedUmask() { ::umask(old_); }

 private:
  mode_t old_;
};

// The permission bits of `path` itself (a symbolic link is not followed), e.g. 0600.
// The names of the entries of `dir`, sorted.
inline std::vector<std::string> FileNames(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

inline unsigned FileMode(const std::filesystem::path& path) {
  struct stat st {};
  REQUIRE(::lstat(path.c_str(), &st) == 0);
  return static_cast<unsigned>(st.st_mode & 07777);
}

// A plain connection to a database file, for inspecting what the Store wrote.
inline DbHandle OpenRaw(const std::string& path) {
  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  DbHandle db(raw);
  REQUIRE(rc == SQLITE_OK);
  return db;
}

// The first column of the first row of `sql` as text ("" for NULL or no row).
inline std::string QueryText(sqlite3* db, const char* sql) {
  sqlite3_stmt* raw = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, sql, -1, &raw, nullptr) == SQLITE_OK);
  const StmtHandle stmt(raw);
  if (sqlite3_step(stmt.get()) != SQLITE_ROW) return {};
  const unsigned char* text = sqlite3_column_text(stmt.get(), 0);
  return text == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(text));
}

inline std::int64_t QueryInt(sqlite3* db, const char* sql) {
  sqlite3_stmt* raw = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, sql, -1, &raw, nullptr) == SQLITE_OK);
  const StmtHandle stmt(raw);
  REQUIRE(sqlite3_step(stmt.get()) == SQLITE_ROW);
  return sqlite3_column_int64(stmt.get(), 0);
}

inline const Scope kUsEast{"111122223333", "us-east-1"};
inline const Scope kEuWest{"111122223333", "eu-west-2"};
inline const Scope kOtherAccount{"444455556666", "us-east-1"};

// A material with only the fields every material has.
inline KeyMaterial Material(std::uint32_t version, std::string material_id,
                            std::vector<std::uint8_t> bytes, std::int64_t created_at) {
  KeyMaterial m;
  m.version = version;
  m.material_id = std::move(material_id);
  m.bytes = std::move(bytes);
  m.created_at = created_at;
  return m;
}

// A key with every optional field set, two tags, a policy, three materials (one of them
// with bytes that include NUL and high bytes; the later ones rotated and imported), two
// grants (constraint texts with NUL, ':' and digits) and import parameters.
inline KeyRecord SampleKey(const Scope& scope, std::string key_id) {
  KeyRecord key;
  key.scope = scope;
  key.key_id = std::move(key_id);
  key.description = "sample key \xE2\x9C\x93 with 'quotes'";
  key.key_state = domain::KeyState::kPendingDeletion;
  key.creation_date = 1700000000;
  key.deletion_date = 1702592000;
  key.pending_window_days = 30;
  key.multi_region = true;
  key.rotation_enabled = true;
  key.rotation_period_days = 365;
  key.next_rotation_date = 1731536000;
  key.policy = R"({"Version":"2012-10-17","Statement":[]})";
  key.tags = {{"team", "kms"}, {"env", "test"}, {"empty", ""}};
  key.materials = {
      Material(1, std::string(64, 'a'), {0x00, 0x01, 0xfe, 0xff, 0x00}, 1700000000),
      Material(2, std::string(64, 'b'), std::vector<std::uint8_t>(32, 0x42), 1710000000),
      Material(3, std::string(64, 'c'), {}, 1720000000),
  };
  key.materials[1].rotation_type = domain::RotationType::kAutomatic;
  key.materials[1].rotation_date = 1710000001;
  key.materials[2].rotation_type = domain::RotationType::kOnDemand;
  key.materials[2].description = "imported \xE2\x9C\x93";
  key.materials[2].expiration_model = domain::ExpirationModel::kKeyMaterialExpires;
  key.materials[2].valid_to = 1800000000;
  key.current_material_version = 3;
  key.multi_region_type = domain::MultiRegionKeyType::kPrimary;
  key.replica_regions = {"eu-west-1", "us-west-2"};
  key.custom_key_store_id = "cks-1234567890abcdef0";
  key.xks_key_id = "xks-key-1";
  GrantRecord grant;
  grant.grant_id = std::string(64, 'f');
  grant.name = "grant-name";
  grant.grantee_principal = "arn:aws:iam::111122223333:role/app";
  grant.retiring_principal = "arn:aws:iam::111122223333:role/admin";
  grant.issuing_account = "arn:aws:iam::111122223333:root";
  grant.operations = {domain::GrantOperation::kDecrypt, domain::GrantOperation::kReEncryptFrom};
  grant.context_subset = {{{"k:1", std::string("v\0:2", 4)}, {"", ""}, {"12", "3:4"}}};
  grant.creation_date = 1700000005;
  key.grants.push_back(grant);
  grant.grant_id = std::string(64, 'e');
  grant.name.clear();
  grant.retiring_principal.clear();
  grant.operations = {domain::GrantOperation::kEncrypt};
  grant.context_subset.reset();
  grant.context_equals = std::vector<std::pair<std::string, std::string>>{};
  key.grants.push_back(grant);
  ImportParameters params;
  params.token_id = "token-1";
  params.wrapping_algorithm = domain::WrappingAlgorithm::kRsaAesKeyWrapSha256;
  params.wrapping_key_spec = domain::WrappingKeySpec::kRsa4096;
  params.private_key = {0x30, 0x82, 0x00, 0x01};
  params.valid_to = 1700086400;
  key.import_params.push_back(params);
  return key;
}

// A key with every optional field unset, no tags and one material.
inline KeyRecord MinimalKey(const Scope& scope, std::string key_id) {
  KeyRecord key;
  key.scope = scope;
  key.key_id = std::move(key_id);
  key.creation_date = 1700000000;
  key.materials = {
      Material(1, std::string(64, 'd'), std::vector<std::uint8_t>(32, 0x07), 1700000000)};
  key.current_material_version = 1;
  return key;
}

// What LoadAll returned, as plain values in a fixed order (LoadAll promises none): keys by
// (scope, key id), aliases by (scope, name).
struct LoadedRecords {
  std::vector<KeyRecord> keys;
  std::vector<AliasRecord> aliases;
};

inline LoadedRecords LoadSorted(Store& store) {
  auto snapshot = store.LoadAll();
  REQUIRE(snapshot);
  LoadedRecords loaded;
  for (const auto& key : snapshot->keys) {
    REQUIRE(key != nullptr);
    loaded.keys.push_back(*key);
  }
  loaded.aliases = std::move(snapshot->aliases);
  std::sort(loaded.keys.begin(), loaded.keys.end(), [](const KeyRecord& a, const KeyRecord& b) {
    return std::tie(a.scope, a.key_id) < std::tie(b.scope, b.key_id);
  });
  std::sort(loaded.aliases.begin(), loaded.aliases.end(),
            [](const AliasRecord& a, const AliasRecord& b) {
              return std::tie(a.scope, a.name) < std::tie(b.scope, b.name);
            });
  return loaded;
}

inline AliasRecord SampleAlias(const Scope& scope, std::string name, std::string target) {
  return AliasRecord{scope, std::move(name), std::move(target), 1700000000, 1700000100};
}

}  // namespace kms::storage::testing

namespace Catch {
template <>
struct StringMaker<kms::storage::Error::Code> {
  static std::string convert(kms::storage::Error::Code code) {
    switch (code) {
      case kms::storage::Error::Code::kNotFound:
        return "kNotFound";
      case kms::storage::Error::Code::kAlreadyExists:
        return "kAlreadyExists";
      case kms::storage::Error::Code::kBusy:
        return "kBusy";
      case kms::storage::Error::Code::kCorrupt:
        return "kCorrupt";
      case kms::storage::Error::Code::kIo:
        return "kIo";
    }
    return "Code(?)";
  }
};

// boost::system::result's operator<< needs one for the error type; print code and message.
template <class T>
struct StringMaker<kms::storage::Result<T>> {
  static std::string convert(const kms::storage::Result<T>& r) {
    if (r) return "ok";
    return "error: " + StringMaker<kms::storage::Error::Code>::convert(r.error().code) + " \"" +
           r.error().message + "\"";
  }
};
}  // namespace Catch
