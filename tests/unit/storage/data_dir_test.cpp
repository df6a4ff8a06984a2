// PrepareDataDirectory: creates a missing directory 0700, and refuses one kmsd cannot write
// (as root too: a read-only mount stops everyone) or should not trust (another user's, or
// writable by others), a symbolic link or an empty file in kms.db's place, and a directory
// another kmsd holds, with a message naming it and the cause.
#include "storage/data_dir.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/unit/storage/test_util.hpp"

namespace kms::storage {
namespace {

using testing::FileMode;
using testing::FileNames;
using testing::ScopedUmask;
using testing::TempDir;

std::string ErrorOf(const std::filesystem::path& dir, Error::Code code = Error::Code::kIo) {
  auto prepared = PrepareDataDirectory(dir);
  REQUIRE_FALSE(prepared);
  CHECK(prepared.error().code == code);
  return prepared.error().message;
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// A read-only tmpfs mounted over a directory for the scope; mounted() is false where mounting
// is not permitted (not root, or a container without CAP_SYS_ADMIN).
class ReadOnlyMount {
 public:
  explicit ReadOnlyMount(const std::filesystem::path& at) : at_(at) {
    // mode=0700: a tmpfs root is 1777 by default, which the data directory checks refuse.
    mounted_ = ::mount("tmpfs", at.c_str(), "tmpfs", MS_RDONLY, "size=64k,mode=0700") == 0;
  }
  ~ReadOnlyMount() {
    if (mounted_) ::umount2(at_.c_str(), MNT_DETACH);
  }
  ReadOnlyMount(const ReadOnlyMount&) = delete;
  ReadOnlyMount& operator=(const ReadOnlyMount&) = delete;
  bool mounted() const { return mounted_; }

 private:
  std::filesystem::path at_;
  bool mounted_ = false;
};

TEST_CASE("A missing data directory is created, with its parents", "[storage][data_dir]") {
  TempDir tmp;
  const auto dir = tmp.path() / "a" / "b";
  auto prepared = PrepareDataDirectory(dir);
  REQUIRE(prepared);
  CHECK(prepared->path() == dir);
  CHECK(prepared->db_path() == dir / "kms.db");
  CHECK(std::filesystem::is_directory(dir));
  CHECK(FileNames(dir) == std::vector<std::string>{"kmsd.lock"});  // nothing else written
}

TEST_CASE("An existing writable data directory is used as it is", "[storage][data_dir]") {
  TempDir tmp;
  std::ofstream(tmp.File("kms.db")) << "left alone";
  auto prepared = PrepareDataDirectory(tmp.path());
  REQUIRE(prepared);
  CHECK(prepared->db_path() == tmp.path() / "kms.db");
  CHECK(std::filesystem::file_size(tmp.File("kms.db")) == 10);
}

TEST_CASE("A data directory reached through a symbolic link gives kms.db's resolved path",
          "[storage][data_dir]") {
  TempDir tmp;
  std::filesystem::create_directory(tmp.path() / "real");
  std::filesystem::create_directory_symlink(tmp.path() / "real", tmp.path() / "link");
  auto prepared = PrepareDataDirectory(tmp.path() / "link");
  REQUIRE(prepared);
  CHECK(prepared->path() == tmp.path() / "link");
  // SQLite is opened with SQLITE_OPEN_NOFOLLOW, which refuses a link anywhere in the path.
  CHECK(prepared->db_path() == tmp.path() / "real" / "kms.db");
}

// ---- issue 17, item 4: the data directory is private ---------------------------------------

TEST_CASE("kmsd creates the data directory 0700 and its lock file 0600 whatever the umask",
          "[storage][data_dir][regression][issue17]") {
  TempDir tmp;
  const ScopedUmask no_umask(0);
  const std::string name = GENERATE(as<std::string>{}, "data", "parent/data", "data/");
  CAPTURE(name);
  const auto dir = tmp.path() / name;
  auto prepared = PrepareDataDirectory(dir);
  REQUIRE(prepared);
  CHECK(FileMode(dir) == 0700);
  CHECK(FileMode(dir / "kmsd.lock") == 0600);
}

TEST_CASE("An existing data directory writable by group or others is refused and left alone",
          "[storage][data_dir][regression][issue17]") {
  TempDir tmp;
  const auto dir = tmp.path() / "data";
  std::filesystem::create_directory(dir);
  const unsigned mode = GENERATE(0770u, 0702u, 0777u, 01777u, 0730u);
  CAPTURE(mode);
  REQUIRE(::chmod(dir.c_str(), static_cast<mode_t>(mode)) == 0);
  char octal[8];
  std::snprintf(octal, sizeof octal, "%04o", mode);
  CHECK(ErrorOf(dir) == "data directory " + dir.string() +
                            " is writable by group or others (mode " + octal +
                            "); run 'chmod go-w " + dir.string() + "'");
  CHECK(FileMode(dir) == mode);  // not chmodded: it may be the user's own directory
  CHECK(std::filesystem::is_empty(dir));
}

TEST_CASE("An existing data directory readable by others is used as it is", "[storage][data_dir]") {
  TempDir tmp;
  const auto dir = tmp.path() / "data";
  std::filesystem::create_directory(dir);
  REQUIRE(::chmod(dir.c_str(), 0755) == 0);
  REQUIRE(PrepareDataDirectory(dir));
  CHECK(FileMode(dir) == 0755);
}

TEST_CASE("A data directory owned by another user is refused",
          "[storage][data_dir][regression][issue17]") {
  if (::geteuid() != 0) {
    WARN("skipped: only root can give a directory to another user");
    return;
  }
  TempDir tmp;
  const auto dir = tmp.path() / "data";
  std::filesystem::create_directory(dir);
  REQUIRE(::chmod(dir.c_str(), 0700) == 0);
  REQUIRE(::chown(dir.c_str(), 65534, 65534) == 0);
  CHECK(ErrorOf(dir) == "data directory " + dir.string() +
                            " is owned by uid 65534, not by kmsd's user (uid 0); run kmsd as its "
                            "owner or use another directory");
  CHECK(std::filesystem::is_empty(dir));
}

TEST_CASE("A database file that is a symbolic link is refused, even one that dangles",
          "[storage][data_dir][regression][issue17]") {
  TempDir tmp;
  const auto dir = tmp.path() / "data";
  std::filesystem::create_directory(dir);
  std::ofstream(tmp.File("elsewhere")) << "someone else's file";
  REQUIRE(::chmod(tmp.File("elsewhere").c_str(), 0644) == 0);
  const std::string name =
      GENERATE(as<std::string>{}, "kms.db", "kms.db-wal", "kms.db-shm", "kms.db-journal");
  const bool dangling = GENERATE(false, true);
  CAPTURE(name, dangling);
  if (name != "kms.db") std::ofstream(dir / "kms.db") << "a database";
  std::filesystem::create_symlink(tmp.path() / (dangling ? "nowhere" : "elsewhere"), dir / name);
  CHECK(ErrorOf(dir) == "database file " + (dir / name).string() +
                            " is a symbolic link, which kmsd does not follow; put the file itself "
                            "there");
  CHECK(FileMode(tmp.path() / "elsewhere") == 0644);  // not tightened through the link
  CHECK_FALSE(std::filesystem::exists(tmp.path() / "nowhere"));
}

TEST_CASE("A database file that is not a regular file is refused",
          "[storage][data_dir][regression][issue17]") {
  TempDir tmp;
  std::filesystem::create_directory(tmp.path() / "kms.db-wal");
  std::ofstream(tmp.File("kms.db")) << "a database";
  CHECK(ErrorOf(tmp.path()) ==
        "database file " + tmp.File("kms.db-wal") + " is not a regular file");
}

TEST_CASE("An empty kms.db is refused as damaged, saying what to do",
          "[storage][data_dir][regression][issue17]") {
  TempDir tmp;
  std::ofstream{tmp.File("kms.db")};
  REQUIRE(std::filesystem::file_size(tmp.File("kms.db")) == 0);
  CHECK(ErrorOf(tmp.path(), Error::Code::kCorrupt) ==
        "database file " + tmp.File("kms.db") +
            " is empty (0 bytes), so it is damaged: kmsd never leaves an empty one; move it away "
            "and kmsd will create a new database");
  CHECK(std::filesystem::file_size(tmp.File("kms.db")) == 0);  // left for the user to inspect
}

TEST_CASE("Existing database files open to group or others are tightened to 0600",
          "[storage][data_dir][regression][issue17]") {
  TempDir tmp;
  const std::vector<std::pair<std::string, unsigned>> files = {
      {"kms.db", 0644}, {"kms.db-wal", 0664}, {"kms.db-shm", 0666}, {"kms.db-journal", 0640}};
  for (const auto& [name, mode] : files) {
    std::ofstream(tmp.File(name)) << "contents of " << name;
    REQUIRE(::chmod(tmp.File(name).c_str(), static_cast<mode_t>(mode)) == 0);
  }
  std::ofstream(tmp.File("kms.db.other")) << "not ours";
  REQUIRE(::chmod(tmp.File("kms.db.other").c_str(), 0644) == 0);
  REQUIRE(PrepareDataDirectory(tmp.path()));
  for (const auto& [name, mode] : files) {
    CAPTURE(name);
    CHECK(FileMode(tmp.path() / name) == 0600);
    CHECK(ReadFile(tmp.path() / name) == "contents of " + name);
  }
  CHECK(FileMode(tmp.path() / "kms.db.other") == 0644);
}

// ---- issue 17, item 5: one process per data directory -------------------------------------

TEST_CASE("A second lock on a data directory fails naming the holder, until it is released",
          "[storage][data_dir][regression][issue17]") {
  TempDir tmp;
  const auto dir = tmp.path() / "data";
  const std::string pid = std::to_string(::getpid());
  std::optional<DataDirectory> first;
  {
    auto prepared = PrepareDataDirectory(dir);
    REQUIRE(prepared);
    first.emplace(std::move(*prepared));  // the moved-from result gives up nothing
  }
  CHECK(ReadFile(dir / "kmsd.lock") == pid + "\n");
  // Left by an older kmsd after the first start: the refused start must not touch it.
  std::ofstream(dir / "kms.db") << "a database";
  REQUIRE(::chmod((dir / "kms.db").c_str(), 0644) == 0);

  // flock locks belong to an open file description, so a second open in this process
  // conflicts just as another process's would.
  CHECK(ErrorOf(dir, Error::Code::kBusy) ==
        "data directory " + dir.string() + " is in use by another kmsd (pid " + pid + ")");
  CHECK(FileMode(dir / "kms.db") == 0644);
  CHECK(ReadFile(dir / "kmsd.lock") == pid + "\n");

  DataDirectory moved = std::move(*first);  // moving keeps the lock
  first.reset();
  CHECK(ErrorOf(dir, Error::Code::kBusy).find("is in use by another kmsd") != std::string::npos);

  { const DataDirectory released = std::move(moved); }  // destroyed: the lock is released
  auto again = PrepareDataDirectory(dir);
  REQUIRE(again);
  CHECK(FileMode(dir / "kms.db") == 0600);
  CHECK(ReadFile(dir / "kmsd.lock") == pid + "\n");
}

TEST_CASE("A longer pid left in the lock file is replaced, not overwritten in part",
          "[storage][data_dir][regression][issue17]") {
  TempDir tmp;
  std::ofstream(tmp.File("kmsd.lock")) << "123456789012\n";
  REQUIRE(PrepareDataDirectory(tmp.path()));
  CHECK(ReadFile(tmp.path() / "kmsd.lock") == std::to_string(::getpid()) + "\n");
}

TEST_CASE("A lock file that is a symbolic link is refused",
          "[storage][data_dir][regression][issue17]") {
  TempDir tmp;
  const auto dir = tmp.path() / "data";
  std::filesystem::create_directory(dir);
  std::filesystem::create_symlink(tmp.path() / "target", dir / "kmsd.lock");
  CHECK(ErrorOf(dir) == "cannot lock data directory " + dir.string() + ": " +
                            (dir / "kmsd.lock").string() + " is a symbolic link");
  CHECK_FALSE(std::filesystem::exists(tmp.path() / "target"));
}

TEST_CASE("A data directory path that is a file is refused", "[storage][data_dir]") {
  TempDir tmp;
  std::ofstream(tmp.File("plain")) << "x";
  CHECK(ErrorOf(tmp.path() / "plain") ==
        "cannot open data directory " + tmp.File("plain") + ": not a directory");
  CHECK(ErrorOf(tmp.path() / "plain" / "sub") ==
        "cannot create data directory " + tmp.File("plain/sub") + ": not a directory");
}

TEST_CASE("A data directory kmsd may not write is refused, naming it and the cause",
          "[storage][data_dir]") {
  TempDir tmp;
  const auto dir = tmp.path() / "data";
  std::filesystem::create_directory(dir);
  if (::geteuid() == 0) {
    // File modes do not stop root; a read-only mount does.
    ReadOnlyMount ro(dir);
    if (!ro.mounted()) {
      WARN("skipped: running as root and mount(2) is not permitted here");
      return;
    }
    CHECK(ErrorOf(dir) == "cannot open data directory " + dir.string() + ": read-only file system");
    CHECK(ErrorOf(dir / "sub") ==
          "cannot create data directory " + (dir / "sub").string() + ": read-only file system");
  } else {
    std::filesystem::permissions(
        dir, std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
    CHECK(ErrorOf(dir) == "cannot open data directory " + dir.string() + ": permission denied");
  }
}

}  // namespace
}  // namespace kms::storage
