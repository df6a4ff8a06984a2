// File: session.hpp
//
// Session: one client connection. Reads a request, answers it, and repeats while the
// client keeps the connection alive (the shape of Beast's asynchronous example servers: DoX
// starts a step, OnX finishes it and starts with the error check):
//
//   DoRead -> ParseOrRead (parse what is buffered; else DoReadSome -> OnReadSome -> again)
//   -> OnRequest -> Answer() gives a Reply -> DoWrite(reply) -> StartWrite -> OnWrite
//   -> DoRead ...
//
// The session reads with its own loop over a RequestParser (request_parser.hpp) rather than
// Beast's http::async_read, so that every byte a request makes kmsd hold is counted against a
// limit, whatever the framing (head, chunk-size lines and trailers within kHeaderLimit, the
// decoded body within config.body_limit_bytes), and so that `Expect: 100-continue` is
// answered as soon as the head is in.
//
// What to answer is the Service's (service.hpp); the session knows only HTTP. Requests that
// may block (Service::MayBlock: for kmsd, the ones that can generate an RSA key pair) are
// answered on SessionEnv::blocking instead, so that one slow request does not hold up every
// other connection of its io thread.
//
// Network errors end the connection (logged at debug level). KMS errors are responses on
// a connection that stays healthy. Transport-level rejections (body too large: 413; framing
// too large: 431; a malformed or ambiguous request: 400) get the Service's error reply
// (Service::Refuse), then the connection is closed because the rest of the stream cannot be
// trusted. No exception ends more than its own request: parsing, answering and writing each catch,
// and the client gets the Service's internal-error reply (base/fault_injection.hpp lists the stages
// tested).
//
// Timeouts: each read of a request and each write of a response must finish within
// config.read_timeout (from when it starts, however the bytes trickle in), else the
// connection is closed; that is the idle keep-alive timeout and the slow-client protection.
// A read or write only records its deadline; one timer per session wakes up at the earliest
// deadline it was armed for and re-arms itself if the deadline moved later meanwhile, so on
// a busy connection it fires about once per read_timeout.
//
// Thread-safety: a session lives on one single-threaded io_context; CloseIfIdle() is
// posted to that context.
#pragma once

#include "base/mutex.hpp"
#include "base/thread_annotations.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <memory_resource>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include "config/config.hpp"
#include "server/transport/request_parser.hpp"
#include "server/transport/service.hpp"

namespace kms::transport {

class Session;

// Counts the connections being served against a limit (config.max_connections), without a
// lock: one atomic add when a connection opens and one subtraction when it closes.
//
// Thread-safety: every member may be called from any thread.
class ConnectionCounter {
 public:
  explicit ConnectionCounter(std::size_t limit) : limit_(limit) {}

  // Takes a slot; false (and nothing taken) if `limit` connections already hold one.
  bool TryAcquire() {
    if (live_.fetch_add(1, std::memory_order_relaxed) < limit_) return true;
    live_.fetch_sub(1, std::memory_order_relaxed);
    return false;
  }
  // Gives back a slot TryAcquire() took.
  void Release() { live_.fetch_sub(1, std::memory_order_relaxed); }
  std::size_t Live() const { return live_.load(std::memory_order_relaxed); }
  std::size_t Limit() const { return limit_; }

 private:
  const std::size_t limit_;
  std::atomic<std::size_t> live_{0};
};

// What every session of one server shares.
struct SessionEnv {
  SessionEnv(Service& s, const config::Config& c)
      : service(s), config(c), connections(c.max_connections) {}

  Service& service;
  const config::Config& config;
  std::atomic<bool> stopping{false};
  ConnectionCounter connections;  // sessions being served (not the ones turned away)
  std::atomic_flag limit_logged = ATOMIC_FLAG_INIT;  // the first refusal is logged as a warning

  // Live sessions, so a graceful shutdown can close the idle ones.
  Mutex sessions_mu;
  std::unordered_set<Session*> sessions GUARDED_BY(sessions_mu);

  // Runs the requests whose answer may block (Service::MayBlock: key-pair generation),
  // so that they do not stall the other connections of their io thread. Set by the Server,
  // which outlives every session; null answers them on the io thread.
  boost::asio::thread_pool* blocking = nullptr;
};

// Framing bytes a request may make kmsd hold: request line, header fields, chunk-size lines
// and trailers together (RequestParser::Limits::header_bytes).
inline constexpr std::size_t kHeaderLimit = std::size_t{16} * 1024;

class Session : public std::enable_shared_from_this<Session> {
 public:
  // A socket bound to its io_context's own executor type rather than any_io_executor:
  // every async operation copies the executor, and the type-erased one costs more.
  using Socket = boost::asio::basic_stream_socket<boost::asio::ip::tcp,
                                                  boost::asio::io_context::executor_type>;

  Session(Socket&& socket, SessionEnv& env);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Registers the session in env.sessions (so Server::Stop() can reach it) and starts reading,
  // if the session gets one of env.connections' slots. If every slot is taken, it answers
  // ThrottlingException (HTTP 503) at once, without reading a request, and closes.
  // REQUIRES: the session is owned by a shared_ptr (shared_from_this() works).
  void Run();
  // Closes the connection if no request is in progress; otherwise the session closes
  // itself after answering the current request (env.stopping is set).
  void CloseIfIdle();
  // Posts CloseIfIdle() to the session's own io_context. REQUIRES: the caller owns a
  // reference to this session and does not hold env.sessions_mu.
  void PostCloseIfIdle();

 private:
  using Clock = std::chrono::steady_clock;
  using Timer = boost::asio::basic_waitable_timer<Clock, boost::asio::wait_traits<Clock>,
                                                  boost::asio::io_context::executor_type>;

  void DoRead();
  // Parses what the buffer holds; answers a complete request, rejects a bad one, sends
  // 100 Continue when the client waits for it, or reads more.
  void ParseOrRead();
  void DoReadSome();
  void OnReadSome(boost::beast::error_code ec, std::size_t bytes);
  void DoContinue();  // writes "HTTP/1.1 100 Continue", then ParseOrRead()
  void OnContinue(boost::beast::error_code ec, std::size_t bytes);
  void OnRequest();
  void OnParseError(boost::beast::error_code ec);
  void DoRefuse();  // over the connection limit: answer ThrottlingException, then close
  void DoWrite(Reply&& reply, bool close_after);  // stores the reply, posts StartWrite
  void StartWrite(bool close_after);
  void OnWrite(bool close_after, boost::beast::error_code ec, std::size_t bytes);
  void DoClose();
  void DoLinger();
  void OnLinger(boost::beast::error_code ec, std::size_t bytes);

  // The Service's reply to a complete request; never throws (a throw becomes
  // Refusal::kInternal's reply).
  Reply Answer(const HttpRequest& request);
  // Answer() on env_.blocking, then Respond() back on this session's executor. The session
  // does nothing else meanwhile (no read, no timer armed), so the two threads never overlap.
  void AnswerOffThread(bool close_after);
  // Writes `reply` at once, or once the Service says it may go (Reply::must_wait).
  void Respond(Reply&& reply, bool close_after);
  // The Service's reply to a refused request; also sets the response fields for it.
  Reply Refuse(Refusal refusal, std::string detail);

  // The pending read or write must finish within `timeout` from now.
  void SetDeadline(Clock::duration timeout);
  // No I/O step pending (the request is being answered): nothing to time out.
  void ClearDeadline() { deadline_ = Clock::time_point::max(); }
  void ArmTimer(Clock::time_point expiry);
  void OnTimer(boost::beast::error_code ec);

  Socket socket_;
  // Bytes read and not yet parsed: at most one read beyond kHeaderLimit of framing (the
  // parser consumes body bytes as they come).
  boost::beast::flat_buffer buffer_;
  // Memory for one request at a time: a fresh parser per request (Beast parsers cannot be
  // reset) allocates from arena_, which DoRead() empties before creating the next parser.
  // A typical request fits the inline buffer; a larger one spills to the heap until then.
  alignas(std::max_align_t) std::array<std::byte, 1024> arena_buffer_;
  std::pmr::monotonic_buffer_resource arena_{arena_buffer_.data(), arena_buffer_.size()};
  std::optional<RequestParser> parser_;
  SessionEnv& env_;
  bool counted_ = false;        // holds one of env_.connections' slots, given back by ~Session
  bool idle_ = true;            // waiting for the first byte of a request
  bool continue_sent_ = false;  // 100 Continue written for the request being read

  // The request being answered: its id (a UUID), and what the response must echo.
  std::array<char, 36> request_id_{};
  unsigned version_ = 11;
  bool keep_alive_ = true;
  bool head_only_ = false;  // a response to HEAD: the head, without the body it describes

  // The response being written: head_ (status line and headers, see http_response.hpp)
  // and reply_.body go out in one gather write. Both are kept until the write completes;
  // head_ keeps its capacity from one request to the next. canned_: the head could not be
  // built (an exception), and a fixed 500 response goes out instead.
  Reply reply_;
  std::string head_;
  bool canned_ = false;

  Timer timer_;
  Clock::time_point deadline_ = Clock::time_point::max();      // of the pending read/write
  Clock::time_point timer_expiry_ = Clock::time_point::max();  // max: timer_ not armed
};

}  // namespace kms::transport
