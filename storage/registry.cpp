#include "storage/registry.hpp"

#include <algorithm>
#include <functional>
#include <utility>

namespace kms::storage {
namespace {

std::size_t HashCombine(std::size_t seed, std::size_t value) {
  // boost::hash_combine's mixing step.
  return seed ^ (value + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2));
}

}  // namespace

std::size_t Registry::ScopedIdHash::operator()(const ScopedIdView& v) const noexcept {
  const std::hash<std::string_view> hash;
  return HashCombine(HashCombine(hash(v.account), hash(v.region)), hash(v.id));
}

Registry::Registry(std::unique_ptr<Store> store) : store_(std::move(store)) {}

Registry::~Registry() = default;

Result<std::unique_ptr<Registry>> Registry::Open(std::unique_ptr<Store> store) {
  if (store == nullptr) return Error{Error::Code::kIo, "Registry::Open: no store"};
  auto snapshot = store->LoadAll();
  if (!snapshot) return snapshot.error();

  std::unique_ptr<Registry> registry(new Registry(std::move(store)));
  // The registry is not shared yet: no shard lock is needed. Records move in as they are.
  for (Shard& shard : registry->shards_) {
    shard.keys.reserve(snapshot->keys.size() / kShardCount + snapshot->keys.size() / 64);
  }
  for (KeyPtr& key : snapshot->keys) {
    if (key == nullptr) return Error{Error::Code::kCorrupt, "store returned a null key"};
    Shard& shard = registry->ShardFor(ViewOf(key));
    auto [it, inserted] = shard.keys.insert(std::move(key));
    if (!inserted) {  // *it is the key already there, with the same id
      return Error{Error::Code::kCorrupt, "store returned key " + (*it)->key_id + " twice"};
    }
  }
  snapshot->keys = {};
  for (AliasRecord& alias : snapshot->aliases) {
    if (registry->aliases_.contains(
            ScopedIdView{alias.scope.account, alias.scope.region, alias.name})) {
      return Error{Error::Code::kCorrupt, "store returned alias " + alias.name + " twice"};
    }
    registry->PublishAlias(std::move(alias));
  }
  return registry;
}

// ---- reads ----

const Registry::Shard& Registry::ShardFor(const ScopedIdView& id) const {
  return shards_[ScopedIdHash{}(id) % kShardCount];
}

Registry::Shard& Registry::ShardFor(const ScopedIdView& id) {
  return shards_[ScopedIdHash{}(id) % kShardCount];
}

Registry::KeyPtr Registry::FindKey(const Scope& scope, std::string_view key_id) const {
  const ScopedIdView id{scope.account, scope.region, key_id};
  const Shard& shard = ShardFor(id);
  const std::shared_lock lock(shard.mu);
  auto it = shard.keys.find(id);
  return it == shard.keys.end() ? nullptr : *it;
}

std::optional<AliasRecord> Registry::FindAlias(const Scope& scope, std::string_view name) const {
  const std::shared_lock lock(aliases_mu_);
  auto it = aliases_.find(ScopedIdView{scope.account, scope.region, name});
  if (it == aliases_.end()) return std::nullopt;
  return it->second;
}

std::vector<Registry::KeyPtr> Registry::ListKeys(const Scope& scope) const {
  std::vector<KeyPtr> keys;
  for (const Shard& shard : shards_) {
    const std::shared_lock lock(shard.mu);
    for (const KeyPtr& key : shard.keys) {
      if (key->scope == scope) keys.push_back(key);
    }
  }
  std::sort(keys.begin(), keys.end(),
            [](const KeyPtr& a, const KeyPtr& b) { return a->key_id < b->key_id; });
  return keys;
}

std::vector<AliasRecord> Registry::ListAliases(const Scope& scope) const {
  std::vector<AliasRecord> aliases;
  const std::shared_lock lock(aliases_mu_);
  // The map is ordered by (account, region, name): the scope is one contiguous range.
  for (auto it = aliases_.lower_bound(ScopedIdView{scope.account, scope.region, {}});
       it != aliases_.end() && it->first.account == scope.account &&
       it->first.region == scope.region;
       ++it) {
    aliases.push_back(it->second);
  }
  return aliases;
}

std::size_t Registry::KeyCount() const {
  std::size_t count = 0;
  for (const Shard& shard : shards_) {
    const std::shared_lock lock(shard.mu);
    count += shard.keys.size();
  }
  return count;
}

// ---- memory-only publication (REQUIRES: writer_mu_ held) ----

void Registry::PublishKey(KeyPtr key) {
  Shard& shard = ShardFor(ViewOf(key));
  const std::unique_lock lock(shard.mu);
  if (auto it = shard.keys.find(ViewOf(key)); it != shard.keys.end()) {
    // Same scope and id, so the same hash: swap the record inside the existing node.
    auto node = shard.keys.extract(it);
    node.value() = std::move(key);
    shard.keys.insert(std::move(node));
    return;
  }
  shard.keys.insert(std::move(key));
}

void Registry::UnpublishKey(const Scope& scope, std::string_view key_id) {
  const ScopedIdView id{scope.account, scope.region, key_id};
  Shard& shard = ShardFor(id);
  const std::unique_lock lock(shard.mu);
  if (auto it = shard.keys.find(id); it != shard.keys.end()) shard.keys.erase(it);
}

void Registry::PublishAlias(AliasRecord alias) {
  ScopedId id{alias.scope.account, alias.scope.region, alias.name};
  const std::unique_lock lock(aliases_mu_);
  aliases_.insert_or_assign(std::move(id), std::move(alias));
}

void Registry::UnpublishAlias(const Scope& scope, std::string_view name) {
  const std::unique_lock lock(aliases_mu_);
  if (auto it = aliases_.find(ScopedIdView{scope.account, scope.region, name});
      it != aliases_.end()) {
    aliases_.erase(it);
  }
}

void Registry::UnpublishAliasesTargeting(const Scope& scope, std::string_view key_id) {
  const std::unique_lock lock(aliases_mu_);
  for (auto it = aliases_.lower_bound(ScopedIdView{scope.account, scope.region, {}});
       it != aliases_.end() && it->first.account == scope.account &&
       it->first.region == scope.region;) {
    it = it->second.target_key_id == key_id ? aliases_.erase(it) : std::next(it);
  }
}

void Registry::UnpublishEverything() {
  for (Shard& shard : shards_) {
    const std::unique_lock lock(shard.mu);
    shard.keys.clear();
  }
  const std::unique_lock lock(aliases_mu_);
  aliases_.clear();
}

// ---- Writer ----

Registry::Writer Registry::BeginWrite() { return Writer(*this); }

Registry::Writer::Writer(Registry& registry) : registry_(&registry), lock_(registry.writer_mu_) {}

Result<void> Registry::Writer::InsertKey(KeyRecord key) {
  // Build the published record before the Store call, so nothing after a successful write
  // has to copy the record.
  auto published = std::make_shared<const KeyRecord>(std::move(key));
  if (auto r = registry_->store_->InsertKey(*published); !r) return r;
  registry_->PublishKey(std::move(published));
  return {};
}

Result<void> Registry::Writer::UpdateKey(KeyRecord key) {
  auto published = std::make_shared<const KeyRecord>(std::move(key));
  if (auto r = registry_->store_->UpdateKey(*published); !r) return r;
  registry_->PublishKey(std::move(published));
  return {};
}

Result<void> Registry::Writer::DeleteKey(const Scope& scope, std::string_view key_id) {
  if (auto r = registry_->store_->DeleteKey(scope, key_id); !r) return r;
  registry_->UnpublishAliasesTargeting(scope, key_id);
  registry_->UnpublishKey(scope, key_id);
  return {};
}

Result<void> Registry::Writer::InsertAlias(AliasRecord alias) {
  if (auto r = registry_->store_->InsertAlias(alias); !r) return r;
  registry_->PublishAlias(std::move(alias));
  return {};
}

Result<void> Registry::Writer::UpdateAlias(AliasRecord alias) {
  if (auto r = registry_->store_->UpdateAlias(alias); !r) return r;
  registry_->PublishAlias(std::move(alias));
  return {};
}

Result<void> Registry::Writer::DeleteAlias(const Scope& scope, std::string_view name) {
  if (auto r = registry_->store_->DeleteAlias(scope, name); !r) return r;
  registry_->UnpublishAlias(scope, name);
  return {};
}

Result<void> Registry::Writer::Reset() {
  if (auto r = registry_->store_->Reset(); !r) return r;
  registry_->UnpublishEverything();
  return {};
}

}  // namespace kms::storage
