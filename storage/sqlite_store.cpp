#include "storage/sqlite_store.hpp"

#include "base/try.hpp"

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <limits>
#include <memory>
#include <optional>
#include <signal.h>
#include <string>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "domain/vocabulary.hpp"
#include "storage/schema.hpp"

namespace kms::storage {
namespace {

// ---- SQL. Every statement is a literal; values are bound as ?N parameters. ----

constexpr std::string_view kInsertKey = R"sql(
INSERT INTO keys (account, region, key_id, description, key_spec, key_usage, origin,
                  key_manager, key_state, creation_date, deletion_date, pending_window_days,
                  multi_region, rotation_enabled, rotation_period_days, next_rotation_date,
                  current_material_version, multi_region_type, primary_region,
                  replica_regions, custom_key_store_id, xks_key_id)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19,
        ?20, ?21, ?22)
RETURNING id)sql";

constexpr std::string_view kUpdateKey = R"sql(
UPDATE keys SET description = ?4, key_spec = ?5, key_usage = ?6, origin = ?7,
                key_manager = ?8, key_state = ?9, creation_date = ?10, deletion_date = ?11,
                pending_window_days = ?12, multi_region = ?13, rotation_enabled = ?14,
                rotation_period_days = ?15, next_rotation_date = ?16,
                current_material_version = ?17, multi_region_type = ?18, primary_region = ?19,
                replica_regions = ?20, custom_key_store_id = ?21, xks_key_id = ?22
WHERE account = ?1 AND region = ?2 AND key_id = ?3
RETURNING id)sql";

constexpr std::string_view kDeleteKey =
    "DELETE FROM keys WHERE account = ?1 AND region = ?2 AND key_id = ?3";

// Child rows name their key by its keys.id (?1), which kInsertKey and kUpdateKey return.
constexpr std::string_view kInsertTag =
    "INSERT INTO key_tags (key_row, position, tag_key, tag_value) VALUES (?1, ?2, ?3, ?4)";

constexpr std::string_view kDeleteTags = "DELETE FROM key_tags WHERE key_row = ?1";

// A policy names its text by policy_texts.id; a text is stored once, however many keys use it.
constexpr std::string_view kFindPolicyText = "SELECT id FROM policy_texts WHERE text = ?1";

constexpr std::string_view kInsertPolicyText =
    "INSERT INTO policy_texts (text) VALUES (?1) RETURNING id";

constexpr std::string_view kInsertPolicy =
    "INSERT INTO key_policies (key_row, policy_name, text_id) VALUES (?1, 'default', ?2)";

constexpr std::string_view kDeletePolicies = "DELETE FROM key_policies WHERE key_row = ?1";

constexpr std::string_view kInsertMaterial = R"sql(
INSERT INTO key_materials (key_row, version, material_id, bytes, created_at, rotation_type,
                           rotation_date, description, expiration_model, valid_to)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10))sql";

constexpr std::string_view kDeleteMaterials = "DELETE FROM key_materials WHERE key_row = ?1";

constexpr std::string_view kInsertGrant = R"sql(
INSERT INTO key_grants (key_row, position, grant_id, name, grantee_principal,
                        retiring_principal, issuing_account, operations, context_subset,
                        context_equals, creation_date)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11))sql";

constexpr std::string_view kDeleteGrants = "DELETE FROM key_grants WHERE key_row = ?1";

constexpr std::string_view kInsertImportParams = R"sql(
INSERT INTO key_import_params (key_row, token_id, wrapping_algorithm, wrapping_key_spec,
                               private_key, valid_to)
VALUES (?1, ?2, ?3, ?4, ?5, ?6))sql";

constexpr std::string_view kDeleteImportParams = "DELETE FROM key_import_params WHERE key_row = ?1";

// A usage row for a key that no longer exists inserts nothing (the SELECT finds no row).
constexpr std::string_view kUpsertKeyUsage = R"sql(
INSERT INTO key_last_usage (key_row, operation, used_at, request_id)
SELECT id, ?4, ?5, ?6 FROM keys WHERE account = ?1 AND region = ?2 AND key_id = ?3
ON CONFLICT (key_row) DO UPDATE
SET operation = excluded.operation, used_at = excluded.used_at,
    request_id = excluded.request_id)sql";

constexpr std::string_view kInsertCustomKeyStore = R"sql(
INSERT INTO custom_key_stores (account, region, id, name, type, connection_state,
                               connection_error_code, creation_date, cloud_hsm_cluster_id,
                               trust_anchor_certificate, key_store_password, xks_connectivity,
                               xks_uri_endpoint, xks_uri_path, xks_vpc_endpoint_service_name,
                               xks_vpc_endpoint_service_owner, xks_access_key_id,
                               xks_secret_access_key)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18))sql";

constexpr std::string_view kUpdateCustomKeyStore = R"sql(
UPDATE custom_key_stores
SET name = ?4, type = ?5, connection_state = ?6, connection_error_code = ?7,
    creation_date = ?8, cloud_hsm_cluster_id = ?9, trust_anchor_certificate = ?10,
    key_store_password = ?11, xks_connectivity = ?12, xks_uri_endpoint = ?13,
    xks_uri_path = ?14, xks_vpc_endpoint_service_name = ?15,
    xks_vpc_endpoint_service_owner = ?16, xks_access_key_id = ?17,
    xks_secret_access_key = ?18
WHERE account = ?1 AND region = ?2 AND id = ?3)sql";

constexpr std::string_view kDeleteCustomKeyStore =
    "DELETE FROM custom_key_stores WHERE account = ?1 AND region = ?2 AND id = ?3";

constexpr std::string_view kInsertAlias = R"sql(
INSERT INTO aliases (account, region, name, target_key_id, creation_date, last_updated_date)
VALUES (?1, ?2, ?3, ?4, ?5, ?6))sql";

constexpr std::string_view kUpdateAlias = R"sql(
UPDATE aliases SET target_key_id = ?4, creation_date = ?5, last_updated_date = ?6
WHERE account = ?1 AND region = ?2 AND name = ?3)sql";

constexpr std::string_view kDeleteAlias =
    "DELETE FROM aliases WHERE account = ?1 AND region = ?2 AND name = ?3";

// LoadAll reads the keys in id order and each child table in (key_row, ...) order: every
// ORDER BY is the table's own storage order, so each query is a plain scan without a sort,
// and children meet their keys as in a merge join (KeyCursor). Column 0 of a child row is
// its key_row; a tag's position orders the tags of one key.
constexpr std::string_view kSelectKeys = R"sql(
SELECT account, region, key_id, description, key_spec, key_usage, origin, key_manager,
       key_state, creation_date, deletion_date, pending_window_days, multi_region,
       rotation_enabled, rotation_period_days, next_rotation_date, current_material_version,
       multi_region_type, primary_region, replica_regions, custom_key_store_id, xks_key_id, id
FROM keys ORDER BY id)sql";
constexpr int kRowIdColumn = 22;  // keys.id in kSelectKeys

// An upper bound of the key count for reserve(), found in O(log n).
constexpr std::string_view kMaxKeyRowid = "SELECT coalesce(max(id), 0) FROM keys";

constexpr std::string_view kSelectTags = R"sql(
SELECT key_row, tag_key, tag_value FROM key_tags ORDER BY key_row, position)sql";

constexpr std::string_view kSelectPolicyTexts = "SELECT id, text FROM policy_texts";

constexpr std::string_view kSelectPolicies = R"sql(
SELECT key_row, text_id FROM key_policies WHERE policy_name = 'default' ORDER BY key_row)sql";

constexpr std::string_view kSelectMaterials = R"sql(
SELECT key_row, version, material_id, bytes, created_at, rotation_type, rotation_date,
       description, expiration_model, valid_to
FROM key_materials ORDER BY key_row, version)sql";

constexpr std::string_view kSelectGrants = R"sql(
SELECT key_row, grant_id, name, grantee_principal, retiring_principal, issuing_account,
       operations, context_subset, context_equals, creation_date
FROM key_grants ORDER BY key_row, position)sql";

constexpr std::string_view kSelectImportParams = R"sql(
SELECT key_row, token_id, wrapping_algorithm, wrapping_key_spec, private_key, valid_to
FROM key_import_params ORDER BY key_row, token_id)sql";

constexpr std::string_view kSelectKeyUsage = R"sql(
SELECT k.account, k.region, k.key_id, u.operation, u.used_at, u.request_id
FROM key_last_usage u JOIN keys k ON k.id = u.key_row)sql";

constexpr std::string_view kSelectCustomKeyStores = R"sql(
SELECT account, region, id, name, type, connection_state, connection_error_code,
       creation_date, cloud_hsm_cluster_id, trust_anchor_certificate, key_store_password,
       xks_connectivity, xks_uri_endpoint, xks_uri_path, xks_vpc_endpoint_service_name,
       xks_vpc_endpoint_service_owner, xks_access_key_id, xks_secret_access_key
FROM custom_key_stores)sql";

constexpr std::string_view kSelectAliases = R"sql(
SELECT account, region, name, target_key_id, creation_date, last_updated_date
FROM aliases)sql";

// Reset: children first, though the cascade would also cover them. A table added by a later
// migration belongs in this list.
constexpr auto kDeleteEverything = std::to_array<std::string_view>({
    "DELETE FROM custom_key_stores",
    "DELETE FROM key_last_usage",
    "DELETE FROM key_import_params",
    "DELETE FROM key_grants",
    "DELETE FROM aliases",
    "DELETE FROM key_tags",
    "DELETE FROM key_policies",
    "DELETE FROM policy_texts",
    "DELETE FROM key_materials",
    "DELETE FROM keys",
});

// ---- helpers. Each REQUIRES that the caller holds the store's mutex. ----

std::string Describe(const Scope& scope, std::string_view id) {
  std::string out = scope.account;
  out += '/';
  out += scope.region;
  out += '/';
  out += id;
  return out;
}

Error WithContext(Error error, std::string_view context) {
  error.message.insert(0, std::string(context) + ": ");
  return error;
}

Error NotFound(std::string_view what, const Scope& scope, std::string_view id) {
  return Error{Error::Code::kNotFound,
               std::string(what) + " " + Describe(scope, id) + " not found"};
}

Error Corrupt(std::string what) { return Error{Error::Code::kCorrupt, std::move(what)}; }

// Binds ?1..?3 to (account, region, id): the leading parameters of every per-key statement.
Statement& BindScoped(Statement& stmt, const Scope& scope, std::string_view id) {
  return stmt.BindText(1, scope.account).BindText(2, scope.region).BindText(3, id);
}

// Runs one prepared no-row statement after `bind` fills it; returns the changed-row count.
template <class BindFn>
Result<std::int64_t> RunStatement(StatementCache& stmts, std::string_view sql, BindFn&& bind) {
  KMS_ASSIGN_OR_RETURN(auto stmt, stmts.Prepare(sql));
  bind(stmt);
  return stmt.Run();
}

// ---- list columns: lists read and written whole with their row, never queried. ----

// Texts joined by ','. REQUIRES: no text contains ',' (region names, enum wire names).
template <class Range, class ToText>
std::string JoinNames(const Range& items, ToText&& to_text) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ',';
    out += to_text(item);
  }
  return out;
}

std::vector<std::string_view> SplitNames(std::string_view text) {
  std::vector<std::string_view> out;
  while (!text.empty()) {
    const std::size_t comma = text.find(',');
    out.push_back(text.substr(0, comma));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

using Pairs = std::vector<std::pair<std::string, std::string>>;

// Each text as its byte length in decimal, ':', then its bytes; key, value, key, value...
// Any byte may appear in a text.
std::vector<std::uint8_t> EncodePairs(const Pairs& pairs) {
  std::string out;
  for (const auto& [key, value] : pairs) {
    for (const std::string* text : {&key, &value}) {
      out += std::to_string(text->size());
      out += ':';
      out += *text;
    }
  }
  return {out.begin(), out.end()};
}

std::optional<Pairs> DecodePairs(const std::vector<std::uint8_t>& bytes) {
  const std::string_view in(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  Pairs out;
  std::size_t at = 0;
  auto next = [&]() -> std::optional<std::string> {
    const std::size_t colon = in.find(':', at);
    if (colon == std::string_view::npos || colon == at || colon - at > 9) return std::nullopt;
    std::size_t length = 0;
    for (char c : in.substr(at, colon - at)) {
      if (c < '0' || c > '9') return std::nullopt;
      length = length * 10 + static_cast<std::size_t>(c - '0');
    }
    if (length > in.size() - colon - 1) return std::nullopt;
    at = colon + 1 + length;
    return std::string(in.substr(colon + 1, length));
  };
  while (at < in.size()) {
    auto key = next();
    if (!key) return std::nullopt;
    auto value = next();
    if (!value) return std::nullopt;
    out.emplace_back(std::move(*key), std::move(*value));
  }
  return out;
}

template <class E>
std::optional<std::string_view> OptionalWireName(const std::optional<E>& value) {
  if (!value) return std::nullopt;
  return domain::WireName(*value);
}

void BindKeyColumns(Statement& stmt, const KeyRecord& key) {
  BindScoped(stmt, key.scope, key.key_id)
      .BindText(4, key.description)
      .BindText(5, domain::WireName(key.key_spec))
      .BindText(6, domain::WireName(key.key_usage))
      .BindText(7, domain::WireName(key.origin))
      .BindText(8, domain::WireName(key.key_manager))
      .BindText(9, domain::WireName(key.key_state))
      .BindInt(10, key.creation_date)
      .BindOptionalInt(11, key.deletion_date)
      .BindOptionalInt(12, key.pending_window_days)
      .BindInt(13, key.multi_region ? 1 : 0)
      .BindInt(14, key.rotation_enabled ? 1 : 0)
      .BindOptionalInt(15, key.rotation_period_days)
      .BindOptionalInt(16, key.next_rotation_date)
      .BindInt(17, key.current_material_version)
      .BindOptionalText(18, OptionalWireName(key.multi_region_type))
      .BindText(19, key.primary_region)
      .BindText(20, JoinNames(key.replica_regions, [](const std::string& r) { return r; }))
      .BindText(21, key.custom_key_store_id)
      .BindText(22, key.xks_key_id);
}

// Writes the key row of `key` with kInsertKey or kUpdateKey (`sql`) and returns its keys.id,
// or std::nullopt if an update found no such key.
Result<std::optional<std::int64_t>> WriteKeyRow(StatementCache& stmts, std::string_view sql,
                                                const KeyRecord& key) {
  KMS_ASSIGN_OR_RETURN(auto stmt, stmts.Prepare(sql));
  BindKeyColumns(stmt, key);
  // RETURNING id: the row is written by this first step.
  KMS_ASSIGN_OR_RETURN(const bool row, stmt.Step());
  if (!row) return std::optional<std::int64_t>();
  return std::optional<std::int64_t>(stmt.Int(0));
}

// The policy_texts.id of `text`, added if no key uses it yet. REQUIRES: inside a Transaction.
Result<std::int64_t> PolicyTextId(StatementCache& stmts, std::string_view text) {
  for (std::string_view sql : {kFindPolicyText, kInsertPolicyText}) {
    KMS_ASSIGN_OR_RETURN(auto stmt, stmts.Prepare(sql));
    stmt.BindText(1, text);
    KMS_ASSIGN_OR_RETURN(auto row, stmt.Step());
    if (row) return stmt.Int(0);
  }
  return Error{Error::Code::kIo, "policy text: no id returned"};
}

// Writes the child rows of `key` (tags, policy, materials, grants, import parameters), whose
// keys.id is `key_row`.
// REQUIRES: inside a Transaction.
Result<void> InsertChildRows(StatementCache& stmts, std::int64_t key_row, const KeyRecord& key) {
  std::int64_t position = 0;
  for (const Tag& tag : key.tags) {
    KMS_TRY(RunStatement(stmts, kInsertTag, [&](Statement& s) {
      s.BindInt(1, key_row).BindInt(2, position).BindText(3, tag.key).BindText(4, tag.value);
    }));
    ++position;
  }
  KMS_ASSIGN_OR_RETURN(auto text_id, PolicyTextId(stmts, key.policy));
  KMS_TRY(RunStatement(stmts, kInsertPolicy,
                       [&](Statement& s) { s.BindInt(1, key_row).BindInt(2, text_id); }));
  for (const KeyMaterial& material : key.materials) {
    KMS_TRY(RunStatement(stmts, kInsertMaterial, [&](Statement& s) {
      s.BindInt(1, key_row)
          .BindInt(2, material.version)
          .BindText(3, material.material_id)
          .BindBlob(4, material.bytes)
          .BindInt(5, material.created_at)
          .BindOptionalText(6, OptionalWireName(material.rotation_type))
          .BindOptionalInt(7, material.rotation_date)
          .BindText(8, material.description)
          .BindOptionalText(9, OptionalWireName(material.expiration_model))
          .BindOptionalInt(10, material.valid_to);
    }));
  }
  position = 0;
  for (const GrantRecord& grant : key.grants) {
    KMS_TRY(RunStatement(stmts, kInsertGrant, [&](Statement& s) {
      s.BindInt(1, key_row)
          .BindInt(2, position)
          .BindText(3, grant.grant_id)
          .BindText(4, grant.name)
          .BindText(5, grant.grantee_principal)
          .BindText(6, grant.retiring_principal)
          .BindText(7, grant.issuing_account)
          .BindText(8, JoinNames(grant.operations,
                                 [](domain::GrantOperation op) { return domain::WireName(op); }))
          .BindInt(11, grant.creation_date);
      for (auto [index, constraint] :
           {std::pair{9, &grant.context_subset}, std::pair{10, &grant.context_equals}}) {
        if (*constraint) {
          s.BindBlob(index, EncodePairs(**constraint));
        } else {
          s.BindNull(index);
        }
      }
    }));
    ++position;
  }
  for (const ImportParameters& params : key.import_params) {
    KMS_TRY(RunStatement(stmts, kInsertImportParams, [&](Statement& s) {
      s.BindInt(1, key_row)
          .BindText(2, params.token_id)
          .BindText(3, domain::WireName(params.wrapping_algorithm))
          .BindText(4, domain::WireName(params.wrapping_key_spec))
          .BindBlob(5, params.private_key)
          .BindInt(6, params.valid_to);
    }));
  }
  return {};
}

// Deletes the rows InsertChildRows writes for the key whose keys.id is `key_row`.
// REQUIRES: inside a Transaction.
Result<void> DeleteChildRows(StatementCache& stmts, std::int64_t key_row) {
  for (std::string_view sql :
       {kDeleteTags, kDeletePolicies, kDeleteMaterials, kDeleteGrants, kDeleteImportParams}) {
    KMS_TRY(RunStatement(stmts, sql, [&](Statement& s) { s.BindInt(1, key_row); }));
  }
  return {};
}

// Checked narrowing for values read back from the database.
template <class T>
std::optional<T> Narrow(std::int64_t value) {
  if (value < static_cast<std::int64_t>(std::numeric_limits<T>::min()) ||
      value > static_cast<std::int64_t>(std::numeric_limits<T>::max())) {
    return std::nullopt;
  }
  return static_cast<T>(value);
}

template <class T>
Result<T> ReadNarrow(const Statement& stmt, int column, std::string_view what) {
  if (auto v = Narrow<T>(stmt.Int(column))) return *v;
  return Corrupt(std::string(what) + " out of range: " + std::to_string(stmt.Int(column)));
}

template <class T>
Result<std::optional<T>> ReadOptionalNarrow(const Statement& stmt, int column,
                                            std::string_view what) {
  if (stmt.IsNull(column)) return std::optional<T>();
  KMS_ASSIGN_OR_RETURN(auto v, ReadNarrow<T>(stmt, column, what));
  return std::optional<T>(v);
}

// The enumerator stored as its wire name in `column` of a keys row (the SQLite edge of the
// vocabulary). kCorrupt for a text that names none: a database written by a newer kmsd, or
// edited by hand, must not load as some other state or spec.
template <class E>
Result<E> ReadWireName(const Statement& row, int column, std::string_view what,
                       std::string_view owner) {
  const std::string_view text = row.TextView(column);
  if (auto value = domain::Parse<E>(text)) return *value;
  return Corrupt(std::string(owner) + " has an unknown " + std::string(what) + " '" +
                 std::string(text) + "'");
}

template <class E>
Result<E> ReadWireName(const Statement& row, int column, std::string_view what,
                       const KeyRecord& key) {
  return ReadWireName<E>(row, column, what, "key " + key.key_id);
}

// As ReadWireName, for a column where NULL means unset.
template <class E, class Owner>
Result<std::optional<E>> ReadOptionalWireName(const Statement& row, int column,
                                              std::string_view what, const Owner& owner) {
  if (row.IsNull(column)) return std::optional<E>();
  KMS_ASSIGN_OR_RETURN(auto value, ReadWireName<E>(row, column, what, owner));
  return std::optional<E>(value);
}

// Fills `key` from a kSelectKeys row. assign() from views: the defaults of a new KeyRecord
// already hold the usual values' capacity, so most fields are copied without allocating.
Result<void> ReadKeyRow(const Statement& row, KeyRecord& key) {
  key.scope.account.assign(row.TextView(0));
  key.scope.region.assign(row.TextView(1));
  key.key_id.assign(row.TextView(2));
  key.description.assign(row.TextView(3));
  KMS_ASSIGN_OR_RETURN(key.key_spec, ReadWireName<domain::KeySpec>(row, 4, "key_spec", key));
  KMS_ASSIGN_OR_RETURN(key.key_usage, ReadWireName<domain::KeyUsage>(row, 5, "key_usage", key));
  KMS_ASSIGN_OR_RETURN(key.origin, ReadWireName<domain::Origin>(row, 6, "origin", key));
  KMS_ASSIGN_OR_RETURN(key.key_manager,
                       ReadWireName<domain::KeyManager>(row, 7, "key_manager", key));
  KMS_ASSIGN_OR_RETURN(key.key_state, ReadWireName<domain::KeyState>(row, 8, "key_state", key));
  key.creation_date = row.Int(9);
  key.deletion_date = row.OptionalInt(10);
  KMS_ASSIGN_OR_RETURN(auto pending, ReadOptionalNarrow<int>(row, 11, "pending_window_days"));
  key.pending_window_days = pending;
  key.multi_region = row.Int(12) != 0;
  key.rotation_enabled = row.Int(13) != 0;
  KMS_ASSIGN_OR_RETURN(auto period, ReadOptionalNarrow<int>(row, 14, "rotation_period_days"));
  key.rotation_period_days = period;
  key.next_rotation_date = row.OptionalInt(15);
  KMS_ASSIGN_OR_RETURN(auto current,
                       ReadNarrow<std::uint32_t>(row, 16, "current_material_version"));
  key.current_material_version = current;
  KMS_ASSIGN_OR_RETURN(key.multi_region_type, ReadOptionalWireName<domain::MultiRegionKeyType>(
                                                  row, 17, "multi_region_type", key));
  key.primary_region.assign(row.TextView(18));
  for (std::string_view region : SplitNames(row.TextView(19))) {
    key.replica_regions.emplace_back(region);
  }
  key.custom_key_store_id.assign(row.TextView(20));
  key.xks_key_id.assign(row.TextView(21));
  return {};
}

// Reads a kSelectMaterials row (after its key_row, column 0).
Result<KeyMaterial> ReadMaterialRow(const Statement& row, const KeyRecord& key) {
  KeyMaterial material;
  KMS_ASSIGN_OR_RETURN(material.version, ReadNarrow<std::uint32_t>(row, 1, "key material version"));
  material.material_id = row.Text(2);
  material.bytes = row.Blob(3);
  material.created_at = row.Int(4);
  KMS_ASSIGN_OR_RETURN(material.rotation_type,
                       ReadOptionalWireName<domain::RotationType>(row, 5, "rotation_type", key));
  material.rotation_date = row.OptionalInt(6);
  material.description = row.Text(7);
  KMS_ASSIGN_OR_RETURN(material.expiration_model, ReadOptionalWireName<domain::ExpirationModel>(
                                                      row, 8, "expiration_model", key));
  material.valid_to = row.OptionalInt(9);
  return material;
}

// Reads a kSelectGrants row (after its key_row, column 0).
Result<GrantRecord> ReadGrantRow(const Statement& row, const KeyRecord& key) {
  GrantRecord grant;
  grant.grant_id = row.Text(1);
  grant.name = row.Text(2);
  grant.grantee_principal = row.Text(3);
  grant.retiring_principal = row.Text(4);
  grant.issuing_account = row.Text(5);
  for (std::string_view name : SplitNames(row.TextView(6))) {
    auto op = domain::Parse<domain::GrantOperation>(name);
    if (!op) {
      return Corrupt("grant " + grant.grant_id + " of key " + key.key_id +
                     " has an unknown operation '" + std::string(name) + "'");
    }
    grant.operations.push_back(*op);
  }
  for (auto [column, constraint] :
       {std::pair{7, &grant.context_subset}, std::pair{8, &grant.context_equals}}) {
    if (row.IsNull(column)) continue;
    *constraint = DecodePairs(row.Blob(column));
    if (!*constraint) {
      return Corrupt("grant " + grant.grant_id + " of key " + key.key_id +
                     " has an unreadable constraint");
    }
  }
  grant.creation_date = row.Int(9);
  return grant;
}

// Reads a kSelectImportParams row (after its key_row, column 0).
Result<ImportParameters> ReadImportParamsRow(const Statement& row, const KeyRecord& key) {
  ImportParameters params;
  params.token_id = row.Text(1);
  KMS_ASSIGN_OR_RETURN(params.wrapping_algorithm,
                       ReadWireName<domain::WrappingAlgorithm>(row, 2, "wrapping_algorithm", key));
  KMS_ASSIGN_OR_RETURN(params.wrapping_key_spec,
                       ReadWireName<domain::WrappingKeySpec>(row, 3, "wrapping_key_spec", key));
  params.private_key = row.Blob(4);
  params.valid_to = row.Int(5);
  return params;
}

Result<CustomKeyStoreRecord> ReadCustomKeyStoreRow(const Statement& row) {
  CustomKeyStoreRecord store;
  store.scope = Scope{row.Text(0), row.Text(1)};
  store.id = row.Text(2);
  const std::string owner = "custom key store " + store.id;
  store.name = row.Text(3);
  KMS_ASSIGN_OR_RETURN(store.type, ReadWireName<domain::CustomKeyStoreType>(row, 4, "type", owner));
  KMS_ASSIGN_OR_RETURN(store.connection_state,
                       ReadWireName<domain::ConnectionState>(row, 5, "connection_state", owner));
  KMS_ASSIGN_OR_RETURN(
      store.connection_error_code,
      ReadOptionalWireName<domain::ConnectionErrorCode>(row, 6, "connection_error_code", owner));
  store.creation_date = row.Int(7);
  store.cloud_hsm_cluster_id = row.Text(8);
  store.trust_anchor_certificate = row.Text(9);
  store.key_store_password = row.Text(10);
  KMS_ASSIGN_OR_RETURN(store.xks_connectivity, ReadOptionalWireName<domain::XksProxyConnectivity>(
                                                   row, 11, "xks_connectivity", owner));
  store.xks_uri_endpoint = row.Text(12);
  store.xks_uri_path = row.Text(13);
  store.xks_vpc_endpoint_service_name = row.Text(14);
  store.xks_vpc_endpoint_service_owner = row.Text(15);
  store.xks_access_key_id = row.Text(16);
  store.xks_secret_access_key = row.Text(17);
  return store;
}

void BindCustomKeyStoreColumns(Statement& stmt, const CustomKeyStoreRecord& store) {
  BindScoped(stmt, store.scope, store.id)
      .BindText(4, store.name)
      .BindText(5, domain::WireName(store.type))
      .BindText(6, domain::WireName(store.connection_state))
      .BindOptionalText(7, OptionalWireName(store.connection_error_code))
      .BindInt(8, store.creation_date)
      .BindText(9, store.cloud_hsm_cluster_id)
      .BindText(10, store.trust_anchor_certificate)
      .BindText(11, store.key_store_password)
      .BindOptionalText(12, OptionalWireName(store.xks_connectivity))
      .BindText(13, store.xks_uri_endpoint)
      .BindText(14, store.xks_uri_path)
      .BindText(15, store.xks_vpc_endpoint_service_name)
      .BindText(16, store.xks_vpc_endpoint_service_owner)
      .BindText(17, store.xks_access_key_id)
      .BindText(18, store.xks_secret_access_key);
}

// Finds the key that a child row belongs to from the row's key_row (column 0). Keys and the
// rows of each child table are both read in ascending keys.id order, so the owner of each
// row is at or after the owner of the row before: one forward pass over the keys per table
// finds them all, as in a merge join.
class KeyCursor {
 public:
  KeyCursor(const std::vector<std::shared_ptr<KeyRecord>>& keys,
            const std::vector<std::int64_t>& ids)
      : keys_(keys), ids_(ids) {}

  // Call before the rows of each child table: its rows start again at the first key.
  void Rewind() { at_ = 0; }

  Result<KeyRecord*> OwnerOf(const Statement& row, std::string_view table) {
    const std::int64_t key_row = row.Int(0);
    while (at_ < ids_.size() && ids_[at_] < key_row) ++at_;
    if (at_ == ids_.size() || ids_[at_] != key_row) {
      return Corrupt(std::string(table) + " row for missing key (keys.id " +
                     std::to_string(key_row) + ")");
    }
    return keys_[at_].get();
  }

 private:
  const std::vector<std::shared_ptr<KeyRecord>>& keys_;
  const std::vector<std::int64_t>& ids_;  // ids_[i] is keys_[i]'s keys.id, ascending
  std::size_t at_ = 0;
};

// Steps `sql` and calls `on_row(row)` for each row; `on_row` returns Result<void>.
template <class RowFn>
Result<void> ForEachRow(StatementCache& stmts, std::string_view sql, RowFn&& on_row) {
  KMS_ASSIGN_OR_RETURN(auto stmt, stmts.Prepare(sql));
  for (;;) {
    KMS_ASSIGN_OR_RETURN(auto more, stmt.Step());
    if (!more) return {};
    KMS_TRY(on_row(static_cast<const Statement&>(stmt)));
  }
}

// The largest keys.id, an upper bound of the key count; 0 if unknown.
std::size_t MaxKeyRowid(StatementCache& stmts) {
  std::size_t bound = 0;
  (void)ForEachRow(stmts, kMaxKeyRowid, [&](const Statement& row) -> Result<void> {
    if (auto n = Narrow<std::uint32_t>(row.Int(0))) bound = *n;
    return {};
  });
  return bound;
}

// Reads one text value (for PRAGMAs that report their result as a row).
Result<std::string> QueryText(sqlite3* db, const char* sql) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db, sql, -1, &raw, nullptr);
  const StmtHandle stmt(raw);
  if (rc != SQLITE_OK) return SqliteError(db, rc, sql);
  rc = sqlite3_step(stmt.get());
  if (rc != SQLITE_ROW) return SqliteError(db, rc, sql);
  const unsigned char* text = sqlite3_column_text(stmt.get(), 0);
  return text == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(text));
}

// Every open of a database file. NOMUTEX: a connection is only ever used by one thread at a
// time (SqliteStore's under SqliteStore::mu_). NOFOLLOW: a symbolic link anywhere in the path
// is refused (PrepareDataDirectory resolves the directory's own path, and refuses a kms.db
// that is a link with a clearer message); SQLite opens -wal and -shm with O_NOFOLLOW anyway.
constexpr int kOpenFlags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX |
                           SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_EXRESCODE;

// ---- creating a new database file ----

// A new database is built under a temporary name next to `path`, "<path>.new-<pid>-<n>",
// and linked into place only once complete and synced. Two creators (processes, or threads
// of one process) never share a name, and leftovers of a crashed creator can be told apart
// from a creation in progress by the pid.
std::string CreationName(const std::string& path) {
  static std::atomic<unsigned> counter{0};
  return path + ".new-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
}

// Removes the temporary files of creators that are no longer running (a crash between
// creating and linking). Best effort.
void RemoveAbandonedCreations(const std::string& path) {
  const std::filesystem::path target(path);
  const std::filesystem::path dir =
      target.parent_path().empty() ? std::filesystem::path(".") : target.parent_path();
  const std::string prefix = target.filename().string() + ".new-";
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with(prefix)) continue;
    char* end = nullptr;
    const long pid = std::strtol(name.c_str() + prefix.size(), &end, 10);
    if (pid <= 0 || end == nullptr || *end != '-') continue;
    if (pid == ::getpid()) continue;  // another thread of ours may be creating
    if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;  // alive
    std::filesystem::remove(entry.path(), ec);  // also each -wal/-shm/-journal: same prefix
  }
}

// strerror's text, from a function that is safe on any thread (the committer's included).
std::string ErrnoText(int error) { return std::generic_category().message(error); }

Result<void> SyncPath(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return Error{Error::Code::kIo, "open " + path + ": " + ErrnoText(errno)};
  const int rc = ::fsync(fd);
  const int sync_errno = errno;
  ::close(fd);
  if (rc != 0) return Error{Error::Code::kIo, "fsync " + path + ": " + ErrnoText(sync_errno)};
  return {};
}

// Creates the database file `path`, migrated to the latest schema and in WAL mode, unless it
// appears meanwhile. Nothing in a new database is a client's data, so it is built without a
// journal or a sync per step; then the file is synced once, linked to `path` (link, unlike
// rename, never replaces a database another process created meanwhile) and the directory
// synced. A crash at any point leaves either no `path` (the next start creates it again) or
// a complete one.
Result<void> CreateDatabase(const std::string& path) {
  RemoveAbandonedCreations(path);
  const std::string temp = CreationName(path);
  // Whatever happens, the temporary name goes; after the link, `path` names the file.
  struct RemoveOnExit {
    const std::string& file;
    ~RemoveOnExit() {
      std::error_code ec;
      std::filesystem::remove(file, ec);
    }
  } const remove_temp{temp};
  {
    sqlite3* raw = nullptr;
    const int rc = sqlite3_open_v2(temp.c_str(), &raw, kOpenFlags, nullptr);
    const DbHandle db(raw);
    if (rc != SQLITE_OK) return SqliteError(db.get(), rc, "create " + temp);
    if (auto r = Exec(db.get(), "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;"); !r) {
      return r.error();
    }
    KMS_TRY(Migrate(db.get()));
    // WAL is recorded in the file header; with no WAL content, closing leaves no -wal file.
    KMS_ASSIGN_OR_RETURN(auto mode, QueryText(db.get(), "PRAGMA journal_mode = WAL"));
    if (mode != "wal") return Error{Error::Code::kIo, "cannot enable WAL journal on " + temp};
  }
  // SQLite's unix VFS makes a new database file 0644 whatever the umask (it fchmods it), and
  // later gives -wal and -shm the mode of the database file: make it private before anyone
  // can open it by `path`.
  if (::chmod(temp.c_str(), 0600) != 0) {
    return Error{Error::Code::kIo, "chmod " + temp + ": " + ErrnoText(errno)};
  }
  KMS_TRY(SyncPath(temp, O_RDONLY));
  if (::link(temp.c_str(), path.c_str()) != 0 && errno != EEXIST) {
    return Error{Error::Code::kIo, "link " + temp + ": " + ErrnoText(errno)};
  }
  const std::string dir = std::filesystem::path(path).parent_path().string();
  return SyncPath(dir.empty() ? "." : dir, O_RDONLY | O_DIRECTORY);
}

// Opens the existing database at `path` (or ":memory:") for SqliteStore, checks it is writable
// and in WAL mode, and migrates it. `context` prefixes every error.
Result<DbHandle> Connect(const std::string& path, const std::string& context) {
  const bool in_memory = path == ":memory:";
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, kOpenFlags, nullptr);
  DbHandle db(raw);  // closes even a half-opened handle
  if (rc == SQLITE_CANTOPEN_SYMLINK) {
    return Error{Error::Code::kIo,
                 context +
                     ": the path is or goes through a symbolic link, which kmsd does not "
                     "follow"};
  }
  if (rc != SQLITE_OK) return SqliteError(db.get(), rc, context);
  sqlite3_extended_result_codes(db.get(), 1);

  // SQLite silently falls back to read-only when the file is write-protected; every later
  // write would then fail, so refuse now, naming the file.
  if (sqlite3_db_readonly(db.get(), "main") == 1) {
    return Error{Error::Code::kIo, context + ": the database file is read-only"};
  }
  sqlite3_busy_timeout(db.get(), SqliteStore::kBusyTimeoutMs);

  // foreign_keys is per connection and must be set outside a transaction. secure_delete
  // overwrites deleted key material instead of leaving it in free pages. temp_store MEMORY:
  // a statement's rollback journal (a Reset deletes every row, firing the policy_texts
  // trigger per row) stays in memory instead of spilling to a file in /var/tmp, which a
  // read-only container may not have and which held an extra descriptor meanwhile.
  if (auto r = Exec(db.get(),
                    "PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;"
                    "PRAGMA secure_delete = ON; PRAGMA temp_store = MEMORY;");
      !r) {
    return WithContext(r.error(), context);
  }
  if (!in_memory) {
    // The first statement that reads the file: a non-database fails here with kCorrupt.
    auto mode = QueryText(db.get(), "PRAGMA journal_mode = WAL");
    if (!mode) return WithContext(mode.error(), context);
    if (*mode != "wal") {
      return Error{Error::Code::kIo, context + ": cannot enable WAL journal (got \"" + *mode +
                                         "\"); is the directory writable?"};
    }
  }
  if (auto r = Migrate(db.get()); !r) return WithContext(r.error(), context);
  return db;
}

std::string OpenContext(const std::string& path) {
  return "open " + (path.empty() ? std::string("\"\"") : path);
}

}  // namespace

SqliteStore::SqliteStore(std::string path, DbHandle db)
    : path_(std::move(path)), db_(std::move(db)) {
  if (db_ != nullptr) stmts_.emplace(db_.get());
}

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& path, Creation creation) {
  const std::string context = OpenContext(path);
  if (path.empty()) return Error{Error::Code::kIo, context + ": empty database path"};
  if (path != ":memory:") {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0 && errno == ENOENT) {
      // Any other failure (and a lost race) is for Connect below to report.
      if (creation == Creation::kDeferred) {
        return std::unique_ptr<SqliteStore>(new SqliteStore(path, nullptr));
      }
      if (auto r = CreateDatabase(path); !r) return WithContext(r.error(), context);
    }
  }
  KMS_ASSIGN_OR_RETURN(auto db, Connect(path, context));
  return std::unique_ptr<SqliteStore>(new SqliteStore(path, std::move(db)));
}

Result<void> SqliteStore::ConnectIfDeferred() {
  if (db_ != nullptr) return {};
  const std::string context = OpenContext(path_);
  struct stat st {};
  if (::lstat(path_.c_str(), &st) != 0 && errno == ENOENT) {
    if (auto r = CreateDatabase(path_); !r) return WithContext(r.error(), context);
  }
  KMS_ASSIGN_OR_RETURN(auto db, Connect(path_, context));
  db_ = std::move(db);
  stmts_.emplace(db_.get());
  return {};
}

Result<void> SqliteStore::Prepare() {
  const MutexLock lock(mu_);
  return ConnectIfDeferred();
}

std::size_t SqliteStore::KeyCountBound() {
  const MutexLock lock(mu_);
  return db_ == nullptr ? 0 : MaxKeyRowid(*stmts_);
}

Result<Snapshot> SqliteStore::LoadAll() {
  const MutexLock lock(mu_);
  if (db_ == nullptr) return Snapshot{};  // a deferred creation: the database is empty
  // One transaction so the tables are read at a single point in time even if another process
  // writes the file concurrently.
  auto txn = Transaction::Begin(db_.get());
  if (!txn) return WithContext(txn.error(), "LoadAll");

  // Built as mutable records, completed table by table, and published as const ones.
  std::vector<std::shared_ptr<KeyRecord>> keys;
  std::vector<std::int64_t> ids;  // keys.id of each of `keys`
  keys.reserve(MaxKeyRowid(*stmts_));
  ids.reserve(keys.capacity());
  auto key_rows = ForEachRow(*stmts_, kSelectKeys, [&](const Statement& row) -> Result<void> {
    auto key = std::make_shared<KeyRecord>();
    KMS_TRY(ReadKeyRow(row, *key));
    keys.push_back(std::move(key));
    ids.push_back(row.Int(kRowIdColumn));
    return {};
  });
  if (!key_rows) return WithContext(key_rows.error(), "LoadAll");

  KeyCursor finder(keys, ids);
  auto tags = ForEachRow(*stmts_, kSelectTags, [&](const Statement& row) -> Result<void> {
    KMS_ASSIGN_OR_RETURN(auto owner, finder.OwnerOf(row, "key_tags"));
    owner->tags.push_back(Tag{row.Text(1), row.Text(2)});
    return {};
  });
  if (!tags) return WithContext(tags.error(), "LoadAll");

  // One SharedText per stored text: keys with the same policy share it in memory too.
  std::unordered_map<std::int64_t, SharedText> texts;
  auto text_rows = ForEachRow(*stmts_, kSelectPolicyTexts, [&](const Statement& row) {
    texts.emplace(row.Int(0), SharedText{row.Text(1)});
    return Result<void>{};
  });
  if (!text_rows) return WithContext(text_rows.error(), "LoadAll");
  finder.Rewind();
  auto policies = ForEachRow(*stmts_, kSelectPolicies, [&](const Statement& row) -> Result<void> {
    KMS_ASSIGN_OR_RETURN(auto owner, finder.OwnerOf(row, "key_policies"));
    auto text = texts.find(row.Int(1));
    if (text == texts.end()) {
      return Corrupt("key_policies row for missing policy text (policy_texts.id " +
                     std::to_string(row.Int(1)) + ")");
    }
    owner->policy = text->second;
    return {};
  });
  if (!policies) return WithContext(policies.error(), "LoadAll");

  finder.Rewind();
  auto materials = ForEachRow(*stmts_, kSelectMaterials, [&](const Statement& row) -> Result<void> {
    KMS_ASSIGN_OR_RETURN(auto owner, finder.OwnerOf(row, "key_materials"));
    KMS_ASSIGN_OR_RETURN(auto material, ReadMaterialRow(row, *owner));
    owner->materials.push_back(std::move(material));
    return {};
  });
  if (!materials) return WithContext(materials.error(), "LoadAll");

  finder.Rewind();
  auto grants = ForEachRow(*stmts_, kSelectGrants, [&](const Statement& row) -> Result<void> {
    KMS_ASSIGN_OR_RETURN(auto owner, finder.OwnerOf(row, "key_grants"));
    KMS_ASSIGN_OR_RETURN(auto grant, ReadGrantRow(row, *owner));
    owner->grants.push_back(std::move(grant));
    return {};
  });
  if (!grants) return WithContext(grants.error(), "LoadAll");

  finder.Rewind();
  auto params = ForEachRow(*stmts_, kSelectImportParams, [&](const Statement& row) -> Result<void> {
    KMS_ASSIGN_OR_RETURN(auto owner, finder.OwnerOf(row, "key_import_params"));
    KMS_ASSIGN_OR_RETURN(auto p, ReadImportParamsRow(row, *owner));
    owner->import_params.push_back(std::move(p));
    return {};
  });
  if (!params) return WithContext(params.error(), "LoadAll");

  Snapshot snapshot;
  snapshot.keys.reserve(keys.size());
  for (std::shared_ptr<KeyRecord>& key : keys) snapshot.keys.push_back(std::move(key));

  auto aliases = ForEachRow(*stmts_, kSelectAliases, [&](const Statement& row) -> Result<void> {
    snapshot.aliases.push_back(AliasRecord{Scope{row.Text(0), row.Text(1)}, row.Text(2),
                                           row.Text(3), row.Int(4), row.Int(5)});
    return {};
  });
  if (!aliases) return WithContext(aliases.error(), "LoadAll");

  auto stores =
      ForEachRow(*stmts_, kSelectCustomKeyStores, [&](const Statement& row) -> Result<void> {
        KMS_ASSIGN_OR_RETURN(auto store, ReadCustomKeyStoreRow(row));
        snapshot.custom_key_stores.push_back(std::move(store));
        return {};
      });
  if (!stores) return WithContext(stores.error(), "LoadAll");

  auto usage = ForEachRow(*stmts_, kSelectKeyUsage, [&](const Statement& row) -> Result<void> {
    snapshot.key_usage.push_back(KeyUsageRecord{Scope{row.Text(0), row.Text(1)}, row.Text(2),
                                                row.Text(3), row.Int(4), row.Text(5)});
    return {};
  });
  if (!usage) return WithContext(usage.error(), "LoadAll");

  if (auto r = txn->Commit(); !r) return WithContext(r.error(), "LoadAll");
  return snapshot;
}

// ---- writes. Each Write* REQUIRES mu_ held and an open transaction. ----

Result<void> SqliteStore::Write(const change::InsertKey& c) {
  const KeyRecord& key = *c.key;
  const std::string context = "InsertKey " + Describe(key.scope, key.key_id);
  auto key_row = WriteKeyRow(*stmts_, kInsertKey, key);
  if (!key_row) return WithContext(key_row.error(), context);
  if (!*key_row) return WithContext(Error{Error::Code::kIo, "no id returned"}, context);
  if (auto r = InsertChildRows(*stmts_, **key_row, key); !r) {
    return WithContext(r.error(), context);
  }
  return {};
}

Result<void> SqliteStore::Write(const change::UpdateKey& c) {
  const KeyRecord& key = *c.key;
  const std::string context = "UpdateKey " + Describe(key.scope, key.key_id);
  auto key_row = WriteKeyRow(*stmts_, kUpdateKey, key);
  if (!key_row) return WithContext(key_row.error(), context);
  if (!*key_row) return NotFound("key", key.scope, key.key_id);
  if (auto r = DeleteChildRows(*stmts_, **key_row); !r) return WithContext(r.error(), context);
  if (auto r = InsertChildRows(*stmts_, **key_row, key); !r) {
    return WithContext(r.error(), context);
  }
  return {};
}

Result<void> SqliteStore::Write(const change::DeleteKey& c) {
  // One statement: the foreign-key cascade removes tags, policies, materials and aliases.
  auto changed =
      RunStatement(*stmts_, kDeleteKey, [&](Statement& s) { BindScoped(s, c.scope, c.key_id); });
  if (!changed) return WithContext(changed.error(), "DeleteKey " + Describe(c.scope, c.key_id));
  if (*changed == 0) return NotFound("key", c.scope, c.key_id);
  return {};
}

Result<void> SqliteStore::Write(const change::InsertAlias& c) {
  const AliasRecord& alias = c.alias;
  auto inserted = RunStatement(*stmts_, kInsertAlias, [&](Statement& s) {
    BindScoped(s, alias.scope, alias.name)
        .BindText(4, alias.target_key_id)
        .BindInt(5, alias.creation_date)
        .BindInt(6, alias.last_updated_date);
  });
  if (!inserted) {
    if (inserted.error().code == Error::Code::kNotFound) {  // the foreign key
      return NotFound("target key", alias.scope, alias.target_key_id);
    }
    return WithContext(inserted.error(), "InsertAlias " + Describe(alias.scope, alias.name));
  }
  return {};
}

Result<void> SqliteStore::Write(const change::UpdateAlias& c) {
  const AliasRecord& alias = c.alias;
  auto changed = RunStatement(*stmts_, kUpdateAlias, [&](Statement& s) {
    BindScoped(s, alias.scope, alias.name)
        .BindText(4, alias.target_key_id)
        .BindInt(5, alias.creation_date)
        .BindInt(6, alias.last_updated_date);
  });
  if (!changed) {
    if (changed.error().code == Error::Code::kNotFound) {  // the foreign key
      return NotFound("target key", alias.scope, alias.target_key_id);
    }
    return WithContext(changed.error(), "UpdateAlias " + Describe(alias.scope, alias.name));
  }
  if (*changed == 0) return NotFound("alias", alias.scope, alias.name);
  return {};
}

Result<void> SqliteStore::Write(const change::DeleteAlias& c) {
  auto changed =
      RunStatement(*stmts_, kDeleteAlias, [&](Statement& s) { BindScoped(s, c.scope, c.name); });
  if (!changed) return WithContext(changed.error(), "DeleteAlias " + Describe(c.scope, c.name));
  if (*changed == 0) return NotFound("alias", c.scope, c.name);
  return {};
}

Result<void> SqliteStore::Write(const change::InsertCustomKeyStore& c) {
  auto inserted = RunStatement(*stmts_, kInsertCustomKeyStore,
                               [&](Statement& s) { BindCustomKeyStoreColumns(s, c.store); });
  if (!inserted) {
    return WithContext(inserted.error(),
                       "InsertCustomKeyStore " + Describe(c.store.scope, c.store.id));
  }
  return {};
}

Result<void> SqliteStore::Write(const change::UpdateCustomKeyStore& c) {
  auto changed = RunStatement(*stmts_, kUpdateCustomKeyStore,
                              [&](Statement& s) { BindCustomKeyStoreColumns(s, c.store); });
  if (!changed) {
    return WithContext(changed.error(),
                       "UpdateCustomKeyStore " + Describe(c.store.scope, c.store.id));
  }
  if (*changed == 0) return NotFound("custom key store", c.store.scope, c.store.id);
  return {};
}

Result<void> SqliteStore::Write(const change::DeleteCustomKeyStore& c) {
  auto changed = RunStatement(*stmts_, kDeleteCustomKeyStore,
                              [&](Statement& s) { BindScoped(s, c.scope, c.id); });
  if (!changed) {
    return WithContext(changed.error(), "DeleteCustomKeyStore " + Describe(c.scope, c.id));
  }
  if (*changed == 0) return NotFound("custom key store", c.scope, c.id);
  return {};
}

Result<void> SqliteStore::Write(const change::RecordKeyUsage& c) {
  for (const KeyUsageRecord& u : c.usage) {
    auto written = RunStatement(*stmts_, kUpsertKeyUsage, [&](Statement& s) {
      BindScoped(s, u.scope, u.key_id)
          .BindText(4, u.operation)
          .BindInt(5, u.used_at)
          .BindText(6, u.request_id);
    });
    if (!written) {
      return WithContext(written.error(), "RecordKeyUsage " + Describe(u.scope, u.key_id));
    }
  }
  return {};
}

Result<void> SqliteStore::Write(const change::Reset& /*c*/) {
  for (std::string_view sql : kDeleteEverything) {
    auto deleted = RunStatement(*stmts_, sql, [](Statement&) {});
    if (!deleted) return WithContext(deleted.error(), "Reset");
  }
  return {};
}

Result<void> SqliteStore::Apply(std::span<const Change> changes) {
  if (changes.empty()) return {};
  const MutexLock lock(mu_);
  if (auto r = ConnectIfDeferred(); !r) return WithContext(r.error(), "Apply");
  // One transaction, one commit (and so one fsync) for the whole batch: group commit.
  auto txn = Transaction::Begin(db_.get());
  if (!txn) return WithContext(txn.error(), "Apply");
  for (const Change& change : changes) {
    // The lambda is a function of its own to the analysis: it states the lock Apply holds.
    auto written = std::visit([this](const auto& c) REQUIRES(mu_) { return Write(c); }, change);
    if (!written) return written;  // the transaction rolls back
  }
  if (auto r = txn->Commit(); !r) return WithContext(r.error(), "Apply");
  return {};
}

}  // namespace kms::storage
