#include "storage/key_usage_tracker.hpp"

#include "base/log.hpp"

#include <algorithm>
#include <functional>
#include <utility>

namespace kms::storage {

std::size_t KeyUsageTracker::IdHash::operator()(const IdView& v) const noexcept {
  // The key id alone: kmsd's ids are random, so they spread well, and the few keys that share
  // an id (the replicas of a multi-Region key, one per region) differ in the compare. Hashing
  // the account and region too would cost two more hash calls on every request.
  return std::hash<std::string_view>{}(v.key_id);
}

KeyUsageTracker::KeyUsageTracker(Registry& registry, std::chrono::milliseconds flush_interval)
    : registry_(registry), flush_interval_(flush_interval) {
  // What the Store held is durable already: loaded entries start clean.
  for (KeyUsageRecord& loaded : registry_.TakeLoadedKeyUsage()) {
    const std::size_t hash =
        IdHash{}(IdView{loaded.scope.account, loaded.scope.region, loaded.key_id});
    Shard& shard = ShardFor(hash);
    const MutexLock lock(shard.mu);
    auto entry = std::make_unique<Entry>();
    entry->usage = std::move(loaded);
    shard.entries.Upsert(std::move(entry), hash);
  }
  if (flush_interval_.count() > 0) flusher_ = std::thread([this] { FlushLoop(); });
}

KeyUsageTracker::~KeyUsageTracker() { Stop(); }

void KeyUsageTracker::MarkDirty(Shard& shard, Entry& entry) {
  if (entry.dirty) return;
  entry.dirty = true;
  shard.dirty.push_back(&entry);
}

void KeyUsageTracker::Record(const Scope& scope, std::string_view key_id,
                             std::string_view operation, std::int64_t used_at,
                             std::string_view request_id) {
  const IdView id{scope.account, scope.region, key_id};
  const std::size_t hash = IdHash{}(id);
  Shard& shard = ShardFor(hash);
  const MutexLock lock(shard.mu);
  Entry* entry = nullptr;
  if (const EntryPtr* found = shard.entries.Find(id, hash)) {
    entry = found->get();
    if (used_at < entry->usage.used_at) return;  // a newer use is recorded already
  } else {
    auto fresh = std::make_unique<Entry>();
    fresh->usage.scope = scope;
    fresh->usage.key_id = std::string(key_id);
    entry = fresh.get();
    shard.entries.Insert(std::move(fresh), hash);
  }
  // assign() reuses the strings' capacity: no allocation after a key's first use.
  entry->usage.operation.assign(operation);
  entry->usage.used_at = used_at;
  entry->usage.request_id.assign(request_id);
  MarkDirty(shard, *entry);
}

std::optional<KeyUsageRecord> KeyUsageTracker::Find(const Scope& scope,
                                                    std::string_view key_id) const {
  const IdView id{scope.account, scope.region, key_id};
  const std::size_t hash = IdHash{}(id);
  const Shard& shard = ShardFor(hash);
  const MutexLock lock(shard.mu);
  const EntryPtr* found = shard.entries.Find(id, hash);
  if (found == nullptr) return std::nullopt;
  return (*found)->usage;
}

void KeyUsageTracker::Forget(const Scope& scope, std::string_view key_id) {
  const IdView id{scope.account, scope.region, key_id};
  const std::size_t hash = IdHash{}(id);
  Shard& shard = ShardFor(hash);
  const MutexLock lock(shard.mu);
  const EntryPtr* found = shard.entries.Find(id, hash);
  if (found == nullptr) return;
  if ((*found)->dirty) std::erase(shard.dirty, found->get());
  shard.entries.Erase(id, hash);
}

void KeyUsageTracker::Clear() {
  for (Shard& shard : shards_) {
    const MutexLock lock(shard.mu);
    shard.dirty.clear();
    shard.entries.Clear();
  }
}

std::size_t KeyUsageTracker::Flush() {
  std::vector<KeyUsageRecord> batch;
  for (Shard& shard : shards_) {
    const MutexLock lock(shard.mu);
    for (Entry* entry : shard.dirty) {
      entry->dirty = false;
      batch.push_back(entry->usage);
    }
    shard.dirty.clear();
  }
  // A use recorded while its key was being deleted: the Store would skip the row; the entry
  // goes too. (Outside the shard locks: FindKey takes the registry's.)
  std::erase_if(batch, [this](const KeyUsageRecord& usage) {
    if (registry_.FindKey(usage.scope, usage.key_id) != nullptr) return false;
    Forget(usage.scope, usage.key_id);
    return true;
  });
  if (batch.empty()) return 0;

  const std::size_t rows = batch.size();
  std::vector<KeyUsageRecord> sent = batch;  // to mark dirty again if the commit fails
  Registry::Seq seq = 0;
  {
    auto writer = registry_.BeginWrite();
    (void)writer.RecordKeyUsage(std::move(batch));  // never fails in memory
    seq = registry_.LastChange();                   // this change: no other writer can run
  }
  // Runs on the committer thread (or here, if already settled); Stop() waits for it.
  registry_.WhenDurable({seq, seq},
                        [this, sent = std::move(sent)](const std::optional<Error>& failure) {
                          if (failure) OnCommitFailed(sent, failure->message);
                        });
  return rows;
}

void KeyUsageTracker::OnCommitFailed(const std::vector<KeyUsageRecord>& sent,
                                     const std::string& failure) {
  Log(LogLevel::kWarn, "could not store the last usage of " + std::to_string(sent.size()) +
                           " key(s), will retry: " + failure);
  for (const KeyUsageRecord& usage : sent) {
    const IdView id{usage.scope.account, usage.scope.region, usage.key_id};
    const std::size_t hash = IdHash{}(id);
    Shard& shard = ShardFor(hash);
    const MutexLock lock(shard.mu);
    const EntryPtr* found = shard.entries.Find(id, hash);
    // Not if the key was forgotten or used since: a newer use is dirty already.
    if (found != nullptr && (*found)->usage == usage) MarkDirty(shard, **found);
  }
}

void KeyUsageTracker::FlushLoop() {
  MutexLock lock(run_mu_);
  auto next = std::chrono::steady_clock::now() + flush_interval_;
  while (!stopping_) {
    if (run_cv_.WaitUntil(lock, next) || stopping_) continue;  // woken: re-check stopping_
    lock.Unlock();
    Flush();
    lock.Lock();
    next = std::chrono::steady_clock::now() + flush_interval_;
  }
}

void KeyUsageTracker::Stop() {
  {
    const MutexLock lock(run_mu_);
    if (stopped_) return;
    stopped_ = true;
    stopping_ = true;
  }
  run_cv_.NotifyAll();
  if (flusher_.joinable()) flusher_.join();
  Flush();
  registry_.Quiesce();  // every batch sent is settled and its callback has returned
}

}  // namespace kms::storage
