#include "server/transport/http_response.hpp"

#include <charconv>
#include <ostream>  // boost/beast/http/status.hpp needs it and does not include it

#include <boost/beast/http/status.hpp>

namespace kms::transport {

void AppendResponseHead(const ResponseHead& head, std::string& out) {
  namespace http = boost::beast::http;
  out.append("HTTP/");
  out.push_back(static_cast<char>('0' + head.version / 10 % 10));
  out.push_back('.');
  out.push_back(static_cast<char>('0' + head.version % 10));
  out.push_back(' ');
  char digits[24];
  out.append(digits, std::to_chars(digits, digits + sizeof digits, head.status).ptr);
  out.push_back(' ');
  const auto reason = http::obsolete_reason(static_cast<http::status>(head.status));
  out.append(reason.data(), reason.size());
  out.append("\r\nContent-Type: application/x-amz-json-1.1\r\nx-amzn-RequestId: ");
  out.append(head.request_id);
  if (!head.error_type.empty()) {
    out.append("\r\nX-Amzn-Errortype: ");
    out.append(head.error_type);
  }
  // Beast's keep_alive(): HTTP/1.1 is persistent unless it says "close"; HTTP/1.0 is not
  // unless it says "keep-alive".
  if (head.version >= 11 && !head.keep_alive) out.append("\r\nConnection: close");
  if (head.version < 11 && head.keep_alive) out.append("\r\nConnection: keep-alive");
  out.append("\r\nContent-Length: ");
  out.append(digits, std::to_chars(digits, digits + sizeof digits, head.content_length).ptr);
  out.append("\r\n\r\n");
}

}  // namespace kms::transport
