#include "storage/schema.hpp"

#include "base/try.hpp"

#include <array>
#include <cstddef>
#include <string>
#include <vector>

#include "storage/sqlite_handles.hpp"
#include "storage/sqlite_statement.hpp"

// STRICT tables need SQLite 3.37.
static_assert(SQLITE_VERSION_NUMBER >= 3037000, "kmsd needs SQLite 3.37 or newer");

namespace kms::storage {
namespace {

// One schema change, run in one transaction: each non-null step in order (sqlite3_exec).
struct Migration {
  int version;                       // the user_version this migration produces
  std::array<const char*, 6> steps;  // fixed SQL; the last must set `PRAGMA user_version`
};

// Version 1: every child row names its key by (account, region, key_id).
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE keys (
  account                  TEXT    NOT NULL,
  region                   TEXT    NOT NULL,
  key_id                   TEXT    NOT NULL,
  description              TEXT    NOT NULL,
  key_spec                 TEXT    NOT NULL,
  key_usage                TEXT    NOT NULL,
  origin                   TEXT    NOT NULL,
  key_manager              TEXT    NOT NULL,
  key_state                TEXT    NOT NULL,
  creation_date            INTEGER NOT NULL,
  deletion_date            INTEGER,
  pending_window_days      INTEGER,
  multi_region             INTEGER NOT NULL CHECK (multi_region IN (0, 1)),
  rotation_enabled         INTEGER NOT NULL CHECK (rotation_enabled IN (0, 1)),
  rotation_period_days     INTEGER,
  next_rotation_date       INTEGER,
  current_material_version INTEGER NOT NULL,
  PRIMARY KEY (account, region, key_id)
) STRICT;

CREATE TABLE key_materials (
  account     TEXT    NOT NULL,
  region      TEXT    NOT NULL,
  key_id      TEXT    NOT NULL,
  version     INTEGER NOT NULL,
  material_id TEXT    NOT NULL,
  bytes       BLOB    NOT NULL,
  created_at  INTEGER NOT NULL,
  PRIMARY KEY (account, region, key_id, version),
  FOREIGN KEY (account, region, key_id) REFERENCES keys (account, region, key_id)
    ON DELETE CASCADE
) STRICT;

CREATE TABLE key_tags (
  account   TEXT    NOT NULL,
  region    TEXT    NOT NULL,
  key_id    TEXT    NOT NULL,
  position  INTEGER NOT NULL,
  tag_key   TEXT    NOT NULL,
  tag_value TEXT    NOT NULL,
  PRIMARY KEY (account, region, key_id, position),
  FOREIGN KEY (account, region, key_id) REFERENCES keys (account, region, key_id)
    ON DELETE CASCADE
) STRICT;

CREATE TABLE key_policies (
  account     TEXT NOT NULL,
  region      TEXT NOT NULL,
  key_id      TEXT NOT NULL,
  policy_name TEXT NOT NULL,
  policy      TEXT NOT NULL,
  PRIMARY KEY (account, region, key_id, policy_name),
  FOREIGN KEY (account, region, key_id) REFERENCES keys (account, region, key_id)
    ON DELETE CASCADE
) STRICT;

CREATE TABLE aliases (
  account           TEXT    NOT NULL,
  region            TEXT    NOT NULL,
  name              TEXT    NOT NULL,
  target_key_id     TEXT    NOT NULL,
  creation_date     INTEGER NOT NULL,
  last_updated_date INTEGER NOT NULL,
  PRIMARY KEY (account, region, name),
  FOREIGN KEY (account, region, target_key_id) REFERENCES keys (account, region, key_id)
    ON DELETE CASCADE
) STRICT;

-- The cascade from keys looks aliases up by target.
CREATE INDEX aliases_by_target ON aliases (account, region, target_key_id);

PRAGMA user_version = 1;
)sql";

// Version 2: children name their key by keys.id, an INTEGER PRIMARY KEY, and are WITHOUT
// ROWID tables clustered on (key_row, ...). A new key's child rows then go at the end of
// each child table instead of at a random place in a (account, region, key_id) index:
// CreateKey dirties one random page (the keys unique index) instead of three.
constexpr const char* kKeysMaterialsTagsV2 = R"sql(
CREATE TABLE keys (
  id                       INTEGER PRIMARY KEY,
  account                  TEXT    NOT NULL,
  region                   TEXT    NOT NULL,
  key_id                   TEXT    NOT NULL,
  description              TEXT    NOT NULL,
  key_spec                 TEXT    NOT NULL,
  key_usage                TEXT    NOT NULL,
  origin                   TEXT    NOT NULL,
  key_manager              TEXT    NOT NULL,
  key_state                TEXT    NOT NULL,
  creation_date            INTEGER NOT NULL,
  deletion_date            INTEGER,
  pending_window_days      INTEGER,
  multi_region             INTEGER NOT NULL CHECK (multi_region IN (0, 1)),
  rotation_enabled         INTEGER NOT NULL CHECK (rotation_enabled IN (0, 1)),
  rotation_period_days     INTEGER,
  next_rotation_date       INTEGER,
  current_material_version INTEGER NOT NULL,
  UNIQUE (account, region, key_id)
) STRICT;

CREATE TABLE key_materials (
  key_row     INTEGER NOT NULL REFERENCES keys (id) ON DELETE CASCADE,
  version     INTEGER NOT NULL,
  material_id TEXT    NOT NULL,
  bytes       BLOB    NOT NULL,
  created_at  INTEGER NOT NULL,
  PRIMARY KEY (key_row, version)
) STRICT, WITHOUT ROWID;

CREATE TABLE key_tags (
  key_row   INTEGER NOT NULL REFERENCES keys (id) ON DELETE CASCADE,
  position  INTEGER NOT NULL,
  tag_key   TEXT    NOT NULL,
  tag_value TEXT    NOT NULL,
  PRIMARY KEY (key_row, position)
) STRICT, WITHOUT ROWID;
)sql";
constexpr const char* kKeyPoliciesV2 = R"sql(
CREATE TABLE key_policies (
  key_row     INTEGER NOT NULL REFERENCES keys (id) ON DELETE CASCADE,
  policy_name TEXT    NOT NULL,
  policy      TEXT    NOT NULL,
  PRIMARY KEY (key_row, policy_name)
) STRICT, WITHOUT ROWID;
)sql";
constexpr const char* kAliasesV2 = R"sql(
CREATE TABLE aliases (
  account           TEXT    NOT NULL,
  region            TEXT    NOT NULL,
  name              TEXT    NOT NULL,
  target_key_id     TEXT    NOT NULL,
  creation_date     INTEGER NOT NULL,
  last_updated_date INTEGER NOT NULL,
  PRIMARY KEY (account, region, name),
  FOREIGN KEY (account, region, target_key_id) REFERENCES keys (account, region, key_id)
    ON DELETE CASCADE
) STRICT;

-- The cascade from keys looks aliases up by target.
CREATE INDEX aliases_by_target ON aliases (account, region, target_key_id);
)sql";

// From version 1: the old tables are renamed, copied into new ones and dropped, children
// first so that dropping keys_v1 cascades nowhere. LEFT JOIN: an orphaned child row fails
// the NOT NULL on key_row and stops the migration rather than being dropped silently.
constexpr const char* kRenameV1Tables = R"sql(
-- The index name is reused by the new aliases table.
DROP INDEX aliases_by_target;
ALTER TABLE aliases RENAME TO aliases_v1;
ALTER TABLE key_policies RENAME TO key_policies_v1;
ALTER TABLE key_tags RENAME TO key_tags_v1;
ALTER TABLE key_materials RENAME TO key_materials_v1;
ALTER TABLE keys RENAME TO keys_v1;
)sql";
constexpr const char* kCopyAndDropV1Tables = R"sql(
INSERT INTO keys
SELECT rowid, account, region, key_id, description, key_spec, key_usage, origin, key_manager,
       key_state, creation_date, deletion_date, pending_window_days, multi_region,
       rotation_enabled, rotation_period_days, next_rotation_date, current_material_version
FROM keys_v1 ORDER BY rowid;

INSERT INTO key_materials
SELECT k.id, c.version, c.material_id, c.bytes, c.created_at
FROM key_materials_v1 c LEFT JOIN keys k USING (account, region, key_id);

INSERT INTO key_tags
SELECT k.id, c.position, c.tag_key, c.tag_value
FROM key_tags_v1 c LEFT JOIN keys k USING (account, region, key_id);

INSERT INTO key_policies
SELECT k.id, c.policy_name, c.policy
FROM key_policies_v1 c LEFT JOIN keys k USING (account, region, key_id);

INSERT INTO aliases SELECT * FROM aliases_v1;

DROP TABLE aliases_v1;
DROP TABLE key_policies_v1;
DROP TABLE key_tags_v1;
DROP TABLE key_materials_v1;
DROP TABLE keys_v1;

PRAGMA user_version = 2;
)sql";

// Version 3: a policy text is stored once, in policy_texts, and key_policies names it by id.
// Keys mostly share one policy text (the default policy of their account, ~270 bytes),
// which version 2 stored in every key's row: about 45 % of the file. A trigger removes a
// text when its last key_policies row goes (a deleted key, a replaced policy).
constexpr const char* kPoliciesV3 = R"sql(
CREATE TABLE policy_texts (
  id   INTEGER PRIMARY KEY,
  text TEXT    NOT NULL UNIQUE
) STRICT;

CREATE TABLE key_policies (
  key_row     INTEGER NOT NULL REFERENCES keys (id) ON DELETE CASCADE,
  policy_name TEXT    NOT NULL,
  text_id     INTEGER NOT NULL REFERENCES policy_texts (id),
  PRIMARY KEY (key_row, policy_name)
) STRICT, WITHOUT ROWID;

CREATE INDEX key_policies_by_text ON key_policies (text_id);

CREATE TRIGGER policy_texts_unused AFTER DELETE ON key_policies
WHEN NOT EXISTS (SELECT 1 FROM key_policies WHERE text_id = old.text_id)
BEGIN
  DELETE FROM policy_texts WHERE id = old.text_id;
END;
)sql";

// From version 2: key_policies is renamed, its texts and rows copied, and it is dropped.
constexpr const char* kRenameV2Policies = R"sql(
ALTER TABLE key_policies RENAME TO key_policies_v2;
)sql";
constexpr const char* kCopyAndDropV2Policies = R"sql(
INSERT INTO policy_texts (text) SELECT DISTINCT policy FROM key_policies_v2;

INSERT INTO key_policies
SELECT p.key_row, p.policy_name, t.id
FROM key_policies_v2 p JOIN policy_texts t ON t.text = p.policy;

DROP TABLE key_policies_v2;

PRAGMA user_version = 3;
)sql";

// Version 4: what the rest of the KMS API keeps per key. keys gains the multi-region and
// custom key store columns; key_materials gains rotation and import columns; new tables hold
// grants, import parameters, last usage and custom key stores. SQLite cannot add a column to
// a table with its foreign keys rebuilt in place (and ALTER TABLE ADD COLUMN would leave a
// schema text that a new database does not get), so, as version 2 did, every table naming
// keys is renamed, rebuilt and copied. Lists (a primary's replica regions, a grant's
// operations and constraints) are stored as text in one column each: they are read and
// written whole with their row and never queried.
constexpr const char* kRenameV3Tables = R"sql(
-- Index and trigger names are reused by the new tables.
DROP INDEX aliases_by_target;
DROP INDEX key_policies_by_text;
DROP TRIGGER policy_texts_unused;
ALTER TABLE aliases RENAME TO aliases_v3;
ALTER TABLE key_policies RENAME TO key_policies_v3;
ALTER TABLE key_tags RENAME TO key_tags_v3;
ALTER TABLE key_materials RENAME TO key_materials_v3;
ALTER TABLE keys RENAME TO keys_v3;
)sql";
constexpr const char* kKeysV4 = R"sql(
CREATE TABLE keys (
  id                       INTEGER PRIMARY KEY,
  account                  TEXT    NOT NULL,
  region                   TEXT    NOT NULL,
  key_id                   TEXT    NOT NULL,
  description              TEXT    NOT NULL,
  key_spec                 TEXT    NOT NULL,
  key_usage                TEXT    NOT NULL,
  origin                   TEXT    NOT NULL,
  key_manager              TEXT    NOT NULL,
  key_state                TEXT    NOT NULL,
  creation_date            INTEGER NOT NULL,
  deletion_date            INTEGER,
  pending_window_days      INTEGER,
  multi_region             INTEGER NOT NULL CHECK (multi_region IN (0, 1)),
  rotation_enabled         INTEGER NOT NULL CHECK (rotation_enabled IN (0, 1)),
  rotation_period_days     INTEGER,
  next_rotation_date       INTEGER,
  current_material_version INTEGER NOT NULL,
  multi_region_type        TEXT,
  primary_region           TEXT    NOT NULL DEFAULT '',
  replica_regions          TEXT    NOT NULL DEFAULT '',
  custom_key_store_id      TEXT    NOT NULL DEFAULT '',
  xks_key_id               TEXT    NOT NULL DEFAULT '',
  UNIQUE (account, region, key_id)
) STRICT;

CREATE TABLE key_materials (
  key_row          INTEGER NOT NULL REFERENCES keys (id) ON DELETE CASCADE,
  version          INTEGER NOT NULL,
  material_id      TEXT    NOT NULL,
  bytes            BLOB    NOT NULL,
  created_at       INTEGER NOT NULL,
  rotation_type    TEXT,
  rotation_date    INTEGER,
  description      TEXT    NOT NULL DEFAULT '',
  expiration_model TEXT,
  valid_to         INTEGER,
  PRIMARY KEY (key_row, version)
) STRICT, WITHOUT ROWID;

CREATE TABLE key_tags (
  key_row   INTEGER NOT NULL REFERENCES keys (id) ON DELETE CASCADE,
  position  INTEGER NOT NULL,
  tag_key   TEXT    NOT NULL,
  tag_value TEXT    NOT NULL,
  PRIMARY KEY (key_row, position)
) STRICT, WITHOUT ROWID;
)sql";
constexpr const char* kKeyPoliciesV4 = R"sql(
CREATE TABLE key_policies (
  key_row     INTEGER NOT NULL REFERENCES keys (id) ON DELETE CASCADE,
  policy_name TEXT    NOT NULL,
  text_id     INTEGER NOT NULL REFERENCES policy_texts (id),
  PRIMARY KEY (key_row, policy_name)
) STRICT, WITHOUT ROWID;

CREATE INDEX key_policies_by_text ON key_policies (text_id);

CREATE TRIGGER policy_texts_unused AFTER DELETE ON key_policies
WHEN NOT EXISTS (SELECT 1 FROM key_policies WHERE text_id = old.text_id)
BEGIN
  DELETE FROM policy_texts WHERE id = old.text_id;
END;
)sql";
constexpr const char* kNewTablesV4 = R"sql(
-- operations: the GrantOperation names joined by ','. context_subset / context_equals: NULL
-- when the constraint is absent, else its pairs as length-prefixed texts (EncodePairs in
-- sqlite_store.cpp), since a context key or value may hold any character.
CREATE TABLE key_grants (
  key_row            INTEGER NOT NULL REFERENCES keys (id) ON DELETE CASCADE,
  position           INTEGER NOT NULL,
  grant_id           TEXT    NOT NULL,
  name               TEXT    NOT NULL,
  grantee_principal  TEXT    NOT NULL,
  retiring_principal TEXT    NOT NULL,
  issuing_account    TEXT    NOT NULL,
  operations         TEXT    NOT NULL,
  context_subset     BLOB,
  context_equals     BLOB,
  creation_date      INTEGER NOT NULL,
  PRIMARY KEY (key_row, position)
) STRICT, WITHOUT ROWID;

CREATE TABLE key_import_params (
  key_row            INTEGER NOT NULL REFERENCES keys (id) ON DELETE CASCADE,
  token_id           TEXT    NOT NULL,
  wrapping_algorithm TEXT    NOT NULL,
  wrapping_key_spec  TEXT    NOT NULL,
  private_key        BLOB    NOT NULL,
  valid_to           INTEGER NOT NULL,
  PRIMARY KEY (key_row, token_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE key_last_usage (
  key_row    INTEGER PRIMARY KEY REFERENCES keys (id) ON DELETE CASCADE,
  operation  TEXT    NOT NULL,
  used_at    INTEGER NOT NULL,
  request_id TEXT    NOT NULL
) STRICT;

CREATE TABLE custom_key_stores (
  account                        TEXT    NOT NULL,
  region                         TEXT    NOT NULL,
  id                             TEXT    NOT NULL,
  name                           TEXT    NOT NULL,
  type                           TEXT    NOT NULL,
  connection_state               TEXT    NOT NULL,
  connection_error_code          TEXT,
  creation_date                  INTEGER NOT NULL,
  cloud_hsm_cluster_id           TEXT    NOT NULL,
  trust_anchor_certificate       TEXT    NOT NULL,
  key_store_password             TEXT    NOT NULL,
  xks_connectivity               TEXT,
  xks_uri_endpoint               TEXT    NOT NULL,
  xks_uri_path                   TEXT    NOT NULL,
  xks_vpc_endpoint_service_name  TEXT    NOT NULL,
  xks_vpc_endpoint_service_owner TEXT    NOT NULL,
  xks_access_key_id              TEXT    NOT NULL,
  xks_secret_access_key          TEXT    NOT NULL,
  PRIMARY KEY (account, region, id)
) STRICT;
)sql";
constexpr const char* kCopyAndDropV3Tables = R"sql(
INSERT INTO keys (id, account, region, key_id, description, key_spec, key_usage, origin,
                  key_manager, key_state, creation_date, deletion_date, pending_window_days,
                  multi_region, rotation_enabled, rotation_period_days, next_rotation_date,
                  current_material_version)
SELECT id, account, region, key_id, description, key_spec, key_usage, origin, key_manager,
       key_state, creation_date, deletion_date, pending_window_days, multi_region,
       rotation_enabled, rotation_period_days, next_rotation_date, current_material_version
FROM keys_v3 ORDER BY id;

INSERT INTO key_materials (key_row, version, material_id, bytes, created_at)
SELECT key_row, version, material_id, bytes, created_at FROM key_materials_v3;

INSERT INTO key_tags SELECT * FROM key_tags_v3;
INSERT INTO key_policies SELECT * FROM key_policies_v3;
INSERT INTO aliases SELECT * FROM aliases_v3;

DROP TABLE aliases_v3;
DROP TABLE key_policies_v3;
DROP TABLE key_tags_v3;
DROP TABLE key_materials_v3;
DROP TABLE keys_v3;

PRAGMA user_version = 4;
)sql";

// Append only. Entry i produces version i + 1.
constexpr auto kMigrations = std::to_array<Migration>({
    {1, {kSchemaV1}},  // the first schema
    {2,
     {kRenameV1Tables, kKeysMaterialsTagsV2, kKeyPoliciesV2, kAliasesV2,
      kCopyAndDropV1Tables}},                                       // children by keys.id
    {3, {kRenameV2Policies, kPoliciesV3, kCopyAndDropV2Policies}},  // policy texts once
    {4,
     {kRenameV3Tables, kKeysV4, kKeyPoliciesV4, kAliasesV2, kNewTablesV4,
      kCopyAndDropV3Tables}},  // the rest of the API: grants, import, multi-region, ...
                               // {5, {"ALTER TABLE ...; PRAGMA user_version = 5;"}},
});

// What a new, empty database gets in one step instead of replaying every migration (which
// renames and copies tables: ~4 ms instead of ~0.7 ms on every start with a new data
// directory). Must equal what the migrations build; a test compares the two.
constexpr auto kLatestSchema =
    std::to_array<const char*>({kKeysV4, kPoliciesV3, kAliasesV2, kNewTablesV4});

constexpr bool MigrationsAreNumberedInOrder() {
  int expected = 1;
  for (const Migration& m : kMigrations) {
    if (m.version != expected++) return false;
  }
  return true;
}
static_assert(MigrationsAreNumberedInOrder(), "kMigrations[i].version must be i + 1");

constexpr int kLatestVersion = static_cast<int>(kMigrations.size());

Error TooNew(int version) {
  return Error{Error::Code::kCorrupt, "database schema version " + std::to_string(version) +
                                          " is newer than this kmsd understands (" +
                                          std::to_string(kLatestVersion) +
                                          "); it was written by a newer kmsd"};
}

// Applies the next migration towards `target` in its own transaction. The version is re-read
// under the write lock, so two processes opening the same file never run a migration twice.
// Sets `*done` when the database is already at `target` or later.
Result<void> ApplyNext(sqlite3* db, int target, bool* done) {
  KMS_ASSIGN_OR_RETURN(auto txn, Transaction::Begin(db));
  KMS_ASSIGN_OR_RETURN(auto version, SchemaVersion(db));
  if (version > kLatestVersion) return TooNew(version);
  if (version < 0) {
    return Error{Error::Code::kCorrupt,
                 "database schema version " + std::to_string(version) + " is invalid"};
  }
  if (version >= target) {
    *done = true;
    return {};  // nothing written; the transaction rolls back
  }
  // An empty database bound for the latest version gets the latest schema in one step.
  const bool fresh = version == 0 && target == kLatestVersion;
  const std::string set_latest = "PRAGMA user_version = " + std::to_string(kLatestVersion);
  const Migration& migration = kMigrations[static_cast<std::size_t>(version)];
  const int produces = fresh ? kLatestVersion : migration.version;
  std::vector<const char*> steps;
  if (fresh) {
    steps.assign(kLatestSchema.begin(), kLatestSchema.end());
    steps.push_back(set_latest.c_str());
  } else {
    steps.assign(migration.steps.begin(), migration.steps.end());
  }
  for (const char* sql : steps) {
    if (sql == nullptr) continue;
    const int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) {
      return SqliteError(db, rc,
                         fresh ? std::string("creating the schema")
                               : "schema migration " + std::to_string(migration.version));
    }
  }
  KMS_ASSIGN_OR_RETURN(auto migrated, SchemaVersion(db));
  if (migrated != produces) {
    return Error{Error::Code::kIo, "schema migration " + std::to_string(produces) +
                                       " left user_version at " + std::to_string(migrated)};
  }
  return txn.Commit();
}

}  // namespace

int LatestSchemaVersion() { return kLatestVersion; }

Result<int> SchemaVersion(sqlite3* db) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &raw, nullptr);
  const StmtHandle stmt(raw);
  if (rc != SQLITE_OK) return SqliteError(db, rc, "read schema version");
  rc = sqlite3_step(stmt.get());
  if (rc != SQLITE_ROW) return SqliteError(db, rc, "read schema version");
  return sqlite3_column_int(stmt.get(), 0);
}

Result<void> Migrate(sqlite3* db) { return MigrateTo(db, kLatestVersion); }

Result<void> MigrateTo(sqlite3* db, int target) {
  if (target < 0 || target > kLatestVersion) {
    return Error{Error::Code::kIo, "no schema version " + std::to_string(target)};
  }
  // Fast path without the write lock: an up-to-date database needs nothing.
  KMS_ASSIGN_OR_RETURN(auto version, SchemaVersion(db));
  if (version > kLatestVersion) return TooNew(version);
  if (version >= target && version >= 0) return {};
  for (bool done = false; !done;) {
    KMS_TRY(ApplyNext(db, target, &done));
  }
  return {};
}

}  // namespace kms::storage
