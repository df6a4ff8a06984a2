// File: registry.hpp
//
// Registry: the in-memory view of every key and alias, which the server reads on its hot
// path, with write-through to a Store.
//
//   auto registry = Registry::Open(std::move(store));         // loads everything once
//   Registry::KeyPtr key = registry->FindKey(scope, key_id);  // no disk, no lock held after
//   ...
//   auto writer = registry->BeginWrite();                     // one writer at a time
//   Registry::KeyPtr current = registry->FindKey(scope, key_id);
//   KeyRecord changed = *current;                             // copy, modify, replace
//   changed.key_state = "Disabled";
//   if (auto r = writer.UpdateKey(std::move(changed)); !r) return Translate(r.error());
//
// Records are immutable once published (copy-on-write): an update publishes a new
// shared_ptr, and a KeyPtr a reader already holds keeps pointing at the old record.
//
// Thread-safety: thread-safe. Reads take a shared lock on one shard (or on the alias map)
// just long enough to copy a pointer or record; they never wait for the Store. Writes are
// serialised by a writer mutex held by the Writer for its whole lifetime, so a
// read-check-modify-write sequence is atomic against other writers (but not against readers,
// which see each published change as soon as it is made).
#pragma once

#include <array>
#include <compare>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "storage/records.hpp"
#include "storage/store.hpp"

namespace kms::storage {

class Registry {
 public:
  using KeyPtr = std::shared_ptr<const KeyRecord>;  // immutable once published

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
  std::optional<AliasRecord> FindAlias(const Scope& scope, std::string_view name) const;
  // Every key of `scope`, sorted by key_id (bytewise).
  std::vector<KeyPtr> ListKeys(const Scope& scope) const;
  // Every alias of `scope`, sorted by name (bytewise).
  std::vector<AliasRecord> ListAliases(const Scope& scope) const;
  // The number of keys in all scopes.
  std::size_t KeyCount() const;

  // --- Writes. ---

  // Holds the registry's writer mutex from BeginWrite() until destruction. Each call writes
  // through to the Store first and publishes to memory only if the Store call succeeded; on
  // failure memory is unchanged and the Store's error is returned (codes as in store.hpp).
  // A Writer must not outlive its Registry. Move-only; a moved-from Writer must not be used.
  class Writer {
   public:
    Writer(Writer&&) noexcept = default;
    Writer& operator=(Writer&&) noexcept = default;
    Writer(const Writer&) = delete;
    Writer& operator=(const Writer&) = delete;
    ~Writer() = default;  // releases the writer mutex

    // Errors: kAlreadyExists, kIo, kBusy.
    Result<void> InsertKey(KeyRecord key);
    // Replaces the record with the same scope and key_id. Errors: kNotFound, kIo, kBusy.
    Result<void> UpdateKey(KeyRecord key);
    // Also removes every alias that targets the key. Errors: kNotFound, kIo, kBusy.
    Result<void> DeleteKey(const Scope& scope, std::string_view key_id);
    // Errors: kAlreadyExists; kNotFound if the target key is absent (SqliteStore); kIo; kBusy.
    Result<void> InsertAlias(AliasRecord alias);
    // Errors: kNotFound (alias, or target key with SqliteStore), kIo, kBusy.
    Result<void> UpdateAlias(AliasRecord alias);
    // Errors: kNotFound, kIo, kBusy.
    Result<void> DeleteAlias(const Scope& scope, std::string_view name);
    // Deletes everything, in every scope. Errors: kIo, kBusy.
    Result<void> Reset();

   private:
    friend class Registry;
    explicit Writer(Registry& registry);

    Registry* registry_;
    std::unique_lock<std::mutex> lock_;  // on registry_->writer_mu_
  };

  // Blocks until no other Writer is alive. Never blocks readers.
  // REQUIRES: the calling thread holds no Writer of this registry (that would deadlock).
  Writer BeginWrite();

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
    // Not noexcept, on purpose: libstdc++ then stores each node's hash beside it, so a lookup
    // or a rehash compares hashes before it dereferences a record (a cache miss).
    std::size_t operator()(const KeyPtr& key) const { return (*this)(ViewOf(key)); }
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
  using KeySet = std::unordered_set<KeyPtr, ScopedIdHash, ScopedIdEqual>;
  using AliasMap = std::map<ScopedId, AliasRecord, ScopedIdLess>;

  static constexpr std::size_t kShardCount = 16;
  // One cache line each, so readers of different shards do not contend on the lock word.
  struct alignas(64) Shard {
    mutable std::shared_mutex mu;
    KeySet keys;  // GUARDED_BY(mu)
  };

  explicit Registry(std::unique_ptr<Store> store);

  const Shard& ShardFor(const ScopedIdView& id) const;
  Shard& ShardFor(const ScopedIdView& id);

  // Memory-only publication; the Writer has already written to the Store.
  // REQUIRES: writer_mu_ held (or, during Open, the registry not yet shared).
  void PublishKey(KeyPtr key);
  void UnpublishKey(const Scope& scope, std::string_view key_id);
  void PublishAlias(AliasRecord alias);
  void UnpublishAlias(const Scope& scope, std::string_view name);
  void UnpublishAliasesTargeting(const Scope& scope, std::string_view key_id);
  void UnpublishEverything();

  std::mutex writer_mu_;          // held by the live Writer; never taken by readers
  std::unique_ptr<Store> store_;  // GUARDED_BY(writer_mu_) once Open() has returned

  std::array<Shard, kShardCount> shards_;  // each shard guarded by its own mu

  mutable std::shared_mutex aliases_mu_;
  AliasMap aliases_;  // GUARDED_BY(aliases_mu_)
};

}  // namespace kms::storage
