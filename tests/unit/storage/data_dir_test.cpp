// PrepareDataDirectory: creates a missing directory, and refuses one kmsd cannot write with a
// message naming it and the cause, as root too (a read-only mount stops everyone).
#include "storage/data_dir.hpp"

#include <filesystem>
#include <fstream>
#include <string>
#include <sys/mount.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "tests/unit/storage/test_util.hpp"

namespace kms::storage {
namespace {

using testing::TempDir;

std::string ErrorOf(const std::filesystem::path& dir) {
  auto prepared = PrepareDataDirectory(dir);
  REQUIRE_FALSE(prepared);
  CHECK(prepared.error().code == Error::Code::kIo);
  return prepared.error().message;
}

// A read-only tmpfs mounted over a directory for the scope; mounted() is false where mounting
// is not permitted (not root, or a container without CAP_SYS_ADMIN).
class ReadOnlyMount {
 public:
  explicit ReadOnlyMount(const std::filesystem::path& at) : at_(at) {
    mounted_ = ::mount("tmpfs", at.c_str(), "tmpfs", MS_RDONLY, "size=64k") == 0;
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
  CHECK(*prepared == dir / "kms.db");
  CHECK(std::filesystem::is_directory(dir));
  CHECK(std::filesystem::is_empty(dir));  // nothing written into it
}

TEST_CASE("An existing writable data directory is used as it is", "[storage][data_dir]") {
  TempDir tmp;
  std::ofstream(tmp.File("kms.db")) << "left alone";
  auto prepared = PrepareDataDirectory(tmp.path());
  REQUIRE(prepared);
  CHECK(*prepared == tmp.path() / "kms.db");
  CHECK(std::filesystem::file_size(tmp.File("kms.db")) == 10);
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
