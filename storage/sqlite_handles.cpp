#include "storage/sqlite_handles.hpp"

#include <string>
#include <utility>

namespace kms::storage {

Error::Code MapSqliteCode(int extended_code) {
  switch (extended_code) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
      return Error::Code::kAlreadyExists;
    case SQLITE_CONSTRAINT_FOREIGNKEY:
      return Error::Code::kNotFound;
    default:
      break;
  }
  switch (extended_code & 0xff) {  // the primary code
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Error::Code::kBusy;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Error::Code::kCorrupt;
    default:
      // SQLITE_FULL, SQLITE_IOERR, SQLITE_READONLY, SQLITE_CANTOPEN, and anything we have no
      // better word for (CHECK/NOT NULL violations, SQLITE_NOMEM, SQLITE_MISUSE): the storage
      // failed; the message carries SQLite's own text.
      return Error::Code::kIo;
  }
}

Error SqliteError(sqlite3* db, int rc, std::string_view context) {
  int code = rc;
  std::string message(context);
  message += ": ";
  if (db != nullptr) {
    // sqlite3_extended_errcode describes the most recent failed call on `db`; trust it only
    // if it agrees with the primary code we were handed.
    const int extended = sqlite3_extended_errcode(db);
    if ((extended & 0xff) == (rc & 0xff)) code = extended;
    message += sqlite3_errmsg(db);
  } else {
    message += sqlite3_errstr(rc);
  }
  message += " (";
  message += sqlite3_errstr(code);
  message += ")";
  return Error{MapSqliteCode(code), std::move(message)};
}

Result<void> Exec(sqlite3* db, const char* sql) {
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return SqliteError(db, rc, "exec");
  return {};
}

Result<Transaction> Transaction::Begin(sqlite3* db) {
  const int rc = sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return SqliteError(db, rc, "begin transaction");
  return Transaction(db);
}

Transaction::Transaction(Transaction&& other) noexcept : db_(std::exchange(other.db_, nullptr)) {}

Transaction::~Transaction() {
  // A failed COMMIT (or some I/O errors) may already have rolled back; sqlite3_get_autocommit
  // tells us whether a transaction is still open.
  if (db_ != nullptr && sqlite3_get_autocommit(db_) == 0) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
}

Result<void> Transaction::Commit() {
  const int rc = sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return SqliteError(db_, rc, "commit");
  db_ = nullptr;
  return {};
}

}  // namespace kms::storage
