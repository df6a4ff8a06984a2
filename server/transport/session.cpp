#include "server/transport/session.hpp"

#include "base/fault_injection.hpp"
#include "base/log.hpp"

#include <array>
#include <string>
#include <sys/random.h>
#include <time.h>
#include <tuple>
#include <utility>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/http/error.hpp>

#include "server/transport/http_response.hpp"

namespace kms::transport {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;

namespace {

// Read buffer per connection, allocated on its first read: fits a typical request whole.
// A read never asks for more than the buffer has room for, nor less than kMinReadBytes, nor
// more than kMaxReadBytes; so the buffer holds at most kHeaderLimit bytes of framing the parser
// waits for the end of, plus one read.
constexpr std::size_t kReadBufferBytes = std::size_t{4} * 1024;
constexpr std::size_t kMinReadBytes = 512;
constexpr std::size_t kMaxReadBytes = std::size_t{64} * 1024;

constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

// The response sent when not even a response head could be built (an exception while
// writing): nothing in it is computed.
constexpr std::string_view kCannedBody =
    "{\"__type\":\"KMSInternalException\",\"message\":\"kmsd could not write its response; "
    "retry.\"}";
constexpr std::string_view kCannedHead =
    "HTTP/1.1 500 Internal Server Error\r\n"
    "Content-Type: application/x-amz-json-1.1\r\n"
    "X-Amzn-Errortype: KMSInternalException\r\n"
    "Connection: close\r\n"
    "Content-Length: 87\r\n"
    "\r\n";
static_assert(kCannedBody.size() == 87, "kCannedHead's Content-Length");

// Where a connection that is being closed drains what its client still sends: the bytes are
// discarded, so every lingering session of an io thread (its own io_context, one thread)
// shares one buffer rather than holding its own. Allocated on a thread's first linger.
net::mutable_buffer DiscardBuffer() {
  constexpr std::size_t kBytes = std::size_t{16} * 1024;
  thread_local const std::unique_ptr<char[]> buffer(new char[kBytes]);
  return net::buffer(buffer.get(), kBytes);
}

// A request id in the form of AWS's (a UUID v4). Ids must be unique, not secret: they come
// from a per-thread splitmix64 sequence seeded once from the kernel (getrandom), leaving the
// CSPRNG to key material.
void NewRequestId(std::array<char, 36>& out) {
  thread_local std::uint64_t state = [] {
    std::uint64_t seed = 0;
    if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) != static_cast<ssize_t>(sizeof seed)) {
      seed =
          static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    }
    return seed;
  }();
  auto next = [] {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  };
  std::array<std::uint8_t, 16> b{};
  for (std::size_t half = 0; half < 2; ++half) {
    const std::uint64_t v = next();
    for (std::size_t i = 0; i < 8; ++i) b[half * 8 + i] = static_cast<std::uint8_t>(v >> (8 * i));
  }
  b[6] = static_cast<std::uint8_t>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<std::uint8_t>((b[8] & 0x3f) | 0x80);
  static constexpr char kHex[] = "0123456789abcdef";
  std::size_t pos = 0;
  for (std::size_t i = 0; i < b.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out[pos++] = '-';
    out[pos++] = kHex[b[i] >> 4];
    out[pos++] = kHex[b[i] & 0x0f];
  }
}

// CLOCK_MONOTONIC (the clock behind steady_clock) at tick resolution (1-4 ms): deadlines of
// seconds need no more, and the coarse clock is read without the TSC, which costs more in a VM.
std::chrono::steady_clock::time_point CoarseNow() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return std::chrono::steady_clock::time_point(
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(
          std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec)));
}

}  // namespace

Session::Session(Socket&& socket, SessionEnv& env)
    : socket_(std::move(socket)), env_(env), timer_(socket_.get_executor()) {}

Session::~Session() {
  if (counted_) env_.connections.Release();
  const MutexLock lock(env_.sessions_mu);
  env_.sessions.erase(this);
}

void Session::Run() {
  // Register here, not in the constructor: make_shared sets the weak pointer behind
  // weak_from_this() only after the constructor returns, and Server::Stop() reads it from
  // another thread as soon as the session is in env_.sessions.
  {
    const MutexLock lock(env_.sessions_mu);
    env_.sessions.insert(this);
  }
  counted_ = env_.connections.TryAcquire();
  // Start on the socket's executor (its io_context), as Beast's examples do.
  net::dispatch(socket_.get_executor(),
                beast::bind_front_handler(counted_ ? &Session::DoRead : &Session::DoRefuse,
                                          shared_from_this()));
}

void Session::CloseIfIdle() {
  if (idle_ && buffer_.size() == 0) {
    beast::error_code ec;
    socket_.shutdown(net::ip::tcp::socket::shutdown_both, ec);
    socket_.close(ec);
    timer_.cancel();
  }
}

void Session::PostCloseIfIdle() {
  net::post(socket_.get_executor(), [self = shared_from_this()] { self->CloseIfIdle(); });
}

void Session::DoRead() {
  if (env_.stopping) return DoClose();
  // A fresh parser per request, as Beast requires (a parser cannot be reset). The previous
  // request's memory goes back to the arena first: nothing refers to it any more.
  parser_.reset();
  arena_.release();
  parser_.emplace(&arena_, RequestParser::Limits{kHeaderLimit, env_.config.body_limit_bytes});
  idle_ = buffer_.size() == 0;
  continue_sent_ = false;
  SetDeadline(env_.config.read_timeout);
  ParseOrRead();  // a pipelined request may be buffered already
}

void Session::ParseOrRead() {
  if (buffer_.size() != 0) {
    beast::error_code ec;
    try {
      const std::size_t used = parser_->Feed(buffer_.data(), ec);
      buffer_.consume(used);
      if (!ec && parser_->is_done()) fault::Point(fault::Stage::kParse);
    } catch (const std::exception& e) {
      // The parser's state is unknown: answer this request, and end the connection.
      return DoWrite(
          Refuse(Refusal::kInternal, std::string("reading a request threw: ") + e.what()), true);
    }
    if (ec == http::error::need_more) {
      ec = {};
    } else if (ec) {
      return OnParseError(ec);
    } else if (parser_->is_done()) {
      return OnRequest();
    }
    // The client waits for our word before it sends the body (RFC 9110 10.1.1): give it as
    // soon as the head is in, unless the request is refused first (its head was).
    if (parser_->is_header_done() && parser_->request().expect_continue && !continue_sent_ &&
        parser_->request().version >= 11) {
      return DoContinue();
    }
  }
  DoReadSome();
}

void Session::DoReadSome() {
  // A read asks for the buffer's free room (kMinReadBytes at least): with Beast's default
  // 512-byte buffer every request above 512 bytes took two reads (two system calls), and that
  // is every request an AWS SDK sends (its headers alone are ~1 KiB).
  if (buffer_.capacity() < kReadBufferBytes) buffer_.reserve(kReadBufferBytes);
  const std::size_t room = buffer_.capacity() - buffer_.size();
  const std::size_t want = std::min(std::max(room, kMinReadBytes), kMaxReadBytes);
  socket_.async_read_some(buffer_.prepare(want),
                          beast::bind_front_handler(&Session::OnReadSome, shared_from_this()));
}

void Session::OnReadSome(beast::error_code ec, std::size_t bytes) {
  buffer_.commit(bytes);
  if (bytes != 0) idle_ = false;
  // This means they closed the connection (between requests, or mid-request: nothing to
  // answer either way), or we did (shutdown, or OnTimer: a timeout).
  if (ec == net::error::eof || ec == net::error::operation_aborted ||
      ec == net::error::bad_descriptor) {
    return DoClose();
  }
  if (ec) {
    Log(LogLevel::kDebug, "connection read error: " + ec.message());
    return DoClose();
  }
  ParseOrRead();
}

void Session::DoContinue() {
  continue_sent_ = true;
  net::async_write(socket_, net::buffer(kContinue.data(), kContinue.size()),
                   beast::bind_front_handler(&Session::OnContinue, shared_from_this()));
}

void Session::OnContinue(beast::error_code ec, std::size_t /*bytes*/) {
  if (ec) return DoClose();
  ParseOrRead();
}

void Session::OnParseError(beast::error_code ec) {
  if (ec == http::error::body_limit) {
    return DoWrite(
        Refuse(Refusal::kBodyTooLarge, "Request body exceeds the limit of " +
                                           std::to_string(env_.config.body_limit_bytes) + " bytes"),
        true);
  }
  if (ec == http::error::header_limit) {
    return DoWrite(Refuse(Refusal::kHeadersTooLarge,
                          "Request line, headers, chunk-size lines and trailers exceed the limit "
                          "of " +
                              std::to_string(kHeaderLimit) + " bytes"),
                   true);
  }
  const std::string_view refusal = parser_->Refusal();
  DoWrite(Refuse(Refusal::kMalformed, "Malformed HTTP request: " +
                                          (refusal.empty() ? ec.message() : std::string(refusal))),
          true);
}

void Session::OnRequest() {
  idle_ = false;
  ClearDeadline();
  const HttpRequest& request = parser_->request();
  version_ = request.version;
  keep_alive_ = request.keep_alive;
  head_only_ = request.method == http::verb::head;
  const bool close_after = !keep_alive_ || env_.stopping;
  if (env_.blocking != nullptr && env_.service.MayBlock(request)) {
    return AnswerOffThread(close_after);
  }
  Respond(Answer(request), close_after);
}

void Session::DoRefuse() {
  const std::string limit = std::to_string(env_.connections.Limit());
  if (!env_.limit_logged.test_and_set(std::memory_order_relaxed)) {
    Log(LogLevel::kWarn, "connection limit reached: " + limit +
                             " connections open; clients beyond them get ThrottlingException "
                             "until some close (--max-connections; logged once)");
  }
  // Answered before the request is read: the answer does not depend on it, and reading it
  // would spend on this client what the limit is there to save. DoLinger() then drains the
  // request into the io thread's shared discard buffer, so closing does not reset the
  // connection before the client reads the answer, and a refused connection holds no buffer
  // of its own (it must cost less than a served one).
  DoWrite(Refuse(Refusal::kTooManyConnections,
                 "Too many connections: kmsd serves at most " + limit + " at once. Retry later."),
          true);
}

void Session::AnswerOffThread(bool close_after) {
  // Tracked work keeps this session's io_context running until the answer is back, even
  // during a graceful stop (as Respond does for commits).
  auto executor = net::prefer(socket_.get_executor(), net::execution::outstanding_work.tracked);
  net::post(*env_.blocking, [self = shared_from_this(), executor, close_after]() mutable {
    Reply reply = self->Answer(self->parser_->request());
    net::post(executor, [self = std::move(self), reply = std::move(reply), close_after]() mutable {
      self->Respond(std::move(reply), close_after);
    });
  });
}

void Session::Respond(Reply&& reply, bool close_after) {
  if (!reply.must_wait) return DoWrite(std::move(reply), close_after);
  // The reply depends on work not finished yet (for kmsd, changes being committed): the
  // Service calls back once it may go, perhaps on another thread, so the callback only posts
  // back to this session's executor; tracking work keeps the io_context running meanwhile,
  // even during a graceful stop.
  auto executor = net::prefer(socket_.get_executor(), net::execution::outstanding_work.tracked);
  env_.service.WhenReady(std::move(reply), std::string_view(request_id_.data(), request_id_.size()),
                         [self = shared_from_this(), executor, close_after](Reply&& ready) mutable {
                           // Move, don't copy: the session and the tracked work must not outlive
                           // this call on the service's thread (the service may drop the callback
                           // only later). net::post takes the executor by reference, so it is moved
                           // into a local that ends here.
                           const auto tracked = std::move(executor);
                           net::post(tracked, [self = std::move(self), ready = std::move(ready),
                                               close_after]() mutable {
                             self->DoWrite(std::move(ready), close_after);
                           });
                         });
}

Reply Session::Answer(const HttpRequest& request) {
  NewRequestId(request_id_);
  const std::string_view request_id(request_id_.data(), request_id_.size());
  const bool access_log = LogEnabled(LogLevel::kDebug);
  const auto begin = access_log ? std::chrono::steady_clock::now() : Clock::time_point{};
  Reply reply;
  try {
    reply = env_.service.Answer(request, request_id);
  } catch (const std::exception& e) {
    reply = env_.service.Refuse(Refusal::kInternal,
                                std::string("answering a request threw: ") + e.what(), request_id);
  } catch (...) {
    reply = env_.service.Refuse(Refusal::kInternal, "answering a request threw", request_id);
  }

  if (access_log) {
    const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                            std::chrono::steady_clock::now() - begin)
                            .count();
    Log(LogLevel::kDebug,
        "access op=" + std::string(reply.operation.empty() ? "-" : reply.operation) +
            " status=" + std::to_string(reply.status) +
            " type=" + std::string(reply.error_type.empty() ? "-" : reply.error_type) +
            " us=" + std::to_string(micros) + " request_id=" + std::string(request_id));
  }
  return reply;
}

Reply Session::Refuse(Refusal refusal, std::string detail) {
  NewRequestId(request_id_);
  version_ = 11;
  keep_alive_ = false;
  head_only_ = false;
  if (refusal != Refusal::kInternal) Log(LogLevel::kDebug, "rejected request: " + detail);
  return env_.service.Refuse(refusal, std::move(detail),
                             std::string_view(request_id_.data(), request_id_.size()));
}

void Session::DoWrite(Reply&& reply, bool close_after) {
  try {
    fault::Point(fault::Stage::kWrite);
    reply_ = std::move(reply);
    head_.clear();
    AppendResponseHead({.status = reply_.status,
                        .version = version_,
                        .keep_alive = keep_alive_,
                        .request_id = std::string_view(request_id_.data(), request_id_.size()),
                        .error_type = reply_.error_type,
                        .content_length = reply_.body.size()},
                       head_);
    canned_ = false;
  } catch (const std::exception& e) {
    Log(LogLevel::kError, "request " + std::string(request_id_.data(), request_id_.size()) +
                              " failed: writing its response threw: " + e.what() +
                              "; answered 500 and closed");
    canned_ = true;
    close_after = true;
  }
  SetDeadline(env_.config.read_timeout);  // a client that does not read us is cut off too
  // Queued behind the requests this io thread has already read, which are answered first:
  // a client waiting for several answers (one process, many connections) is then woken once
  // for all of them rather than once for each. Waking a sleeping process on another CPU
  // costs the writer's send several microseconds on a virtual machine; with Sign P-256 on
  // 16 connections this took server CPU per request from 38 to 34 us. A lone request waits
  // only for one non-blocking poll of the other sockets.
  net::post(socket_.get_executor(),
            beast::bind_front_handler(&Session::StartWrite, shared_from_this(), close_after));
}

void Session::StartWrite(bool close_after) {
  std::array<net::const_buffer, 2> buffers{net::buffer(head_), net::buffer(reply_.body)};
  if (canned_) {
    buffers = {net::buffer(kCannedHead.data(), kCannedHead.size()),
               net::buffer(kCannedBody.data(), kCannedBody.size())};
  } else if (head_only_) {
    buffers[1] = net::const_buffer();  // HEAD: Content-Length says what GET would send
  }
  net::async_write(socket_, buffers,
                   beast::bind_front_handler(&Session::OnWrite, shared_from_this(), close_after));
}

void Session::OnWrite(bool close_after, beast::error_code ec, std::size_t /*bytes*/) {
  ClearDeadline();
  reply_ = Reply{};
  if (ec == net::error::operation_aborted) return DoClose();
  if (ec) {
    Log(LogLevel::kDebug, "connection write error: " + ec.message());
    return DoClose();
  }
  // Linger if the request was not read in full, or not at all (DoRefuse).
  if (close_after) return !parser_ || !parser_->is_done() ? DoLinger() : DoClose();
  if (env_.stopping) return DoClose();
  DoRead();
}

void Session::DoLinger() {
  // After rejecting a request we did not read in full, stop sending and drain what the
  // client still sends, so closing does not reset the connection before it reads our answer.
  beast::error_code ec;
  socket_.shutdown(net::ip::tcp::socket::shutdown_send, ec);
  SetDeadline(std::chrono::seconds(2));
  // The read buffer is not needed any more: give its memory back now, not when the linger ends.
  buffer_ = beast::flat_buffer();
  socket_.async_read_some(DiscardBuffer(),
                          beast::bind_front_handler(&Session::OnLinger, shared_from_this()));
}

void Session::OnLinger(beast::error_code ec, std::size_t /*bytes*/) {
  if (ec) return DoClose();  // EOF, timeout or error: done draining
  socket_.async_read_some(DiscardBuffer(),
                          beast::bind_front_handler(&Session::OnLinger, shared_from_this()));
}

void Session::DoClose() {
  beast::error_code ec;
  socket_.shutdown(net::ip::tcp::socket::shutdown_send, ec);
  socket_.close(ec);
  ClearDeadline();
  timer_.cancel();  // so a pending wait does not keep the io_context busy after we are gone
}

void Session::SetDeadline(Clock::duration timeout) {
  deadline_ = CoarseNow() + timeout;
  // The common case, a deadline later than the one the timer is armed for, costs nothing
  // more: OnTimer finds the new deadline when it wakes up and goes back to sleep.
  if (deadline_ < timer_expiry_) ArmTimer(deadline_);
}

void Session::ArmTimer(Clock::time_point expiry) {
  timer_expiry_ = expiry;
  timer_.expires_at(expiry);  // cancels a wait in progress: its handler sees operation_aborted
  // A weak reference: an armed timer must not keep a finished session alive.
  timer_.async_wait([weak = weak_from_this()](beast::error_code ec) {
    if (auto self = weak.lock()) self->OnTimer(ec);
  });
}

void Session::OnTimer(beast::error_code ec) {
  if (ec == net::error::operation_aborted) return;  // re-armed for an earlier time, or closed
  timer_expiry_ = Clock::time_point::max();
  if (!socket_.is_open() || deadline_ == Clock::time_point::max()) {
    return;  // nothing pending to time out; the next SetDeadline arms the timer again
  }
  if (deadline_ > Clock::now()) return ArmTimer(deadline_);  // the deadline moved on
  // Timed out: closing the socket makes the pending read or write complete with
  // operation_aborted, and its handler ends the session (as tcp_stream's timeout did).
  Log(LogLevel::kDebug, "connection timed out");
  beast::error_code ignored;
  socket_.close(ignored);
}

}  // namespace kms::transport
