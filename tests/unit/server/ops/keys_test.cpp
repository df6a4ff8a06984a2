// Tests for server/ops/keys.cpp: CreateKey, DescribeKey, ListKeys, UpdateKeyDescription,
// EnableKey, DisableKey, ScheduleKeyDeletion, CancelKeyDeletion and PurgeExpiredKeys, run
// through the real dispatcher (OpHarness).
#include "server/ops/keys.hpp"

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <regex>
#include <set>
#include <string>
#include <system_error>
#include <thread>
#include <unistd.h>
#include <vector>

#include <catch2/catch.hpp>

#include "crypto/digest.hpp"
#include "crypto/key_pair.hpp"
#include "domain/key_specs.hpp"
#include "domain/vocabulary.hpp"
#include "storage/registry.hpp"
#include "storage/sqlite_store.hpp"
#include "tests/unit/server/ops/op_harness.hpp"

namespace {

using namespace kms::testing;
using kms::domain::KeyFamily;
using kms::domain::KeySpecInfo;
namespace domain = kms::domain;
namespace crypto = kms::crypto;

bool Has(const rapidjson::Value& v, const char* member) { return v.HasMember(member); }

std::vector<std::string> StringsOf(const rapidjson::Value& array) {
  std::vector<std::string> out;
  for (const auto& e : array.GetArray()) out.emplace_back(e.GetString());
  return out;
}

CallResult Describe(OpHarness& h, const std::string& ref, std::string_view region = {}) {
  return h.Call("DescribeKey", KeyIdBody(ref), region);
}

// Creates `n` symmetric keys and returns their ids in ascending order: ListKeys order.
std::vector<std::string> CreateSortedKeys(OpHarness& h, int n) {
  std::set<std::string> created;
  for (int i = 0; i < n; ++i) created.insert(h.CreateSymmetricKey());
  return {created.begin(), created.end()};
}

// Every key id ListKeys reports, following NextMarker to the end.
std::vector<std::string> ListAllKeyIds(OpHarness& h, std::string_view region = {}) {
  std::vector<std::string> ids;
  std::string marker;
  for (int page = 0; page < 100; ++page) {
    CallResult r =
        h.Call("ListKeys", marker.empty() ? "{}" : R"({"Marker":")" + marker + R"("})", region);
    REQUIRE(r.status == 200);
    for (const auto& k : r.json["Keys"].GetArray()) ids.emplace_back(k["KeyId"].GetString());
    if (!r.json["Truncated"].GetBool()) break;
    marker = r.Str("NextMarker");
  }
  return ids;
}

}  // namespace

// --- CreateKey --------------------------------------------------------------------------

TEST_CASE("CreateKey with no members makes an enabled symmetric key and reports all metadata",
          "[ops][keys]") {
  OpHarness h;
  CallResult r = h.Call("CreateKey", "{}");
  REQUIRE(r.status == 200);
  REQUIRE(r.json.IsObject());
  REQUIRE(Has(r.json, "KeyMetadata"));
  const auto& m = r.json["KeyMetadata"];
  const std::string id = m["KeyId"].GetString();

  CHECK(std::regex_match(id, std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-"
                                        "[0-9a-f]{12}")));
  CHECK(std::string(m["AWSAccountId"].GetString()) == "111122223333");
  CHECK(std::string(m["Arn"].GetString()) == h.Arn(id));
  CHECK(m["CreationDate"].GetInt64() == kStart);
  CHECK(m["Enabled"].GetBool());
  CHECK(std::string(m["Description"].GetString()).empty());
  CHECK(std::string(m["KeyUsage"].GetString()) == "ENCRYPT_DECRYPT");
  CHECK(std::string(m["KeyState"].GetString()) == "Enabled");
  CHECK(std::string(m["Origin"].GetString()) == "AWS_KMS");
  CHECK(std::string(m["KeyManager"].GetString()) == "CUSTOMER");
  CHECK(std::string(m["CustomerMasterKeySpec"].GetString()) == "SYMMETRIC_DEFAULT");
  CHECK(std::string(m["KeySpec"].GetString()) == "SYMMETRIC_DEFAULT");
  CHECK(StringsOf(m["EncryptionAlgorithms"]) == std::vector<std::string>{"SYMMETRIC_DEFAULT"});
  REQUIRE(Has(m, "MultiRegion"));
  CHECK_FALSE(m["MultiRegion"].GetBool());
  CHECK(std::regex_match(std::string(m["CurrentKeyMaterialId"].GetString()),
                         std::regex("[0-9a-f]{64}")));
  CHECK_FALSE(Has(m, "MultiRegionConfiguration"));
  CHECK_FALSE(Has(m, "DeletionDate"));
  CHECK_FALSE(Has(m, "PendingDeletionWindowInDays"));
  CHECK_FALSE(Has(m, "SigningAlgorithms"));
  CHECK_FALSE(Has(m, "MacAlgorithms"));
  CHECK_FALSE(Has(m, "ValidTo"));
  CHECK_FALSE(Has(m, "ExpirationModel"));
}

TEST_CASE("CreateKey stores 32 bytes of version-1 material under a random public id",
          "[ops][keys]") {
  OpHarness h;
  CallResult r = h.Call("CreateKey", "{}");
  REQUIRE(r.status == 200);
  const std::string id = r.json["KeyMetadata"]["KeyId"].GetString();

  auto key = h.registry().FindKey(kUsEast, id);
  REQUIRE(key != nullptr);
  REQUIRE(key->materials.size() == 1);
  const auto& material = key->materials[0];
  CHECK(material.version == 1);
  CHECK(key->current_material_version == 1);
  CHECK(material.bytes.size() == 32);
  CHECK(material.created_at == kStart);
  // The id is public, so it must not be derived from the secret (not even a hash of it).
  CHECK(material.material_id.size() == 64);
  CHECK(material.material_id.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(material.material_id != kms::crypto::HexEncode(kms::crypto::Sha256(material.bytes)));
  auto other = h.registry().FindKey(kUsEast, h.CreateSymmetricKey());
  REQUIRE(other != nullptr);
  CHECK(other->materials[0].material_id != material.material_id);
  CHECK(std::string(r.json["KeyMetadata"]["CurrentKeyMaterialId"].GetString()) ==
        material.material_id);
}

TEST_CASE("CreateKey makes a different id and different material every time", "[ops][keys]") {
  OpHarness h;
  const std::string a = h.CreateSymmetricKey();
  const std::string b = h.CreateSymmetricKey();
  CHECK(a != b);
  CHECK(h.registry().FindKey(kUsEast, a)->materials[0].bytes !=
        h.registry().FindKey(kUsEast, b)->materials[0].bytes);
}

TEST_CASE("CreateKey keeps the description and tags and accepts the explicit symmetric spec",
          "[ops][keys]") {
  OpHarness h;
  const std::string spec_member = GENERATE(as<std::string>{}, "KeySpec", "CustomerMasterKeySpec");
  CallResult r = h.Call("CreateKey", R"({"Description":"payments key",")" + spec_member +
                                         R"(":"SYMMETRIC_DEFAULT","KeyUsage":"ENCRYPT_DECRYPT",)"
                                         R"("Origin":"AWS_KMS","MultiRegion":false,)"
                                         R"("BypassPolicyLockoutSafetyCheck":true,)"
                                         R"("Tags":[{"TagKey":"team","TagValue":"pay"},)"
                                         R"({"TagKey":"env","TagValue":"dev"}]})");
  REQUIRE(r.status == 200);
  const auto& m = r.json["KeyMetadata"];
  CHECK(std::string(m["Description"].GetString()) == "payments key");
  CHECK(std::string(m["KeySpec"].GetString()) == "SYMMETRIC_DEFAULT");
  CHECK(std::string(m["CustomerMasterKeySpec"].GetString()) == "SYMMETRIC_DEFAULT");

  auto key = h.registry().FindKey(kUsEast, m["KeyId"].GetString());
  REQUIRE(key != nullptr);
  CHECK(key->tags == std::vector<kms::storage::Tag>{{"team", "pay"}, {"env", "dev"}});
}

TEST_CASE("CreateKey with MultiRegion makes an mrk primary key", "[ops][keys]") {
  OpHarness h;
  CallResult r = h.Call("CreateKey", R"({"MultiRegion":true})");
  REQUIRE(r.status == 200);
  const auto& m = r.json["KeyMetadata"];
  const std::string id = m["KeyId"].GetString();
  CHECK(std::regex_match(id, std::regex("mrk-[0-9a-f]{32}")));
  CHECK(std::string(m["Arn"].GetString()) == h.Arn(id));
  CHECK(m["MultiRegion"].GetBool());
  REQUIRE(Has(m, "MultiRegionConfiguration"));
  const auto& config = m["MultiRegionConfiguration"];
  CHECK(std::string(config["MultiRegionKeyType"].GetString()) == "PRIMARY");
  CHECK(std::string(config["PrimaryKey"]["Arn"].GetString()) == h.Arn(id));
  CHECK(std::string(config["PrimaryKey"]["Region"].GetString()) == "us-east-1");
  CHECK(config["ReplicaKeys"].IsArray());
  CHECK(config["ReplicaKeys"].Empty());

  CallResult d = Describe(h, id);
  REQUIRE(d.status == 200);
  CHECK(std::string(d.json["KeyMetadata"]["KeyId"].GetString()) == id);
  CHECK(d.json["KeyMetadata"]["MultiRegion"].GetBool());
}

TEST_CASE("CreateKey rejects KeySpec together with CustomerMasterKeySpec", "[ops][keys]") {
  OpHarness h;
  const std::string spec = GENERATE(as<std::string>{}, "SYMMETRIC_DEFAULT", "RSA_2048");
  CallResult r = h.Call(
      "CreateKey", R"({"KeySpec":")" + spec + R"(","CustomerMasterKeySpec":")" + spec + R"("})");
  CHECK(r.status == 400);
  CHECK(r.type == "ValidationException");
  CHECK(r.body.find("You cannot specify KeySpec and CustomerMasterKeySpec in the same request. "
                    "CustomerMasterKeySpec is deprecated.") != std::string::npos);
  CHECK(h.registry().ListKeys(kUsEast).empty());
}

// Every (KeySpec, KeyUsage) pair AWS accepts, with the algorithms member DescribeKey lists.
struct SpecUsage {
  const char* spec;
  const char* usage;
  const char* member;
};

TEST_CASE("CreateKey makes a key of every spec and usage AWS allows", "[ops][keys]") {
  const SpecUsage c =
      GENERATE(SpecUsage{"RSA_2048", "ENCRYPT_DECRYPT", "EncryptionAlgorithms"},
               SpecUsage{"RSA_2048", "SIGN_VERIFY", "SigningAlgorithms"},
               SpecUsage{"RSA_3072", "SIGN_VERIFY", "SigningAlgorithms"},
               SpecUsage{"RSA_4096", "ENCRYPT_DECRYPT", "EncryptionAlgorithms"},
               SpecUsage{"ECC_NIST_P256", "SIGN_VERIFY", "SigningAlgorithms"},
               SpecUsage{"ECC_NIST_P256", "KEY_AGREEMENT", "KeyAgreementAlgorithms"},
               SpecUsage{"ECC_NIST_P384", "SIGN_VERIFY", "SigningAlgorithms"},
               SpecUsage{"ECC_NIST_P521", "KEY_AGREEMENT", "KeyAgreementAlgorithms"},
               SpecUsage{"ECC_SECG_P256K1", "SIGN_VERIFY", "SigningAlgorithms"},
               SpecUsage{"ECC_NIST_EDWARDS25519", "SIGN_VERIFY", "SigningAlgorithms"},
               SpecUsage{"SM2", "SIGN_VERIFY", "SigningAlgorithms"},
               SpecUsage{"SM2", "ENCRYPT_DECRYPT", "EncryptionAlgorithms"},
               SpecUsage{"SM2", "KEY_AGREEMENT", "KeyAgreementAlgorithms"},
               SpecUsage{"HMAC_224", "GENERATE_VERIFY_MAC", "MacAlgorithms"},
               SpecUsage{"HMAC_512", "GENERATE_VERIFY_MAC", "MacAlgorithms"});
  CAPTURE(c.spec, c.usage);
  OpHarness h;
  const std::string id = h.CreateKeyOf(c.spec, c.usage);

  CallResult d = Describe(h, id);
  REQUIRE(d.status == 200);
  const auto& m = d.json["KeyMetadata"];
  CHECK(std::string(m["KeySpec"].GetString()) == c.spec);
  CHECK(std::string(m["CustomerMasterKeySpec"].GetString()) == c.spec);
  CHECK(std::string(m["KeyUsage"].GetString()) == c.usage);
  CHECK(std::string(m["KeyState"].GetString()) == "Enabled");
  const auto expected = ListedAlgorithms(c.spec, c.usage);
  REQUIRE(m.HasMember(c.member));
  REQUIRE(m[c.member].Size() == expected.size());
  for (rapidjson::SizeType i = 0; i < m[c.member].Size(); ++i) {
    CHECK(std::string_view(m[c.member][i].GetString()) == expected[i]);
  }
  for (const char* other :
       {"EncryptionAlgorithms", "SigningAlgorithms", "MacAlgorithms", "KeyAgreementAlgorithms"}) {
    if (std::string_view(other) != c.member) CHECK_FALSE(m.HasMember(other));
  }
  CHECK_FALSE(m.HasMember("CurrentKeyMaterialId"));  // symmetric keys only (recorded from AWS)

  // The stored material is the key itself: a private key, or an HMAC secret of the right size.
  const auto key = h.registry().FindKey(kUsEast, id);
  REQUIRE(key != nullptr);
  REQUIRE(key->materials.size() == 1);
  const KeySpecInfo* info = &domain::SpecInfo(Parsed<domain::KeySpec>(c.spec));
  if (info->family == KeyFamily::kHmac) {
    CHECK(key->materials[0].bytes.size() == info->hmac_key_bytes);
  } else {
    CHECK(crypto::ParsePrivateKey(key->materials[0].bytes).has_value());
  }
}

TEST_CASE("CreateKey needs a KeyUsage for every spec but SYMMETRIC_DEFAULT", "[ops][keys]") {
  OpHarness h;
  const std::string member = GENERATE(as<std::string>{}, "KeySpec", "CustomerMasterKeySpec");
  const std::string spec = GENERATE(as<std::string>{}, "RSA_2048", "ECC_NIST_P256", "HMAC_256",
                                    "SM2", "ECC_SECG_P256K1");
  CallResult r = h.Call("CreateKey", R"({")" + member + R"(":")" + spec + R"("})");
  CHECK(r.status == 400);
  CHECK(r.type == "ValidationException");
  CHECK(r.message ==
        "You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys.");
  CHECK(h.registry().ListKeys(kUsEast).empty());
}

TEST_CASE("CreateKey rejects a KeyUsage that the key spec does not allow", "[ops][keys]") {
  OpHarness h;
  const SpecUsage c = GENERATE(
      SpecUsage{"RSA_2048", "KEY_AGREEMENT", ""}, SpecUsage{"RSA_4096", "GENERATE_VERIFY_MAC", ""},
      SpecUsage{"ECC_NIST_P256", "ENCRYPT_DECRYPT", ""},
      SpecUsage{"ECC_SECG_P256K1", "KEY_AGREEMENT", ""},
      SpecUsage{"ECC_NIST_EDWARDS25519", "KEY_AGREEMENT", ""},
      SpecUsage{"HMAC_256", "SIGN_VERIFY", ""}, SpecUsage{"SYMMETRIC_DEFAULT", "SIGN_VERIFY", ""},
      SpecUsage{"SYMMETRIC_DEFAULT", "GENERATE_VERIFY_MAC", ""},
      SpecUsage{"SYMMETRIC_DEFAULT", "KEY_AGREEMENT", ""});
  CallResult r = h.Call("CreateKey", R"({"KeySpec":")" + std::string(c.spec) + R"(","KeyUsage":")" +
                                         c.usage + R"("})");
  CHECK(r.status == 400);
  CHECK(r.type == "ValidationException");
  CHECK(r.message ==
        "KeyUsage " + std::string(c.usage) + " is not compatible with KeySpec " + c.spec);
  CHECK(h.registry().ListKeys(kUsEast).empty());
}

TEST_CASE("CreateKey with only a KeyUsage other than ENCRYPT_DECRYPT is rejected", "[ops][keys]") {
  OpHarness h;
  CallResult r = h.Call("CreateKey", R"({"KeyUsage":"SIGN_VERIFY"})");
  CHECK(r.status == 400);
  CHECK(r.message == "KeyUsage SIGN_VERIFY is not compatible with KeySpec SYMMETRIC_DEFAULT");
}

TEST_CASE("CreateKey of ML-DSA follows the OpenSSL in use", "[ops][keys]") {
  OpHarness h;
  const std::string spec = GENERATE(as<std::string>{}, "ML_DSA_44", "ML_DSA_65", "ML_DSA_87");
  CallResult r = h.Call("CreateKey", R"({"KeySpec":")" + spec + R"(","KeyUsage":"SIGN_VERIFY"})");
  if (crypto::KeyPairTypeAvailable(domain::SpecInfo(Parsed<domain::KeySpec>(spec)).pair_type)) {
    CHECK(r.status == 200);
  } else {
    CHECK(r.status == 400);
    CHECK(r.type == "UnsupportedOperationException");
    CHECK(r.message == "kmsd cannot create " + spec +
                           " keys: they need OpenSSL 3.5 or later, and kmsd runs with " +
                           crypto::OpenSslVersionText() + ".");
    CHECK(h.registry().ListKeys(kUsEast).empty());
  }
}

TEST_CASE("Asymmetric and HMAC keys survive a restart", "[ops][keys]") {
  TempDbFile db;
  OpHarness h(db.path());
  const std::string signing = h.CreateKeyOf("ECC_NIST_P384", "SIGN_VERIFY");
  const std::string mac = h.CreateKeyOf("HMAC_384", "GENERATE_VERIFY_MAC");
  const crypto::Bytes signing_material = h.registry().FindKey(kUsEast, signing)->materials[0].bytes;
  const crypto::Bytes mac_material = h.registry().FindKey(kUsEast, mac)->materials[0].bytes;

  h.Reopen();
  CallResult d = Describe(h, signing);
  REQUIRE(d.status == 200);
  CHECK(std::string(d.json["KeyMetadata"]["KeySpec"].GetString()) == "ECC_NIST_P384");
  CHECK(std::string(d.json["KeyMetadata"]["SigningAlgorithms"][0].GetString()) == "ECDSA_SHA_384");
  CHECK(h.registry().FindKey(kUsEast, signing)->materials[0].bytes == signing_material);
  CHECK(h.registry().FindKey(kUsEast, mac)->materials[0].bytes == mac_material);
}

// Origin EXTERNAL: import_test.cpp.
// Origins AWS_CLOUDHSM and EXTERNAL_KEY_STORE: custom_key_stores_test.cpp.

TEST_CASE("CreateKey rejects a malformed policy and stores a valid one as given",
          "[ops][keys][policies]") {
  OpHarness h;
  SECTION("malformed") {
    CallResult r = h.Call("CreateKey", R"({"Policy":"not json"})");
    CHECK(r.status == 400);
    CHECK(r.type == "MalformedPolicyDocumentException");
    CHECK(r.message == "The key policy is not valid JSON.");
    CHECK(h.registry().ListKeys(kUsEast).empty());
  }
  SECTION("valid") {
    const std::string policy =
        R"({\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\"}]})";
    CallResult r = h.Call("CreateKey", R"({"Policy":")" + policy + R"("})");
    REQUIRE(r.status == 200);
    auto key = h.registry().FindKey(kUsEast, r.json["KeyMetadata"]["KeyId"].GetString());
    REQUIRE(key != nullptr);
    CHECK(key->policy == R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow"}]})");
  }
}

TEST_CASE("CreateKey refuses a Policy over 32768 bytes as a LimitExceededException",
          "[ops][keys][policies][regression][issue17]") {
  OpHarness h;
  const auto create = [&h](const std::string& policy) {
    kms::server::JsonOut body;
    body.String("Policy", policy);
    return h.Call("CreateKey", body.Finish());
  };
  CallResult over = create(PolicyOfBytes(32769));
  CHECK(over.status == 400);
  CHECK(over.type == "LimitExceededException");
  CHECK(over.message == "The key policy exceeds the maximum size of 32768 bytes.");
  CHECK(h.registry().ListKeys(kUsEast).empty());

  const std::string fits = PolicyOfBytes(32768);
  CallResult made = create(fits);
  REQUIRE(made.status == 200);
  auto key = h.registry().FindKey(kUsEast, made.json["KeyMetadata"]["KeyId"].GetString());
  REQUIRE(key != nullptr);
  CHECK(key->policy == fits);
}

TEST_CASE("CreateKey passes tag errors through as TagException", "[ops][keys][tags]") {
  OpHarness h;
  SECTION("duplicate keys") {
    CallResult r = h.Call("CreateKey", R"({"Tags":[{"TagKey":"a","TagValue":"1"},)"
                                       R"({"TagKey":"a","TagValue":"2"}]})");
    CHECK(r.type == "TagException");
    CHECK(r.message == "Duplicate tag keys");
  }
  SECTION("reserved prefix") {
    CallResult r = h.Call("CreateKey", R"({"Tags":[{"TagKey":"AWS:x","TagValue":"1"}]})");
    CHECK(r.type == "TagException");
    CHECK(r.message == "Tags beginning with aws: are reserved");
  }
  SECTION("too many") {
    std::string tags;
    for (int i = 0; i < 51; ++i) {
      tags += (i ? "," : "") + std::string(R"({"TagKey":"k)") + std::to_string(i) +
              R"(","TagValue":"v"})";
    }
    CallResult r = h.Call("CreateKey", R"({"Tags":[)" + tags + "]}");
    CHECK(r.type == "TagException");
    CHECK(r.message == "Too many tags");
  }
  CHECK(h.registry().ListKeys(kUsEast).empty());
}

// --- DescribeKey ------------------------------------------------------------------------

TEST_CASE("DescribeKey accepts key id, key ARN, alias name and alias ARN", "[ops][keys]") {
  OpHarness h;
  const std::string id = h.CreateSymmetricKey();
  h.InsertAlias("alias/describe-me", id);
  const std::string form =
      GENERATE(as<std::string>{}, "key id", "key ARN", "alias name", "alias ARN");

  CallResult r = Describe(h, RefOf(h, form, id, "alias/describe-me"));
  REQUIRE(r.status == 200);
  CHECK(std::string(r.json["KeyMetadata"]["KeyId"].GetString()) == id);
  CHECK(std::string(r.json["KeyMetadata"]["Arn"].GetString()) == h.Arn(id));
}

TEST_CASE("DescribeKey reports the same metadata CreateKey returned", "[ops][keys]") {
  OpHarness h;
  CallResult created = h.Call("CreateKey", R"({"Description":"same"})");
  REQUIRE(created.status == 200);
  const std::string id = created.json["KeyMetadata"]["KeyId"].GetString();
  h.clock().Advance(1000);
  CallResult described = Describe(h, id);
  REQUIRE(described.status == 200);
  CHECK(described.body == created.body);
}

TEST_CASE("DescribeKey of an unknown key is NotFoundException with the full ARN", "[ops][keys]") {
  OpHarness h;
  const std::string id = "11111111-2222-4333-8444-555555555555";
  CallResult r = Describe(h, id);
  CHECK(r.status == 400);
  CHECK(r.type == "NotFoundException");
  CHECK(r.message == "Key '" + h.Arn(id) + "' does not exist");
}

TEST_CASE("DescribeKey works for disabled and pending-deletion keys", "[ops][keys]") {
  OpHarness h;
  const std::string id = h.CreateSymmetricKey();
  SECTION("Disabled") {
    REQUIRE(h.Call("DisableKey", KeyIdBody(id)).status == 200);
    CallResult r = Describe(h, id);
    REQUIRE(r.status == 200);
    const auto& m = r.json["KeyMetadata"];
    CHECK(std::string(m["KeyState"].GetString()) == "Disabled");
    CHECK_FALSE(m["Enabled"].GetBool());
    CHECK_FALSE(Has(m, "DeletionDate"));
  }
  SECTION("PendingDeletion") {
    h.ScheduleDeletion(id, 7);
    CallResult r = Describe(h, id);
    REQUIRE(r.status == 200);
    const auto& m = r.json["KeyMetadata"];
    CHECK(std::string(m["KeyState"].GetString()) == "PendingDeletion");
    CHECK_FALSE(m["Enabled"].GetBool());
    CHECK(m["DeletionDate"].GetInt64() == kStart + 7 * kDay);
    CHECK(m["PendingDeletionWindowInDays"].GetInt() == 7);
    CHECK(Has(m, "CurrentKeyMaterialId"));
  }
}

// --- ListKeys ---------------------------------------------------------------------------

TEST_CASE("ListKeys with no keys returns an empty, complete list", "[ops][keys]") {
  OpHarness h;
  CallResult r = h.Call("ListKeys", "{}");
  REQUIRE(r.status == 200);
  CHECK(r.json["Keys"].IsArray());
  CHECK(r.json["Keys"].Empty());
  CHECK_FALSE(r.json["Truncated"].GetBool());
  CHECK_FALSE(Has(r.json, "NextMarker"));
}

TEST_CASE("ListKeys lists every key in id order with its ARN", "[ops][keys]") {
  OpHarness h;
  const std::vector<std::string> sorted = CreateSortedKeys(h, 5);

  CallResult r = h.Call("ListKeys", "{}");
  REQUIRE(r.status == 200);
  std::vector<std::string> listed;
  for (const auto& k : r.json["Keys"].GetArray()) {
    listed.emplace_back(k["KeyId"].GetString());
    CHECK(std::string(k["KeyArn"].GetString()) == h.Arn(listed.back()));
  }
  CHECK(listed == sorted);
  CHECK_FALSE(r.json["Truncated"].GetBool());
  CHECK_FALSE(Has(r.json, "NextMarker"));
}

TEST_CASE("ListKeys pages with Limit and NextMarker", "[ops][keys]") {
  OpHarness h;
  const std::vector<std::string> sorted = CreateSortedKeys(h, 5);

  CallResult p1 = h.Call("ListKeys", R"({"Limit":2})");
  REQUIRE(p1.status == 200);
  REQUIRE(p1.json["Keys"].Size() == 2);
  CHECK(std::string(p1.json["Keys"][0]["KeyId"].GetString()) == sorted[0]);
  CHECK(std::string(p1.json["Keys"][1]["KeyId"].GetString()) == sorted[1]);
  CHECK(p1.json["Truncated"].GetBool());
  REQUIRE_FALSE(p1.Str("NextMarker").empty());

  CallResult p2 = h.Call("ListKeys", R"({"Limit":2,"Marker":")" + p1.Str("NextMarker") + R"("})");
  REQUIRE(p2.status == 200);
  REQUIRE(p2.json["Keys"].Size() == 2);
  CHECK(std::string(p2.json["Keys"][0]["KeyId"].GetString()) == sorted[2]);
  CHECK(std::string(p2.json["Keys"][1]["KeyId"].GetString()) == sorted[3]);
  CHECK(p2.json["Truncated"].GetBool());

  CallResult p3 = h.Call("ListKeys", R"({"Limit":2,"Marker":")" + p2.Str("NextMarker") + R"("})");
  REQUIRE(p3.status == 200);
  REQUIRE(p3.json["Keys"].Size() == 1);
  CHECK(std::string(p3.json["Keys"][0]["KeyId"].GetString()) == sorted[4]);
  CHECK_FALSE(p3.json["Truncated"].GetBool());
  CHECK_FALSE(Has(p3.json, "NextMarker"));
}

TEST_CASE("ListKeys with exactly Limit keys is not truncated", "[ops][keys]") {
  OpHarness h;
  for (int i = 0; i < 3; ++i) h.CreateSymmetricKey();
  CallResult r = h.Call("ListKeys", R"({"Limit":3})");
  REQUIRE(r.status == 200);
  CHECK(r.json["Keys"].Size() == 3);
  CHECK_FALSE(r.json["Truncated"].GetBool());
}

TEST_CASE("ListKeys paging survives deleting the key named by the marker", "[ops][keys]") {
  OpHarness h;
  const std::vector<std::string> sorted = CreateSortedKeys(h, 4);

  CallResult p1 = h.Call("ListKeys", R"({"Limit":2})");
  REQUIRE(p1.status == 200);
  REQUIRE(p1.Str("NextMarker") == sorted[1]);
  {
    auto writer = h.registry().BeginWrite();
    REQUIRE(writer.DeleteKey(kUsEast, sorted[1]).has_value());
  }
  CallResult p2 = h.Call("ListKeys", R"({"Marker":")" + p1.Str("NextMarker") + R"("})");
  REQUIRE(p2.status == 200);
  REQUIRE(p2.json["Keys"].Size() == 2);
  CHECK(std::string(p2.json["Keys"][0]["KeyId"].GetString()) == sorted[2]);
  CHECK(std::string(p2.json["Keys"][1]["KeyId"].GetString()) == sorted[3]);
}

TEST_CASE("ListKeys rejects a marker it did not issue", "[ops][keys]") {
  OpHarness h;
  h.CreateSymmetricKey();
  const std::string marker =
      GENERATE(as<std::string>{}, "garbage", "not-a-key-id-at-all", "AAAAAAAAAAAAAAAA");
  CallResult r = h.Call("ListKeys", R"({"Marker":")" + marker + R"("})");
  CHECK(r.status == 400);
  CHECK(r.type == "InvalidMarkerException");
  CHECK(r.message == "The marker '" + marker + "' is not valid.");
}

// --- UpdateKeyDescription ---------------------------------------------------------------

TEST_CASE("UpdateKeyDescription replaces the description", "[ops][keys]") {
  OpHarness h;
  const std::string id = h.CreateSymmetricKey();
  const std::string key_ref = RefOf(h, GENERATE(as<std::string>{}, "key id", "key ARN"), id);

  CallResult r =
      h.Call("UpdateKeyDescription", R"({"KeyId":")" + key_ref + R"(","Description":"new words"})");
  REQUIRE(r.status == 200);
  CHECK(r.body == "{}");
  CHECK(std::string(Describe(h, id).json["KeyMetadata"]["Description"].GetString()) == "new words");

  REQUIRE(h.Call("UpdateKeyDescription", R"({"KeyId":")" + id + R"(","Description":""})").status ==
          200);
  CHECK(std::string(Describe(h, id).json["KeyMetadata"]["Description"].GetString()).empty());
}

// --- EnableKey / DisableKey -------------------------------------------------------------

TEST_CASE("DisableKey and EnableKey switch the key state and are idempotent", "[ops][keys]") {
  OpHarness h;
  const std::string id = h.CreateSymmetricKey();
  const std::string key_ref = RefOf(h, GENERATE(as<std::string>{}, "key id", "key ARN"), id);

  for (int i = 0; i < 2; ++i) {
    CallResult r = h.Call("DisableKey", KeyIdBody(key_ref));
    REQUIRE(r.status == 200);
    CHECK(r.body == "{}");
    const auto d = Describe(h, id);
    CHECK(std::string(d.json["KeyMetadata"]["KeyState"].GetString()) == "Disabled");
    CHECK_FALSE(d.json["KeyMetadata"]["Enabled"].GetBool());
  }
  for (int i = 0; i < 2; ++i) {
    CallResult r = h.Call("EnableKey", KeyIdBody(key_ref));
    REQUIRE(r.status == 200);
    CHECK(r.body == "{}");
    const auto d = Describe(h, id);
    CHECK(std::string(d.json["KeyMetadata"]["KeyState"].GetString()) == "Enabled");
    CHECK(d.json["KeyMetadata"]["Enabled"].GetBool());
  }
}

// --- ScheduleKeyDeletion / CancelKeyDeletion --------------------------------------------

TEST_CASE("ScheduleKeyDeletion defaults to a 30-day window", "[ops][keys]") {
  OpHarness h;
  const std::string id = h.CreateSymmetricKey();
  const std::string key_ref = RefOf(h, GENERATE(as<std::string>{}, "key id", "key ARN"), id);

  CallResult r = h.Call("ScheduleKeyDeletion", KeyIdBody(key_ref));
  REQUIRE(r.status == 200);
  CHECK(r.Str("KeyId") == h.Arn(id));
  CHECK(r.json["DeletionDate"].GetInt64() == kStart + 30 * kDay);
  CHECK(r.Str("KeyState") == "PendingDeletion");
  CHECK(r.json["PendingWindowInDays"].GetInt() == 30);
}

TEST_CASE("ScheduleKeyDeletion accepts windows of 7 to 30 days", "[ops][keys]") {
  OpHarness h;
  const std::string id = h.CreateSymmetricKey();
  const int days = GENERATE(7, 8, 29, 30);
  CallResult r = h.Call("ScheduleKeyDeletion", ScheduleDeletionBody(id, days));
  REQUIRE(r.status == 200);
  CHECK(r.json["DeletionDate"].GetInt64() == kStart + days * kDay);
  CHECK(r.json["PendingWindowInDays"].GetInt() == days);

  const CallResult described = Describe(h, id);
  const auto& m = described.json["KeyMetadata"];
  CHECK(std::string(m["KeyState"].GetString()) == "PendingDeletion");
  CHECK_FALSE(m["Enabled"].GetBool());
  CHECK(m["DeletionDate"].GetInt64() == kStart + days * kDay);
  CHECK(m["PendingDeletionWindowInDays"].GetInt() == days);
}

TEST_CASE("ScheduleKeyDeletion rejects windows outside 7 to 30 days", "[ops][keys]") {
  OpHarness h;
  const std::string id = h.CreateSymmetricKey();
  const int days = GENERATE(1, 6, 31, 365);
  CallResult r = h.Call("ScheduleKeyDeletion", ScheduleDeletionBody(id, days));
  CHECK(r.status == 400);
  CHECK(r.type == "ValidationException");
  CHECK(r.body.find("PendingWindowInDays should be between 7 and 30, but it is " +
                    std::to_string(days)) != std::string::npos);
  CHECK(std::string(Describe(h, id).json["KeyMetadata"]["KeyState"].GetString()) == "Enabled");
}

TEST_CASE("ScheduleKeyDeletion works on a disabled key", "[ops][keys]") {
  OpHarness h;
  const std::string id = h.CreateSymmetricKey();
  REQUIRE(h.Call("DisableKey", KeyIdBody(id)).status == 200);
  CallResult r = h.Call("ScheduleKeyDeletion", KeyIdBody(id));
  REQUIRE(r.status == 200);
  CHECK(r.Str("KeyState") == "PendingDeletion");
}

TEST_CASE("CancelKeyDeletion leaves the key Disabled without a deletion date", "[ops][keys]") {
  OpHarness h;
  const std::string id = h.CreateSymmetricKey();
  h.ScheduleDeletion(id, 10);
  const std::string key_ref = RefOf(h, GENERATE(as<std::string>{}, "key id", "key ARN"), id);

  CallResult r = h.Call("CancelKeyDeletion", KeyIdBody(key_ref));
  REQUIRE(r.status == 200);
  CHECK(r.Str("KeyId") == h.Arn(id));

  const auto d = Describe(h, id);
  const auto& m = d.json["KeyMetadata"];
  CHECK(std::string(m["KeyState"].GetString()) == "Disabled");
  CHECK_FALSE(m["Enabled"].GetBool());
  CHECK_FALSE(Has(m, "DeletionDate"));
  CHECK_FALSE(Has(m, "PendingDeletionWindowInDays"));

  // Past the old deletion date the key is still there.
  h.clock().Advance(11 * kDay);
  CHECK(Describe(h, id).status == 200);
  REQUIRE(h.Call("EnableKey", KeyIdBody(id)).status == 200);
}

TEST_CASE("CancelKeyDeletion of a key that is not pending deletion is KMSInvalidState",
          "[ops][keys]") {
  OpHarness h;
  const std::string id = h.CreateSymmetricKey();
  const bool disabled = GENERATE(false, true);
  if (disabled) REQUIRE(h.Call("DisableKey", KeyIdBody(id)).status == 200);

  CallResult r = h.Call("CancelKeyDeletion", KeyIdBody(id));
  CHECK(r.status == 400);
  CHECK(r.type == "KMSInvalidStateException");
  CHECK(r.message == h.Arn(id) + " is not pending deletion.");
}

TEST_CASE("Concurrent ScheduleKeyDeletion calls schedule a key exactly once", "[ops][keys]") {
  OpHarness h;
  const std::string id = h.CreateSymmetricKey();
  std::atomic<int> succeeded{0};
  std::atomic<int> invalid_state{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      CallResult r = h.Call("ScheduleKeyDeletion", ScheduleDeletionBody(id, 7 + i));
      if (r.status == 200) ++succeeded;
      if (r.type == "KMSInvalidStateException") ++invalid_state;
    });
  }
  for (auto& t : threads) t.join();
  CHECK(succeeded == 1);
  CHECK(invalid_state == 7);
}

// --- Key-state matrix -------------------------------------------------------------------

TEST_CASE("Key management operations answer pending-deletion keys with KMSInvalidState",
          "[ops][keys][state]") {
  OpHarness h;
  const std::string id = h.CreateSymmetricKey();
  h.ScheduleDeletion(id, 7);
  const std::string op = GENERATE(as<std::string>{}, "EnableKey", "DisableKey",
                                  "UpdateKeyDescription", "ScheduleKeyDeletion");
  CallResult r =
      h.Call(op, R"({"KeyId":")" + id + R"(","Description":"x","PendingWindowInDays":7})");
  CHECK(r.status == 400);
  CHECK(r.type == "KMSInvalidStateException");
  CHECK(r.message == h.Arn(id) + " is pending deletion.");
  const CallResult described = Describe(h, id);
  const auto& m = described.json["KeyMetadata"];
  CHECK(std::string(m["KeyState"].GetString()) == "PendingDeletion");
  CHECK(std::string(m["Description"].GetString()).empty());
  CHECK(m["DeletionDate"].GetInt64() == kStart + 7 * kDay);
}

TEST_CASE("Key management operations work on disabled keys", "[ops][keys][state]") {
  OpHarness h;
  const std::string id = h.CreateSymmetricKey();
  REQUIRE(h.Call("DisableKey", KeyIdBody(id)).status == 200);
  const std::string op = GENERATE(as<std::string>{}, "DescribeKey", "DisableKey",
                                  "UpdateKeyDescription", "ScheduleKeyDeletion", "EnableKey");
  CallResult r = h.Call(op, R"({"KeyId":")" + id + R"(","Description":"x"})");
  CHECK(r.status == 200);
}

TEST_CASE("Key-id-only operations reject alias names and alias ARNs", "[ops][keys]") {
  OpHarness h;
  const std::string id = h.CreateSymmetricKey();
  h.InsertAlias("alias/mine", id);
  const std::string op =
      GENERATE(as<std::string>{}, "EnableKey", "DisableKey", "UpdateKeyDescription",
               "ScheduleKeyDeletion", "CancelKeyDeletion");
  SECTION("alias name") {
    CallResult r = h.Call(op, R"({"KeyId":"alias/mine","Description":"x"})");
    CHECK(r.type == "NotFoundException");
    CHECK(r.message == "Invalid keyId 'alias/mine'");
  }
  SECTION("alias ARN") {
    const std::string arn = "arn:aws:kms:us-east-1:111122223333:alias/mine";
    CallResult r = h.Call(op, R"({"KeyId":")" + arn + R"(","Description":"x"})");
    CHECK(r.type == "NotFoundException");
    CHECK(r.message == "Invalid arn " + arn);
  }
}

TEST_CASE("Key operations on an unknown key are NotFoundException", "[ops][keys]") {
  OpHarness h;
  const std::string id = "mrk-0123456789abcdef0123456789abcdef";
  const std::string op =
      GENERATE(as<std::string>{}, "DescribeKey", "EnableKey", "DisableKey", "UpdateKeyDescription",
               "ScheduleKeyDeletion", "CancelKeyDeletion");
  CallResult r = h.Call(op, R"({"KeyId":")" + id + R"(","Description":"x"})");
  CHECK(r.type == "NotFoundException");
  CHECK(r.message == "Key '" + h.Arn(id) + "' does not exist");
}

// --- Deletion ---------------------------------------------------------------------------

TEST_CASE("A key stays pending deletion until its deletion date", "[ops][keys][deletion]") {
  OpHarness h;
  const std::string id = h.CreateSymmetricKey();
  h.ScheduleDeletion(id, 7);
  h.clock().Advance(7 * kDay - 1);

  CallResult r = Describe(h, id);
  REQUIRE(r.status == 200);
  CHECK(std::string(r.json["KeyMetadata"]["KeyState"].GetString()) == "PendingDeletion");
  CHECK(ListAllKeyIds(h) == std::vector<std::string>{id});
  CHECK(h.Call("CancelKeyDeletion", KeyIdBody(id)).status == 200);
}

TEST_CASE("A key is gone once its deletion date has passed", "[ops][keys][deletion]") {
  OpHarness h;
  const std::string doomed = h.CreateSymmetricKey();
  const std::string kept = h.CreateSymmetricKey();
  h.InsertAlias("alias/doomed", doomed);
  h.ScheduleDeletion(doomed, 7);
  h.clock().Advance(7 * kDay);

  CallResult r = Describe(h, doomed);
  CHECK(r.type == "NotFoundException");
  CHECK(r.message == "Key '" + h.Arn(doomed) + "' does not exist");
  CallResult cancel = h.Call("CancelKeyDeletion", KeyIdBody(doomed));
  CHECK(cancel.type == "NotFoundException");

  CHECK(ListAllKeyIds(h) == std::vector<std::string>{kept});
  // ListKeys purged it from storage, with its alias.
  CHECK(h.registry().FindKey(kUsEast, doomed) == nullptr);
  CHECK_FALSE(h.registry().FindAlias(kUsEast, "alias/doomed").has_value());
  CHECK(h.registry().FindKey(kUsEast, kept) != nullptr);
}

TEST_CASE("PurgeExpiredKeys deletes only expired keys of the caller's scope",
          "[ops][keys][deletion]") {
  OpHarness h;
  const std::string expired = h.CreateSymmetricKey();
  const std::string also_expired = h.CreateSymmetricKey();
  const std::string other_region = h.CreateSymmetricKey("eu-west-2");
  h.ScheduleDeletion(expired, 7);
  h.ScheduleDeletion(also_expired, 30);
  REQUIRE(h.Call("ScheduleKeyDeletion", KeyIdBody(other_region), "eu-west-2").status == 200);
  h.clock().Advance(31 * kDay - 1);
  h.ScheduleDeletion(h.CreateSymmetricKey(), 7);  // a fresh key, pending and far from expiry

  const kms::ops::OpContext ctx{h.registry(), h.clock(), h.config(), kUsEast, "purge"};
  REQUIRE(kms::ops::PurgeExpiredKeys(ctx).has_value());
  CHECK(h.registry().FindKey(kUsEast, expired) == nullptr);
  CHECK(h.registry().FindKey(kUsEast, also_expired) == nullptr);
  CHECK(h.registry().FindKey({"111122223333", "eu-west-2"}, other_region) != nullptr);
  CHECK(h.registry().ListKeys(kUsEast).size() == 1);

  REQUIRE(kms::ops::PurgeExpiredKeys(ctx).has_value());  // nothing left to do
  CHECK(h.registry().ListKeys(kUsEast).size() == 1);
}

// --- Regions ----------------------------------------------------------------------------

TEST_CASE("Keys are isolated by region", "[ops][keys][region]") {
  OpHarness h;
  const std::string id = h.CreateSymmetricKey("eu-west-2");

  SECTION("the owning region sees the key with ARNs in its region") {
    CallResult r = Describe(h, id, "eu-west-2");
    REQUIRE(r.status == 200);
    CHECK(std::string(r.json["KeyMetadata"]["Arn"].GetString()) == h.Arn(id, "eu-west-2"));
    CallResult by_arn = Describe(h, h.Arn(id, "eu-west-2"), "eu-west-2");
    CHECK(by_arn.status == 200);
    CHECK(ListAllKeyIds(h, "eu-west-2") == std::vector<std::string>{id});
    CallResult list = h.Call("ListKeys", "{}", "eu-west-2");
    CHECK(std::string(list.json["Keys"][0]["KeyArn"].GetString()) == h.Arn(id, "eu-west-2"));
  }
  SECTION("a bare id from another region does not exist there") {
    CallResult r = Describe(h, id);
    CHECK(r.type == "NotFoundException");
    CHECK(r.message == "Key '" + h.Arn(id, "us-east-1") + "' does not exist");
  }
  SECTION("an ARN naming another region is invalid") {
    CallResult r = Describe(h, h.Arn(id, "eu-west-2"));
    CHECK(r.type == "NotFoundException");
    CHECK(r.message == "Invalid arn eu-west-2");
  }
  SECTION("ListKeys of another region does not list it") { CHECK(ListAllKeyIds(h).empty()); }
  SECTION("state changes from another region do not reach it") {
    CallResult r = h.Call("DisableKey", KeyIdBody(id));
    CHECK(r.type == "NotFoundException");
    CHECK(std::string(Describe(h, id, "eu-west-2").json["KeyMetadata"]["KeyState"].GetString()) ==
          "Enabled");
  }
}

// --- Restart ----------------------------------------------------------------------------

TEST_CASE("Keys keep their state, policy and rotation settings across a restart",
          "[ops][keys][restart]") {
  TempDbFile db;
  OpHarness h(db.path());
  const std::string plain = h.CreateSymmetricKey();
  CallResult created = h.Call("CreateKey", R"({"Description":"kept","MultiRegion":true})");
  REQUIRE(created.status == 200);
  const std::string mrk = created.json["KeyMetadata"]["KeyId"].GetString();
  const std::string disabled = h.CreateSymmetricKey();
  const std::string pending = h.CreateSymmetricKey();
  const std::string policy = R"({\"Statement\":[{\"Sid\":\"kept\"}]})";
  REQUIRE(h.Call("PutKeyPolicy", R"({"KeyId":")" + plain + R"(","Policy":")" + policy + R"("})")
              .status == 200);
  REQUIRE(h.Call("EnableKeyRotation", R"({"KeyId":")" + plain + R"(","RotationPeriodInDays":90})")
              .status == 200);
  REQUIRE(h.Call("DisableKey", KeyIdBody(disabled)).status == 200);
  h.ScheduleDeletion(pending, 9);
  const std::string mrk_before = Describe(h, mrk).body;

  h.Reopen();

  CHECK(Describe(h, mrk).body == mrk_before);
  CHECK(std::string(Describe(h, disabled).json["KeyMetadata"]["KeyState"].GetString()) ==
        "Disabled");
  const auto p = Describe(h, pending);
  CHECK(std::string(p.json["KeyMetadata"]["KeyState"].GetString()) == "PendingDeletion");
  CHECK(p.json["KeyMetadata"]["DeletionDate"].GetInt64() == kStart + 9 * kDay);
  CHECK(h.Call("GetKeyPolicy", KeyIdBody(plain)).Str("Policy") ==
        R"({"Statement":[{"Sid":"kept"}]})");
  CallResult rotation = h.Call("GetKeyRotationStatus", KeyIdBody(plain));
  CHECK(rotation.json["KeyRotationEnabled"].GetBool());
  CHECK(rotation.json["RotationPeriodInDays"].GetInt() == 90);
  CHECK(rotation.json["NextRotationDate"].GetInt64() == kStart + 90 * kDay);
  CHECK(ListAllKeyIds(h).size() == 4);

  h.clock().Advance(9 * kDay);
  h.Reopen();
  CHECK(Describe(h, pending).type == "NotFoundException");
  CHECK(ListAllKeyIds(h).size() == 3);
  h.Reopen();  // the purge ListKeys did is durable
  CHECK(h.registry().FindKey(kUsEast, pending) == nullptr);
}

// --- Storage failures -------------------------------------------------------------------

TEST_CASE("A storage failure is KMSInternalException and changes nothing", "[ops][keys][storage]") {
  FaultyHarness h;
  const std::string id = h.CreateSymmetricKey();

  const std::string op =
      GENERATE(as<std::string>{}, "CreateKey", "UpdateKeyDescription", "DisableKey",
               "ScheduleKeyDeletion", "PutKeyPolicy", "EnableKeyRotation", "RotateKeyOnDemand");
  h.faults->FailNextWrites(1);
  kms::server::Reply r =
      h.Call(op, R"({"KeyId":")" + id + R"(","Description":"x","Policy":"{\"Statement\":{}}"})");
  CHECK(r.status == 500);
  CHECK(r.error_type == "KMSInternalException");
  // The client gets a generic text and the request id; the detail is for the log (#17).
  CHECK(r.body.find("internal error") != std::string::npos);
  CHECK(r.body.find("test-request-id") != std::string::npos);
  CHECK(r.body.find("injected") == std::string::npos);
  CHECK(h.registry->ListKeys(kUsEast).size() == 1);
  const auto key = h.registry->FindKey(kUsEast, id);
  REQUIRE(key != nullptr);
  CHECK(key->key_state == domain::KeyState::kEnabled);
  CHECK(key->description.empty());
  CHECK_FALSE(key->rotation_enabled);
  CHECK(key->materials.size() == 1);
  CHECK(key->current_material_version == 1);
}

TEST_CASE("A storage failure while purging fails ListKeys and keeps the key invisible",
          "[ops][keys][storage]") {
  FaultyHarness h;
  const std::string id = h.CreateSymmetricKey();
  REQUIRE(h.Call("ScheduleKeyDeletion", ScheduleDeletionBody(id, 7)).status == 200);
  h.clock.Advance(7 * kDay);

  // The purge inside ListKeys is not durable, so neither is the answer that relied on it.
  h.faults->FailNextWrites(1);
  kms::server::Reply r = h.Call("ListKeys", "{}");
  CHECK(r.status == 500);
  CHECK(r.error_type == "KMSInternalException");
  CHECK(h.faults->failures() == 1);
  CHECK(h.registry->FindKey(kUsEast, id) != nullptr);  // the deletion was undone
  CHECK(h.Call("DescribeKey", KeyIdBody(id)).error_type == "NotFoundException");  // invisible

  r = h.Call("ListKeys", "{}");
  CHECK(r.status == 200);
  CHECK(r.body == R"({"Keys":[],"Truncated":false})");
  CHECK(h.registry->FindKey(kUsEast, id) == nullptr);  // purged, durably
}

TEST_CASE("NewDefaultSymmetricKey builds the record CreateKey {} stores", "[ops][keys]") {
  OpHarness h;
  const std::string id = h.CreateSymmetricKey();
  const auto created = h.registry().FindKey(kUsEast, id);
  REQUIRE(created != nullptr);

  auto made = kms::ops::NewDefaultSymmetricKey(kUsEast, created->creation_date);
  REQUIRE(made.has_value());
  CHECK(std::regex_match(made->key_id, std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-"
                                                  "[89ab][0-9a-f]{3}-[0-9a-f]{12}")));
  CHECK(made->key_id != id);
  REQUIRE(made->materials.size() == 1);
  CHECK(made->materials[0].bytes.size() == 32);
  CHECK(made->materials[0].bytes != created->materials[0].bytes);
  CHECK(std::regex_match(made->materials[0].material_id, std::regex("[0-9a-f]{64}")));

  // Apart from the random parts, the same record.
  kms::storage::KeyRecord same = *made;
  same.key_id = created->key_id;
  same.materials = created->materials;
  CHECK(same == *created);
}
