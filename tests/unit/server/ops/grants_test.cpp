// Tests for server/ops/grants.cpp (CreateGrant, ListGrants, ListRetirableGrants, RetireGrant,
// RevokeGrant), server/ops/grant_token.cpp (the token format, and the GrantTokens check the
// dispatcher runs for every operation that has the member) and server/ops/paging.cpp.
#include <algorithm>
#include <cstddef>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <catch2/catch.hpp>
#include <rapidjson/document.h>

#include "crypto/base64.hpp"
#include "server/ops/grant_token.hpp"
#include "server/protocol/json_io.hpp"
#include "server/protocol/validation.hpp"
#include "storage/records.hpp"
#include "tests/unit/server/ops/op_harness.hpp"
#include "tests/unit/storage/faulty_store.hpp"

namespace {

using kms::server::JsonOut;
using namespace kms::testing;
namespace domain = kms::domain;

constexpr std::string_view kGrantee = "arn:aws:iam::111122223333:role/app";
constexpr std::string_view kRetiree = "arn:aws:iam::111122223333:role/admin";
constexpr std::string_view kIssuer = "arn:aws:iam::111122223333:root";
// A well-formed grant id no grant has.
const std::string kNoSuchGrant(64, 'a');

// A CreateGrant body: KeyId, GranteePrincipal kGrantee, Operations, then `extra` raw members.
std::string GrantBody(std::string_view key_ref, const std::vector<std::string>& ops = {"Decrypt"},
                      std::string_view extra = {}) {
  JsonOut out;
  out.String("KeyId", key_ref);
  out.String("GranteePrincipal", kGrantee);
  out.StringList("Operations", ops);
  return WithMembers(out.Finish(), extra);
}

struct Grant {
  std::string id;
  std::string token;
};

Grant MakeGrant(OpHarness& h, std::string_view key_ref,
                const std::vector<std::string>& ops = {"Decrypt"}, std::string_view extra = {},
                std::string_view region = {}) {
  CallResult r = h.Call("CreateGrant", GrantBody(key_ref, ops, extra), region);
  INFO(r.body);
  REQUIRE(r.status == 200);
  return {r.Str("GrantId"), r.Str("GrantToken")};
}

CallResult List(OpHarness& h, std::string_view key_ref, std::string_view extra = {},
                std::string_view region = {}) {
  return h.Call("ListGrants", WithMembers(KeyIdBody(key_ref), extra), region);
}

std::vector<std::string> IdsOf(const CallResult& r) {
  std::vector<std::string> ids;
  for (const auto& g : r.json["Grants"].GetArray()) ids.emplace_back(g["GrantId"].GetString());
  return ids;
}

// Every grant id `op` lists, page by page (`limit` per page), in listing order.
std::vector<std::string> AllIds(OpHarness& h, std::string_view op, const std::string& body,
                                int limit) {
  std::vector<std::string> ids;
  std::string marker;
  for (int pages = 0; pages < 1000; ++pages) {
    std::string extra = "\"Limit\":" + std::to_string(limit);
    if (!marker.empty()) extra += ",\"Marker\":\"" + marker + "\"";
    CallResult r = h.Call(op, WithMembers(body, extra));
    INFO(r.body);
    REQUIRE(r.status == 200);
    const std::vector<std::string> page = IdsOf(r);
    CHECK(page.size() <= static_cast<std::size_t>(limit));
    ids.insert(ids.end(), page.begin(), page.end());
    if (!r.json["Truncated"].GetBool()) {
      CHECK_FALSE(r.json.HasMember("NextMarker"));
      return ids;
    }
    CHECK(page.size() == static_cast<std::size_t>(limit));
    marker = r.Str("NextMarker");
    REQUIRE_FALSE(marker.empty());
  }
  FAIL("more than 1000 pages");
  return ids;
}

std::string RetirableBody(std::string_view principal) {
  JsonOut out;
  out.String("RetiringPrincipal", principal);
  return out.Finish();
}

std::string RetireByIdBody(std::string_view key_ref, std::string_view grant_id) {
  JsonOut out;
  out.String("KeyId", key_ref);
  out.String("GrantId", grant_id);
  return out.Finish();
}

std::string TokenBody(std::string_view token) {
  JsonOut out;
  out.String("GrantToken", token);
  return out.Finish();
}

void SetState(OpHarness& h, const std::string& key_id, domain::KeyState state) {
  auto writer = h.registry().BeginWrite();
  auto key = h.registry().FindKey(kUsEast, key_id);
  REQUIRE(key != nullptr);
  kms::storage::KeyRecord changed = *key;
  changed.key_state = state;
  REQUIRE(writer.UpdateKey(changed).has_value());
}

std::size_t StoredGrants(OpHarness& h, const std::string& key_id) {
  auto key = h.registry().FindKey(kUsEast, key_id);
  REQUIRE(key != nullptr);
  return key->grants.size();
}

// A key of another spec and usage, copied from a new symmetric key (no key pair generated).
std::string KeyOf(OpHarness& h, const std::string& spec, const std::string& usage, int n) {
  const std::string id = "00000000-0000-4000-8000-" + std::string(11, '0') + std::to_string(n);
  h.InsertKeyLike(h.CreateSymmetricKey(), id, spec, usage);
  return id;
}

void CheckError(const CallResult& r, std::string_view type, std::string_view message) {
  INFO(r.body);
  CHECK(r.status == 400);
  CHECK(r.type == type);
  CHECK(r.message == message);
}

}  // namespace

// --- CreateGrant and the entry ListGrants shows ---------------------------------------------

TEST_CASE("CreateGrant returns a 64-hex GrantId and a token; ListGrants shows the grant",
          "[ops][grants]") {
  OpHarness h;
  const std::string key = h.CreateSymmetricKey();
  const Grant g = MakeGrant(h, key, {"Encrypt", "Decrypt", "DescribeKey"});
  CHECK(kms::ops::IsWellFormedGrantId(g.id));
  CHECK(kms::ops::ParseGrantToken(g.token).has_value());

  CallResult r = List(h, key);
  REQUIRE(r.status == 200);
  REQUIRE(r.json["Grants"].Size() == 1);
  const auto& e = r.json["Grants"][0];
  CHECK(std::string(e["KeyId"].GetString()) == h.Arn(key));
  CHECK(std::string(e["GrantId"].GetString()) == g.id);
  CHECK(std::string(e["Name"].GetString()).empty());  // AWS's examples show "Name": ""
  CHECK(e["CreationDate"].GetInt64() == kStart);
  CHECK(std::string(e["GranteePrincipal"].GetString()) == kGrantee);
  CHECK_FALSE(e.HasMember("RetiringPrincipal"));
  CHECK(std::string(e["IssuingAccount"].GetString()) == kIssuer);
  REQUIRE(e["Operations"].Size() == 3);
  CHECK(std::string(e["Operations"][0].GetString()) == "Encrypt");
  CHECK(std::string(e["Operations"][1].GetString()) == "Decrypt");
  CHECK(std::string(e["Operations"][2].GetString()) == "DescribeKey");
  CHECK_FALSE(e.HasMember("Constraints"));
  CHECK(r.json["Truncated"].GetBool() == false);
  CHECK_FALSE(r.json.HasMember("NextMarker"));
}

TEST_CASE("CreateGrant keeps Name, RetiringPrincipal and constraints", "[ops][grants]") {
  OpHarness h;
  const std::string key = h.CreateSymmetricKey();
  const auto [member, extra] = GENERATE(
      std::pair<std::string, std::string>{
          "EncryptionContextSubset",
          R"("Constraints":{"EncryptionContextSubset":{"b":"2","a":"1"}})"},
      std::pair<std::string, std::string>{
          "EncryptionContextEquals", R"("Constraints":{"EncryptionContextEquals":{"dept":"IT"}})"},
      std::pair<std::string, std::string>{"EncryptionContextEquals",
                                          R"("Constraints":{"EncryptionContextEquals":{}})"});
  MakeGrant(h, key, {"GenerateDataKey", "Decrypt"},
            std::string(R"("Name":"app-grant","RetiringPrincipal":")") + std::string(kRetiree) +
                "\"," + extra);
  CallResult r = List(h, key);
  REQUIRE(r.status == 200);
  const auto& e = r.json["Grants"][0];
  CHECK(std::string(e["Name"].GetString()) == "app-grant");
  CHECK(std::string(e["RetiringPrincipal"].GetString()) == kRetiree);
  REQUIRE(e.HasMember("Constraints"));
  REQUIRE(e["Constraints"].MemberCount() == 1);
  REQUIRE(e["Constraints"].HasMember(member.c_str()));
  rapidjson::Document want;
  want.Parse(("{" + extra + "}").c_str());
  CHECK(e["Constraints"][member.c_str()] == want["Constraints"][member.c_str()]);
}

TEST_CASE("CreateGrant takes a key id or key ARN, not an alias", "[ops][grants]") {
  OpHarness h;
  const std::string key = h.CreateSymmetricKey();
  h.CreateAlias("alias/app", key);
  MakeGrant(h, key);
  MakeGrant(h, h.Arn(key));
  CHECK(StoredGrants(h, key) == 2);

  CheckError(h.Call("CreateGrant", GrantBody("alias/app")), "NotFoundException",
             "Invalid keyId 'alias/app'");
  CheckError(h.Call("CreateGrant", GrantBody(h.AliasArn("alias/app"))), "NotFoundException",
             "Invalid arn " + h.AliasArn("alias/app"));
  const std::string missing = "11111111-2222-4333-8444-555555555555";
  CheckError(h.Call("CreateGrant", GrantBody(missing)), "NotFoundException",
             "Key '" + h.Arn(missing) + "' does not exist");
  CheckError(h.Call("CreateGrant", GrantBody("not-a-key")), "NotFoundException",
             "Invalid keyId 'not-a-key'");
}

TEST_CASE("CreateGrant follows AWS's key state table", "[ops][grants]") {
  OpHarness h;
  const std::string key = h.CreateSymmetricKey();

  SECTION("Disabled: DisabledException") {
    REQUIRE(h.Call("DisableKey", KeyIdBody(key)).status == 200);
    CheckError(h.Call("CreateGrant", GrantBody(key)), "DisabledException",
               h.Arn(key) + " is disabled.");
    CHECK(StoredGrants(h, key) == 0);
  }
  SECTION("PendingDeletion: KMSInvalidStateException") {
    h.ScheduleDeletion(key);
    CheckError(h.Call("CreateGrant", GrantBody(key)), "KMSInvalidStateException",
               h.Arn(key) + " is pending deletion.");
    CHECK(StoredGrants(h, key) == 0);
  }
  SECTION("PendingImport and Creating: KMSInvalidStateException") {
    SetState(h, key, domain::KeyState::kPendingImport);
    CheckError(h.Call("CreateGrant", GrantBody(key)), "KMSInvalidStateException",
               h.Arn(key) + " is pending import.");
    SetState(h, key, domain::KeyState::kCreating);
    CheckError(h.Call("CreateGrant", GrantBody(key)), "KMSInvalidStateException",
               h.Arn(key) + " is creating.");
    CHECK(StoredGrants(h, key) == 0);
  }
  SECTION("Unavailable and Updating: allowed") {
    SetState(h, key, domain::KeyState::kUnavailable);
    MakeGrant(h, key);
    SetState(h, key, domain::KeyState::kUpdating);
    MakeGrant(h, key);
    CHECK(StoredGrants(h, key) == 2);
  }
}

TEST_CASE("CreateGrant's Operations: not empty, not CreateGrant alone, each once",
          "[ops][grants]") {
  OpHarness h;
  const std::string key = h.CreateSymmetricKey();
  CheckError(h.Call("CreateGrant", GrantBody(key, {})), "ValidationException",
             "1 validation error detected: Value '[]' at 'operations' failed to satisfy "
             "constraint: Member must have length greater than or equal to 1");
  // Recorded from AWS.
  CheckError(h.Call("CreateGrant", GrantBody(key, {"CreateGrant"})), "ValidationException",
             "Grants must not contain only the CreateGrant operation.");
  CheckError(h.Call("CreateGrant", GrantBody(key, {"CreateGrant", "CreateGrant"})),
             "ValidationException", "Grants must not contain only the CreateGrant operation.");
  CHECK(StoredGrants(h, key) == 0);

  MakeGrant(h, key, {"CreateGrant", "Decrypt", "Decrypt"});
  CallResult r = List(h, key);
  REQUIRE(r.json["Grants"][0]["Operations"].Size() == 2);
  // An unknown operation is the model's enum error, before the handler.
  CallResult bad = h.Call("CreateGrant", GrantBody(key, {"ScheduleKeyDeletion"}));
  INFO(bad.message);
  CHECK(bad.type == "ValidationException");
  CHECK(bad.message.starts_with(
      "1 validation error detected: Value '[ScheduleKeyDeletion]' at 'operations' failed to "
      "satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: "));
}

TEST_CASE("CreateGrant allows only the operations the key type supports", "[ops][grants]") {
  OpHarness h;
  struct Case {
    std::string spec, usage;
    std::vector<std::string> allowed, refused;
  };
  const std::vector<std::string> always = {"CreateGrant", "RetireGrant", "DescribeKey"};
  const std::vector<Case> cases = {
      {"SYMMETRIC_DEFAULT",
       "ENCRYPT_DECRYPT",
       {"Decrypt", "Encrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "ReEncryptFrom",
        "ReEncryptTo", "GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext"},
       {"Sign", "Verify", "GenerateMac", "VerifyMac", "GetPublicKey", "DeriveSharedSecret"}},
      {"RSA_2048",
       "ENCRYPT_DECRYPT",
       {"Encrypt", "Decrypt", "ReEncryptFrom", "ReEncryptTo", "GetPublicKey"},
       {"GenerateDataKey", "GenerateDataKeyPair", "Sign", "Verify", "GenerateMac",
        "DeriveSharedSecret"}},
      {"RSA_2048",
       "SIGN_VERIFY",
       {"Sign", "Verify", "GetPublicKey"},
       {"Encrypt", "Decrypt", "GenerateDataKeyWithoutPlaintext", "VerifyMac"}},
      {"ECC_NIST_P256",
       "KEY_AGREEMENT",
       {"DeriveSharedSecret", "GetPublicKey"},
       {"Sign", "Encrypt", "GenerateDataKey"}},
      {"HMAC_256",
       "GENERATE_VERIFY_MAC",
       {"GenerateMac", "VerifyMac"},
       {"Encrypt", "Sign", "GetPublicKey", "GenerateDataKey"}},
  };
  int n = 0;
  for (const Case& c : cases) {
    const std::string key = KeyOf(h, c.spec, c.usage, ++n);
    INFO(c.spec << " " << c.usage);
    std::vector<std::string> all = c.allowed;
    all.insert(all.end(), always.begin(), always.end());
    MakeGrant(h, key, all);
    for (const std::string& op : c.refused) {
      INFO(op);
      CheckError(h.Call("CreateGrant", GrantBody(key, {"DescribeKey", op})), "ValidationException",
                 "Grant operation " + op + " is not valid for " + h.Arn(key) + ": its KeySpec is " +
                     c.spec + " and its KeyUsage is " + c.usage + ".");
    }
    CHECK(StoredGrants(h, key) == 1);
  }
}

TEST_CASE(
    "CreateGrant's constraints: one type, at most 8 pairs and 384 characters, symmetric "
    "keys only",
    "[ops][grants]") {
  OpHarness h;
  const std::string key = h.CreateSymmetricKey();
  CheckError(
      h.Call("CreateGrant", GrantBody(key, {"Decrypt"},
                                      R"("Constraints":{"EncryptionContextSubset":{"a":"1"},)"
                                      R"("EncryptionContextEquals":{"a":"1"}})")),
      "ValidationException",
      "A grant constraint can be EncryptionContextSubset or EncryptionContextEquals, not "
      "both.");

  std::string nine;
  for (int i = 0; i < 9; ++i) nine += (i ? "," : "") + ("\"k" + std::to_string(i) + "\":\"v\"");
  CheckError(h.Call("CreateGrant",
                    GrantBody(key, {"Decrypt"},
                              R"("Constraints":{"EncryptionContextSubset":{)" + nine + "}}")),
             "ValidationException",
             "A grant constraint can hold at most 8 encryption context pairs, but "
             "EncryptionContextSubset has 9.");

  // 384 characters in all (keys and values, counted as characters, not bytes) is the most.
  const std::string value(382, 'v');
  MakeGrant(h, key, {"Decrypt"},
            R"("Constraints":{"EncryptionContextEquals":{"k":")" + value + "\xc3\xa9\"}}");
  CheckError(h.Call("CreateGrant", GrantBody(key, {"Decrypt"},
                                             R"("Constraints":{"EncryptionContextEquals":{"k":")" +
                                                 value + "ab\"}}")),
             "ValidationException",
             "The encryption context in a grant constraint can be at most 384 characters long, "
             "but EncryptionContextEquals has 385.");

  const std::string rsa = KeyOf(h, "RSA_2048", "ENCRYPT_DECRYPT", 1);
  const std::string hmac = KeyOf(h, "HMAC_256", "GENERATE_VERIFY_MAC", 2);
  for (const auto& [id, spec, op] :
       {std::tuple{rsa, "RSA_2048", "Decrypt"}, std::tuple{hmac, "HMAC_256", "GenerateMac"}}) {
    CheckError(h.Call("CreateGrant", GrantBody(id, {op},
                                               R"("Constraints":{"EncryptionContextSubset":)"
                                               R"({"a":"1"}})")),
               "ValidationException",
               "Encryption context grant constraints are valid only for symmetric encryption KMS "
               "keys, and " +
                   h.Arn(id) + " has KeySpec " + spec + ".");
    MakeGrant(h, id, {op});  // without constraints
  }
  CHECK(StoredGrants(h, key) == 1);
}

TEST_CASE("CreateGrant with a Name is idempotent for the same parameters", "[ops][grants]") {
  OpHarness h;
  const std::string key = h.CreateSymmetricKey();
  const std::string extra =
      R"("Name":"retry-me","Constraints":{"EncryptionContextEquals":{"a":"1"}})";
  const Grant first = MakeGrant(h, key, {"Encrypt", "Decrypt"}, extra);
  h.clock().Advance(60);
  const Grant again = MakeGrant(h, key, {"Decrypt", "Encrypt"}, extra);  // operations reordered
  CHECK(again.id == first.id);
  CHECK(again.token != first.token);  // "unique with every CreateGrant request"
  CHECK(StoredGrants(h, key) == 1);
  CHECK(List(h, key).json["Grants"][0]["CreationDate"].GetInt64() == kStart);
  // Both tokens name the grant: retiring by the second removes it.
  REQUIRE(kms::ops::ParseGrantToken(first.token)->grant_id == first.id);
  REQUIRE(kms::ops::ParseGrantToken(again.token)->grant_id == first.id);

  SECTION("other parameters with the same Name make a new grant") {
    CHECK(MakeGrant(h, key, {"Encrypt"}, extra).id != first.id);
    CHECK(MakeGrant(h, key, {"Encrypt", "Decrypt"}, R"("Name":"retry-me")").id != first.id);
    CHECK(MakeGrant(h, key, {"Encrypt", "Decrypt"},
                    extra + R"(,"RetiringPrincipal":"arn:aws:iam::111122223333:root")")
              .id != first.id);
    CHECK(StoredGrants(h, key) == 4);
  }
  SECTION("without a Name every call makes a grant") {
    CHECK(MakeGrant(h, key).id != MakeGrant(h, key).id);
    CHECK(StoredGrants(h, key) == 3);
  }
  SECTION("the same Name on another key is another grant") {
    const std::string other = h.CreateSymmetricKey();
    CHECK(MakeGrant(h, other, {"Encrypt", "Decrypt"}, extra).id != first.id);
    CHECK(StoredGrants(h, other) == 1);
  }
  SECTION("after the grant is retired, the Name makes a new one") {
    REQUIRE(h.Call("RetireGrant", TokenBody(again.token)).status == 200);
    CHECK(MakeGrant(h, key, {"Encrypt", "Decrypt"}, extra).id != first.id);
  }
}

TEST_CASE("CreateGrant stops at AWS's 50,000 grants per key", "[ops][grants]") {
  OpHarness h;
  const std::string key = h.CreateSymmetricKey();
  MakeGrant(h, key, {"Decrypt"}, R"("Name":"kept")");
  {
    auto writer = h.registry().BeginWrite();
    kms::storage::KeyRecord full = *h.registry().FindKey(kUsEast, key);
    kms::storage::GrantRecord filler = full.grants.front();
    filler.name.clear();
    for (int i = 1; i < 50'000; ++i) {
      std::string id = std::to_string(i);
      filler.grant_id = std::string(64 - id.size(), 'b') + id;
      full.grants.push_back(filler);
    }
    REQUIRE(writer.UpdateKey(std::move(full)).has_value());
  }
  CheckError(h.Call("CreateGrant", GrantBody(key)), "LimitExceededException",
             "The grants limit has been reached for the given keyId. No more grants can be "
             "created for this key: " +
                 h.Arn(key));
  // A retry of an existing grant creates nothing, so the quota does not stop it.
  MakeGrant(h, key, {"Decrypt"}, R"("Name":"kept")");
  CHECK(StoredGrants(h, key) == 50'000);
}

TEST_CASE("CreateGrant with DryRun checks everything and creates nothing", "[ops][grants]") {
  OpHarness h;
  const std::string key = h.CreateSymmetricKey();
  CheckError(h.Call("CreateGrant", GrantBody(key, {"Decrypt"}, R"("DryRun":true)")),
             "DryRunOperationException",
             "The request would have succeeded, but the DryRun option is set.");
  CheckError(h.Call("CreateGrant", GrantBody(key, {"Sign"}, R"("DryRun":true)")),
             "ValidationException",
             "Grant operation Sign is not valid for " + h.Arn(key) +
                 ": its KeySpec is SYMMETRIC_DEFAULT and its KeyUsage is ENCRYPT_DECRYPT.");
  REQUIRE(h.Call("DisableKey", KeyIdBody(key)).status == 200);
  CheckError(h.Call("CreateGrant", GrantBody(key, {"Decrypt"}, R"("DryRun":true)")),
             "DisabledException", h.Arn(key) + " is disabled.");
  CHECK(StoredGrants(h, key) == 0);
  REQUIRE(h.Call("EnableKey", KeyIdBody(key)).status == 200);
  MakeGrant(h, key, {"Decrypt"}, R"("DryRun":false)");
  CHECK(StoredGrants(h, key) == 1);
}

// --- Grant tokens ---------------------------------------------------------------------------

TEST_CASE("A grant token names scope, key and grant and detects damage", "[ops][grants]") {
  const std::string key = "11111111-2222-4333-8444-555555555555";
  const std::string grant(64, 'c');
  auto token = kms::ops::MakeGrantToken(kUsEast, key, grant);
  REQUIRE(token.has_value());
  auto parsed = kms::ops::ParseGrantToken(*token);
  REQUIRE(parsed.has_value());
  CHECK(parsed->scope == kUsEast);
  CHECK(parsed->key_id == key);
  CHECK(parsed->grant_id == grant);
  CHECK(*kms::ops::MakeGrantToken(kUsEast, key, grant) != *token);  // a fresh nonce each time
  CHECK(kms::ops::ParseGrantToken(*kms::ops::MakeGrantToken({"111122223333", "eu-west-2"},
                                                            "mrk-" + std::string(32, 'd'), grant))
            ->scope.region == "eu-west-2");

  auto bytes = *kms::crypto::Base64Decode(*token);
  for (std::size_t i = 0; i < bytes.size(); ++i) {  // any byte changed: refused
    auto damaged = bytes;
    damaged[i] ^= 0x01;
    INFO("byte " << i);
    CHECK_FALSE(kms::ops::ParseGrantToken(kms::crypto::Base64Encode(damaged)).has_value());
  }
  auto cut = bytes;
  cut.pop_back();
  CHECK_FALSE(kms::ops::ParseGrantToken(kms::crypto::Base64Encode(cut)).has_value());
  CHECK_FALSE(kms::ops::ParseGrantToken("").has_value());
  CHECK_FALSE(kms::ops::ParseGrantToken("not base64!").has_value());
  CHECK_FALSE(kms::ops::ParseGrantToken(token->substr(0, token->size() - 4)).has_value());
  CHECK_FALSE(kms::ops::ParseGrantToken(std::string(8192, 'A')).has_value());
  // Made only for what it can name.
  CHECK_FALSE(kms::ops::MakeGrantToken(kUsEast, "alias/x", grant).has_value());
  CHECK_FALSE(kms::ops::MakeGrantToken(kUsEast, key, "ABC").has_value());
}

TEST_CASE("The operations whose model has GrantTokens are the ones the check covers",
          "[ops][grants]") {
  std::set<std::string> with;
  for (std::string_view op : kms::server::OperationNames()) {
    if (kms::server::InputHasMember(op, "GrantTokens")) with.emplace(op);
  }
  CHECK(with == std::set<std::string>{"CreateGrant", "Decrypt", "DeriveSharedSecret", "DescribeKey",
                                      "Encrypt", "GenerateDataKey", "GenerateDataKeyPair",
                                      "GenerateDataKeyPairWithoutPlaintext",
                                      "GenerateDataKeyWithoutPlaintext", "GenerateMac",
                                      "GetPublicKey", "ReEncrypt", "Sign", "Verify", "VerifyMac"});
  CHECK_FALSE(kms::server::InputHasMember("NoSuchOperation", "GrantTokens"));
}

TEST_CASE("Every operation with GrantTokens refuses a malformed token before anything else",
          "[ops][grants]") {
  OpHarness h;
  const std::string key = h.CreateSymmetricKey();
  // Catch2 makes a generator once per test case: the bodies name the key as {K}.
  const auto [op, members_template] = GENERATE(table<std::string, std::string>({
      {"CreateGrant", R"("KeyId":"{K}","GranteePrincipal":"p","Operations":["Decrypt"])"},
      {"Decrypt", R"("CiphertextBlob":"AAAA")"},
      {"DeriveSharedSecret", R"("KeyId":"{K}","KeyAgreementAlgorithm":"ECDH","PublicKey":"AAAA")"},
      {"DescribeKey", R"("KeyId":"{K}")"},
      {"Encrypt", R"("KeyId":"{K}","Plaintext":"aGk=")"},
      {"GenerateDataKey", R"("KeyId":"{K}","KeySpec":"AES_256")"},
      {"GenerateDataKeyPair", R"("KeyId":"{K}","KeyPairSpec":"ECC_NIST_P256")"},
      {"GenerateDataKeyPairWithoutPlaintext", R"("KeyId":"{K}","KeyPairSpec":"ECC_NIST_P256")"},
      {"GenerateDataKeyWithoutPlaintext", R"("KeyId":"{K}","KeySpec":"AES_256")"},
      {"GenerateMac", R"("KeyId":"{K}","Message":"aGk=","MacAlgorithm":"HMAC_SHA_256")"},
      {"GetPublicKey", R"("KeyId":"{K}")"},
      {"ReEncrypt", R"("CiphertextBlob":"AAAA","DestinationKeyId":"{K}")"},
      {"Sign", R"("KeyId":"{K}","Message":"aGk=","SigningAlgorithm":"ECDSA_SHA_256")"},
      {"Verify",
       R"("KeyId":"{K}","Message":"aGk=","Signature":"aGk=","SigningAlgorithm":"ECDSA_SHA_256")"},
      {"VerifyMac", R"("KeyId":"{K}","Message":"aGk=","MacAlgorithm":"HMAC_SHA_256","Mac":"aGk=")"},
  }));
  INFO(op);
  std::string members = members_template;
  if (auto at = members.find("{K}"); at != std::string::npos) members.replace(at, 3, key);
  const Grant g = MakeGrant(h, key);
  CheckError(h.Call(op, "{" + members + R"(,"GrantTokens":["not-a-token"]})"),
             "InvalidGrantTokenException", "Invalid grant token");
  // One bad token among good ones is enough.
  CheckError(h.Call(op, "{" + members + R"(,"GrantTokens":[")" + g.token + R"(","x"]})"),
             "InvalidGrantTokenException", "Invalid grant token");
  // A valid token passes the check: whatever the handler then answers, it is not about tokens.
  CallResult ok = h.Call(op, "{" + members + R"(,"GrantTokens":[")" + g.token + R"("]})");
  CHECK(ok.type != "InvalidGrantTokenException");
}

TEST_CASE("A new grant's token works at once; tokens are checked only for their form",
          "[ops][grants]") {
  OpHarness h;
  const std::string key = h.CreateSymmetricKey();
  const Grant g = MakeGrant(h, key, {"Encrypt", "GenerateDataKey"});
  const std::string tokens = R"("GrantTokens":[")" + g.token + "\"]";
  CallResult enc =
      h.Call("Encrypt", WithMembers(KeyIdBody(key), R"("Plaintext":"aGk=",)" + tokens));
  REQUIRE(enc.status == 200);
  CHECK(h.Call("Decrypt", DecryptBody(enc.Str("CiphertextBlob"))).status == 200);
  CHECK(h.Call("GenerateDataKey", WithMembers(KeyIdBody(key), R"("KeySpec":"AES_256",)" + tokens))
            .status == 200);
  CHECK(h.Call("DescribeKey", WithMembers(KeyIdBody(key), tokens)).status == 200);

  // A token of a retired grant is still well-formed: accepted (grants are not enforced).
  REQUIRE(h.Call("RetireGrant", TokenBody(g.token)).status == 200);
  CHECK(h.Call("DescribeKey", WithMembers(KeyIdBody(key), tokens)).status == 200);
  // An operation whose model has no GrantTokens ignores the member, as any unknown member.
  CHECK(h.Call("EnableKey", WithMembers(KeyIdBody(key), R"("GrantTokens":["junk"])")).status ==
        200);
  // At most 10 tokens: the model's limit, before the token check.
  std::string eleven = R"("GrantTokens":[)";
  for (int i = 0; i < 11; ++i) eleven += (i ? ",\"" : "\"") + g.token + "\"";
  CallResult many = h.Call("DescribeKey", WithMembers(KeyIdBody(key), eleven + "]"));
  CHECK(many.type == "ValidationException");
}

// --- ListGrants -----------------------------------------------------------------------------

TEST_CASE("ListGrants pages in creation order with Limit and Marker", "[ops][grants]") {
  OpHarness h;
  const std::string key = h.CreateSymmetricKey();
  std::vector<std::string> made;
  for (int i = 0; i < 7; ++i) {
    made.push_back(MakeGrant(h, key).id);
    if (i % 3 == 0) h.clock().Advance(1);  // some share a second, some do not
  }
  // Within one second grants come by id; across seconds by creation date.
  std::vector<std::string> expected = made;
  std::sort(expected.begin() + 1, expected.begin() + 4);
  std::sort(expected.begin() + 4, expected.begin() + 7);
  for (int limit : {1, 2, 3, 7, 100}) {
    INFO("Limit " << limit);
    CHECK(AllIds(h, "ListGrants", KeyIdBody(key), limit) == expected);
  }
  CallResult first = List(h, key, R"("Limit":3)");
  REQUIRE(first.json["Truncated"].GetBool());
  CHECK(IdsOf(first).size() == 3);

  SECTION("a marker survives the grant it names being retired") {
    REQUIRE(h.Call("RevokeGrant", RetireByIdBody(key, expected[2])).status == 200);
    CallResult next = List(h, key, R"("Marker":")" + first.Str("NextMarker") + "\"");
    CHECK(IdsOf(next) == std::vector<std::string>(expected.begin() + 3, expected.end()));
  }
  SECTION("Limit defaults to 50 and counts at most 100") {
    for (int i = 0; i < 100; ++i) MakeGrant(h, key);
    CallResult page = List(h, key);
    CHECK(IdsOf(page).size() == 50);
    CHECK(page.json["Truncated"].GetBool());
    CHECK(IdsOf(List(h, key, R"("Limit":1000)")).size() == 100);
  }
  SECTION("a Marker no page could have returned is InvalidMarkerException") {
    for (const std::string& bad :
         {std::string("x"), first.Str("NextMarker") + "0", "x" + first.Str("NextMarker").substr(1),
          first.Str("NextMarker").substr(0, 20) + std::string(64, 'A')}) {
      CheckError(List(h, key, R"("Marker":")" + bad + "\""), "InvalidMarkerException",
                 "The marker '" + bad + "' is not valid.");
    }
  }
}

TEST_CASE("ListGrants filters by GrantId and GranteePrincipal", "[ops][grants]") {
  OpHarness h;
  const std::string key = h.CreateSymmetricKey();
  const Grant a = MakeGrant(h, key);
  JsonOut other;
  other.String("KeyId", key);
  other.String("GranteePrincipal", "arn:aws:iam::111122223333:user/other");
  other.StringList("Operations", std::vector<std::string>{"Encrypt"});
  CallResult b = h.Call("CreateGrant", other.Finish());
  REQUIRE(b.status == 200);

  CHECK(IdsOf(List(h, key, R"("GrantId":")" + a.id + "\"")) == std::vector<std::string>{a.id});
  CHECK(IdsOf(List(h, key, R"("GranteePrincipal":"arn:aws:iam::111122223333:user/other")")) ==
        std::vector<std::string>{b.Str("GrantId")});
  CHECK(IdsOf(List(h, key,
                   R"("GranteePrincipal":"arn:aws:iam::111122223333:user/other","GrantId":")" +
                       a.id + "\""))
            .empty());
  CHECK(IdsOf(List(h, key, R"("GrantId":")" + kNoSuchGrant + "\"")).empty());
  CheckError(List(h, key, R"("GrantId":"abc")"), "InvalidGrantIdException",
             "Invalid grantId 'abc'");
}

TEST_CASE("ListGrants works in every key state and only for keys of the caller's scope",
          "[ops][grants]") {
  OpHarness h;
  const std::string key = h.CreateSymmetricKey();
  const Grant g = MakeGrant(h, key);
  REQUIRE(h.Call("DisableKey", KeyIdBody(key)).status == 200);
  CHECK(IdsOf(List(h, h.Arn(key))) == std::vector<std::string>{g.id});
  h.ScheduleDeletion(key);
  CHECK(IdsOf(List(h, key)) == std::vector<std::string>{g.id});

  // Another region: its keys and grants are not visible from us-east-1, nor the reverse.
  const std::string eu = h.CreateSymmetricKey("eu-west-2");
  const Grant eu_grant = MakeGrant(h, eu, {"Decrypt"}, {}, "eu-west-2");
  CheckError(List(h, eu), "NotFoundException", "Key '" + h.Arn(eu) + "' does not exist");
  CheckError(List(h, h.Arn(eu, "eu-west-2")), "NotFoundException", "Invalid arn eu-west-2");
  CHECK(IdsOf(List(h, eu, {}, "eu-west-2")) == std::vector<std::string>{eu_grant.id});
  CHECK(List(h, eu, {}, "eu-west-2").json["Grants"][0]["KeyId"].GetString() ==
        h.Arn(eu, "eu-west-2"));
  CheckError(List(h, "alias/x"), "NotFoundException", "Invalid keyId 'alias/x'");
  // The key lookup comes first: an unknown key with a bad marker is NotFoundException.
  const std::string missing = "11111111-2222-4333-8444-555555555555";
  CheckError(List(h, missing, R"("Marker":"x","GrantId":"y")"), "NotFoundException",
             "Key '" + h.Arn(missing) + "' does not exist");
}

// --- ListRetirableGrants --------------------------------------------------------------------

TEST_CASE("ListRetirableGrants lists the principal's grants across the scope's keys",
          "[ops][grants]") {
  OpHarness h;
  const std::string retiring =
      std::string(R"("RetiringPrincipal":")") + std::string(kRetiree) + "\"";
  std::vector<std::pair<std::string, std::string>> expected;  // (key id, grant id)
  std::vector<std::string> keys;
  for (int k = 0; k < 3; ++k) {
    keys.push_back(h.CreateSymmetricKey());
    for (int i = 0; i < 3; ++i) {
      expected.emplace_back(keys.back(), MakeGrant(h, keys.back(), {"Decrypt"}, retiring).id);
      MakeGrant(h, keys.back());  // no retiring principal
      MakeGrant(h, keys.back(), {"Decrypt"},
                R"("RetiringPrincipal":"arn:aws:iam::111122223333:role/x")");
      h.clock().Advance(1);
    }
  }
  MakeGrant(h, h.CreateSymmetricKey("eu-west-2"), {"Decrypt"}, retiring, "eu-west-2");
  // By key id; within a key, in creation order (the order they were made).
  std::stable_sort(expected.begin(), expected.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> ids;
  for (const auto& [key, id] : expected) ids.push_back(id);

  for (int limit : {1, 2, 4, 9, 100}) {
    INFO("Limit " << limit);
    CHECK(AllIds(h, "ListRetirableGrants", RetirableBody(kRetiree), limit) == ids);
  }
  CallResult r = h.Call("ListRetirableGrants", RetirableBody(kRetiree));
  REQUIRE(r.status == 200);
  const auto& e = r.json["Grants"][0];
  CHECK(std::string(e["RetiringPrincipal"].GetString()) == kRetiree);
  CHECK(std::string(e["KeyId"].GetString()) == h.Arn(expected[0].first));
  CHECK(AllIds(h, "ListRetirableGrants", RetirableBody("arn:aws:iam::111122223333:role/nobody"), 10)
            .empty());

  // A key past its deletion date takes its grants along.
  const std::string gone = expected.front().first;
  h.ScheduleDeletion(gone);
  CHECK(AllIds(h, "ListRetirableGrants", RetirableBody(kRetiree), 100).size() == 9);
  h.clock().Advance(8 * kDay);
  CHECK(AllIds(h, "ListRetirableGrants", RetirableBody(kRetiree), 100).size() == 6);

  for (const std::string& bad : {std::string("x"), gone + "/" + std::string(84, 'z'),
                                 gone + "/" + std::string(20, '0') + kNoSuchGrant + "x"}) {
    CheckError(h.Call("ListRetirableGrants",
                      WithMembers(RetirableBody(kRetiree), R"("Marker":")" + bad + "\"")),
               "InvalidMarkerException", "The marker '" + bad + "' is not valid.");
  }
}

// --- RetireGrant and RevokeGrant ------------------------------------------------------------

TEST_CASE("RetireGrant by token, by key id and grant id, or by key ARN and grant id",
          "[ops][grants]") {
  OpHarness h;
  const std::string key = h.CreateSymmetricKey();
  const Grant a = MakeGrant(h, key);
  const Grant b = MakeGrant(h, key);
  const Grant c = MakeGrant(h, key);
  const Grant d = MakeGrant(h, key);
  REQUIRE(h.Call("RetireGrant", TokenBody(a.token)).status == 200);
  REQUIRE(h.Call("RetireGrant", RetireByIdBody(key, b.id)).status == 200);
  REQUIRE(h.Call("RetireGrant", RetireByIdBody(h.Arn(key), c.id)).status == 200);
  // All three ways at once, naming the same grant.
  REQUIRE(h.Call("RetireGrant",
                 WithMembers(RetireByIdBody(key, d.id), R"("GrantToken":")" + d.token + "\""))
              .status == 200);
  CHECK(StoredGrants(h, key) == 0);
  CheckError(h.Call("RetireGrant", TokenBody(a.token)), "NotFoundException",
             "Grant '" + a.id + "' does not exist");
  CheckError(h.Call("RetireGrant", RetireByIdBody(key, b.id)), "NotFoundException",
             "Grant '" + b.id + "' does not exist");
}

TEST_CASE("RetireGrant's errors", "[ops][grants]") {
  OpHarness h;
  const std::string key = h.CreateSymmetricKey();
  const std::string other = h.CreateSymmetricKey();
  const Grant g = MakeGrant(h, key);
  const Grant o = MakeGrant(h, other);
  const std::string either = "Either GrantToken, or both KeyId and GrantId, must be specified.";
  CheckError(h.Call("RetireGrant", "{}"), "ValidationException", either);
  CheckError(h.Call("RetireGrant", KeyIdBody(key)), "ValidationException", either);
  CheckError(h.Call("RetireGrant", R"({"GrantId":")" + g.id + "\"}"), "ValidationException",
             either);
  CheckError(h.Call("RetireGrant", TokenBody("not-a-token")), "InvalidGrantTokenException",
             "Invalid grant token");
  CheckError(h.Call("RetireGrant", RetireByIdBody(key, "xyz")), "InvalidGrantIdException",
             "Invalid grantId 'xyz'");
  CheckError(h.Call("RetireGrant", RetireByIdBody(key, kNoSuchGrant)), "NotFoundException",
             "Grant '" + kNoSuchGrant + "' does not exist");
  // A grant id of another key's grant is not this key's grant.
  CheckError(h.Call("RetireGrant", RetireByIdBody(key, o.id)), "NotFoundException",
             "Grant '" + o.id + "' does not exist");
  const std::string missing = "11111111-2222-4333-8444-555555555555";
  CheckError(h.Call("RetireGrant", RetireByIdBody(missing, "xyz")), "NotFoundException",
             "Key '" + h.Arn(missing) + "' does not exist");
  CheckError(h.Call("RetireGrant", WithMembers(TokenBody(g.token), R"("KeyId":")" + other + "\"")),
             "ValidationException", "The GrantToken and the KeyId name different keys.");
  CheckError(h.Call("RetireGrant", WithMembers(TokenBody(g.token), R"("GrantId":")" + o.id + "\"")),
             "ValidationException", "The GrantToken and the GrantId name different grants.");

  // A token that names this key with another key's grant id finds nothing.
  auto forged = kms::ops::MakeGrantToken(kUsEast, key, o.id);
  REQUIRE(forged.has_value());
  CheckError(h.Call("RetireGrant", TokenBody(*forged)), "NotFoundException",
             "Grant '" + o.id + "' does not exist");
  // A token of another region: the grant is not visible here.
  CheckError(h.Call("RetireGrant", TokenBody(g.token), "eu-west-2"), "NotFoundException",
             "Grant '" + g.id + "' does not exist");

  CheckError(h.Call("RetireGrant", WithMembers(TokenBody(g.token), R"("DryRun":true)")),
             "DryRunOperationException",
             "The request would have succeeded, but the DryRun option is set.");
  CHECK(StoredGrants(h, key) == 1);
  CHECK(StoredGrants(h, other) == 1);
}

TEST_CASE("RetireGrant and RevokeGrant work in every key state, until the key is gone",
          "[ops][grants]") {
  OpHarness h;
  const std::string key = h.CreateSymmetricKey();
  const Grant a = MakeGrant(h, key);
  const Grant b = MakeGrant(h, key);
  const Grant c = MakeGrant(h, key);
  REQUIRE(h.Call("DisableKey", KeyIdBody(key)).status == 200);
  CHECK(h.Call("RetireGrant", TokenBody(a.token)).status == 200);
  h.ScheduleDeletion(key);
  CHECK(h.Call("RevokeGrant", RetireByIdBody(key, b.id)).status == 200);
  h.clock().Advance(7 * kDay);
  CheckError(h.Call("RetireGrant", TokenBody(c.token)), "NotFoundException",
             "Key '" + h.Arn(key) + "' does not exist");
  CheckError(h.Call("RevokeGrant", RetireByIdBody(key, c.id)), "NotFoundException",
             "Key '" + h.Arn(key) + "' does not exist");
  CheckError(List(h, key), "NotFoundException", "Key '" + h.Arn(key) + "' does not exist");
  // ListKeys purges the key, and its grants with it.
  REQUIRE(h.Call("ListKeys", "{}").status == 200);
  CHECK(h.registry().FindKey(kUsEast, key) == nullptr);
}

TEST_CASE("RevokeGrant deletes a grant by key and grant id", "[ops][grants]") {
  OpHarness h;
  const std::string key = h.CreateSymmetricKey();
  const Grant g = MakeGrant(h, key);
  CheckError(h.Call("RevokeGrant", WithMembers(RetireByIdBody(key, g.id), R"("DryRun":true)")),
             "DryRunOperationException",
             "The request would have succeeded, but the DryRun option is set.");
  CHECK(StoredGrants(h, key) == 1);
  CheckError(h.Call("RevokeGrant", RetireByIdBody(key, "g-1")), "InvalidGrantIdException",
             "Invalid grantId 'g-1'");
  CheckError(h.Call("RevokeGrant", RetireByIdBody(key, kNoSuchGrant)), "NotFoundException",
             "Grant '" + kNoSuchGrant + "' does not exist");
  CheckError(h.Call("RevokeGrant", RetireByIdBody("alias/x", g.id)), "NotFoundException",
             "Invalid keyId 'alias/x'");
  CheckError(h.Call("RevokeGrant", KeyIdBody(key)), "ValidationException",
             "1 validation error detected: Value null at 'grantId' failed to satisfy constraint: "
             "Member must not be null");
  REQUIRE(h.Call("RevokeGrant", RetireByIdBody(h.Arn(key), g.id)).status == 200);
  CHECK(IdsOf(List(h, key)).empty());
  CheckError(h.Call("RevokeGrant", RetireByIdBody(key, g.id)), "NotFoundException",
             "Grant '" + g.id + "' does not exist");
  // The token of a revoked grant retires nothing.
  CheckError(h.Call("RetireGrant", TokenBody(g.token)), "NotFoundException",
             "Grant '" + g.id + "' does not exist");
}

// --- Durability -----------------------------------------------------------------------------

TEST_CASE("Grants and their tokens survive a restart", "[ops][grants]") {
  TempDbFile db;
  OpHarness h(db.path());
  const std::string key = h.CreateSymmetricKey();
  const Grant a =
      MakeGrant(h, key, {"Encrypt", "Decrypt"},
                std::string(R"("Name":"n","RetiringPrincipal":")") + std::string(kRetiree) +
                    R"(","Constraints":{"EncryptionContextSubset":{"x":"1"}})");
  h.clock().Advance(1);
  const Grant b = MakeGrant(h, key, {"DescribeKey", "RetireGrant"});
  const std::string before = List(h, key).body;

  h.Reopen();
  CHECK(List(h, key).body == before);
  CHECK(IdsOf(List(h, key)) == std::vector<std::string>{a.id, b.id});
  // The retry is recognised after the restart too.
  CHECK(MakeGrant(h, key, {"Decrypt", "Encrypt"},
                  std::string(R"("Name":"n","RetiringPrincipal":")") + std::string(kRetiree) +
                      R"(","Constraints":{"EncryptionContextSubset":{"x":"1"}})")
            .id == a.id);
  REQUIRE(h.Call("RetireGrant", TokenBody(a.token)).status == 200);
  h.Reopen();
  CHECK(IdsOf(List(h, key)) == std::vector<std::string>{b.id});
}

TEST_CASE("A storage failure in a grant write is KMSInternalException and changes nothing",
          "[ops][grants][storage]") {
  FaultyHarness h;
  const std::string key = h.CreateSymmetricKey();
  CallResult granted = ResultOf(h.Call("CreateGrant", GrantBody(key)));
  REQUIRE(granted.status == 200);
  const std::string grant_id = granted.Str("GrantId");

  const std::string op = GENERATE(as<std::string>{}, "CreateGrant", "RetireGrant", "RevokeGrant");
  const std::string body = op == "CreateGrant"   ? GrantBody(key)
                           : op == "RetireGrant" ? TokenBody(granted.Str("GrantToken"))
                                                 : RetireByIdBody(key, grant_id);
  INFO(op);
  h.faults->FailNextWrites(1);
  CallResult r = ResultOf(h.Call(op, body));
  CHECK(r.status == 500);
  CHECK(r.type == "KMSInternalException");
  const auto stored = h.registry->FindKey(kUsEast, key);
  REQUIRE(stored != nullptr);
  REQUIRE(stored->grants.size() == 1);
  CHECK(stored->grants.front().grant_id == grant_id);
}
