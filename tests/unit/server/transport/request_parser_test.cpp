// RequestParser: what a request keeps, RFC 9112 framing, and the byte budgets that bound what
// a client can make kmsd hold (issue #17).
#include "server/transport/request_parser.hpp"

#include <memory_resource>
#include <optional>
#include <string>
#include <string_view>

#include <boost/beast/http/error.hpp>
#include <catch2/catch.hpp>

namespace kms::transport {
namespace {

namespace http = boost::beast::http;

constexpr std::size_t kHeaderBytes = 16 * 1024;
constexpr std::uint64_t kBodyBytes = 64 * 1024;

// Feeds a byte stream as a session does: the bytes that arrived so far, parsed as far as they
// go, the unconsumed rest kept for the next round, in pieces of `step` bytes.
struct Run {
  std::pmr::monotonic_buffer_resource arena;
  std::optional<RequestParser> parser;
  boost::beast::error_code ec;
  std::string pending;   // read, not yet consumed
  std::size_t peak = 0;  // the most `pending` held
  std::size_t leftover = 0;

  explicit Run(std::string_view stream, std::size_t step = 1 << 20,
               std::size_t header_bytes = kHeaderBytes) {
    parser.emplace(&arena, RequestParser::Limits{header_bytes, kBodyBytes});
    for (std::size_t at = 0; at < stream.size();) {
      const std::size_t n = std::min(step, stream.size() - at);
      pending.append(stream.substr(at, n));
      at += n;
      peak = std::max(peak, pending.size());
      const std::size_t used = parser->Feed(boost::asio::buffer(pending), ec);
      pending.erase(0, used);
      if (ec == http::error::need_more) {
        ec = {};
        continue;
      }
      if (ec || parser->is_done()) break;
    }
    leftover = pending.size();
  }
  bool Done() const { return !ec && parser->is_done(); }
  const HttpRequest& request() const { return parser->request(); }
};

std::string Head(std::string_view extra) {
  return "POST / HTTP/1.1\r\nHost: 127.0.0.1:4599\r\nX-Amz-Target: "
         "TrentService.GenerateRandom\r\n" +
         std::string(extra) + "\r\n";
}

TEST_CASE("A request keeps its method, target, routing headers and body",
          "[server][request_parser]") {
  const std::string body = R"({"NumberOfBytes":8})";
  Run run(
      "POST /x HTTP/1.1\r\nHost: localhost:4599\r\nx-amz-target: TrentService.Decrypt\r\n"
      "X-Amz-Target: TrentService.Encrypt\r\nAuthorization: AWS4 Credential=a/b/eu-west-2/kms\r\n"
      "Content-Type: application/x-amz-json-1.1\r\nOrigin: http://localhost:4599\r\n"
      "Expect: 100-Continue\r\nX-Other: ignored\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body);
  REQUIRE(run.Done());
  const HttpRequest& r = run.request();
  CHECK(r.method == http::verb::post);
  CHECK(r.target == "/x");
  CHECK(r.version == 11);
  CHECK(r.keep_alive);
  CHECK(r.host == "localhost:4599");
  CHECK(r.amz_target == "TrentService.Decrypt");  // the first one wins
  CHECK(r.authorization == "AWS4 Credential=a/b/eu-west-2/kms");
  CHECK(r.content_type == "application/x-amz-json-1.1");
  CHECK(r.has_origin);
  CHECK(r.origin == "http://localhost:4599");
  CHECK(r.expect_continue);
  CHECK(std::string_view(r.body) == body);
}

TEST_CASE("A chunked body is decoded, whatever pieces the bytes arrive in",
          "[server][request_parser]") {
  const std::string stream = Head("Transfer-Encoding: chunked\r\n") + "7;ext=1\r\n{\"Numbe\r\n" +
                             "c\r\nrOfBytes\":8}\r\n" + "0\r\nX-Trailer: t\r\n\r\n";
  const std::size_t step =
      GENERATE(std::size_t{1}, std::size_t{3}, std::size_t{64}, std::size_t{4096});
  Run run(stream, step);
  REQUIRE(run.Done());
  CHECK(run.request().body == R"({"NumberOfBytes":8})");
  CHECK(run.leftover == 0);
}

TEST_CASE("Transfer-Encoding other than exactly chunked is refused, never framed otherwise",
          "[server][request_parser][regression][issue17]") {
  const std::string te =
      GENERATE(std::string("Transfer-Encoding: gzip\r\n"),
               std::string("Transfer-Encoding: chunked, gzip\r\n"),
               std::string("Transfer-Encoding: gzip, chunked\r\n"),
               std::string("Transfer-Encoding: identity\r\n"),
               std::string("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n"),
               std::string("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"),
               std::string("Transfer-Encoding: gzip\r\nContent-Length: 5\r\n"));
  CAPTURE(te);
  Run run(Head(te) + "5\r\nhello\r\n0\r\n\r\n");
  CHECK(run.ec == http::error::bad_transfer_encoding);
}

TEST_CASE("Transfer-Encoding in an HTTP/1.0 request is refused",
          "[server][request_parser][regression][issue17]") {
  Run run("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
  CHECK(run.ec == http::error::bad_transfer_encoding);
  CHECK(run.parser->Refusal() == "Transfer-Encoding in an HTTP/1.0 request");
}

TEST_CASE("Transfer-Encoding and Content-Length together are refused", "[server][request_parser]") {
  Run run(Head("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n") + "5\r\nhello\r\n0\r\n\r\n");
  CHECK(run.ec);
  CHECK(run.ec != http::error::need_more);
}

TEST_CASE("A second Host header field is refused",
          "[server][request_parser][regression][issue17]") {
  Run run(Head("Host: evil.example\r\nContent-Length: 0\r\n"));
  CHECK(run.ec == http::error::bad_field);
  CHECK(run.parser->Refusal() == "more than one Host header field");
}

TEST_CASE("Multi-MiB chunk extensions stop at the header limit, holding no more than it",
          "[server][request_parser][regression][issue17]") {
  std::string stream = Head("Transfer-Encoding: chunked\r\n") + "5;";
  stream.append(4 << 20, 'a');  // a chunk-size line that never ends
  Run run(stream, 4096);
  CHECK(run.ec == http::error::header_limit);
  // The caller never had to hold more than the limit plus one read.
  CHECK(run.peak <= kHeaderBytes + 4096);
}

TEST_CASE("Multi-MiB trailers stop at the header limit, holding no more than it",
          "[server][request_parser][regression][issue17]") {
  std::string stream = Head("Transfer-Encoding: chunked\r\n") + "5\r\nhello\r\n0\r\n";
  for (int i = 0; i < 64; ++i) stream += "X-T: " + std::string(65000, 'a') + "\r\n";
  Run run(stream, 4096);
  CHECK(run.ec == http::error::header_limit);
  CHECK(run.peak <= kHeaderBytes + 4096);
}

TEST_CASE("Chunk-size lines count against the header limit, together with the head",
          "[server][request_parser][regression][issue17]") {
  // Each line is short and each chunk small, but their framing adds up: 16 KiB of chunk
  // extensions in 1-byte chunks is refused although no line is long.
  std::string stream = Head("Transfer-Encoding: chunked\r\n");
  const std::string extension(40, 'e');
  for (int i = 0; i < 1000; ++i) stream += "1;" + extension + "\r\nx\r\n";
  stream += "0\r\n\r\n";
  Run run(stream, 512);
  CHECK(run.ec == http::error::header_limit);

  // The same body in few chunks fits.
  Run small(Head("Transfer-Encoding: chunked\r\n") + "3e8\r\n" + std::string(1000, 'x') +
            "\r\n0\r\n\r\n");
  CHECK(small.Done());
  CHECK(small.parser->FramingBytes() < 300);
}

TEST_CASE("The decoded body is bounded by the body limit, chunked or not",
          "[server][request_parser]") {
  const std::string big(kBodyBytes + 1, 'x');
  Run by_length(Head("Content-Length: " + std::to_string(big.size()) + "\r\n") + big);
  CHECK(by_length.ec == http::error::body_limit);
  std::string chunked = Head("Transfer-Encoding: chunked\r\n");
  for (int i = 0; i < 65; ++i) chunked += "400\r\n" + std::string(1024, 'x') + "\r\n";
  chunked += "0\r\n\r\n";
  Run by_chunks(chunked, 4096);
  CHECK(by_chunks.ec == http::error::body_limit);
}

TEST_CASE("A head over the header limit is refused", "[server][request_parser]") {
  Run run(Head("X-Padding: " + std::string(20000, 'p') + "\r\nContent-Length: 0\r\n"), 4096);
  CHECK(run.ec == http::error::header_limit);
}

TEST_CASE("Bytes after a complete request are the next request's, not counted",
          "[server][request_parser]") {
  const std::string one = Head("Content-Length: 2\r\n") + "{}";
  // A request within the limit followed by more than a limit's worth of pipelined bytes.
  Run run(one + std::string(kHeaderBytes * 2, 'n'), 1 << 20, one.size() + 10);
  CHECK(run.Done());
  CHECK(run.leftover == kHeaderBytes * 2);
}

TEST_CASE("HEAD and Connection: close are recorded for the response", "[server][request_parser]") {
  Run run("HEAD /_kmsd/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
  REQUIRE(run.Done());
  CHECK(run.request().method == http::verb::head);
  CHECK_FALSE(run.request().keep_alive);
  CHECK_FALSE(run.request().has_origin);
}

}  // namespace
}  // namespace kms::transport
