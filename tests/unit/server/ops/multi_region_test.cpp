// Tests for server/ops/multi_region.cpp: ReplicateKey, UpdatePrimaryRegion, the
// MultiRegionConfiguration of DescribeKey, the lazily settled Creating and
// PendingReplicaDeletion states, SyncReplicas and the deletion rules of related keys, run through
// the real dispatcher (OpHarness) with callers in several regions.
#include "server/ops/multi_region.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <catch2/catch.hpp>

#include "crypto/base64.hpp"
#include "crypto/bytes.hpp"
#include "domain/vocabulary.hpp"
#include "server/ops/context.hpp"
#include "server/ops/keys.hpp"
#include "server/ops/policies.hpp"
#include "server/protocol/json_io.hpp"
#include "storage/records.hpp"
#include "storage/registry.hpp"
#include "tests/unit/server/ops/op_harness.hpp"

namespace {

using namespace kms::testing;
namespace domain = kms::domain;
using kms::server::JsonOut;

constexpr std::string_view kUs = "us-east-1";
constexpr std::string_view kEu = "eu-west-1";
constexpr std::string_view kAp = "ap-southeast-2";
const kms::storage::Scope kEuWest{"111122223333", "eu-west-1"};

std::string Str(const rapidjson::Value& v, const char* member) {
  REQUIRE(v.HasMember(member));
  return v[member].GetString();
}

std::string CreateMrk(OpHarness& h, std::string_view body = R"({"MultiRegion":true})",
                      std::string_view region = {}) {
  CallResult r = h.Call("CreateKey", body, region);
  REQUIRE(r.status == 200);
  return r.json["KeyMetadata"]["KeyId"].GetString();
}

std::string ReplicateBody(std::string_view key_ref, std::string_view region,
                          std::string_view members = {}) {
  JsonOut out;
  out.String("KeyId", key_ref);
  out.String("ReplicaRegion", region);
  return WithMembers(out.Finish(), members);
}

CallResult Replicate(OpHarness& h, std::string_view key_ref, std::string_view region,
                     std::string_view members = {}, std::string_view caller = {}) {
  return h.Call("ReplicateKey", ReplicateBody(key_ref, region, members), caller);
}

// Replicates `id` from us-east-1 into `region` and lets the creation finish.
void ReplicateReady(OpHarness& h, const std::string& id, std::string_view region) {
  CallResult r = Replicate(h, id, region);
  REQUIRE(r.status == 200);
  h.clock().Advance(kms::ops::kReplicaCreationSeconds);
}

CallResult Describe(OpHarness& h, const std::string& ref, std::string_view region = {}) {
  return h.Call("DescribeKey", KeyIdBody(ref), region);
}

std::string StateIn(OpHarness& h, const std::string& id, std::string_view region) {
  CallResult r = Describe(h, id, region);
  REQUIRE(r.status == 200);
  return Str(r.json["KeyMetadata"], "KeyState");
}

std::string UpdatePrimaryBody(std::string_view key_ref, std::string_view region) {
  JsonOut out;
  out.String("KeyId", key_ref);
  out.String("PrimaryRegion", region);
  return out.Finish();
}

// The (Arn, Region) pairs of a MultiRegionConfiguration's ReplicaKeys.
std::vector<std::pair<std::string, std::string>> ReplicaKeys(const rapidjson::Value& metadata) {
  std::vector<std::pair<std::string, std::string>> keys;
  for (const auto& k : metadata["MultiRegionConfiguration"]["ReplicaKeys"].GetArray()) {
    keys.emplace_back(Str(k, "Arn"), Str(k, "Region"));
  }
  return keys;
}

std::string EncryptIn(OpHarness& h, const std::string& key_ref, std::string_view plaintext,
                      std::string_view region) {
  JsonOut out;
  out.String("KeyId", key_ref);
  out.String("Plaintext", kms::crypto::Base64Encode(kms::crypto::AsBytes(plaintext)));
  CallResult r = h.Call("Encrypt", out.Finish(), region);
  REQUIRE(r.status == 200);
  return r.Str("CiphertextBlob");
}

void CheckError(const CallResult& r, std::string_view type, std::string_view message) {
  CAPTURE(r.body);
  CHECK(r.status == 400);
  CHECK(r.type == type);
  CHECK(r.message == message);
}

}  // namespace

// --- ReplicateKey ------------------------------------------------------------------------

TEST_CASE("CreateKey with MultiRegion stores a PRIMARY", "[ops][multi_region]") {
  OpHarness h;
  const std::string id = CreateMrk(h);
  auto key = h.registry().FindKey(kUsEast, id);
  REQUIRE(key != nullptr);
  CHECK(key->multi_region_type == domain::MultiRegionKeyType::kPrimary);
  CHECK(key->replica_regions.empty());
  CHECK(key->primary_region.empty());
}

TEST_CASE("ReplicateKey makes a Creating replica with the primary's id, as AWS answers",
          "[ops][multi_region]") {
  OpHarness h;
  const std::string id = CreateMrk(h, R"({"MultiRegion":true,"Description":"primary only"})");
  const std::string form = GENERATE(as<std::string>{}, "key id", "key ARN");
  CallResult r = Replicate(h, form == "key id" ? id : h.Arn(id), kEu);
  REQUIRE(r.status == 200);

  const auto& m = r.json["ReplicaKeyMetadata"];
  CHECK(Str(m, "KeyId") == id);
  CHECK(Str(m, "Arn") == h.Arn(id, kEu));
  CHECK(Str(m, "AWSAccountId") == "111122223333");
  CHECK(Str(m, "KeyState") == "Creating");
  CHECK_FALSE(m["Enabled"].GetBool());
  CHECK(Str(m, "Description").empty());  // not copied from the primary
  CHECK(Str(m, "KeySpec") == "SYMMETRIC_DEFAULT");
  CHECK(Str(m, "KeyUsage") == "ENCRYPT_DECRYPT");
  CHECK(Str(m, "Origin") == "AWS_KMS");
  CHECK(m["MultiRegion"].GetBool());
  CHECK_FALSE(m.HasMember("CurrentKeyMaterialId"));  // recorded: none while Creating
  const auto& config = m["MultiRegionConfiguration"];
  CHECK(Str(config, "MultiRegionKeyType") == "REPLICA");
  CHECK(Str(config["PrimaryKey"], "Arn") == h.Arn(id));
  CHECK(Str(config["PrimaryKey"], "Region") == "us-east-1");
  CHECK(ReplicaKeys(m) ==
        std::vector<std::pair<std::string, std::string>>{{h.Arn(id, kEu), "eu-west-1"}});
  CHECK(r.Str("ReplicaPolicy") == kms::ops::DefaultKeyPolicy(kEuWest));
  CHECK_FALSE(r.json.HasMember("ReplicaTags"));  // recorded: absent without tags

  // The primary lists it at once; its own description is kept.
  CallResult p = Describe(h, id);
  REQUIRE(p.status == 200);
  CHECK(Str(p.json["KeyMetadata"], "Description") == "primary only");
  CHECK(Str(p.json["KeyMetadata"]["MultiRegionConfiguration"], "MultiRegionKeyType") == "PRIMARY");
  CHECK(ReplicaKeys(p.json["KeyMetadata"]) ==
        std::vector<std::pair<std::string, std::string>>{{h.Arn(id, kEu), "eu-west-1"}});
  auto primary = h.registry().FindKey(kUsEast, id);
  REQUIRE(primary != nullptr);
  CHECK(primary->replica_regions == std::vector<std::string>{"eu-west-1"});

  // The replica record: same id, material and versions; its own scope and linkage.
  auto replica = h.registry().FindKey(kEuWest, id);
  REQUIRE(replica != nullptr);
  CHECK(replica->multi_region_type == domain::MultiRegionKeyType::kReplica);
  CHECK(replica->primary_region == "us-east-1");
  CHECK(replica->materials == primary->materials);
  CHECK(replica->current_material_version == primary->current_material_version);
  CHECK(replica->creation_date == kStart);
}

TEST_CASE("ReplicateKey takes the replica's own Description, Policy and Tags",
          "[ops][multi_region]") {
  OpHarness h;
  const std::string id =
      CreateMrk(h, R"({"MultiRegion":true,"Tags":[{"TagKey":"p","TagValue":"1"}]})");
  const std::string policy = R"({"Version":"2012-10-17","Statement":{"Effect":"Allow"}})";
  JsonOut members;
  members.String("Description", "eu copy");
  members.String("Policy", policy);
  members.Bool("BypassPolicyLockoutSafetyCheck", true);
  std::string extra = members.Finish();
  extra = extra.substr(1, extra.size() - 2) +
          R"(,"Tags":[{"TagKey":"team","TagValue":"eu"},{"TagKey":"env","TagValue":""}])";
  CallResult r = Replicate(h, id, kEu, extra);
  REQUIRE(r.status == 200);
  CHECK(Str(r.json["ReplicaKeyMetadata"], "Description") == "eu copy");
  CHECK(r.Str("ReplicaPolicy") == policy);
  REQUIRE(r.json["ReplicaTags"].Size() == 2);
  CHECK(Str(r.json["ReplicaTags"][0], "TagKey") == "team");
  CHECK(Str(r.json["ReplicaTags"][1], "TagValue").empty());

  CallResult tags = h.Call("ListResourceTags", KeyIdBody(id), kEu);
  REQUIRE(tags.json["Tags"].Size() == 2);
  CallResult got = h.Call("GetKeyPolicy", KeyIdBody(id), kEu);
  CHECK(got.Str("Policy") == policy);
  // The primary keeps its own.
  CHECK(h.Call("ListResourceTags", KeyIdBody(id)).json["Tags"].Size() == 1);
  CHECK(h.Call("GetKeyPolicy", KeyIdBody(id)).Str("Policy") == kms::ops::DefaultKeyPolicy(kUsEast));
}

TEST_CASE("A replica is Creating for a second, then Enabled with the primary's material",
          "[ops][multi_region]") {
  OpHarness h;
  const std::string id = CreateMrk(h);
  REQUIRE(Replicate(h, id, kEu).status == 200);
  // Stored as it ends, so a created replica is read without settling (no copy).
  CHECK(h.registry().FindKey(kEuWest, id)->key_state == domain::KeyState::kEnabled);

  CallResult d = Describe(h, id, kEu);
  REQUIRE(d.status == 200);
  CHECK(Str(d.json["KeyMetadata"], "KeyState") == "Creating");
  // Not usable yet, but manageable.
  CallResult enc = h.Call("Encrypt", R"({"KeyId":")" + id + R"(","Plaintext":"aGk="})", kEu);
  CheckError(enc, "KMSInvalidStateException", h.Arn(id, kEu) + " is creating.");
  CHECK(h.Call("TagResource", R"({"KeyId":")" + id + R"(","Tags":[{"TagKey":"a","TagValue":"b"}]})",
               kEu)
            .status == 200);
  CheckError(h.Call("DisableKey", KeyIdBody(id), kEu), "KMSInvalidStateException",
             h.Arn(id, kEu) + " is creating.");

  h.clock().Advance(kms::ops::kReplicaCreationSeconds);
  d = Describe(h, id, kEu);
  REQUIRE(d.status == 200);
  CHECK(Str(d.json["KeyMetadata"], "KeyState") == "Enabled");
  CHECK(d.json["KeyMetadata"]["Enabled"].GetBool());
  CHECK(Str(d.json["KeyMetadata"], "CurrentKeyMaterialId") == h.CurrentKeyMaterialId(id));
  // The tag written while Creating stored that state; the next write stores the settled one.
  CHECK(h.registry().FindKey(kEuWest, id)->key_state == domain::KeyState::kCreating);
  REQUIRE(h.Call("DisableKey", KeyIdBody(id), kEu).status == 200);
  CHECK(h.registry().FindKey(kEuWest, id)->key_state == domain::KeyState::kDisabled);
  CHECK(StateIn(h, id, kUs) == "Enabled");  // the primary's state is its own
}

TEST_CASE("A replica of a primary with imported material is made without material",
          "[ops][multi_region]") {
  OpHarness h;
  const std::string id = CreateMrk(h, R"({"MultiRegion":true,"Origin":"EXTERNAL"})");
  REQUIRE(StateIn(h, id, kUs) == "PendingImport");
  CallResult r = Replicate(h, id, kEu);
  REQUIRE(r.status == 200);
  CHECK(Str(r.json["ReplicaKeyMetadata"], "KeyState") == "Creating");
  CHECK(Str(r.json["ReplicaKeyMetadata"], "Origin") == "EXTERNAL");
  h.clock().Advance(kms::ops::kReplicaCreationSeconds);
  CHECK(StateIn(h, id, kEu) == "PendingImport");
  auto replica = h.registry().FindKey(kEuWest, id);
  REQUIRE(replica != nullptr);
  CHECK(replica->materials.empty());
  CHECK(replica->key_state == domain::KeyState::kPendingImport);
}

TEST_CASE("A write while a replica is Creating does not leave it Creating", "[ops][multi_region]") {
  OpHarness h;
  const std::string id = CreateMrk(h);
  REQUIRE(Replicate(h, id, kEu).status == 200);
  REQUIRE(h.Call("UpdateKeyDescription", R"({"KeyId":")" + id + R"(","Description":"early"})", kEu)
              .status == 200);
  CHECK(h.registry().FindKey(kEuWest, id)->key_state == domain::KeyState::kCreating);
  CHECK(StateIn(h, id, kEu) == "Creating");
  h.clock().Advance(kms::ops::kReplicaCreationSeconds);
  CHECK(StateIn(h, id, kEu) == "Enabled");
  CHECK(h.Call("Encrypt", R"({"KeyId":")" + id + R"(","Plaintext":"aGk="})", kEu).status == 200);
  // The next write stores the settled state.
  REQUIRE(h.Call("UpdateKeyDescription", R"({"KeyId":")" + id + R"(","Description":"later"})", kEu)
              .status == 200);
  CHECK(h.registry().FindKey(kEuWest, id)->key_state == domain::KeyState::kEnabled);
}

TEST_CASE("A blob of either region decrypts in the other", "[ops][multi_region]") {
  OpHarness h;
  const std::string id = CreateMrk(h);
  ReplicateReady(h, id, kEu);

  const std::string from_us = EncryptIn(h, id, "sealed in us", kUs);
  const std::string from_eu = EncryptIn(h, id, "sealed in eu", kEu);
  const auto decrypt = [&](const std::string& blob, std::string_view region,
                           std::optional<std::string> key_ref) {
    CallResult r = h.Call("Decrypt", DecryptBody(blob, std::nullopt, key_ref), region);
    REQUIRE(r.status == 200);
    CHECK(r.Str("KeyId") == h.Arn(id, region));
    const auto plain = Decoded(r, "Plaintext");
    return std::string(plain.begin(), plain.end());
  };
  CHECK(decrypt(from_us, kEu, std::nullopt) == "sealed in us");
  CHECK(decrypt(from_us, kEu, id) == "sealed in us");
  CHECK(decrypt(from_us, kEu, h.Arn(id, kEu)) == "sealed in us");
  CHECK(decrypt(from_eu, kUs, std::nullopt) == "sealed in eu");
  CHECK(decrypt(from_eu, kUs, h.Arn(id)) == "sealed in eu");

  // A region without a related key cannot open it.
  CHECK(h.Call("Decrypt", DecryptBody(from_us), kAp).type == "InvalidCiphertextException");
  // A key ARN must still name the caller's region.
  CHECK(h.Call("Decrypt", DecryptBody(from_us, std::nullopt, h.Arn(id)), kEu).message ==
        "Invalid arn us-east-1");
}

TEST_CASE("Multi-region signing and HMAC keys work across regions too", "[ops][multi_region]") {
  OpHarness h;
  const std::string mac_id =
      CreateMrk(h, R"({"MultiRegion":true,"KeySpec":"HMAC_256","KeyUsage":"GENERATE_VERIFY_MAC"})");
  ReplicateReady(h, mac_id, kEu);
  CallResult mac =
      h.Call("GenerateMac",
             R"({"KeyId":")" + mac_id + R"(","Message":"aGk=","MacAlgorithm":"HMAC_SHA_256"})");
  REQUIRE(mac.status == 200);
  CallResult verified = h.Call("VerifyMac",
                               R"({"KeyId":")" + mac_id +
                                   R"(","Message":"aGk=","MacAlgorithm":"HMAC_SHA_256","Mac":")" +
                                   mac.Str("Mac") + R"("})",
                               kEu);
  REQUIRE(verified.status == 200);
  CHECK(verified.json["MacValid"].GetBool());

  const std::string sign_id =
      CreateMrk(h, R"({"MultiRegion":true,"KeySpec":"ECC_NIST_P256","KeyUsage":"SIGN_VERIFY"})");
  ReplicateReady(h, sign_id, kEu);
  CallResult sig = h.Call(
      "Sign",
      R"({"KeyId":")" + sign_id + R"(","Message":"aGk=","SigningAlgorithm":"ECDSA_SHA_256"})", kEu);
  REQUIRE(sig.status == 200);
  CallResult ok = h.Call("Verify", R"({"KeyId":")" + sign_id +
                                       R"(","Message":"aGk=","SigningAlgorithm":"ECDSA_SHA_256",)" +
                                       R"("Signature":")" + sig.Str("Signature") + R"("})");
  REQUIRE(ok.status == 200);
  CHECK(ok.json["SignatureValid"].GetBool());
  CHECK(h.Call("GetPublicKey", KeyIdBody(sign_id), kEu).Str("PublicKey") ==
        h.Call("GetPublicKey", KeyIdBody(sign_id)).Str("PublicKey"));
}

TEST_CASE("ReplicateKey errors: the key", "[ops][multi_region]") {
  OpHarness h;
  const std::string mrk = CreateMrk(h);

  SECTION("a key that does not exist") {
    const std::string missing = "mrk-0123456789abcdef0123456789abcdef";
    CheckError(Replicate(h, missing, kEu), "NotFoundException",
               "Key '" + h.Arn(missing) + "' does not exist");
  }
  SECTION("NotFoundException comes before a malformed policy") {
    const std::string missing = "mrk-0123456789abcdef0123456789abcdef";
    CheckError(Replicate(h, missing, kEu, R"("Policy":"not json")"), "NotFoundException",
               "Key '" + h.Arn(missing) + "' does not exist");
  }
  SECTION("an alias is not accepted") {
    h.CreateAlias("alias/mr", mrk);
    CheckError(Replicate(h, "alias/mr", kEu), "NotFoundException", "Invalid keyId 'alias/mr'");
  }
  SECTION("a single-region key") {
    const std::string single = h.CreateSymmetricKey();
    CheckError(Replicate(h, single, kEu), "UnsupportedOperationException",
               h.Arn(single) + " is not a multi-region primary key.");
  }
  SECTION("a replica, even before anything is checked about ReplicaRegion (recorded from AWS)") {
    REQUIRE(Replicate(h, mrk, kEu).status == 200);
    CheckError(Replicate(h, mrk, kEu, {}, kEu), "UnsupportedOperationException",
               h.Arn(mrk, kEu) + " is not a multi-region primary key.");
  }
  SECTION("a disabled primary") {
    REQUIRE(h.Call("DisableKey", KeyIdBody(mrk)).status == 200);
    CheckError(Replicate(h, mrk, kEu), "DisabledException", h.Arn(mrk) + " is disabled.");
  }
  SECTION("a primary pending deletion") {
    h.ScheduleDeletion(mrk);
    CheckError(Replicate(h, mrk, kEu), "KMSInvalidStateException",
               h.Arn(mrk) + " is pending deletion.");
  }
}

TEST_CASE("ReplicateKey errors: the region, the replica, the policy and the tags",
          "[ops][multi_region]") {
  OpHarness h;
  const std::string mrk = CreateMrk(h);

  SECTION("the primary's own region") {
    CheckError(
        Replicate(h, mrk, kUs), "ValidationException",
        "The replica region us-east-1 must be different from the region of the primary key.");
  }
  SECTION("a region where KMS is not") {
    CheckError(Replicate(h, mrk, "us-fake-1"), "UnsupportedOperationException",
               "The replica region us-fake-1 is not a region where AWS KMS is available.");
  }
  SECTION("a region of another partition") {
    CheckError(Replicate(h, mrk, "cn-north-1"), "UnsupportedOperationException",
               "The replica region cn-north-1 is not in the same AWS partition as the primary "
               "key (aws).");
  }
  SECTION("a region that has a replica already, even one pending deletion") {
    REQUIRE(Replicate(h, mrk, kEu).status == 200);
    const std::string text =
        "A replica of " + h.Arn(mrk) + " already exists in eu-west-1: " + h.Arn(mrk, kEu);
    CheckError(Replicate(h, mrk, kEu), "AlreadyExistsException", text);
    REQUIRE(h.Call("ScheduleKeyDeletion", ScheduleDeletionBody(mrk, 7), kEu).status == 200);
    CheckError(Replicate(h, mrk, kEu), "AlreadyExistsException", text);
  }
  SECTION("a malformed policy") {
    CallResult r = Replicate(h, mrk, kEu, R"("Policy":"{\"Version\":\"1\"}")");
    CHECK(r.type == "MalformedPolicyDocumentException");
    CHECK(r.message == "The key policy must contain a Statement.");
  }
  SECTION("a reserved tag") {
    CheckError(Replicate(h, mrk, kEu, R"("Tags":[{"TagKey":"AWS:x","TagValue":"v"}])"),
               "TagException", "Tags beginning with aws: are reserved");
  }
  SECTION("a duplicate tag") {
    CheckError(Replicate(h, mrk, kEu,
                         R"("Tags":[{"TagKey":"a","TagValue":"1"},{"TagKey":"a","TagValue":"2"}])"),
               "TagException", "Duplicate tag keys");
  }
  SECTION("a missing ReplicaRegion") {
    CallResult r = h.Call("ReplicateKey", KeyIdBody(mrk));
    CHECK(r.status == 400);
    CHECK(r.type == "ValidationException");
  }
  // Nothing was made by a refused request.
  if (h.registry().FindKey(kEuWest, mrk) == nullptr) {
    CHECK(h.registry().FindKey(kUsEast, mrk)->replica_regions.empty());
  }
}

TEST_CASE("Related keys' aliases, tags, policies, state and description are their own",
          "[ops][multi_region]") {
  OpHarness h;
  const std::string id = CreateMrk(h);
  ReplicateReady(h, id, kEu);
  h.CreateAlias("alias/app", id, kEu);
  CHECK(h.Call("DescribeKey", KeyIdBody("alias/app"), kEu).status == 200);
  CHECK(h.Call("DescribeKey", KeyIdBody("alias/app")).type == "NotFoundException");
  REQUIRE(h.Call("UpdateKeyDescription", R"({"KeyId":")" + id + R"(","Description":"eu"})", kEu)
              .status == 200);
  REQUIRE(h.Call("DisableKey", KeyIdBody(id)).status == 200);
  CHECK(StateIn(h, id, kUs) == "Disabled");
  CHECK(StateIn(h, id, kEu) == "Enabled");
  CHECK(Str(Describe(h, id).json["KeyMetadata"], "Description").empty());
  CHECK(Str(Describe(h, id, kEu).json["KeyMetadata"], "Description") == "eu");
  // The disabled primary's blobs still open in the enabled replica.
  REQUIRE(h.Call("EnableKey", KeyIdBody(id)).status == 200);
  const std::string blob = EncryptIn(h, id, "x", kUs);
  REQUIRE(h.Call("DisableKey", KeyIdBody(id)).status == 200);
  CHECK(h.Call("Decrypt", DecryptBody(blob), kEu).status == 200);
  CHECK(h.Call("Decrypt", DecryptBody(blob)).type == "DisabledException");
}

TEST_CASE("DescribeKey of a replica lists every replica, itself included", "[ops][multi_region]") {
  OpHarness h;
  const std::string id = CreateMrk(h);
  ReplicateReady(h, id, kEu);
  ReplicateReady(h, id, kAp);
  const std::vector<std::pair<std::string, std::string>> all = {{h.Arn(id, kAp), "ap-southeast-2"},
                                                                {h.Arn(id, kEu), "eu-west-1"}};
  for (std::string_view region : {kUs, kEu, kAp}) {
    CAPTURE(region);
    CallResult d = Describe(h, id, region);
    REQUIRE(d.status == 200);
    CHECK(ReplicaKeys(d.json["KeyMetadata"]) == all);
    CHECK(Str(d.json["KeyMetadata"]["MultiRegionConfiguration"]["PrimaryKey"], "Arn") == h.Arn(id));
    CHECK(Str(d.json["KeyMetadata"]["MultiRegionConfiguration"], "MultiRegionKeyType") ==
          (region == kUs ? "PRIMARY" : "REPLICA"));
  }
}

// --- shared properties --------------------------------------------------------------------

TEST_CASE("SyncReplicas gives every replica the primary's new material and rotation settings",
          "[ops][multi_region]") {
  OpHarness h;
  const std::string id = CreateMrk(h);
  ReplicateReady(h, id, kEu);
  ReplicateReady(h, id, kAp);
  const std::string old_blob = EncryptIn(h, id, "old", kUs);

  kms::ops::OpContext ctx{h.registry(), h.clock(), h.config(), kUsEast, "test"};
  {
    auto writer = h.registry().BeginWrite();
    kms::storage::KeyRecord primary = *h.registry().FindKey(kUsEast, id);
    auto material =
        kms::ops::NewKeyMaterial(domain::SpecInfo(primary.key_spec), h.clock().NowSeconds());
    REQUIRE(material.has_value());
    material->version = 2;
    primary.materials.push_back(*material);
    primary.current_material_version = 2;
    primary.rotation_enabled = true;
    primary.rotation_period_days = 90;
    primary.next_rotation_date = kStart + 90 * kDay;
    REQUIRE(writer.UpdateKey(primary).has_value());
    REQUIRE(kms::ops::SyncReplicas(ctx, writer, primary).has_value());
  }
  auto primary = h.registry().FindKey(kUsEast, id);
  for (const auto& scope : {kEuWest, kms::storage::Scope{"111122223333", "ap-southeast-2"}}) {
    auto replica = h.registry().FindKey(scope, id);
    REQUIRE(replica != nullptr);
    CHECK(replica->materials == primary->materials);
    CHECK(replica->current_material_version == 2);
    CHECK(replica->rotation_enabled);
    CHECK(replica->rotation_period_days == 90);
    CHECK(replica->next_rotation_date == primary->next_rotation_date);
    CHECK(replica->primary_region == "us-east-1");
  }
  CHECK(h.CurrentKeyMaterialId(id) ==
        Str(Describe(h, id, kEu).json["KeyMetadata"], "CurrentKeyMaterialId"));
  const std::string new_blob = EncryptIn(h, id, "new", kUs);
  CHECK(h.Call("Decrypt", DecryptBody(new_blob), kEu).status == 200);
  CHECK(h.Call("Decrypt", DecryptBody(old_blob), kAp).status == 200);

  // A single-region key or a replica: nothing to do.
  const std::string single = h.CreateSymmetricKey();
  auto writer = h.registry().BeginWrite();
  CHECK(kms::ops::SyncReplicas(ctx, writer, *h.registry().FindKey(kUsEast, single)).has_value());
  CHECK(kms::ops::SyncReplicas(ctx, writer, *h.registry().FindKey(kEuWest, id)).has_value());
}

TEST_CASE("RotateKeyOnDemand of a primary reaches its replicas", "[ops][multi_region]") {
  OpHarness h;
  const std::string id = CreateMrk(h);
  ReplicateReady(h, id, kEu);
  REQUIRE(h.Call("RotateKeyOnDemand", KeyIdBody(id)).status == 200);
  CHECK(Str(Describe(h, id, kEu).json["KeyMetadata"], "CurrentKeyMaterialId") ==
        h.CurrentKeyMaterialId(id));
  const std::string blob = EncryptIn(h, id, "after rotation", kUs);
  CHECK(h.Call("Decrypt", DecryptBody(blob), kEu).status == 200);

  REQUIRE(h.Call("EnableKeyRotation", R"({"KeyId":")" + id + R"(","RotationPeriodInDays":100})")
              .status == 200);
  CallResult status = h.Call("GetKeyRotationStatus", KeyIdBody(id), kEu);
  REQUIRE(status.status == 200);
  CHECK(status.json["KeyRotationEnabled"].GetBool());
  CHECK(status.json["RotationPeriodInDays"].GetInt() == 100);
  REQUIRE(h.Call("DisableKeyRotation", KeyIdBody(id)).status == 200);
  CHECK_FALSE(
      h.Call("GetKeyRotationStatus", KeyIdBody(id), kEu).json["KeyRotationEnabled"].GetBool());

  // Rotation is the primary's to do (AWS text not pinned).
  for (const char* op : {"RotateKeyOnDemand", "EnableKeyRotation", "DisableKeyRotation"}) {
    CAPTURE(op);
    CheckError(h.Call(op, KeyIdBody(id), kEu), "UnsupportedOperationException",
               h.Arn(id, kEu) + " is a multi-region replica key. Rotate its primary key " +
                   h.Arn(id) + " instead.");
  }
}

TEST_CASE("Automatic rotation of a primary reaches its replicas, whichever key is used first",
          "[ops][multi_region]") {
  OpHarness h;
  const std::string id = CreateMrk(h);
  ReplicateReady(h, id, kEu);
  ReplicateReady(h, id, kAp);
  REQUIRE(h.Call("EnableKeyRotation", R"({"KeyId":")" + id + R"(","RotationPeriodInDays":90})")
              .status == 200);
  const std::int64_t due = h.clock().NowSeconds() + 90 * kDay;
  CHECK(h.registry().FindKey(kEuWest, id)->next_rotation_date == due);
  const std::string before = h.CurrentKeyMaterialId(id);
  const std::string old_blob = EncryptIn(h, id, "before", kEu);

  h.clock().Advance(90 * kDay);
  // The replica is used first: the primary rotates, and every replica gets its material.
  const std::string new_blob = EncryptIn(h, id, "after", kEu);
  const std::string after = Str(Describe(h, id, kEu).json["KeyMetadata"], "CurrentKeyMaterialId");
  CHECK(after != before);
  auto primary = h.registry().FindKey(kUsEast, id);
  REQUIRE(primary->materials.size() == 2);
  CHECK(primary->materials.back().material_id == after);
  CHECK(primary->materials.back().rotation_type == domain::RotationType::kAutomatic);
  CHECK(primary->materials.back().rotation_date == due);
  for (const auto& scope : {kEuWest, kms::storage::Scope{"111122223333", "ap-southeast-2"}}) {
    auto replica = h.registry().FindKey(scope, id);
    CHECK(replica->materials == primary->materials);
    CHECK(replica->next_rotation_date == due + 90 * kDay);
  }
  CHECK(h.Call("Decrypt", DecryptBody(new_blob)).status == 200);
  CHECK(h.Call("Decrypt", DecryptBody(old_blob), kAp).status == 200);
  CallResult rotations = h.Call("ListKeyRotations", KeyIdBody(id), kAp);
  REQUIRE(rotations.status == 200);
  REQUIRE(rotations.json["Rotations"].Size() == 1);
  CHECK(Str(rotations.json["Rotations"][0], "KeyMaterialId") == after);
}

TEST_CASE("A replica does not rotate while its primary does not", "[ops][multi_region]") {
  OpHarness h;
  const std::string id = CreateMrk(h);
  ReplicateReady(h, id, kEu);
  REQUIRE(h.Call("EnableKeyRotation", R"({"KeyId":")" + id + R"(","RotationPeriodInDays":90})")
              .status == 200);
  REQUIRE(h.Call("DisableKey", KeyIdBody(id)).status == 200);
  h.clock().Advance(91 * kDay);
  EncryptIn(h, id, "x", kEu);  // the replica is enabled; its primary is not, so nothing is due
  CHECK(h.registry().FindKey(kEuWest, id)->materials.size() == 1);
  CHECK(h.registry().FindKey(kUsEast, id)->materials.size() == 1);
  // Enabling the primary rotates it at once (its date passed while disabled): the replica too.
  REQUIRE(h.Call("EnableKey", KeyIdBody(id)).status == 200);
  CHECK(h.registry().FindKey(kEuWest, id)->materials.size() == 2);
  CHECK(Str(Describe(h, id, kEu).json["KeyMetadata"], "CurrentKeyMaterialId") ==
        h.CurrentKeyMaterialId(id));
  // Disabling a replica touches no material; disabling the primary after its next date makes
  // the rotation due until then, for every related key.
  REQUIRE(h.Call("DisableKey", KeyIdBody(id), kEu).status == 200);
  h.clock().Advance(90 * kDay);
  REQUIRE(h.Call("DisableKey", KeyIdBody(id)).status == 200);
  CHECK(h.registry().FindKey(kUsEast, id)->materials.size() == 3);
  CHECK(h.registry().FindKey(kEuWest, id)->materials.size() == 3);
}

// --- UpdatePrimaryRegion ------------------------------------------------------------------

TEST_CASE("UpdatePrimaryRegion swaps the primary and a replica; every related key follows",
          "[ops][multi_region]") {
  OpHarness h;
  const std::string id = CreateMrk(h);
  ReplicateReady(h, id, kEu);
  ReplicateReady(h, id, kAp);

  CallResult r = h.Call("UpdatePrimaryRegion", UpdatePrimaryBody(h.Arn(id), kEu));
  REQUIRE(r.status == 200);
  CHECK(r.body == "{}");

  const std::vector<std::pair<std::string, std::string>> replicas = {
      {h.Arn(id, kAp), "ap-southeast-2"}, {h.Arn(id, kUs), "us-east-1"}};
  for (std::string_view region : {kUs, kEu, kAp}) {
    CAPTURE(region);
    CallResult d = Describe(h, id, region);
    REQUIRE(d.status == 200);
    const auto& config = d.json["KeyMetadata"]["MultiRegionConfiguration"];
    CHECK(Str(config, "MultiRegionKeyType") == (region == kEu ? "PRIMARY" : "REPLICA"));
    CHECK(Str(config["PrimaryKey"], "Arn") == h.Arn(id, kEu));
    CHECK(Str(config["PrimaryKey"], "Region") == "eu-west-1");
    CHECK(ReplicaKeys(d.json["KeyMetadata"]) == replicas);
    CHECK(Str(d.json["KeyMetadata"], "KeyState") == "Enabled");  // no lasting Updating
  }
  // The new primary replicates; the old one no longer does.
  CheckError(Replicate(h, id, "us-west-2"), "UnsupportedOperationException",
             h.Arn(id) + " is not a multi-region primary key.");
  CHECK(Replicate(h, id, "us-west-2", {}, kEu).status == 200);
  CHECK(h.registry().FindKey(kEuWest, id)->replica_regions ==
        std::vector<std::string>{"ap-southeast-2", "us-east-1", "us-west-2"});
  // And back again.
  h.clock().Advance(kms::ops::kReplicaCreationSeconds);
  REQUIRE(h.Call("UpdatePrimaryRegion", UpdatePrimaryBody(id, kUs), kEu).status == 200);
  CHECK(Str(Describe(h, id, "us-west-2")
                .json["KeyMetadata"]["MultiRegionConfiguration"]["PrimaryKey"],
            "Region") == "us-east-1");
}

TEST_CASE("UpdatePrimaryRegion errors", "[ops][multi_region]") {
  OpHarness h;
  const std::string id = CreateMrk(h);
  REQUIRE(Replicate(h, id, kEu).status == 200);

  SECTION("a replica is not the primary") {
    h.clock().Advance(kms::ops::kReplicaCreationSeconds);
    CheckError(h.Call("UpdatePrimaryRegion", UpdatePrimaryBody(id, kUs), kEu),
               "UnsupportedOperationException",
               h.Arn(id, kEu) + " is not a multi-region primary key.");
  }
  SECTION("a single-region key") {
    const std::string single = h.CreateSymmetricKey();
    CheckError(h.Call("UpdatePrimaryRegion", UpdatePrimaryBody(single, kEu)),
               "UnsupportedOperationException",
               h.Arn(single) + " is not a multi-region primary key.");
  }
  SECTION("a key that does not exist") {
    const std::string missing = "mrk-00000000000000000000000000000000";
    CheckError(h.Call("UpdatePrimaryRegion", UpdatePrimaryBody(missing, kEu)), "NotFoundException",
               "Key '" + h.Arn(missing) + "' does not exist");
  }
  SECTION("the primary's own region") {
    CheckError(h.Call("UpdatePrimaryRegion", UpdatePrimaryBody(id, kUs)),
               "UnsupportedOperationException",
               h.Arn(id) + " is already the primary key in us-east-1.");
  }
  SECTION("a region without a replica") {
    CheckError(h.Call("UpdatePrimaryRegion", UpdatePrimaryBody(id, kAp)), "NotFoundException",
               "Key '" + h.Arn(id, kAp) + "' does not exist");
  }
  SECTION("a replica still being created") {
    CheckError(h.Call("UpdatePrimaryRegion", UpdatePrimaryBody(id, kEu)),
               "KMSInvalidStateException", h.Arn(id, kEu) + " is creating.");
  }
  SECTION("a disabled primary") {
    h.clock().Advance(kms::ops::kReplicaCreationSeconds);
    REQUIRE(h.Call("DisableKey", KeyIdBody(id)).status == 200);
    CheckError(h.Call("UpdatePrimaryRegion", UpdatePrimaryBody(id, kEu)), "DisabledException",
               h.Arn(id) + " is disabled.");
  }
  SECTION("a disabled replica") {
    h.clock().Advance(kms::ops::kReplicaCreationSeconds);
    REQUIRE(h.Call("DisableKey", KeyIdBody(id), kEu).status == 200);
    CheckError(h.Call("UpdatePrimaryRegion", UpdatePrimaryBody(id, kEu)), "DisabledException",
               h.Arn(id, kEu) + " is disabled.");
  }
  SECTION("a replica pending deletion") {
    h.clock().Advance(kms::ops::kReplicaCreationSeconds);
    REQUIRE(h.Call("ScheduleKeyDeletion", ScheduleDeletionBody(id, 7), kEu).status == 200);
    CheckError(h.Call("UpdatePrimaryRegion", UpdatePrimaryBody(id, kEu)),
               "KMSInvalidStateException", h.Arn(id, kEu) + " is pending deletion.");
  }
  // The primary is still the primary.
  CHECK(h.registry().FindKey(kUsEast, id)->multi_region_type ==
        domain::MultiRegionKeyType::kPrimary);
}

// --- deletion -----------------------------------------------------------------------------

TEST_CASE("A primary with replicas waits in PendingReplicaDeletion until the last is deleted",
          "[ops][multi_region]") {
  OpHarness h;
  const std::string id = CreateMrk(h);
  ReplicateReady(h, id, kEu);
  ReplicateReady(h, id, kAp);

  CallResult s = h.Call("ScheduleKeyDeletion", ScheduleDeletionBody(id, 10));
  REQUIRE(s.status == 200);
  CHECK(s.Str("KeyState") == "PendingReplicaDeletion");
  CHECK(s.json["PendingWindowInDays"].GetInt() == 10);
  CHECK_FALSE(s.json.HasMember("DeletionDate"));  // not known until the last replica is deleted
  CallResult d = Describe(h, id);
  CHECK(Str(d.json["KeyMetadata"], "KeyState") == "PendingReplicaDeletion");
  CHECK(d.json["KeyMetadata"]["PendingDeletionWindowInDays"].GetInt() == 10);
  CHECK_FALSE(d.json["KeyMetadata"].HasMember("DeletionDate"));
  CHECK_FALSE(d.json["KeyMetadata"]["Enabled"].GetBool());
  CheckError(h.Call("Encrypt", R"({"KeyId":")" + id + R"(","Plaintext":"aGk="})"),
             "KMSInvalidStateException", h.Arn(id) + " is pending replica deletion.");
  CheckError(Replicate(h, id, "us-west-2"), "KMSInvalidStateException",
             h.Arn(id) + " is pending replica deletion.");
  CheckError(h.Call("ScheduleKeyDeletion", ScheduleDeletionBody(id, 7)), "KMSInvalidStateException",
             h.Arn(id) + " is pending replica deletion.");
  CHECK(StateIn(h, id, kEu) == "Enabled");  // replicas keep working

  REQUIRE(h.Call("ScheduleKeyDeletion", ScheduleDeletionBody(id, 7), kEu).status == 200);
  h.clock().Advance(3 * kDay);
  CallResult ap = h.Call("ScheduleKeyDeletion", ScheduleDeletionBody(id, 7), kAp);
  REQUIRE(ap.status == 200);
  const std::int64_t last_replica_deleted = ap.json["DeletionDate"].GetInt64();
  h.clock().Advance(4 * kDay);  // the eu replica is gone, the ap one is not
  CHECK(Describe(h, id, kEu).type == "NotFoundException");
  CHECK(StateIn(h, id, kUs) == "PendingReplicaDeletion");
  CHECK(ReplicaKeys(Describe(h, id).json["KeyMetadata"]) ==
        std::vector<std::pair<std::string, std::string>>{{h.Arn(id, kAp), "ap-southeast-2"}});

  h.clock().Advance(3 * kDay);  // the ap replica is gone too
  d = Describe(h, id);
  REQUIRE(d.status == 200);
  CHECK(Str(d.json["KeyMetadata"], "KeyState") == "PendingDeletion");
  CHECK(d.json["KeyMetadata"]["DeletionDate"].GetInt64() == last_replica_deleted + 10 * kDay);
  CHECK(ReplicaKeys(d.json["KeyMetadata"]).empty());

  // Purging a region's keys stores that state on the primary.
  REQUIRE(h.Call("ListKeys", "{}", kAp).status == 200);
  REQUIRE(h.Call("ListKeys", "{}", kEu).status == 200);
  CHECK(h.registry().FindKey(kEuWest, id) == nullptr);
  auto primary = h.registry().FindKey(kUsEast, id);
  REQUIRE(primary != nullptr);
  CHECK(primary->key_state == domain::KeyState::kPendingDeletion);
  CHECK(primary->deletion_date == last_replica_deleted + 10 * kDay);
  CHECK(primary->replica_regions.empty());

  h.clock().Advance(10 * kDay);
  CHECK(Describe(h, id).type == "NotFoundException");
}

TEST_CASE("Purging replicas in any order dates the primary's deletion from the last of them",
          "[ops][multi_region]") {
  OpHarness h;
  const std::string id = CreateMrk(h);
  ReplicateReady(h, id, kEu);
  ReplicateReady(h, id, kAp);
  REQUIRE(h.Call("ScheduleKeyDeletion", ScheduleDeletionBody(id, 7)).status == 200);
  REQUIRE(h.Call("ScheduleKeyDeletion", ScheduleDeletionBody(id, 7), kEu).status == 200);
  h.clock().Advance(kDay);
  REQUIRE(h.Call("ScheduleKeyDeletion", ScheduleDeletionBody(id, 7), kAp).status == 200);
  const std::int64_t ap_deleted = h.clock().NowSeconds() + 7 * kDay;
  h.clock().Advance(8 * kDay);
  CHECK(Describe(h, id).json["KeyMetadata"]["DeletionDate"].GetInt64() == ap_deleted + 7 * kDay);
  // The later replica (ap) is purged first: the primary is stored as it was seen, dated from
  // ap although the earlier one (eu) is still stored; purging eu then changes nothing.
  REQUIRE(h.Call("ListKeys", "{}", kAp).status == 200);
  auto primary = h.registry().FindKey(kUsEast, id);
  CHECK(primary->key_state == domain::KeyState::kPendingDeletion);
  CHECK(primary->deletion_date == ap_deleted + 7 * kDay);
  CHECK(h.registry().FindKey(kEuWest, id) != nullptr);
  REQUIRE(h.Call("ListKeys", "{}", kEu).status == 200);
  CHECK(h.registry().FindKey(kEuWest, id) == nullptr);
  CHECK(*h.registry().FindKey(kUsEast, id) == *primary);

  // A replica deleted while another is still pending: the primary waits for the other.
  const std::string other = CreateMrk(h);
  ReplicateReady(h, other, kEu);
  ReplicateReady(h, other, kAp);
  REQUIRE(h.Call("ScheduleKeyDeletion", ScheduleDeletionBody(other, 7)).status == 200);
  REQUIRE(h.Call("ScheduleKeyDeletion", ScheduleDeletionBody(other, 7), kEu).status == 200);
  h.clock().Advance(7 * kDay);
  REQUIRE(h.Call("ListKeys", "{}", kEu).status == 200);
  CHECK(h.registry().FindKey(kUsEast, other)->key_state ==
        domain::KeyState::kPendingReplicaDeletion);
  CHECK(h.registry().FindKey(kUsEast, other)->replica_regions ==
        std::vector<std::string>{"ap-southeast-2"});
  CHECK(StateIn(h, other, kUs) == "PendingReplicaDeletion");
}

TEST_CASE("CancelKeyDeletion brings a PendingReplicaDeletion primary back Disabled",
          "[ops][multi_region]") {
  OpHarness h;
  const std::string id = CreateMrk(h);
  ReplicateReady(h, id, kEu);
  REQUIRE(h.Call("ScheduleKeyDeletion", ScheduleDeletionBody(id, 7)).status == 200);
  CallResult c = h.Call("CancelKeyDeletion", KeyIdBody(id));
  REQUIRE(c.status == 200);
  CHECK(c.Str("KeyId") == h.Arn(id));
  CallResult d = Describe(h, id);
  CHECK(Str(d.json["KeyMetadata"], "KeyState") == "Disabled");
  CHECK_FALSE(d.json["KeyMetadata"].HasMember("PendingDeletionWindowInDays"));
  // A replica pending deletion still counts; once it is gone, the primary is scheduled like any
  // key.
  REQUIRE(h.Call("ScheduleKeyDeletion", ScheduleDeletionBody(id, 7), kEu).status == 200);
  CallResult s = h.Call("ScheduleKeyDeletion", ScheduleDeletionBody(id, 7));
  CHECK(s.Str("KeyState") == "PendingReplicaDeletion");  // the eu replica still exists
  REQUIRE(h.Call("CancelKeyDeletion", KeyIdBody(id)).status == 200);
  h.clock().Advance(7 * kDay);
  s = h.Call("ScheduleKeyDeletion", ScheduleDeletionBody(id, 7));
  CHECK(s.Str("KeyState") == "PendingDeletion");
  CHECK(s.json["DeletionDate"].GetInt64() == h.clock().NowSeconds() + 7 * kDay);
}

TEST_CASE("A deleted replica can be replicated again, even before it is purged",
          "[ops][multi_region]") {
  OpHarness h;
  const std::string id = CreateMrk(h);
  ReplicateReady(h, id, kEu);
  h.CreateAlias("alias/old", id, kEu);
  REQUIRE(h.Call("ScheduleKeyDeletion", ScheduleDeletionBody(id, 7), kEu).status == 200);
  h.clock().Advance(7 * kDay);
  CHECK(ReplicaKeys(Describe(h, id).json["KeyMetadata"]).empty());

  CallResult r = Replicate(h, id, kEu, R"("Description":"again")");
  REQUIRE(r.status == 200);
  CHECK(Str(r.json["ReplicaKeyMetadata"], "KeyState") == "Creating");
  CHECK(h.registry().FindAlias(kEuWest, "alias/old") == std::nullopt);  // went with the old one
  CHECK(h.registry().FindKey(kUsEast, id)->replica_regions ==
        std::vector<std::string>{"eu-west-1"});
  h.clock().Advance(kms::ops::kReplicaCreationSeconds);
  CHECK(StateIn(h, id, kEu) == "Enabled");
}

// --- durability ---------------------------------------------------------------------------

TEST_CASE("Replicas and their configuration survive a restart", "[ops][multi_region]") {
  TempDbFile db;
  OpHarness h(db.path());
  const std::string id = CreateMrk(h);
  REQUIRE(Replicate(h, id, kEu, R"("Description":"eu")").status == 200);
  const std::string blob = EncryptIn(h, id, "before restart", kUs);

  h.Reopen();
  CallResult d = Describe(h, id, kEu);
  REQUIRE(d.status == 200);
  CHECK(Str(d.json["KeyMetadata"], "KeyState") == "Creating");  // the same clock, the same state
  h.clock().Advance(kms::ops::kReplicaCreationSeconds);
  d = Describe(h, id, kEu);
  CHECK(Str(d.json["KeyMetadata"], "KeyState") == "Enabled");
  CHECK(Str(d.json["KeyMetadata"], "Description") == "eu");
  CHECK(Str(d.json["KeyMetadata"]["MultiRegionConfiguration"]["PrimaryKey"], "Region") ==
        "us-east-1");
  CHECK(ReplicaKeys(Describe(h, id).json["KeyMetadata"]).size() == 1);
  CHECK(h.Call("Decrypt", DecryptBody(blob), kEu).status == 200);
}

TEST_CASE("A storage failure fails ReplicateKey and UpdatePrimaryRegion and changes nothing",
          "[ops][multi_region][storage]") {
  FaultyHarness h;
  kms::server::Reply created = h.Call("CreateKey", R"({"MultiRegion":true})");
  REQUIRE(created.status == 200);
  rapidjson::Document doc;
  doc.Parse(created.body.c_str());
  const std::string id = doc["KeyMetadata"]["KeyId"].GetString();

  h.faults->FailNextWrites(1);
  kms::server::Reply r = h.Call("ReplicateKey", ReplicateBody(id, kEu));
  CHECK(r.status == 500);
  CHECK(r.error_type == "KMSInternalException");
  CHECK(h.registry->FindKey(kEuWest, id) == nullptr);
  CHECK(h.registry->FindKey(kUsEast, id)->replica_regions.empty());

  REQUIRE(h.Call("ReplicateKey", ReplicateBody(id, kEu)).status == 200);
  h.clock.Advance(kms::ops::kReplicaCreationSeconds);
  h.faults->FailNextWrites(1);
  r = h.Call("UpdatePrimaryRegion", UpdatePrimaryBody(id, kEu));
  CHECK(r.status == 500);
  CHECK(h.registry->FindKey(kUsEast, id)->multi_region_type ==
        domain::MultiRegionKeyType::kPrimary);
  CHECK(h.registry->FindKey(kEuWest, id)->multi_region_type ==
        domain::MultiRegionKeyType::kReplica);
}
