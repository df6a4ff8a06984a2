// KmsService: what the service itself adds around the dispatcher. Here: /_kmsd/reset forgets
// the keys' last usage along with the keys.
#include "server/service/kms_service.hpp"

#include "base/clock.hpp"

#include <chrono>
#include <memory>
#include <memory_resource>
#include <string>
#include <string_view>

#include <boost/beast/http/verb.hpp>
#include <catch2/catch.hpp>
#include <rapidjson/document.h>

#include "config/config.hpp"
#include "storage/key_usage_tracker.hpp"
#include "storage/registry.hpp"
#include "storage/sqlite_store.hpp"

namespace kms::server {
namespace {

namespace http = boost::beast::http;

const storage::Scope kUsEast{"111122223333", "us-east-1"};

struct Request {
  std::pmr::monotonic_buffer_resource arena;
  transport::HttpRequest r{&arena};
  Request(std::string_view target, std::string_view amz_target, std::string_view body) {
    r.method = http::verb::post;
    r.target = target;
    r.has_host = true;
    r.host = "localhost";
    r.content_type = "application/json";
    r.amz_target = amz_target;
    r.body = body;
  }
};

TEST_CASE("Reset forgets the last usage of every key", "[server][kms_service][key_usage]") {
  auto store = storage::SqliteStore::Open(":memory:");
  REQUIRE(store.has_value());
  auto registry = storage::Registry::Open(std::move(*store));
  REQUIRE(registry.has_value());
  storage::KeyUsageTracker key_usage(**registry, std::chrono::milliseconds(0));
  FakeClock clock;
  const config::Config config;
  KmsService service(**registry, key_usage, clock, config);

  const auto answer = [&](std::string_view target, std::string_view amz_target,
                          std::string_view body) {
    Request request(target, amz_target, body);
    transport::Reply reply = service.Answer(request.r, "request-1");
    if (reply.must_wait) {
      REQUIRE((*registry)->WaitDurable({reply.wait.first, reply.wait.last}).has_value());
    }
    REQUIRE(reply.status == 200);
    rapidjson::Document json;
    json.Parse(reply.body.c_str());
    return json;
  };
  const rapidjson::Document created = answer("/", "TrentService.CreateKey", "{}");
  const std::string key_id = created["KeyMetadata"]["KeyId"].GetString();
  answer("/", "TrentService.Encrypt", R"({"KeyId":")" + key_id + R"(","Plaintext":"aGk="})");
  REQUIRE(key_usage.Find(kUsEast, key_id).has_value());

  answer("/_kmsd/reset", "", "");
  CHECK_FALSE(key_usage.Find(kUsEast, key_id).has_value());
  CHECK(key_usage.Flush() == 0);
}

}  // namespace
}  // namespace kms::server
