// File: mutex.hpp
//
// Mutex, SharedMutex, their scoped locks and CondVar: std::mutex, std::shared_mutex and
// std::condition_variable with clang's thread-safety attributes (base/thread_annotations.hpp),
// so that -Wthread-safety can check every GUARDED_BY member and REQUIRES function against the
// locks actually taken. libstdc++'s own types carry no attributes. Each wrapper is a thin
// inline layer over the std type: the same size and the same cost.
//
//   Mutex mu_;
//   int count_ GUARDED_BY(mu_) = 0;
//   CondVar changed_;
//
//   void Add() EXCLUDES(mu_) {
//     const MutexLock lock(mu_);
//     ++count_;
//     changed_.NotifyAll();
//   }
//   void WaitForZero() EXCLUDES(mu_) {
//     MutexLock lock(mu_);
//     while (count_ != 0) changed_.Wait(lock);  // the condition is read under the lock
//   }
//
// CondVar takes no predicate: a predicate lambda would read guarded members in a function of
// its own, which the analysis checks without the lock. Loop on the condition instead, as above.
//
// Errors: as the std types (std::system_error from lock() only on a broken system).
// Thread-safety: these are the synchronisation primitives; a scoped lock is owned by one thread.
#pragma once

#include "base/thread_annotations.hpp"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <shared_mutex>

namespace kms {

// An exclusive lock. Prefer MutexLock to calling Lock/Unlock.
class CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() ACQUIRE() { mu_.lock(); }
  void Unlock() RELEASE() { mu_.unlock(); }
  // For the analysis only (no run-time check): tells it that the caller holds this mutex for a
  // reason it cannot follow. Each call says why.
  void AssertHeld() const ASSERT_CAPABILITY(this) {}

 private:
  friend class MutexLock;
  std::mutex mu_;
};

// Many readers or one writer. Prefer ReaderLock / WriterLock.
class CAPABILITY("mutex") SharedMutex {
 public:
  SharedMutex() = default;
  SharedMutex(const SharedMutex&) = delete;
  SharedMutex& operator=(const SharedMutex&) = delete;

  void Lock() ACQUIRE() { mu_.lock(); }
  void Unlock() RELEASE() { mu_.unlock(); }
  void LockShared() ACQUIRE_SHARED() { mu_.lock_shared(); }
  void UnlockShared() RELEASE_SHARED() { mu_.unlock_shared(); }

 private:
  std::shared_mutex mu_;
};

// Holds a Mutex from construction to destruction; Unlock()/Lock() release and retake it in
// between. The lock a CondVar waits with.
class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) ACQUIRE(mu) : lock_(mu.mu_) {}
  ~MutexLock() RELEASE() = default;
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

  void Unlock() RELEASE() { lock_.unlock(); }
  void Lock() ACQUIRE() { lock_.lock(); }

 private:
  friend class CondVar;
  std::unique_lock<std::mutex> lock_;
};

// Holds a SharedMutex exclusively from construction to destruction.
class SCOPED_CAPABILITY WriterLock {
 public:
  explicit WriterLock(SharedMutex& mu) ACQUIRE(mu) : mu_(mu) { mu_.Lock(); }
  ~WriterLock() RELEASE() { mu_.Unlock(); }
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;

 private:
  SharedMutex& mu_;
};

// Holds a SharedMutex shared from construction to destruction.
class SCOPED_CAPABILITY ReaderLock {
 public:
  explicit ReaderLock(SharedMutex& mu) ACQUIRE_SHARED(mu) : mu_(mu) { mu_.LockShared(); }
  ~ReaderLock() RELEASE() { mu_.UnlockShared(); }
  ReaderLock(const ReaderLock&) = delete;
  ReaderLock& operator=(const ReaderLock&) = delete;

 private:
  SharedMutex& mu_;
};

// std::condition_variable over a MutexLock. Wait and WaitUntil may wake spuriously: call them
// in a loop on the condition (see the file comment).
class CondVar {
 public:
  CondVar() = default;
  CondVar(const CondVar&) = delete;
  CondVar& operator=(const CondVar&) = delete;

  // Releases the lock, blocks until notified (or spuriously), retakes the lock.
  void Wait(MutexLock& lock) { cv_.wait(lock.lock_); }
  // As Wait, but returns false once `deadline` has passed.
  template <class Clock, class Duration>
  bool WaitUntil(MutexLock& lock, const std::chrono::time_point<Clock, Duration>& deadline) {
    return cv_.wait_until(lock.lock_, deadline) == std::cv_status::no_timeout;
  }
  void NotifyOne() noexcept { cv_.notify_one(); }
  void NotifyAll() noexcept { cv_.notify_all(); }

 private:
  std::condition_variable cv_;
};

}  // namespace kms
