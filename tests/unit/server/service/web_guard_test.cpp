// WebGuard: the Host check against DNS rebinding and the admin endpoints' checks against
// cross-site requests (issue #17).
#include "server/service/web_guard.hpp"

#include <memory_resource>
#include <string>

#include <catch2/catch.hpp>

namespace kms::server {
namespace {

struct Request {
  std::pmr::monotonic_buffer_resource arena;
  transport::HttpRequest r{&arena};
  explicit Request(std::string host) {
    r.has_host = true;
    r.host = host;
  }
};

config::Config Bound(std::string host, std::vector<std::string> allowed = {}) {
  config::Config c;
  c.host = std::move(host);
  c.allowed_hosts = std::move(allowed);
  return c;
}

TEST_CASE("HostWithoutPort strips a port and keeps IPv6 brackets", "[server][web_guard]") {
  CHECK(HostWithoutPort("localhost:4599") == "localhost");
  CHECK(HostWithoutPort("localhost") == "localhost");
  CHECK(HostWithoutPort("[::1]:4599") == "[::1]");
  CHECK(HostWithoutPort("[::1]") == "[::1]");
  CHECK(HostWithoutPort("127.0.0.1:80") == "127.0.0.1");
  CHECK(HostWithoutPort("a:b:c").empty());
  CHECK(HostWithoutPort("[::1").empty());
  CHECK(HostWithoutPort("[::1]x").empty());
  CHECK(HostWithoutPort("host:80x").empty());
}

TEST_CASE("On a loopback bind, only loopback names and the configured host are answered",
          "[server][web_guard][regression][issue17]") {
  const WebGuard guard(Bound("127.0.0.1"));
  REQUIRE(guard.ChecksHost());
  for (const std::string ok :
       {"localhost:4599", "LOCALHOST", "127.0.0.1:4599", "127.0.0.1", "[::1]:4599"}) {
    CAPTURE(ok);
    Request req(ok);
    CHECK_FALSE(guard.CheckHost(req.r));
  }
  for (const std::string bad :
       {"evil.example:4599", "evil.example", "127.0.0.2:4599", "localhost.evil.example",
        "[::2]:4599", "", "localhost:x", "0.0.0.0:4599"}) {
    CAPTURE(bad);
    Request req(bad);
    auto refused = guard.CheckHost(req.r);
    REQUIRE(refused);
    CHECK(refused->code == ErrorCode::kAccessDenied);
    CHECK(refused->message.find("--allowed-hosts") != std::string::npos);
  }
}

TEST_CASE("A request without Host (HTTP/1.0) is not refused", "[server][web_guard]") {
  const WebGuard guard(Bound("127.0.0.1"));
  std::pmr::monotonic_buffer_resource arena;
  transport::HttpRequest r(&arena);
  CHECK_FALSE(guard.CheckHost(r));
}

TEST_CASE("The allowed hosts add names, and turn the check on for any bind",
          "[server][web_guard][regression][issue17]") {
  const WebGuard open(Bound("0.0.0.0"));
  CHECK_FALSE(open.ChecksHost());
  Request compose("kms:4599");
  CHECK_FALSE(open.CheckHost(compose.r));

  const WebGuard named(Bound("0.0.0.0", {"kms", "kms.internal"}));
  CHECK(named.ChecksHost());
  Request kms("KMS:4599"), internal("kms.internal"), other("evil.example:4599"),
      local("localhost:4599");
  CHECK_FALSE(named.CheckHost(kms.r));
  CHECK_FALSE(named.CheckHost(internal.r));
  CHECK_FALSE(named.CheckHost(local.r));
  CHECK(named.CheckHost(other.r));
}

TEST_CASE("The configured host is answered by its own name", "[server][web_guard]") {
  const WebGuard v6(Bound("::1"));
  CHECK(v6.ChecksHost());
  Request req("[::1]:4599");
  CHECK_FALSE(v6.CheckHost(req.r));
  const WebGuard named(Bound("localhost"));
  CHECK(named.ChecksHost());
  const WebGuard lan(Bound("192.0.2.7"));
  CHECK_FALSE(lan.ChecksHost());
  const WebGuard lan_checked(Bound("192.0.2.7", {"kms"}));
  Request by_address("192.0.2.7:4599");
  CHECK_FALSE(lan_checked.CheckHost(by_address.r));
}

TEST_CASE("A state-changing admin request needs a JSON content type and no foreign origin",
          "[server][web_guard][regression][issue17]") {
  const WebGuard guard(Bound("127.0.0.1"));
  Request req("127.0.0.1:4599");
  SECTION("what a web page can send without a preflight is refused") {
    for (const std::string type :
         {"", "text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded",
          "multipart/form-data", "application/x-amz-json-1.1", "application/jsonx"}) {
      CAPTURE(type);
      req.r.content_type = type;
      auto refused = guard.CheckAdminWrite(req.r);
      REQUIRE(refused);
      CHECK(refused->code == ErrorCode::kAccessDenied);
    }
  }
  SECTION("JSON with no Origin, or kmsd's own, is accepted") {
    for (const std::string type : {"application/json", "Application/JSON; charset=utf-8"}) {
      req.r.content_type = type;
      CHECK_FALSE(guard.CheckAdminWrite(req.r));
    }
    req.r.has_origin = true;
    req.r.origin = "http://127.0.0.1:4599";
    CHECK_FALSE(guard.CheckAdminWrite(req.r));
  }
  SECTION("another origin is refused even with JSON") {
    req.r.content_type = "application/json";
    req.r.has_origin = true;
    for (const std::string origin : {"http://evil.example", "null", "https://127.0.0.1:4599",
                                     "http://127.0.0.1:4600", "http://127.0.0.1:4599/", ""}) {
      CAPTURE(origin);
      req.r.origin = origin;
      auto refused = guard.CheckAdminWrite(req.r);
      REQUIRE(refused);
      CHECK(refused->code == ErrorCode::kAccessDenied);
    }
  }
}

}  // namespace
}  // namespace kms::server
