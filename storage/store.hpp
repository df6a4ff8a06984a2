// File: store.hpp
//
// The durable-state interface. kmsd keeps every key and alias in memory (see
// storage/registry.hpp) and writes each change through to a Store before it
// acknowledges it; the Store is read in full only at start-up.
//
// Contract for every method: on success the changes are durable (committed) when the
// call returns. On failure nothing changed. Error codes are listed per method.
// Thread-safety: implementations are thread-safe.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <boost/system/result.hpp>

#include "storage/records.hpp"

namespace kms::storage {

struct Error {
  enum class Code { kNotFound, kAlreadyExists, kBusy, kCorrupt, kIo };
  Code code;
  std::string message;
};

template <class T>
using Result = boost::system::result<T, Error>;

// ADL hook so that Result<T>::value() compiles; throws std::runtime_error.
[[noreturn]] void throw_exception_from_error(const Error& e, const boost::source_location& loc);

// Everything a Store holds, as read at start-up, in no particular order. Keys come as the
// shared immutable records the Registry publishes, so loading copies no record.
struct Snapshot {
  std::vector<std::shared_ptr<const KeyRecord>> keys;
  std::vector<AliasRecord> aliases;
  std::vector<CustomKeyStoreRecord> custom_key_stores;
  std::vector<KeyUsageRecord> key_usage;  // at most one per key
};

// One change to durable state. The Registry queues changes and hands them to Store::Apply
// in batches (group commit); see registry.hpp.
namespace change {
struct InsertKey {  // a new key with its tags, policy and materials
  std::shared_ptr<const KeyRecord> key;
};
struct UpdateKey {  // replaces the key's metadata and every list it holds (tags, grants, ...)
  std::shared_ptr<const KeyRecord> key;
};
struct DeleteKey {  // the key, everything it holds, its last usage and every alias targeting it
  Scope scope;
  std::string key_id;
};
struct InsertAlias {
  AliasRecord alias;
};
struct UpdateAlias {  // replaces the alias with the same scope and name
  AliasRecord alias;
};
struct DeleteAlias {
  Scope scope;
  std::string name;
};
struct InsertCustomKeyStore {
  CustomKeyStoreRecord store;
};
struct UpdateCustomKeyStore {  // replaces the store with the same scope and id
  CustomKeyStoreRecord store;
};
struct DeleteCustomKeyStore {
  Scope scope;
  std::string id;
};
// Sets the last usage of each listed key (a key that no longer exists is skipped: its usage
// went with it). Written in batches, off the request path; see GetKeyLastUsage.
struct RecordKeyUsage {
  std::vector<KeyUsageRecord> usage;
};
struct Reset {};  // deletes everything, in every scope
}  // namespace change

using Change = std::variant<change::InsertKey, change::UpdateKey, change::DeleteKey,
                            change::InsertAlias, change::UpdateAlias, change::DeleteAlias,
                            change::InsertCustomKeyStore, change::UpdateCustomKeyStore,
                            change::DeleteCustomKeyStore, change::RecordKeyUsage, change::Reset>;

class Store {
 public:
  Store() = default;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;
  virtual ~Store() = default;

  // Returns every key (with everything it holds; materials in ascending version, tags and
  // grants in insertion order), every alias, custom key store and last usage of every scope,
  // in no particular order.
  // Errors: kIo, kCorrupt.
  virtual Result<Snapshot> LoadAll() = 0;

  // Applies `changes` in order as one transaction: all of them are durable when it returns
  // success, none of them on failure. An empty span succeeds without writing.
  // Errors (the message names the failing change):
  //   kAlreadyExists  InsertKey, InsertAlias or InsertCustomKeyStore of an existing scope
  //                   and id/name;
  //   kNotFound       Update* or Delete* of a missing one, or an alias whose target key is
  //                   absent from its scope;
  //   kIo, kBusy      the medium failed or another process held the lock too long.
  virtual Result<void> Apply(std::span<const Change> changes) = 0;

  // Finishes what opening the store left for later, off the start-up path (SqliteStore with
  // Creation::kDeferred builds its database file here). Apply does it first when it is still
  // needed, so calling it is never required for correctness; the registry's committer calls
  // it when asked (Registry::PrepareStoreSoon). Errors: as Apply's kIo, kBusy. The default
  // has nothing to do.
  virtual Result<void> Prepare() { return {}; }

  // One change in its own transaction (Apply of a single change), for callers that do not
  // batch: tests and tools.
  Result<void> InsertKey(const KeyRecord& key);
  Result<void> UpdateKey(const KeyRecord& key);
  Result<void> DeleteKey(const Scope& scope, std::string_view key_id);
  Result<void> InsertAlias(const AliasRecord& alias);
  Result<void> UpdateAlias(const AliasRecord& alias);
  Result<void> DeleteAlias(const Scope& scope, std::string_view name);
  Result<void> Reset();

 private:
  Result<void> ApplyOne(Change change) { return Apply(std::span<const Change>(&change, 1)); }
};

}  // namespace kms::storage
