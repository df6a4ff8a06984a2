// File: session.hpp
//
// Session: one client connection. Reads a request, answers it, and repeats while the
// client keeps the connection alive (Beast's http_server_async shape: DoX starts a step,
// OnX finishes it and starts with the error check).
//
// Network errors end the connection (logged at debug level). KMS errors are responses on
// a connection that stays healthy. Transport-level rejections (body or header too large,
// an unparseable HTTP request) get an AWS-shaped error response, then the connection is
// closed because the rest of the stream cannot be trusted.
//
// Thread-safety: a session lives on one single-threaded io_context; CloseIfIdle() is
// posted to that context.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "config/config.hpp"
#include "server/protocol/dispatch.hpp"
#include "storage/registry.hpp"

namespace kms::server {

class Session;

// What every session of one server shares.
struct SessionEnv {
  SessionEnv(const Dispatcher& d, storage::Registry& r, const config::Config& c)
      : dispatcher(d), registry(r), config(c), started(std::chrono::steady_clock::now()) {}

  const Dispatcher& dispatcher;
  storage::Registry& registry;
  const config::Config& config;
  std::chrono::steady_clock::time_point started;
  std::atomic<bool> stopping{false};

  // Live sessions, so a graceful shutdown can close the idle ones.
  std::mutex sessions_mu;
  std::unordered_set<Session*> sessions;  // GUARDED_BY(sessions_mu)
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(boost::asio::ip::tcp::socket&& socket, SessionEnv& env);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Registers the session in env.sessions (so Server::Stop() can reach it) and starts reading.
  // REQUIRES: the session is owned by a shared_ptr (shared_from_this() works).
  void Run();
  // Closes the connection if no request is in progress; otherwise the session closes
  // itself after answering the current request (env.stopping is set).
  void CloseIfIdle();
  // Posts CloseIfIdle() to the session's own io_context. REQUIRES: the caller owns a
  // reference to this session and does not hold env.sessions_mu.
  void PostCloseIfIdle();

 private:
  using Request = boost::beast::http::request<boost::beast::http::string_body>;
  using Response = boost::beast::http::response<boost::beast::http::string_body>;

  void DoRead();
  void OnRead(boost::beast::error_code ec, std::size_t bytes);
  void DoWrite(Response&& response, bool close_after);
  void OnWrite(bool close_after, boost::beast::error_code ec, std::size_t bytes);
  void DoClose();
  void DoLinger();
  void OnLinger(boost::beast::error_code ec, std::size_t bytes);

  // One request and what is known about its answer, kept while the answer waits for a commit.
  struct Exchange {
    std::string request_id;
    std::chrono::steady_clock::time_point begin;
    unsigned version;  // the request's HTTP version
    bool keep_alive;
    bool close_after;
    Reply reply;
  };

  // Handles the request and writes the answer, at once or once its ticket is durable.
  void Answer(const Request& request, bool close_after);
  Reply Handle(const Request& request, std::string_view request_id);
  Response Respond(Exchange&& exchange);
  Response RejectTransport(const KmsError& error);

  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  std::shared_ptr<Response> response_;  // kept alive until the write completes
  std::vector<char> linger_buffer_;
  SessionEnv& env_;
  bool idle_ = true;  // waiting for the first byte of a request
};

}  // namespace kms::server
