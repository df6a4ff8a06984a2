// File: fault_injection.hpp
//
// Failure points on the request path, for the tests that prove no exception can end kmsd:
// a test arms a stage, and the next request to pass through it throws there, as a bug or an
// allocation failure would. Every stage must turn that into an error reply for that request
// alone (tests/integration/server_http_test.cpp, "[regression][issue17]"):
//
//   kParse     the session, once an HTTP request has been read (before it is answered)
//   kValidate  the dispatcher, before the body is checked against the service model
//   kHandler   the dispatcher, inside the operation's handler call
//   kWrite     the session, while it builds a response's head
//
// The storage stage needs no point here: storage errors and throws come from a Store that
// fails on command (tests/unit/storage/faulty_store.hpp), caught by the registry's committer.
//
// Disarmed (always, outside those tests), a point costs one relaxed atomic load.
//
// Thread-safety: every function may be called from any thread.
#pragma once

#include <atomic>

namespace kms::fault {

enum class Stage : unsigned { kParse, kValidate, kHandler, kWrite };

// The next pass through `stage`, on any thread, throws std::runtime_error (once).
void Arm(Stage stage);
// Disarms every stage.
void DisarmAll();

namespace detail {
extern std::atomic<unsigned> armed;  // one bit per Stage
void Trip(Stage stage);              // throws if `stage` is armed, disarming it
}  // namespace detail

inline void Point(Stage stage) {
  if (detail::armed.load(std::memory_order_relaxed) != 0) [[unlikely]] {
    detail::Trip(stage);
  }
}

}  // namespace kms::fault
