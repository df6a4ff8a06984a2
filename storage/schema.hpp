// File: schema.hpp
//
// The SQLite schema and its numbered migrations, keyed on `PRAGMA user_version`.
// Version 0 is an empty database; migration N takes a database from version N-1 to N. Each
// migration runs in its own transaction, so a crash between migrations leaves a database at
// a well-defined older version, which the next Open() migrates further.
//
// Schema at version 4 (every table is STRICT; every child row goes when its key goes, via
// ON DELETE CASCADE):
//   keys              id INTEGER PRIMARY KEY; (account, region, key_id) UNIQUE; one column
//                     per scalar KeyRecord field (replica_regions: regions joined by ',')
//   key_materials     (key_row, version) PK, WITHOUT ROWID; material_id, bytes BLOB,
//                     created_at, rotation and import columns
//   key_tags          (key_row, position) PK, WITHOUT ROWID; tag_key, tag_value
//   key_policies      (key_row, policy_name) PK, WITHOUT ROWID; text_id -> policy_texts
//                     (name is 'default'); indexed by text_id
//   policy_texts      id INTEGER PRIMARY KEY; text UNIQUE. Each distinct policy text once;
//                     the trigger policy_texts_unused deletes a text with its last
//                     key_policies row
//   key_grants        (key_row, position) PK, WITHOUT ROWID; one grant each
//   key_import_params (key_row, token_id) PK, WITHOUT ROWID; GetParametersForImport results
//   key_last_usage    key_row PK; the last cryptographic use (GetKeyLastUsage)
//   aliases           (account, region, name) PK; (account, region, target_key_id) -> keys;
//                     creation/update dates
//   custom_key_stores (account, region, id) PK; one custom key store each
// key_row is the owning key's keys.id. Version 1 named the key by (account, region, key_id)
// in every child table; version 2 kept each key's policy text in its key_policies row;
// version 3 had none of the rest-of-the-API columns and tables.
//
// A new, empty database gets kLatestSchema directly rather than every migration in turn.
// To change the schema, append one entry to kMigrations in schema.cpp and point kLatestSchema
// at the new tables. Never edit a migration that has shipped: databases in the field have
// already run it.
//
// Thread-safety: the functions take a connection that the caller uses exclusively.
#pragma once

#include <sqlite3.h>

#include "storage/store.hpp"

namespace kms::storage {

// The schema version this build writes (the number of migrations).
int LatestSchemaVersion();

// Reads `PRAGMA user_version`. Errors: kIo, kCorrupt (not a database).
Result<int> SchemaVersion(sqlite3* db);

// Migrates `db` to LatestSchemaVersion(). A no-op for an up-to-date database.
// Errors: kCorrupt if the database is at a version newer than this build knows (written by a
// newer kmsd) or not a database; kBusy; kIo.
Result<void> Migrate(sqlite3* db);

// Migrates `db` up to exactly `target` (tests use this to build databases at old versions).
// REQUIRES: 0 <= target <= LatestSchemaVersion(). A database already past `target` is left
// alone if its version is known, and is kCorrupt if it is newer than LatestSchemaVersion().
Result<void> MigrateTo(sqlite3* db, int target);

}  // namespace kms::storage
