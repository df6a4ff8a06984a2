// File: fuzz_http.cpp
//
// libFuzzer harness for RequestParser (server/transport/request_parser.hpp) and WebGuard
// (server/service/web_guard.hpp): the bytes a hostile client sends, before any KMS code sees them.
//
// Input: byte 0 picks the read size (1-256 bytes) the stream arrives in; the rest is the byte
// stream of one connection. It is fed as the session feeds it: what has arrived so far, the
// unconsumed rest kept for the next round; each complete request is checked, and parsing
// goes on with a fresh parser for the next (pipelined) request until an error or the end.
//
// Invariants (abort on failure): nothing crashes or throws; the bytes the caller must hold
// never exceed the header limit plus one read; a complete request's framing bytes are within
// the header limit and its body within the body limit; WebGuard's checks never throw.
// Single-threaded.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory_resource>
#include <optional>
#include <string>
#include <string_view>

#include <boost/beast/http/error.hpp>

#include "config/config.hpp"
#include "server/service/web_guard.hpp"
#include "server/transport/request_parser.hpp"

namespace {

namespace http = boost::beast::http;
using kms::transport::RequestParser;

constexpr std::size_t kHeaderBytes = 2048;  // small, so the fuzzer reaches the limits
constexpr std::uint64_t kBodyBytes = 4096;

void Check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "fuzz_http: invariant failed: %s\n", what);
  std::abort();
}

const kms::server::WebGuard& Guard() {
  static const kms::server::WebGuard guard([] {
    kms::config::Config c;
    c.allowed_hosts = {"kms"};
    return c;
  }());
  return guard;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t step = static_cast<std::size_t>(data[0]) + 1;
  const std::string_view stream(reinterpret_cast<const char*>(data) + 1, size - 1);

  std::pmr::monotonic_buffer_resource arena;
  std::optional<RequestParser> parser;
  parser.emplace(&arena, RequestParser::Limits{kHeaderBytes, kBodyBytes});
  std::string pending;
  std::size_t at = 0;
  while (true) {
    // Parse what is buffered; read more only when the parser needs it.
    boost::beast::error_code ec;
    if (!pending.empty()) {
      const std::size_t used = parser->Feed(boost::asio::buffer(pending), ec);
      Check(used <= pending.size(), "consumed more than it was given");
      pending.erase(0, used);
      if (ec && ec != http::error::need_more) return 0;  // refused: the session answers, closes
      if (!ec && parser->is_done()) {
        const kms::transport::HttpRequest& request = parser->request();
        Check(parser->FramingBytes() <= kHeaderBytes, "framing over the header limit");
        Check(request.body.size() <= kBodyBytes, "body over the body limit");
        (void)Guard().CheckHost(request);
        (void)Guard().CheckAdminWrite(request);
        parser.reset();
        arena.release();
        parser.emplace(&arena, RequestParser::Limits{kHeaderBytes, kBodyBytes});
        continue;  // a pipelined request may be buffered already
      }
    }
    Check(pending.size() <= kHeaderBytes + step, "held more than the limit plus one read");
    if (at >= stream.size()) return 0;
    const std::size_t n = std::min(step, stream.size() - at);
    pending.append(stream.substr(at, n));
    at += n;
  }
}
