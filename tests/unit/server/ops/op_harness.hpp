// File: op_harness.hpp
//
// OpHarness: runs operations in-process through the real Dispatcher, over a real
// SqliteStore (":memory:" unless a path is given), a FakeClock and a default Config.
//
//   OpHarness h;
//   auto key = h.CreateSymmetricKey();
//   auto res = h.Call("Encrypt", R"({"KeyId":")" + key + R"(","Plaintext":"aGk="})");
//   CHECK(res.status == 200);
//   CHECK(res.json["KeyId"].GetString() == h.Arn(key));
#pragma once

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include <rapidjson/document.h>

#include "config/config.hpp"
#include "server/clock.hpp"
#include "server/protocol/dispatch.hpp"
#include "storage/registry.hpp"
#include "storage/sqlite_store.hpp"

namespace kms::testing {

struct CallResult {
  unsigned status = 0;
  std::string type;     // __type, empty on success
  std::string message;  // message, empty if absent
  std::string body;
  rapidjson::Document json;

  std::string Str(const char* member) const {
    if (!json.IsObject() || !json.HasMember(member) || !json[member].IsString()) return {};
    return json[member].GetString();
  }
};

class OpHarness {
 public:
  explicit OpHarness(const std::string& db_path = ":memory:") { Open(db_path); }

  // Re-opens the registry from the same database file: a restart.
  void Reopen() {
    dispatcher_.reset();
    registry_.reset();
    Open(db_path_);
  }

  // Calls `op` with the JSON body; `region` names the caller's region via a SigV4
  // Authorization header (empty: the configured default region).
  CallResult Call(std::string_view op, std::string_view body, std::string_view region = {}) {
    return CallTarget("TrentService." + std::string(op), body, region);
  }

  // Like Call, with the whole X-Amz-Target header value.
  CallResult CallTarget(std::string_view target, std::string_view body,
                        std::string_view region = {}) {
    std::string auth;
    if (!region.empty()) {
      auth = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/" + std::string(region) +
             "/kms/aws4_request, SignedHeaders=host, Signature=00";
    }
    server::Reply reply = dispatcher_->Handle(target, auth, body, "test-request-id");
    CallResult r;
    r.status = reply.status;
    r.body = reply.body;
    r.json.Parse(r.body.c_str());
    if (reply.status != 200) {
      r.type = r.Str("__type");
      r.message = r.Str("message");
    }
    return r;
  }

  // Creates a symmetric key and returns its key id.
  std::string CreateSymmetricKey(std::string_view region = {}) {
    CallResult r = Call("CreateKey", "{}", region);
    if (r.status != 200) throw std::runtime_error("CreateKey failed: " + r.body);
    return r.json["KeyMetadata"]["KeyId"].GetString();
  }

  std::string Arn(std::string_view key_id, std::string_view region = "us-east-1") const {
    return "arn:aws:kms:" + std::string(region) + ":111122223333:key/" + std::string(key_id);
  }

  server::FakeClock& clock() { return clock_; }
  storage::Registry& registry() { return *registry_; }
  const config::Config& config() const { return config_; }

 private:
  void Open(const std::string& db_path) {
    db_path_ = db_path;
    auto store = storage::SqliteStore::Open(db_path);
    if (!store) throw std::runtime_error("cannot open store: " + store.error().message);
    auto registry = storage::Registry::Open(std::move(*store));
    if (!registry) throw std::runtime_error("cannot open registry: " + registry.error().message);
    registry_ = std::move(*registry);
    dispatcher_ = std::make_unique<server::Dispatcher>(*registry_, clock_, config_);
  }

  std::string db_path_;
  config::Config config_;
  server::FakeClock clock_;
  std::unique_ptr<storage::Registry> registry_;
  std::unique_ptr<server::Dispatcher> dispatcher_;
};

}  // namespace kms::testing
