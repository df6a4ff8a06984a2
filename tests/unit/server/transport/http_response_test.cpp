#include "server/transport/http_response.hpp"

#include <sstream>
#include <string>

#include <boost/beast/http.hpp>
#include <catch2/catch.hpp>

namespace kms::transport {
namespace {

namespace http = boost::beast::http;

// The bytes Beast writes for the response the session used to build with http::response,
// before AppendResponseHead replaced it: the reference the new code must match exactly.
std::string BeastResponse(const ResponseHead& head, const std::string& body) {
  http::response<http::string_body> res{static_cast<http::status>(head.status), head.version};
  res.set(http::field::content_type, "application/x-amz-json-1.1");
  res.set("x-amzn-RequestId", head.request_id);
  if (!head.error_type.empty()) res.set("X-Amzn-Errortype", head.error_type);
  res.keep_alive(head.keep_alive);
  res.body() = body;
  res.prepare_payload();
  std::ostringstream out;
  out << res;
  return out.str();
}

TEST_CASE("AppendResponseHead writes the bytes Beast's serializer wrote", "[server][http]") {
  const unsigned status = GENERATE(200u, 400u, 413u, 500u);
  const unsigned version = GENERATE(10u, 11u);
  const bool keep_alive = GENERATE(true, false);
  const std::string error_type = GENERATE(std::string(), std::string("NotFoundException"));
  const std::string body = GENERATE(std::string(), std::string(R"({"KeyId":"k"})"));

  const ResponseHead head{.status = status,
                          .version = version,
                          .keep_alive = keep_alive,
                          .request_id = "0ed9488d-3719-47e8-a901-f39f2b852ee6",
                          .error_type = error_type,
                          .content_length = body.size()};
  std::string ours = "left alone|";  // appends, never overwrites
  AppendResponseHead(head, ours);
  ours += body;
  CHECK(ours == "left alone|" + BeastResponse(head, body));
}

TEST_CASE("AppendResponseHead spells out a typical success response", "[server][http]") {
  std::string out;
  AppendResponseHead({.status = 200,
                      .version = 11,
                      .keep_alive = true,
                      .request_id = "0ed9488d-3719-47e8-a901-f39f2b852ee6",
                      .error_type = {},
                      .content_length = 61},
                     out);
  CHECK(out ==
        "HTTP/1.1 200 OK\r\n"
        "Content-Type: application/x-amz-json-1.1\r\n"
        "x-amzn-RequestId: 0ed9488d-3719-47e8-a901-f39f2b852ee6\r\n"
        "Content-Length: 61\r\n"
        "\r\n");
}

}  // namespace
}  // namespace kms::transport
