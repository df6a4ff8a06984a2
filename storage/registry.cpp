#include "storage/registry.hpp"

#include "base/try.hpp"

#include <algorithm>
#include <functional>
#include <iterator>
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

Registry::~Registry() {
  {
    const MutexLock lock(queue_mu_);
    stopping_ = true;
  }
  queue_cv_.NotifyOne();
  if (committer_.joinable()) committer_.join();  // commits what is still queued first
}

Result<std::unique_ptr<Registry>> Registry::Open(std::unique_ptr<Store> store) {
  if (store == nullptr) return Error{Error::Code::kIo, "Registry::Open: no store"};
  KMS_ASSIGN_OR_RETURN(auto snapshot, store->LoadAll());

  std::unique_ptr<Registry> registry(new Registry(std::move(store)));
  // The registry is not shared yet, so no lock is needed; they are taken all the same (never
  // contended: a few nanoseconds a record) so that the loading code is checked like the rest.
  // Records move in as they are.
  {
    const MutexLock writer(registry->writer_mu_);
    for (Shard& shard : registry->shards_) {
      const WriterLock lock(shard.mu);
      shard.keys.Reserve(snapshot.keys.size() / kShardCount + snapshot.keys.size() / 64);
    }
    for (KeyPtr& key : snapshot.keys) {
      if (key == nullptr) return Error{Error::Code::kCorrupt, "store returned a null key"};
      const std::size_t hash = ScopedIdHash{}(ViewOf(key));
      Shard& shard = registry->ShardFor(hash);
      const WriterLock lock(shard.mu);
      if (!shard.keys.Insert(key, hash)) {
        return Error{Error::Code::kCorrupt, "store returned key " + key->key_id + " twice"};
      }
    }
    snapshot.keys = {};
    for (AliasRecord& alias : snapshot.aliases) {
      bool duplicate = false;
      {
        const ReaderLock lock(registry->aliases_mu_);
        duplicate = registry->aliases_.contains(
            ScopedIdView{alias.scope.account, alias.scope.region, alias.name});
      }
      if (duplicate) {
        return Error{Error::Code::kCorrupt, "store returned alias " + alias.name + " twice"};
      }
      registry->PublishAlias(std::move(alias));
    }
    for (CustomKeyStoreRecord& cks : snapshot.custom_key_stores) {
      if (registry->FindCustomKeyStore(cks.scope, cks.id)) {
        return Error{Error::Code::kCorrupt, "store returned custom key store " + cks.id + " twice"};
      }
      registry->PublishCustomKeyStore(std::move(cks));
    }
    const WriterLock lock(registry->stores_mu_);
    registry->loaded_usage_ = std::move(snapshot.key_usage);
  }
  registry->committer_ = std::thread([r = registry.get()] { r->CommitLoop(); });
  return registry;
}

// ---- reads ----

const Registry::Shard& Registry::ShardFor(std::size_t hash) const {
  return shards_[hash % kShardCount];
}

Registry::Shard& Registry::ShardFor(std::size_t hash) { return shards_[hash % kShardCount]; }

Registry::KeyPtr Registry::FindKey(const Scope& scope, std::string_view key_id) const {
  const ScopedIdView id{scope.account, scope.region, key_id};
  const std::size_t hash = ScopedIdHash{}(id);
  const Shard& shard = ShardFor(hash);
  const ReaderLock lock(shard.mu);
  const KeyPtr* found = shard.keys.Find(id, hash);
  return found == nullptr ? nullptr : *found;
}

std::optional<AliasRecord> Registry::FindAlias(const Scope& scope, std::string_view name) const {
  const ReaderLock lock(aliases_mu_);
  auto it = aliases_.find(ScopedIdView{scope.account, scope.region, name});
  if (it == aliases_.end()) return std::nullopt;
  return it->second;
}

std::vector<Registry::KeyPtr> Registry::ListKeys(const Scope& scope) const {
  std::vector<KeyPtr> keys;
  for (const Shard& shard : shards_) {
    const ReaderLock lock(shard.mu);
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
  const ReaderLock lock(aliases_mu_);
  // The map is ordered by (account, region, name): the scope is one contiguous range.
  for (auto it = aliases_.lower_bound(ScopedIdView{scope.account, scope.region, {}});
       it != aliases_.end() && it->first.account == scope.account &&
       it->first.region == scope.region;
       ++it) {
    aliases.push_back(it->second);
  }
  return aliases;
}

std::optional<CustomKeyStoreRecord> Registry::FindCustomKeyStore(const Scope& scope,
                                                                 std::string_view id) const {
  const ReaderLock lock(stores_mu_);
  auto it = custom_key_stores_.find(ScopedIdView{scope.account, scope.region, id});
  if (it == custom_key_stores_.end()) return std::nullopt;
  return it->second;
}

std::vector<CustomKeyStoreRecord> Registry::ListCustomKeyStores(const Scope& scope) const {
  std::vector<CustomKeyStoreRecord> stores;
  const ReaderLock lock(stores_mu_);
  for (auto it = custom_key_stores_.lower_bound(ScopedIdView{scope.account, scope.region, {}});
       it != custom_key_stores_.end() && it->first.account == scope.account &&
       it->first.region == scope.region;
       ++it) {
    stores.push_back(it->second);
  }
  return stores;
}

std::vector<KeyUsageRecord> Registry::TakeLoadedKeyUsage() {
  const WriterLock lock(stores_mu_);
  return std::exchange(loaded_usage_, {});
}

std::size_t Registry::KeyCount() const {
  std::size_t count = 0;
  for (const Shard& shard : shards_) {
    const ReaderLock lock(shard.mu);
    count += shard.keys.size();
  }
  return count;
}

// ---- memory-only publication (REQUIRES: writer_mu_ held) ----

void Registry::PublishKey(KeyPtr key) {
  const std::size_t hash = ScopedIdHash{}(ViewOf(key));
  Shard& shard = ShardFor(hash);
  const WriterLock lock(shard.mu);
  shard.keys.Upsert(std::move(key), hash);
}

void Registry::UnpublishKey(const Scope& scope, std::string_view key_id) {
  const ScopedIdView id{scope.account, scope.region, key_id};
  const std::size_t hash = ScopedIdHash{}(id);
  Shard& shard = ShardFor(hash);
  const WriterLock lock(shard.mu);
  shard.keys.Erase(id, hash);
}

void Registry::PublishAlias(AliasRecord alias) {
  ScopedId id{alias.scope.account, alias.scope.region, alias.name};
  const WriterLock lock(aliases_mu_);
  aliases_.insert_or_assign(std::move(id), std::move(alias));
}

void Registry::UnpublishAlias(const Scope& scope, std::string_view name) {
  const WriterLock lock(aliases_mu_);
  if (auto it = aliases_.find(ScopedIdView{scope.account, scope.region, name});
      it != aliases_.end()) {
    aliases_.erase(it);
  }
}

void Registry::UnpublishAliasesTargeting(const Scope& scope, std::string_view key_id) {
  const WriterLock lock(aliases_mu_);
  for (auto it = aliases_.lower_bound(ScopedIdView{scope.account, scope.region, {}});
       it != aliases_.end() && it->first.account == scope.account &&
       it->first.region == scope.region;) {
    it = it->second.target_key_id == key_id ? aliases_.erase(it) : std::next(it);
  }
}

void Registry::PublishCustomKeyStore(CustomKeyStoreRecord store) {
  ScopedId id{store.scope.account, store.scope.region, store.id};
  const WriterLock lock(stores_mu_);
  custom_key_stores_.insert_or_assign(std::move(id), std::move(store));
}

void Registry::UnpublishCustomKeyStore(const Scope& scope, std::string_view id) {
  const WriterLock lock(stores_mu_);
  if (auto it = custom_key_stores_.find(ScopedIdView{scope.account, scope.region, id});
      it != custom_key_stores_.end()) {
    custom_key_stores_.erase(it);
  }
}

void Registry::UnpublishEverything() {
  for (Shard& shard : shards_) {
    const WriterLock lock(shard.mu);
    shard.keys.Clear();
  }
  {
    const WriterLock lock(aliases_mu_);
    aliases_.clear();
  }
  const WriterLock lock(stores_mu_);
  custom_key_stores_.clear();
}

// ---- durability ----

bool Registry::IsDurable(Ticket ticket) const {
  if (ticket.end > durable_.load(std::memory_order_acquire)) return false;
  // A failed batch is rare: then a settled ticket may still be a failed one.
  if (!ever_failed_.load(std::memory_order_acquire)) return true;
  const MutexLock lock(queue_mu_);
  return !FailureOf(ticket).has_value();
}

void Registry::WhenDurable(Ticket ticket, DurableCallback done) {
  std::optional<Error> failure;
  {
    const MutexLock lock(queue_mu_);
    if (ticket.end > durable_.load(std::memory_order_relaxed)) {
      waiters_.push_back(Waiter{ticket, std::move(done)});
      return;
    }
    failure = FailureOf(ticket);
  }
  done(failure);
}

Result<void> Registry::WaitDurable(Ticket ticket) {
  // `settled` and `failure` are guarded by `mu` (locals cannot carry GUARDED_BY). The
  // callback notifies under the lock, so this frame cannot end while it still uses `cv`.
  Mutex mu;
  CondVar cv;
  bool settled = false;
  std::optional<Error> failure;
  WhenDurable(ticket, [&](const std::optional<Error>& f) {
    const MutexLock lock(mu);
    failure = f;
    settled = true;
    cv.NotifyOne();
  });
  MutexLock lock(mu);
  while (!settled) cv.Wait(lock);
  if (failure) return *failure;
  return {};
}

std::optional<Error> Registry::FailureOf(Ticket ticket) const {
  for (const FailedRange& range : failed_) {
    if (ticket.end > range.after && ticket.begin <= range.last) return range.error;
  }
  return std::nullopt;
}

std::vector<Registry::Waiter> Registry::TakeSettledWaiters() {
  const Seq durable = durable_.load(std::memory_order_relaxed);
  std::vector<Waiter> settled;
  auto unsettled = std::partition(waiters_.begin(), waiters_.end(),
                                  [durable](const Waiter& w) { return w.ticket.end > durable; });
  std::move(unsettled, waiters_.end(), std::back_inserter(settled));
  waiters_.erase(unsettled, waiters_.end());
  return settled;
}

void Registry::Settle(std::vector<Waiter> waiters) {
  for (Waiter& waiter : waiters) {
    std::optional<Error> failure;
    if (ever_failed_.load(std::memory_order_acquire)) {
      const MutexLock lock(queue_mu_);
      failure = FailureOf(waiter.ticket);
    }
    waiter.done(failure);
    waiter.done = nullptr;  // release what the callback holds, now, on this thread
  }
}

void Registry::Quiesce() {
  MutexLock lock(queue_mu_);
  const Seq last = last_change_.load(std::memory_order_acquire);
  while (durable_.load(std::memory_order_relaxed) < last || settling_) idle_cv_.Wait(lock);
}

Registry::Seq Registry::NextSeq() {
  const Seq seq = last_change_.load(std::memory_order_relaxed) + 1;
  last_change_.store(seq, std::memory_order_release);
  return seq;
}

void Registry::Enqueue(Seq seq, Change change, Undo undo) {
  {
    const MutexLock lock(queue_mu_);
    pending_.push_back(Pending{seq, std::move(change), std::move(undo)});
  }
  queue_cv_.NotifyOne();
}

void Registry::PrepareStoreSoon() {
  {
    const MutexLock lock(queue_mu_);
    prepare_asked_ = true;
  }
  queue_cv_.NotifyOne();
}

void Registry::CommitLoop() {
  std::vector<Change> batch;
  std::size_t previous_batch = 0;  // changes in the last batch
  std::size_t queued_after = 0;    // changes queued when the last batch was settled
  auto previous_duration = std::chrono::steady_clock::duration::zero();
  auto previous_end = std::chrono::steady_clock::now();
  for (;;) {
    Seq last = 0;
    {
      MutexLock lock(queue_mu_);
      while (!stopping_ && !prepare_asked_ && pending_.empty()) queue_cv_.Wait(lock);
      if (prepare_asked_) {
        // Done now rather than by the first write; a failure here recurs in that write's
        // Apply, which reports it.
        prepare_asked_ = false;
        lock.Unlock();
        try {
          (void)store_->Prepare();
        } catch (...) {  // as a failure: the first write's Apply meets it again
        }
        continue;
      }
      if (pending_.empty()) return;  // stopping, and everything is committed
      // Gathering. The writers answered by the last batch usually send their next change
      // within a few hundred microseconds; with many writers, waiting a little for them
      // merges what would be two half-full commits into one full one (as PostgreSQL's
      // commit_delay). Only when the last batch had several writers, and never for longer
      // than half the last commit took.
      if (previous_batch > 1) {
        const std::size_t target = std::min(previous_batch + queued_after, kMaxBatch);
        const auto window =
            std::min<std::chrono::steady_clock::duration>(previous_duration / 2, kMaxGatherWindow);
        const auto deadline = previous_end + window;
        while (!stopping_ && pending_.size() < target) {
          if (!queue_cv_.WaitUntil(lock, deadline)) break;
        }
      }
      // Whatever queued up while the previous batch was being committed goes together.
      const std::size_t n = std::min(pending_.size(), kMaxBatch);
      batch.clear();
      for (std::size_t i = 0; i < n; ++i) batch.push_back(pending_[i].change);
      last = pending_[n - 1].seq;
    }
    const auto start = std::chrono::steady_clock::now();
    auto applied = ApplyCatching(batch);
    previous_end = std::chrono::steady_clock::now();
    previous_duration = previous_end - start;
    if (!applied) {
      previous_batch = 0;
      CommitFailed(applied.error());
      continue;
    }
    std::vector<Waiter> settled;
    {
      const MutexLock lock(queue_mu_);
      pending_.erase(pending_.begin(),
                     pending_.begin() + static_cast<std::ptrdiff_t>(batch.size()));
      durable_.store(last, std::memory_order_release);
      settled = TakeSettledWaiters();
      settling_ = true;
      previous_batch = batch.size();
      queued_after = pending_.size();
    }
    Settle(std::move(settled));
    {
      const MutexLock lock(queue_mu_);
      settling_ = false;
    }
    idle_cv_.NotifyAll();
  }
}

Result<void> Registry::ApplyCatching(const std::vector<Change>& batch) {
  // A throw from the store (an allocation failure, a bug) must not end the committer thread,
  // and with it the process: it fails this batch like any storage error, so the writers are
  // answered KMSInternalException and their changes are undone.
  try {
    return store_->Apply(batch);
  } catch (const std::exception& e) {
    return Error{Error::Code::kIo, std::string("the store threw: ") + e.what()};
  } catch (...) {
    return Error{Error::Code::kIo, "the store threw"};
  }
}

void Registry::CommitFailed(Error error) {
  std::vector<Waiter> settled;
  {
    // No Writer may look at memory while it is rolled back.
    const MutexLock writer(writer_mu_);
    const MutexLock lock(queue_mu_);
    // Later changes were made on top of the failed ones: undo them all, newest first.
    for (auto it = pending_.rbegin(); it != pending_.rend(); ++it) {
      for (auto& [id, before] : it->undo.custom_key_stores) {
        if (before) {
          PublishCustomKeyStore(std::move(*before));
        } else {
          UnpublishCustomKeyStore(Scope{id.account, id.region}, id.id);
        }
      }
      for (auto& [id, before] : it->undo.aliases) {
        if (before) {
          PublishAlias(std::move(*before));
        } else {
          UnpublishAlias(Scope{id.account, id.region}, id.id);
        }
      }
      for (auto& [id, before] : it->undo.keys) {
        if (before) {
          PublishKey(std::move(before));
        } else {
          UnpublishKey(Scope{id.account, id.region}, id.id);
        }
      }
    }
    pending_.clear();
    // A request that saw any of the undone changes, or memory half undone, has a ticket that
    // overlaps the failed range. The undo itself is a change of its own (failed_last + 1), so
    // a request that begins after it starts past the range.
    const Seq failed_last = last_change_.load(std::memory_order_relaxed);
    failed_.push_back(
        FailedRange{durable_.load(std::memory_order_relaxed), failed_last, std::move(error)});
    ever_failed_.store(true, std::memory_order_release);
    last_change_.store(failed_last + 1, std::memory_order_release);
    durable_.store(failed_last + 1, std::memory_order_release);
    settled = TakeSettledWaiters();
    settling_ = true;
  }
  Settle(std::move(settled));
  {
    const MutexLock lock(queue_mu_);
    settling_ = false;
  }
  idle_cv_.NotifyAll();
}

// ---- Writer ----

Registry::Writer Registry::BeginWrite() { return Writer(*this); }

// Outside the analysis: the Writer holds writer_mu_ beyond this constructor, for its own
// lifetime, which the analysis cannot follow (see the class comment); each member function
// asserts it instead. The destructor is checked: it asserts the lock, then releases it.
Registry::Writer::Writer(Registry& registry) NO_THREAD_SAFETY_ANALYSIS : registry_(&registry) {
  registry.writer_mu_.Lock();
}

Registry::Writer::Writer(Writer&& other) noexcept
    : registry_(std::exchange(other.registry_, nullptr)) {}

Registry::Writer::~Writer() {
  if (registry_ == nullptr) return;    // moved from
  registry_->writer_mu_.AssertHeld();  // taken by the constructor
  registry_->writer_mu_.Unlock();
}

std::pair<Registry::ScopedId, Registry::KeyPtr> Registry::KeyBefore(const Scope& scope,
                                                                    std::string_view key_id) const {
  return {ScopedId{scope.account, scope.region, std::string(key_id)}, FindKey(scope, key_id)};
}

std::pair<Registry::ScopedId, std::optional<AliasRecord>> Registry::AliasBefore(
    const Scope& scope, std::string_view name) const {
  return {ScopedId{scope.account, scope.region, std::string(name)}, FindAlias(scope, name)};
}

std::pair<Registry::ScopedId, std::optional<CustomKeyStoreRecord>> Registry::CustomKeyStoreBefore(
    const Scope& scope, std::string_view id) const {
  return {ScopedId{scope.account, scope.region, std::string(id)}, FindCustomKeyStore(scope, id)};
}

namespace {
Error NotFound(std::string_view what, const Scope& scope, std::string_view id) {
  return Error{Error::Code::kNotFound, std::string(what) + " " + scope.account + "/" +
                                           scope.region + "/" + std::string(id) + " not found"};
}
Error AlreadyExists(std::string_view what, const Scope& scope, std::string_view id) {
  return Error{Error::Code::kAlreadyExists, std::string(what) + " " + scope.account + "/" +
                                                scope.region + "/" + std::string(id) +
                                                " already exists"};
}
}  // namespace

Result<void> Registry::Writer::InsertKey(KeyRecord key) {
  Registry& r = *registry_;
  r.writer_mu_.AssertHeld();  // held since the constructor
  Undo undo;
  undo.keys.push_back(r.KeyBefore(key.scope, key.key_id));
  if (undo.keys.back().second != nullptr) return AlreadyExists("key", key.scope, key.key_id);
  auto published = std::make_shared<const KeyRecord>(std::move(key));
  const Seq seq = r.NextSeq();  // before the change is visible
  r.PublishKey(published);
  r.Enqueue(seq, change::InsertKey{std::move(published)}, std::move(undo));
  return {};
}

Result<void> Registry::Writer::UpdateKey(KeyRecord key) {
  Registry& r = *registry_;
  r.writer_mu_.AssertHeld();  // held since the constructor
  Undo undo;
  undo.keys.push_back(r.KeyBefore(key.scope, key.key_id));
  if (undo.keys.back().second == nullptr) return NotFound("key", key.scope, key.key_id);
  auto published = std::make_shared<const KeyRecord>(std::move(key));
  const Seq seq = r.NextSeq();  // before the change is visible
  r.PublishKey(published);
  r.Enqueue(seq, change::UpdateKey{std::move(published)}, std::move(undo));
  return {};
}

Result<void> Registry::Writer::DeleteKey(const Scope& scope, std::string_view key_id) {
  Registry& r = *registry_;
  r.writer_mu_.AssertHeld();  // held since the constructor
  Undo undo;
  undo.keys.push_back(r.KeyBefore(scope, key_id));
  if (undo.keys.back().second == nullptr) return NotFound("key", scope, key_id);
  for (AliasRecord& alias : r.ListAliases(scope)) {
    if (alias.target_key_id != key_id) continue;
    ScopedId id{scope.account, scope.region, alias.name};
    undo.aliases.emplace_back(std::move(id), std::move(alias));
  }
  const Seq seq = r.NextSeq();  // before the change is visible
  r.UnpublishAliasesTargeting(scope, key_id);
  r.UnpublishKey(scope, key_id);
  r.Enqueue(seq, change::DeleteKey{scope, std::string(key_id)}, std::move(undo));
  return {};
}

Result<void> Registry::Writer::InsertAlias(AliasRecord alias) {
  Registry& r = *registry_;
  r.writer_mu_.AssertHeld();  // held since the constructor
  Undo undo;
  undo.aliases.push_back(r.AliasBefore(alias.scope, alias.name));
  if (undo.aliases.back().second) return AlreadyExists("alias", alias.scope, alias.name);
  if (r.FindKey(alias.scope, alias.target_key_id) == nullptr) {
    return NotFound("target key", alias.scope, alias.target_key_id);
  }
  const Seq seq = r.NextSeq();  // before the change is visible
  r.PublishAlias(alias);
  r.Enqueue(seq, change::InsertAlias{std::move(alias)}, std::move(undo));
  return {};
}

Result<void> Registry::Writer::UpdateAlias(AliasRecord alias) {
  Registry& r = *registry_;
  r.writer_mu_.AssertHeld();  // held since the constructor
  Undo undo;
  undo.aliases.push_back(r.AliasBefore(alias.scope, alias.name));
  if (!undo.aliases.back().second) return NotFound("alias", alias.scope, alias.name);
  if (r.FindKey(alias.scope, alias.target_key_id) == nullptr) {
    return NotFound("target key", alias.scope, alias.target_key_id);
  }
  const Seq seq = r.NextSeq();  // before the change is visible
  r.PublishAlias(alias);
  r.Enqueue(seq, change::UpdateAlias{std::move(alias)}, std::move(undo));
  return {};
}

Result<void> Registry::Writer::DeleteAlias(const Scope& scope, std::string_view name) {
  Registry& r = *registry_;
  r.writer_mu_.AssertHeld();  // held since the constructor
  Undo undo;
  undo.aliases.push_back(r.AliasBefore(scope, name));
  if (!undo.aliases.back().second) return NotFound("alias", scope, name);
  const Seq seq = r.NextSeq();  // before the change is visible
  r.UnpublishAlias(scope, name);
  r.Enqueue(seq, change::DeleteAlias{scope, std::string(name)}, std::move(undo));
  return {};
}

Result<void> Registry::Writer::InsertCustomKeyStore(CustomKeyStoreRecord store) {
  Registry& r = *registry_;
  r.writer_mu_.AssertHeld();  // held since the constructor
  Undo undo;
  undo.custom_key_stores.push_back(r.CustomKeyStoreBefore(store.scope, store.id));
  if (undo.custom_key_stores.back().second) {
    return AlreadyExists("custom key store", store.scope, store.id);
  }
  const Seq seq = r.NextSeq();  // before the change is visible
  r.PublishCustomKeyStore(store);
  r.Enqueue(seq, change::InsertCustomKeyStore{std::move(store)}, std::move(undo));
  return {};
}

Result<void> Registry::Writer::UpdateCustomKeyStore(CustomKeyStoreRecord store) {
  Registry& r = *registry_;
  r.writer_mu_.AssertHeld();  // held since the constructor
  Undo undo;
  undo.custom_key_stores.push_back(r.CustomKeyStoreBefore(store.scope, store.id));
  if (!undo.custom_key_stores.back().second) {
    return NotFound("custom key store", store.scope, store.id);
  }
  const Seq seq = r.NextSeq();  // before the change is visible
  r.PublishCustomKeyStore(store);
  r.Enqueue(seq, change::UpdateCustomKeyStore{std::move(store)}, std::move(undo));
  return {};
}

Result<void> Registry::Writer::DeleteCustomKeyStore(const Scope& scope, std::string_view id) {
  Registry& r = *registry_;
  r.writer_mu_.AssertHeld();  // held since the constructor
  Undo undo;
  undo.custom_key_stores.push_back(r.CustomKeyStoreBefore(scope, id));
  if (!undo.custom_key_stores.back().second) return NotFound("custom key store", scope, id);
  const Seq seq = r.NextSeq();  // before the change is visible
  r.UnpublishCustomKeyStore(scope, id);
  r.Enqueue(seq, change::DeleteCustomKeyStore{scope, std::string(id)}, std::move(undo));
  return {};
}

Result<void> Registry::Writer::RecordKeyUsage(std::vector<KeyUsageRecord> usage) {
  Registry& r = *registry_;
  r.writer_mu_.AssertHeld();  // held since the constructor
  if (usage.empty()) return {};
  const Seq seq = r.NextSeq();
  r.Enqueue(seq, change::RecordKeyUsage{std::move(usage)}, Undo{});
  return {};
}

Result<void> Registry::Writer::Reset() {
  Registry& r = *registry_;
  r.writer_mu_.AssertHeld();  // held since the constructor
  Undo undo;
  for (const Shard& shard : r.shards_) {
    const ReaderLock lock(shard.mu);
    for (const KeyPtr& key : shard.keys) {
      undo.keys.emplace_back(ScopedId{key->scope.account, key->scope.region, key->key_id}, key);
    }
  }
  {
    const ReaderLock lock(r.aliases_mu_);
    for (const auto& [id, alias] : r.aliases_) undo.aliases.emplace_back(id, alias);
  }
  {
    const ReaderLock lock(r.stores_mu_);
    for (const auto& [id, store] : r.custom_key_stores_) {
      undo.custom_key_stores.emplace_back(id, store);
    }
  }
  const Seq seq = r.NextSeq();  // before the change is visible
  r.UnpublishEverything();
  r.Enqueue(seq, change::Reset{}, std::move(undo));
  return {};
}

}  // namespace kms::storage
