#include "server/service/web_guard.hpp"

#include <algorithm>

#include <boost/asio/ip/address.hpp>
#include <boost/beast/core/string.hpp>

namespace kms::server {

namespace beast = boost::beast;

namespace {

// The configured --host as a Host header names it: IPv6 literals in brackets. Empty for a
// wildcard address, which no client addresses kmsd by.
std::string HostName(const std::string& configured) {
  boost::system::error_code ec;
  const auto address = boost::asio::ip::make_address(configured, ec);
  if (ec) return configured;  // a name (compared case-insensitively)
  if (address.is_unspecified()) return {};
  return address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
}

bool IsLoopbackBind(const std::string& configured) {
  if (beast::iequals(configured, "localhost")) return true;
  boost::system::error_code ec;
  const auto address = boost::asio::ip::make_address(configured, ec);
  return !ec && address.is_loopback();
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

KmsError Denied(std::string message) { return {ErrorCode::kAccessDenied, std::move(message)}; }

}  // namespace

std::string_view HostWithoutPort(std::string_view host) {
  std::string_view name = host;
  std::string_view port;
  if (host.starts_with('[')) {
    const std::size_t close = host.find(']');
    if (close == std::string_view::npos) return {};
    name = host.substr(0, close + 1);
    port = host.substr(close + 1);
    if (!port.empty() && !port.starts_with(':')) return {};
  } else if (const std::size_t colon = host.find(':'); colon != std::string_view::npos) {
    name = host.substr(0, colon);
    port = host.substr(colon);
  }
  if (!port.empty()) {
    port.remove_prefix(1);  // ':'
    if (!std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return {};
    }
  }
  return name;
}

WebGuard::WebGuard(const config::Config& config)
    : checks_host_(IsLoopbackBind(config.host) || !config.allowed_hosts.empty()),
      allowed_{"localhost", "127.0.0.1", "[::1]"} {
  auto add = [this](std::string name) {
    const auto same = [&name](const std::string& known) { return beast::iequals(known, name); };
    if (!name.empty() && std::none_of(allowed_.begin(), allowed_.end(), same)) {
      allowed_.push_back(std::move(name));
    }
  };
  add(HostName(config.host));
  for (const std::string& name : config.allowed_hosts) add(name);  // lower-cased by config
}

std::optional<KmsError> WebGuard::CheckHost(const transport::HttpRequest& request) const {
  if (!checks_host_ || !request.has_host) return std::nullopt;
  const std::string_view name = HostWithoutPort(request.host);
  const bool allowed =
      !name.empty() && std::any_of(allowed_.begin(), allowed_.end(), [name](const std::string& a) {
        return beast::iequals(a, name);
      });
  if (allowed) return std::nullopt;
  // AWS has no such check; the text is kmsd's own.
  return Denied("kmsd does not answer requests addressed to host '" + std::string(request.host) +
                "' (a web page may have rebound its name to this address). Allowed: localhost, "
                "127.0.0.1, [::1], the --host address and the names of --allowed-hosts "
                "(KMS_ALLOWED_HOSTS).");
}

std::optional<KmsError> WebGuard::CheckAdminWrite(const transport::HttpRequest& request) const {
  const std::string_view type = request.content_type;
  const std::string_view media = Trim(type.substr(0, type.find(';')));
  if (!beast::iequals(media, "application/json")) {
    return Denied(
        "kmsd's admin endpoints that change state require Content-Type: application/json, "
        "which a web page cannot send to another site without its consent.");
  }
  if (request.has_origin) {
    const std::string_view origin = request.origin;
    constexpr std::string_view kScheme = "http://";
    const bool own = request.has_host && origin.size() == kScheme.size() + request.host.size() &&
                     beast::iequals(origin.substr(0, kScheme.size()), kScheme) &&
                     beast::iequals(origin.substr(kScheme.size()), request.host);
    if (!own) {
      return Denied("kmsd's admin endpoints refuse requests from the web origin '" +
                    std::string(origin) + "'.");
    }
  }
  return std::nullopt;
}

}  // namespace kms::server
