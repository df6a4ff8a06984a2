// File: sqlite_handles.hpp
//
// RAII over the two SQLite handle types, the one place where SQLite result codes become
// storage::Error, and a Transaction guard. There are no naked sqlite3_close_v2 or
// sqlite3_finalize calls outside this file.
//
//   DbHandle db = ...;
//   KMS_ASSIGN_OR_RETURN(Transaction txn, Transaction::Begin(db.get()));
//   ... statements ...
//   return txn.Commit();           // anything else (early return) rolls back
//
// Thread-safety: none of these types is thread-safe; the owner of the connection serialises
// access (SqliteStore holds its mutex around every use).
#pragma once

#include <memory>
#include <string_view>

#include <sqlite3.h>

#include "storage/store.hpp"

namespace kms::storage {

struct SqliteClose {
  void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};
using DbHandle = std::unique_ptr<sqlite3, SqliteClose>;

struct SqliteFinalize {
  void operator()(sqlite3_stmt* stmt) const noexcept { sqlite3_finalize(stmt); }
};
using StmtHandle = std::unique_ptr<sqlite3_stmt, SqliteFinalize>;

// Maps an (extended) SQLite result code to a storage error code:
//   SQLITE_CONSTRAINT_UNIQUE / _PRIMARYKEY         -> kAlreadyExists
//   SQLITE_CONSTRAINT_FOREIGNKEY                   -> kNotFound (the referenced key is absent)
//   SQLITE_BUSY / SQLITE_LOCKED                    -> kBusy
//   SQLITE_CORRUPT / SQLITE_NOTADB                 -> kCorrupt
//   SQLITE_FULL / IOERR / READONLY / CANTOPEN, and everything else -> kIo
// REQUIRES: code is an error code (not SQLITE_OK, SQLITE_ROW or SQLITE_DONE).
Error::Code MapSqliteCode(int extended_code);

// The error for a failed call on `db` that returned `rc`: the code comes from
// sqlite3_extended_errcode(db) when `db` is non-null (falling back to `rc`), and the message
// is "<context>: <sqlite3_errmsg> (<sqlite3_errstr>)".
Error SqliteError(sqlite3* db, int rc, std::string_view context);

// Runs `sql` (one or more statements, no parameters, no results) with sqlite3_exec.
// Only for fixed SQL text written in this module: DDL, PRAGMAs, BEGIN/COMMIT.
Result<void> Exec(sqlite3* db, const char* sql);

// BEGIN IMMEDIATE ... COMMIT. The destructor rolls back unless Commit() succeeded, so an
// early error return leaves the database unchanged. Nested transactions are not supported.
class Transaction {
 public:
  // Takes the write lock now (BEGIN IMMEDIATE), so a busy database fails here with kBusy
  // rather than half way through. Errors: kBusy, kIo.
  static Result<Transaction> Begin(sqlite3* db);

  Transaction(Transaction&& other) noexcept;
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();

  // Commits. On failure the transaction is rolled back (by the destructor) and the error
  // returned. Errors: kBusy, kIo, kAlreadyExists/kNotFound (deferred constraint failures).
  Result<void> Commit();

 private:
  explicit Transaction(sqlite3* db) : db_(db) {}

  sqlite3* db_;  // not owned; nullptr once committed or moved from
};

}  // namespace kms::storage
