// File: store.hpp
//
// The durable-state interface. kmsd keeps every key and alias in memory (see
// storage/registry.hpp) and writes each change through to a Store before it
// acknowledges it; the Store is read in full only at start-up.
//
// Contract for every method: on success the change is durable (committed) when the
// call returns. On failure nothing changed. Error codes are listed per method.
// Thread-safety: implementations are thread-safe.
#pragma once

#include <memory>
#include <string>
#include <string_view>
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
};

class Store {
 public:
  Store() = default;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;
  virtual ~Store() = default;

  // Returns every key (with tags, policy and materials; materials in ascending version, tags
  // in insertion order) and every alias of every scope, in no particular order.
  // Errors: kIo, kCorrupt.
  virtual Result<Snapshot> LoadAll() = 0;

  // Inserts a new key with its tags, policy and materials.
  // Errors: kAlreadyExists (same scope and key id), kIo, kBusy.
  virtual Result<void> InsertKey(const KeyRecord& key) = 0;

  // Replaces the stored key (metadata, tags, policy, materials) with `key`.
  // Errors: kNotFound, kIo, kBusy.
  virtual Result<void> UpdateKey(const KeyRecord& key) = 0;

  // Deletes the key, its tags, policy, materials and every alias that targets it.
  // Errors: kNotFound, kIo, kBusy.
  virtual Result<void> DeleteKey(const Scope& scope, std::string_view key_id) = 0;

  // Inserts an alias. Errors: kAlreadyExists (same scope and name), kIo, kBusy.
  virtual Result<void> InsertAlias(const AliasRecord& alias) = 0;

  // Replaces the alias with the same scope and name. Errors: kNotFound, kIo, kBusy.
  virtual Result<void> UpdateAlias(const AliasRecord& alias) = 0;

  // Errors: kNotFound, kIo, kBusy.
  virtual Result<void> DeleteAlias(const Scope& scope, std::string_view name) = 0;

  // Deletes everything, in every scope. Errors: kIo, kBusy.
  virtual Result<void> Reset() = 0;
};

}  // namespace kms::storage
