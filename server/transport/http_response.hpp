// File: http_response.hpp
//
// The head (status line and headers) of every kmsd HTTP response, written straight into a
// string the session reuses from one request to the next. It replaces Beast's
// http::response + serializer on the hot path, which cost a message object, a header-field
// node per header and a generic buffer-sequence serializer on every request.
//
// The bytes are exactly those Beast wrote for the response the session used to build
// (http_response_test.cpp checks this against Beast's own serializer):
//
//   HTTP/1.1 200 OK\r\n
//   Content-Type: application/x-amz-json-1.1\r\n
//   x-amzn-RequestId: 0ed9488d-3719-47e8-a901-f39f2b852ee6\r\n
//   X-Amzn-Errortype: NotFoundException\r\n        <- only on errors
//   Connection: close\r\n                          <- HTTP/1.1 that does not keep alive, or
//                                                     "keep-alive" for HTTP/1.0 that does
//   Content-Length: 61\r\n
//   \r\n
//
// Thread-safety: a pure function.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace kms::transport {

struct ResponseHead {
  unsigned status = 200;        // a status Beast knows (200, 400, 413, 500, ...)
  unsigned version = 11;        // as Beast numbers it: 10 = HTTP/1.0, 11 = HTTP/1.1
  bool keep_alive = true;       // whether the connection stays open after this response
  std::string_view request_id;  // x-amzn-RequestId
  std::string_view error_type;  // X-Amzn-Errortype; empty: the header is left out
  std::size_t content_length = 0;
};

// Appends the head, up to and including the blank line, to `out`.
void AppendResponseHead(const ResponseHead& head, std::string& out);

}  // namespace kms::transport
