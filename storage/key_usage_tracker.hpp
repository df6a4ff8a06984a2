// File: key_usage_tracker.hpp
//
// KeyUsageTracker: the last cryptographic use of every key (GetKeyLastUsage), kept in memory
// and written to the Store in batches, so that recording a use costs a request no disk write
// and no global lock.
//
//   KeyUsageTracker usage(*registry);                        // takes TakeLoadedKeyUsage() over
//   usage.Record(scope, key_id, "Decrypt", now, request_id);  // on the request path: memory only
//   std::optional<KeyUsageRecord> last = usage.Find(scope, key_id);
//   usage.Forget(scope, key_id);                             // the key was deleted
//   usage.Clear();                                           // everything was reset
//   usage.Stop();                                            // before the registry goes
//
// Write-behind. Record() updates the key's entry in memory and marks it dirty. Every
// `flush_interval` (1 s by default) a thread of the tracker sends the dirty entries to the
// registry as ONE Registry::Writer::RecordKeyUsage change, which the registry's committer
// stores with the next group commit; Stop() sends what is left. So a crash (SIGKILL, power
// loss) loses at most the uses of the last interval plus the commit in flight, and a graceful
// shutdown loses nothing. If a batch's commit fails, the entries it carried are marked dirty
// again (unless used since), so the next flush retries them.
// A batch is a registry change like any other: a request that finishes between its queueing
// and its commit answers once it is durable (its Registry::Ticket covers the change), as it
// would beside any concurrent write. So once a second, the replies of that window wait for one
// group commit; the rest of the time usage costs replies nothing.
//
// Deleted keys. The Store drops a usage row of a key that no longer exists, and the row goes
// with its key; in memory, Forget() and Clear() drop entries at once, and a flush drops the
// dirty entries whose key the registry no longer holds (a use recorded while its key was being
// deleted). GetKeyLastUsage resolves the key first, so an entry of a deleted key is never shown.
//
// Which uses count is the caller's business (the dispatcher records the successful cryptographic
// operations); the tracker keeps, per key, the newest use by `used_at` (equal times: the last
// recorded), so a slow request finishing late does not hide a newer use.
//
// Thread-safety: thread-safe. Entries are spread over kShardCount shards, each with its own
// mutex held only to copy a few fields, so requests on different keys rarely meet on a lock.
// Lock order: the registry's writer mutex, then a shard's mutex (a flush takes the shards' locks
// one at a time to collect, then the writer).
#pragma once

#include "base/mutex.hpp"
#include "base/thread_annotations.hpp"

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "storage/open_hash_set.hpp"
#include "storage/records.hpp"
#include "storage/registry.hpp"

namespace kms::storage {

class KeyUsageTracker {
 public:
  static constexpr std::chrono::milliseconds kDefaultFlushInterval{1000};

  // Takes over the usage the registry loaded (Registry::TakeLoadedKeyUsage, so build one tracker
  // per registry). A non-zero `flush_interval` starts the flushing thread; zero starts none
  // (tests call Flush() themselves).
  // REQUIRES: `registry` outlives the tracker, or at least its Stop().
  explicit KeyUsageTracker(Registry& registry,
                           std::chrono::milliseconds flush_interval = kDefaultFlushInterval);
  KeyUsageTracker(const KeyUsageTracker&) = delete;
  KeyUsageTracker& operator=(const KeyUsageTracker&) = delete;
  ~KeyUsageTracker();  // Stop()

  // Notes that `key_id` of `scope` was used for `operation` at `used_at` (epoch seconds) by the
  // request `request_id`, unless the entry already holds a newer use. Memory only: no disk,
  // no allocation once the key has an entry.
  void Record(const Scope& scope, std::string_view key_id, std::string_view operation,
              std::int64_t used_at, std::string_view request_id);

  // The last recorded use of the key, if any.
  std::optional<KeyUsageRecord> Find(const Scope& scope, std::string_view key_id) const;

  // Drops the key's entry (the key was deleted): its usage is not flushed again.
  void Forget(const Scope& scope, std::string_view key_id);
  // Drops every entry (every key was deleted).
  void Clear();

  // Sends every dirty entry whose key still exists to the registry as one RecordKeyUsage
  // change (none if there is nothing to send) and returns the number of rows sent. Returns at
  // once: the rows are durable once the registry's LastChange() at return is.
  // REQUIRES: the calling thread holds no Writer of the registry.
  std::size_t Flush();

  // Stops the flushing thread, flushes one last time and waits until every batch sent is
  // settled (Registry::Quiesce). Idempotent. Later Record() calls are kept in memory only.
  // REQUIRES: the calling thread holds no Writer of the registry.
  void Stop() EXCLUDES(run_mu_);

 private:
  struct Entry {
    KeyUsageRecord usage;
    bool dirty = false;
  };
  // (account, region, key id): how entries are looked up, without building strings.
  struct IdView {
    std::string_view account;
    std::string_view region;
    std::string_view key_id;
    friend bool operator==(const IdView&, const IdView&) = default;
  };
  // Entries live on the heap, so a shard's dirty list can point at them while the table
  // moves its slots.
  using EntryPtr = std::unique_ptr<Entry>;
  static IdView ViewOf(const IdView& v) { return v; }
  static IdView ViewOf(const EntryPtr& e) {
    return {e->usage.scope.account, e->usage.scope.region, e->usage.key_id};
  }
  struct IdHash {
    using is_transparent = void;
    std::size_t operator()(const IdView& v) const noexcept;
    std::size_t operator()(const EntryPtr& e) const noexcept { return (*this)(ViewOf(e)); }
  };
  struct IdEqual {
    using is_transparent = void;
    template <class A, class B>
    bool operator()(const A& a, const B& b) const noexcept {
      return ViewOf(a) == ViewOf(b);
    }
  };
  using EntrySet = OpenHashSet<EntryPtr, IdHash, IdEqual>;

  static constexpr std::size_t kShardCount = 64;
  // One cache line each, so requests on keys of different shards do not share a lock word.
  struct alignas(64) Shard {
    mutable Mutex mu;
    EntrySet entries GUARDED_BY(mu);
    std::vector<Entry*> dirty GUARDED_BY(mu);  // the entries with dirty set, each once
  };

  Shard& ShardFor(std::size_t hash) { return shards_[hash % kShardCount]; }
  const Shard& ShardFor(std::size_t hash) const { return shards_[hash % kShardCount]; }
  // Marks `entry` of `shard` dirty (once).
  static void MarkDirty(Shard& shard, Entry& entry) REQUIRES(shard.mu);
  // Called when the commit of the batch `sent` failed: marks its rows dirty again, unless
  // their key was forgotten or used since.
  void OnCommitFailed(const std::vector<KeyUsageRecord>& sent, const std::string& failure);
  void FlushLoop() EXCLUDES(run_mu_);

  Registry& registry_;
  const std::chrono::milliseconds flush_interval_;
  std::array<Shard, kShardCount> shards_;

  Mutex run_mu_;
  CondVar run_cv_;  // wakes the flushing thread for Stop()
  bool stopping_ GUARDED_BY(run_mu_) = false;
  bool stopped_ GUARDED_BY(run_mu_) = false;
  std::thread flusher_;  // started by the constructor (non-zero interval), joined by Stop()
};

}  // namespace kms::storage
