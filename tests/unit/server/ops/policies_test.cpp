// Tests for server/ops/policies.cpp: GetKeyPolicy, PutKeyPolicy, ListKeyPolicies, the
// default key policy and the policy shape check.
#include "server/ops/policies.hpp"

#include <string>

#include <catch2/catch.hpp>
#include <rapidjson/document.h>

#include "server/protocol/json_io.hpp"
#include "tests/unit/server/ops/op_harness.hpp"

namespace {

using kms::server::JsonOut;
using namespace kms::testing;

// The default policy exactly as AWS pretty-prints it, for account 111122223333.
const std::string kDefaultPolicy = R"({
  "Version" : "2012-10-17",
  "Id" : "key-default-1",
  "Statement" : [ {
    "Sid" : "Enable IAM User Permissions",
    "Effect" : "Allow",
    "Principal" : {
      "AWS" : "arn:aws:iam::111122223333:root"
    },
    "Action" : "kms:*",
    "Resource" : "*"
  } ]
})";

// Calls PutKeyPolicy with `policy` as the Policy string and the raw members `extra`.
CallResult Put(OpHarness& h, const std::string& key_ref, const std::string& policy,
               const std::string& extra = {}) {
  JsonOut out;
  out.String("KeyId", key_ref);
  out.String("Policy", policy);
  return h.Call("PutKeyPolicy", WithMembers(out.Finish(), extra));
}

}  // namespace

TEST_CASE("A new key has AWS's default policy, pretty-printed as AWS does", "[ops][policies]") {
  OpHarness h;
  const std::string id = h.CreateSymmetricKey();
  const std::string body = GENERATE(as<std::string>{}, "", R"("PolicyName":"default")");
  const std::string key_ref = RefOf(h, GENERATE(as<std::string>{}, "key id", "key ARN"), id);

  CallResult r = h.Call("GetKeyPolicy", WithMembers(KeyIdBody(key_ref), body));
  REQUIRE(r.status == 200);
  CHECK(r.Str("Policy") == kDefaultPolicy);
  CHECK(r.Str("PolicyName") == "default");
}

TEST_CASE("DefaultKeyPolicy is valid JSON naming the caller's account root", "[ops][policies]") {
  OpHarness h;
  const kms::ops::OpContext ctx{
      h.registry(), h.clock(), h.config(), {"444455556666", "eu-west-2"}, "policy-test"};
  const std::string policy = kms::ops::DefaultKeyPolicy(ctx);
  rapidjson::Document doc;
  doc.Parse(policy.c_str());
  REQUIRE_FALSE(doc.HasParseError());
  CHECK(std::string(doc["Version"].GetString()) == "2012-10-17");
  CHECK(std::string(doc["Id"].GetString()) == "key-default-1");
  REQUIRE(doc["Statement"].Size() == 1);
  const auto& s = doc["Statement"][0];
  CHECK(std::string(s["Sid"].GetString()) == "Enable IAM User Permissions");
  CHECK(std::string(s["Effect"].GetString()) == "Allow");
  CHECK(std::string(s["Principal"]["AWS"].GetString()) == "arn:aws:iam::444455556666:root");
  CHECK(std::string(s["Action"].GetString()) == "kms:*");
  CHECK(std::string(s["Resource"].GetString()) == "*");
  CHECK(kms::ops::CheckPolicyDocument(policy).has_value());
}

TEST_CASE("PutKeyPolicy replaces the policy text exactly", "[ops][policies]") {
  OpHarness h;
  const std::string id = h.CreateSymmetricKey();
  const std::string key_ref = RefOf(h, GENERATE(as<std::string>{}, "key id", "key ARN"), id);
  const std::string policy =
      "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": {\"Effect\": \"Deny\"}\n}";

  CallResult r =
      Put(h, key_ref, policy, R"("PolicyName":"default","BypassPolicyLockoutSafetyCheck":true)");
  REQUIRE(r.status == 200);
  CHECK(r.body == "{}");
  CHECK(h.Call("GetKeyPolicy", KeyIdBody(id)).Str("Policy") == policy);
}

TEST_CASE("Policy operations know only the policy named default", "[ops][policies]") {
  OpHarness h;
  const std::string id = h.CreateSymmetricKey();
  SECTION("GetKeyPolicy") {
    CallResult r = h.Call("GetKeyPolicy", R"({"KeyId":")" + id + R"(","PolicyName":"other"})");
    CHECK(r.type == "NotFoundException");
    CHECK(r.message == "No such policy exists");
  }
  SECTION("PutKeyPolicy") {
    CallResult r = Put(h, id, R"({"Statement":[{}]})", R"("PolicyName":"other")");
    CHECK(r.type == "NotFoundException");
    CHECK(r.message == "No such policy exists");
    CHECK(h.Call("GetKeyPolicy", KeyIdBody(id)).Str("Policy") == kDefaultPolicy);
  }
}

TEST_CASE("PutKeyPolicy rejects a document that is not a policy", "[ops][policies]") {
  OpHarness h;
  const std::string id = h.CreateSymmetricKey();
  using Case = std::pair<std::string, std::string>;
  const Case c =
      GENERATE(Case{"{not json", "The key policy is not valid JSON."},
               Case{R"({"Statement":[]} trailing)", "The key policy is not valid JSON."},
               Case{R"([{"Statement":[]}])", "The key policy must be a JSON object."},
               Case{R"("text")", "The key policy must be a JSON object."},
               Case{R"({"Version":"2012-10-17"})", "The key policy must contain a Statement."},
               Case{R"({"Statement":"allow"})",
                    "The key policy Statement must be an object or a non-empty list of objects."},
               Case{R"({"Statement":[]})",
                    "The key policy Statement must be an object or a non-empty list of objects."},
               Case{R"({"Statement":[{},"x"]})",
                    "The key policy Statement must be an object or a non-empty list of objects."});

  CallResult r = Put(h, id, c.first);
  CHECK(r.status == 400);
  CHECK(r.type == "MalformedPolicyDocumentException");
  CHECK(r.message == c.second);
  CHECK(h.Call("GetKeyPolicy", KeyIdBody(id)).Str("Policy") == kDefaultPolicy);
}

TEST_CASE("ListKeyPolicies lists the one default policy", "[ops][policies]") {
  OpHarness h;
  const std::string id = h.CreateSymmetricKey();
  const std::string key_ref = RefOf(h, GENERATE(as<std::string>{}, "key id", "key ARN"), id);
  CallResult r = h.Call("ListKeyPolicies", WithMembers(KeyIdBody(key_ref), R"("Limit":1)"));
  REQUIRE(r.status == 200);
  CHECK(r.body == R"({"PolicyNames":["default"],"Truncated":false})");
}

TEST_CASE("Policy reads work in every key state and writes stop at pending deletion",
          "[ops][policies][state]") {
  OpHarness h;
  const std::string id = h.CreateSymmetricKey();
  SECTION("Disabled") {
    REQUIRE(h.Call("DisableKey", KeyIdBody(id)).status == 200);
    CHECK(h.Call("GetKeyPolicy", KeyIdBody(id)).status == 200);
    CHECK(h.Call("ListKeyPolicies", KeyIdBody(id)).status == 200);
    CHECK(Put(h, id, R"({"Statement":{}})").status == 200);
  }
  SECTION("PendingDeletion") {
    REQUIRE(h.Call("ScheduleKeyDeletion", KeyIdBody(id)).status == 200);
    CHECK(h.Call("GetKeyPolicy", KeyIdBody(id)).Str("Policy") == kDefaultPolicy);
    CHECK(h.Call("ListKeyPolicies", KeyIdBody(id)).status == 200);
    CallResult r = Put(h, id, R"({"Statement":{}})");
    CHECK(r.type == "KMSInvalidStateException");
    CHECK(r.message == h.Arn(id) + " is pending deletion.");
    CHECK(h.Call("GetKeyPolicy", KeyIdBody(id)).Str("Policy") == kDefaultPolicy);
  }
}

TEST_CASE("Policy operations take a key id or key ARN, not an alias", "[ops][policies]") {
  OpHarness h;
  const std::string id = h.CreateSymmetricKey();
  h.InsertAlias("alias/pol", id);
  const std::string op =
      GENERATE(as<std::string>{}, "GetKeyPolicy", "PutKeyPolicy", "ListKeyPolicies");
  CallResult r = h.Call(op, R"({"KeyId":"alias/pol","Policy":"{\"Statement\":{}}"})");
  CHECK(r.type == "NotFoundException");
  CHECK(r.message == "Invalid keyId 'alias/pol'");
}

TEST_CASE("Policy operations on an unknown key are NotFoundException", "[ops][policies]") {
  OpHarness h;
  const std::string id = "11111111-2222-4333-8444-555555555555";
  const std::string op =
      GENERATE(as<std::string>{}, "GetKeyPolicy", "PutKeyPolicy", "ListKeyPolicies");
  CallResult r = h.Call(op, R"({"KeyId":")" + id + R"(","Policy":"{\"Statement\":{}}"})");
  CHECK(r.type == "NotFoundException");
  CHECK(r.message == "Key '" + h.Arn(id) + "' does not exist");
}

TEST_CASE("PutKeyPolicy refuses a policy over 32768 bytes as a LimitExceededException",
          "[ops][policies][regression][issue17]") {
  OpHarness h;
  const std::string id = h.CreateSymmetricKey();
  REQUIRE(kms::ops::kMaxKeyPolicyBytes == 32768);

  const std::string fits = PolicyOfBytes(32768);
  REQUIRE(fits.size() == 32768);
  REQUIRE(Put(h, id, fits).status == 200);
  CHECK(h.Call("GetKeyPolicy", KeyIdBody(id)).Str("Policy") == fits);

  // 32769 bytes but about 16400 characters: the quota counts bytes. The service model's own
  // limit (131072 characters) is a ValidationException, checked before.
  const std::size_t bytes = GENERATE(std::size_t{32769}, std::size_t{32770}, std::size_t{100'000});
  const std::string over = PolicyOfBytes(bytes);
  CallResult r = Put(h, id, over);
  CHECK(r.status == 400);
  CHECK(r.type == "LimitExceededException");
  CHECK(r.message == "The key policy exceeds the maximum size of 32768 bytes.");
  CHECK(h.Call("GetKeyPolicy", KeyIdBody(id)).Str("Policy") == fits);
}

TEST_CASE("CheckPolicyDocument checks the size before the JSON",
          "[ops][policies][regression][issue17]") {
  CHECK(kms::ops::CheckPolicyDocument(PolicyOfBytes(32768)).has_value());
  auto r = kms::ops::CheckPolicyDocument(std::string(32769, '{'));
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == kms::server::ErrorCode::kLimitExceeded);
  CHECK_FALSE(kms::ops::CheckPolicyDocument(std::string(32768, '{')).has_value());
}

TEST_CASE("PutKeyPolicy names a missing key before a malformed or oversized policy",
          "[ops][policies][order]") {
  OpHarness h;
  const std::string missing = "11111111-2222-4333-8444-555555555555";
  const std::string policy =
      GENERATE(std::string("not json"), std::string("[1]"),
               std::string(R"({"Version":"2012-10-17"})"), PolicyOfBytes(40'000));
  CallResult r = Put(h, missing, policy);
  CHECK(r.type == "NotFoundException");
  CHECK(r.message == "Key '" + h.Arn(missing) + "' does not exist");
  // A wrong PolicyName too: the key still comes first.
  CallResult named = Put(h, missing, policy, R"("PolicyName":"other")");
  CHECK(named.type == "NotFoundException");
  CHECK(named.message == "Key '" + h.Arn(missing) + "' does not exist");
  // On a key that exists, the policy's own error.
  const std::string id = h.CreateSymmetricKey();
  CHECK(Put(h, id, policy).type != "NotFoundException");
}
