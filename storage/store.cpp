#include "storage/store.hpp"

#include <stdexcept>

namespace kms::storage {

void throw_exception_from_error(const Error& e, const boost::source_location& /*loc*/) {
  throw std::runtime_error("storage error: " + e.message);
}

Result<void> Store::InsertKey(const KeyRecord& key) {
  return ApplyOne(change::InsertKey{std::make_shared<const KeyRecord>(key)});
}

Result<void> Store::UpdateKey(const KeyRecord& key) {
  return ApplyOne(change::UpdateKey{std::make_shared<const KeyRecord>(key)});
}

Result<void> Store::DeleteKey(const Scope& scope, std::string_view key_id) {
  return ApplyOne(change::DeleteKey{scope, std::string(key_id)});
}

Result<void> Store::InsertAlias(const AliasRecord& alias) {
  return ApplyOne(change::InsertAlias{alias});
}

Result<void> Store::UpdateAlias(const AliasRecord& alias) {
  return ApplyOne(change::UpdateAlias{alias});
}

Result<void> Store::DeleteAlias(const Scope& scope, std::string_view name) {
  return ApplyOne(change::DeleteAlias{scope, std::string(name)});
}

Result<void> Store::Reset() { return ApplyOne(change::Reset{}); }

}  // namespace kms::storage
