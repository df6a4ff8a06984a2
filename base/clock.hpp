// File: clock.hpp
//
// Time as the operations see it. Injected (like leveldb's Env::NowMicros) so tests can
// move time forward across a deletion window or a rotation date.
//
// Thread-safety: implementations are thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace kms {

class Clock {
 public:
  virtual ~Clock() = default;
  // Seconds since the Unix epoch.
  virtual std::int64_t NowSeconds() const = 0;
};

class SystemClock final : public Clock {
 public:
  std::int64_t NowSeconds() const override {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

// A clock that moves only when told to; for tests.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(std::int64_t now = 1'700'000'000) : now_(now) {}
  std::int64_t NowSeconds() const override { return now_.load(); }
  void Advance(std::int64_t seconds) { now_ += seconds; }
  void Set(std::int64_t now) { now_ = now; }

 private:
  std::atomic<std::int64_t> now_;
};

}  // namespace kms
