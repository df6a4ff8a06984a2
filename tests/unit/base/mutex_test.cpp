#include "base/mutex.hpp"

#include <atomic>
#include <chrono>
#include <future>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

namespace kms {
namespace {

using namespace std::chrono_literals;

TEST_CASE("MutexLock lets one thread at a time into the section", "[base][mutex]") {
  Mutex mu;
  std::atomic<int> inside{0};
  std::atomic<int> overlaps{0};
  int count = 0;  // guarded by mu (a local cannot carry GUARDED_BY)
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        const MutexLock lock(mu);
        if (inside.fetch_add(1) != 0) overlaps.fetch_add(1);
        ++count;
        inside.fetch_sub(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(overlaps.load() == 0);
  CHECK(count == 8000);
}

TEST_CASE("MutexLock::Unlock lets another thread take the mutex before the scope ends",
          "[base][mutex]") {
  Mutex mu;
  MutexLock lock(mu);
  lock.Unlock();
  auto other = std::async(std::launch::async, [&] { const MutexLock inner(mu); });
  CHECK(other.wait_for(5s) == std::future_status::ready);
  lock.Lock();  // retaken: released again by the destructor
}

TEST_CASE("ReaderLocks are held by two threads at once; a WriterLock waits for them",
          "[base][mutex]") {
  SharedMutex mu;
  std::promise<void> reader_in;
  std::promise<void> release_reader;
  auto reader = std::async(std::launch::async, [&] {
    const ReaderLock lock(mu);
    reader_in.set_value();
    release_reader.get_future().wait();
  });
  reader_in.get_future().wait();
  auto second_reader = std::async(std::launch::async, [&] { const ReaderLock lock(mu); });
  CHECK(second_reader.wait_for(5s) == std::future_status::ready);
  auto writer = std::async(std::launch::async, [&] { const WriterLock lock(mu); });
  CHECK(writer.wait_for(50ms) == std::future_status::timeout);
  release_reader.set_value();
  CHECK(writer.wait_for(5s) == std::future_status::ready);
}

TEST_CASE("CondVar wakes a waiter on NotifyOne and times out without one", "[base][mutex]") {
  Mutex mu;
  CondVar cv;
  bool ready = false;  // guarded by mu
  auto waiter = std::async(std::launch::async, [&] {
    MutexLock lock(mu);
    while (!ready) cv.Wait(lock);
    return ready;
  });
  {
    const MutexLock lock(mu);
    ready = true;
    cv.NotifyOne();
  }
  REQUIRE(waiter.wait_for(5s) == std::future_status::ready);
  CHECK(waiter.get());

  MutexLock lock(mu);
  const auto deadline = std::chrono::steady_clock::now() + 20ms;
  bool timed_out = false;  // nobody notifies: only a spurious wake-up returns true
  for (int i = 0; i < 100 && !timed_out; ++i) timed_out = !cv.WaitUntil(lock, deadline);
  CHECK(timed_out);
  CHECK(std::chrono::steady_clock::now() >= deadline);
}

}  // namespace
}  // namespace kms
