#include "storage/registry.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "storage/sqlite_store.hpp"
#include "tests/unit/storage/faulty_store.hpp"
#include "tests/unit/storage/test_util.hpp"

namespace kms::storage {
namespace {

using testing::FaultyStore;
using testing::kEuWest;
using testing::kOtherAccount;
using testing::kUsEast;
using testing::MinimalKey;
using testing::SampleAlias;
using testing::SampleKey;
using testing::TempDir;

std::unique_ptr<Store> MemoryStore() {
  auto store = SqliteStore::Open(":memory:");
  REQUIRE(store);
  return std::move(*store);
}

std::unique_ptr<Registry> OpenRegistry(std::unique_ptr<Store> store) {
  auto registry = Registry::Open(std::move(store));
  REQUIRE(registry);
  return std::move(*registry);
}

std::vector<std::string> KeyIds(const std::vector<Registry::KeyPtr>& keys) {
  std::vector<std::string> ids;
  ids.reserve(keys.size());
  for (const auto& key : keys) ids.push_back(key->key_id);
  return ids;
}

std::vector<std::string> AliasNames(const std::vector<AliasRecord>& aliases) {
  std::vector<std::string> names;
  names.reserve(aliases.size());
  for (const auto& alias : aliases) names.push_back(alias.name);
  return names;
}

TEST_CASE("Registry reads see every successful write", "[storage][registry]") {
  auto registry = OpenRegistry(MemoryStore());
  CHECK(registry->KeyCount() == 0);
  CHECK(registry->FindKey(kUsEast, "k1") == nullptr);

  const KeyRecord key = SampleKey(kUsEast, "k1");
  const AliasRecord alias = SampleAlias(kUsEast, "alias/one", "k1");
  {
    auto writer = registry->BeginWrite();
    REQUIRE(writer.InsertKey(key));
    REQUIRE(writer.InsertAlias(alias));
  }
  auto found = registry->FindKey(kUsEast, "k1");
  REQUIRE(found != nullptr);
  CHECK(*found == key);
  CHECK(registry->FindAlias(kUsEast, "alias/one") == alias);
  CHECK(registry->FindAlias(kUsEast, "alias/two") == std::nullopt);
  CHECK(registry->KeyCount() == 1);

  SECTION("UpdateAlias") {
    auto writer = registry->BeginWrite();
    REQUIRE(writer.InsertKey(MinimalKey(kUsEast, "k2")));
    AliasRecord moved = alias;
    moved.target_key_id = "k2";
    REQUIRE(writer.UpdateAlias(moved));
    CHECK(registry->FindAlias(kUsEast, "alias/one") == moved);
  }
  SECTION("DeleteAlias") {
    REQUIRE(registry->BeginWrite().DeleteAlias(kUsEast, "alias/one"));
    CHECK(registry->FindAlias(kUsEast, "alias/one") == std::nullopt);
    CHECK(registry->FindKey(kUsEast, "k1") != nullptr);
  }
  SECTION("DeleteKey also removes the aliases that target it, and only those") {
    auto writer = registry->BeginWrite();
    REQUIRE(writer.InsertKey(MinimalKey(kUsEast, "k2")));
    REQUIRE(writer.InsertAlias(SampleAlias(kUsEast, "alias/two", "k1")));
    REQUIRE(writer.InsertAlias(SampleAlias(kUsEast, "alias/other", "k2")));
    REQUIRE(writer.InsertKey(MinimalKey(kEuWest, "k1")));
    REQUIRE(writer.InsertAlias(SampleAlias(kEuWest, "alias/one", "k1")));
    REQUIRE(writer.DeleteKey(kUsEast, "k1"));
    CHECK(registry->FindKey(kUsEast, "k1") == nullptr);
    CHECK(AliasNames(registry->ListAliases(kUsEast)) == std::vector<std::string>{"alias/other"});
    CHECK(registry->FindAlias(kEuWest, "alias/one").has_value());
    CHECK(registry->KeyCount() == 2);
  }
  SECTION("Reset empties every scope") {
    auto writer = registry->BeginWrite();
    REQUIRE(writer.InsertKey(MinimalKey(kEuWest, "k9")));
    REQUIRE(writer.Reset());
    CHECK(registry->KeyCount() == 0);
    CHECK(registry->ListKeys(kUsEast).empty());
    CHECK(registry->ListKeys(kEuWest).empty());
    CHECK(registry->ListAliases(kUsEast).empty());
  }
}

TEST_CASE("Registry keeps scopes apart", "[storage][registry]") {
  auto registry = OpenRegistry(MemoryStore());
  {
    auto writer = registry->BeginWrite();
    for (const Scope& scope : {kUsEast, kEuWest}) {
      KeyRecord key = MinimalKey(scope, "same-id");
      key.description = scope.region;
      REQUIRE(writer.InsertKey(key));
      REQUIRE(writer.InsertAlias(SampleAlias(scope, "alias/same", "same-id")));
    }
  }
  CHECK(registry->FindKey(kUsEast, "same-id")->description == "us-east-1");
  CHECK(registry->FindKey(kEuWest, "same-id")->description == "eu-west-2");
  CHECK(registry->FindKey(kOtherAccount, "same-id") == nullptr);
  CHECK(registry->FindAlias(kOtherAccount, "alias/same") == std::nullopt);
  CHECK(registry->ListKeys(kUsEast).size() == 1);
  CHECK(registry->ListKeys(kOtherAccount).empty());
  CHECK(registry->ListAliases(kEuWest).size() == 1);
  CHECK(registry->KeyCount() == 2);

  REQUIRE(registry->BeginWrite().DeleteKey(kEuWest, "same-id"));
  CHECK(registry->FindKey(kUsEast, "same-id") != nullptr);
  CHECK(registry->FindAlias(kUsEast, "alias/same").has_value());
  CHECK(registry->FindAlias(kEuWest, "alias/same") == std::nullopt);
}

TEST_CASE("A KeyPtr held by a reader is unchanged by UpdateKey", "[storage][registry]") {
  auto registry = OpenRegistry(MemoryStore());
  const KeyRecord original = SampleKey(kUsEast, "k1");
  REQUIRE(registry->BeginWrite().InsertKey(original));

  const Registry::KeyPtr held = registry->FindKey(kUsEast, "k1");
  KeyRecord changed = *held;
  changed.key_state = "Disabled";
  changed.tags.clear();
  changed.materials.pop_back();
  REQUIRE(registry->BeginWrite().UpdateKey(changed));

  CHECK(*held == original);
  const Registry::KeyPtr now = registry->FindKey(kUsEast, "k1");
  CHECK(now != held);
  CHECK(*now == changed);
}

TEST_CASE("ListKeys and ListAliases are sorted", "[storage][registry]") {
  auto registry = OpenRegistry(MemoryStore());
  std::vector<std::string> ids;
  ids.reserve(40);
  for (int i = 0; i < 40; ++i) ids.push_back("key-" + std::to_string((i * 17) % 40));
  {
    auto writer = registry->BeginWrite();
    for (const std::string& id : ids) {
      REQUIRE(writer.InsertKey(MinimalKey(kUsEast, id)));
      REQUIRE(writer.InsertAlias(SampleAlias(kUsEast, "alias/" + id, id)));
    }
    REQUIRE(writer.InsertKey(MinimalKey(kEuWest, "key-zz")));
  }
  std::sort(ids.begin(), ids.end());
  CHECK(KeyIds(registry->ListKeys(kUsEast)) == ids);
  const auto names = AliasNames(registry->ListAliases(kUsEast));
  CHECK(std::is_sorted(names.begin(), names.end()));
  CHECK(names.size() == ids.size());
}

TEST_CASE("A failing Store leaves memory unchanged and returns its error", "[storage][registry]") {
  auto faulty = std::make_unique<FaultyStore>(MemoryStore());
  FaultyStore* faults = faulty.get();
  auto registry = OpenRegistry(std::move(faulty));
  {
    auto writer = registry->BeginWrite();
    REQUIRE(writer.InsertKey(SampleKey(kUsEast, "k1")));
    REQUIRE(writer.InsertAlias(SampleAlias(kUsEast, "alias/one", "k1")));
  }
  const Registry::KeyPtr before = registry->FindKey(kUsEast, "k1");
  const auto aliases_before = registry->ListAliases(kUsEast);

  const auto code = GENERATE(Error::Code::kIo, Error::Code::kBusy);
  faults->FailNextWrites(1, code);
  auto writer = registry->BeginWrite();
  Result<void> result;
  SECTION("InsertKey") { result = writer.InsertKey(MinimalKey(kUsEast, "k2")); }
  SECTION("UpdateKey") {
    KeyRecord changed = *before;
    changed.description = "changed";
    result = writer.UpdateKey(changed);
  }
  SECTION("DeleteKey") { result = writer.DeleteKey(kUsEast, "k1"); }
  SECTION("InsertAlias") { result = writer.InsertAlias(SampleAlias(kUsEast, "alias/two", "k1")); }
  SECTION("UpdateAlias") { result = writer.UpdateAlias(SampleAlias(kUsEast, "alias/one", "k1")); }
  SECTION("DeleteAlias") { result = writer.DeleteAlias(kUsEast, "alias/one"); }
  SECTION("Reset") { result = writer.Reset(); }

  REQUIRE_FALSE(result);
  CHECK(result.error().code == code);
  CHECK(faults->failures() == 1);
  CHECK(registry->FindKey(kUsEast, "k1") == before);  // the very same published record
  CHECK(registry->FindKey(kUsEast, "k2") == nullptr);
  CHECK(registry->KeyCount() == 1);
  CHECK(registry->ListAliases(kUsEast) == aliases_before);

  // The fault was one-shot: the next write goes through.
  REQUIRE(writer.InsertKey(MinimalKey(kUsEast, "k3")));
  CHECK(registry->FindKey(kUsEast, "k3") != nullptr);
}

TEST_CASE("Store errors pass through the Writer and leave memory unchanged",
          "[storage][registry]") {
  auto registry = OpenRegistry(MemoryStore());
  auto writer = registry->BeginWrite();
  REQUIRE(writer.InsertKey(SampleKey(kUsEast, "k1")));
  const Registry::KeyPtr before = registry->FindKey(kUsEast, "k1");

  auto duplicate = writer.InsertKey(MinimalKey(kUsEast, "k1"));
  REQUIRE_FALSE(duplicate);
  CHECK(duplicate.error().code == Error::Code::kAlreadyExists);
  CHECK(registry->FindKey(kUsEast, "k1") == before);

  auto missing = writer.UpdateKey(MinimalKey(kUsEast, "k2"));
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code == Error::Code::kNotFound);
  CHECK(registry->FindKey(kUsEast, "k2") == nullptr);

  auto dangling = writer.InsertAlias(SampleAlias(kUsEast, "alias/x", "k2"));
  REQUIRE_FALSE(dangling);
  CHECK(dangling.error().code == Error::Code::kNotFound);
  CHECK(registry->FindAlias(kUsEast, "alias/x") == std::nullopt);
}

TEST_CASE("Registry::Open reports a failing LoadAll", "[storage][registry]") {
  auto faulty = std::make_unique<FaultyStore>(MemoryStore());
  faulty->FailNextLoad(Error::Code::kCorrupt);
  auto registry = Registry::Open(std::move(faulty));
  REQUIRE_FALSE(registry);
  CHECK(registry.error().code == Error::Code::kCorrupt);
}

TEST_CASE("Only one Writer at a time, and readers are never blocked by it", "[storage][registry]") {
  auto registry = OpenRegistry(MemoryStore());
  REQUIRE(registry->BeginWrite().InsertKey(MinimalKey(kUsEast, "k1")));

  auto first = std::make_unique<Registry::Writer>(registry->BeginWrite());
  std::atomic<bool> second_started{false};
  std::thread second([&] {
    auto writer = registry->BeginWrite();
    second_started = true;
  });
  // Readers proceed while a Writer is alive.
  CHECK(registry->FindKey(kUsEast, "k1") != nullptr);
  CHECK(registry->KeyCount() == 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK_FALSE(second_started.load());

  Registry::Writer moved = std::move(*first);  // ownership of the mutex moves too
  first.reset();
  CHECK_FALSE(second_started.load());
  REQUIRE(moved.InsertKey(MinimalKey(kUsEast, "k2")));
  { Registry::Writer release = std::move(moved); }
  second.join();
  CHECK(second_started.load());
}

TEST_CASE("Read-check-modify-write through a Writer is atomic against other writers",
          "[storage][registry]") {
  auto registry = OpenRegistry(MemoryStore());
  KeyRecord key = MinimalKey(kUsEast, "counter");
  key.rotation_period_days = 0;
  REQUIRE(registry->BeginWrite().InsertKey(key));

  constexpr int kThreads = 4;
  constexpr int kIncrements = 50;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kIncrements; ++i) {
        auto writer = registry->BeginWrite();
        KeyRecord next = *registry->FindKey(kUsEast, "counter");
        next.rotation_period_days = *next.rotation_period_days + 1;
        if (!writer.UpdateKey(std::move(next))) ++failures;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  CHECK(failures.load() == 0);
  CHECK(registry->FindKey(kUsEast, "counter")->rotation_period_days == kThreads * kIncrements);
}

TEST_CASE("Concurrent readers and one writer see consistent records", "[storage][registry]") {
  auto registry = OpenRegistry(MemoryStore());
  constexpr int kKeys = 8;
  constexpr int kRounds = 40;
  auto Generation = [](int gen) { return "generation " + std::to_string(gen); };
  {
    auto writer = registry->BeginWrite();
    for (int k = 0; k < kKeys; ++k) {
      KeyRecord key = MinimalKey(kUsEast, "k" + std::to_string(k));
      key.description = Generation(0);
      key.rotation_period_days = 0;
      REQUIRE(writer.InsertKey(key));
    }
  }

  std::atomic<bool> done{false};
  std::atomic<int> inconsistent{0};
  std::atomic<long> reads{0};
  constexpr int kReaders = 3;
  std::vector<std::thread> readers;
  readers.reserve(kReaders);
  for (int r = 0; r < kReaders; ++r) {
    readers.emplace_back([&, r] {
      while (!done.load()) {
        const std::string id = "k" + std::to_string((reads.load() + r) % kKeys);
        Registry::KeyPtr key = registry->FindKey(kUsEast, id);
        // Every published record is internally consistent: description and period match.
        if (key == nullptr || key->description != Generation(*key->rotation_period_days)) {
          ++inconsistent;
        }
        if (registry->ListKeys(kUsEast).size() != kKeys) ++inconsistent;
        if (registry->KeyCount() != kKeys) ++inconsistent;
        auto alias = registry->FindAlias(kUsEast, "alias/" + id);
        if (alias && alias->target_key_id != id) ++inconsistent;
        ++reads;
      }
    });
  }

  std::atomic<int> failures{0};
  std::thread writer_thread([&] {
    for (int gen = 1; gen <= kRounds; ++gen) {
      auto writer = registry->BeginWrite();
      for (int k = 0; k < kKeys; ++k) {
        const std::string id = "k" + std::to_string(k);
        KeyRecord next = *registry->FindKey(kUsEast, id);
        next.description = Generation(gen);
        next.rotation_period_days = gen;
        if (!writer.UpdateKey(std::move(next))) ++failures;
        AliasRecord alias = SampleAlias(kUsEast, "alias/" + id, id);
        if (gen == 1 ? !writer.InsertAlias(alias) : !writer.UpdateAlias(alias)) ++failures;
      }
    }
    done = true;
  });
  writer_thread.join();
  for (std::thread& reader : readers) reader.join();

  CHECK(failures.load() == 0);
  CHECK(inconsistent.load() == 0);
  CHECK(reads.load() > 0);
  for (const auto& key : registry->ListKeys(kUsEast)) {
    CHECK(key->description == Generation(kRounds));
  }
}

TEST_CASE("Reopening the file reproduces the registry", "[storage][registry]") {
  TempDir dir;
  const std::string path = dir.File("kms.db");
  std::vector<KeyRecord> keys_before;
  std::vector<AliasRecord> aliases_before;
  {
    auto store = SqliteStore::Open(path);
    REQUIRE(store);
    auto registry = OpenRegistry(std::move(*store));
    auto writer = registry->BeginWrite();
    for (const Scope& scope : {kUsEast, kEuWest}) {
      REQUIRE(writer.InsertKey(SampleKey(scope, "k1")));
      REQUIRE(writer.InsertKey(MinimalKey(scope, "k2")));
      REQUIRE(writer.InsertKey(MinimalKey(scope, "k3")));
      REQUIRE(writer.InsertAlias(SampleAlias(scope, "alias/a", "k1")));
      REQUIRE(writer.InsertAlias(SampleAlias(scope, "alias/b", "k3")));
    }
    KeyRecord updated = *registry->FindKey(kUsEast, "k2");
    updated.tags.push_back({"added", "later"});
    REQUIRE(writer.UpdateKey(updated));
    REQUIRE(writer.DeleteKey(kEuWest, "k3"));
    for (const auto& key : registry->ListKeys(kUsEast)) keys_before.push_back(*key);
    for (const auto& key : registry->ListKeys(kEuWest)) keys_before.push_back(*key);
    aliases_before = registry->ListAliases(kUsEast);
    for (auto& alias : registry->ListAliases(kEuWest)) aliases_before.push_back(alias);
  }

  auto store = SqliteStore::Open(path);
  REQUIRE(store);
  auto registry = OpenRegistry(std::move(*store));
  std::vector<KeyRecord> keys_after;
  for (const auto& key : registry->ListKeys(kUsEast)) keys_after.push_back(*key);
  for (const auto& key : registry->ListKeys(kEuWest)) keys_after.push_back(*key);
  std::vector<AliasRecord> aliases_after = registry->ListAliases(kUsEast);
  for (auto& alias : registry->ListAliases(kEuWest)) aliases_after.push_back(alias);

  CHECK(keys_after.size() == 5);
  CHECK(keys_after == keys_before);
  CHECK(aliases_after.size() == 3);
  CHECK(aliases_after == aliases_before);
  CHECK(registry->KeyCount() == 5);
}

}  // namespace
}  // namespace kms::storage

namespace kms::storage {
namespace {

// A Store whose LoadAll returns a fixed snapshot; its writes are never called here.
class SnapshotStore final : public Store {
 public:
  explicit SnapshotStore(Snapshot snapshot) : snapshot_(std::move(snapshot)) {}
  Result<Snapshot> LoadAll() override { return snapshot_; }
  Result<void> InsertKey(const KeyRecord&) override { return Unused(); }
  Result<void> UpdateKey(const KeyRecord&) override { return Unused(); }
  Result<void> DeleteKey(const Scope&, std::string_view) override { return Unused(); }
  Result<void> InsertAlias(const AliasRecord&) override { return Unused(); }
  Result<void> UpdateAlias(const AliasRecord&) override { return Unused(); }
  Result<void> DeleteAlias(const Scope&, std::string_view) override { return Unused(); }
  Result<void> Reset() override { return Unused(); }

 private:
  static Error Unused() { return Error{Error::Code::kIo, "not used by this test"}; }
  Snapshot snapshot_;
};

TEST_CASE("Registry::Open publishes the loaded records themselves", "[storage][registry]") {
  Snapshot snapshot;
  for (const char* id : {"k1", "k2", "k3"}) {
    snapshot.keys.push_back(std::make_shared<const KeyRecord>(SampleKey(kUsEast, id)));
  }
  snapshot.keys.push_back(std::make_shared<const KeyRecord>(SampleKey(kEuWest, "k1")));
  const std::vector<Registry::KeyPtr> loaded = snapshot.keys;
  auto registry = OpenRegistry(std::make_unique<SnapshotStore>(std::move(snapshot)));
  CHECK(registry->KeyCount() == 4);
  for (const auto& key : loaded) {
    CHECK(registry->FindKey(key->scope, key->key_id) == key);  // the same object, not a copy
  }
}

TEST_CASE("Registry::Open refuses a key or alias the Store returns twice", "[storage][registry]") {
  Snapshot snapshot;
  snapshot.keys.push_back(std::make_shared<const KeyRecord>(MinimalKey(kUsEast, "k1")));
  SECTION("a key") {
    snapshot.keys.push_back(std::make_shared<const KeyRecord>(SampleKey(kUsEast, "k1")));
  }
  SECTION("an alias") {
    snapshot.aliases = {SampleAlias(kUsEast, "alias/a", "k1"),
                        SampleAlias(kUsEast, "alias/a", "k1")};
  }
  auto registry = Registry::Open(std::make_unique<SnapshotStore>(std::move(snapshot)));
  REQUIRE_FALSE(registry);
  CHECK(registry.error().code == Error::Code::kCorrupt);
  CHECK_THAT(registry.error().message, Catch::Contains("twice"));
}

}  // namespace
}  // namespace kms::storage
