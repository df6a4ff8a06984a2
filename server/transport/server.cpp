#include "server/transport/server.hpp"

#include "base/log.hpp"
#include "base/try.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>

namespace kms::transport {

namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {
// How long a graceful shutdown waits for requests in flight before it stops hard.
constexpr auto kShutdownGrace = std::chrono::seconds(10);
}  // namespace

Server::Server(const config::Config& config, Service& service) : env_(service, config) {}

StartResult<std::unique_ptr<Server>> Server::Create(const config::Config& config,
                                                    Service& service) {
  std::unique_ptr<Server> server(new Server(config, service));
  unsigned threads = config.threads != 0 ? config.threads : std::thread::hardware_concurrency();
  if (threads == 0) threads = 1;
  std::vector<net::io_context*> raw;
  for (unsigned i = 0; i < threads; ++i) {
    server->contexts_.push_back(std::make_unique<net::io_context>(1));
    raw.push_back(server->contexts_.back().get());
  }
  boost::system::error_code ec;
  const auto address = net::ip::make_address(config.host, ec);
  if (ec) return StartError{"invalid listen address: " + config.host};
  // As many threads for blocking requests as for the rest: key pairs for several clients at
  // once, while the io threads keep serving everyone else.
  server->blocking_ = std::make_unique<net::thread_pool>(threads);
  server->env_.blocking = server->blocking_.get();
  KMS_ASSIGN_OR_RETURN(server->listener_,
                       Listener::Open(raw, tcp::endpoint(address, config.port), server->env_));
  return server;
}

Server::~Server() {
  // Replies still waiting (Service::WhenReady) answer through callbacks that post to our
  // io_contexts: let them finish before the contexts go away.
  env_.service.Quiesce();
}

void Server::Run(bool handle_signals) {
  if (handle_signals) {
    signals_ = std::make_unique<net::signal_set>(*contexts_.front(), SIGINT, SIGTERM);
    signals_->async_wait([this](const boost::system::error_code& ec, int signo) {
      if (ec) return;
      Log(LogLevel::kInfo, "received signal " + std::to_string(signo) + ", shutting down");
      Stop();
    });
  }
  listener_->Run();

  // A context without sessions has no work; the guards keep every one running until Stop().
  std::vector<net::executor_work_guard<net::io_context::executor_type>> guards;
  std::vector<std::thread> threads;
  for (auto& ctx : contexts_) guards.push_back(net::make_work_guard(*ctx));
  {
    const MutexLock lock(run_mu_);
    running_ = static_cast<unsigned>(contexts_.size());
  }
  for (auto& ctx : contexts_) {
    threads.emplace_back([this, ctx = ctx.get()] {
      // Every handler catches what it can throw; should one escape all the same, the io thread
      // logs it and goes on serving its other connections instead of ending the process
      // (Asio allows run() to be called again after a handler threw).
      for (;;) {
        try {
          ctx->run();
          break;
        } catch (const std::exception& e) {
          Log(LogLevel::kError, std::string("io thread: a handler threw: ") + e.what());
        } catch (...) {
          Log(LogLevel::kError, "io thread: a handler threw");
        }
      }
      const MutexLock lock(run_mu_);
      --running_;
      run_cv_.NotifyAll();
    });
  }

  MutexLock lock(run_mu_);
  while (!stop_requested_) run_cv_.Wait(lock);
  // Stop() has closed the listener and the idle connections; the busy ones finish their
  // answer and close. Each context then runs out of work and returns.
  guards.clear();
  const auto grace_end = std::chrono::steady_clock::now() + kShutdownGrace;
  while (running_ != 0) {
    if (!run_cv_.WaitUntil(lock, grace_end)) break;
  }
  if (running_ != 0) {
    Log(LogLevel::kWarn, "shutdown grace period over; closing the remaining connections");
    for (auto& ctx : contexts_) ctx->stop();
  }
  lock.Unlock();
  for (auto& t : threads) t.join();
}

void Server::Stop() {
  if (env_.stopping.exchange(true)) return;
  listener_->Close();
  if (signals_) {
    net::post(*contexts_.front(), [this] {
      boost::system::error_code ec;
      signals_->cancel(ec);
    });
  }
  // Take references under the lock, post outside it: dropping the last reference to a
  // session runs ~Session, which takes sessions_mu itself.
  std::vector<std::shared_ptr<Session>> live;
  {
    const MutexLock lock(env_.sessions_mu);
    live.reserve(env_.sessions.size());
    for (Session* session : env_.sessions) {
      // A session in its destructor (waiting for sessions_mu) has no owner left: skip it.
      if (auto owned = session->weak_from_this().lock()) live.push_back(std::move(owned));
    }
  }
  for (auto& session : live) session->PostCloseIfIdle();
  live.clear();
  const MutexLock lock(run_mu_);
  stop_requested_ = true;
  run_cv_.NotifyAll();
}

}  // namespace kms::transport
