#include "server/transport/request_parser.hpp"

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/rfc7230.hpp>

namespace kms::transport {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;

RequestParser::RequestParser(std::pmr::memory_resource* memory, Limits limits)
    : request_(memory), limits_(limits) {
  eager(true);  // head and body in one Feed() when the bytes are there
  header_limit(static_cast<std::uint32_t>(limits.header_bytes));
  body_limit(limits.body_bytes);
}

std::size_t RequestParser::Feed(net::const_buffer bytes, beast::error_code& ec) {
  const std::size_t used = put(bytes, ec);
  consumed_ += used;
  if (ec && ec != http::error::need_more) return used;
  std::size_t framing = FramingBytes();
  // What put() left is the start of a line or section it needs whole (the head, a chunk-size
  // line, the trailers): it stays in the caller's buffer, so it counts too. Once the request
  // is complete, what follows is the next request's.
  if (ec == http::error::need_more) framing += bytes.size() - used;
  if (framing > limits_.header_bytes) {
    ec = http::error::header_limit;
    refusal_ = {};
  }
  return used;
}

void RequestParser::on_request_impl(http::verb method, StringView /*method_str*/, StringView target,
                                    int version, beast::error_code& /*ec*/) {
  request_.method = method;
  request_.target.assign(target.data(), target.size());
  request_.version = static_cast<unsigned>(version);
}

void RequestParser::on_response_impl(int /*code*/, StringView /*reason*/, int /*version*/,
                                     beast::error_code& ec) {
  ec = http::error::bad_method;  // never called for a request parser
}

void RequestParser::on_field_impl(http::field name, StringView name_string, StringView value,
                                  beast::error_code& ec) {
  // A trailer field: its bytes count as framing (Feed), nothing of it is kept.
  if (is_header_done()) return;
  switch (name) {
    case http::field::host:
      if (request_.has_host) {
        ec = http::error::bad_field;
        refusal_ = "more than one Host header field";
        return;
      }
      request_.has_host = true;
      request_.host.assign(value.data(), value.size());
      return;
    case http::field::origin:
      if (!request_.has_origin) request_.origin.assign(value.data(), value.size());
      request_.has_origin = true;
      return;
    case http::field::content_type:
      if (request_.content_type.empty()) request_.content_type.assign(value.data(), value.size());
      return;
    case http::field::authorization:
      if (!has_authorization_) request_.authorization.assign(value.data(), value.size());
      has_authorization_ = true;
      return;
    case http::field::expect:
      if (beast::iequals(value, "100-continue")) request_.expect_continue = true;
      return;
    case http::field::transfer_encoding:
      has_transfer_encoding_ = true;
      for (const auto coding : http::token_list(value)) {
        ++chunked_count_;
        if (!beast::iequals(coding, "chunked")) only_chunked_ = false;
      }
      return;
    case http::field::unknown:
      if (!has_target_ && beast::iequals(name_string, "X-Amz-Target")) {
        request_.amz_target.assign(value.data(), value.size());
        has_target_ = true;
      }
      return;
    default:
      return;
  }
}

void RequestParser::on_header_impl(beast::error_code& ec) {
  request_.keep_alive = keep_alive();
  if (!has_transfer_encoding_) return;
  // RFC 9112 6.1: chunked is the only framing a Transfer-Encoding may give a request here, and
  // it must be the final coding; a server that does not understand a coding answers 501 or
  // 400, and an HTTP/1.0 message with Transfer-Encoding is faulty framing. kmsd implements no
  // other coding, so anything but one "chunked" is refused rather than framed another way.
  if (request_.version < 11) {
    refusal_ = "Transfer-Encoding in an HTTP/1.0 request";
  } else if (!only_chunked_ || chunked_count_ != 1) {
    refusal_ = "Transfer-Encoding must be exactly \"chunked\" (kmsd implements no other coding)";
  } else {
    return;  // (Beast itself refuses "chunked" beside a Content-Length, in either order)
  }
  ec = http::error::bad_transfer_encoding;
}

void RequestParser::on_body_init_impl(const boost::optional<std::uint64_t>& content_length,
                                      beast::error_code& /*ec*/) {
  // Beast has checked a Content-Length against the body limit before this call.
  if (content_length) request_.body.reserve(static_cast<std::size_t>(*content_length));
}

std::size_t RequestParser::on_body_impl(StringView body, beast::error_code& /*ec*/) {
  request_.body.append(body.data(), body.size());
  body_bytes_ += body.size();
  return body.size();
}

void RequestParser::on_chunk_header_impl(std::uint64_t /*size*/, StringView /*extensions*/,
                                         beast::error_code& /*ec*/) {
  // Beast has counted the chunk's size against the body limit; the line itself (and its
  // extensions) is framing, counted by Feed().
}

std::size_t RequestParser::on_chunk_body_impl(std::uint64_t /*remain*/, StringView body,
                                              beast::error_code& ec) {
  return on_body_impl(body, ec);
}

void RequestParser::on_finish_impl(beast::error_code& /*ec*/) {}

}  // namespace kms::transport
