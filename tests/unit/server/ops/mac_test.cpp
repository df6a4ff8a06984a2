// Tests for server/ops/mac.cpp: GenerateMac and VerifyMac, through the dispatcher.
#include <initializer_list>
#include <string>
#include <string_view>

#include <catch2/catch.hpp>

#include "crypto/base64.hpp"
#include "crypto/bytes.hpp"
#include "crypto/hmac.hpp"
#include "server/protocol/json_io.hpp"
#include "tests/unit/server/ops/op_harness.hpp"

namespace kms::testing {
namespace {

using crypto::Bytes;
using server::JsonOut;

struct Spec {
  const char* key_spec;
  const char* algorithm;
  crypto::HmacDigest digest;
};

constexpr Spec kSpecs[] = {
    {"HMAC_224", "HMAC_SHA_224", crypto::HmacDigest::kSha224},
    {"HMAC_256", "HMAC_SHA_256", crypto::HmacDigest::kSha256},
    {"HMAC_384", "HMAC_SHA_384", crypto::HmacDigest::kSha384},
    {"HMAC_512", "HMAC_SHA_512", crypto::HmacDigest::kSha512},
};

std::string B64(std::string_view text) { return crypto::Base64Encode(crypto::AsBytes(text)); }

std::string MacBody(std::string_view key_ref, std::string_view message, std::string_view algorithm,
                    std::string_view mac_b64 = {}) {
  JsonOut out;
  out.String("KeyId", key_ref);
  out.String("Message", B64(message));
  out.String("MacAlgorithm", algorithm);
  if (!mac_b64.empty()) out.String("Mac", mac_b64);
  return out.Finish();
}

// The key's material, as kmsd keys its HMACs.
Bytes MaterialOf(OpHarness& h, const std::string& key_id) {
  auto key = h.registry().FindKey(kUsEast, key_id);
  REQUIRE(key != nullptr);
  const auto& m = key->materials.at(0);
  return Bytes(m.bytes.begin(), m.bytes.end());
}

std::string GenerateOk(OpHarness& h, std::string_view key_ref, std::string_view message,
                       std::string_view algorithm) {
  CallResult r = h.Call("GenerateMac", MacBody(key_ref, message, algorithm));
  REQUIRE(r.status == 200);
  return r.Str("Mac");
}

TEST_CASE("GenerateMac is HMAC under the key material for every HMAC spec and key reference",
          "[ops][mac]") {
  const Spec spec =
      GENERATE(values(std::initializer_list<Spec>{kSpecs[0], kSpecs[1], kSpecs[2], kSpecs[3]}));
  CAPTURE(spec.key_spec);
  OpHarness h;
  const std::string id = h.CreateKeyOf(spec.key_spec, "GENERATE_VERIFY_MAC");
  h.CreateAlias("alias/mac", id);
  const std::string form =
      GENERATE(as<std::string>{}, "key id", "key ARN", "alias name", "alias ARN");
  CallResult r =
      h.Call("GenerateMac", MacBody(RefOf(h, form, id, "alias/mac"), "hello mac", spec.algorithm));
  REQUIRE(r.status == 200);
  CHECK(r.Str("KeyId") == h.Arn(id));
  CHECK(r.Str("MacAlgorithm") == spec.algorithm);
  auto expected = crypto::Hmac(spec.digest, MaterialOf(h, id), crypto::AsBytes("hello mac"));
  REQUIRE(expected);
  CHECK(Decoded(r, "Mac") == *expected);
  CHECK(Decoded(r, "Mac").size() == crypto::HmacSize(spec.digest));

  CallResult v = h.Call("VerifyMac", MacBody(RefOf(h, form, id, "alias/mac"), "hello mac",
                                             spec.algorithm, r.Str("Mac")));
  REQUIRE(v.status == 200);
  CHECK(v.Str("KeyId") == h.Arn(id));
  CHECK(v.Str("MacAlgorithm") == spec.algorithm);
  REQUIRE(v.json.HasMember("MacValid"));
  CHECK(v.json["MacValid"].GetBool());
}

TEST_CASE("Two HMAC keys of one spec give different MACs", "[ops][mac]") {
  OpHarness h;
  const std::string a = h.CreateKeyOf("HMAC_256", "GENERATE_VERIFY_MAC");
  const std::string b = h.CreateKeyOf("HMAC_256", "GENERATE_VERIFY_MAC");
  const std::string mac_a = GenerateOk(h, a, "m", "HMAC_SHA_256");
  CHECK(mac_a != GenerateOk(h, b, "m", "HMAC_SHA_256"));
  CHECK(mac_a == GenerateOk(h, a, "m", "HMAC_SHA_256"));
  CallResult wrong_key = h.Call("VerifyMac", MacBody(b, "m", "HMAC_SHA_256", mac_a));
  CHECK(wrong_key.type == "KMSInvalidMacException");
}

TEST_CASE("VerifyMac raises KMSInvalidMacException with no message for any other MAC",
          "[ops][mac]") {
  OpHarness h;
  const std::string id = h.CreateKeyOf("HMAC_384", "GENERATE_VERIFY_MAC");
  const std::string good = GenerateOk(h, id, "payload", "HMAC_SHA_384");
  Bytes raw = *crypto::Base64Decode(good);

  auto check_invalid = [&](std::string_view message, const Bytes& mac) {
    CallResult r =
        h.Call("VerifyMac", MacBody(id, message, "HMAC_SHA_384", crypto::Base64Encode(mac)));
    CHECK(r.status == 400);
    CHECK(r.type == "KMSInvalidMacException");
    CHECK(r.body == R"({"__type":"KMSInvalidMacException"})");
  };
  SECTION("a flipped bit") {
    raw[5] ^= 0x10;
    check_invalid("payload", raw);
  }
  SECTION("another message") { check_invalid("Payload", raw); }
  SECTION("truncated") {
    raw.pop_back();
    check_invalid("payload", raw);
  }
  SECTION("longer") {
    raw.push_back(0);
    check_invalid("payload", raw);
  }
  SECTION("a MAC of another digest's length") { check_invalid("payload", Bytes(32, 0)); }
}

TEST_CASE("GenerateMac and VerifyMac refuse keys that are not for MACs", "[ops][mac]") {
  OpHarness h;
  const std::string symmetric = h.CreateSymmetricKey();
  const std::string ecc = h.CreateKeyOf("ECC_NIST_P256", "SIGN_VERIFY");
  for (const char* op : {"GenerateMac", "VerifyMac"}) {
    CAPTURE(op);
    const std::string mac = std::string(op) == "VerifyMac" ? B64("0123456789abcdef") : "";
    CallResult r = h.Call(op, MacBody(symmetric, "m", "HMAC_SHA_256", mac));
    CHECK(r.type == "InvalidKeyUsageException");
    CHECK(r.message ==
          h.Arn(symmetric) + " key usage is ENCRYPT_DECRYPT which is not valid for " + op + ".");
    CallResult e = h.Call(op, MacBody(ecc, "m", "HMAC_SHA_256", mac));
    CHECK(e.type == "InvalidKeyUsageException");
    CHECK(e.message == h.Arn(ecc) + " key usage is SIGN_VERIFY which is not valid for " + op + ".");
  }
}

TEST_CASE("A MacAlgorithm that does not match the key spec is InvalidKeyUsageException",
          "[ops][mac]") {
  OpHarness h;
  const std::string id = h.CreateKeyOf("HMAC_224", "GENERATE_VERIFY_MAC");
  CallResult r = h.Call("GenerateMac", MacBody(id, "m", "HMAC_SHA_256"));
  CHECK(r.type == "InvalidKeyUsageException");
  CHECK(r.message == "Algorithm HMAC_SHA_256 is incompatible with key spec HMAC_224.");
  const std::string mac = GenerateOk(h, id, "m", "HMAC_SHA_224");
  CallResult v = h.Call("VerifyMac", MacBody(id, "m", "HMAC_SHA_512", mac));
  CHECK(v.type == "InvalidKeyUsageException");
  CHECK(v.message == "Algorithm HMAC_SHA_512 is incompatible with key spec HMAC_224.");

  CallResult unknown = h.Call("GenerateMac", MacBody(id, "m", "HMAC_SHA_1"));
  CHECK(unknown.type == "ValidationException");
  CHECK(unknown.message ==
        "1 validation error detected: Value 'HMAC_SHA_1' at 'macAlgorithm' failed to satisfy "
        "constraint: Member must satisfy enum value set: [HMAC_SHA_384, HMAC_SHA_256, "
        "HMAC_SHA_224, HMAC_SHA_512]");
}

TEST_CASE("GenerateMac and VerifyMac need an enabled key that exists", "[ops][mac]") {
  OpHarness h;
  const std::string id = h.CreateKeyOf("HMAC_256", "GENERATE_VERIFY_MAC");
  const std::string mac = GenerateOk(h, id, "m", "HMAC_SHA_256");
  REQUIRE(h.Call("DisableKey", KeyIdBody(id)).status == 200);
  CallResult disabled = h.Call("GenerateMac", MacBody(id, "m", "HMAC_SHA_256"));
  CHECK(disabled.type == "DisabledException");
  CHECK(disabled.message == h.Arn(id) + " is disabled.");
  CHECK(h.Call("VerifyMac", MacBody(id, "m", "HMAC_SHA_256", mac)).type == "DisabledException");

  REQUIRE(h.Call("EnableKey", KeyIdBody(id)).status == 200);
  h.ScheduleDeletion(id);
  CallResult pending = h.Call("VerifyMac", MacBody(id, "m", "HMAC_SHA_256", mac));
  CHECK(pending.type == "KMSInvalidStateException");
  CHECK(pending.message == h.Arn(id) + " is pending deletion.");

  const std::string missing = "00000000-0000-4000-8000-000000000000";
  CallResult r = h.Call("GenerateMac", MacBody(missing, "m", "HMAC_SHA_256"));
  CHECK(r.type == "NotFoundException");
  CHECK(r.message == "Key '" + h.Arn(missing) + "' does not exist");
}

TEST_CASE("GenerateMac and VerifyMac validate the request shape", "[ops][mac]") {
  OpHarness h;
  const std::string id = h.CreateKeyOf("HMAC_256", "GENERATE_VERIFY_MAC");
  CHECK(h.Call("GenerateMac", R"({"KeyId":")" + id + R"(","MacAlgorithm":"HMAC_SHA_256"})").type ==
        "ValidationException");
  CHECK(h.Call("VerifyMac", MacBody(id, "m", "HMAC_SHA_256")).type == "ValidationException");
  CHECK(h.Call("GenerateMac", MacBody(id, std::string(4096, 'x'), "HMAC_SHA_256")).status == 200);
  CallResult big = h.Call("GenerateMac", MacBody(id, std::string(4097, 'x'), "HMAC_SHA_256"));
  CHECK(big.type == "ValidationException");
  CHECK(h.Call("GenerateMac", MacBody(id, "", "HMAC_SHA_256")).type == "ValidationException");
}

TEST_CASE("GenerateMac and VerifyMac check DryRun last and ignore GrantTokens", "[ops][mac]") {
  OpHarness h;
  const std::string id = h.CreateKeyOf("HMAC_512", "GENERATE_VERIFY_MAC");
  const std::string mac = GenerateOk(h, id, "m", "HMAC_SHA_512");
  const std::string text = "The request would have succeeded, but the DryRun option is set.";
  CallResult g =
      h.Call("GenerateMac", WithMembers(MacBody(id, "m", "HMAC_SHA_512"), R"("DryRun":true)"));
  CHECK(g.type == "DryRunOperationException");
  CHECK(g.message == text);
  CallResult v =
      h.Call("VerifyMac", WithMembers(MacBody(id, "m", "HMAC_SHA_512", mac), R"("DryRun":true)"));
  CHECK(v.type == "DryRunOperationException");
  CallResult wrong =
      h.Call("GenerateMac", WithMembers(MacBody(id, "m", "HMAC_SHA_256"), R"("DryRun":true)"));
  CHECK(wrong.type == "InvalidKeyUsageException");
  CallResult no_dry =
      h.Call("GenerateMac", WithMembers(MacBody(id, "m", "HMAC_SHA_512"), R"("DryRun":false)"));
  CHECK(no_dry.status == 200);
  CallResult grants = h.Call(
      "VerifyMac", WithMembers(MacBody(id, "m", "HMAC_SHA_512", mac), h.GrantTokensMember(id)));
  CHECK(grants.status == 200);
}

TEST_CASE("An HMAC key gives the same MACs after a restart", "[ops][mac]") {
  const TempDbFile db;
  OpHarness h(db.path());
  const std::string id = h.CreateKeyOf("HMAC_256", "GENERATE_VERIFY_MAC");
  const std::string before = GenerateOk(h, id, "durable", "HMAC_SHA_256");
  h.Reopen();
  CHECK(GenerateOk(h, id, "durable", "HMAC_SHA_256") == before);
  CHECK(h.Call("VerifyMac", MacBody(id, "durable", "HMAC_SHA_256", before)).status == 200);
}

}  // namespace
}  // namespace kms::testing
