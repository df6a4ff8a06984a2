// Tests for server/ops/key_lookup.cpp: how a client's key reference resolves (through
// DescribeKey, which takes every form, and EnableKey, which takes key id or key ARN only),
// and the shared state, usage and DryRun checks.
#include "server/ops/key_lookup.hpp"

#include <string>
#include <utility>

#include <catch2/catch.hpp>
#include <rapidjson/document.h>

#include "tests/unit/server/ops/op_harness.hpp"

namespace {

using namespace kms::testing;

kms::ops::OpContext ContextOf(OpHarness& h) {
  return {h.registry(), h.clock(), h.config(), kUsEast, "lookup-test"};
}

kms::storage::KeyRecord KeyInState(const std::string& state) {
  kms::storage::KeyRecord key;
  key.scope = kUsEast;
  key.key_id = "11111111-2222-4333-8444-555555555555";
  key.key_state = Parsed<kms::domain::KeyState>(state);
  return key;
}

}  // namespace

TEST_CASE("A malformed key id is NotFoundException naming the id", "[ops][key_lookup]") {
  OpHarness h;
  h.CreateSymmetricKey();
  const std::string op = GENERATE(as<std::string>{}, "DescribeKey", "EnableKey");
  const std::string id =
      GENERATE(as<std::string>{}, "fake-key-id", "0123456789abcdef0123456789abcdef",
               "mrk-fake-key-id", "mrk-0123456789abcdef", "11111111-2222-4333-8444-55555555555",
               "11111111-2222-4333-8444-5555555555555", "11111111x2222-4333-8444-555555555555");
  CallResult r = h.Call(op, KeyIdBody(id));
  CHECK(r.status == 400);
  CHECK(r.type == "NotFoundException");
  CHECK(r.message == "Invalid keyId '" + id + "'");
}

TEST_CASE("A well-formed unknown key id does not exist, named by its full ARN",
          "[ops][key_lookup]") {
  OpHarness h;
  const std::string op = GENERATE(as<std::string>{}, "DescribeKey", "EnableKey");
  const std::string id = GENERATE(as<std::string>{}, "11111111-2222-4333-8444-555555555555",
                                  "mrk-0123456789abcdef0123456789abcdef");
  const bool as_arn = GENERATE(false, true);
  CallResult r = h.Call(op, KeyIdBody(as_arn ? h.Arn(id) : id));
  CHECK(r.status == 400);
  CHECK(r.type == "NotFoundException");
  CHECK(r.message == "Key '" + h.Arn(id) + "' does not exist");
}

TEST_CASE("A key ARN with a malformed id is an invalid keyId naming the ARN", "[ops][key_lookup]") {
  OpHarness h;
  const std::string arn = h.Arn("fake-key-id");
  CallResult r = h.Call("DescribeKey", KeyIdBody(arn));
  CHECK(r.type == "NotFoundException");
  CHECK(r.message == "Invalid keyId '" + arn + "'");
}

TEST_CASE("A key ARN naming another region is an invalid ARN", "[ops][key_lookup]") {
  OpHarness h;
  const std::string id = h.CreateSymmetricKey();
  const std::string op = GENERATE(as<std::string>{}, "DescribeKey", "EnableKey");
  CallResult r = h.Call(op, KeyIdBody(h.Arn(id, "eu-west-2")));
  CHECK(r.type == "NotFoundException");
  CHECK(r.message == "Invalid arn eu-west-2");
}

TEST_CASE("A key ARN naming another account does not exist", "[ops][key_lookup]") {
  OpHarness h;
  const std::string id = h.CreateSymmetricKey();
  const std::string arn = "arn:aws:kms:us-east-1:444455556666:key/" + id;
  CallResult r = h.Call("DescribeKey", KeyIdBody(arn));
  CHECK(r.type == "NotFoundException");
  CHECK(r.message == "Key '" + arn + "' does not exist");
}

TEST_CASE("An ARN that is not a KMS key or alias ARN is invalid", "[ops][key_lookup]") {
  OpHarness h;
  const std::string arn = GENERATE(as<std::string>{}, "arn:aws:s3:us-east-1:111122223333:key/x",
                                   "arn:aws:kms:us-east-1:111122223333:grant/x", "arn:aws:kms");
  CallResult r = h.Call("DescribeKey", KeyIdBody(arn));
  CHECK(r.type == "NotFoundException");
  CHECK(r.message == "Invalid arn " + arn);
}

TEST_CASE("Alias names and alias ARNs resolve where every form is accepted", "[ops][key_lookup]") {
  OpHarness h;
  const std::string id = h.CreateSymmetricKey();
  h.InsertAlias("alias/lookup", id);
  const std::string ref = GENERATE(as<std::string>{}, "alias/lookup",
                                   "arn:aws:kms:us-east-1:111122223333:alias/lookup");
  CallResult r = h.Call("DescribeKey", KeyIdBody(ref));
  REQUIRE(r.status == 200);
  CHECK(std::string(r.json["KeyMetadata"]["KeyId"].GetString()) == id);
}

TEST_CASE("An unknown alias is not found, named by its alias ARN", "[ops][key_lookup]") {
  OpHarness h;
  const std::string ref = GENERATE(as<std::string>{}, "alias/nobody",
                                   "arn:aws:kms:us-east-1:111122223333:alias/nobody");
  CallResult r = h.Call("DescribeKey", KeyIdBody(ref));
  CHECK(r.type == "NotFoundException");
  CHECK(r.message == "Alias arn:aws:kms:us-east-1:111122223333:alias/nobody is not found.");
}

TEST_CASE("Key-id-only operations reject both alias forms", "[ops][key_lookup]") {
  OpHarness h;
  const std::string id = h.CreateSymmetricKey();
  h.InsertAlias("alias/lookup", id);
  SECTION("alias name") {
    CallResult r = h.Call("EnableKey", KeyIdBody("alias/lookup"));
    CHECK(r.type == "NotFoundException");
    CHECK(r.message == "Invalid keyId 'alias/lookup'");
  }
  SECTION("alias ARN") {
    const std::string arn = "arn:aws:kms:us-east-1:111122223333:alias/lookup";
    CallResult r = h.Call("EnableKey", KeyIdBody(arn));
    CHECK(r.type == "NotFoundException");
    CHECK(r.message == "Invalid arn " + arn);
  }
}

TEST_CASE("IsWellFormedKeyId accepts lowercase UUIDs and mrk ids only", "[ops][key_lookup]") {
  using kms::ops::IsWellFormedKeyId;
  CHECK(IsWellFormedKeyId("11111111-2222-4333-8444-555555555555"));
  CHECK(IsWellFormedKeyId("mrk-0123456789abcdef0123456789abcdef"));
  CHECK_FALSE(IsWellFormedKeyId(""));
  CHECK_FALSE(IsWellFormedKeyId("fake-key-id"));
  CHECK_FALSE(IsWellFormedKeyId("0123456789abcdef0123456789abcdef"));
  CHECK_FALSE(IsWellFormedKeyId("mrk-fake-key-id"));
  CHECK_FALSE(IsWellFormedKeyId("mrk-0123456789abcdef0123456789abcdeg"));
  CHECK_FALSE(IsWellFormedKeyId("11111111-2222-4333-8444-55555555555g"));
  CHECK_FALSE(IsWellFormedKeyId("111111112-222-4333-8444-555555555555"));
}

TEST_CASE("IsGone is true only for a pending-deletion key past its date", "[ops][key_lookup]") {
  kms::storage::KeyRecord key = KeyInState("PendingDeletion");
  key.deletion_date = kStart + 100;
  CHECK_FALSE(kms::ops::IsGone(key, kStart + 99));
  CHECK(kms::ops::IsGone(key, kStart + 100));
  CHECK(kms::ops::IsGone(key, kStart + 101));
  key.key_state = kms::domain::KeyState::kDisabled;
  CHECK_FALSE(kms::ops::IsGone(key, kStart + 101));
}

TEST_CASE("KeyStateError names the key and its state in AWS's words", "[ops][key_lookup]") {
  OpHarness h;
  const auto ctx = ContextOf(h);
  const std::string arn = h.Arn("11111111-2222-4333-8444-555555555555");

  auto disabled = kms::ops::KeyStateError(ctx, KeyInState("Disabled"));
  CHECK(disabled.code == kms::server::ErrorCode::kDisabled);
  CHECK(disabled.message == arn + " is disabled.");

  auto pending = kms::ops::KeyStateError(ctx, KeyInState("PendingDeletion"));
  CHECK(pending.code == kms::server::ErrorCode::kInvalidState);
  CHECK(pending.message == arn + " is pending deletion.");

  auto import = kms::ops::KeyStateError(ctx, KeyInState("PendingImport"));
  CHECK(import.code == kms::server::ErrorCode::kInvalidState);
  CHECK(import.message == arn + " is pending import.");
}

TEST_CASE("RequireEnabled and RequireNotPendingDeletion sort the states", "[ops][key_lookup]") {
  OpHarness h;
  const auto ctx = ContextOf(h);
  CHECK(kms::ops::RequireEnabled(ctx, KeyInState("Enabled")).has_value());
  CHECK_FALSE(kms::ops::RequireEnabled(ctx, KeyInState("Disabled")).has_value());
  CHECK_FALSE(kms::ops::RequireEnabled(ctx, KeyInState("PendingDeletion")).has_value());
  CHECK(kms::ops::RequireNotPendingDeletion(ctx, KeyInState("Enabled")).has_value());
  CHECK(kms::ops::RequireNotPendingDeletion(ctx, KeyInState("Disabled")).has_value());
  CHECK(kms::ops::RequireNotPendingDeletion(ctx, KeyInState("PendingImport")).has_value());
  CHECK_FALSE(kms::ops::RequireNotPendingDeletion(ctx, KeyInState("PendingDeletion")).has_value());
}

TEST_CASE("RequireUsage names the key, its usage and the operation", "[ops][key_lookup]") {
  OpHarness h;
  const auto ctx = ContextOf(h);
  kms::storage::KeyRecord key = KeyInState("Enabled");
  using kms::domain::KeyUsage;
  CHECK(kms::ops::RequireUsage(ctx, key, KeyUsage::kEncryptDecrypt, "Encrypt").has_value());
  key.key_usage = KeyUsage::kSignVerify;
  auto r = kms::ops::RequireUsage(ctx, key, KeyUsage::kEncryptDecrypt, "Encrypt");
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == kms::server::ErrorCode::kInvalidKeyUsage);
  CHECK(r.error().message ==
        h.Arn(key.key_id) + " key usage is SIGN_VERIFY which is not valid for Encrypt.");
}

TEST_CASE("CheckDryRun fails only when DryRun is true", "[ops][key_lookup]") {
  const std::string body =
      GENERATE(as<std::string>{}, "{}", R"({"DryRun":false})", R"({"DryRun":true})");
  rapidjson::Document doc;
  doc.Parse(body.c_str());
  const kms::server::JsonIn in(doc);
  auto r = kms::ops::CheckDryRun(in);
  if (body.find("true") == std::string::npos) {
    CHECK(r.has_value());
  } else {
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == kms::server::ErrorCode::kDryRunOperation);
    CHECK(r.error().message == "The request would have succeeded, but the DryRun option is set.");
  }
}

TEST_CASE("FindMaterial and CurrentMaterial pick versions", "[ops][key_lookup]") {
  kms::storage::KeyRecord key = KeyInState("Enabled");
  key.materials.resize(2);
  for (std::uint32_t v : {1u, 2u}) {
    key.materials[v - 1].version = v;
    key.materials[v - 1].material_id = std::string(64, v == 1 ? 'a' : 'b');
    key.materials[v - 1].created_at = kStart;
  }
  key.current_material_version = 2;
  REQUIRE(kms::ops::CurrentMaterial(key) != nullptr);
  CHECK(kms::ops::CurrentMaterial(key)->version == 2);
  REQUIRE(kms::ops::FindMaterial(key, 1) != nullptr);
  CHECK(kms::ops::FindMaterial(key, 1)->material_id == std::string(64, 'a'));
  CHECK(kms::ops::FindMaterial(key, 3) == nullptr);
}

TEST_CASE("PartitionOf maps a region to its AWS partition",
          "[ops][key_lookup][regression][issue17]") {
  using kms::ops::PartitionOf;
  CHECK(PartitionOf("us-east-1") == "aws");
  CHECK(PartitionOf("eu-west-2") == "aws");
  CHECK(PartitionOf("cn-north-1") == "aws-cn");
  CHECK(PartitionOf("cn-northwest-1") == "aws-cn");
  CHECK(PartitionOf("us-gov-west-1") == "aws-us-gov");
  CHECK(PartitionOf("us-gov-east-1") == "aws-us-gov");
  CHECK(PartitionOf("") == "aws");
  static_assert(PartitionOf("cn-north-1") == "aws-cn");  // usable in constant expressions
}

TEST_CASE("The ARNs kmsd writes name the region's partition",
          "[ops][key_lookup][regression][issue17]") {
  OpHarness h;
  using Case = std::pair<std::string, std::string>;  // region, partition
  const Case c = GENERATE(Case{"us-east-1", "aws"}, Case{"cn-north-1", "aws-cn"},
                          Case{"us-gov-west-1", "aws-us-gov"});
  const kms::ops::OpContext ctx{
      h.registry(), h.clock(), h.config(), {"111122223333", c.first}, "lookup-test"};
  const std::string head = "arn:" + c.second + ":kms:" + c.first + ":111122223333:";
  CHECK(ctx.Partition() == c.second);
  CHECK(ctx.KeyArn("k") == head + "key/k");
  CHECK(ctx.AliasArn("alias/a") == head + "alias/a");
  CHECK(ctx.ArnPrefix() == head);

  // Through the handlers: CreateKey's metadata, Encrypt's KeyId, the default policy.
  CallResult created = h.Call("CreateKey", "{}", c.first);
  REQUIRE(created.status == 200);
  const std::string id = created.json["KeyMetadata"]["KeyId"].GetString();
  CHECK(std::string(created.json["KeyMetadata"]["Arn"].GetString()) == head + "key/" + id);
  CallResult sealed = h.Call("Encrypt", R"({"KeyId":")" + id + R"(","Plaintext":"eA=="})", c.first);
  REQUIRE(sealed.status == 200);
  CHECK(sealed.Str("KeyId") == head + "key/" + id);
  CallResult policy = h.Call("GetKeyPolicy", KeyIdBody(id), c.first);
  REQUIRE(policy.status == 200);
  CHECK(policy.Str("Policy").find("\"arn:" + c.second + ":iam::111122223333:root\"") !=
        std::string::npos);
}

TEST_CASE("A key or alias ARN resolves only in its region's partition",
          "[ops][key_lookup][regression][issue17]") {
  OpHarness h;
  const std::string cn = "cn-north-1";
  const std::string id = h.CreateSymmetricKey(cn);
  h.CreateAlias("alias/cn", id, cn);
  const std::string arn = h.Arn(id, cn);
  REQUIRE(arn == "arn:aws-cn:kms:cn-north-1:111122223333:key/" + id);

  SECTION("the region's own partition resolves") {
    for (const std::string& ref : {arn, h.AliasArn("alias/cn", cn)}) {
      INFO(ref);
      CallResult r = h.Call("DescribeKey", KeyIdBody(ref), cn);
      REQUIRE(r.status == 200);
      CHECK(std::string(r.json["KeyMetadata"]["Arn"].GetString()) == arn);
    }
    CHECK(h.Call("EnableKey", KeyIdBody(arn), cn).status == 200);
  }
  SECTION("another partition names no key") {
    const std::string op = GENERATE(as<std::string>{}, "DescribeKey", "EnableKey", "Encrypt");
    const std::string partition = GENERATE(as<std::string>{}, "aws", "aws-us-gov", "", "AWS-CN");
    const std::string ref = "arn:" + partition + ":kms:cn-north-1:111122223333:key/" + id;
    CallResult r = h.Call(op, WithMembers(KeyIdBody(ref), R"("Plaintext":"eA==")"), cn);
    CHECK(r.type == "NotFoundException");
    CHECK(r.message == "Invalid arn " + ref);
    const std::string alias_ref = "arn:" + partition + ":kms:cn-north-1:111122223333:alias/cn";
    CallResult a = h.Call("DescribeKey", KeyIdBody(alias_ref), cn);
    CHECK(a.type == "NotFoundException");
    CHECK(a.message == "Invalid arn " + alias_ref);
  }
  SECTION("an aws-cn ARN sent to an aws region names no key") {
    const std::string us_id = h.CreateSymmetricKey();
    const std::string ref = "arn:aws-cn:kms:us-east-1:111122223333:key/" + us_id;
    CallResult r = h.Call("DescribeKey", KeyIdBody(ref));
    CHECK(r.type == "NotFoundException");
    CHECK(r.message == "Invalid arn " + ref);
  }
}
