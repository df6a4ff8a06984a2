#include "server/transport/listener.hpp"

#include "base/log.hpp"

#include <stdexcept>

#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/bind_handler.hpp>

namespace kms::transport {

namespace beast = boost::beast;
namespace net = boost::asio;
using tcp = net::ip::tcp;

void throw_exception_from_error(const StartError& error,
                                const boost::source_location& /*location*/) {
  throw std::runtime_error(error.message);
}

StartResult<std::shared_ptr<Listener>> Listener::Open(std::vector<net::io_context*> contexts,
                                                      const tcp::endpoint& endpoint,
                                                      SessionEnv& env) {
  auto listener = std::make_shared<Listener>(std::move(contexts), env);
  const std::string where = endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
  beast::error_code ec;
  auto& acceptor = listener->acceptor_;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec == net::error::address_in_use) return StartError{"address in use: " + where};
  if (ec) return StartError{"cannot listen on " + where + ": " + ec.message()};
  listener->port_ = acceptor.local_endpoint(ec).port();
  return listener;
}

Listener::Listener(std::vector<net::io_context*> contexts, SessionEnv& env)
    : contexts_(std::move(contexts)),
      acceptor_(*contexts_.front()),
      backoff_(*contexts_.front()),
      env_(env) {}

void Listener::Run() { DoAccept(); }

void Listener::Close() {
  net::post(acceptor_.get_executor(), [self = shared_from_this()] {
    beast::error_code ec;
    self->acceptor_.close(ec);
    self->backoff_.cancel();
  });
}

void Listener::DoAccept() {
  net::io_context& target = *contexts_[next_];
  next_ = (next_ + 1) % contexts_.size();
  // Accepting with a context (not an executor) yields a socket typed on that context's own
  // executor: Session::Socket.
  acceptor_.async_accept(target,
                         beast::bind_front_handler(&Listener::OnAccept, shared_from_this()));
}

void Listener::OnAccept(beast::error_code ec, Session::Socket socket) {
  if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;  // closed: shutdown
  if (ec) {
    // Out of descriptors and similar: keep serving the connections we have, and try again
    // a little later (retrying at once would fail again at once: a busy loop).
    Log(LogLevel::kWarn, "accept failed: " + ec.message() + "; retrying in " +
                             std::to_string(kAcceptBackoff.count()) + " ms");
    backoff_.expires_after(kAcceptBackoff);
    backoff_.async_wait([self = shared_from_this()](beast::error_code wait_ec) {
      if (!wait_ec && self->acceptor_.is_open()) self->DoAccept();
    });
    return;
  }
  beast::error_code opt_ec;
  socket.set_option(tcp::no_delay(true), opt_ec);
  std::make_shared<Session>(std::move(socket), env_)->Run();
  DoAccept();
}

}  // namespace kms::transport
