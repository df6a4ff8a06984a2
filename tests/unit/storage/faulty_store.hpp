// File: faulty_store.hpp
//
// FaultyStore: a Store test double that wraps a real Store and fails on command, like
// leveldb's ErrorEnv (util/testutil.h). Lets tests drive the error paths of code above the
// Store without a broken disk.
//
//   auto faulty = std::make_unique<FaultyStore>(std::move(sqlite_store));
//   FaultyStore* faults = faulty.get();            // keep a handle before handing it over
//   auto registry = Registry::Open(std::move(faulty));
//   faults->FailNextWrites(1, Error::Code::kIo);   // the next write call fails, untouched
//
// Thread-safety: thread-safe (the wrapped Store must be too).
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "storage/store.hpp"

namespace kms::storage::testing {

class FaultyStore final : public Store {
 public:
  explicit FaultyStore(std::unique_ptr<Store> inner) : inner_(std::move(inner)) {}

  // The next `count` write calls (anything but LoadAll) fail with `code` and do not reach
  // the wrapped store.
  void FailNextWrites(int count, Error::Code code = Error::Code::kIo) {
    const std::lock_guard lock(mu_);
    writes_to_fail_ = count;
    code_ = code;
  }
  // The next LoadAll fails with `code`.
  void FailNextLoad(Error::Code code = Error::Code::kIo) {
    const std::lock_guard lock(mu_);
    fail_load_ = true;
    code_ = code;
  }
  // How many calls have been failed so far.
  int failures() const {
    const std::lock_guard lock(mu_);
    return failures_;
  }

  Result<Snapshot> LoadAll() override {
    {
      const std::lock_guard lock(mu_);
      if (fail_load_) {
        fail_load_ = false;
        ++failures_;
        return Injected("LoadAll");
      }
    }
    return inner_->LoadAll();
  }
  Result<void> InsertKey(const KeyRecord& key) override {
    if (auto r = MaybeFail("InsertKey"); !r) return r;
    return inner_->InsertKey(key);
  }
  Result<void> UpdateKey(const KeyRecord& key) override {
    if (auto r = MaybeFail("UpdateKey"); !r) return r;
    return inner_->UpdateKey(key);
  }
  Result<void> DeleteKey(const Scope& scope, std::string_view key_id) override {
    if (auto r = MaybeFail("DeleteKey"); !r) return r;
    return inner_->DeleteKey(scope, key_id);
  }
  Result<void> InsertAlias(const AliasRecord& alias) override {
    if (auto r = MaybeFail("InsertAlias"); !r) return r;
    return inner_->InsertAlias(alias);
  }
  Result<void> UpdateAlias(const AliasRecord& alias) override {
    if (auto r = MaybeFail("UpdateAlias"); !r) return r;
    return inner_->UpdateAlias(alias);
  }
  Result<void> DeleteAlias(const Scope& scope, std::string_view name) override {
    if (auto r = MaybeFail("DeleteAlias"); !r) return r;
    return inner_->DeleteAlias(scope, name);
  }
  Result<void> Reset() override {
    if (auto r = MaybeFail("Reset"); !r) return r;
    return inner_->Reset();
  }

 private:
  Error Injected(std::string_view op) const {
    return Error{code_, "injected fault in " + std::string(op)};
  }
  Result<void> MaybeFail(std::string_view op) {
    const std::lock_guard lock(mu_);
    if (writes_to_fail_ <= 0) return {};
    --writes_to_fail_;
    ++failures_;
    return Injected(op);
  }

  std::unique_ptr<Store> inner_;  // thread-safe itself
  mutable std::mutex mu_;
  int writes_to_fail_ = 0;               // GUARDED_BY(mu_)
  bool fail_load_ = false;               // GUARDED_BY(mu_)
  Error::Code code_ = Error::Code::kIo;  // GUARDED_BY(mu_)
  int failures_ = 0;                     // GUARDED_BY(mu_)
};

}  // namespace kms::storage::testing
