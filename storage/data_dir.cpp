#include "storage/data_dir.hpp"

#include "base/try.hpp"

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <string>
#include <sys/file.h>
#include <sys/stat.h>
#include <system_error>
#include <thread>
#include <unistd.h>
#include <utility>
#include <vector>

namespace kms::storage {
namespace {

// The companions SQLite may keep beside kms.db, each named kms.db + suffix.
constexpr const char* kCompanionSuffixes[] = {"-wal", "-shm", "-journal"};

// "Read-only file system" -> "read-only file system", to follow "DIR: " mid-sentence.
std::string Cause(const std::error_code& ec) {
  std::string text = ec.message();
  if (!text.empty()) text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
  return text;
}

std::error_code LastError() { return {errno, std::generic_category()}; }

Error DirectoryError(const char* what, const std::filesystem::path& dir,
                     const std::error_code& ec) {
  return Error{Error::Code::kIo,
               std::string(what) + " data directory " + dir.string() + ": " + Cause(ec)};
}

// "0775": permission bits (and set-id/sticky bits) in the octal form chmod takes.
std::string OctalMode(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

// `dir` without trailing slashes ("a/b/" -> "a/b"), so that parent_path() is its parent.
std::filesystem::path WithoutTrailingSlash(const std::filesystem::path& dir) {
  std::string text = dir.string();
  while (text.size() > 1 && text.back() == '/') text.pop_back();
  return text;
}

// Creates `dir` 0700 (its missing parents with the default mode). Sets `created` if this call
// made it; an existing `dir`, of whatever type, is success here (opening it tells the rest).
Result<void> CreateDirectory(const std::filesystem::path& dir, bool& created) {
  created = false;
  for (int attempt = 0;; ++attempt) {
    if (::mkdir(dir.c_str(), 0700) == 0) {
      created = true;
      return {};
    }
    if (errno == EEXIST) return {};
    if (errno != ENOENT || attempt > 0) return DirectoryError("cannot create", dir, LastError());
    std::error_code ec;
    std::filesystem::create_directories(WithoutTrailingSlash(dir).parent_path(), ec);
    if (ec) {
      // Also an existing non-directory among the parents: "not a directory".
      if (ec == std::errc::file_exists) ec = std::make_error_code(std::errc::not_a_directory);
      return DirectoryError("cannot create", dir, ec);
    }
  }
}

// The directory must be ours alone: another user who can write into it could replace kms.db.
Result<void> CheckOwnerAndMode(const std::filesystem::path& dir, const struct stat& st) {
  const uid_t euid = ::geteuid();
  if (st.st_uid != euid) {
    return Error{Error::Code::kIo, "data directory " + dir.string() + " is owned by uid " +
                                       std::to_string(st.st_uid) + ", not by kmsd's user (uid " +
                                       std::to_string(euid) +
                                       "); run kmsd as its owner or use another directory"};
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return Error{Error::Code::kIo,
                 "data directory " + dir.string() + " is writable by group or others (mode " +
                     OctalMode(st.st_mode) + "); run 'chmod go-w " + dir.string() + "'"};
  }
  return {};
}

// The pid in a lock file, or 0 if none is there (yet: its owner writes it just after locking).
long ReadOwnerPid(int fd) {
  for (int attempt = 0; attempt < 50; ++attempt) {
    char text[32] = {};
    const ssize_t n = ::pread(fd, text, sizeof text - 1, 0);
    if (n > 0) {
      char* end = nullptr;
      const long pid = std::strtol(text, &end, 10);
      if (end != text && pid > 0) return pid;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return 0;
}

// Takes the directory's lock; returns the lock file's descriptor, which holds it.
Result<UniqueFd> LockDirectory(const std::filesystem::path& dir, int dir_fd) {
  auto lock_error = [&](const std::string& cause) {
    return Error{Error::Code::kIo, "cannot lock data directory " + dir.string() + ": " + cause};
  };
  const std::string lock_path = (dir / kLockFileName).string();
  UniqueFd fd(::openat(dir_fd, kLockFileName,
                       O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0600));
  if (fd.get() < 0) {
    if (errno == ELOOP) return lock_error(lock_path + " is a symbolic link");
    return lock_error("cannot open " + lock_path + ": " + Cause(LastError()));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    return lock_error("stat " + lock_path + ": " + Cause(LastError()));
  }
  if (!S_ISREG(st.st_mode)) return lock_error(lock_path + " is not a regular file");
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) return lock_error(Cause(LastError()));
    const long pid = ReadOwnerPid(fd.get());
    return Error{Error::Code::kBusy,
                 "data directory " + dir.string() + " is in use by another kmsd" +
                     (pid > 0 ? " (pid " + std::to_string(pid) + ")" : std::string())};
  }
  // Ours now. An older kmsd's file, or a umask, may have left it open to others, who could
  // then hold the lock from outside.
  if ((st.st_mode & 077) != 0) (void)::fchmod(fd.get(), 0600);
  // The pid, for the message above. Best effort: with the disk full kmsd still serves reads.
  // Written before truncating, so that a reader never sees the file empty between the two.
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::pwrite(fd.get(), pid.data(), pid.size(), 0) == static_cast<ssize_t>(pid.size())) {
    (void)::ftruncate(fd.get(), static_cast<off_t>(pid.size()));
  }
  return fd;
}

// Checks kms.db and its companions, where they exist, without following links.
Result<void> CheckDatabaseFiles(const std::filesystem::path& dir, int dir_fd) {
  std::vector<std::string> names = {kDatabaseFileName};
  for (const char* suffix : kCompanionSuffixes)
    names.push_back(kDatabaseFileName + std::string(suffix));
  for (const std::string& name : names) {
    const std::string shown = (dir / name).string();
    struct stat st {};
    if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;
      return Error{Error::Code::kIo,
                   "cannot open database file " + shown + ": " + Cause(LastError())};
    }
    if (S_ISLNK(st.st_mode)) {
      return Error{
          Error::Code::kIo,
          "database file " + shown +
              " is a symbolic link, which kmsd does not follow; put the file itself there"};
    }
    if (!S_ISREG(st.st_mode)) {
      return Error{Error::Code::kIo, "database file " + shown + " is not a regular file"};
    }
    if (name == kDatabaseFileName && st.st_size == 0) {
      return Error{Error::Code::kCorrupt,
                   "database file " + shown +
                       " is empty (0 bytes), so it is damaged: kmsd never leaves an empty one; "
                       "move it away and kmsd will create a new database"};
    }
    if ((st.st_mode & 077) != 0) {
      // Not a link (checked above), in a directory no one else may write: safe to follow.
      const mode_t tightened = st.st_mode & 0700;
      if (::fchmodat(dir_fd, name.c_str(), tightened, 0) != 0) {
        return Error{Error::Code::kIo, "cannot make database file " + shown + " private (mode " +
                                           OctalMode(st.st_mode) + " to " + OctalMode(tightened) +
                                           "): " + Cause(LastError())};
      }
    }
  }
  return {};
}

}  // namespace

Result<DataDirectory> PrepareDataDirectory(const std::filesystem::path& dir) {
  bool created = false;
  KMS_TRY(CreateDirectory(dir, created));
  // Everything below goes through this descriptor, so it is about one directory throughout.
  const UniqueFd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir_fd.get() < 0) return DirectoryError("cannot open", dir, LastError());
  // mkdir applied the umask to 0700; we made it, so make it exactly 0700.
  if (created && ::fchmod(dir_fd.get(), 0700) != 0) {
    return DirectoryError("cannot create", dir, LastError());
  }
  struct stat st {};
  if (::fstat(dir_fd.get(), &st) != 0) return DirectoryError("cannot open", dir, LastError());
  KMS_TRY(CheckOwnerAndMode(dir, st));
  // AT_EACCESS: as the effective user, the one that will create the files. W_OK fails with
  // EROFS on a read-only mount whoever asks, and with EACCES when the modes forbid it.
  if (::faccessat(dir_fd.get(), ".", W_OK | X_OK, AT_EACCESS) != 0) {
    return DirectoryError("cannot open", dir, LastError());
  }
  // Before looking at any file, so that a second kmsd touches nothing.
  KMS_ASSIGN_OR_RETURN(UniqueFd lock, LockDirectory(dir, dir_fd.get()));
  DataDirectory prepared(dir, std::move(lock));  // from here on, releases the lock on failure
  KMS_TRY(CheckDatabaseFiles(dir, dir_fd.get()));
  std::error_code ec;
  std::filesystem::path resolved = std::filesystem::canonical(dir, ec);
  if (ec) return DirectoryError("cannot open", dir, ec);
  prepared.db_path_ = resolved / kDatabaseFileName;
  return prepared;
}

}  // namespace kms::storage
