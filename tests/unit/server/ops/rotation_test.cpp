// Tests for server/ops/rotation.cpp: EnableKeyRotation, DisableKeyRotation,
// GetKeyRotationStatus, RotateKeyOnDemand, ListKeyRotations, and automatic rotation
// (rotation.hpp) driven by the harness's FakeClock.
#include "server/ops/rotation.hpp"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "server/ops/key_lookup.hpp"
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
  SECTION("a disabled key keeps its status") {
    REQUIRE(h.Call("DisableKey", KeyIdBody(id)).status == 200);
    CallResult s = Status(h, id);
    REQUIRE(s.status == 200);
    CHECK(s.json["KeyRotationEnabled"].GetBool());
    CHECK(s.json["RotationPeriodInDays"].GetInt() == 365);
    CHECK(s.json["NextRotationDate"].GetInt64() == kStart + 365 * kDay);
  }
  SECTION("a key pending deletion answers false, as AWS documents; cancelling restores it") {
    REQUIRE(h.Call("ScheduleKeyDeletion", KeyIdBody(id)).status == 200);
    CallResult s = Status(h, id);
    REQUIRE(s.status == 200);
    CHECK(s.body == R"({"KeyRotationEnabled":false,"KeyId":")" + h.Arn(id) + R"("})");
    REQUIRE(h.Call("CancelKeyDeletion", KeyIdBody(id)).status == 200);
    s = Status(h, id);
    CHECK(s.json["KeyRotationEnabled"].GetBool());
    CHECK(s.json["NextRotationDate"].GetInt64() == kStart + 365 * kDay);
  }
}

TEST_CASE("Rotation operations answer UnsupportedOperation for keys that cannot rotate",
          "[ops][rotation]") {
  OpHarness h;
  const std::string op = GENERATE(as<std::string>{}, "EnableKeyRotation", "DisableKeyRotation",
                                  "GetKeyRotationStatus", "RotateKeyOnDemand", "ListKeyRotations");
  SECTION("an HMAC key, with an empty message as AWS sends") {
    const std::string id = InsertKey(h, "HMAC_256", "AWS_KMS");
    CallResult r = h.Call(op, KeyIdBody(id));
    CHECK(r.type == "UnsupportedOperationException");
    CHECK(r.message.empty());
  }
  SECTION("a key in a custom key store") {
    const std::string origin = GENERATE(as<std::string>{}, "AWS_CLOUDHSM", "EXTERNAL_KEY_STORE");
    const std::string id = InsertKey(h, "SYMMETRIC_DEFAULT", origin);
    CallResult r = h.Call(op, KeyIdBody(id));
    CHECK(r.type == "UnsupportedOperationException");
    CHECK(r.message ==
          h.Arn(id) + " origin is " + origin + " which is not valid for this operation.");
  }
}

TEST_CASE("A key with imported material rotates on demand only", "[ops][rotation]") {
  OpHarness h;
  const std::string id = InsertKey(h, "SYMMETRIC_DEFAULT", "EXTERNAL");
  SECTION("no automatic rotation: the origin text") {
    const std::string op = GENERATE(as<std::string>{}, "EnableKeyRotation", "DisableKeyRotation");
    CallResult r = h.Call(op, KeyIdBody(id));
    CHECK(r.type == "UnsupportedOperationException");
    CHECK(r.message == h.Arn(id) + " origin is EXTERNAL which is not valid for this operation.");
  }
  SECTION("its status is false") {
    CHECK(Status(h, id).body == R"({"KeyRotationEnabled":false,"KeyId":")" + h.Arn(id) + R"("})");
  }
  SECTION("RotateKeyOnDemand with nothing imported for rotation: KMSInvalidStateException") {
    CallResult r = h.Call("RotateKeyOnDemand", KeyIdBody(id));
    CHECK(r.type == "KMSInvalidStateException");
    CHECK(r.message ==
          "No available key material pending rotation for the key: " + h.Arn(id) + ".");
  }
}

TEST_CASE("Rotation operations take a key id or key ARN, not an alias", "[ops][rotation]") {
  OpHarness h;
  const std::string id = h.CreateSymmetricKey();
  h.InsertAlias("alias/rot", id);
  const std::string op = GENERATE(as<std::string>{}, "EnableKeyRotation", "DisableKeyRotation",
                                  "GetKeyRotationStatus", "RotateKeyOnDemand", "ListKeyRotations");
  CallResult r = h.Call(op, KeyIdBody("alias/rot"));
  CHECK(r.type == "NotFoundException");
  CHECK(r.message == "Invalid keyId 'alias/rot'");
}

TEST_CASE("Rotation operations on an unknown key are NotFoundException", "[ops][rotation]") {
  OpHarness h;
  const std::string id = "11111111-2222-4333-8444-555555555555";
  const std::string op = GENERATE(as<std::string>{}, "EnableKeyRotation", "DisableKeyRotation",
                                  "GetKeyRotationStatus", "RotateKeyOnDemand", "ListKeyRotations");
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

TEST_CASE("The on-demand limit counts on-demand rotations only", "[ops][rotation][on-demand]") {
  OpHarness h;
  const std::string id = h.CreateSymmetricKey();
  REQUIRE(h.Call("EnableKeyRotation", R"({"KeyId":")" + id + R"(","RotationPeriodInDays":90})")
              .status == 200);
  for (int i = 0; i < 25; ++i) {
    REQUIRE(h.Call("RotateKeyOnDemand", KeyIdBody(id)).status == 200);
  }
  h.clock().Advance(200 * kDay);  // two automatic rotations fall due
  CHECK(h.Call("RotateKeyOnDemand", KeyIdBody(id)).type == "LimitExceededException");
  CHECK(h.Call("DescribeKey", KeyIdBody(id)).status == 200);  // applies the automatic ones
  CHECK(h.registry().FindKey(kUsEast, id)->materials.size() == 28);
  CHECK(h.Call("RotateKeyOnDemand", KeyIdBody(id)).type == "LimitExceededException");
}

// --- ListKeyRotations --------------------------------------------------------------------

namespace {

CallResult Rotations(OpHarness& h, const std::string& ref, std::string_view members = {}) {
  return h.Call("ListKeyRotations", WithMembers(KeyIdBody(ref), members));
}

// The Rotations entries of one ListKeyRotations page, REQUIREd to succeed.
const rapidjson::Value& Entries(const CallResult& r) {
  REQUIRE(r.status == 200);
  REQUIRE(r.json["Rotations"].IsArray());
  return r.json["Rotations"];
}

std::string Member(const rapidjson::Value& entry, const char* name) {
  return entry.HasMember(name) ? entry[name].GetString() : std::string();
}

// The KeyMaterialId of every version of `id`, oldest first, as ListKeyRotations lists them.
std::vector<std::string> MaterialIds(OpHarness& h, const std::string& id) {
  std::vector<std::string> ids;
  CallResult r = Rotations(h, id, R"("IncludeKeyMaterial":"ALL_KEY_MATERIAL","Limit":1000)");
  for (const auto& entry : Entries(r).GetArray()) ids.push_back(Member(entry, "KeyMaterialId"));
  return ids;
}

// An EXTERNAL key as ImportKeyMaterial leaves it: version 1 imported and current (expiring in
// 30 days), then `pending` versions imported for rotation (PENDING_ROTATION). Version v's bytes
// are 32 bytes of v, its KeyMaterialId 64 hex digits 'v'.
std::string InsertImportedKey(OpHarness& h, int pending) {
  kms::storage::KeyRecord key;
  key.scope = kUsEast;
  key.key_id = "22222222-3333-4444-8555-666666666666";
  key.origin = kms::domain::Origin::kExternal;
  key.creation_date = kStart;
  for (int v = 1; v <= 1 + pending; ++v) {
    kms::storage::KeyMaterial m;
    m.version = static_cast<std::uint32_t>(v);
    m.material_id = std::string(64, static_cast<char>('0' + v));
    m.bytes.assign(32, static_cast<std::uint8_t>(v));
    m.created_at = kStart;
    m.description = "material " + std::to_string(v);
    m.expiration_model = kms::domain::ExpirationModel::kKeyMaterialDoesNotExpire;
    key.materials.push_back(m);
  }
  key.materials[0].expiration_model = kms::domain::ExpirationModel::kKeyMaterialExpires;
  key.materials[0].valid_to = kStart + 30 * kDay;
  key.current_material_version = 1;
  auto writer = h.registry().BeginWrite();
  REQUIRE(writer.InsertKey(key).has_value());
  return key.key_id;
}

}  // namespace

TEST_CASE("ListKeyRotations of a key never rotated lists nothing", "[ops][rotation][list]") {
  OpHarness h;
  const std::string id = h.CreateSymmetricKey();
  const std::string key_ref = RefOf(h, GENERATE(as<std::string>{}, "key id", "key ARN"), id);
  CHECK(Rotations(h, key_ref).body == R"({"Rotations":[],"Truncated":false})");
  CHECK(Rotations(h, key_ref, R"("IncludeKeyMaterial":"ROTATIONS_ONLY")").body ==
        R"({"Rotations":[],"Truncated":false})");

  // ALL_KEY_MATERIAL adds the first material: no RotationDate, no RotationType.
  CallResult all = Rotations(h, key_ref, R"("IncludeKeyMaterial":"ALL_KEY_MATERIAL")");
  CHECK(all.body == R"({"Rotations":[{"KeyId":")" + id + R"(","KeyMaterialId":")" +
                        h.CurrentKeyMaterialId(id) +
                        R"(","KeyMaterialState":"CURRENT"}],"Truncated":false})");
}

TEST_CASE("ListKeyRotations lists on-demand rotations with their dates, oldest first",
          "[ops][rotation][list]") {
  OpHarness h;
  const std::string id = h.CreateSymmetricKey();
  const std::string first = h.CurrentKeyMaterialId(id);
  std::vector<std::string> rotated;
  for (int i = 1; i <= 3; ++i) {
    h.clock().Advance(kDay);
    REQUIRE(h.Call("RotateKeyOnDemand", KeyIdBody(id)).status == 200);
    rotated.push_back(h.CurrentKeyMaterialId(id));
  }

  CallResult r = Rotations(h, h.Arn(id));
  const auto& entries = Entries(r);
  REQUIRE(entries.Size() == 3);
  for (rapidjson::SizeType i = 0; i < 3; ++i) {
    const auto& e = entries[i];
    CHECK(Member(e, "KeyId") == id);
    CHECK(Member(e, "KeyMaterialId") == rotated[i]);
    CHECK(Member(e, "KeyMaterialState") == (i == 2 ? "CURRENT" : "NON_CURRENT"));
    CHECK(e["RotationDate"].GetInt64() == kStart + (i + 1) * kDay);
    CHECK(Member(e, "RotationType") == "ON_DEMAND");
    CHECK_FALSE(e.HasMember("ImportState"));  // EXTERNAL keys only
    CHECK_FALSE(e.HasMember("ExpirationModel"));
  }
  CHECK_FALSE(r.json["Truncated"].GetBool());
  CHECK_FALSE(r.json.HasMember("NextMarker"));
  CHECK(MaterialIds(h, id) == std::vector<std::string>{first, rotated[0], rotated[1], rotated[2]});
}

TEST_CASE("ListKeyRotations pages with Limit and Marker", "[ops][rotation][list]") {
  OpHarness h;
  const std::string id = h.CreateSymmetricKey();
  for (int i = 0; i < 5; ++i) REQUIRE(h.Call("RotateKeyOnDemand", KeyIdBody(id)).status == 200);
  const std::vector<std::string> all = MaterialIds(h, id);
  REQUIRE(all.size() == 6);

  SECTION("the rotations in pages of two, and the key's other materials do not shift pages") {
    std::vector<std::string> seen;
    std::string marker;
    int pages = 0;
    for (;; ++pages) {
      REQUIRE(pages < 10);
      std::string members = R"("Limit":2)";
      if (!marker.empty()) members += R"(,"Marker":")" + marker + R"(")";
      CallResult r = Rotations(h, id, members);
      for (const auto& e : Entries(r).GetArray()) seen.push_back(Member(e, "KeyMaterialId"));
      if (!r.json["Truncated"].GetBool()) {
        CHECK_FALSE(r.json.HasMember("NextMarker"));
        break;
      }
      CHECK(Entries(r).Size() == 2);
      marker = r.Str("NextMarker");
      REQUIRE_FALSE(marker.empty());
      if (pages == 0) {  // a rotation between two pages is listed at the end, nothing repeats
        REQUIRE(h.Call("RotateKeyOnDemand", KeyIdBody(id)).status == 200);
      }
    }
    std::vector<std::string> expected(all.begin() + 1, all.end());
    expected.push_back(h.CurrentKeyMaterialId(id));
    CHECK(seen == expected);
    CHECK(pages == 2);
  }
  SECTION("ALL_KEY_MATERIAL pages the same way") {
    CallResult r = Rotations(h, id, R"("IncludeKeyMaterial":"ALL_KEY_MATERIAL","Limit":4)");
    CHECK(Entries(r).Size() == 4);
    CHECK(r.json["Truncated"].GetBool());
    CallResult next = Rotations(
        h, id,
        R"("IncludeKeyMaterial":"ALL_KEY_MATERIAL","Marker":")" + r.Str("NextMarker") + R"(")");
    REQUIRE(Entries(next).Size() == 2);
    CHECK(Member(Entries(next)[0], "KeyMaterialId") == all[4]);
    CHECK(Member(Entries(next)[1], "KeyMaterialId") == all[5]);
  }
  SECTION("the default page is 100") { CHECK(Entries(Rotations(h, id)).Size() == 5); }
  SECTION("a marker no page ends with is InvalidMarkerException") {
    const std::string marker = GENERATE(as<std::string>{}, "x", "-1", "1x", "99999999999");
    CallResult r = Rotations(h, id, R"("Marker":")" + marker + R"(")");
    CHECK(r.type == "InvalidMarkerException");
    CHECK(r.message == "The marker '" + marker + "' is not valid.");
  }
}

TEST_CASE("ListKeyRotations works in every key state", "[ops][rotation][list][state]") {
  OpHarness h;
  const std::string id = h.CreateSymmetricKey();
  REQUIRE(h.Call("RotateKeyOnDemand", KeyIdBody(id)).status == 200);
  const std::string op = GENERATE(as<std::string>{}, "DisableKey", "ScheduleKeyDeletion");
  REQUIRE(h.Call(op, KeyIdBody(id)).status == 200);
  CHECK(Entries(Rotations(h, id)).Size() == 1);
}

TEST_CASE("ListKeyRotations of imported material shows import state and pending rotations",
          "[ops][rotation][list][import]") {
  OpHarness h;
  const std::string id = InsertImportedKey(h, 2);

  CHECK(Rotations(h, id).body == R"({"Rotations":[],"Truncated":false})");
  CallResult r = Rotations(h, id, R"("IncludeKeyMaterial":"ALL_KEY_MATERIAL")");
  const auto& e = Entries(r);
  REQUIRE(e.Size() == 3);
  CHECK(Member(e[0], "KeyMaterialDescription") == "material 1");
  CHECK(Member(e[0], "ImportState") == "IMPORTED");
  CHECK(Member(e[0], "KeyMaterialState") == "CURRENT");
  CHECK(Member(e[0], "ExpirationModel") == "KEY_MATERIAL_EXPIRES");
  CHECK(e[0]["ValidTo"].GetInt64() == kStart + 30 * kDay);
  CHECK_FALSE(e[0].HasMember("RotationDate"));
  for (rapidjson::SizeType i = 1; i < 3; ++i) {
    CHECK(Member(e[i], "KeyMaterialState") == "PENDING_ROTATION");
    CHECK(Member(e[i], "ExpirationModel") == "KEY_MATERIAL_DOES_NOT_EXPIRE");
    CHECK_FALSE(e[i].HasMember("ValidTo"));
    CHECK_FALSE(e[i].HasMember("RotationDate"));
    CHECK_FALSE(e[i].HasMember("RotationType"));
  }
}

TEST_CASE("RotateKeyOnDemand makes imported material pending rotation current",
          "[ops][rotation][on-demand][import]") {
  OpHarness h;
  const std::string id = InsertImportedKey(h, 2);
  const std::string old_blob = EncryptBlob(h, id);
  h.clock().Advance(kDay);

  SECTION("the lowest pending version first, then the next, then none is left") {
    REQUIRE(h.Call("RotateKeyOnDemand", KeyIdBody(id)).status == 200);
    CHECK(h.CurrentKeyMaterialId(id) == std::string(64, '2'));
    CallResult r = Rotations(h, id, R"("IncludeKeyMaterial":"ALL_KEY_MATERIAL")");
    const auto& e = Entries(r);
    REQUIRE(e.Size() == 3);
    CHECK(Member(e[0], "KeyMaterialState") == "NON_CURRENT");
    CHECK(Member(e[1], "KeyMaterialState") == "CURRENT");
    CHECK(Member(e[1], "RotationType") == "ON_DEMAND");
    CHECK(e[1]["RotationDate"].GetInt64() == kStart + kDay);
    CHECK(Member(e[2], "KeyMaterialState") == "PENDING_ROTATION");
    CHECK(Entries(Rotations(h, id)).Size() == 1);  // ROTATIONS_ONLY: the one rotation

    REQUIRE(h.Call("RotateKeyOnDemand", KeyIdBody(id)).status == 200);
    CHECK(h.CurrentKeyMaterialId(id) == std::string(64, '3'));
    CallResult none = h.Call("RotateKeyOnDemand", KeyIdBody(id));
    CHECK(none.type == "KMSInvalidStateException");
    CHECK(none.message ==
          "No available key material pending rotation for the key: " + h.Arn(id) + ".");
  }
  SECTION("pending material without bytes (PENDING_IMPORT) is skipped") {
    {
      auto writer = h.registry().BeginWrite();
      kms::storage::KeyRecord changed = *h.registry().FindKey(kUsEast, id);
      changed.materials[1].bytes.clear();
      REQUIRE(writer.UpdateKey(changed).has_value());
    }
    CallResult r = Rotations(h, id, R"("IncludeKeyMaterial":"ALL_KEY_MATERIAL")");
    CHECK(Member(Entries(r)[1], "ImportState") == "PENDING_IMPORT");
    REQUIRE(h.Call("RotateKeyOnDemand", KeyIdBody(id)).status == 200);
    CHECK(h.CurrentKeyMaterialId(id) == std::string(64, '3'));
  }
  // Old ciphertexts decrypt, and new ones are sealed under the new material.
  CallResult d = h.Call("Decrypt", DecryptBody(old_blob));
  REQUIRE(d.status == 200);
  CHECK(d.Str("KeyMaterialId") == std::string(64, '1'));
  CallResult n = h.Call("Decrypt", DecryptBody(EncryptBlob(h, id)));
  REQUIRE(n.status == 200);
  CHECK(n.Str("KeyMaterialId") == h.CurrentKeyMaterialId(id));
}

// --- Material ids follow rotation; every old blob decrypts ----------------------------------

TEST_CASE("KeyMaterialId in Decrypt, ReEncrypt and GenerateDataKey follows rotation",
          "[ops][rotation][material]") {
  OpHarness h;
  const std::string id = h.CreateSymmetricKey();
  const std::string other = h.CreateSymmetricKey();
  std::vector<std::string> blobs{EncryptBlob(h, id)};
  for (int i = 0; i < 30; ++i) {
    if (i < 25) {
      REQUIRE(h.Call("RotateKeyOnDemand", KeyIdBody(id)).status == 200);
    } else {  // past the on-demand limit: automatic rotations
      REQUIRE(h.Call("EnableKeyRotation", R"({"KeyId":")" + id + R"(","RotationPeriodInDays":90})")
                  .status == 200);
      h.clock().Advance(90 * kDay);
    }
    blobs.push_back(EncryptBlob(h, id));
  }
  const std::vector<std::string> ids = MaterialIds(h, id);
  REQUIRE(ids.size() == 31);
  CHECK(h.CurrentKeyMaterialId(id) == ids.back());

  for (std::size_t v = 0; v < blobs.size(); ++v) {
    CallResult d = h.Call("Decrypt", DecryptBody(blobs[v]));
    REQUIRE(d.status == 200);
    CHECK(d.Str("Plaintext") == "aGk=");
    CHECK(d.Str("KeyMaterialId") == ids[v]);
  }
  CallResult re = h.Call("ReEncrypt", R"({"CiphertextBlob":")" + blobs[3] +
                                          R"(","DestinationKeyId":")" + id + R"("})");
  REQUIRE(re.status == 200);
  CHECK(re.Str("SourceKeyMaterialId") == ids[3]);
  CHECK(re.Str("DestinationKeyMaterialId") == ids.back());
  CallResult away = h.Call("ReEncrypt", R"({"CiphertextBlob":")" + blobs[0] +
                                            R"(","DestinationKeyId":")" + other + R"("})");
  REQUIRE(away.status == 200);
  CHECK(away.Str("SourceKeyMaterialId") == ids[0]);
  CHECK(away.Str("DestinationKeyMaterialId") == h.CurrentKeyMaterialId(other));
  CallResult gdk = h.Call("GenerateDataKey", R"({"KeyId":")" + id + R"(","KeySpec":"AES_256"})");
  REQUIRE(gdk.status == 200);
  CHECK(gdk.Str("KeyMaterialId") == ids.back());
}

TEST_CASE("FindMaterial finds any version in a key rotated many times",
          "[ops][rotation][material]") {
  kms::storage::KeyRecord key;
  for (std::uint32_t v = 1; v <= 101; ++v) {
    kms::storage::KeyMaterial m;
    m.version = v;
    m.material_id = std::to_string(v);
    key.materials.push_back(m);
  }
  for (std::uint32_t v : {1U, 2U, 50U, 101U}) {
    const kms::storage::KeyMaterial* found = kms::ops::FindMaterial(key, v);
    REQUIRE(found != nullptr);
    CHECK(found->version == v);
    CHECK(found == &key.materials[v - 1]);  // at its index
  }
  CHECK(kms::ops::FindMaterial(key, 0) == nullptr);
  CHECK(kms::ops::FindMaterial(key, 102) == nullptr);

  // With a gap in the versions (material removed), the search still finds each one.
  key.materials.erase(key.materials.begin() + 9);  // version 10
  CHECK(kms::ops::FindMaterial(key, 10) == nullptr);
  for (std::uint32_t v : {9U, 11U, 101U}) {
    const kms::storage::KeyMaterial* found = kms::ops::FindMaterial(key, v);
    REQUIRE(found != nullptr);
    CHECK(found->version == v);
  }
}

// --- Automatic rotation ------------------------------------------------------------------

namespace {

void EnableRotation(OpHarness& h, const std::string& id, int days) {
  REQUIRE(h.Call("EnableKeyRotation",
                 R"({"KeyId":")" + id + R"(","RotationPeriodInDays":)" + std::to_string(days) + "}")
              .status == 200);
}

// (RotationType, RotationDate) of each rotation of `id`, oldest first.
std::vector<std::pair<std::string, std::int64_t>> RotationHistory(OpHarness& h,
                                                                  const std::string& id) {
  std::vector<std::pair<std::string, std::int64_t>> history;
  CallResult r = Rotations(h, id, R"("Limit":1000)");
  for (const auto& e : Entries(r).GetArray()) {
    history.emplace_back(Member(e, "RotationType"), e["RotationDate"].GetInt64());
  }
  return history;
}

using History = std::vector<std::pair<std::string, std::int64_t>>;

}  // namespace

TEST_CASE("Automatic rotation happens once the period has passed", "[ops][rotation][automatic]") {
  OpHarness h;
  const std::string id = h.CreateSymmetricKey();
  EnableRotation(h, id, 90);
  const std::string first = h.CurrentKeyMaterialId(id);
  const std::string old_blob = EncryptBlob(h, id);

  h.clock().Advance(90 * kDay - 1);
  CHECK(h.CurrentKeyMaterialId(id) == first);
  CHECK(RotationHistory(h, id).empty());

  h.clock().Advance(1);  // the rotation date
  // The first encryption after the date seals under the new material.
  CallResult d = h.Call("Decrypt", DecryptBody(EncryptBlob(h, id)));
  REQUIRE(d.status == 200);
  CHECK(d.Str("KeyMaterialId") != first);
  CHECK(d.Str("KeyMaterialId") == h.CurrentKeyMaterialId(id));
  CHECK(RotationHistory(h, id) == History{{"AUTOMATIC", kStart + 90 * kDay}});
  CallResult s = Status(h, id);
  CHECK(s.json["NextRotationDate"].GetInt64() == kStart + 180 * kDay);
  CHECK(s.json["RotationPeriodInDays"].GetInt() == 90);
  CallResult old = h.Call("Decrypt", DecryptBody(old_blob));
  REQUIRE(old.status == 200);
  CHECK(old.Str("KeyMaterialId") == first);
}

TEST_CASE("Every operation that depends on the current material sees a due rotation",
          "[ops][rotation][automatic]") {
  OpHarness h;
  const std::string id = h.CreateSymmetricKey();
  EnableRotation(h, id, 90);
  h.clock().Advance(90 * kDay);
  const std::string op =
      GENERATE(as<std::string>{}, "Encrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext",
               "GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext", "ReEncrypt",
               "DescribeKey", "GetKeyRotationStatus", "ListKeyRotations");
  std::string body = KeyIdBody(id);
  if (op == "Encrypt") body = WithMembers(body, R"("Plaintext":"aGk=")");
  if (op.starts_with("GenerateDataKeyPair")) {
    body = WithMembers(body, R"("KeyPairSpec":"ECC_NIST_P256")");
  } else if (op.starts_with("GenerateDataKey")) {
    body = WithMembers(body, R"("KeySpec":"AES_256")");
  }
  if (op == "ReEncrypt") {
    const std::string other = h.CreateSymmetricKey();
    body = R"({"CiphertextBlob":")" + EncryptBlob(h, other) + R"(","DestinationKeyId":")" + id +
           R"("})";
  }
  REQUIRE(h.Call(op, body).status == 200);
  // The rotation is in the registry, not just in that reply.
  const auto key = h.registry().FindKey(kUsEast, id);
  CHECK(key->materials.size() == 2);
  CHECK(key->current_material_version == 2);
  CHECK(key->next_rotation_date == kStart + 180 * kDay);
}

TEST_CASE("Decrypt and reads that do not show the material make no rotation",
          "[ops][rotation][automatic]") {
  OpHarness h;
  const std::string id = h.CreateSymmetricKey();
  const std::string blob = EncryptBlob(h, id);
  EnableRotation(h, id, 90);
  h.clock().Advance(90 * kDay);
  REQUIRE(h.Call("Decrypt", DecryptBody(blob)).status == 200);
  REQUIRE(h.Call("ListResourceTags", KeyIdBody(id)).status == 200);
  CHECK(h.registry().FindKey(kUsEast, id)->materials.size() == 1);
}

TEST_CASE("A kmsd stopped for several periods makes one rotation per period, at its date",
          "[ops][rotation][automatic]") {
  TempDbFile db;
  OpHarness h(db.path());
  const std::string id = h.CreateSymmetricKey();
  EnableRotation(h, id, 100);
  const std::string blob = EncryptBlob(h, id);
  h.Reopen();
  h.clock().Advance(350 * kDay);  // three periods and a half while "down"
  h.Reopen();

  const History expected{{"AUTOMATIC", kStart + 100 * kDay},
                         {"AUTOMATIC", kStart + 200 * kDay},
                         {"AUTOMATIC", kStart + 300 * kDay}};
  CHECK(RotationHistory(h, id) == expected);
  CHECK(Status(h, id).json["NextRotationDate"].GetInt64() == kStart + 400 * kDay);
  h.Reopen();  // the rotations are durable
  CHECK(RotationHistory(h, id) == expected);
  CallResult d = h.Call("Decrypt", DecryptBody(blob));
  REQUIRE(d.status == 200);
  CHECK(d.Str("Plaintext") == "aGk=");

  h.clock().Advance(50 * kDay);  // day 400: the next one
  CHECK(RotationHistory(h, id).size() == 4);
  CHECK(RotationHistory(h, id).back() ==
        std::pair<std::string, std::int64_t>{"AUTOMATIC", kStart + 400 * kDay});
}

TEST_CASE("A catch-up makes at most 100 rotations: those of the latest dates",
          "[ops][rotation][automatic]") {
  OpHarness h;
  const std::string id = h.CreateSymmetricKey();
  EnableRotation(h, id, 90);
  const std::string blob = EncryptBlob(h, id);
  h.clock().Advance(150 * 90 * kDay + kDay);  // 150 periods elapsed

  const History history = RotationHistory(h, id);
  REQUIRE(history.size() == 100);
  CHECK(history.front().second == kStart + 51 * 90 * kDay);
  CHECK(history.back().second == kStart + 150 * 90 * kDay);
  CHECK(Status(h, id).json["NextRotationDate"].GetInt64() == kStart + 151 * 90 * kDay);
  CHECK(h.Call("Decrypt", DecryptBody(blob)).status == 200);
}

TEST_CASE("A disabled key does not rotate; re-enabled after its date, it rotates at once",
          "[ops][rotation][automatic][state]") {
  OpHarness h;
  const std::string id = h.CreateSymmetricKey();
  EnableRotation(h, id, 90);
  h.clock().Advance(100 * kDay);
  // Disabling applies the rotation that fell due while the key was enabled (day 90).
  REQUIRE(h.Call("DisableKey", KeyIdBody(id)).status == 200);
  CHECK(RotationHistory(h, id) == History{{"AUTOMATIC", kStart + 90 * kDay}});

  h.clock().Advance(200 * kDay);  // day 300: two dates pass while disabled
  CHECK(RotationHistory(h, id).size() == 1);
  CallResult s = Status(h, id);
  CHECK(s.json["KeyRotationEnabled"].GetBool());
  CHECK(s.json["NextRotationDate"].GetInt64() == kStart + 180 * kDay);

  REQUIRE(h.Call("EnableKey", KeyIdBody(id)).status == 200);
  const History expected{{"AUTOMATIC", kStart + 90 * kDay}, {"AUTOMATIC", kStart + 300 * kDay}};
  CHECK(RotationHistory(h, id) == expected);
  CHECK(Status(h, id).json["NextRotationDate"].GetInt64() == kStart + 390 * kDay);
}

TEST_CASE("A key re-enabled before its rotation date keeps its schedule",
          "[ops][rotation][automatic][state]") {
  OpHarness h;
  const std::string id = h.CreateSymmetricKey();
  EnableRotation(h, id, 90);
  h.clock().Advance(10 * kDay);
  REQUIRE(h.Call("DisableKey", KeyIdBody(id)).status == 200);
  h.clock().Advance(10 * kDay);
  REQUIRE(h.Call("EnableKey", KeyIdBody(id)).status == 200);
  CHECK(RotationHistory(h, id).empty());
  CHECK(Status(h, id).json["NextRotationDate"].GetInt64() == kStart + 90 * kDay);
}

TEST_CASE("A key pending deletion does not rotate; after cancel and enable it rotates at once",
          "[ops][rotation][automatic][state]") {
  OpHarness h;
  const std::string id = h.CreateSymmetricKey();
  EnableRotation(h, id, 90);
  h.clock().Advance(170 * kDay);
  REQUIRE(h.Call("ScheduleKeyDeletion", KeyIdBody(id)).status == 200);  // applies day 90's
  CHECK(RotationHistory(h, id).size() == 1);
  h.clock().Advance(20 * kDay);  // day 190: past day 180's date, within the 30-day window
  CHECK(RotationHistory(h, id).size() == 1);
  REQUIRE(h.Call("CancelKeyDeletion", KeyIdBody(id)).status == 200);
  CHECK(RotationHistory(h, id).size() == 1);  // Disabled: still no rotation
  REQUIRE(h.Call("EnableKey", KeyIdBody(id)).status == 200);
  CHECK(RotationHistory(h, id) ==
        History{{"AUTOMATIC", kStart + 90 * kDay}, {"AUTOMATIC", kStart + 190 * kDay}});
}

TEST_CASE("Rotation changes apply the rotations that fell due before them",
          "[ops][rotation][automatic]") {
  OpHarness h;
  const std::string id = h.CreateSymmetricKey();
  EnableRotation(h, id, 90);
  h.clock().Advance(100 * kDay);
  SECTION("RotateKeyOnDemand: the automatic rotation first, the schedule kept") {
    REQUIRE(h.Call("RotateKeyOnDemand", KeyIdBody(id)).status == 200);
    CHECK(RotationHistory(h, id) ==
          History{{"AUTOMATIC", kStart + 90 * kDay}, {"ON_DEMAND", kStart + 100 * kDay}});
    CHECK(Status(h, id).json["NextRotationDate"].GetInt64() == kStart + 180 * kDay);
  }
  SECTION("DisableKeyRotation: the rotation stays, the schedule goes") {
    REQUIRE(h.Call("DisableKeyRotation", KeyIdBody(id)).status == 200);
    CHECK(RotationHistory(h, id) == History{{"AUTOMATIC", kStart + 90 * kDay}});
    h.clock().Advance(1000 * kDay);
    CHECK(RotationHistory(h, id).size() == 1);
  }
  SECTION("EnableKeyRotation with a new period: the rotation stays, the schedule restarts") {
    EnableRotation(h, id, 180);
    CHECK(RotationHistory(h, id) == History{{"AUTOMATIC", kStart + 90 * kDay}});
    CHECK(Status(h, id).json["NextRotationDate"].GetInt64() == kStart + 280 * kDay);
  }
}

TEST_CASE("A failed write of an automatic rotation fails the request and changes nothing",
          "[ops][rotation][automatic][storage]") {
  FaultyHarness h;
  const std::string id = h.CreateSymmetricKey();
  REQUIRE(h.Call("EnableKeyRotation", R"({"KeyId":")" + id + R"(","RotationPeriodInDays":90})")
              .status == 200);
  h.clock.Advance(90 * kDay);

  h.faults->FailNextWrites(1);
  kms::server::Reply r = h.Call("Encrypt", R"({"KeyId":")" + id + R"(","Plaintext":"aGk="})");
  CHECK(r.status == 500);
  CHECK(r.error_type == "KMSInternalException");
  auto key = h.registry->FindKey(kUsEast, id);
  CHECK(key->materials.size() == 1);  // undone in memory
  CHECK(key->next_rotation_date == kStart + 90 * kDay);

  CHECK(h.Call("Encrypt", R"({"KeyId":")" + id + R"(","Plaintext":"aGk="})").status == 200);
  key = h.registry->FindKey(kUsEast, id);
  CHECK(key->materials.size() == 2);
  CHECK(key->materials[1].rotation_date == kStart + 90 * kDay);
}
