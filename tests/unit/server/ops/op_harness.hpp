// File: op_harness.hpp
//
// OpHarness: runs operations in-process through the real Dispatcher, over a real
// SqliteStore (":memory:" unless a path is given), a FakeClock, a default Config and a
// KeyUsageTracker without its flushing thread (FlushKeyUsage() flushes).
//
//   OpHarness h;
//   auto key = h.CreateSymmetricKey();
//   auto res = h.Call("Encrypt", R"({"KeyId":")" + key + R"(","Plaintext":"aGk="})");
//   CHECK(res.status == 200);
//   CHECK(res.json["KeyId"].GetString() == h.Arn(key));
//
// Besides the harness, the helpers the operation tests share: request bodies (KeyIdBody,
// AliasBody, DecryptBody, ...), the four spellings of a key reference (RefOf), and set-up
// steps that REQUIRE success (h.CreateAlias, h.ScheduleDeletion, h.InsertKeyLike, ...), and
// FaultyHarness, whose store fails on command.
#pragma once

#include "base/clock.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <stdlib.h>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>
#include <rapidjson/document.h>

#include "config/config.hpp"
#include "crypto/base64.hpp"
#include "crypto/bytes.hpp"
#include "crypto/encryption_context.hpp"
#include "domain/key_specs.hpp"
#include "domain/vocabulary.hpp"
#include "server/ops/context.hpp"
#include "server/protocol/dispatch.hpp"
#include "server/protocol/json_io.hpp"
#include "storage/key_usage_tracker.hpp"
#include "storage/records.hpp"
#include "storage/registry.hpp"
#include "storage/sqlite_store.hpp"
#include "tests/unit/storage/faulty_store.hpp"

namespace kms::testing {

inline constexpr std::int64_t kStart = 1'700'000'000;  // FakeClock's default time
inline constexpr std::int64_t kDay = 86'400;
// The default Config's account and region: where calls without a region run.
inline const storage::Scope kUsEast{"111122223333", "us-east-1"};

// The enumerator a test's wire name names (REQUIREs that it names one): tests speak the wire
// names they assert on, records hold enums.
template <domain::Vocabulary E>
E Parsed(std::string_view name) {
  const std::optional<E> value = domain::Parse<E>(name);
  REQUIRE(value.has_value());
  return *value;
}

// The wire names of the algorithms domain/key_specs.hpp lists for `spec` with `usage`, in the
// order DescribeKey and GetPublicKey list them.
inline std::vector<std::string_view> ListedAlgorithms(std::string_view spec,
                                                      std::string_view usage) {
  const domain::KeySpecInfo& info = domain::SpecInfo(Parsed<domain::KeySpec>(spec));
  std::vector<std::string_view> names;
  const auto add = [&names](auto algorithms) {
    for (auto algorithm : algorithms) names.push_back(domain::WireName(algorithm));
  };
  switch (Parsed<domain::KeyUsage>(usage)) {
    case domain::KeyUsage::kEncryptDecrypt:
      add(info.encryption);
      break;
    case domain::KeyUsage::kSignVerify:
      add(info.signing);
      break;
    case domain::KeyUsage::kGenerateVerifyMac:
      add(info.mac);
      break;
    case domain::KeyUsage::kKeyAgreement:
      add(info.key_agreement);
      break;
  }
  return names;
}

// {"KeyId":<key_ref>}
inline std::string KeyIdBody(std::string_view key_ref) {
  server::JsonOut out;
  out.String("KeyId", key_ref);
  return out.Finish();
}

// {"KeyId":<key_ref>,"PendingWindowInDays":<days>}: a ScheduleKeyDeletion body.
inline std::string ScheduleDeletionBody(std::string_view key_ref, int days) {
  server::JsonOut out;
  out.String("KeyId", key_ref);
  out.Int("PendingWindowInDays", days);
  return out.Finish();
}

// {"AliasName":<name>,"TargetKeyId":<target>}, without TargetKeyId when `target` is empty:
// the body of CreateAlias, UpdateAlias and DeleteAlias.
inline std::string AliasBody(std::string_view name, std::string_view target = {}) {
  server::JsonOut out;
  out.String("AliasName", name);
  if (!target.empty()) out.String("TargetKeyId", target);
  return out.Finish();
}

// `object`, a JSON object, with the raw members `members` (e.g. "\"Limit\":3") added at
// its end.
inline std::string WithMembers(std::string object, std::string_view members) {
  if (members.empty()) return object;
  object.insert(object.size() - 1, (object == "{}" ? "" : ",") + std::string(members));
  return object;
}

// An EncryptionContext-shaped member: "<member>":{"k":"v",...}.
inline void WriteContext(server::JsonOut& out, std::string_view member,
                         const crypto::EncryptionContext& context) {
  out.Key(member);
  out.StartObject();
  for (const auto& [k, v] : context) out.String(k, v);
  out.EndObject();
}

// A Decrypt request body.
inline std::string DecryptBody(
    const std::string& blob_b64,
    const std::optional<crypto::EncryptionContext>& context = std::nullopt,
    std::optional<std::string_view> key_ref = std::nullopt) {
  server::JsonOut out;
  out.String("CiphertextBlob", blob_b64);
  if (context) WriteContext(out, "EncryptionContext", *context);
  if (key_ref) out.String("KeyId", *key_ref);
  return out.Finish();
}

// A valid key policy, {"Statement":{},"Pad":"..."}, of exactly `bytes` bytes of UTF-8 (at least
// 26). The padding is mostly the two-byte character U+00E9, so the text has fewer characters
// than bytes.
inline std::string PolicyOfBytes(std::size_t bytes) {
  const std::string head = R"({"Statement":{},"Pad":")";
  const std::string tail = R"("})";
  REQUIRE(bytes >= head.size() + tail.size() + 1);
  std::size_t fill = bytes - head.size() - tail.size();
  std::string policy = head;
  if (fill % 2 == 1) {
    policy += 'x';
    --fill;
  }
  for (std::size_t i = 0; i < fill / 2; ++i) policy += "\xc3\xa9";
  policy += tail;
  return policy;
}

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

// A reply as a CallResult (its body parsed; __type and message of an error).
inline CallResult ResultOf(const server::Reply& reply) {
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

// The base64-decoded string member `member` of a result.
inline crypto::Bytes Decoded(const CallResult& r, const char* member) {
  auto bytes = crypto::Base64Decode(r.Str(member));
  REQUIRE(bytes.has_value());
  return *bytes;
}

class OpHarness {
 public:
  explicit OpHarness(const std::string& db_path = ":memory:") { Open(db_path); }

  // Re-opens the registry from the same database file: a graceful restart (the key usage
  // tracker flushes on its way out, as kmsd's does).
  void Reopen() {
    dispatcher_.reset();
    key_usage_.reset();
    registry_.reset();
    Open(db_path_);
  }

  // A restart after a crash: what the usage tracker has not flushed is lost.
  void ReopenAfterCrash() {
    dispatcher_.reset();
    key_usage_->Clear();  // nothing left to flush on the way out
    key_usage_.reset();
    registry_.reset();
    Open(db_path_);
  }

  // Sends the tracker's dirty entries to the registry and waits until they are durable;
  // returns the number of rows sent.
  std::size_t FlushKeyUsage() {
    const std::size_t rows = key_usage_->Flush();
    REQUIRE(registry_->WaitDurable({0, registry_->LastChange()}).has_value());
    return rows;
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
    server::Reply reply = dispatcher_->Handle(target, auth, body, request_id_);
    // As the session does: answer once the changes the reply depends on are durable.
    if (auto durable = registry_->WaitDurable(reply.ticket); !durable) {
      reply = server::Dispatcher::CommitFailedReply(reply, durable.error(), request_id_);
    }
    return ResultOf(reply);
  }

  // Creates a symmetric key and returns its key id.
  std::string CreateSymmetricKey(std::string_view region = {}) {
    CallResult r = Call("CreateKey", "{}", region);
    if (r.status != 200) throw std::runtime_error("CreateKey failed: " + r.body);
    return r.json["KeyMetadata"]["KeyId"].GetString();
  }

  // Creates a key of `spec` with `usage` and returns its key id.
  std::string CreateKeyOf(std::string_view spec, std::string_view usage) {
    server::JsonOut body;
    body.String("KeySpec", spec);
    body.String("KeyUsage", usage);
    CallResult r = Call("CreateKey", body.Finish());
    if (r.status != 200) throw std::runtime_error("CreateKey failed: " + r.body);
    return r.json["KeyMetadata"]["KeyId"].GetString();
  }

  // The key ARN of `key_id` in `region`, in that region's partition (arn:aws-cn:... for
  // cn-north-1).
  std::string Arn(std::string_view key_id, std::string_view region = "us-east-1") const {
    return "arn:" + std::string(ops::PartitionOf(region)) + ":kms:" + std::string(region) +
           ":111122223333:key/" + std::string(key_id);
  }

  // `alias_name` ("alias/...") as an alias ARN.
  std::string AliasArn(std::string_view alias_name, std::string_view region = "us-east-1") const {
    return "arn:" + std::string(ops::PartitionOf(region)) + ":kms:" + std::string(region) +
           ":111122223333:" + std::string(alias_name);
  }

  // Creates alias `name` ("alias/...") for `key_ref` through CreateAlias.
  void CreateAlias(std::string_view name, std::string_view key_ref, std::string_view region = {}) {
    REQUIRE(Call("CreateAlias", AliasBody(name, key_ref), region).status == 200);
  }

  // Stores alias `name` ("alias/...") for `key_id` straight into the registry, in the default
  // scope, for tests that should not depend on CreateAlias.
  void InsertAlias(std::string_view name, std::string_view key_id) {
    const std::int64_t now = clock_.NowSeconds();
    auto writer = registry_->BeginWrite();
    REQUIRE(writer.InsertAlias({kUsEast, std::string(name), std::string(key_id), now, now})
                .has_value());
  }

  // Schedules `key_id` for deletion in `days` days through ScheduleKeyDeletion.
  void ScheduleDeletion(std::string_view key_id, int days = 7) {
    REQUIRE(Call("ScheduleKeyDeletion", ScheduleDeletionBody(key_id, days)).status == 200);
  }

  // Stores a copy of `key_id` under `new_id` with another key spec and usage (CreateKey makes
  // symmetric keys only).
  void InsertKeyLike(const std::string& key_id, const std::string& new_id, const std::string& spec,
                     const std::string& usage) {
    auto writer = registry_->BeginWrite();
    auto key = registry_->FindKey(kUsEast, key_id);
    REQUIRE(key != nullptr);
    storage::KeyRecord copy = *key;
    copy.key_id = new_id;
    copy.key_spec = Parsed<domain::KeySpec>(spec);
    copy.key_usage = Parsed<domain::KeyUsage>(usage);
    REQUIRE(writer.InsertKey(copy).has_value());
  }

  // `"GrantTokens":[<token>]`, the token of a new grant (DescribeKey, which every key allows)
  // on `key_id`: a GrantTokens member the dispatcher's token check accepts.
  std::string GrantTokensMember(std::string_view key_id) {
    server::JsonOut body;
    body.String("KeyId", key_id);
    body.String("GranteePrincipal", "arn:aws:iam::111122223333:role/test");
    body.StringList("Operations", std::vector<std::string>{"DescribeKey"});
    CallResult r = Call("CreateGrant", body.Finish());
    REQUIRE(r.status == 200);
    return R"("GrantTokens":[")" + r.Str("GrantToken") + R"("])";
  }

  // The key's CurrentKeyMaterialId, as DescribeKey reports it.
  std::string CurrentKeyMaterialId(std::string_view key_id) {
    CallResult r = Call("DescribeKey", KeyIdBody(key_id));
    REQUIRE(r.status == 200);
    REQUIRE(r.json["KeyMetadata"].HasMember("CurrentKeyMaterialId"));
    return r.json["KeyMetadata"]["CurrentKeyMaterialId"].GetString();
  }

  // The request id the following calls are made with ("test-request-id" until changed).
  void SetRequestId(std::string request_id) { request_id_ = std::move(request_id); }

  FakeClock& clock() { return clock_; }
  storage::Registry& registry() { return *registry_; }
  storage::KeyUsageTracker& key_usage() { return *key_usage_; }
  const config::Config& config() const { return config_; }

 private:
  void Open(const std::string& db_path) {
    db_path_ = db_path;
    auto store = storage::SqliteStore::Open(db_path);
    if (!store) throw std::runtime_error("cannot open store: " + store.error().message);
    auto registry = storage::Registry::Open(std::move(*store));
    if (!registry) throw std::runtime_error("cannot open registry: " + registry.error().message);
    registry_ = std::move(*registry);
    key_usage_ =
        std::make_unique<storage::KeyUsageTracker>(*registry_, std::chrono::milliseconds(0));
    dispatcher_ = std::make_unique<server::Dispatcher>(*registry_, *key_usage_, clock_, config_);
  }

  std::string db_path_;
  std::string request_id_ = "test-request-id";
  config::Config config_;
  FakeClock clock_;
  std::unique_ptr<storage::Registry> registry_;
  std::unique_ptr<storage::KeyUsageTracker> key_usage_;  // declared after registry_: goes first
  std::unique_ptr<server::Dispatcher> dispatcher_;
};

// A harness whose store fails on command (storage/faulty_store.hpp): the KMSInternalException
// paths of the operations that write.
struct FaultyHarness {
  FaultyHarness() {
    auto sqlite = storage::SqliteStore::Open(":memory:");
    REQUIRE(sqlite.has_value());
    auto faulty = std::make_unique<storage::testing::FaultyStore>(std::move(*sqlite));
    faults = faulty.get();
    auto opened = storage::Registry::Open(std::move(faulty));
    REQUIRE(opened.has_value());
    registry = std::move(*opened);
    key_usage = std::make_unique<storage::KeyUsageTracker>(*registry, std::chrono::milliseconds(0));
    dispatcher = std::make_unique<server::Dispatcher>(*registry, *key_usage, clock, config);
  }

  // As the session does: the reply waits for its ticket, and a failed commit replaces it.
  server::Reply Call(std::string_view op, std::string_view body) {
    server::Reply reply = dispatcher->Handle("TrentService." + std::string(op), {}, body, "faulty");
    if (auto durable = registry->WaitDurable(reply.ticket); !durable) {
      return server::Dispatcher::CommitFailedReply(reply, durable.error(), "test-request-id");
    }
    return reply;
  }

  // Creates a symmetric key and returns its key id.
  std::string CreateSymmetricKey() {
    server::Reply created = Call("CreateKey", "{}");
    REQUIRE(created.status == 200);
    rapidjson::Document doc;
    doc.Parse(created.body.c_str());
    return doc["KeyMetadata"]["KeyId"].GetString();
  }

  config::Config config;
  FakeClock clock;
  storage::testing::FaultyStore* faults = nullptr;
  std::unique_ptr<storage::Registry> registry;
  std::unique_ptr<storage::KeyUsageTracker> key_usage;  // declared after registry: goes first
  std::unique_ptr<server::Dispatcher> dispatcher;
};

// The four spellings of a key reference: "key id", "key ARN", "alias name" (`alias`) and
// "alias ARN". Tests GENERATE the form, not the string: Catch2 builds a generator once per
// test case, and each run makes new key ids.
inline std::string RefOf(const OpHarness& h, std::string_view form, const std::string& key_id,
                         std::string_view alias = {}) {
  if (form == "key id") return key_id;
  if (form == "key ARN") return h.Arn(key_id);
  if (form == "alias name") return std::string(alias);
  return h.AliasArn(alias);  // alias ARN
}

// A temporary database file, removed (with SQLite's -wal/-shm companions) on scope exit: for
// tests that reopen the same database (a restart).
class TempDbFile {
 public:
  TempDbFile() {
    std::string pattern = (std::filesystem::temp_directory_path() / "kms_op_test.XXXXXX");
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    dir_ = pattern;
  }
  TempDbFile(const TempDbFile&) = delete;
  TempDbFile& operator=(const TempDbFile&) = delete;
  ~TempDbFile() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string path() const { return (dir_ / "kms.db").string(); }

 private:
  std::filesystem::path dir_;
};

}  // namespace kms::testing
