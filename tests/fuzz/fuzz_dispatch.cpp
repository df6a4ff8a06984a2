// File: fuzz_dispatch.cpp
//
// libFuzzer harness for a whole request through the real Dispatcher, in-process: parsing,
// model validation, key lookup and every implemented handler, over a Registry on an in-memory
// SqliteStore.
//
// Input: the first line is the operation ("Encrypt", without "TrentService."; a line that
// starts with "TrentService." or names nothing known tests the unknown-operation path),
// optionally followed by a space and an Authorization header (its SigV4 credential scope picks
// the region: fixtures live in us-east-1); the rest is the JSON body. Before dispatch these
// placeholders in the body are replaced, so corpus entries can name fixture keys whose ids are
// random per process:
//   @K0@  an enabled symmetric key, the target of alias/fuzz
//   @K1@  a disabled key                  @K2@  a key pending deletion
//   @BLOB0@ @BLOB1@ @BLOB2@  base64 of Encrypt(@Kn@, "fuzz plaintext",
//                            EncryptionContext {"purpose":"fuzz"}), sealed before the
//                            disabling and the scheduled deletion
//   @RSA_ENC@ @RSA_SIGN@  RSA_2048 keys for ENCRYPT_DECRYPT / SIGN_VERIFY
//   @EC_SIGN@ @EC_ECDH@   ECC_NIST_P256 keys for SIGN_VERIFY / KEY_AGREEMENT
//   @ED_SIGN@ @SM2_ENC@   ECC_NIST_EDWARDS25519 for SIGN_VERIFY, SM2 for ENCRYPT_DECRYPT
//   @HMAC@                an HMAC_256 key
//
// Invariants (abort on failure): the reply body is a JSON object; the status is 200 or 400
// (the 413 of error.cpp is the session's, never the dispatcher's); an error reply names its
// __type in the body too, a success has none. No 500 at all: one from the dispatcher's catch
// block (message "internal error...") means a handler threw, which is always a bug, and any
// other would need a real failure (a full disk, a dependency), which an in-memory store and
// the implemented operations cannot have.
//
// Inputs that would generate an RSA key (CreateKey, GenerateDataKeyPair* naming an RSA_ spec)
// are skipped: each costs OpenSSL 0.1 s to seconds of prime search (thousands of inputs' worth)
// and reaches no kmsd code that the RSA fixtures and the ECC specs do not. libFuzzer learns the
// enum strings from the validator's comparisons, so without the skip they would soon take most
// of the run. For the same reason the fixtures (two RSA keys) are rebuilt rarely.
//
// State persists across inputs (that is how CreateKey/ScheduleKeyDeletion/... interact), and is
// reset to the fixtures every kResetEvery inputs or when keys pile up, to bound memory.
// KMSD_FUZZ_VERBOSE=1 in the environment prints each request's target and reply (to check
// what a corpus entry does: `KMSD_FUZZ_VERBOSE=1 fuzz_dispatch corpus/fuzz_dispatch/*`).
// Single-threaded, except for the registry's committer thread.
#include "base/clock.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include <rapidjson/document.h>

#include "config/config.hpp"
#include "server/protocol/dispatch.hpp"
#include "storage/key_usage_tracker.hpp"
#include "storage/registry.hpp"
#include "storage/sqlite_store.hpp"

namespace {

namespace server = kms::server;
namespace storage = kms::storage;

constexpr int kResetEvery = 10000;
constexpr std::size_t kMaxKeys = 500;

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
    // No flushing thread: Reset() flushes, so the store's usage path runs too.
    key_usage_ =
        std::make_unique<storage::KeyUsageTracker>(*registry_, std::chrono::milliseconds(0));
    dispatcher_ = std::make_unique<server::Dispatcher>(*registry_, *key_usage_, clock_, config_);
    CreateFixtures();
  }

  void RunOne(std::string_view input) {
    if (++runs_ % kResetEvery == 0 || registry_->KeyCount() > kMaxKeys) Reset();

    const std::size_t newline = input.find('\n');
    std::string_view op = input.substr(0, newline);
    const std::string_view raw_body =
        newline == std::string_view::npos ? std::string_view{} : input.substr(newline + 1);
    std::string_view authorization;
    if (const std::size_t space = op.find(' '); space != std::string_view::npos) {
      authorization = op.substr(space + 1);
      op = op.substr(0, space);
    }
    const std::string target =
        op.starts_with("TrentService.") ? std::string(op) : "TrentService." + std::string(op);
    if (GeneratesRsaKey(target, raw_body)) return;
    const std::string body = Substitute(raw_body);

    const server::Reply reply = dispatcher_->Handle(target, authorization, body, "fuzz-request");
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

  std::string NewKeyOf(std::string_view spec, std::string_view usage) {
    rapidjson::Document doc =
        MustCall("CreateKey", R"({"KeySpec":")" + std::string(spec) + R"(","KeyUsage":")" +
                                  std::string(usage) + R"("})");
    return doc["KeyMetadata"]["KeyId"].GetString();
  }

  // Encrypts "fuzz plaintext" under `key_ref` with context {"purpose":"fuzz"}; the blob, base64.
  std::string Seal(const std::string& key_ref) {
    rapidjson::Document sealed =
        MustCall("Encrypt", R"({"KeyId":")" + key_ref +
                                R"(","Plaintext":"ZnV6eiBwbGFpbnRleHQ=",)"
                                R"("EncryptionContext":{"purpose":"fuzz"}})");
    return sealed["CiphertextBlob"].GetString();
  }

  void CreateFixtures() {
    const std::string k0 = NewKey("fuzz fixture: enabled");
    const std::string k1 = NewKey("fuzz fixture: disabled");
    const std::string k2 = NewKey("fuzz fixture: pending deletion");
    MustCall("CreateAlias", R"({"AliasName":"alias/fuzz","TargetKeyId":")" + k0 + R"("})");
    placeholders_ = {{{"@K0@", k0},
                      {"@K1@", k1},
                      {"@K2@", k2},
                      {"@BLOB0@", Seal("alias/fuzz")},
                      {"@BLOB1@", Seal(k1)},
                      {"@BLOB2@", Seal(k2)},
                      {"@RSA_ENC@", NewKeyOf("RSA_2048", "ENCRYPT_DECRYPT")},
                      {"@RSA_SIGN@", NewKeyOf("RSA_2048", "SIGN_VERIFY")},
                      {"@EC_SIGN@", NewKeyOf("ECC_NIST_P256", "SIGN_VERIFY")},
                      {"@EC_ECDH@", NewKeyOf("ECC_NIST_P256", "KEY_AGREEMENT")},
                      {"@ED_SIGN@", NewKeyOf("ECC_NIST_EDWARDS25519", "SIGN_VERIFY")},
                      {"@SM2_ENC@", NewKeyOf("SM2", "ENCRYPT_DECRYPT")},
                      {"@HMAC@", NewKeyOf("HMAC_256", "GENERATE_VERIFY_MAC")}}};
    MustCall("DisableKey", R"({"KeyId":")" + k1 + R"("})");
    MustCall("ScheduleKeyDeletion", R"({"KeyId":")" + k2 + R"(","PendingWindowInDays":7})");
    Settle();
  }

  void Reset() {
    key_usage_->Flush();
    if (auto r = registry_->BeginWrite().Reset(); !r) Die("Registry reset");
    key_usage_->Clear();
    Settle();
    CreateFixtures();
  }

  // Blocks until every change so far is committed, so the committer's queue stays short.
  void Settle() {
    if (auto r = registry_->WaitDurable({0, registry_->LastChange()}); !r) Die("WaitDurable");
  }

  static bool GeneratesRsaKey(std::string_view target, std::string_view body) {
    const bool generates = target == "TrentService.CreateKey" ||
                           target.starts_with("TrentService.GenerateDataKeyPair");
    return generates && body.find("RSA_") != std::string_view::npos;
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
      const auto match = std::find_if(placeholders_.begin(), placeholders_.end(),
                                      [rest](const auto& p) { return rest.starts_with(p.first); });
      if (match != placeholders_.end()) {
        out += match->second;
        pos = at + match->first.size();
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
      // Nothing here can fail for real: the store is in memory and never full, and no
      // operation kmsd implements depends on anything outside the process.
      Fail("a 500 without a real failure behind it", target, body, reply);
    }
  }

  kms::FakeClock clock_;
  kms::config::Config config_;
  std::unique_ptr<storage::Registry> registry_;
  std::unique_ptr<storage::KeyUsageTracker> key_usage_;  // declared after registry_: goes first
  std::unique_ptr<server::Dispatcher> dispatcher_;
  // Placeholder -> what it stands for in this generation of fixtures (see the file comment).
  std::array<std::pair<std::string_view, std::string>, 13> placeholders_;
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
