// Tests for server/ops/key_usage.cpp (GetKeyLastUsage) and for how the dispatcher records the
// uses it reports, through the dispatcher.
#include <algorithm>
#include <cctype>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include <catch2/catch.hpp>

#include "server/protocol/dispatch.hpp"
#include "server/protocol/json_io.hpp"
#include "tests/unit/server/ops/op_harness.hpp"

namespace kms::testing {
namespace {

using server::JsonOut;

// The twelve operations GetKeyLastUsage reports, as the model lists them.
constexpr std::string_view kTracked[] = {
    "Decrypt",
    "DeriveSharedSecret",
    "Encrypt",
    "GenerateDataKey",
    "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext",
    "GenerateDataKeyWithoutPlaintext",
    "GenerateMac",
    "ReEncrypt",
    "Sign",
    "Verify",
    "VerifyMac",
};

CallResult LastUsage(OpHarness& h, std::string_view key_ref, std::string_view region = {}) {
  return h.Call("GetKeyLastUsage", KeyIdBody(key_ref), region);
}

// KeyLastUsage of a successful GetKeyLastUsage (REQUIREs success and the object).
const rapidjson::Value& UsageOf(const CallResult& r) {
  REQUIRE(r.status == 200);
  REQUIRE(r.json.HasMember("KeyLastUsage"));
  REQUIRE(r.json["KeyLastUsage"].IsObject());
  return r.json["KeyLastUsage"];
}

std::string Member(const rapidjson::Value& object, const char* name) {
  if (!object.HasMember(name) || !object[name].IsString()) return {};
  return object[name].GetString();
}

std::string Ok(OpHarness& h, std::string_view op, const std::string& body, const char* member) {
  CallResult r = h.Call(op, body);
  REQUIRE(r.status == 200);
  return r.Str(member);
}

std::string EncryptBody(std::string_view key_ref) {
  JsonOut out;
  out.String("KeyId", key_ref);
  out.String("Plaintext", "aGVsbG8=");
  return out.Finish();
}

std::string BlobOf(OpHarness& h, std::string_view key_ref) {
  return Ok(h, "Encrypt", EncryptBody(key_ref), "CiphertextBlob");
}

std::string ReEncryptBody(std::string_view blob, std::string_view destination) {
  JsonOut out;
  out.String("CiphertextBlob", blob);
  out.String("DestinationKeyId", destination);
  return out.Finish();
}

// A request for tracked operation `op`, with its set-up done (which uses keys too): the
// request's body and the key it uses (for ReEncrypt, the destination).
struct Prepared {
  std::string body;
  std::string key_id;
};

Prepared Prepare(OpHarness& h, std::string_view op) {
  JsonOut out;
  std::string key_id;
  if (op == "Encrypt") {
    key_id = h.CreateSymmetricKey();
    return {EncryptBody(key_id), key_id};
  }
  if (op == "Decrypt") {
    key_id = h.CreateSymmetricKey();
    return {DecryptBody(BlobOf(h, key_id)), key_id};
  }
  if (op == "ReEncrypt") {
    key_id = h.CreateSymmetricKey();
    return {ReEncryptBody(BlobOf(h, h.CreateSymmetricKey()), key_id), key_id};
  }
  if (op.starts_with("GenerateDataKeyPair")) {
    key_id = h.CreateSymmetricKey();
    out.String("KeyId", key_id);
    out.String("KeyPairSpec", "ECC_NIST_P256");
  } else if (op.starts_with("GenerateDataKey")) {
    key_id = h.CreateSymmetricKey();
    out.String("KeyId", key_id);
    out.String("KeySpec", "AES_256");
  } else if (op == "GenerateMac" || op == "VerifyMac") {
    key_id = h.CreateKeyOf("HMAC_256", "GENERATE_VERIFY_MAC");
    out.String("KeyId", key_id);
    out.String("Message", "aGVsbG8=");
    out.String("MacAlgorithm", "HMAC_SHA_256");
    if (op == "VerifyMac") {
      JsonOut mac;
      mac.String("KeyId", key_id);
      mac.String("Message", "aGVsbG8=");
      mac.String("MacAlgorithm", "HMAC_SHA_256");
      out.String("Mac", Ok(h, "GenerateMac", mac.Finish(), "Mac"));
    }
  } else if (op == "Sign" || op == "Verify") {
    key_id = h.CreateKeyOf("ECC_NIST_P256", "SIGN_VERIFY");
    out.String("KeyId", key_id);
    out.String("Message", "aGVsbG8=");
    out.String("SigningAlgorithm", "ECDSA_SHA_256");
    if (op == "Verify") {
      JsonOut sign;
      sign.String("KeyId", key_id);
      sign.String("Message", "aGVsbG8=");
      sign.String("SigningAlgorithm", "ECDSA_SHA_256");
      out.String("Signature", Ok(h, "Sign", sign.Finish(), "Signature"));
    }
  } else if (op == "DeriveSharedSecret") {
    key_id = h.CreateKeyOf("ECC_NIST_P256", "KEY_AGREEMENT");
    const std::string peer = h.CreateKeyOf("ECC_NIST_P256", "KEY_AGREEMENT");
    out.String("KeyId", key_id);
    out.String("KeyAgreementAlgorithm", "ECDH");
    out.String("PublicKey", Ok(h, "GetPublicKey", KeyIdBody(peer), "PublicKey"));
  } else {
    FAIL("no request for " << std::string(op));
  }
  return {out.Finish(), key_id};
}

bool IsUuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

TEST_CASE("The tracked operations are the model's KeyLastUsageTrackingOperation",
          "[ops][key_usage]") {
  const auto table = server::UsageTrackedOperations();
  CHECK(std::vector<std::string_view>(table.begin(), table.end()) ==
        std::vector<std::string_view>(std::begin(kTracked), std::end(kTracked)));
}

TEST_CASE("A key that was never used has an empty KeyLastUsage", "[ops][key_usage]") {
  OpHarness h;
  const std::string key = h.CreateSymmetricKey();
  h.clock().Advance(kDay);
  const CallResult r = LastUsage(h, key);
  CHECK(UsageOf(r).ObjectEmpty());
  CHECK(r.Str("KeyId") == key);  // the key id, not its ARN
  CHECK(r.json["KeyCreationDate"].GetInt64() == kStart);
  CHECK(r.json["TrackingStartDate"].GetInt64() == kStart);
  CHECK(r.json.MemberCount() == 4);
}

TEST_CASE("Each tracked operation records its use with the request id and the time",
          "[ops][key_usage]") {
  const std::string_view op = GENERATE(from_range(std::begin(kTracked), std::end(kTracked)));
  CAPTURE(std::string(op));
  OpHarness h;
  h.SetRequestId("set-up-request");
  const Prepared p = Prepare(h, op);
  h.clock().Advance(90);
  h.SetRequestId("11111111-2222-4333-8444-555555555555");
  REQUIRE(h.Call(op, p.body).status == 200);
  h.clock().Advance(30);  // GetKeyLastUsage itself is not a use

  const CallResult r = LastUsage(h, p.key_id);
  const rapidjson::Value& usage = UsageOf(r);
  CHECK(Member(usage, "Operation") == op);
  CHECK(usage["Timestamp"].GetInt64() == kStart + 90);
  CHECK(Member(usage, "KmsRequestId") == "11111111-2222-4333-8444-555555555555");
  CHECK(IsUuid(Member(usage, "CloudTrailEventId")));
  CHECK(usage.MemberCount() == 4);
}

TEST_CASE("ReEncrypt records a use of both keys", "[ops][key_usage]") {
  OpHarness h;
  const std::string source = h.CreateSymmetricKey();
  const std::string destination = h.CreateSymmetricKey();
  const std::string blob = BlobOf(h, source);
  h.clock().Advance(5);
  h.SetRequestId("re-encrypt");
  REQUIRE(h.Call("ReEncrypt", ReEncryptBody(blob, destination)).status == 200);
  for (const std::string& key : {source, destination}) {
    const CallResult r = LastUsage(h, key);
    CHECK(Member(UsageOf(r), "Operation") == "ReEncrypt");
    CHECK(Member(UsageOf(r), "KmsRequestId") == "re-encrypt");
    CHECK(UsageOf(r)["Timestamp"].GetInt64() == kStart + 5);
  }
  // One request, one CloudTrail event: the same id on both keys.
  CHECK(Member(UsageOf(LastUsage(h, source)), "CloudTrailEventId") ==
        Member(UsageOf(LastUsage(h, destination)), "CloudTrailEventId"));
}

TEST_CASE("A failed or dry-run operation is not a use", "[ops][key_usage]") {
  OpHarness h;
  const std::string key = h.CreateSymmetricKey();
  h.SetRequestId("the-use");
  const std::string blob = BlobOf(h, key);
  h.SetRequestId("not-a-use");
  h.clock().Advance(60);

  SECTION("Decrypt with the wrong encryption context") {
    CHECK(h.Call("Decrypt", DecryptBody(blob, crypto::EncryptionContext{{"a", "b"}})).type ==
          "InvalidCiphertextException");
  }
  SECTION("Encrypt with DryRun") {
    CHECK(h.Call("Encrypt", WithMembers(EncryptBody(key), "\"DryRun\":true")).type ==
          "DryRunOperationException");
  }
  SECTION("Encrypt once the key is disabled") {
    REQUIRE(h.Call("DisableKey", KeyIdBody(key)).status == 200);
    CHECK(h.Call("Encrypt", EncryptBody(key)).type == "DisabledException");
  }
  SECTION("ReEncrypt to a key that does not exist") {
    CHECK(h.Call("ReEncrypt", ReEncryptBody(blob, "alias/none")).type == "NotFoundException");
  }
  SECTION("operations that are not cryptographic uses") {
    REQUIRE(h.Call("DescribeKey", KeyIdBody(key)).status == 200);
    REQUIRE(h.Call("GetKeyPolicy", KeyIdBody(key)).status == 200);
    REQUIRE(h.Call("GenerateRandom", R"({"NumberOfBytes":8})").status == 200);
    REQUIRE(h.Call("GetKeyLastUsage", KeyIdBody(key)).status == 200);
  }
  const CallResult r = LastUsage(h, key);
  CHECK(Member(UsageOf(r), "Operation") == "Encrypt");
  CHECK(Member(UsageOf(r), "KmsRequestId") == "the-use");
  CHECK(UsageOf(r)["Timestamp"].GetInt64() == kStart);
}

TEST_CASE("A failed signature or MAC verification is not a use", "[ops][key_usage]") {
  OpHarness h;
  SECTION("Verify") {
    const std::string key = h.CreateKeyOf("ECC_NIST_P256", "SIGN_VERIFY");
    JsonOut out;
    out.String("KeyId", key);
    out.String("Message", "aGVsbG8=");
    out.String("SigningAlgorithm", "ECDSA_SHA_256");
    out.String("Signature", "MAYCAQECAQE=");  // DER (1, 1): well-formed, wrong
    CHECK(h.Call("Verify", out.Finish()).type == "KMSInvalidSignatureException");
    CHECK(UsageOf(LastUsage(h, key)).ObjectEmpty());
  }
  SECTION("VerifyMac") {
    const std::string key = h.CreateKeyOf("HMAC_256", "GENERATE_VERIFY_MAC");
    JsonOut out;
    out.String("KeyId", key);
    out.String("Message", "aGVsbG8=");
    out.String("MacAlgorithm", "HMAC_SHA_256");
    out.String("Mac", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
    CHECK(h.Call("VerifyMac", out.Finish()).type == "KMSInvalidMacException");
    CHECK(UsageOf(LastUsage(h, key)).ObjectEmpty());
  }
}

TEST_CASE("The last use of the key itself wins", "[ops][key_usage]") {
  OpHarness h;
  const std::string key = h.CreateSymmetricKey();
  const std::string other = h.CreateSymmetricKey();
  h.SetRequestId("first");
  const std::string blob = BlobOf(h, key);
  h.clock().Advance(10);
  h.SetRequestId("second");
  REQUIRE(h.Call("Decrypt", DecryptBody(blob)).status == 200);
  h.SetRequestId("other");
  BlobOf(h, other);

  const CallResult r = LastUsage(h, key);
  CHECK(Member(UsageOf(r), "Operation") == "Decrypt");
  CHECK(Member(UsageOf(r), "KmsRequestId") == "second");
  CHECK(UsageOf(r)["Timestamp"].GetInt64() == kStart + 10);
}

TEST_CASE("CloudTrailEventId is one per request and the same every time it is read",
          "[ops][key_usage]") {
  TempDbFile db;
  OpHarness h(db.path());
  const std::string a = h.CreateSymmetricKey();
  const std::string b = h.CreateSymmetricKey();
  h.SetRequestId("request-a");
  BlobOf(h, a);
  h.SetRequestId("request-b");
  BlobOf(h, b);
  const std::string event_a = Member(UsageOf(LastUsage(h, a)), "CloudTrailEventId");
  CHECK(event_a != Member(UsageOf(LastUsage(h, b)), "CloudTrailEventId"));
  CHECK(event_a != "request-a");
  CHECK(event_a[14] == '4');                                                    // version 4 ...
  CHECK(std::string_view("89ab").find(event_a[19]) != std::string_view::npos);  // ... RFC 4122
  h.Reopen();
  CHECK(Member(UsageOf(LastUsage(h, a)), "CloudTrailEventId") == event_a);
}

TEST_CASE("GetKeyLastUsage takes a key id or key ARN but not an alias", "[ops][key_usage]") {
  OpHarness h;
  const std::string key = h.CreateSymmetricKey();
  h.CreateAlias("alias/app", key);
  BlobOf(h, "alias/app");  // a use through the alias is the key's use

  SECTION("key ARN") {
    const CallResult r = LastUsage(h, h.Arn(key));
    CHECK(Member(UsageOf(r), "Operation") == "Encrypt");
    CHECK(r.Str("KeyId") == key);
  }
  SECTION("alias name") {
    const CallResult r = LastUsage(h, "alias/app");
    CHECK(r.type == "NotFoundException");
    CHECK(r.message == "Invalid keyId 'alias/app'");
  }
  SECTION("alias ARN") {
    const CallResult r = LastUsage(h, h.AliasArn("alias/app"));
    CHECK(r.type == "NotFoundException");
    CHECK(r.message == "Invalid arn " + h.AliasArn("alias/app"));
  }
}

TEST_CASE("GetKeyLastUsage answers NotFoundException as the other key operations do",
          "[ops][key_usage]") {
  OpHarness h;
  const std::string key = h.CreateSymmetricKey();
  SECTION("a malformed id") {
    const CallResult r = LastUsage(h, "fake-key-id");
    CHECK(r.type == "NotFoundException");
    CHECK(r.message == "Invalid keyId 'fake-key-id'");
  }
  SECTION("a well-formed id of no key") {
    const std::string missing = "12345678-1234-4234-8234-123456789012";
    const CallResult r = LastUsage(h, missing);
    CHECK(r.type == "NotFoundException");
    CHECK(r.message == "Key '" + h.Arn(missing) + "' does not exist");
  }
  SECTION("a key ARN of another region") {
    const CallResult r = LastUsage(h, h.Arn(key, "eu-west-2"));
    CHECK(r.type == "NotFoundException");
    CHECK(r.message == "Invalid arn eu-west-2");
  }
  SECTION("the key's id, asked from another region") {
    const CallResult r = LastUsage(h, key, "eu-west-2");
    CHECK(r.type == "NotFoundException");
    CHECK(r.message == "Key '" + h.Arn(key, "eu-west-2") + "' does not exist");
  }
  SECTION("a key past its deletion date") {
    h.ScheduleDeletion(key, 7);
    h.clock().Advance(7 * kDay);
    const CallResult r = LastUsage(h, key);
    CHECK(r.type == "NotFoundException");
    CHECK(r.message == "Key '" + h.Arn(key) + "' does not exist");
  }
  SECTION("a missing KeyId") {
    const CallResult r = h.Call("GetKeyLastUsage", "{}");
    CHECK(r.type == "ValidationException");
  }
}

TEST_CASE("GetKeyLastUsage answers for a disabled key and one pending deletion",
          "[ops][key_usage]") {
  OpHarness h;
  const std::string key = h.CreateSymmetricKey();
  BlobOf(h, key);
  REQUIRE(h.Call("DisableKey", KeyIdBody(key)).status == 200);
  CHECK(Member(UsageOf(LastUsage(h, key)), "Operation") == "Encrypt");
  h.ScheduleDeletion(key, 7);
  CHECK(Member(UsageOf(LastUsage(h, key)), "Operation") == "Encrypt");
}

TEST_CASE("Each region tracks its own keys", "[ops][key_usage]") {
  OpHarness h;
  const std::string east = h.CreateSymmetricKey();
  const std::string west = h.CreateSymmetricKey("eu-west-2");
  JsonOut out;
  out.String("KeyId", west);
  out.String("Plaintext", "aGk=");
  REQUIRE(h.Call("Encrypt", out.Finish(), "eu-west-2").status == 200);
  CHECK(Member(UsageOf(LastUsage(h, west, "eu-west-2")), "Operation") == "Encrypt");
  CHECK(UsageOf(LastUsage(h, east)).ObjectEmpty());
}

TEST_CASE("Usage survives a graceful restart; a crash loses only what was not flushed",
          "[ops][key_usage]") {
  TempDbFile db;
  OpHarness h(db.path());
  const std::string flushed = h.CreateSymmetricKey();
  const std::string unflushed = h.CreateSymmetricKey();
  h.SetRequestId("flushed-use");
  const std::string blob = BlobOf(h, flushed);
  REQUIRE(h.FlushKeyUsage() == 1);
  h.clock().Advance(1);
  h.SetRequestId("later-use");
  BlobOf(h, unflushed);
  REQUIRE(h.Call("Decrypt", DecryptBody(blob)).status == 200);

  SECTION("graceful: every use is kept") {
    h.Reopen();
    CHECK(Member(UsageOf(LastUsage(h, flushed)), "Operation") == "Decrypt");
    CHECK(Member(UsageOf(LastUsage(h, flushed)), "KmsRequestId") == "later-use");
    CHECK(Member(UsageOf(LastUsage(h, unflushed)), "Operation") == "Encrypt");
  }
  SECTION("crash: the flushed use is kept, the later ones are lost") {
    h.ReopenAfterCrash();
    CHECK(Member(UsageOf(LastUsage(h, flushed)), "Operation") == "Encrypt");
    CHECK(Member(UsageOf(LastUsage(h, flushed)), "KmsRequestId") == "flushed-use");
    CHECK(UsageOf(LastUsage(h, unflushed)).ObjectEmpty());
  }
}

TEST_CASE("Deleting a key forgets its usage", "[ops][key_usage]") {
  OpHarness h;
  const std::string key = h.CreateSymmetricKey();
  const std::string kept = h.CreateSymmetricKey();
  BlobOf(h, key);
  BlobOf(h, kept);
  h.ScheduleDeletion(key, 7);
  h.clock().Advance(7 * kDay);
  REQUIRE(h.Call("ListKeys", "{}").status == 200);  // purges the expired key
  REQUIRE(h.registry().FindKey(kUsEast, key) == nullptr);
  CHECK_FALSE(h.key_usage().Find(kUsEast, key).has_value());
  CHECK(h.key_usage().Find(kUsEast, kept).has_value());
  CHECK(h.FlushKeyUsage() == 1);  // the kept key's use only
}

TEST_CASE("Replicas track their own usage and a replica made again starts without any",
          "[ops][key_usage]") {
  OpHarness h;
  const std::string id =
      h.Call("CreateKey", R"({"MultiRegion":true})").json["KeyMetadata"]["KeyId"].GetString();
  JsonOut replicate;
  replicate.String("KeyId", id);
  replicate.String("ReplicaRegion", "eu-west-2");
  const std::string replicate_body = replicate.Finish();
  REQUIRE(h.Call("ReplicateKey", replicate_body).status == 200);
  h.clock().Advance(1);  // the replica is Enabled after its second of Creating
  JsonOut encrypt;
  encrypt.String("KeyId", id);
  encrypt.String("Plaintext", "aGk=");
  h.SetRequestId("replica-use");
  REQUIRE(h.Call("Encrypt", encrypt.Finish(), "eu-west-2").status == 200);
  CHECK(Member(UsageOf(LastUsage(h, id, "eu-west-2")), "KmsRequestId") == "replica-use");
  CHECK(UsageOf(LastUsage(h, id)).ObjectEmpty());  // the primary was not used

  REQUIRE(h.Call("ScheduleKeyDeletion", ScheduleDeletionBody(id, 7), "eu-west-2").status == 200);
  h.clock().Advance(7 * kDay);
  REQUIRE(h.Call("ReplicateKey", replicate_body).status == 200);  // replaces the deleted one
  const storage::Scope eu_west{"111122223333", "eu-west-2"};
  CHECK_FALSE(h.key_usage().Find(eu_west, id).has_value());
  h.clock().Advance(1);
  CHECK(UsageOf(LastUsage(h, id, "eu-west-2")).ObjectEmpty());
}

TEST_CASE("A use older than the key is not the key's", "[ops][key_usage]") {
  // A replica deleted and replicated again into a region has the same id there; the tracker
  // may still hold the first one's use.
  OpHarness h;
  const std::string key = h.CreateSymmetricKey();
  h.key_usage().Record(kUsEast, key, "Encrypt", kStart - 1, "from-an-earlier-key");
  CHECK(UsageOf(LastUsage(h, key)).ObjectEmpty());
}

}  // namespace
}  // namespace kms::testing
