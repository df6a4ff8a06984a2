// Tests for server/ops/rotation.cpp: EnableKeyRotation, DisableKeyRotation,
// GetKeyRotationStatus and RotateKeyOnDemand.
#include <string>

#include <catch2/catch.hpp>

#include "tests/unit/server/ops/op_harness.hpp"

namespace {

using namespace kms::testing;

CallResult Status(OpHarness& h, const std::string& ref) {
  return h.Call("GetKeyRotationStatus", KeyIdBody(ref));
}

// Stores a key that CreateKey cannot make yet, straight into the registry.
std::string InsertKey(OpHarness& h, const std::string& key_spec, const std::string& origin) {
  kms::storage::KeyRecord key;
  key.scope = kUsEast;
  key.key_id = "11111111-2222-4333-8444-555555555555";
  key.key_spec = Parsed<kms::domain::KeySpec>(key_spec);
  key.key_usage = key_spec == "SYMMETRIC_DEFAULT" ? kms::domain::KeyUsage::kEncryptDecrypt
                                                  : kms::domain::KeyUsage::kGenerateVerifyMac;
  key.origin = Parsed<kms::domain::Origin>(origin);
  key.creation_date = kStart;
  auto writer = h.registry().BeginWrite();
  REQUIRE(writer.InsertKey(key).has_value());
  return key.key_id;
}

}  // namespace

TEST_CASE("A new key does not rotate", "[ops][rotation]") {
  OpHarness h;
  const std::string id = h.CreateSymmetricKey();
  CallResult r = Status(h, id);
  REQUIRE(r.status == 200);
  CHECK(r.body == R"({"KeyRotationEnabled":false,"KeyId":")" + h.Arn(id) + R"("})");
}

TEST_CASE("EnableKeyRotation defaults to a 365-day period", "[ops][rotation]") {
  OpHarness h;
  const std::string id = h.CreateSymmetricKey();
  const std::string key_ref = RefOf(h, GENERATE(as<std::string>{}, "key id", "key ARN"), id);

  CallResult r = h.Call("EnableKeyRotation", KeyIdBody(key_ref));
  REQUIRE(r.status == 200);
  CHECK(r.body == "{}");

  CallResult s = Status(h, key_ref);
  REQUIRE(s.status == 200);
  CHECK(s.json["KeyRotationEnabled"].GetBool());
  CHECK(s.Str("KeyId") == h.Arn(id));
  CHECK(s.json["RotationPeriodInDays"].GetInt() == 365);
  CHECK(s.json["NextRotationDate"].GetInt64() == kStart + 365 * kDay);
  CHECK_FALSE(s.json.HasMember("OnDemandRotationStartDate"));
}

TEST_CASE("EnableKeyRotation takes a period of 90 to 2560 days", "[ops][rotation]") {
  OpHarness h;
  const std::string id = h.CreateSymmetricKey();
  const int days = GENERATE(90, 180, 2560);
  REQUIRE(h.Call("EnableKeyRotation",
                 R"({"KeyId":")" + id + R"(","RotationPeriodInDays":)" + std::to_string(days) + "}")
              .status == 200);
  CallResult s = Status(h, id);
  CHECK(s.json["RotationPeriodInDays"].GetInt() == days);
  CHECK(s.json["NextRotationDate"].GetInt64() == kStart + days * kDay);
}

TEST_CASE("EnableKeyRotation outside the model's range is a ValidationException",
          "[ops][rotation]") {
  OpHarness h;
  const std::string id = h.CreateSymmetricKey();
  const int days = GENERATE(89, 2561);
  CallResult r = h.Call("EnableKeyRotation", R"({"KeyId":")" + id + R"(","RotationPeriodInDays":)" +
                                                 std::to_string(days) + "}");
  CHECK(r.type == "ValidationException");
  CHECK_FALSE(Status(h, id).json["KeyRotationEnabled"].GetBool());
}

TEST_CASE("EnableKeyRotation again changes the period and restarts the schedule",
          "[ops][rotation]") {
  OpHarness h;
  const std::string id = h.CreateSymmetricKey();
  REQUIRE(h.Call("EnableKeyRotation", KeyIdBody(id)).status == 200);
  h.clock().Advance(10 * kDay);
  REQUIRE(h.Call("EnableKeyRotation", R"({"KeyId":")" + id + R"(","RotationPeriodInDays":100})")
              .status == 200);
  CallResult s = Status(h, id);
  CHECK(s.json["RotationPeriodInDays"].GetInt() == 100);
  CHECK(s.json["NextRotationDate"].GetInt64() == kStart + 110 * kDay);
}

TEST_CASE("DisableKeyRotation turns rotation off and forgets the period", "[ops][rotation]") {
  OpHarness h;
  const std::string id = h.CreateSymmetricKey();
  const std::string key_ref = RefOf(h, GENERATE(as<std::string>{}, "key id", "key ARN"), id);
  REQUIRE(h.Call("EnableKeyRotation", R"({"KeyId":")" + id + R"(","RotationPeriodInDays":90})")
              .status == 200);

  for (int i = 0; i < 2; ++i) {  // the second call changes nothing and succeeds
    CallResult r = h.Call("DisableKeyRotation", KeyIdBody(key_ref));
    REQUIRE(r.status == 200);
    CHECK(r.body == "{}");
    CHECK(Status(h, id).body == R"({"KeyRotationEnabled":false,"KeyId":")" + h.Arn(id) + R"("})");
  }

  REQUIRE(h.Call("EnableKeyRotation", KeyIdBody(id)).status == 200);
  CHECK(Status(h, id).json["RotationPeriodInDays"].GetInt() == 365);
}

TEST_CASE("Rotation changes need an enabled key", "[ops][rotation][state]") {
  OpHarness h;
  const std::string id = h.CreateSymmetricKey();
  const std::string op = GENERATE(as<std::string>{}, "EnableKeyRotation", "DisableKeyRotation");
  SECTION("Disabled") {
    REQUIRE(h.Call("DisableKey", KeyIdBody(id)).status == 200);
    CallResult r = h.Call(op, KeyIdBody(id));
    CHECK(r.type == "DisabledException");
    CHECK(r.message == h.Arn(id) + " is disabled.");
  }
  SECTION("PendingDeletion") {
    REQUIRE(h.Call("ScheduleKeyDeletion", KeyIdBody(id)).status == 200);
    CallResult r = h.Call(op, KeyIdBody(id));
    CHECK(r.type == "KMSInvalidStateException");
    CHECK(r.message == h.Arn(id) + " is pending deletion.");
  }
  CHECK_FALSE(Status(h, id).json["KeyRotationEnabled"].GetBool());
}

TEST_CASE("GetKeyRotationStatus works in every key state", "[ops][rotation][state]") {
  OpHarness h;
  const std::string id = h.CreateSymmetricKey();
  REQUIRE(h.Call("EnableKeyRotation", KeyIdBody(id)).status == 200);
  const std::string next = GENERATE(as<std::string>{}, "DisableKey", "ScheduleKeyDeletion");
  REQUIRE(h.Call(next, KeyIdBody(id)).status == 200);
  CallResult s = Status(h, id);
  REQUIRE(s.status == 200);
  CHECK(s.json["KeyRotationEnabled"].GetBool());
  CHECK(s.json["RotationPeriodInDays"].GetInt() == 365);
}

TEST_CASE("Rotation operations answer UnsupportedOperation for keys that cannot rotate",
          "[ops][rotation]") {
  OpHarness h;
  const std::string op = GENERATE(as<std::string>{}, "EnableKeyRotation", "DisableKeyRotation",
                                  "GetKeyRotationStatus", "RotateKeyOnDemand");
  SECTION("an HMAC key, with an empty message as AWS sends") {
    const std::string id = InsertKey(h, "HMAC_256", "AWS_KMS");
    CallResult r = h.Call(op, KeyIdBody(id));
    CHECK(r.type == "UnsupportedOperationException");
    CHECK(r.message.empty());
  }
  SECTION("a key with imported material") {
    const std::string id = InsertKey(h, "SYMMETRIC_DEFAULT", "EXTERNAL");
    CallResult r = h.Call(op, KeyIdBody(id));
    CHECK(r.type == "UnsupportedOperationException");
    CHECK(r.message == h.Arn(id) + " origin is EXTERNAL which is not valid for this operation.");
  }
}

TEST_CASE("Rotation operations take a key id or key ARN, not an alias", "[ops][rotation]") {
  OpHarness h;
  const std::string id = h.CreateSymmetricKey();
  h.InsertAlias("alias/rot", id);
  const std::string op = GENERATE(as<std::string>{}, "EnableKeyRotation", "DisableKeyRotation",
                                  "GetKeyRotationStatus", "RotateKeyOnDemand");
  CallResult r = h.Call(op, KeyIdBody("alias/rot"));
  CHECK(r.type == "NotFoundException");
  CHECK(r.message == "Invalid keyId 'alias/rot'");
}

TEST_CASE("Rotation operations on an unknown key are NotFoundException", "[ops][rotation]") {
  OpHarness h;
  const std::string id = "11111111-2222-4333-8444-555555555555";
  const std::string op = GENERATE(as<std::string>{}, "EnableKeyRotation", "DisableKeyRotation",
                                  "GetKeyRotationStatus", "RotateKeyOnDemand");
  CallResult r = h.Call(op, KeyIdBody(id));
  CHECK(r.type == "NotFoundException");
  CHECK(r.message == "Key '" + h.Arn(id) + "' does not exist");
}

// --- RotateKeyOnDemand -------------------------------------------------------------------

namespace {

std::string EncryptBlob(OpHarness& h, const std::string& key_ref) {
  CallResult r = h.Call("Encrypt", R"({"KeyId":")" + key_ref + R"(","Plaintext":"aGk="})");
  REQUIRE(r.status == 200);
  return r.Str("CiphertextBlob");
}

std::string CurrentMaterialId(OpHarness& h, const std::string& id) {
  CallResult r = h.Call("DescribeKey", KeyIdBody(id));
  REQUIRE(r.status == 200);
  return r.json["KeyMetadata"]["CurrentKeyMaterialId"].GetString();
}

}  // namespace

TEST_CASE("RotateKeyOnDemand makes new current material; older ciphertexts still decrypt",
          "[ops][rotation][on-demand]") {
  OpHarness h;
  const std::string id = h.CreateSymmetricKey();
  const std::string key_ref = RefOf(h, GENERATE(as<std::string>{}, "key id", "key ARN"), id);
  const std::string before = CurrentMaterialId(h, id);
  const std::string old_blob = EncryptBlob(h, id);

  CallResult r = h.Call("RotateKeyOnDemand", KeyIdBody(key_ref));
  REQUIRE(r.status == 200);
  CHECK(r.body == R"({"KeyId":")" + id + R"("})");

  const std::string after = CurrentMaterialId(h, id);
  CHECK(after != before);
  CHECK(after.size() == 64);
  const std::string new_blob = EncryptBlob(h, id);
  for (const std::string& blob : {old_blob, new_blob}) {
    CallResult d = h.Call("Decrypt", R"({"CiphertextBlob":")" + blob + R"("})");
    REQUIRE(d.status == 200);
    CHECK(d.Str("Plaintext") == "aGk=");
  }
  const auto key = h.registry().FindKey(kUsEast, id);
  REQUIRE(key != nullptr);
  CHECK(key->materials.size() == 2);
  CHECK(key->current_material_version == 2);
  CHECK(key->materials[1].created_at == kStart);
  CHECK(key->materials[0].bytes != key->materials[1].bytes);
  CHECK_FALSE(key->rotation_enabled);  // the automatic schedule is untouched
}

TEST_CASE("RotateKeyOnDemand keeps the automatic schedule", "[ops][rotation][on-demand]") {
  OpHarness h;
  const std::string id = h.CreateSymmetricKey();
  REQUIRE(h.Call("EnableKeyRotation", KeyIdBody(id)).status == 200);
  h.clock().Advance(10 * kDay);
  REQUIRE(h.Call("RotateKeyOnDemand", KeyIdBody(id)).status == 200);
  CallResult s = Status(h, id);
  CHECK(s.json["KeyRotationEnabled"].GetBool());
  CHECK(s.json["NextRotationDate"].GetInt64() == kStart + 365 * kDay);
  CHECK_FALSE(s.json.HasMember("OnDemandRotationStartDate"));  // finished already
}

TEST_CASE("RotateKeyOnDemand allows 25 rotations per key, then LimitExceededException",
          "[ops][rotation][on-demand]") {
  OpHarness h;
  const std::string id = h.CreateSymmetricKey();
  for (int i = 0; i < 25; ++i) {
    REQUIRE(h.Call("RotateKeyOnDemand", KeyIdBody(id)).status == 200);
  }
  const std::string current = CurrentMaterialId(h, id);
  CallResult r = h.Call("RotateKeyOnDemand", KeyIdBody(id));
  CHECK(r.type == "LimitExceededException");
  CHECK(r.message ==
        "The on-demand rotations limit has been reached for the given keyId. No more on-demand "
        "rotations can be performed for this key: " +
            h.Arn(id));
  CHECK(CurrentMaterialId(h, id) == current);
  CHECK(h.registry().FindKey(kUsEast, id)->materials.size() == 26);
}

TEST_CASE("RotateKeyOnDemand needs an enabled key", "[ops][rotation][on-demand][state]") {
  OpHarness h;
  const std::string id = h.CreateSymmetricKey();
  SECTION("disabled: DisabledException, as AWS answers") {
    REQUIRE(h.Call("DisableKey", KeyIdBody(id)).status == 200);
    CallResult r = h.Call("RotateKeyOnDemand", KeyIdBody(id));
    CHECK(r.type == "DisabledException");
    CHECK(r.message == h.Arn(id) + " is disabled.");
  }
  SECTION("pending deletion: KMSInvalidStateException") {
    REQUIRE(h.Call("ScheduleKeyDeletion", KeyIdBody(id)).status == 200);
    CallResult r = h.Call("RotateKeyOnDemand", KeyIdBody(id));
    CHECK(r.type == "KMSInvalidStateException");
    CHECK(r.message == h.Arn(id) + " is pending deletion.");
  }
  CHECK(h.registry().FindKey(kUsEast, id)->materials.size() == 1);
}
