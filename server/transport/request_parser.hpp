// File: request_parser.hpp
//
// RequestParser: one HTTP/1.1 request, parsed from the bytes a session reads, keeping only
// what kmsd answers by (method, target, version, six header fields, the body) and counting
// every byte the request makes kmsd hold against a limit, whatever the framing:
//
//   - framing bytes (request line, header fields, chunk-size lines with their extensions,
//     chunk delimiters, trailer fields) against limits.header_bytes: over it is
//     http::error::header_limit (the session answers 431);
//   - the decoded body against limits.body_bytes: http::error::body_limit (413).
//
// Beast's own parser bounds the request head by its header limit but holds a chunk-size
// line and the trailer section until their end arrives, however long they are; Feed()
// counts those bytes, consumed or still waiting in the caller's buffer, so a client can make
// kmsd hold at most header_bytes of framing per connection.
//
// Framing as RFC 9112 section 6 says: a Transfer-Encoding must be exactly "chunked" (the only
// coding kmsd implements, and it must come last); anything else, or Transfer-Encoding in an
// HTTP/1.0 request, is http::error::bad_transfer_encoding (Beast refuses Transfer-Encoding
// beside Content-Length itself), and a repeated Host is http::error::bad_field: the
// session answers 400 and closes, so no request body is ever framed two ways (request
// smuggling behind a proxy).
//
// Usage (Session):
//   parser.emplace(&arena, RequestParser::Limits{16 * 1024, config.body_limit_bytes});
//   std::size_t used = parser->Feed(buffer.data(), ec);   // then buffer.consume(used)
//   if (ec == http::error::need_more) ... read more; else if (ec) ... reject;
//   else if (parser->is_done()) Answer(parser->request());
//
// Thread-safety: one instance per request, used by one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory_resource>
#include <string>
#include <string_view>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/verb.hpp>

namespace kms::transport {

// What kmsd keeps of a request. Strings come from the memory resource the parser was
// given (the session's per-request arena).
struct HttpRequest {
  explicit HttpRequest(std::pmr::memory_resource* memory)
      : target(memory),
        host(memory),
        origin(memory),
        content_type(memory),
        amz_target(memory),
        authorization(memory),
        body(memory) {}

  boost::beast::http::verb method = boost::beast::http::verb::unknown;
  unsigned version = 11;  // as Beast numbers it: 10 = HTTP/1.0, 11 = HTTP/1.1
  bool keep_alive = true;
  std::pmr::string target;
  bool has_host = false;
  std::pmr::string host;  // Host
  bool has_origin = false;
  std::pmr::string origin;         // Origin (sent by browsers)
  std::pmr::string content_type;   // Content-Type
  std::pmr::string amz_target;     // X-Amz-Target; the first one wins
  std::pmr::string authorization;  // Authorization; its SigV4 scope names the region
  bool expect_continue = false;    // Expect: 100-continue
  std::pmr::string body;           // decoded (chunked framing removed)
};

class RequestParser final : public boost::beast::http::basic_parser<true> {
 public:
  struct Limits {
    std::size_t header_bytes;  // framing: head, chunk-size lines, trailers
    std::uint64_t body_bytes;  // the decoded body
  };

  RequestParser(std::pmr::memory_resource* memory, Limits limits);

  // Parses what it can of `bytes` (eagerly: head and body in one call) and returns how many
  // it consumed. `ec`: need_more when the request is not complete and the unconsumed bytes
  // must stay for the next call (with more appended); header_limit when the framing bytes,
  // consumed or waiting in `bytes`, exceed limits.header_bytes; any other Beast parse error.
  // On success, is_done() tells whether the request is complete.
  std::size_t Feed(boost::asio::const_buffer bytes, boost::beast::error_code& ec);

  HttpRequest& request() { return request_; }
  const HttpRequest& request() const { return request_; }
  // Framing bytes consumed so far (request line, fields, chunk lines, trailers).
  std::size_t FramingBytes() const { return consumed_ - static_cast<std::size_t>(body_bytes_); }
  const Limits& limits() const { return limits_; }
  // Why the request was refused, when this parser refused it (framing rules above); empty
  // for Beast's own parse errors, whose error_code message then says it.
  std::string_view Refusal() const { return refusal_; }

 private:
  using StringView = boost::beast::string_view;

  void on_request_impl(boost::beast::http::verb method, StringView method_str, StringView target,
                       int version, boost::beast::error_code& ec) override;
  void on_response_impl(int code, StringView reason, int version,
                        boost::beast::error_code& ec) override;
  void on_field_impl(boost::beast::http::field name, StringView name_string, StringView value,
                     boost::beast::error_code& ec) override;
  void on_header_impl(boost::beast::error_code& ec) override;
  void on_body_init_impl(const boost::optional<std::uint64_t>& content_length,
                         boost::beast::error_code& ec) override;
  std::size_t on_body_impl(StringView body, boost::beast::error_code& ec) override;
  void on_chunk_header_impl(std::uint64_t size, StringView extensions,
                            boost::beast::error_code& ec) override;
  std::size_t on_chunk_body_impl(std::uint64_t remain, StringView body,
                                 boost::beast::error_code& ec) override;
  void on_finish_impl(boost::beast::error_code& ec) override;

  HttpRequest request_;
  Limits limits_;
  std::size_t consumed_ = 0;      // bytes Feed() consumed, framing and body
  std::uint64_t body_bytes_ = 0;  // of those, decoded body bytes
  // Transfer-Encoding, over every such field: seen at all, and whether the codings named so
  // far are exactly one "chunked".
  bool has_transfer_encoding_ = false;
  bool only_chunked_ = true;
  unsigned chunked_count_ = 0;
  bool has_target_ = false;
  bool has_authorization_ = false;
  std::string_view refusal_;  // a static text
};

}  // namespace kms::transport
