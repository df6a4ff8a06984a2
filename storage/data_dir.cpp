#include "storage/data_dir.hpp"

#include <cctype>
#include <cerrno>
#include <fcntl.h>
#include <string>
#include <system_error>
#include <unistd.h>

namespace kms::storage {
namespace {

// "Read-only file system" -> "read-only file system", to follow "DIR: " mid-sentence.
std::string Cause(const std::error_code& ec) {
  std::string text = ec.message();
  if (!text.empty()) text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
  return text;
}

Error DirectoryError(const char* what, const std::filesystem::path& dir,
                     const std::error_code& ec) {
  return Error{Error::Code::kIo,
               std::string(what) + " data directory " + dir.string() + ": " + Cause(ec)};
}

}  // namespace

Result<std::filesystem::path> PrepareDataDirectory(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    // create_directories also fails on an existing non-directory: report that as "open".
    const bool exists = std::filesystem::exists(dir);
    return DirectoryError(exists ? "cannot open" : "cannot create", dir,
                          exists ? std::make_error_code(std::errc::not_a_directory) : ec);
  }
  // AT_EACCESS: as the effective user, the one that will create the files. W_OK fails with
  // EROFS on a read-only mount whoever asks, and with EACCES when the modes forbid it.
  if (::faccessat(AT_FDCWD, dir.c_str(), W_OK | X_OK, AT_EACCESS) != 0) {
    return DirectoryError("cannot open", dir, std::error_code(errno, std::generic_category()));
  }
  return dir / kDatabaseFileName;
}

}  // namespace kms::storage
