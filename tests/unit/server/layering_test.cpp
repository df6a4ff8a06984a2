// The layers of README.md's Layout section, checked on the source tree: each folder includes
// only headers of its own layer and of the layers below it. A file that reaches up (the
// transport naming the registry, storage naming a handler) fails here with its line.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include <catch2/catch.hpp>

namespace {

namespace fs = std::filesystem;

fs::path SourceRoot() {
  const char* root = std::getenv("KMSD_SOURCE_DIR");  // set by kmsd_add_unit_test
  REQUIRE(root != nullptr);
  return root;
}

// Every `#include "..."` of every .hpp/.cpp under `folder`, as "file:line: path".
std::vector<std::pair<std::string, std::string>> ProjectIncludes(const fs::path& folder) {
  std::vector<std::pair<std::string, std::string>> found;
  for (const auto& entry : fs::recursive_directory_iterator(folder)) {
    const auto ext = entry.path().extension();
    if (ext != ".hpp" && ext != ".cpp") continue;
    std::ifstream in(entry.path());
    std::string line;
    for (int number = 1; std::getline(in, line); ++number) {
      constexpr std::string_view kInclude = "#include \"";
      if (line.rfind(kInclude, 0) != 0) continue;
      const auto end = line.find('"', kInclude.size());
      found.emplace_back(
          entry.path().lexically_relative(SourceRoot()).string() + ":" + std::to_string(number),
          line.substr(kInclude.size(), end - kInclude.size()));
    }
  }
  return found;
}

bool StartsWithAny(std::string_view path, const std::vector<std::string_view>& prefixes) {
  for (std::string_view prefix : prefixes) {
    if (path.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

void CheckLayer(std::string_view folder, const std::vector<std::string_view>& allowed) {
  const auto includes = ProjectIncludes(SourceRoot() / folder);
  REQUIRE_FALSE(includes.empty());  // the folder exists and has code
  for (const auto& [where, path] : includes) {
    INFO(where << " includes " << path);
    CHECK(StartsWithAny(path, allowed));
  }
}

TEST_CASE("The transport includes only itself, base/ and config/", "[layering]") {
  CheckLayer("server/transport", {"server/transport/", "base/", "config/"});
}

TEST_CASE("Storage, domain and crypto include nothing of the server", "[layering]") {
  CheckLayer("storage", {"storage/", "domain/", "base/", "crypto/"});
  CheckLayer("domain", {"domain/", "crypto/", "base/"});
  CheckLayer("crypto", {"crypto/", "base/"});
}

TEST_CASE("base/ includes only itself", "[layering]") { CheckLayer("base", {"base/"}); }

}  // namespace
