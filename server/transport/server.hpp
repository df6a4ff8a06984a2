// File: server.hpp
//
// Server: the worker threads (one io_context each), the listener and the signal handling
// around a Service (service.hpp), which answers every request. Run() blocks until SIGINT/SIGTERM or
// Stop(); shutdown is graceful: stop accepting, answer the requests in flight, close idle
// connections, join the threads.
//
// Thread-safety: Stop() may be called from any thread; the rest from the owning thread.
#pragma once

#include "base/mutex.hpp"
#include "base/thread_annotations.hpp"

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/thread_pool.hpp>

#include "config/config.hpp"
#include "server/transport/listener.hpp"
#include "server/transport/service.hpp"
#include "server/transport/session.hpp"

namespace kms::transport {

class Server {
 public:
  // Binds the listening socket. Errors: the reason in one line (StartError, listener.hpp).
  // REQUIRES: `service` outlives the server.
  static StartResult<std::unique_ptr<Server>> Create(const config::Config& config,
                                                     Service& service);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  std::uint16_t Port() const { return listener_->Port(); }
  unsigned Threads() const { return static_cast<unsigned>(contexts_.size()); }

  // Serves until a signal or Stop(); returns after every worker thread has finished.
  void Run(bool handle_signals = true) EXCLUDES(run_mu_);
  void Stop() EXCLUDES(run_mu_, env_.sessions_mu);

 private:
  Server(const config::Config& config, Service& service);

  SessionEnv env_;
  std::vector<std::unique_ptr<boost::asio::io_context>> contexts_;
  std::shared_ptr<Listener> listener_;
  std::unique_ptr<boost::asio::signal_set> signals_;
  // SessionEnv::blocking. Declared after contexts_ so it is joined before they go: its tasks
  // post their answers to them.
  std::unique_ptr<boost::asio::thread_pool> blocking_;

  Mutex run_mu_;
  CondVar run_cv_;
  bool stop_requested_ GUARDED_BY(run_mu_) = false;
  unsigned running_ GUARDED_BY(run_mu_) = 0;  // worker threads still in io_context::run
};

}  // namespace kms::transport
