// File: registry.hpp
//
// Registry: the in-memory view of every key, alias and custom key store, which the server reads on
// its hot path, with write-behind to a Store by group commit.
//
//   auto registry = Registry::Open(std::move(store));         // loads everything once
//   Registry::KeyPtr key = registry->FindKey(scope, key_id);  // no disk, no lock held after
//   ...
//   {
//     auto writer = registry->BeginWrite();                   // one writer at a time
//     Registry::KeyPtr current = registry->FindKey(scope, key_id);
//     KeyRecord changed = *current;                           // copy, modify, replace
//     changed.key_state = domain::KeyState::kDisabled;
//     if (auto r = writer.UpdateKey(std::move(changed)); !r) return Translate(r.error());
//   }
//   registry->WhenDurable({begin, registry->LastChange()},    // begin: LastChange() at start
//                         [](const std::optional<Error>& failed) { /* now answer */ });
//
// Durability (group commit). A Writer changes memory at once and queues the change; one
// committer thread hands everything queued to Store::Apply as one transaction (one fsync for
// many changes) and then reports the batch durable. Nothing may be acknowledged to a client
// before the state it saw is durable: a request takes LastChange() before and after its
// reads and writes (a Ticket) and answers only once WhenDurable reports the ticket durable.
// When no change is in flight that is immediate (IsDurable), so reads pay nothing.
// If a batch fails, every change not yet committed is undone in memory (newest first), and
// every ticket that could have seen one of them, or a half-undone state, fails: memory
// equals the store again, and no client is told of a change that is not on disk.
//
// Why memory first, then the log. A write-ahead design (LevelDB writes its log record, then
// the memtable) would make a change visible only once it is durable. kmsd publishes it to
// memory at once and undoes it if the commit fails, for three reasons: the read-check-write of
// an operation (CreateAlias: is the name free? then take it) must see the writes queued before
// it, or two writers in one batch could both take the name; group commit needs the writer
// gone by the time the batch is written, so it cannot wait inside its lock; and nothing is
// lost by showing a change early, since no client is answered before it is durable (the
// ticket above). The price is the undo on failure, which a failed fsync makes rare and which
// registry_test.cpp exercises.
//
// Records are immutable once published (copy-on-write): an update publishes a new
// shared_ptr, and a KeyPtr a reader already holds keeps pointing at the old record.
//
// Thread-safety: thread-safe. Reads take a shared lock on one shard (or on the alias map)
// just long enough to copy a pointer or record; they never wait for the Store. Writes are
// serialised by a writer mutex held by the Writer for its whole lifetime, so a
// read-check-modify-write sequence is atomic against other writers (but not against readers,
// which see each change as soon as it is made, before it is durable). The locks carry clang's
// thread-safety annotations (base/mutex.hpp), checked by scripts/clang_checks.sh.
#pragma once

#include "base/mutex.hpp"
#include "base/thread_annotations.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "storage/open_hash_set.hpp"
#include "storage/records.hpp"
#include "storage/store.hpp"

namespace kms::storage {

class Registry {
 public:
  using KeyPtr = std::shared_ptr<const KeyRecord>;  // immutable once published
  // Changes are numbered 1, 2, ... in the order they are made in memory; 0 is "none yet".
  using Seq = std::uint64_t;
  // The changes a request may have seen: LastChange() when it began and when it ended.
  struct Ticket {
    Seq begin = 0;
    Seq end = 0;
  };
  // Called once a ticket is settled: std::nullopt if durable, else the Store's error.
  using DurableCallback = std::function<void(const std::optional<Error>& failure)>;

  // Most changes handed to Store::Apply in one transaction.
  static constexpr std::size_t kMaxBatch = 1024;
  // Longest the committer waits for the writers of the last batch to send more (CommitLoop).
  static constexpr std::chrono::microseconds kMaxGatherWindow{1000};

  // Loads every key and alias from `store` (LoadAll) and keeps the store for write-through.
  // Errors: whatever LoadAll returns; kCorrupt if it returns the same key or alias twice.
  // REQUIRES: store != nullptr.
  static Result<std::unique_ptr<Registry>> Open(std::unique_ptr<Store> store);

  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;
  ~Registry();

  // --- Reads: lock-light, never touch the disk. ---

  // The key with this id in `scope`, or nullptr. Never returns a key from another scope.
  KeyPtr FindKey(const Scope& scope, std::string_view key_id) const;
  // The alias with this name ("alias/...") in `scope`, if any.
  std::optional<AliasRecord> FindAlias(const Scope& scope, std::string_view name) const
      EXCLUDES(aliases_mu_);
  // Every key of `scope`, sorted by key_id (bytewise).
  std::vector<KeyPtr> ListKeys(const Scope& scope) const;
  // Every alias of `scope`, sorted by name (bytewise).
  std::vector<AliasRecord> ListAliases(const Scope& scope) const EXCLUDES(aliases_mu_);
  // The number of keys in all scopes.
  std::size_t KeyCount() const;
  // The custom key store with this id in `scope`, if any.
  std::optional<CustomKeyStoreRecord> FindCustomKeyStore(const Scope& scope,
                                                         std::string_view id) const
      EXCLUDES(stores_mu_);
  // Every custom key store of `scope`, sorted by id (bytewise).
  std::vector<CustomKeyStoreRecord> ListCustomKeyStores(const Scope& scope) const
      EXCLUDES(stores_mu_);
  // The last usage of every key as the Store held it at Open(); empty after the first call.
  // The usage tracker of the server takes it over (it alone keeps usage after start-up).
  std::vector<KeyUsageRecord> TakeLoadedKeyUsage() EXCLUDES(stores_mu_);

  // --- Durability. ---

  // The newest change made in memory so far (covering one being made right now). Take it
  // before and after the reads and writes a reply depends on: once Ticket{before, after} is
  // durable, so is everything the reply saw.
  Seq LastChange() const { return last_change_.load(std::memory_order_acquire); }
  // True if `ticket` is durable. Cheap (two atomic loads) when no commit has ever failed.
  bool IsDurable(Ticket ticket) const EXCLUDES(queue_mu_);
  // Calls `done` once `ticket` is settled: at once, on the calling thread, if it already is;
  // otherwise later, on the committer thread (so `done` must be quick and must not take a
  // Writer: hand the work to another thread or executor).
  void WhenDurable(Ticket ticket, DurableCallback done) EXCLUDES(queue_mu_);
  // Blocks until `ticket` is settled; the Store's error if it failed.
  // REQUIRES: the calling thread holds no Writer.
  Result<void> WaitDurable(Ticket ticket) EXCLUDES(queue_mu_);
  // Blocks until every change made so far is settled and every WhenDurable callback for
  // them has returned (and released what it held). A server calls it before it destroys
  // what its callbacks post to. REQUIRES: the calling thread holds no Writer.
  void Quiesce() EXCLUDES(queue_mu_);
  // Asks the committer to finish, now, what opening the store left for later
  // (Store::Prepare: a new database file is built there), unless a write has done it first.
  // A server calls it once it is serving, which keeps that work off its start-up path.
  // Returns at once; nothing depends on it for correctness (Apply prepares when it must).
  void PrepareStoreSoon() EXCLUDES(queue_mu_);

  // --- Writes. ---

  // Holds the registry's writer mutex from BeginWrite() until destruction. Each call checks
  // the change against memory, makes it in memory and queues it for the committer; it
  // returns at once. Errors (memory unchanged): kAlreadyExists, kNotFound, as listed.
  // A Writer must not outlive its Registry. Move-only; a moved-from Writer must not be used.
  //
  // For the thread-safety analysis: the Writer is not a scoped capability, since the analysis
  // cannot follow a lock held by an object that BeginWrite() returns and that then moves.
  // Instead its constructor takes writer_mu_ outside the analysis' view, and each member
  // function asserts it (writer_mu_.AssertHeld()), from where the registry's REQUIRES(writer_mu_)
  // helpers are checked as usual.
  class Writer {
   public:
    Writer(Writer&& other) noexcept;
    Writer& operator=(Writer&&) = delete;
    Writer(const Writer&) = delete;
    Writer& operator=(const Writer&) = delete;
    ~Writer();  // releases the writer mutex

    // Errors: kAlreadyExists.
    Result<void> InsertKey(KeyRecord key);
    // Replaces the record with the same scope and key_id. Errors: kNotFound.
    Result<void> UpdateKey(KeyRecord key);
    // Also removes every alias that targets the key. Errors: kNotFound.
    Result<void> DeleteKey(const Scope& scope, std::string_view key_id);
    // Errors: kAlreadyExists; kNotFound if the target key is absent from the alias's scope.
    Result<void> InsertAlias(AliasRecord alias);
    // Errors: kNotFound (the alias, or its new target key).
    Result<void> UpdateAlias(AliasRecord alias);
    // Errors: kNotFound.
    Result<void> DeleteAlias(const Scope& scope, std::string_view name);
    // Errors: kAlreadyExists.
    Result<void> InsertCustomKeyStore(CustomKeyStoreRecord store);
    // Errors: kNotFound.
    Result<void> UpdateCustomKeyStore(CustomKeyStoreRecord store);
    // Errors: kNotFound.
    Result<void> DeleteCustomKeyStore(const Scope& scope, std::string_view id);
    // Queues last-usage rows for the Store; memory holds usage elsewhere, so nothing is
    // published and nothing needs undoing. Never fails in memory.
    Result<void> RecordKeyUsage(std::vector<KeyUsageRecord> usage);
    // Deletes everything, in every scope. Never fails in memory.
    Result<void> Reset();

   private:
    friend class Registry;
    explicit Writer(Registry& registry);

    Registry* registry_;  // whose writer_mu_ this Writer holds; null once moved from
  };

  // Blocks until no other Writer is alive (and while a failed batch is being undone).
  // Never blocks readers.
  // REQUIRES: the calling thread holds no Writer of this registry (that would deadlock).
  Writer BeginWrite() EXCLUDES(writer_mu_);

 private:
  // (account, region, key id or alias name). Lookups use this view form through transparent
  // hash/compare, so FindKey and FindAlias do not allocate.
  struct ScopedIdView {
    std::string_view account;
    std::string_view region;
    std::string_view id;
    friend bool operator==(const ScopedIdView&, const ScopedIdView&) = default;
    friend auto operator<=>(const ScopedIdView&, const ScopedIdView&) = default;
  };
  // The key of the alias map.
  struct ScopedId {
    std::string account;
    std::string region;
    std::string id;
    ScopedIdView View() const { return {account, region, id}; }
  };
  static ScopedIdView ViewOf(const ScopedIdView& v) { return v; }
  static ScopedIdView ViewOf(const ScopedId& v) { return v.View(); }
  // A published key is its own map key: the set hashes and compares the record's scope and
  // key_id, so the id is not stored a second time beside the record.
  static ScopedIdView ViewOf(const KeyPtr& key) {
    return {key->scope.account, key->scope.region, key->key_id};
  }
  struct ScopedIdHash {
    using is_transparent = void;
    std::size_t operator()(const ScopedIdView& v) const noexcept;
    std::size_t operator()(const ScopedId& v) const noexcept { return (*this)(v.View()); }
    std::size_t operator()(const KeyPtr& key) const noexcept { return (*this)(ViewOf(key)); }
  };
  struct ScopedIdEqual {
    using is_transparent = void;
    template <class A, class B>
    bool operator()(const A& a, const B& b) const noexcept {
      return ViewOf(a) == ViewOf(b);
    }
  };
  struct ScopedIdLess {
    using is_transparent = void;
    template <class A, class B>
    bool operator()(const A& a, const B& b) const noexcept {
      return ViewOf(a) < ViewOf(b);
    }
  };
  // Never holds nullptr. Records are immutable, so a key's hash never changes while it is in.
  // A flat table: a lookup reads the slot (hash and pointer) and then the record, with no
  // node chain in between (see open_hash_set.hpp).
  using KeySet = OpenHashSet<KeyPtr, ScopedIdHash, ScopedIdEqual>;
  using AliasMap = std::map<ScopedId, AliasRecord, ScopedIdLess>;
  using CustomKeyStoreMap = std::map<ScopedId, CustomKeyStoreRecord, ScopedIdLess>;

  static constexpr std::size_t kShardCount = 16;
  // One cache line each, so readers of different shards do not contend on the lock word.
  struct alignas(64) Shard {
    mutable SharedMutex mu;
    KeySet keys GUARDED_BY(mu);
  };

  // What restores memory if a queued change never becomes durable: for each key and alias
  // the change touched, the record it replaced (nullptr / nullopt: there was none).
  struct Undo {
    std::vector<std::pair<ScopedId, KeyPtr>> keys;
    std::vector<std::pair<ScopedId, std::optional<AliasRecord>>> aliases;
    std::vector<std::pair<ScopedId, std::optional<CustomKeyStoreRecord>>> custom_key_stores;
  };
  // A change made in memory and not yet durable.
  struct Pending {
    Seq seq;
    Change change;
    Undo undo;
  };
  struct Waiter {
    Ticket ticket;
    DurableCallback done;
  };
  // The changes (after, last] that a failed batch undid; the undo itself is change last + 1.
  // A ticket fails if it may have seen one of them: end > after and begin <= last.
  struct FailedRange {
    Seq after;
    Seq last;
    Error error;
  };

  explicit Registry(std::unique_ptr<Store> store);

  // Publishes the number of the next change. Called before the change is made in memory, so
  // a reader that sees the change also sees a LastChange() that covers it.
  Seq NextSeq() REQUIRES(writer_mu_);
  // Queues `change` (made in memory as number `seq`) with its undo record.
  void Enqueue(Seq seq, Change change, Undo undo) REQUIRES(writer_mu_) EXCLUDES(queue_mu_);
  // The committer thread: takes up to kMaxBatch queued changes, applies them with one
  // Store::Apply, settles the waiters; on failure undoes every pending change.
  void CommitLoop() EXCLUDES(writer_mu_, queue_mu_);
  // store_->Apply(batch), with a throw turned into a failed commit (kIo).
  Result<void> ApplyCatching(const std::vector<Change>& batch);
  void CommitFailed(Error error) EXCLUDES(writer_mu_, queue_mu_);
  // The failure of `ticket`, if a failed batch covered it.
  std::optional<Error> FailureOf(Ticket ticket) const REQUIRES(queue_mu_);
  // Moves out the waiters whose tickets are settled.
  std::vector<Waiter> TakeSettledWaiters() REQUIRES(queue_mu_);
  void Settle(std::vector<Waiter> waiters) EXCLUDES(queue_mu_);

  // Copies of the records a change will replace.
  std::pair<ScopedId, KeyPtr> KeyBefore(const Scope& scope, std::string_view key_id) const
      REQUIRES(writer_mu_);
  std::pair<ScopedId, std::optional<AliasRecord>> AliasBefore(const Scope& scope,
                                                              std::string_view name) const
      REQUIRES(writer_mu_);

  // The shard of the key whose ScopedIdHash is `hash` (its set is searched with the same hash).
  const Shard& ShardFor(std::size_t hash) const;
  Shard& ShardFor(std::size_t hash);

  // Memory-only publication; the Writer has already written to the Store. Open() takes
  // writer_mu_ too, although the registry is not shared yet, so the contract has no exception.
  void PublishKey(KeyPtr key) REQUIRES(writer_mu_);
  void UnpublishKey(const Scope& scope, std::string_view key_id) REQUIRES(writer_mu_);
  void PublishAlias(AliasRecord alias) REQUIRES(writer_mu_);
  void UnpublishAlias(const Scope& scope, std::string_view name) REQUIRES(writer_mu_);
  void UnpublishAliasesTargeting(const Scope& scope, std::string_view key_id) REQUIRES(writer_mu_);
  std::pair<ScopedId, std::optional<CustomKeyStoreRecord>> CustomKeyStoreBefore(
      const Scope& scope, std::string_view id) const REQUIRES(writer_mu_);
  void PublishCustomKeyStore(CustomKeyStoreRecord store) REQUIRES(writer_mu_);
  void UnpublishCustomKeyStore(const Scope& scope, std::string_view id) REQUIRES(writer_mu_);
  void UnpublishEverything() REQUIRES(writer_mu_);

  // Held by the live Writer (and by CommitFailed while it undoes); never taken by readers.
  // It guards no member of its own: what it orders is the writers' read-check-modify-write
  // sequences and last_change_'s stores, through the REQUIRES(writer_mu_) functions above.
  Mutex writer_mu_;
  std::unique_ptr<Store> store_;  // used by the committer thread only, once Open() returned

  std::array<Shard, kShardCount> shards_;  // each shard guarded by its own mu

  mutable SharedMutex aliases_mu_;
  AliasMap aliases_ GUARDED_BY(aliases_mu_);

  mutable SharedMutex stores_mu_;
  CustomKeyStoreMap custom_key_stores_ GUARDED_BY(stores_mu_);
  std::vector<KeyUsageRecord> loaded_usage_ GUARDED_BY(stores_mu_);

  // Group commit. Lock order: writer_mu_, then queue_mu_. The atomics are read without a
  // lock (the readers' fast path), so they carry no GUARDED_BY; their writers hold the lock
  // named here.
  std::atomic<Seq> last_change_{0};  // written under writer_mu_ (NextSeq, CommitFailed)
  std::atomic<Seq> durable_{0};      // changes <= this are settled; written under queue_mu_
  std::atomic<bool> ever_failed_{false};
  mutable Mutex queue_mu_ ACQUIRED_AFTER(writer_mu_);
  CondVar queue_cv_;  // the committer waits for work, PrepareStoreSoon or stop
  std::deque<Pending> pending_ GUARDED_BY(queue_mu_);  // ascending tickets
  std::vector<Waiter> waiters_ GUARDED_BY(queue_mu_);
  std::vector<FailedRange> failed_ GUARDED_BY(queue_mu_);
  bool stopping_ GUARDED_BY(queue_mu_) = false;
  bool prepare_asked_ GUARDED_BY(queue_mu_) = false;  // PrepareStoreSoon() not acted on yet
  bool settling_ GUARDED_BY(queue_mu_) = false;       // callbacks are running
  CondVar idle_cv_;                                   // Quiesce waits for settling_ to end
  std::thread committer_;                             // started by Open(), joined by ~Registry
};

}  // namespace kms::storage
