// File: sqlite_store.hpp
//
// SqliteStore: the one real Store, a single SQLite database file (or ":memory:").
//
//   auto store = SqliteStore::Open(data_dir->db_path().string());  // see data_dir.hpp
//   if (!store) return Fail(store.error().message);  // the message names the path
//   auto registry = Registry::Open(std::move(*store));
//
// Start-up: building a new database file costs two fsyncs (about 8 ms on a VM disk), which
// the server moves off its start-up path with Creation::kDeferred: Open only notes that the
// file is missing, LoadAll sees an empty database, and Prepare() (the registry's committer,
// once the server serves) or else the first Apply builds the file, before any change is
// acknowledged.
//
// Durability: WAL journal, synchronous=FULL; each Apply (a batch of changes, each possibly
// many rows: a key with its tags, policy and materials) is one transaction, so a crash leaves
// either the state before the batch or the state after it.
// Layout: see schema.hpp.
//
// Thread-safety: thread-safe. One connection serves every caller, one call at a time, under
// `mu_` (GUARDED_BY annotations, checked by clang: base/thread_annotations.hpp). Other processes
// may open the same file; SQLite's locking plus a busy timeout arbitrates, and a lock not obtained
// in time is kBusy.
#pragma once

#include "base/mutex.hpp"
#include "base/thread_annotations.hpp"

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "storage/records.hpp"
#include "storage/sqlite_handles.hpp"
#include "storage/sqlite_statement.hpp"
#include "storage/store.hpp"

namespace kms::storage {

class SqliteStore final : public Store {
 public:
  // How long a statement waits for another process's lock before failing with kBusy.
  static constexpr int kBusyTimeoutMs = 5000;

  // Opens (creating if needed) the database at `path`, or a private in-memory database for
  // ":memory:", and migrates it to the current schema. A missing file is built complete
  // under a temporary name, made 0600 whatever the umask (SQLite then creates -wal and -shm
  // with the same mode) and linked into place (one sync for the file, one for the
  // directory), so a crash never leaves a half-created database at `path`. For a file, the parent
  // directory must already exist, and no component of `path` may be a symbolic link
  // (SQLITE_OPEN_NOFOLLOW; PrepareDataDirectory gives a resolved path). Errors (the message
  // names `path`): kIo if the path cannot be opened for writing (missing directory, read-only
  // file or directory, not a regular file, a symbolic link);
  // kCorrupt if the file is not a database or was written by a newer kmsd (schema.hpp); kBusy.
  //
  // Creation::kDeferred (a file path only): a missing file is not built here but by Prepare()
  // or the first Apply, whichever comes first; until then the store is empty and LoadAll
  // returns nothing. Building it then fails as Apply does (kIo, kBusy) and is retried by the
  // next Prepare or Apply. The caller must have checked that the directory is writable
  // (PrepareDataDirectory), since that error now comes later. If another process builds the
  // file meanwhile, its contents are not loaded: one data directory serves one kmsd.
  enum class Creation { kNow, kDeferred };
  static Result<std::unique_ptr<SqliteStore>> Open(const std::string& path,
                                                   Creation creation = Creation::kNow);

  ~SqliteStore() override = default;

  // Store (see store.hpp for the contracts).
  Result<Snapshot> LoadAll() override EXCLUDES(mu_);
  // At least the number of keys stored, found in O(log n) (the largest keys.id): for sizing
  // what LoadAll will build. 0 for a database not created yet, or on any error.
  std::size_t KeyCountBound() EXCLUDES(mu_);
  Result<void> Apply(std::span<const Change> changes) override EXCLUDES(mu_);
  Result<void> Prepare() override EXCLUDES(mu_);

  const std::string& path() const { return path_; }

 private:
  SqliteStore(std::string path, DbHandle db);

  // Builds the database file an Open with Creation::kDeferred left missing, then connects to
  // it. No-op once connected.
  Result<void> ConnectIfDeferred() REQUIRES(mu_);

  // One change inside Apply's transaction. REQUIRES: a transaction open.
  Result<void> Write(const change::InsertKey& c) REQUIRES(mu_);
  Result<void> Write(const change::UpdateKey& c) REQUIRES(mu_);
  Result<void> Write(const change::DeleteKey& c) REQUIRES(mu_);
  Result<void> Write(const change::InsertAlias& c) REQUIRES(mu_);
  Result<void> Write(const change::UpdateAlias& c) REQUIRES(mu_);
  Result<void> Write(const change::DeleteAlias& c) REQUIRES(mu_);
  Result<void> Write(const change::InsertCustomKeyStore& c) REQUIRES(mu_);
  Result<void> Write(const change::UpdateCustomKeyStore& c) REQUIRES(mu_);
  Result<void> Write(const change::DeleteCustomKeyStore& c) REQUIRES(mu_);
  Result<void> Write(const change::RecordKeyUsage& c) REQUIRES(mu_);
  Result<void> Write(const change::Reset& c) REQUIRES(mu_);

  const std::string path_;       // immutable
  Mutex mu_;                     // serialises every use of the connection
  DbHandle db_ GUARDED_BY(mu_);  // null until a deferred creation is done
  // Set with db_; declared after it so it is finalized first.
  std::optional<StatementCache> stmts_ GUARDED_BY(mu_);
};

}  // namespace kms::storage
