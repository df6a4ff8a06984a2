// File: listener.hpp
//
// Listener: owns the acceptor and hands each accepted connection to the next io_context
// in turn (one io_context per worker thread, so a session never needs a strand).
// When accept() fails for lack of resources (EMFILE: every descriptor in use), the pending
// connection stays in the kernel's backlog and accept() would fail again at once: the
// listener pauses for kAcceptBackoff instead of spinning, and the waiting clients are
// accepted as soon as descriptors free up. Connections already open are served throughout.
//
// Thread-safety: runs on the first io_context; Close() is posted there.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/assert/source_location.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/system/result.hpp>

#include "server/transport/session.hpp"

namespace kms::transport {

// Why the server could not start listening, in one readable line: "address in use:
// 127.0.0.1:4599", "invalid listen address: x". Fatal at start-up (main prints it, exits 1).
struct StartError {
  std::string message;
};
template <class T>
using StartResult = boost::system::result<T, StartError>;

// Lets StartResult<T>::value() throw (found by ADL); callers test `if (!r)` instead.
[[noreturn]] void throw_exception_from_error(const StartError& error,
                                             const boost::source_location& location);

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  // Binds and listens. Fails with a readable message, e.g. "address in use: 127.0.0.1:4599".
  static StartResult<std::shared_ptr<Listener>> Open(std::vector<boost::asio::io_context*> contexts,
                                                     const boost::asio::ip::tcp::endpoint& endpoint,
                                                     SessionEnv& env);

  Listener(std::vector<boost::asio::io_context*> contexts, SessionEnv& env);
  void Run();
  void Close();
  std::uint16_t Port() const { return port_; }

 private:
  void DoAccept();
  void OnAccept(boost::beast::error_code ec, Session::Socket socket);

  // How long accepting pauses after it failed for lack of resources (no descriptors left).
  static constexpr std::chrono::milliseconds kAcceptBackoff{100};

  std::vector<boost::asio::io_context*> contexts_;
  std::size_t next_ = 0;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer backoff_;  // paces accept() retries after EMFILE and the like
  SessionEnv& env_;
  std::uint16_t port_ = 0;
};

}  // namespace kms::transport
