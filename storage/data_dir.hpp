// File: data_dir.hpp
//
// The data directory kmsd keeps kms.db in, checked once at startup so that a directory kmsd
// cannot write, or should not trust, fails with one clear line instead of a SQLite error about
// a temporary file; and locked for the life of the process, so that two kmsd never serve one
// database (each would load it once and then serve its own diverging state):
//
//   auto data_dir = storage::PrepareDataDirectory(config.data_dir);
//   if (!data_dir) return Fail(data_dir.error().message);
//   // "cannot open data directory /data: read-only file system"
//   // "data directory /data is in use by another kmsd (pid 4242)"
//   auto store = SqliteStore::Open(data_dir->db_path().string());
//   ...                          // keep *data_dir alive until the store is closed
//
// The directory holds every key in the clear, so it is private: kmsd creates it 0700 and its
// database files 0600 (SqliteStore::Open builds kms.db 0600; SQLite gives -wal and -shm the
// mode of kms.db), and refuses a directory another user could write into.
//
// Thread-safety: PrepareDataDirectory is reentrant and touches only the file system; a
// DataDirectory is an immutable value.
#pragma once

#include <filesystem>
#include <unistd.h>
#include <utility>

#include "storage/store.hpp"

namespace kms::storage {

// The file name of the database inside the data directory.
inline constexpr const char* kDatabaseFileName = "kms.db";
// The lock file inside the data directory: holds the pid of the kmsd that has it locked
// (flock, released when that process exits however it exits). Never removed.
inline constexpr const char* kLockFileName = "kmsd.lock";

// Owns a file descriptor and closes it when destroyed. Move-only; -1 owns nothing.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
      Close();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { Close(); }

  int get() const { return fd_; }

 private:
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  int fd_ = -1;
};

// A prepared data directory, locked for as long as this object lives (destroying it closes the
// lock file, which releases the lock; the file stays). Move-only.
class DataDirectory {
 public:
  // The directory as it was given.
  const std::filesystem::path& path() const { return path_; }
  // kms.db in the directory, by its path with every symbolic link resolved: SQLite, opened
  // with SQLITE_OPEN_NOFOLLOW, refuses a path with a link anywhere in it, and a data
  // directory reached through one (a link to another disk) is legitimate.
  const std::filesystem::path& db_path() const { return db_path_; }

 private:
  friend Result<DataDirectory> PrepareDataDirectory(const std::filesystem::path& dir);
  DataDirectory(std::filesystem::path path, UniqueFd lock)
      : path_(std::move(path)), lock_(std::move(lock)) {}

  std::filesystem::path path_;
  std::filesystem::path db_path_;
  UniqueFd lock_;  // the locked kLockFileName
};

// Prepares `dir` for one kmsd, in this order:
// 1. Creates it 0700 (whatever the umask; missing parents get the default mode) if missing.
//    An existing directory is never chmodded (it may be the user's own) but must be owned by
//    the effective user and not writable by group or others, or anyone could swap kms.db. It
//    must be writable by the effective user: a read-only mount fails even for root, whom file
//    modes do not stop.
// 2. Locks it: creates kLockFileName (0600) if missing, takes an exclusive flock and writes
//    our pid into it (best effort: a full disk must not stop a start).
// 3. Checks the database files that exist: kms.db and its -wal, -shm and -journal must not be
//    symbolic links (checked, like everything here, without following any), kms.db must not
//    be empty (kmsd never leaves an empty one: SqliteStore builds it under another name and
//    links it into place), and group/other permission bits (from kmsd before 0600) are
//    removed.
// Writes nothing else into an existing directory.
// Errors, naming `dir` (or the file) and the cause in lower case:
//   kIo  "cannot create data directory DIR: read-only file system"  (it was missing)
//   kIo  "cannot open data directory DIR: read-only file system"    (also: permission denied,
//                                                                    not a directory, ...)
//   kIo  "data directory DIR is owned by uid N, not by kmsd's user (uid M); ..."
//   kIo  "data directory DIR is writable by group or others (mode 0775); run 'chmod go-w DIR'"
//   kBusy "data directory DIR is in use by another kmsd (pid N)"
//   kIo  "cannot lock data directory DIR: ..."
//   kIo  "database file DIR/kms.db-wal is a symbolic link; ..." (also: not a regular file)
//   kCorrupt "database file DIR/kms.db is empty (0 bytes) ...; move it away ..."
//   kIo  "cannot make database file DIR/kms.db private: ..."
Result<DataDirectory> PrepareDataDirectory(const std::filesystem::path& dir);

}  // namespace kms::storage
