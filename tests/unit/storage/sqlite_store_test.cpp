#include "storage/sqlite_store.hpp"

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <sys/stat.h>
#include <sys/wait.h>
#include <system_error>
#include <thread>
#include <unistd.h>
#include <vector>

#include <catch2/catch.hpp>

#include "storage/schema.hpp"
#include "tests/unit/storage/test_util.hpp"

namespace kms::storage {
namespace {

using testing::FileNames;
using testing::kEuWest;
using testing::kOtherAccount;
using testing::kUsEast;
using testing::LoadedRecords;
using testing::LoadSorted;
using testing::MinimalKey;
using testing::OpenRaw;
using testing::QueryInt;
using testing::QueryText;
using testing::SampleAlias;
using testing::SampleKey;
using testing::TempDir;

// A store over ":memory:" or over a file in a fresh temp directory.
struct Backend {
  std::unique_ptr<TempDir> dir;
  std::string path;
  std::unique_ptr<SqliteStore> store;

  explicit Backend(bool in_memory) {
    if (in_memory) {
      path = ":memory:";
    } else {
      dir = std::make_unique<TempDir>();
      path = dir->File("kms.db");
    }
    auto opened = SqliteStore::Open(path);
    REQUIRE(opened);
    store = std::move(*opened);
  }

  LoadedRecords Load() { return LoadSorted(*store); }
};

bool InMemory() {
  const bool in_memory = GENERATE(true, false);
  UNSCOPED_INFO("backend: " << (in_memory ? ":memory:" : "file"));
  return in_memory;
}

TEST_CASE("Keys with tags, policies and materials round-trip exactly", "[storage][sqlite_store]") {
  Backend b(InMemory());
  const KeyRecord full = SampleKey(kUsEast, "1234abcd-12ab-34cd-56ef-1234567890ab");
  const KeyRecord minimal = MinimalKey(kUsEast, "0000abcd-12ab-34cd-56ef-1234567890ab");
  REQUIRE(b.store->InsertKey(full));
  REQUIRE(b.store->InsertKey(minimal));

  LoadedRecords snapshot = b.Load();
  REQUIRE(snapshot.keys.size() == 2);
  CHECK(snapshot.keys[0] == minimal);  // ordered by key id
  CHECK(snapshot.keys[1] == full);
  CHECK(snapshot.aliases.empty());

  SECTION("UpdateKey replaces metadata, tags, policy and materials") {
    KeyRecord changed = full;
    changed.description = "rotated";
    changed.key_state = domain::KeyState::kEnabled;
    changed.deletion_date.reset();
    changed.pending_window_days.reset();
    changed.tags = {{"env", "prod"}, {"a", "b"}};  // removed one, changed one, reordered
    changed.policy = "{}";
    changed.materials.push_back(
        testing::Material(4, std::string(64, 'e'), {0x09, 0x08}, 1730000000));
    changed.materials.erase(changed.materials.begin());
    changed.current_material_version = 4;
    REQUIRE(b.store->UpdateKey(changed));

    snapshot = b.Load();
    REQUIRE(snapshot.keys.size() == 2);
    CHECK(snapshot.keys[0] == minimal);
    CHECK(snapshot.keys[1] == changed);
  }
  SECTION("UpdateKey of a missing key is kNotFound") {
    auto r = b.store->UpdateKey(MinimalKey(kEuWest, full.key_id));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Error::Code::kNotFound);
    CHECK(b.Load().keys.size() == 2);
  }
  SECTION("DeleteKey removes only that key") {
    REQUIRE(b.store->DeleteKey(kUsEast, full.key_id));
    snapshot = b.Load();
    REQUIRE(snapshot.keys.size() == 1);
    CHECK(snapshot.keys[0] == minimal);

    auto again = b.store->DeleteKey(kUsEast, full.key_id);
    REQUIRE_FALSE(again);
    CHECK(again.error().code == Error::Code::kNotFound);
  }
}

TEST_CASE("Duplicates are kAlreadyExists and change nothing", "[storage][sqlite_store]") {
  Backend b(InMemory());
  const KeyRecord key = SampleKey(kUsEast, "k1");
  REQUIRE(b.store->InsertKey(key));
  REQUIRE(b.store->InsertAlias(SampleAlias(kUsEast, "alias/one", "k1")));

  SECTION("key") {
    KeyRecord twin = MinimalKey(kUsEast, "k1");
    auto r = b.store->InsertKey(twin);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Error::Code::kAlreadyExists);
    CHECK(r.error().message.find("k1") != std::string::npos);
  }
  SECTION("alias") {
    REQUIRE(b.store->InsertKey(MinimalKey(kUsEast, "k2")));
    auto r = b.store->InsertAlias(SampleAlias(kUsEast, "alias/one", "k2"));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Error::Code::kAlreadyExists);
  }
  const LoadedRecords snapshot = b.Load();
  REQUIRE_FALSE(snapshot.keys.empty());
  CHECK(snapshot.keys[0] == key);
  REQUIRE(snapshot.aliases.size() == 1);
  CHECK(snapshot.aliases[0].target_key_id == "k1");
}

TEST_CASE("A failure half way through a key write rolls the whole write back",
          "[storage][sqlite_store]") {
  Backend b(InMemory());
  KeyRecord key = SampleKey(kUsEast, "k1");
  key.materials.push_back(key.materials.front());  // same version twice: fails on the last row
  REQUIRE_FALSE(b.store->InsertKey(key));
  CHECK(b.Load().keys.empty());

  const KeyRecord good = SampleKey(kUsEast, "k1");
  REQUIRE(b.store->InsertKey(good));
  REQUIRE_FALSE(b.store->UpdateKey(key));
  const LoadedRecords snapshot = b.Load();
  REQUIRE(snapshot.keys.size() == 1);
  CHECK(snapshot.keys[0] == good);
}

TEST_CASE("The same key id and alias name live separately in each scope",
          "[storage][sqlite_store]") {
  Backend b(InMemory());
  for (const Scope& scope : {kUsEast, kEuWest, kOtherAccount}) {
    KeyRecord key = SampleKey(scope, "same-id");
    key.description = scope.account + "/" + scope.region;
    REQUIRE(b.store->InsertKey(key));
    REQUIRE(b.store->InsertAlias(SampleAlias(scope, "alias/same", "same-id")));
  }
  REQUIRE(b.store->DeleteKey(kEuWest, "same-id"));
  const LoadedRecords snapshot = b.Load();
  REQUIRE(snapshot.keys.size() == 2);
  CHECK(snapshot.keys[0].description == "111122223333/us-east-1");
  CHECK(snapshot.keys[1].description == "444455556666/us-east-1");
  CHECK(snapshot.aliases.size() == 2);
}

TEST_CASE("Aliases insert, update and delete", "[storage][sqlite_store]") {
  Backend b(InMemory());
  REQUIRE(b.store->InsertKey(MinimalKey(kUsEast, "k1")));
  REQUIRE(b.store->InsertKey(MinimalKey(kUsEast, "k2")));
  REQUIRE(b.store->InsertAlias(SampleAlias(kUsEast, "alias/b", "k1")));
  REQUIRE(b.store->InsertAlias(SampleAlias(kUsEast, "alias/a", "k1")));

  SECTION("round trip, ordered by name") {
    const LoadedRecords snapshot = b.Load();
    REQUIRE(snapshot.aliases.size() == 2);
    CHECK(snapshot.aliases[0] == SampleAlias(kUsEast, "alias/a", "k1"));
    CHECK(snapshot.aliases[1] == SampleAlias(kUsEast, "alias/b", "k1"));
  }
  SECTION("UpdateAlias retargets") {
    AliasRecord moved = SampleAlias(kUsEast, "alias/a", "k2");
    moved.last_updated_date = 1800000000;
    REQUIRE(b.store->UpdateAlias(moved));
    CHECK(b.Load().aliases[0] == moved);
  }
  SECTION("a missing target key is kNotFound") {
    auto inserted = b.store->InsertAlias(SampleAlias(kUsEast, "alias/c", "nope"));
    REQUIRE_FALSE(inserted);
    CHECK(inserted.error().code == Error::Code::kNotFound);
    auto updated = b.store->UpdateAlias(SampleAlias(kUsEast, "alias/a", "nope"));
    REQUIRE_FALSE(updated);
    CHECK(updated.error().code == Error::Code::kNotFound);
    // A key of the same id in another scope does not count.
    REQUIRE(b.store->InsertKey(MinimalKey(kEuWest, "k3")));
    CHECK_FALSE(b.store->InsertAlias(SampleAlias(kUsEast, "alias/c", "k3")));
    CHECK(b.Load().aliases.size() == 2);
  }
  SECTION("a missing alias is kNotFound") {
    auto updated = b.store->UpdateAlias(SampleAlias(kUsEast, "alias/zzz", "k1"));
    REQUIRE_FALSE(updated);
    CHECK(updated.error().code == Error::Code::kNotFound);
    auto deleted = b.store->DeleteAlias(kUsEast, "alias/zzz");
    REQUIRE_FALSE(deleted);
    CHECK(deleted.error().code == Error::Code::kNotFound);
  }
  SECTION("DeleteAlias") {
    REQUIRE(b.store->DeleteAlias(kUsEast, "alias/a"));
    const LoadedRecords snapshot = b.Load();
    REQUIRE(snapshot.aliases.size() == 1);
    CHECK(snapshot.aliases[0].name == "alias/b");
  }
}

TEST_CASE("DeleteKey cascades to aliases, tags, policy and materials", "[storage][sqlite_store]") {
  TempDir dir;
  const std::string path = dir.File("kms.db");
  auto store = SqliteStore::Open(path);
  REQUIRE(store);
  REQUIRE((*store)->InsertKey(SampleKey(kUsEast, "doomed")));
  REQUIRE((*store)->InsertKey(SampleKey(kUsEast, "kept")));
  REQUIRE((*store)->InsertAlias(SampleAlias(kUsEast, "alias/doomed-1", "doomed")));
  REQUIRE((*store)->InsertAlias(SampleAlias(kUsEast, "alias/doomed-2", "doomed")));
  REQUIRE((*store)->InsertAlias(SampleAlias(kUsEast, "alias/kept", "kept")));
  const DbHandle raw = OpenRaw(path);
  const std::string doomed_row =
      std::to_string(QueryInt(raw.get(), "SELECT id FROM keys WHERE key_id = 'doomed'"));
  CHECK(QueryInt(raw.get(),
                 ("SELECT count(*) FROM key_tags WHERE key_row = " + doomed_row).c_str()) > 0);
  REQUIRE((*store)->DeleteKey(kUsEast, "doomed"));

  for (const std::string& sql :
       {"SELECT count(*) FROM key_tags WHERE key_row = " + doomed_row,
        "SELECT count(*) FROM key_materials WHERE key_row = " + doomed_row,
        "SELECT count(*) FROM key_policies WHERE key_row = " + doomed_row,
        std::string("SELECT count(*) FROM aliases WHERE target_key_id = 'doomed'")}) {
    CAPTURE(sql);
    CHECK(QueryInt(raw.get(), sql.c_str()) == 0);
  }
  CHECK(QueryInt(raw.get(), "SELECT count(*) FROM key_tags") == 3);
  CHECK(QueryInt(raw.get(), "SELECT count(*) FROM key_materials") == 3);
  CHECK(QueryInt(raw.get(), "SELECT count(*) FROM aliases") == 1);
}

TEST_CASE("Reset deletes everything in every scope", "[storage][sqlite_store]") {
  Backend b(InMemory());
  for (const Scope& scope : {kUsEast, kEuWest}) {
    REQUIRE(b.store->InsertKey(SampleKey(scope, "k1")));
    REQUIRE(b.store->InsertAlias(SampleAlias(scope, "alias/a", "k1")));
  }
  REQUIRE(b.store->Reset());
  LoadedRecords snapshot = b.Load();
  CHECK(snapshot.keys.empty());
  CHECK(snapshot.aliases.empty());

  // Usable afterwards; the old ids are free again.
  REQUIRE(b.store->InsertKey(SampleKey(kUsEast, "k1")));
  CHECK(b.Load().keys.size() == 1);
}

TEST_CASE("A database file survives close and reopen", "[storage][sqlite_store]") {
  TempDir dir;
  const std::string path = dir.File("kms.db");
  const KeyRecord key = SampleKey(kUsEast, "k1");
  const AliasRecord alias = SampleAlias(kUsEast, "alias/a", "k1");
  {
    auto store = SqliteStore::Open(path);
    REQUIRE(store);
    REQUIRE((*store)->InsertKey(key));
    REQUIRE((*store)->InsertAlias(alias));
    CHECK((*store)->path() == path);
  }
  auto store = SqliteStore::Open(path);
  REQUIRE(store);
  const LoadedRecords snapshot = LoadSorted(**store);
  REQUIRE(snapshot.keys.size() == 1);
  CHECK(snapshot.keys[0] == key);
  REQUIRE(snapshot.aliases.size() == 1);
  CHECK(snapshot.aliases[0] == alias);
}

TEST_CASE("A file database runs in WAL mode and passes integrity_check",
          "[storage][sqlite_store]") {
  TempDir dir;
  const std::string path = dir.File("kms.db");
  auto store = SqliteStore::Open(path);
  REQUIRE(store);
  REQUIRE((*store)->InsertKey(SampleKey(kUsEast, "k1")));
  REQUIRE((*store)->InsertAlias(SampleAlias(kUsEast, "alias/a", "k1")));
  REQUIRE((*store)->DeleteKey(kUsEast, "k1"));
  REQUIRE((*store)->InsertKey(SampleKey(kUsEast, "k2")));

  const DbHandle raw = OpenRaw(path);
  CHECK(QueryText(raw.get(), "PRAGMA journal_mode") == "wal");  // persistent in the file
  CHECK(std::filesystem::exists(path + "-wal"));
  CHECK(QueryText(raw.get(), "PRAGMA integrity_check") == "ok");
  CHECK(QueryInt(raw.get(), "SELECT count(*) FROM pragma_foreign_key_check") == 0);
}

TEST_CASE("An unusable path is kIo and the message names it", "[storage][sqlite_store]") {
  TempDir dir;
  std::string path;

  SECTION("the parent directory does not exist") { path = dir.File("missing/kms.db"); }
  SECTION("the parent is a regular file") {
    std::ofstream(dir.File("plain")) << "x";
    path = dir.File("plain/kms.db");
  }
  SECTION("the directory is not writable") {
    if (::geteuid() == 0) {
      path = "/proc/kms_storage_test.db";  // not even root may create files in /proc
    } else {
      std::filesystem::create_directory(dir.File("ro"));
      std::filesystem::permissions(
          dir.File("ro"), std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
      path = dir.File("ro/kms.db");
    }
  }
  SECTION("the path is a directory") { path = dir.path().string(); }

  CAPTURE(path);
  auto store = SqliteStore::Open(path);
  REQUIRE_FALSE(store);
  CHECK(store.error().code == Error::Code::kIo);
  CHECK(store.error().message.find(path) != std::string::npos);
}

TEST_CASE("A read-only database file is kIo and the message names it", "[storage][sqlite_store]") {
  if (::geteuid() == 0) {
    WARN("skipped: root can write to any file");  // covered when the tests run unprivileged
    return;
  }
  TempDir dir;
  const std::string path = dir.File("kms.db");
  {
    auto store = SqliteStore::Open(path);
    REQUIRE(store);
  }
  std::filesystem::permissions(path, std::filesystem::perms::owner_read);
  auto store = SqliteStore::Open(path);
  REQUIRE_FALSE(store);
  CHECK(store.error().code == Error::Code::kIo);
  CHECK(store.error().message.find(path) != std::string::npos);
  CHECK(store.error().message.find("read-only") != std::string::npos);
}

TEST_CASE("A file that is not a database is kCorrupt", "[storage][sqlite_store]") {
  TempDir dir;
  const std::string path = dir.File("kms.db");
  std::ofstream(path) << std::string(4096, 'x');
  auto store = SqliteStore::Open(path);
  REQUIRE_FALSE(store);
  CHECK(store.error().code == Error::Code::kCorrupt);
  CHECK(store.error().message.find(path) != std::string::npos);
}

TEST_CASE("A new database file and its -wal and -shm are 0600 whatever the umask",
          "[storage][sqlite_store][regression][issue17]") {
  TempDir dir;
  const std::string path = dir.File("kms.db");
  const bool deferred = GENERATE(false, true);
  CAPTURE(deferred);
  const testing::ScopedUmask no_umask(0);
  auto store = SqliteStore::Open(
      path, deferred ? SqliteStore::Creation::kDeferred : SqliteStore::Creation::kNow);
  REQUIRE(store);
  REQUIRE((*store)->InsertKey(SampleKey(kUsEast, "k1")));
  for (const char* name : {"kms.db", "kms.db-wal", "kms.db-shm"}) {
    CAPTURE(name);
    REQUIRE(std::filesystem::exists(dir.path() / name));
    CHECK(testing::FileMode(dir.path() / name) == 0600);
  }
}

TEST_CASE("A database path that is or goes through a symbolic link is refused",
          "[storage][sqlite_store][regression][issue17]") {
  TempDir dir;
  std::filesystem::create_directory(dir.path() / "real");
  {
    auto store = SqliteStore::Open(dir.File("real/kms.db"));
    REQUIRE(store);
    REQUIRE((*store)->InsertKey(SampleKey(kUsEast, "k1")));
  }
  std::string path;
  auto creation = SqliteStore::Creation::kNow;
  SECTION("the file is a link") {
    std::filesystem::create_symlink(dir.path() / "real" / "kms.db", dir.path() / "kms.db");
    path = dir.File("kms.db");
  }
  SECTION("a directory on the path is a link") {
    std::filesystem::create_directory_symlink(dir.path() / "real", dir.path() / "link");
    path = dir.File("link/kms.db");
  }
  SECTION("the file is a dangling link, not taken for a missing file to create") {
    std::filesystem::create_symlink(dir.path() / "nowhere.db", dir.path() / "kms.db");
    path = dir.File("kms.db");
    creation = SqliteStore::Creation::kDeferred;
  }
  CAPTURE(path);
  auto store = SqliteStore::Open(path, creation);
  REQUIRE_FALSE(store);
  CHECK(store.error().code == Error::Code::kIo);
  CHECK(store.error().message == "open " + path +
                                     ": the path is or goes through a symbolic link, which kmsd "
                                     "does not follow");
  CHECK_FALSE(std::filesystem::exists(dir.path() / "nowhere.db"));  // nothing made through it
}

TEST_CASE("An empty path is refused", "[storage][sqlite_store]") {
  auto store = SqliteStore::Open("");
  REQUIRE_FALSE(store);
  CHECK(store.error().code == Error::Code::kIo);
}

TEST_CASE("Concurrent writers on one store all succeed", "[storage][sqlite_store]") {
  Backend b(InMemory());
  constexpr std::size_t kThreads = 4;
  constexpr std::size_t kKeysPerThread = 10;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (std::size_t i = 0; i < kKeysPerThread; ++i) {
        const std::string id = "t" + std::to_string(t) + "-" + std::to_string(i);
        if (!b.store->InsertKey(SampleKey(kUsEast, id))) ++failures;
        if (!b.store->InsertAlias(SampleAlias(kUsEast, "alias/" + id, id))) ++failures;
        if (i % 5 == 0 && !b.store->LoadAll()) ++failures;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  CHECK(failures.load() == 0);
  const LoadedRecords snapshot = b.Load();
  CHECK(snapshot.keys.size() == kThreads * kKeysPerThread);
  CHECK(snapshot.aliases.size() == kThreads * kKeysPerThread);
}

}  // namespace
}  // namespace kms::storage

namespace kms::storage {
namespace {

TEST_CASE("LoadAll shares one copy of each policy text among keys", "[storage][sqlite_store]") {
  Backend b(InMemory());
  const std::string common = R"({"Version":"2012-10-17","Statement":[{"Sid":"shared"}]})";
  for (const char* id : {"k1", "k2", "k3"}) {
    KeyRecord key = MinimalKey(kUsEast, id);
    key.policy = std::string(common);
    REQUIRE(b.store->InsertKey(key));
  }
  KeyRecord other = MinimalKey(kUsEast, "k4");
  other.policy = "{}";
  REQUIRE(b.store->InsertKey(other));

  auto snapshot = b.store->LoadAll();
  REQUIRE(snapshot);
  REQUIRE(snapshot->keys.size() == 4);
  std::vector<const KeyRecord*> with_common;
  const KeyRecord* k4 = nullptr;
  for (const auto& key : snapshot->keys) {
    (key->key_id == "k4" ? k4 : with_common.emplace_back()) = key.get();
  }
  REQUIRE(with_common.size() == 3);
  REQUIRE(k4 != nullptr);
  CHECK(k4->policy == "{}");
  for (const KeyRecord* key : with_common) {
    CHECK(key->policy == common);
    CHECK(key->policy.SharesWith(with_common[0]->policy));
  }
  CHECK_FALSE(k4->policy.SharesWith(with_common[0]->policy));
}

TEST_CASE("KeyCountBound is at least the number of keys, and 0 before any",
          "[storage][sqlite_store]") {
  TempDir dir;
  const std::string path = dir.File("kms.db");
  auto deferred = SqliteStore::Open(path, SqliteStore::Creation::kDeferred);
  REQUIRE(deferred);
  CHECK((*deferred)->KeyCountBound() == 0);  // no file yet
  for (const char* id : {"k1", "k2", "k3"}) {
    REQUIRE((*deferred)->InsertKey(MinimalKey(kUsEast, id)));
  }
  CHECK((*deferred)->KeyCountBound() >= 3);
  REQUIRE((*deferred)->DeleteKey(kUsEast, "k1"));
  CHECK((*deferred)->KeyCountBound() >= 2);
}

TEST_CASE("A policy text is stored once and goes with its last key", "[storage][sqlite_store]") {
  TempDir dir;
  const std::string path = dir.File("kms.db");
  auto opened = SqliteStore::Open(path);
  REQUIRE(opened);
  SqliteStore& store = **opened;
  const DbHandle raw = OpenRaw(path);
  const auto texts = [&] {
    return QueryText(raw.get(),
                     "SELECT group_concat(text, ' ') FROM "
                     "(SELECT text FROM policy_texts ORDER BY text)");
  };
  KeyRecord k1 = MinimalKey(kUsEast, "k1");
  KeyRecord k2 = MinimalKey(kUsEast, "k2");
  k1.policy = k2.policy = std::string("{\"shared\":1}");
  REQUIRE(store.InsertKey(k1));
  REQUIRE(store.InsertKey(k2));
  CHECK(texts() == R"({"shared":1})");

  SECTION("a replaced policy's text goes when no key uses it") {
    k1.policy = std::string("{\"own\":1}");
    REQUIRE(store.UpdateKey(k1));
    CHECK(texts() == R"({"own":1} {"shared":1})");
    k2.policy = std::string("{\"own\":1}");
    REQUIRE(store.UpdateKey(k2));
    CHECK(texts() == R"({"own":1})");
  }
  SECTION("a deleted key's text goes with the last key that used it") {
    REQUIRE(store.DeleteKey(kUsEast, "k1"));
    CHECK(texts() == R"({"shared":1})");
    REQUIRE(store.DeleteKey(kUsEast, "k2"));
    CHECK(texts().empty());
  }
  SECTION("Reset removes every text") {
    REQUIRE(store.Apply(std::vector<Change>{change::Reset{}}));
    CHECK(texts().empty());
  }
  CHECK(QueryInt(raw.get(), "SELECT count(*) FROM pragma_foreign_key_check") == 0);
}

TEST_CASE("LoadAll gives each key exactly its own children after updates and deletes",
          "[storage][sqlite_store]") {
  // UpdateKey rewrites a key's tag, policy and material rows; DeleteKey cascades; a key
  // inserted after the newest keys were deleted may get a deleted key's keys.id again.
  TempDir dir;
  const std::string path = dir.File("kms.db");
  auto opened = SqliteStore::Open(path);
  REQUIRE(opened);
  SqliteStore& store = **opened;
  std::vector<KeyRecord> expected;
  for (const char* id : {"k1", "k2", "k3", "k4"}) {
    expected.push_back(SampleKey(kUsEast, id));
    expected.back().description = id;
    REQUIRE(store.InsertKey(expected.back()));
  }
  expected[1].tags = {{"rewritten", "yes"}};
  expected[1].policy = "{}";
  expected[1].materials.push_back(
      testing::Material(4, std::string(64, 'e'), {1, 2, 3}, 1730000000));
  expected[1].current_material_version = 4;
  REQUIRE(store.UpdateKey(expected[1]));

  const DbHandle raw = OpenRaw(path);
  const std::int64_t k3_row = QueryInt(raw.get(), "SELECT id FROM keys WHERE key_id = 'k3'");
  REQUIRE(store.DeleteKey(kUsEast, "k3"));
  REQUIRE(store.DeleteKey(kUsEast, "k4"));
  expected.erase(expected.begin() + 2, expected.end());
  expected.push_back(MinimalKey(kUsEast, "k5"));
  REQUIRE(store.InsertKey(expected.back()));
  CHECK(QueryInt(raw.get(), "SELECT id FROM keys WHERE key_id = 'k5'") == k3_row);  // reused

  const LoadedRecords loaded = LoadSorted(store);
  REQUIRE(loaded.keys.size() == expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    CAPTURE(expected[i].key_id);
    CHECK(loaded.keys[i] == expected[i]);
  }
}

TEST_CASE("LoadAll refuses a child row whose key is missing", "[storage][sqlite_store]") {
  TempDir dir;
  const std::string path = dir.File("kms.db");
  auto opened = SqliteStore::Open(path);
  REQUIRE(opened);
  REQUIRE((*opened)->InsertKey(MinimalKey(kUsEast, "k1")));
  {
    const DbHandle raw = OpenRaw(path);  // foreign keys are off on this connection
    REQUIRE(Exec(raw.get(),
                 "INSERT INTO key_materials (key_row, version, material_id, bytes, created_at) "
                 "VALUES (999, 1, 'id', x'00', 0)"));
  }
  auto snapshot = (*opened)->LoadAll();
  REQUIRE_FALSE(snapshot);
  CHECK(snapshot.error().code == Error::Code::kCorrupt);
  CHECK_THAT(snapshot.error().message, Catch::Contains("key_materials row for missing key") &&
                                           Catch::Contains("keys.id 999"));
}

TEST_CASE("Typed fields are stored as their AWS wire names", "[storage][sqlite_store]") {
  TempDir dir;
  const std::string path = dir.File("kms.db");
  auto opened = SqliteStore::Open(path);
  REQUIRE(opened);
  KeyRecord key = SampleKey(kUsEast, "k1");
  key.key_spec = domain::KeySpec::kEccNistEdwards25519;
  key.key_usage = domain::KeyUsage::kSignVerify;
  key.origin = domain::Origin::kExternal;
  key.key_manager = domain::KeyManager::kAws;
  REQUIRE((*opened)->InsertKey(key));
  const DbHandle raw = OpenRaw(path);
  // The on-disk format is the text columns of schema version 1, unchanged by the enums.
  CHECK(QueryText(raw.get(), "SELECT key_spec FROM keys") == "ECC_NIST_EDWARDS25519");
  CHECK(QueryText(raw.get(), "SELECT key_usage FROM keys") == "SIGN_VERIFY");
  CHECK(QueryText(raw.get(), "SELECT origin FROM keys") == "EXTERNAL");
  CHECK(QueryText(raw.get(), "SELECT key_manager FROM keys") == "AWS");
  CHECK(QueryText(raw.get(), "SELECT key_state FROM keys") == "PendingDeletion");
  const LoadedRecords loaded = LoadSorted(**opened);
  REQUIRE(loaded.keys.size() == 1);
  CHECK(loaded.keys[0] == key);
}

TEST_CASE("LoadAll refuses a key whose stored state or spec text names nothing",
          "[storage][sqlite_store]") {
  struct Case {
    const char* column;
    const char* text;
  };
  const Case c =
      GENERATE(Case{"key_state", "Enabeld"}, Case{"key_spec", "RSA_1024"},
               Case{"key_usage", "encrypt_decrypt"}, Case{"origin", ""}, Case{"key_manager", "ME"});
  CAPTURE(c.column, c.text);
  TempDir dir;
  const std::string path = dir.File("kms.db");
  auto opened = SqliteStore::Open(path);
  REQUIRE(opened);
  REQUIRE((*opened)->InsertKey(MinimalKey(kUsEast, "k1")));
  {
    const DbHandle raw = OpenRaw(path);
    const std::string sql = "UPDATE keys SET " + std::string(c.column) + " = '" + c.text + "'";
    REQUIRE(Exec(raw.get(), sql.c_str()));
  }
  auto snapshot = (*opened)->LoadAll();
  REQUIRE_FALSE(snapshot);
  CHECK(snapshot.error().code == Error::Code::kCorrupt);
  CHECK(snapshot.error().message ==
        "LoadAll: key k1 has an unknown " + std::string(c.column) + " '" + c.text + "'");
}

std::vector<Change> InsertsOf(const std::vector<KeyRecord>& keys) {
  std::vector<Change> changes;
  for (const KeyRecord& key : keys) {
    changes.push_back(change::InsertKey{std::make_shared<const KeyRecord>(key)});
  }
  return changes;
}

// Names of this process's open files that SQLite's temporary files would have.
std::vector<std::string> OpenSqliteTempFiles() {
  std::vector<std::string> found;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
    std::error_code link_ec;
    const std::string target = std::filesystem::read_symlink(entry.path(), link_ec).string();
    if (target.find("etilqs_") != std::string::npos) found.push_back(target);
  }
  return found;
}

TEST_CASE("A Reset of many keys writes no temporary file", "[storage][sqlite_store]") {
  // Deleting every key_policies row fires the policy_texts trigger per row, so SQLite keeps
  // a statement journal; past 64 KiB it would spill to a file in the temp directory (which
  // a read-only container may lack). A thread watches this process's descriptors meanwhile.
  TempDir dir;
  auto opened = SqliteStore::Open(dir.File("kms.db"));
  REQUIRE(opened);
  std::vector<KeyRecord> keys;
  for (int i = 0; i < 20000; ++i) keys.push_back(MinimalKey(kUsEast, "k" + std::to_string(i)));
  REQUIRE((*opened)->Apply(InsertsOf(keys)));

  std::atomic<bool> done{false};
  std::vector<std::string> seen;
  std::thread watcher([&] {
    while (!done.load() && seen.empty()) seen = OpenSqliteTempFiles();
  });
  const auto reset = (*opened)->Reset();
  done = true;
  watcher.join();
  REQUIRE(reset);
  CHECK(seen.empty());
  auto snapshot = (*opened)->LoadAll();
  REQUIRE(snapshot);
  CHECK(snapshot->keys.empty());
}

TEST_CASE("Apply writes a whole batch or none of it", "[storage][sqlite_store]") {
  Backend b(InMemory());
  std::vector<KeyRecord> keys = {SampleKey(kUsEast, "k1"), MinimalKey(kUsEast, "k2"),
                                 SampleKey(kEuWest, "k1")};
  REQUIRE(b.store->Apply(InsertsOf(keys)));
  LoadedRecords loaded = b.Load();
  REQUIRE(loaded.keys.size() == 3);
  CHECK(loaded.keys[0] == keys[2]);  // eu-west-2 sorts first
  CHECK(loaded.keys[1] == keys[0]);
  CHECK(loaded.keys[2] == keys[1]);

  const std::vector<KeyRecord> clash = {MinimalKey(kUsEast, "k3"), MinimalKey(kUsEast, "k1")};
  std::vector<Change> changes = InsertsOf(clash);
  changes.push_back(change::DeleteKey{kUsEast, "k2"});  // a valid change in the same batch
  auto r = b.store->Apply(changes);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == Error::Code::kAlreadyExists);
  CHECK(b.Load().keys.size() == 3);  // k3 (and the deletion of k2) rolled back with the clash
}

}  // namespace
}  // namespace kms::storage

namespace kms::storage {
namespace {

TEST_CASE("A new database file is created complete, in WAL mode, with nothing left over",
          "[storage][sqlite_store]") {
  TempDir dir;
  const std::string path = dir.File("kms.db");
  {
    auto store = SqliteStore::Open(path);
    REQUIRE(store);
    REQUIRE((*store)->InsertKey(SampleKey(kUsEast, "k1")));
  }
  CHECK(FileNames(dir.path()) == std::vector<std::string>{"kms.db"});
  const DbHandle raw = OpenRaw(path);
  CHECK(QueryText(raw.get(), "PRAGMA journal_mode") == "wal");
  CHECK(QueryInt(raw.get(), "PRAGMA user_version") == LatestSchemaVersion());
  CHECK(QueryText(raw.get(), "PRAGMA integrity_check") == "ok");
  CHECK(QueryInt(raw.get(), "SELECT count(*) FROM keys") == 1);
}

TEST_CASE("A deferred creation builds the file only in Prepare or the first Apply",
          "[storage][sqlite_store]") {
  TempDir dir;
  const std::string path = dir.File("kms.db");
  const bool by_prepare = GENERATE(true, false);
  UNSCOPED_INFO("built by " << (by_prepare ? "Prepare" : "Apply"));
  {
    auto store = SqliteStore::Open(path, SqliteStore::Creation::kDeferred);
    REQUIRE(store);
    CHECK(FileNames(dir.path()).empty());  // nothing written yet
    const LoadedRecords empty = LoadSorted(**store);
    CHECK(empty.keys.empty());
    CHECK(empty.aliases.empty());
    CHECK(FileNames(dir.path()).empty());  // LoadAll does not build it either
    if (by_prepare) {
      REQUIRE((*store)->Prepare());
      CHECK(std::filesystem::exists(path));
      REQUIRE((*store)->Prepare());  // once built, a no-op
    }
    REQUIRE((*store)->InsertKey(SampleKey(kUsEast, "k1")));
  }
  const DbHandle raw = OpenRaw(path);
  CHECK(QueryText(raw.get(), "PRAGMA journal_mode") == "wal");
  CHECK(QueryInt(raw.get(), "PRAGMA user_version") == LatestSchemaVersion());
  CHECK(QueryInt(raw.get(), "SELECT count(*) FROM keys") == 1);
  auto reopened = SqliteStore::Open(path, SqliteStore::Creation::kDeferred);
  REQUIRE(reopened);
  CHECK(LoadSorted(**reopened).keys.size() == 1);  // an existing file opens as before
}

TEST_CASE("A deferred creation that cannot be built fails each write, and is retried",
          "[storage][sqlite_store]") {
  TempDir dir;
  const std::string missing_dir = dir.File("not-yet");
  const std::string path = missing_dir + "/kms.db";
  auto store = SqliteStore::Open(path, SqliteStore::Creation::kDeferred);
  REQUIRE(store);
  const auto prepared = (*store)->Prepare();
  REQUIRE_FALSE(prepared);
  CHECK(prepared.error().code == Error::Code::kIo);
  CHECK_THAT(prepared.error().message, Catch::Matchers::Contains(path));
  const auto written = (*store)->InsertKey(SampleKey(kUsEast, "k1"));
  REQUIRE_FALSE(written);
  CHECK(written.error().code == Error::Code::kIo);

  std::filesystem::create_directory(missing_dir);  // the cause goes away: the next write builds it
  REQUIRE((*store)->InsertKey(SampleKey(kUsEast, "k1")));
  CHECK(LoadSorted(**store).keys.size() == 1);
}

TEST_CASE("Creation leftovers of a dead process are removed, a live creator's are not",
          "[storage][sqlite_store]") {
  TempDir dir;
  const pid_t dead = ::fork();
  REQUIRE(dead >= 0);
  if (dead == 0) ::_exit(0);
  int status = 0;
  REQUIRE(::waitpid(dead, &status, 0) == dead);
  const std::string abandoned = "kms.db.new-" + std::to_string(dead) + "-0";
  const std::string in_progress = "kms.db.new-" + std::to_string(::getppid()) + "-3";
  const std::string unrelated = "kms.db.newer";
  for (const std::string& name : {abandoned, abandoned + "-shm", in_progress, unrelated}) {
    std::ofstream(dir.File(name)) << "x";
  }

  auto store = SqliteStore::Open(dir.File("kms.db"));
  REQUIRE(store);
  store->reset();
  CHECK(FileNames(dir.path()) == std::vector<std::string>{"kms.db", in_progress, unrelated});
}

}  // namespace
}  // namespace kms::storage

namespace kms::storage {
namespace {

CustomKeyStoreRecord SampleCustomKeyStore(const Scope& scope, std::string id) {
  CustomKeyStoreRecord store;
  store.scope = scope;
  store.id = std::move(id);
  store.name = "store " + store.id;
  store.type = domain::CustomKeyStoreType::kExternalKeyStore;
  store.connection_state = domain::ConnectionState::kFailed;
  store.connection_error_code = domain::ConnectionErrorCode::kXksProxyTimedOut;
  store.creation_date = 1700000000;
  store.xks_connectivity = domain::XksProxyConnectivity::kPublicEndpoint;
  store.xks_uri_endpoint = "https://xks.example.com";
  store.xks_uri_path = "/kms/xks/v1";
  store.xks_access_key_id = "ACCESSKEYID0123456789";
  store.xks_secret_access_key = "secret";
  return store;
}

TEST_CASE("Custom key stores insert, update, delete and survive a reopen",
          "[storage][sqlite_store][custom_key_store]") {
  testing::TempDir dir;
  const std::string path = dir.File("kms.db");
  CustomKeyStoreRecord xks = SampleCustomKeyStore(testing::kUsEast, "cks-00000000000000001");
  CustomKeyStoreRecord hsm;
  hsm.scope = testing::kUsEast;
  hsm.id = "cks-00000000000000002";
  hsm.name = "hsm";
  hsm.cloud_hsm_cluster_id = "cluster-1234567890a";
  hsm.trust_anchor_certificate = "-----BEGIN CERTIFICATE-----";
  hsm.key_store_password = "kmsuser-password";
  {
    auto store = SqliteStore::Open(path);
    REQUIRE(store);
    REQUIRE((*store)->Apply(
        std::vector<Change>{change::InsertCustomKeyStore{xks}, change::InsertCustomKeyStore{hsm}}));
    auto again = (*store)->Apply(std::vector<Change>{change::InsertCustomKeyStore{xks}});
    REQUIRE_FALSE(again);
    CHECK(again.error().code == Error::Code::kAlreadyExists);
    hsm.connection_state = domain::ConnectionState::kConnected;
    REQUIRE((*store)->Apply(std::vector<Change>{change::UpdateCustomKeyStore{hsm}}));
  }
  auto store = SqliteStore::Open(path);
  REQUIRE(store);
  auto loaded = (*store)->LoadAll();
  REQUIRE(loaded);
  REQUIRE(loaded->custom_key_stores.size() == 2);
  std::ranges::sort(loaded->custom_key_stores, {}, &CustomKeyStoreRecord::id);
  CHECK(loaded->custom_key_stores[0] == xks);
  CHECK(loaded->custom_key_stores[1] == hsm);

  REQUIRE(
      (*store)->Apply(std::vector<Change>{change::DeleteCustomKeyStore{testing::kUsEast, xks.id}}));
  auto missing =
      (*store)->Apply(std::vector<Change>{change::DeleteCustomKeyStore{testing::kUsEast, xks.id}});
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code == Error::Code::kNotFound);
  REQUIRE((*store)->Reset());
  CHECK((*store)->LoadAll()->custom_key_stores.empty());
}

TEST_CASE("Key usage is upserted per key, skipped for a missing key, and goes with its key",
          "[storage][sqlite_store][key_usage]") {
  auto opened = SqliteStore::Open(":memory:");
  REQUIRE(opened);
  SqliteStore& store = **opened;
  REQUIRE(store.InsertKey(testing::MinimalKey(testing::kUsEast, "k1")));
  REQUIRE(store.InsertKey(testing::MinimalKey(testing::kUsEast, "k2")));
  const KeyUsageRecord first{testing::kUsEast, "k1", "Encrypt", 1700000000, "req-1"};
  const KeyUsageRecord second{testing::kUsEast, "k1", "Decrypt", 1700000100, "req-2"};
  const KeyUsageRecord other{testing::kUsEast, "k2", "GenerateDataKey", 1700000200, "req-3"};
  const KeyUsageRecord ghost{testing::kUsEast, "gone", "Decrypt", 1700000300, "req-4"};
  REQUIRE(store.Apply(std::vector<Change>{change::RecordKeyUsage{{first, other, ghost}}}));
  REQUIRE(store.Apply(std::vector<Change>{change::RecordKeyUsage{{second}}}));
  auto loaded = store.LoadAll();
  REQUIRE(loaded);
  std::ranges::sort(loaded->key_usage, {}, &KeyUsageRecord::key_id);
  CHECK(loaded->key_usage == std::vector<KeyUsageRecord>{second, other});

  REQUIRE(store.DeleteKey(testing::kUsEast, "k1"));
  CHECK(store.LoadAll()->key_usage == std::vector<KeyUsageRecord>{other});
  // An update of the key keeps its usage (usage is not a child InsertChildRows rewrites).
  REQUIRE(store.UpdateKey(testing::MinimalKey(testing::kUsEast, "k2")));
  CHECK(store.LoadAll()->key_usage == std::vector<KeyUsageRecord>{other});
}

}  // namespace
}  // namespace kms::storage
