// File: populate_keys.cpp
//
// kmsd_populate: adds N real keys to a kmsd data directory, fast, for the large-database
// benchmarks (bench/run's `keys` and `big` scenarios).
//
//   kmsd_populate --data-dir DIR --add 1000000 [--account A] [--region R]
//                 [--key-ids FILE] [--batch 20000]
//
// Each key is exactly what CreateKey `{}` makes (ops::NewDefaultSymmetricKey: a random key
// id, fresh random AES-256 material from RAND_bytes, the default policy), written with
// kmsd's own storage library (SqliteStore::Open migrates the database, Store::Apply writes
// one transaction per batch), so kmsd opens the result like any database it wrote itself and
// the keys encrypt and decrypt. Key ids are appended to --key-ids, one per line.
//
// kmsd must not be running on DIR (a running kmsd would not see the new keys until it
// restarts): the data directory's lock makes this fail if it is, and a kmsd started
// meanwhile fail.
//
// Thread-safety: a single-threaded program.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "server/ops/keys.hpp"
#include "storage/data_dir.hpp"
#include "storage/sqlite_store.hpp"

namespace {

struct Options {
  std::filesystem::path data_dir;
  std::uint64_t add = 0;
  std::string account = "111122223333";
  std::string region = "us-east-1";
  std::string key_ids;  // empty: ids are not recorded
  std::uint64_t batch = 20'000;
};

constexpr std::string_view kUsage =
    "usage: kmsd_populate --data-dir DIR --add N [--account A] [--region R]\n"
    "                     [--key-ids FILE] [--batch KEYS_PER_TRANSACTION]\n";

int Fail(const std::string& message) {
  std::fprintf(stderr, "kmsd_populate: %s\n", message.c_str());
  return 1;
}

bool ParseCount(std::string_view text, std::uint64_t& out) {
  if (text.empty()) return false;
  char* end = nullptr;
  const std::string copy(text);
  out = std::strtoull(copy.c_str(), &end, 10);
  return end != nullptr && *end == '\0';
}

// Returns an empty string on success, else the problem.
std::string ParseArgs(int argc, char** argv, Options& options) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (i + 1 >= argc) return "missing value for " + std::string(flag);
    const std::string_view value = argv[++i];
    if (flag == "--data-dir") {
      options.data_dir = value;
    } else if (flag == "--add") {
      if (!ParseCount(value, options.add)) return "bad --add: " + std::string(value);
    } else if (flag == "--account") {
      options.account = value;
    } else if (flag == "--region") {
      options.region = value;
    } else if (flag == "--key-ids") {
      options.key_ids = value;
    } else if (flag == "--batch") {
      if (!ParseCount(value, options.batch) || options.batch == 0) {
        return "bad --batch: " + std::string(value);
      }
    } else {
      return "unknown flag " + std::string(flag);
    }
  }
  if (options.data_dir.empty()) return "--data-dir is required";
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (const std::string problem = ParseArgs(argc, argv, options); !problem.empty()) {
    std::fprintf(stderr, "kmsd_populate: %s\n%s", problem.c_str(), kUsage.data());
    return 2;
  }
  // Created, checked and locked as kmsd does (so a kmsd running on DIR makes this fail).
  auto data_dir = kms::storage::PrepareDataDirectory(options.data_dir);
  if (!data_dir) return Fail(data_dir.error().message);
  auto store = kms::storage::SqliteStore::Open(data_dir->db_path().string());
  if (!store) return Fail(store.error().message);

  std::ofstream ids;
  if (!options.key_ids.empty()) {
    ids.open(options.key_ids, std::ios::app);
    if (!ids) return Fail("cannot open " + options.key_ids);
  }

  const kms::storage::Scope scope{options.account, options.region};
  const auto start = std::chrono::steady_clock::now();
  const std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
  // Keys go in in ascending key-id order, so every index (keyed by account, region, key id)
  // grows at its right edge instead of rewriting pages all over the file in every batch: a
  // million random ids inserted in random order take ten times longer.
  std::vector<std::string> key_ids;
  key_ids.reserve(options.add);
  for (std::uint64_t i = 0; i < options.add; ++i) {
    auto key = kms::ops::NewDefaultSymmetricKey(scope, now);
    if (!key) return Fail(key.error().message);
    key_ids.push_back(std::move(key->key_id));
  }
  std::sort(key_ids.begin(), key_ids.end());

  std::vector<kms::storage::Change> batch;
  for (std::uint64_t done = 0; done < options.add;) {
    batch.clear();
    while (batch.size() < options.batch && done + batch.size() < options.add) {
      auto key = kms::ops::NewDefaultSymmetricKey(scope, now);  // fresh material and id ...
      if (!key) return Fail(key.error().message);
      key->key_id = std::move(key_ids[done + batch.size()]);  // ... the id from the sorted list
      batch.push_back(kms::storage::change::InsertKey{
          std::make_shared<const kms::storage::KeyRecord>(std::move(*key))});
    }
    if (auto r = (*store)->Apply(batch); !r) return Fail(r.error().message);
    if (ids.is_open()) {
      for (const auto& change : batch) {
        ids << std::get<kms::storage::change::InsertKey>(change).key->key_id << '\n';
      }
      if (!ids.flush()) return Fail("cannot write " + options.key_ids);
    }
    done += batch.size();
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("kmsd_populate: %llu keys added to %s in %.1f s (%.0f keys/s)\n",
              static_cast<unsigned long long>(options.add),
              (options.data_dir / kms::storage::kDatabaseFileName).c_str(), seconds,
              seconds > 0 ? static_cast<double>(options.add) / seconds : 0.0);
  return 0;
}
