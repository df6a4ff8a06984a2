// File: faulty_store.hpp
//
// FaultyStore: a Store test double that wraps a real Store and fails (or throws) on command.
// Lets tests drive the error paths of code above the
// Store without a broken disk.
//
//   auto faulty = std::make_unique<FaultyStore>(std::move(sqlite_store));
//   FaultyStore* faults = faulty.get();            // keep a handle before handing it over
//   auto registry = Registry::Open(std::move(faulty));
//   faults->FailNextWrites(1, Error::Code::kIo);   // the next Apply fails, store untouched
//
// Thread-safety: thread-safe (the wrapped Store must be too).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "storage/store.hpp"

namespace kms::storage::testing {

class FaultyStore final : public Store {
 public:
  explicit FaultyStore(std::unique_ptr<Store> inner) : inner_(std::move(inner)) {}

  // The next `count` Apply calls fail with `code` and do not reach the wrapped store.
  void FailNextWrites(int count, Error::Code code = Error::Code::kIo) {
    const std::lock_guard lock(mu_);
    writes_to_fail_ = count;
    code_ = code;
  }
  // The next `count` Apply calls throw std::runtime_error (as a bug or an allocation failure
  // would) and do not reach the wrapped store.
  void ThrowNextWrites(int count) {
    const std::lock_guard lock(mu_);
    writes_to_throw_ = count;
  }
  // The next LoadAll fails with `code`.
  void FailNextLoad(Error::Code code = Error::Code::kIo) {
    const std::lock_guard lock(mu_);
    fail_load_ = true;
    code_ = code;
  }
  // From now on Apply blocks on entry until ReleaseWrites(), so that tests can queue changes
  // behind a batch that is being committed.
  void HoldWrites() {
    const std::lock_guard lock(mu_);
    held_ = true;
  }
  void ReleaseWrites() {
    {
      const std::lock_guard lock(mu_);
      held_ = false;
    }
    cv_.notify_all();
  }
  // Blocks until `n` Apply calls have started (held ones included).
  void WaitForApplyCalls(int n) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return static_cast<int>(batch_sizes_.size()) >= n; });
  }
  // How many calls have been failed so far.
  int failures() const {
    const std::lock_guard lock(mu_);
    return failures_;
  }
  // The number of changes of every Apply call so far, in call order.
  std::vector<std::size_t> batch_sizes() const {
    const std::lock_guard lock(mu_);
    return batch_sizes_;
  }

  Result<Snapshot> LoadAll() override {
    {
      const std::lock_guard lock(mu_);
      if (fail_load_) {
        fail_load_ = false;
        ++failures_;
        return Error{code_, "injected fault in LoadAll"};
      }
    }
    return inner_->LoadAll();
  }

  Result<void> Apply(std::span<const Change> changes) override {
    {
      std::unique_lock lock(mu_);
      batch_sizes_.push_back(changes.size());
      cv_.notify_all();
      cv_.wait(lock, [&] { return !held_; });
      if (writes_to_fail_ > 0) {
        --writes_to_fail_;
        ++failures_;
        return Error{code_, "injected fault in Apply"};
      }
      if (writes_to_throw_ > 0) {
        --writes_to_throw_;
        ++failures_;
        throw std::runtime_error("injected throw in Apply");
      }
    }
    return inner_->Apply(changes);
  }

 private:
  std::unique_ptr<Store> inner_;  // thread-safe itself
  mutable std::mutex mu_;
  std::condition_variable cv_;
  int writes_to_fail_ = 0;                // GUARDED_BY(mu_)
  int writes_to_throw_ = 0;               // GUARDED_BY(mu_)
  bool fail_load_ = false;                // GUARDED_BY(mu_)
  bool held_ = false;                     // GUARDED_BY(mu_)
  Error::Code code_ = Error::Code::kIo;   // GUARDED_BY(mu_)
  int failures_ = 0;                      // GUARDED_BY(mu_)
  std::vector<std::size_t> batch_sizes_;  // GUARDED_BY(mu_)
};

}  // namespace kms::storage::testing
