#include "storage/registry.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
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

CustomKeyStoreRecord SampleStore(std::string id) {
  CustomKeyStoreRecord store;
  store.scope = kUsEast;
  store.id = std::move(id);
  store.name = "name-" + store.id;
  store.cloud_hsm_cluster_id = "cluster-1234567890a";
  return store;
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
  changed.key_state = domain::KeyState::kDisabled;
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

TEST_CASE("A failed commit undoes the change in memory and fails its ticket",
          "[storage][registry]") {
  auto faulty = std::make_unique<FaultyStore>(MemoryStore());
  FaultyStore* faults = faulty.get();
  auto registry = OpenRegistry(std::move(faulty));
  {
    auto writer = registry->BeginWrite();
    REQUIRE(writer.InsertKey(SampleKey(kUsEast, "k1")));
    REQUIRE(writer.InsertAlias(SampleAlias(kUsEast, "alias/one", "k1")));
    REQUIRE(writer.InsertCustomKeyStore(SampleStore("cks-00000000000000001")));
  }
  REQUIRE(registry->WaitDurable({0, registry->LastChange()}));
  const Registry::KeyPtr before = registry->FindKey(kUsEast, "k1");
  const auto aliases_before = registry->ListAliases(kUsEast);
  const auto stores_before = registry->ListCustomKeyStores(kUsEast);

  const auto code = GENERATE(Error::Code::kIo, Error::Code::kBusy);
  faults->FailNextWrites(1, code);
  const Registry::Seq begin = registry->LastChange();
  {
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
    SECTION("UpdateAlias") {
      AliasRecord moved = SampleAlias(kUsEast, "alias/one", "k1");
      moved.last_updated_date += 1;
      result = writer.UpdateAlias(moved);
    }
    SECTION("DeleteAlias") { result = writer.DeleteAlias(kUsEast, "alias/one"); }
    SECTION("InsertCustomKeyStore") {
      result = writer.InsertCustomKeyStore(SampleStore("cks-00000000000000002"));
    }
    SECTION("UpdateCustomKeyStore") {
      CustomKeyStoreRecord changed = SampleStore("cks-00000000000000001");
      changed.connection_state = domain::ConnectionState::kConnected;
      result = writer.UpdateCustomKeyStore(changed);
    }
    SECTION("DeleteCustomKeyStore") {
      result = writer.DeleteCustomKeyStore(kUsEast, "cks-00000000000000001");
    }
    SECTION("Reset") { result = writer.Reset(); }
    REQUIRE(result);  // made in memory; the store has not been asked yet
  }
  const Registry::Ticket ticket{begin, registry->LastChange()};
  auto settled = registry->WaitDurable(ticket);
  REQUIRE_FALSE(settled);
  CHECK(settled.error().code == code);
  CHECK_FALSE(registry->IsDurable(ticket));
  CHECK(faults->failures() == 1);
  // Memory is back to what the store holds: the very same published records.
  CHECK(registry->FindKey(kUsEast, "k1") == before);
  CHECK(registry->FindKey(kUsEast, "k2") == nullptr);
  CHECK(registry->KeyCount() == 1);
  CHECK(registry->ListAliases(kUsEast) == aliases_before);
  CHECK(registry->ListCustomKeyStores(kUsEast) == stores_before);

  // A request that starts after the undo is durable at once, and the next write goes through.
  const Registry::Seq after = registry->LastChange();
  CHECK(registry->IsDurable({after, after}));
  REQUIRE(registry->BeginWrite().InsertKey(MinimalKey(kUsEast, "k3")));
  CHECK(registry->WaitDurable({after, registry->LastChange()}));
  CHECK(registry->FindKey(kUsEast, "k3") != nullptr);
}

TEST_CASE("Changes queued while a batch commits are committed together", "[storage][registry]") {
  auto faulty = std::make_unique<FaultyStore>(MemoryStore());
  FaultyStore* faults = faulty.get();
  auto registry = OpenRegistry(std::move(faulty));
  const Registry::Seq start = registry->LastChange();
  CHECK(registry->IsDurable({start, start}));  // nothing in flight: durable at once

  faults->HoldWrites();
  REQUIRE(registry->BeginWrite().InsertKey(MinimalKey(kUsEast, "k0")));
  faults->WaitForApplyCalls(1);  // the committer is inside Apply with a batch of one
  const Registry::Ticket first{start, registry->LastChange()};
  CHECK_FALSE(registry->IsDurable(first));
  for (int i = 1; i <= 9; ++i) {
    REQUIRE(registry->BeginWrite().InsertKey(MinimalKey(kUsEast, "k" + std::to_string(i))));
  }
  const Registry::Ticket all{start, registry->LastChange()};

  std::atomic<int> called{0};
  registry->WhenDurable(all, [&](const std::optional<Error>& failure) {
    CHECK_FALSE(failure.has_value());
    ++called;
  });
  CHECK(called.load() == 0);  // not yet: the store is held
  faults->ReleaseWrites();
  REQUIRE(registry->WaitDurable(all));
  CHECK(called.load() == 1);
  CHECK(faults->batch_sizes() == std::vector<std::size_t>{1, 9});
  CHECK(registry->IsDurable(first));

  // Already durable: the callback runs at once, on the calling thread.
  bool inline_call = false;
  registry->WhenDurable(
      all, [&](const std::optional<Error>& failure) { inline_call = !failure.has_value(); });
  CHECK(inline_call);
}

TEST_CASE("A failed batch undoes every later change too and fails every ticket that saw one",
          "[storage][registry]") {
  auto faulty = std::make_unique<FaultyStore>(MemoryStore());
  FaultyStore* faults = faulty.get();
  auto registry = OpenRegistry(std::move(faulty));
  REQUIRE(registry->BeginWrite().InsertKey(SampleKey(kUsEast, "k0")));
  const Registry::Seq committed = registry->LastChange();
  REQUIRE(registry->WaitDurable({0, committed}));
  const Registry::KeyPtr k0 = registry->FindKey(kUsEast, "k0");

  faults->HoldWrites();
  faults->FailNextWrites(1);
  REQUIRE(registry->BeginWrite().InsertKey(MinimalKey(kUsEast, "k1")));
  faults->WaitForApplyCalls(1);  // batch [k1] is in Apply and will fail
  {
    auto writer = registry->BeginWrite();  // queued behind it, built on top of it
    REQUIRE(writer.InsertAlias(SampleAlias(kUsEast, "alias/one", "k1")));
    KeyRecord changed = *k0;
    changed.key_state = domain::KeyState::kDisabled;
    REQUIRE(writer.UpdateKey(changed));
    REQUIRE(writer.DeleteKey(kUsEast, "k1"));
    REQUIRE(writer.InsertKey(MinimalKey(kUsEast, "k1")));
  }
  // A read that saw the uncommitted state, and one that began before the failure and ends
  // after the undo (it may have seen memory half undone).
  const Registry::Seq during = registry->LastChange();
  CHECK(registry->FindKey(kUsEast, "k0")->key_state == domain::KeyState::kDisabled);
  std::optional<Error> read_failure;
  registry->WhenDurable({during, during},
                        [&](const std::optional<Error>& failure) { read_failure = failure; });

  faults->ReleaseWrites();
  CHECK_FALSE(registry->WaitDurable({committed, during}));
  CHECK(read_failure.has_value());
  const Registry::Seq after = registry->LastChange();
  CHECK(after > during);
  CHECK_FALSE(registry->IsDurable({during, after}));
  CHECK(registry->IsDurable({after, after}));
  CHECK(registry->IsDurable({0, committed}));

  CHECK(registry->FindKey(kUsEast, "k0") == k0);
  CHECK(registry->FindKey(kUsEast, "k1") == nullptr);
  CHECK(registry->FindAlias(kUsEast, "alias/one") == std::nullopt);
  CHECK(registry->KeyCount() == 1);
  // Only the failed batch reached the store: the rest were undone without being tried.
  CHECK(faults->batch_sizes().size() == 1 + 1);  // k0, then [k1]
}

TEST_CASE("Quiesce returns once every callback has run and let go", "[storage][registry]") {
  auto faulty = std::make_unique<FaultyStore>(MemoryStore());
  FaultyStore* faults = faulty.get();
  auto registry = OpenRegistry(std::move(faulty));
  faults->HoldWrites();
  REQUIRE(registry->BeginWrite().InsertKey(MinimalKey(kUsEast, "k1")));
  auto held = std::make_shared<int>(0);
  std::atomic<bool> finished{false};
  registry->WhenDurable({0, registry->LastChange()},
                        [held, &finished](const std::optional<Error>&) {
                          std::this_thread::sleep_for(std::chrono::milliseconds(50));
                          finished = true;
                        });
  std::weak_ptr<int> watch = held;
  held.reset();
  std::thread release([faults] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    faults->ReleaseWrites();
  });
  registry->Quiesce();
  CHECK(finished.load());
  CHECK(watch.expired());  // the callback's captures are gone too
  release.join();
}

TEST_CASE("Destroying the registry commits what is still queued", "[storage][registry]") {
  TempDir dir;
  const std::string path = dir.File("kms.db");
  {
    auto store = SqliteStore::Open(path);
    REQUIRE(store);
    auto registry = OpenRegistry(std::move(*store));
    for (int i = 0; i < 50; ++i) {
      REQUIRE(registry->BeginWrite().InsertKey(MinimalKey(kUsEast, "k" + std::to_string(i))));
    }
  }
  auto store = SqliteStore::Open(path);
  REQUIRE(store);
  CHECK(OpenRegistry(std::move(*store))->KeyCount() == 50);
}

namespace {

// A registry over a SqliteStore whose file `path` is not built yet (Creation::kDeferred).
std::unique_ptr<Registry> OpenDeferred(const std::string& path) {
  auto store = SqliteStore::Open(path, SqliteStore::Creation::kDeferred);
  REQUIRE(store);
  REQUIRE_FALSE(std::filesystem::exists(path));
  return OpenRegistry(std::move(*store));
}

// The number of keys a registry over the (closed) database file `path` loads.
std::size_t KeysInFile(const std::string& path) {
  auto store = SqliteStore::Open(path);
  REQUIRE(store);
  return OpenRegistry(std::move(*store))->KeyCount();
}

}  // namespace

TEST_CASE("The committer builds a deferred database file when asked, with no write",
          "[storage][registry]") {
  TempDir dir;
  const std::string path = dir.File("kms.db");
  auto registry = OpenDeferred(path);
  CHECK(registry->KeyCount() == 0);
  // Not on its own: kmsd asks once it is serving, so the build is off its start-up path.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK_FALSE(std::filesystem::exists(path));
  registry->PrepareStoreSoon();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!std::filesystem::exists(path) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  CHECK(std::filesystem::exists(path));
  // A write right after start waits for the build and lands in the file.
  REQUIRE(registry->BeginWrite().InsertKey(MinimalKey(kUsEast, "k1")));
  registry.reset();
  CHECK(KeysInFile(path) == 1);
}

TEST_CASE("A write to a deferred database file builds it without being asked",
          "[storage][registry]") {
  TempDir dir;
  const std::string path = dir.File("kms.db");
  auto registry = OpenDeferred(path);
  Registry::Ticket ticket{registry->LastChange(), 0};
  REQUIRE(registry->BeginWrite().InsertKey(MinimalKey(kUsEast, "k1")));
  ticket.end = registry->LastChange();
  REQUIRE(registry->WaitDurable(ticket));
  CHECK(std::filesystem::exists(path));
  registry->PrepareStoreSoon();  // now nothing left to do
  registry.reset();
  CHECK(KeysInFile(path) == 1);
}

TEST_CASE("Writes that contradict memory fail at once and leave memory unchanged",
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
  Result<void> Apply(std::span<const Change>) override { return Unused(); }

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

TEST_CASE("Custom key stores and loaded key usage survive a reopen through the registry",
          "[storage][registry][custom_key_store]") {
  TempDir dir;
  const std::string path = dir.File("kms.db");
  {
    auto store = SqliteStore::Open(path);
    REQUIRE(store);
    auto registry = OpenRegistry(std::move(*store));
    auto writer = registry->BeginWrite();
    REQUIRE(writer.InsertKey(MinimalKey(kUsEast, "k1")));
    REQUIRE(writer.InsertCustomKeyStore(SampleStore("cks-00000000000000002")));
    REQUIRE(writer.InsertCustomKeyStore(SampleStore("cks-00000000000000001")));
    auto twice = writer.InsertCustomKeyStore(SampleStore("cks-00000000000000001"));
    REQUIRE_FALSE(twice);
    CHECK(twice.error().code == Error::Code::kAlreadyExists);
    REQUIRE(writer.RecordKeyUsage({KeyUsageRecord{kUsEast, "k1", "Encrypt", 1700000000, "r"}}));
  }
  auto store = SqliteStore::Open(path);
  REQUIRE(store);
  auto registry = OpenRegistry(std::move(*store));
  const auto stores = registry->ListCustomKeyStores(kUsEast);
  REQUIRE(stores.size() == 2);
  CHECK(stores[0].id == "cks-00000000000000001");  // sorted by id
  CHECK(stores[1] == SampleStore("cks-00000000000000002"));
  CHECK(registry->ListCustomKeyStores(kEuWest).empty());
  CHECK(registry->FindCustomKeyStore(kUsEast, "cks-00000000000000002"));
  CHECK_FALSE(registry->FindCustomKeyStore(kEuWest, "cks-00000000000000002"));
  CHECK(registry->TakeLoadedKeyUsage() ==
        std::vector<KeyUsageRecord>{KeyUsageRecord{kUsEast, "k1", "Encrypt", 1700000000, "r"}});
  CHECK(registry->TakeLoadedKeyUsage().empty());
}

}  // namespace
}  // namespace kms::storage
