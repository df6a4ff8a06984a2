// File: sqlite_statement.hpp
//
// Prepared statements, cached per connection. Every value goes in through a Bind*() call
// (sqlite3_bind_*); SQL text is always a literal of this module, never assembled at run time.
//
//   StatementCache cache(db);
//   KMS_ASSIGN_OR_RETURN(Statement stmt,
//                        cache.Prepare("SELECT name FROM aliases WHERE account = ?1 AND region =
//                        ?2"));
//   stmt.BindText(1, scope.account).BindText(2, scope.region);
//   for (;;) {
//     KMS_ASSIGN_OR_RETURN(const bool row, stmt.Step());
//     if (!row) break;
//     Use(stmt.Text(0));
//   }                                  // ~Statement resets it and clears its bindings
//
// Thread-safety: none. A StatementCache belongs to one connection and is used under the
// connection owner's mutex.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <sqlite3.h>

#include "storage/sqlite_handles.hpp"
#include "storage/store.hpp"

namespace kms::storage {

// One use of a cached prepared statement. Move-only; the destructor calls sqlite3_reset and
// sqlite3_clear_bindings, so the next user of the same SQL starts clean.
class Statement {
 public:
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&&) = delete;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  // Binders take 1-based parameter indexes. Values are copied (SQLITE_TRANSIENT). A bind
  // failure is remembered and returned by the next Step()/Run(), so calls can be chained.
  Statement& BindText(int index, std::string_view text);
  Statement& BindInt(int index, std::int64_t value);
  Statement& BindOptionalInt(int index, std::optional<std::int64_t> value);  // NULL if empty
  Statement& BindBlob(int index, std::span<const std::uint8_t> bytes);       // empty != NULL
  Statement& BindNull(int index);
  // NULL if empty; else the text.
  Statement& BindOptionalText(int index, std::optional<std::string_view> text);

  // Advances: true if a row is ready for the column readers, false when done.
  // Errors: see MapSqliteCode.
  Result<bool> Step();

  // Steps a statement that returns no rows to completion; returns sqlite3_changes64.
  Result<std::int64_t> Run();

  // Column readers (0-based). REQUIRES: the last Step() returned true. NULL reads as
  // "" / 0 / empty; use IsNull() where NULL means something.
  bool IsNull(int column) const;
  std::int64_t Int(int column) const;
  std::optional<std::int64_t> OptionalInt(int column) const;
  std::string Text(int column) const;
  // The same text without a copy. Valid until the next Step(), reset or column read of
  // another type on this column.
  std::string_view TextView(int column) const;
  std::vector<std::uint8_t> Blob(int column) const;

 private:
  sqlite3* db_;         // not owned
  sqlite3_stmt* stmt_;  // owned by the StatementCache; nullptr once moved from
  int bind_rc_ = SQLITE_OK;
};

// Prepares each distinct SQL text once per connection (SQLITE_PREPARE_PERSISTENT) and hands
// out Statements over it.
class StatementCache {
 public:
  explicit StatementCache(sqlite3* db) : db_(db) {}
  StatementCache(const StatementCache&) = delete;
  StatementCache& operator=(const StatementCache&) = delete;

  // Returns the statement for `sql`, preparing it on first use.
  // REQUIRES: `sql` is one statement and outlives the cache (a string literal); no other
  // Statement for the same `sql` is alive.
  // Errors: kIo (bad SQL, which is a bug), kBusy, kCorrupt.
  Result<Statement> Prepare(std::string_view sql);

  std::size_t size() const { return stmts_.size(); }

 private:
  sqlite3* db_;  // not owned; must outlive the cache
  std::unordered_map<std::string_view, StmtHandle> stmts_;
};

}  // namespace kms::storage
