#include "storage/key_usage_tracker.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <catch2/catch.hpp>

#include "storage/registry.hpp"
#include "storage/sqlite_store.hpp"
#include "tests/unit/storage/faulty_store.hpp"
#include "tests/unit/storage/test_util.hpp"

namespace kms::storage {
namespace {

using testing::FaultyStore;
using testing::kEuWest;
using testing::kUsEast;
using testing::MinimalKey;
using testing::TempDir;

constexpr std::chrono::milliseconds kNoThread{0};

// A registry over a SQLite file (wrapped in a FaultyStore), reopened on demand: a restart.
class Fixture {
 public:
  explicit Fixture(const TempDir& dir) : path_(dir.File("kms.db")) { Open(); }

  void Open() {
    auto store = SqliteStore::Open(path_);
    REQUIRE(store);
    auto faulty = std::make_unique<FaultyStore>(std::move(*store));
    faults_ = faulty.get();
    auto registry = Registry::Open(std::move(faulty));
    REQUIRE(registry);
    registry_ = std::move(*registry);
  }
  void Close() { registry_.reset(); }

  void InsertKeys(const Scope& scope, const std::vector<std::string>& ids) {
    auto writer = registry_->BeginWrite();
    for (const std::string& id : ids) REQUIRE(writer.InsertKey(MinimalKey(scope, id)));
  }
  // Waits until every change so far is settled, and its callbacks have returned.
  void Settle() { registry_->Quiesce(); }

  Registry& registry() { return *registry_; }
  FaultyStore& faults() { return *faults_; }

 private:
  std::string path_;
  FaultyStore* faults_ = nullptr;
  std::unique_ptr<Registry> registry_;
};

KeyUsageRecord Use(const Scope& scope, std::string key_id, std::string operation, std::int64_t at,
                   std::string request_id) {
  return KeyUsageRecord{scope, std::move(key_id), std::move(operation), at, std::move(request_id)};
}

void Record(KeyUsageTracker& tracker, const KeyUsageRecord& u) {
  tracker.Record(u.scope, u.key_id, u.operation, u.used_at, u.request_id);
}

std::vector<KeyUsageRecord> Sorted(std::vector<KeyUsageRecord> rows) {
  std::sort(rows.begin(), rows.end(), [](const KeyUsageRecord& a, const KeyUsageRecord& b) {
    return std::tie(a.scope, a.key_id) < std::tie(b.scope, b.key_id);
  });
  return rows;
}

TEST_CASE("The tracker keeps the newest use of each key in each scope", "[storage][key_usage]") {
  TempDir dir;
  Fixture f(dir);
  f.InsertKeys(kUsEast, {"k1", "k2"});
  f.InsertKeys(kEuWest, {"k1"});
  KeyUsageTracker tracker(f.registry(), kNoThread);

  CHECK_FALSE(tracker.Find(kUsEast, "k1"));
  Record(tracker, Use(kUsEast, "k1", "Encrypt", 100, "r1"));
  Record(tracker, Use(kEuWest, "k1", "Sign", 50, "r2"));
  CHECK(tracker.Find(kUsEast, "k1") == Use(kUsEast, "k1", "Encrypt", 100, "r1"));
  CHECK(tracker.Find(kEuWest, "k1") == Use(kEuWest, "k1", "Sign", 50, "r2"));
  CHECK_FALSE(tracker.Find(kUsEast, "k2"));

  SECTION("a later use replaces it (one in the same second too)") {
    Record(tracker, Use(kUsEast, "k1", "GenerateDataKeyPairWithoutPlaintext", 100, "r3"));
    CHECK(tracker.Find(kUsEast, "k1") ==
          Use(kUsEast, "k1", "GenerateDataKeyPairWithoutPlaintext", 100, "r3"));
    Record(tracker, Use(kUsEast, "k1", "Decrypt", 101, "r4"));
    CHECK(tracker.Find(kUsEast, "k1") == Use(kUsEast, "k1", "Decrypt", 101, "r4"));
  }
  SECTION("an older use recorded late does not") {
    Record(tracker, Use(kUsEast, "k1", "Decrypt", 99, "late"));
    CHECK(tracker.Find(kUsEast, "k1") == Use(kUsEast, "k1", "Encrypt", 100, "r1"));
  }
  SECTION("Forget drops one key's entry, Clear every entry") {
    tracker.Forget(kUsEast, "k1");
    CHECK_FALSE(tracker.Find(kUsEast, "k1"));
    CHECK(tracker.Find(kEuWest, "k1"));
    tracker.Forget(kUsEast, "no-such-key");  // harmless
    tracker.Clear();
    CHECK_FALSE(tracker.Find(kEuWest, "k1"));
    CHECK(tracker.Flush() == 0);  // nothing dirty is left to send
  }
}

TEST_CASE("A flush sends the dirty entries and only them as one change", "[storage][key_usage]") {
  TempDir dir;
  Fixture f(dir);
  std::vector<std::string> ids;
  for (int i = 0; i < 100; ++i) ids.push_back("key-" + std::to_string(i));
  f.InsertKeys(kUsEast, ids);
  f.Settle();
  const std::size_t applies = f.faults().batch_sizes().size();
  {
    KeyUsageTracker tracker(f.registry(), kNoThread);
    CHECK(tracker.Flush() == 0);  // nothing recorded: no change at all
    for (const std::string& id : ids) Record(tracker, Use(kUsEast, id, "Encrypt", 10, "r-" + id));
    Record(tracker, Use(kUsEast, "key-7", "Decrypt", 11, "again"));  // still one row for key-7

    CHECK(tracker.Flush() == 100);
    f.Settle();
    const std::vector<std::size_t> sizes = f.faults().batch_sizes();
    REQUIRE(sizes.size() == applies + 1);  // one commit ...
    CHECK(sizes.back() == 1);              // ... of one change

    CHECK(tracker.Flush() == 0);  // clean now
    Record(tracker, Use(kUsEast, "key-3", "Sign", 12, "r-last"));
    CHECK(tracker.Flush() == 1);  // only what was used since
    f.Settle();
  }
  f.Close();
  f.Open();
  std::vector<KeyUsageRecord> loaded = Sorted(f.registry().TakeLoadedKeyUsage());
  REQUIRE(loaded.size() == 100);
  const auto row = [&](const std::string& id) {
    return *std::find_if(loaded.begin(), loaded.end(),
                         [&](const KeyUsageRecord& u) { return u.key_id == id; });
  };
  CHECK(row("key-0") == Use(kUsEast, "key-0", "Encrypt", 10, "r-key-0"));
  CHECK(row("key-7") == Use(kUsEast, "key-7", "Decrypt", 11, "again"));
  CHECK(row("key-3") == Use(kUsEast, "key-3", "Sign", 12, "r-last"));
}

TEST_CASE("A new tracker starts clean from what the store held", "[storage][key_usage]") {
  TempDir dir;
  Fixture f(dir);
  f.InsertKeys(kUsEast, {"k1", "k2"});
  {
    KeyUsageTracker tracker(f.registry(), kNoThread);
    Record(tracker, Use(kUsEast, "k1", "GenerateMac", 500, "r1"));
    Record(tracker, Use(kUsEast, "k2", "VerifyMac", 501, "r2"));
  }  // Stop(): the last flush
  f.Close();
  f.Open();
  KeyUsageTracker tracker(f.registry(), kNoThread);
  CHECK(tracker.Find(kUsEast, "k1") == Use(kUsEast, "k1", "GenerateMac", 500, "r1"));
  CHECK(tracker.Find(kUsEast, "k2") == Use(kUsEast, "k2", "VerifyMac", 501, "r2"));
  CHECK(f.registry().TakeLoadedKeyUsage().empty());  // taken over by the tracker
  CHECK(tracker.Flush() == 0);                       // loaded entries are durable already

  SECTION("a use newer than the loaded one replaces it") {
    Record(tracker, Use(kUsEast, "k1", "Verify", 600, "r3"));
    CHECK(tracker.Flush() == 1);
  }
}

TEST_CASE("A crash loses only what was not flushed yet", "[storage][key_usage]") {
  TempDir dir;
  Fixture f(dir);
  f.InsertKeys(kUsEast, {"k1", "k2"});
  {
    KeyUsageTracker tracker(f.registry(), kNoThread);
    Record(tracker, Use(kUsEast, "k1", "Encrypt", 1, "flushed"));
    REQUIRE(tracker.Flush() == 1);
    Record(tracker, Use(kUsEast, "k2", "Encrypt", 2, "lost"));
    Record(tracker, Use(kUsEast, "k1", "Decrypt", 3, "lost too"));
    f.Settle();
    tracker.Clear();  // as if the process died here: the destructor finds nothing to flush
  }
  f.Close();
  f.Open();
  CHECK(f.registry().TakeLoadedKeyUsage() ==
        std::vector<KeyUsageRecord>{Use(kUsEast, "k1", "Encrypt", 1, "flushed")});
}

TEST_CASE("A flush drops the uses of keys that no longer exist", "[storage][key_usage]") {
  TempDir dir;
  Fixture f(dir);
  f.InsertKeys(kUsEast, {"k1", "k2"});
  KeyUsageTracker tracker(f.registry(), kNoThread);
  Record(tracker, Use(kUsEast, "k1", "Encrypt", 1, "r1"));
  Record(tracker, Use(kUsEast, "k2", "Encrypt", 1, "r2"));
  REQUIRE(f.registry().BeginWrite().DeleteKey(kUsEast, "k2"));

  CHECK(tracker.Flush() == 1);
  CHECK(tracker.Find(kUsEast, "k1"));
  CHECK_FALSE(tracker.Find(kUsEast, "k2"));  // the entry went with the row
}

TEST_CASE("A batch whose commit fails is sent again by the next flush", "[storage][key_usage]") {
  TempDir dir;
  Fixture f(dir);
  f.InsertKeys(kUsEast, {"k1", "k2", "k3"});
  f.Settle();
  {
    KeyUsageTracker tracker(f.registry(), kNoThread);
    Record(tracker, Use(kUsEast, "k1", "Encrypt", 1, "r1"));
    Record(tracker, Use(kUsEast, "k2", "Encrypt", 1, "r2"));
    Record(tracker, Use(kUsEast, "k3", "Encrypt", 1, "r3"));

    f.faults().FailNextWrites(1);
    REQUIRE(tracker.Flush() == 3);
    f.Settle();  // the failure is reported and the callback has run
    REQUIRE(f.faults().failures() == 1);

    Record(tracker, Use(kUsEast, "k2", "Decrypt", 2, "newer"));  // used since: sent as the newer
    tracker.Forget(kUsEast, "k3");                               // gone since: not sent
    CHECK(tracker.Flush() == 2);
  }
  f.Close();
  f.Open();
  CHECK(Sorted(f.registry().TakeLoadedKeyUsage()) ==
        std::vector<KeyUsageRecord>{Use(kUsEast, "k1", "Encrypt", 1, "r1"),
                                    Use(kUsEast, "k2", "Decrypt", 2, "newer")});
}

TEST_CASE("Many threads record at once while another flushes", "[storage][key_usage]") {
  TempDir dir;
  Fixture f(dir);
  constexpr int kKeys = 40;
  constexpr int kThreads = 8;
  constexpr int kUsesPerThread = 2000;
  std::vector<std::string> ids;
  for (int i = 0; i < kKeys; ++i) ids.push_back("key-" + std::to_string(i));
  f.InsertKeys(kUsEast, ids);
  {
    KeyUsageTracker tracker(f.registry(), kNoThread);
    std::atomic<bool> done{false};
    std::thread flusher([&] {
      while (!done.load()) tracker.Flush();
    });
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kUsesPerThread; ++i) {
          const std::string& id = ids[static_cast<std::size_t>((i + t) % kKeys)];
          tracker.Record(kUsEast, id, "Encrypt", i,
                         "t" + std::to_string(t) + "-" + std::to_string(i));
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
    done = true;
    flusher.join();

    // Each key's newest use is the last round that reached it: time kUsesPerThread - 1 - d for
    // the smallest d with (kUsesPerThread - 1 - d + t) % kKeys == key for some thread t.
    for (int k = 0; k < kKeys; ++k) {
      std::int64_t newest = -1;
      for (int t = 0; t < kThreads; ++t) {
        for (int i = kUsesPerThread - 1; i >= 0; --i) {
          if ((i + t) % kKeys == k) {
            newest = std::max<std::int64_t>(newest, i);
            break;
          }
        }
      }
      const auto found = tracker.Find(kUsEast, ids[static_cast<std::size_t>(k)]);
      REQUIRE(found);
      CHECK(found->used_at == newest);
      CHECK(found->request_id.ends_with("-" + std::to_string(newest)));
    }
  }  // Stop(): what the flusher missed
  {
    // What memory held at the end is what the store holds after the restart.
    f.Close();
    f.Open();
    KeyUsageTracker reloaded(f.registry(), kNoThread);
    for (const std::string& id : ids) {
      const auto found = reloaded.Find(kUsEast, id);
      REQUIRE(found);
      CHECK(found->operation == "Encrypt");
      CHECK(found->used_at >= kUsesPerThread - kKeys);
    }
  }
}

TEST_CASE("The flushing thread sends recorded uses without being asked", "[storage][key_usage]") {
  TempDir dir;
  Fixture f(dir);
  f.InsertKeys(kUsEast, {"k1"});
  f.Settle();
  const int applies = static_cast<int>(f.faults().batch_sizes().size());
  KeyUsageTracker tracker(f.registry(), std::chrono::milliseconds(5));
  Record(tracker, Use(kUsEast, "k1", "Encrypt", 1, "r1"));
  f.faults().WaitForApplyCalls(applies + 1);  // returns once the thread has flushed
  tracker.Stop();
  tracker.Stop();  // idempotent
  CHECK(tracker.Flush() == 0);
  f.Close();
  f.Open();
  CHECK(f.registry().TakeLoadedKeyUsage() ==
        std::vector<KeyUsageRecord>{Use(kUsEast, "k1", "Encrypt", 1, "r1")});
}

}  // namespace
}  // namespace kms::storage
