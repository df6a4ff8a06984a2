// File: fuzz_dispatch.cpp
//
// libFuzzer harness for a whole request through the real Dispatcher, in-process: parsing,
// model validation, key lookup and every implemented handler, over a Registry on an in-memory
// SqliteStore.
//
// Input: the first line is the operation ("Encrypt", without "TrentService."; a line that
// starts with "TrentService." or names nothing known tests the unknown-operation path), the
// rest is the JSON body. Before dispatch these placeholders in the body are replaced, so
// corpus entries can name fixture keys whose ids are random per process:
//   @K0@  an enabled symmetric key        @K1@  a disabled key
//   @K2@  a key pending deletion          @BLOB0@  base64 of Encrypt(@K0@, "fuzz plaintext",
//   alias/fuzz -> @K0@                              EncryptionContext {"purpose":"fuzz"})
//
// Invariants (abort on failure): the reply body is a JSON object; the status is 200, 400 or
// 500; an error reply names its __type in the body too, a success has none; no 500 comes from
// the dispatcher's catch block (message "internal error..."): a thrown exception is a bug.
//
// State persists across inputs (that is how CreateKey/ScheduleKeyDeletion/... interact), and is
// reset to the fixtures every kResetEvery inputs or when keys pile up, to bound memory.
// KMSD_FUZZ_VERBOSE=1 in the environment prints each request's target and reply (to check
// what a corpus entry does: `KMSD_FUZZ_VERBOSE=1 fuzz_dispatch corpus/fuzz_dispatch/*`).
// Single-threaded, except for the registry's committer thread.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include <rapidjson/document.h>

#include "config/config.hpp"
#include "server/clock.hpp"
#include "server/protocol/dispatch.hpp"
#include "storage/registry.hpp"
#include "storage/sqlite_store.hpp"

namespace {

namespace server = kms::server;
namespace storage = kms::storage;

constexpr int kResetEvery = 2000;
constexpr std::size_t kMaxKeys = 200;

[[noreturn]] void Fail(const char* what, std::string_view target, std::string_view body,
                       const server::Reply& reply) {
  const std::string_view shown = body.substr(0, 1024);
  std::fprintf(stderr,
               "fuzz_dispatch: invariant failed: %s\n  target: %.*s\n  body: %.*s\n"
               "  reply %u: %s\n",
               what, static_cast<int>(target.size()), target.data(), static_cast<int>(shown.size()),
               shown.data(), reply.status, reply.body.c_str());
  std::abort();
}

class Harness {
 public:
  Harness() {
    auto store = storage::SqliteStore::Open(":memory:");
    if (!store) Die("SqliteStore::Open(:memory:)");
    auto registry = storage::Registry::Open(std::move(*store));
    if (!registry) Die("Registry::Open");
    registry_ = std::move(*registry);
    dispatcher_ = std::make_unique<server::Dispatcher>(*registry_, clock_, config_);
    CreateFixtures();
  }

  void RunOne(std::string_view input) {
    if (++runs_ % kResetEvery == 0 || registry_->KeyCount() > kMaxKeys) Reset();

    const std::size_t newline = input.find('\n');
    const std::string_view op = input.substr(0, newline);
    const std::string_view raw_body =
        newline == std::string_view::npos ? std::string_view{} : input.substr(newline + 1);
    const std::string target =
        op.starts_with("TrentService.") ? std::string(op) : "TrentService." + std::string(op);
    const std::string body = Substitute(raw_body);

    const server::Reply reply = dispatcher_->Handle(target, {}, body, "fuzz-request");
    if (verbose_) {
      std::fprintf(stderr, "fuzz_dispatch: %s -> %u %s\n", target.c_str(), reply.status,
                   reply.body.c_str());
    }
    CheckReply(target, body, reply);
  }

 private:
  [[noreturn]] static void Die(const char* what) {
    std::fprintf(stderr, "fuzz_dispatch: fixture set-up failed: %s\n", what);
    std::abort();
  }

  // Runs a fixture request that must succeed; returns its parsed reply.
  rapidjson::Document MustCall(std::string_view op, const std::string& body) {
    const server::Reply reply =
        dispatcher_->Handle("TrentService." + std::string(op), {}, body, "fuzz-fixture");
    if (reply.status != 200) {
      std::fprintf(stderr, "fuzz_dispatch: fixture %.*s failed: %s\n", static_cast<int>(op.size()),
                   op.data(), reply.body.c_str());
      std::abort();
    }
    rapidjson::Document doc;
    doc.Parse(reply.body.data(), reply.body.size());
    if (doc.HasParseError() || !doc.IsObject()) Die("fixture reply is not a JSON object");
    return doc;
  }

  std::string NewKey(std::string_view description) {
    rapidjson::Document doc =
        MustCall("CreateKey", R"({"Description":")" + std::string(description) + R"("})");
    return doc["KeyMetadata"]["KeyId"].GetString();
  }

  void CreateFixtures() {
    keys_[0] = NewKey("fuzz fixture: enabled");
    keys_[1] = NewKey("fuzz fixture: disabled");
    keys_[2] = NewKey("fuzz fixture: pending deletion");
    MustCall("DisableKey", R"({"KeyId":")" + keys_[1] + R"("})");
    MustCall("ScheduleKeyDeletion", R"({"KeyId":")" + keys_[2] + R"(","PendingWindowInDays":7})");
    MustCall("CreateAlias", R"({"AliasName":"alias/fuzz","TargetKeyId":")" + keys_[0] + R"("})");
    rapidjson::Document sealed =
        MustCall("Encrypt", R"({"KeyId":"alias/fuzz","Plaintext":"ZnV6eiBwbGFpbnRleHQ=",)"
                            R"("EncryptionContext":{"purpose":"fuzz"}})");
    blob_ = sealed["CiphertextBlob"].GetString();
    Settle();
  }

  void Reset() {
    if (auto r = registry_->BeginWrite().Reset(); !r) Die("Registry reset");
    Settle();
    CreateFixtures();
  }

  // Blocks until every change so far is committed, so the committer's queue stays short.
  void Settle() {
    if (auto r = registry_->WaitDurable({0, registry_->LastChange()}); !r) Die("WaitDurable");
  }

  std::string Substitute(std::string_view body) const {
    std::string out;
    out.reserve(body.size());
    std::size_t pos = 0;
    while (pos < body.size()) {
      const std::size_t at = body.find('@', pos);
      if (at == std::string_view::npos) break;
      out.append(body.substr(pos, at - pos));
      const std::string_view rest = body.substr(at);
      if (rest.starts_with("@K0@")) {
        out += keys_[0];
        pos = at + 4;
      } else if (rest.starts_with("@K1@")) {
        out += keys_[1];
        pos = at + 4;
      } else if (rest.starts_with("@K2@")) {
        out += keys_[2];
        pos = at + 4;
      } else if (rest.starts_with("@BLOB0@")) {
        out += blob_;
        pos = at + 7;
      } else {
        out += '@';
        pos = at + 1;
      }
    }
    if (pos < body.size()) out.append(body.substr(pos));
    return out;
  }

  static void CheckReply(std::string_view target, std::string_view body,
                         const server::Reply& reply) {
    rapidjson::Document parsed;
    parsed.Parse(reply.body.data(), reply.body.size());
    const rapidjson::Value& doc = parsed;  // const iterators: C++20-unambiguous comparisons
    if (parsed.HasParseError() || !doc.IsObject()) {
      Fail("the reply body is not a JSON object", target, body, reply);
    }
    if (reply.status != 200 && reply.status != 400 && reply.status != 500) {
      Fail("a status other than 200, 400 or 500", target, body, reply);
    }
    const auto type = doc.FindMember("__type");
    if (reply.status == 200) {
      if (!reply.error_type.empty() || type != doc.MemberEnd()) {
        Fail("a success reply carries an error type", target, body, reply);
      }
      return;
    }
    if (reply.error_type.empty() || type == doc.MemberEnd() || !type->value.IsString() ||
        reply.error_type != type->value.GetString()) {
      Fail("an error reply whose __type is missing or differs from its header", target, body,
           reply);
    }
    if (reply.status == 500) {
      const auto message = doc.FindMember("message");
      if (message != doc.MemberEnd() && message->value.IsString() &&
          std::string_view(message->value.GetString()).starts_with("internal error")) {
        Fail("a handler threw (the dispatcher's catch block answered)", target, body, reply);
      }
    }
  }

  server::FakeClock clock_;
  kms::config::Config config_;
  std::unique_ptr<storage::Registry> registry_;
  std::unique_ptr<server::Dispatcher> dispatcher_;
  std::string keys_[3];
  std::string blob_;
  int runs_ = 0;
  const bool verbose_ = std::getenv("KMSD_FUZZ_VERBOSE") != nullptr;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // Never destroyed: the committer thread would otherwise be joined during exit(), after
  // libFuzzer's final report; still reachable, so LeakSanitizer does not count it.
  static Harness* harness = new Harness();
  harness->RunOne(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
