// File: web_guard.hpp
//
// WebGuard: what keeps a web page open in the developer's browser from driving kmsd.
//
//   - DNS rebinding. A page on evil.example can point its own name at 127.0.0.1 and then send
//     requests to kmsd that its browser considers same-origin; they carry `Host: evil.example`.
//     So a request whose Host names anything but localhost, 127.0.0.1, [::1], the configured
//     --host or a name of --allowed-hosts is refused, for the KMS API and the admin endpoints
//     alike. Checked on a loopback bind (kmsd's default), and on any bind once --allowed-hosts
//     names something (containers and compose networks reach kmsd by a service name).
//   - Cross-site requests. A page may POST to any address without asking ("simple" requests:
//     form content types, no custom headers), and the browser sends it, only hiding the
//     answer. A KMS request needs an X-Amz-Target header, which a page cannot send without a
//     CORS preflight that kmsd never grants; a state-changing admin endpoint such as
//     /_kmsd/reset needs `Content-Type: application/json` for the same reason, and is refused
//     when an Origin header names another origin than kmsd's own.
//
// A request with no Host header (HTTP/1.0 clients) passes: every browser sends one.
//
// Thread-safety: immutable after construction; any thread may call the checks.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "server/protocol/error.hpp"
#include "server/transport/request_parser.hpp"

namespace kms::server {

class WebGuard {
 public:
  explicit WebGuard(const config::Config& config);

  // AccessDeniedException if the request's Host is not one kmsd answers to.
  std::optional<KmsError> CheckHost(const transport::HttpRequest& request) const;
  // AccessDeniedException unless the request may change state through an admin endpoint:
  // a JSON content type, and no Origin, or kmsd's own (http:// and the request's Host).
  std::optional<KmsError> CheckAdminWrite(const transport::HttpRequest& request) const;

  // Whether CheckHost checks anything (loopback bind, or --allowed-hosts given).
  bool ChecksHost() const { return checks_host_; }

 private:
  bool checks_host_ = false;
  std::vector<std::string> allowed_;  // the names a Host may carry (no port), any case
};

// The host part of a Host header value, without its port: "[::1]:4599" -> "[::1]",
// "LocalHost:80" -> "LocalHost". Empty if malformed.
std::string_view HostWithoutPort(std::string_view host);

}  // namespace kms::server
