// File: data_dir.hpp
//
// The data directory kmsd keeps kms.db in, checked once at startup so that a directory kmsd
// cannot write fails with one clear line instead of a SQLite error about a temporary file:
//
//   auto db_path = storage::PrepareDataDirectory(config.data_dir);
//   if (!db_path) return Fail(db_path.error().message);
//   // "cannot open data directory /data: read-only file system"
//   auto store = SqliteStore::Open(db_path->string());
//
// Thread-safety: reentrant; touches only the file system.
#pragma once

#include <filesystem>

#include "storage/store.hpp"

namespace kms::storage {

// The file name of the database inside the data directory.
inline constexpr const char* kDatabaseFileName = "kms.db";

// Creates `dir` (and its parents) if missing, then checks that it is a directory this process
// may create files in, as the effective user: a read-only mount fails even for root, whom file
// modes do not stop. Writes nothing into an existing directory. Returns `dir`/kms.db.
// Errors (kIo), naming `dir` and the cause in lower case:
//   "cannot create data directory DIR: read-only file system"  (it was missing)
//   "cannot open data directory DIR: read-only file system"    (also: permission denied,
//                                                               not a directory, ...)
Result<std::filesystem::path> PrepareDataDirectory(const std::filesystem::path& dir);

}  // namespace kms::storage
