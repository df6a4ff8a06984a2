#include "server/session.hpp"

#include <array>
#include <span>
#include <string>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/post.hpp>

#include "crypto/random.hpp"
#include "server/log.hpp"

namespace kms::server {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;

namespace {

constexpr std::size_t kHeaderLimit = 16 * 1024;
constexpr std::string_view kJsonType = "application/x-amz-json-1.1";

// A request id in the form of AWS's (a UUID v4). Ids must be unique, not secret: they come
// from a per-thread splitmix64 sequence seeded once from RAND_bytes, keeping the CSPRNG for
// key material.
std::string NewRequestId() {
  thread_local std::uint64_t state = [] {
    std::uint64_t seed = 0;
    std::span<std::uint8_t> bytes(reinterpret_cast<std::uint8_t*>(&seed), sizeof seed);
    if (!crypto::RandomFill(bytes)) {
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
  std::string out;
  out.reserve(36);
  for (std::size_t i = 0; i < b.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += kHex[b[i] >> 4];
    out += kHex[b[i] & 0x0f];
  }
  return out;
}

std::string_view Header(const http::request<http::string_body>& req, std::string_view name) {
  auto it = req.find(beast::string_view(name.data(), name.size()));
  if (it == req.end()) return {};
  return {it->value().data(), it->value().size()};
}

}  // namespace

Session::Session(net::ip::tcp::socket&& socket, SessionEnv& env)
    : stream_(std::move(socket)), env_(env) {}

Session::~Session() {
  std::lock_guard lock(env_.sessions_mu);
  env_.sessions.erase(this);
}

void Session::Run() {
  // Register here, not in the constructor: make_shared sets the weak pointer behind
  // weak_from_this() only after the constructor returns, and Server::Stop() reads it from
  // another thread as soon as the session is in env_.sessions.
  {
    std::lock_guard lock(env_.sessions_mu);
    env_.sessions.insert(this);
  }
  // Start on the stream's executor (its io_context), as Beast's examples do.
  net::dispatch(stream_.get_executor(),
                beast::bind_front_handler(&Session::DoRead, shared_from_this()));
}

void Session::CloseIfIdle() {
  if (idle_ && buffer_.size() == 0) {
    beast::error_code ec;
    stream_.socket().shutdown(net::ip::tcp::socket::shutdown_both, ec);
    stream_.socket().close(ec);
  }
}

void Session::PostCloseIfIdle() {
  net::post(stream_.get_executor(), [self = shared_from_this()] { self->CloseIfIdle(); });
}

void Session::DoRead() {
  if (env_.stopping) return DoClose();
  parser_.emplace();
  parser_->body_limit(env_.config.body_limit_bytes);
  parser_->header_limit(kHeaderLimit);
  idle_ = true;
  stream_.expires_after(env_.config.read_timeout);
  http::async_read(stream_, buffer_, *parser_,
                   beast::bind_front_handler(&Session::OnRead, shared_from_this()));
}

void Session::OnRead(beast::error_code ec, std::size_t /*bytes*/) {
  idle_ = false;
  // This means they closed the connection (or we did, for shutdown).
  if (ec == http::error::end_of_stream || ec == net::error::operation_aborted ||
      ec == net::error::bad_descriptor) {
    return DoClose();
  }
  if (ec == beast::error::timeout) return;  // the stream is already closed
  if (ec == http::error::body_limit) {
    return DoWrite(RejectTransport({ErrorCode::kRequestEntityTooLarge,
                                    "Request body exceeds the limit of " +
                                        std::to_string(env_.config.body_limit_bytes) + " bytes"}),
                   true);
  }
  if (ec == http::error::header_limit) {
    return DoWrite(
        RejectTransport(KmsError::Serialization("Request headers exceed the limit of " +
                                                std::to_string(kHeaderLimit) + " bytes")),
        true);
  }
  if (ec == http::error::partial_message) return DoClose();  // client left mid-request
  if (ec.category() == http::make_error_code(http::error::bad_target).category()) {
    return DoWrite(
        RejectTransport(KmsError::Serialization("Malformed HTTP request: " + ec.message())), true);
  }
  if (ec) {
    Log(LogLevel::kDebug, "connection read error: " + ec.message());
    return DoClose();
  }
  Request request = parser_->release();
  const bool close_after = !request.keep_alive() || env_.stopping;
  Answer(request, close_after);
}

void Session::Answer(const Request& request, bool close_after) {
  Exchange exchange{NewRequestId(), std::chrono::steady_clock::now(), request.version(),
                    request.keep_alive(), close_after, {}};
  exchange.reply = Handle(request, exchange.request_id);
  if (env_.registry.IsDurable(exchange.reply.ticket)) {
    return DoWrite(Respond(std::move(exchange)), close_after);  // the common case
  }
  // The reply depends on changes not yet committed: answer once the committer has made them
  // durable (group commit, storage/registry.hpp). The callback runs on the committer thread,
  // so it only posts back to this session's executor; tracking work keeps the io_context
  // running meanwhile, even during a graceful stop.
  auto executor = net::prefer(stream_.get_executor(), net::execution::outstanding_work.tracked);
  auto waiting = std::make_shared<Exchange>(std::move(exchange));
  env_.registry.WhenDurable(
      waiting->reply.ticket,
      [self = shared_from_this(), executor, waiting](
          const std::optional<storage::Error>& failure) mutable {
        // Move, don't copy: the session and the tracked work must not outlive this call on
        // the committer thread (the registry may drop the callback only later).
        net::post(std::move(executor), [self = std::move(self), waiting = std::move(waiting),
                                        failure] {
          if (failure) {
            Log(LogLevel::kError, "request " + waiting->request_id +
                                      " failed: a change could not be stored: " + failure->message);
            waiting->reply = Dispatcher::CommitFailedReply(waiting->reply, *failure);
          }
          const bool close = waiting->close_after;
          self->DoWrite(self->Respond(std::move(*waiting)), close);
        });
      });
}

Reply Session::Handle(const Request& request, std::string_view request_id) {
  const std::string_view target(request.target().data(), request.target().size());
  if (target == "/_kmsd/health" && request.method() == http::verb::get) {
    const auto uptime = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::steady_clock::now() - env_.started)
                            .count();
    JsonOut out;
    out.String("status", "ok");
    out.String("version", KMSD_VERSION);
    out.Int("uptimeSeconds", uptime);
    out.Int("keys", static_cast<std::int64_t>(env_.registry.KeyCount()));
    return Reply{200, out.Finish(), {}, "health", {}};
  }
  if (target == "/_kmsd/reset" && request.method() == http::verb::post) {
    const storage::Registry::Seq begin = env_.registry.LastChange();
    env_.registry.BeginWrite().Reset();  // never fails in memory; the commit may
    JsonOut out;
    out.String("status", "reset");
    return Reply{200, out.Finish(), {}, "reset", {begin, env_.registry.LastChange()}};
  }
  if (request.method() == http::verb::post) {
    return env_.dispatcher.Handle(Header(request, "X-Amz-Target"),
                                  Header(request, "Authorization"), request.body(), request_id);
  }
  return Dispatcher::ErrorReply({ErrorCode::kUnknownOperation, {}});
}

Session::Response Session::Respond(Exchange&& exchange) {
  Reply& reply = exchange.reply;
  Response res{static_cast<http::status>(reply.status), exchange.version};
  res.set(http::field::content_type, kJsonType);
  res.set("x-amzn-RequestId", exchange.request_id);
  if (!reply.error_type.empty()) res.set("X-Amzn-Errortype", reply.error_type);
  res.keep_alive(exchange.keep_alive);
  res.body() = std::move(reply.body);
  res.prepare_payload();

  if (LogEnabled(LogLevel::kDebug)) {
    const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                            std::chrono::steady_clock::now() - exchange.begin)
                            .count();
    Log(LogLevel::kDebug,
        "access op=" + std::string(reply.operation.empty() ? "-" : reply.operation) +
            " status=" + std::to_string(reply.status) +
            " type=" + std::string(reply.error_type.empty() ? "-" : reply.error_type) +
            " us=" + std::to_string(micros) + " request_id=" + exchange.request_id);
  }
  return res;
}

Session::Response Session::RejectTransport(const KmsError& error) {
  Reply reply = Dispatcher::ErrorReply(error);
  Response res{static_cast<http::status>(reply.status), 11};
  res.set(http::field::content_type, kJsonType);
  res.set("x-amzn-RequestId", NewRequestId());
  res.set("X-Amzn-Errortype", reply.error_type);
  res.keep_alive(false);
  res.body() = std::move(reply.body);
  res.prepare_payload();
  Log(LogLevel::kDebug, "rejected request: " + error.message);
  return res;
}

void Session::DoWrite(Response&& response, bool close_after) {
  response_ = std::make_shared<Response>(std::move(response));
  stream_.expires_after(env_.config.read_timeout);
  http::async_write(stream_, *response_,
                    beast::bind_front_handler(&Session::OnWrite, shared_from_this(), close_after));
}

void Session::OnWrite(bool close_after, beast::error_code ec, std::size_t /*bytes*/) {
  response_.reset();
  if (ec == net::error::operation_aborted) return DoClose();
  if (ec) {
    Log(LogLevel::kDebug, "connection write error: " + ec.message());
    return DoClose();
  }
  if (close_after) return parser_ && !parser_->is_done() ? DoLinger() : DoClose();
  if (env_.stopping) return DoClose();
  DoRead();
}

void Session::DoLinger() {
  // After rejecting a request we did not read in full, stop sending and drain what the
  // client still sends, so closing does not reset the connection before it reads our answer.
  beast::error_code ec;
  stream_.socket().shutdown(net::ip::tcp::socket::shutdown_send, ec);
  stream_.expires_after(std::chrono::seconds(2));
  linger_buffer_.resize(16 * 1024);
  stream_.async_read_some(net::buffer(linger_buffer_),
                          beast::bind_front_handler(&Session::OnLinger, shared_from_this()));
}

void Session::OnLinger(beast::error_code ec, std::size_t /*bytes*/) {
  if (ec) return DoClose();  // EOF, timeout or error: done draining
  stream_.async_read_some(net::buffer(linger_buffer_),
                          beast::bind_front_handler(&Session::OnLinger, shared_from_this()));
}

void Session::DoClose() {
  beast::error_code ec;
  stream_.socket().shutdown(net::ip::tcp::socket::shutdown_send, ec);
  stream_.socket().close(ec);
}

}  // namespace kms::server
