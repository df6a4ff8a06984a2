// Tests for server/ops/aws_managed.cpp and its uses: the predefined alias/aws/* aliases in
// ListAliases, the AWS managed key their first use creates (key_lookup.cpp), and the
// management operations AWS refuses on such a key (RequireCustomerManaged).
#include "server/ops/aws_managed.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>
#include <rapidjson/document.h>

#include "server/protocol/dispatch.hpp"
#include "storage/key_usage_tracker.hpp"
#include "storage/registry.hpp"
#include "storage/sqlite_store.hpp"
#include "tests/unit/server/ops/op_harness.hpp"
#include "tests/unit/storage/faulty_store.hpp"

namespace {

using namespace kms::testing;
namespace ops = kms::ops;

constexpr std::int64_t kYear = 365 * kDay;

CallResult List(OpHarness& h, std::string_view extra = {}, std::string_view region = {}) {
  return h.Call("ListAliases", WithMembers("{}", extra), region);
}

std::vector<std::string> Names(const CallResult& r) {
  std::vector<std::string> names;
  for (const auto& a : r.json["Aliases"].GetArray()) names.emplace_back(a["AliasName"].GetString());
  return names;
}

// Every alias name, following NextMarker with pages of `limit`.
std::vector<std::string> AllNames(OpHarness& h, int limit) {
  std::vector<std::string> names;
  std::string marker;
  for (int page = 0; page < 100; ++page) {
    std::string extra = R"("Limit":)" + std::to_string(limit);
    if (!marker.empty()) extra += R"(,"Marker":")" + marker + "\"";
    CallResult r = List(h, extra);
    REQUIRE(r.status == 200);
    const auto got = Names(r);
    CHECK(std::cmp_less_equal(got.size(), limit));
    names.insert(names.end(), got.begin(), got.end());
    if (!r.json["Truncated"].GetBool()) return names;
    marker = r.Str("NextMarker");
    REQUIRE(marker == names.back());
  }
  FAIL("ListAliases never stopped paging");
  return names;
}

std::vector<std::string> PredefinedNames() {
  std::vector<std::string> names;
  for (const auto& alias : ops::kAwsManagedAliases) names.emplace_back(alias.name);
  return names;
}

// The ListAliases entry named `name`, or nullptr.
// Entry points into `r`'s document: a temporary CallResult would leave it dangling (ASan).
const rapidjson::Value* Entry(CallResult&& r, std::string_view name) = delete;
const rapidjson::Value* Entry(const CallResult& r, std::string_view name) {
  for (const auto& a : r.json["Aliases"].GetArray()) {
    if (name == a["AliasName"].GetString()) return &a;
  }
  return nullptr;
}

// The key id DescribeKey reports for `ref`.
std::string DescribedId(OpHarness& h, std::string_view ref, std::string_view region = {}) {
  CallResult r = h.Call("DescribeKey", KeyIdBody(ref), region);
  REQUIRE(r.status == 200);
  return r.json["KeyMetadata"]["KeyId"].GetString();
}

std::string EncryptBody(std::string_view key_ref) {
  kms::server::JsonOut out;
  out.String("KeyId", key_ref);
  out.String("Plaintext", "aGVsbG8=");  // "hello"
  return out.Finish();
}

}  // namespace

TEST_CASE("The predefined alias table is sorted and found by name", "[ops][aws_managed]") {
  CHECK(std::size(ops::kAwsManagedAliases) == 14);
  for (const auto& alias : ops::kAwsManagedAliases) {
    CHECK(alias.name.starts_with("alias/aws/"));
    CHECK(ops::FindAwsManagedAlias(alias.name) == &alias);
  }
  CHECK(ops::FindAwsManagedAlias("alias/aws/nope") == nullptr);
  CHECK(ops::FindAwsManagedAlias("alias/aws/S3") == nullptr);
  CHECK(ops::FindAwsManagedAlias("alias/s3") == nullptr);
  const ops::AwsManagedAlias* s3 = ops::FindAwsManagedAlias("alias/aws/s3");
  REQUIRE(s3 != nullptr);
  CHECK(ops::AwsManagedKeyDescription(*s3) ==
        "Default key that protects my S3 objects when no other key is defined");
}

TEST_CASE("A fresh account and region lists the predefined aliases without a key",
          "[ops][aws_managed]") {
  OpHarness h;
  const std::string region = GENERATE(as<std::string>{}, "", "eu-west-2", "cn-north-1");
  CallResult r = List(h, {}, region);
  REQUIRE(r.status == 200);
  CHECK(Names(r) == PredefinedNames());
  CHECK(r.json["Truncated"].GetBool() == false);
  for (const auto& a : r.json["Aliases"].GetArray()) {
    CHECK(std::string(a["AliasArn"].GetString()) ==
          h.AliasArn(a["AliasName"].GetString(), region.empty() ? "us-east-1" : region));
    CHECK(a.MemberCount() == 2);  // AliasName and AliasArn only: no TargetKeyId, no dates
  }
  CHECK(h.registry().ListKeys(kUsEast).empty());  // listing creates nothing
}

TEST_CASE("Predefined and stored aliases merge in name order and page across both",
          "[ops][aws_managed]") {
  OpHarness h;
  const std::string key = h.CreateSymmetricKey();
  // '-' sorts before '/' and 'o' after it: these land before, among and after alias/aws/*.
  for (std::string_view name : {"alias/app", "alias/aws-x", "alias/awsome", "alias/zz"}) {
    h.CreateAlias(name, key);
  }
  REQUIRE(h.Call("Encrypt", EncryptBody("alias/aws/lambda")).status == 200);

  std::vector<std::string> expected = PredefinedNames();
  for (std::string name : {"alias/app", "alias/aws-x", "alias/awsome", "alias/zz"}) {
    expected.push_back(name);
  }
  std::sort(expected.begin(), expected.end());

  const int limit = GENERATE(1, 2, 3, 5, 50, 100);
  CHECK(AllNames(h, limit) == expected);

  CallResult all = List(h, R"("Limit":100)");
  const rapidjson::Value* lambda = Entry(all, "alias/aws/lambda");
  REQUIRE(lambda != nullptr);
  CHECK(lambda->HasMember("TargetKeyId"));
  CHECK(lambda->HasMember("CreationDate"));
  const rapidjson::Value* s3 = Entry(all, "alias/aws/s3");
  REQUIRE(s3 != nullptr);
  CHECK_FALSE(s3->HasMember("TargetKeyId"));

  SECTION("a marker between the two lists") {
    CHECK(Names(List(h, R"("Limit":2,"Marker":"alias/aws-x")")) ==
          std::vector<std::string>{"alias/aws/acm", "alias/aws/dynamodb"});
    CHECK(Names(List(h, R"("Limit":2,"Marker":"alias/aws/xray")")) ==
          std::vector<std::string>{"alias/awsome", "alias/zz"});
  }
}

TEST_CASE("With KeyId, ListAliases lists only stored aliases", "[ops][aws_managed]") {
  OpHarness h;
  const std::string key = h.CreateSymmetricKey();
  h.CreateAlias("alias/mine", key);
  CHECK(Names(List(h, R"("KeyId":")" + key + "\"")) == std::vector<std::string>{"alias/mine"});

  const std::string managed = DescribedId(h, "alias/aws/ebs");
  CHECK(Names(List(h, R"("KeyId":")" + managed + "\"")) ==
        std::vector<std::string>{"alias/aws/ebs"});
}

TEST_CASE("The first use of a predefined alias creates its AWS managed key", "[ops][aws_managed]") {
  OpHarness h;
  const std::string form = GENERATE(as<std::string>{}, "alias name", "alias ARN");
  const std::string ref = form == "alias name" ? "alias/aws/s3" : h.AliasArn("alias/aws/s3");
  const std::string op =
      GENERATE(as<std::string>{}, "Encrypt", "DescribeKey", "GenerateDataKey",
               "GenerateDataKeyWithoutPlaintext", "GenerateDataKeyPair", "GenerateMac");
  h.clock().Advance(100);
  const std::int64_t now = h.clock().NowSeconds();

  kms::server::JsonOut body;
  body.String("KeyId", ref);
  if (op == "Encrypt") body.String("Plaintext", "aGk=");
  if (op == "GenerateDataKey" || op == "GenerateDataKeyWithoutPlaintext") {
    body.String("KeySpec", "AES_256");
  }
  if (op == "GenerateDataKeyPair") body.String("KeyPairSpec", "ECC_NIST_P256");
  if (op == "GenerateMac") {
    body.String("Message", "aGk=");
    body.String("MacAlgorithm", "HMAC_SHA_256");
  }
  CallResult first = h.Call(op, body.Finish());
  // The key is made whatever the operation then says of it (a MAC needs an HMAC key).
  if (op == "GenerateMac") {
    CHECK(first.type == "InvalidKeyUsageException");
  } else {
    CHECK(first.status == 200);
  }

  const auto keys = h.registry().ListKeys(kUsEast);
  REQUIRE(keys.size() == 1);
  const std::string id = keys[0]->key_id;

  CallResult described = h.Call("DescribeKey", KeyIdBody("alias/aws/s3"));
  REQUIRE(described.status == 200);
  const auto& md = described.json["KeyMetadata"];
  CHECK(std::string(md["KeyId"].GetString()) == id);
  CHECK(std::string(md["KeyManager"].GetString()) == "AWS");
  CHECK(std::string(md["KeySpec"].GetString()) == "SYMMETRIC_DEFAULT");
  CHECK(std::string(md["KeyUsage"].GetString()) == "ENCRYPT_DECRYPT");
  CHECK(std::string(md["KeyState"].GetString()) == "Enabled");
  CHECK(std::string(md["Origin"].GetString()) == "AWS_KMS");
  CHECK(std::string(md["Description"].GetString()) ==
        "Default key that protects my S3 objects when no other key is defined");
  CHECK(md["CreationDate"].GetInt64() == now);

  const CallResult listed = List(h);  // owns the document `alias` points into
  const rapidjson::Value* alias = Entry(listed, "alias/aws/s3");
  REQUIRE(alias != nullptr);
  CHECK(std::string((*alias)["TargetKeyId"].GetString()) == id);
  CHECK((*alias)["CreationDate"].GetInt64() == now);
  CHECK((*alias)["LastUpdatedDate"].GetInt64() == now);

  CallResult rotation = h.Call("GetKeyRotationStatus", KeyIdBody(id));
  REQUIRE(rotation.status == 200);
  CHECK(rotation.json["KeyRotationEnabled"].GetBool());
  CHECK(rotation.json["RotationPeriodInDays"].GetInt() == 365);
  CHECK(rotation.json["NextRotationDate"].GetInt64() == now + kYear);

  // Later uses find the same key; nothing more is created.
  CHECK(DescribedId(h, h.AliasArn("alias/aws/s3")) == id);
  CHECK(h.Call("Encrypt", EncryptBody("alias/aws/s3")).status == 200);
  CHECK(h.registry().ListKeys(kUsEast).size() == 1);
}

TEST_CASE("An AWS managed key has the AWS managed key policy", "[ops][aws_managed]") {
  OpHarness h;
  const auto [region, partition, dns] = GENERATE(table<std::string, std::string, std::string>({
      {"us-east-1", "aws", "amazonaws.com"},
      {"cn-north-1", "aws-cn", "amazonaws.com.cn"},
  }));
  const std::string id = DescribedId(h, "alias/aws/ebs", region);
  CallResult r = h.Call("GetKeyPolicy", KeyIdBody(id), region);
  REQUIRE(r.status == 200);
  rapidjson::Document policy;
  policy.Parse(r.Str("Policy").c_str());
  REQUIRE(policy.IsObject());
  CHECK(std::string(policy["Version"].GetString()) == "2012-10-17");
  CHECK(std::string(policy["Id"].GetString()) == "auto-ebs-1");
  const auto& statements = policy["Statement"];
  REQUIRE(statements.Size() == 2);
  const auto& via = statements[0];
  CHECK(std::string(via["Sid"].GetString()) ==
        "Allow access through EBS for all principals in the account that are authorized to use "
        "EBS");
  CHECK(std::string(via["Principal"]["AWS"].GetString()) == "*");
  const auto& equals = via["Condition"]["StringEquals"];
  CHECK(std::string(equals["kms:CallerAccount"].GetString()) == "111122223333");
  CHECK(std::string(equals["kms:ViaService"].GetString()) == "ec2." + region + "." + dns);
  const auto& metadata = statements[1];
  CHECK(std::string(metadata["Principal"]["AWS"].GetString()) ==
        "arn:" + partition + ":iam::111122223333:root");
  std::vector<std::string> actions;
  for (const auto& a : metadata["Action"].GetArray()) actions.emplace_back(a.GetString());
  CHECK(actions ==
        std::vector<std::string>{"kms:Describe*", "kms:Get*", "kms:List*", "kms:RevokeGrant"});
}

TEST_CASE("Data sealed under an AWS managed key decrypts", "[ops][aws_managed]") {
  OpHarness h;
  CallResult sealed = h.Call("Encrypt", EncryptBody("alias/aws/secretsmanager"));
  REQUIRE(sealed.status == 200);
  CallResult opened = h.Call("Decrypt", DecryptBody(sealed.Str("CiphertextBlob")));
  REQUIRE(opened.status == 200);
  CHECK(opened.Str("Plaintext") == "aGVsbG8=");
  CHECK(opened.Str("KeyId") == sealed.Str("KeyId"));
  CHECK(opened.Str("KeyId") == h.Arn(DescribedId(h, "alias/aws/secretsmanager")));
}

TEST_CASE("Each scope gets its own AWS managed key", "[ops][aws_managed]") {
  OpHarness h;
  const std::string east = DescribedId(h, "alias/aws/rds");
  const std::string west = DescribedId(h, "alias/aws/rds", "eu-west-2");
  CHECK(east != west);
  CHECK(DescribedId(h, "alias/aws/rds") == east);
  CHECK(h.registry().ListKeys(kUsEast).size() == 1);
}

TEST_CASE("A name under alias/aws/ that is not predefined is not found", "[ops][aws_managed]") {
  OpHarness h;
  CallResult r = h.Call("Encrypt", EncryptBody("alias/aws/nope"));
  CHECK(r.type == "NotFoundException");
  CHECK(r.message == "Alias " + h.AliasArn("alias/aws/nope") + " is not found.");
  // An alias ARN of another account names no alias here, predefined or not.
  const std::string other = "arn:aws:kms:us-east-1:999999999999:alias/aws/s3";
  CallResult foreign = h.Call("DescribeKey", KeyIdBody(other));
  CHECK(foreign.type == "NotFoundException");
  CHECK(foreign.message == "Alias " + other + " is not found.");
  CHECK(h.registry().ListKeys(kUsEast).empty());
}

TEST_CASE("Customers cannot manage an AWS managed key", "[ops][aws_managed]") {
  OpHarness h;
  const std::string id = DescribedId(h, "alias/aws/s3");
  const std::string customer = h.CreateSymmetricKey();
  h.CreateAlias("alias/mine", customer);
  const std::string ref = RefOf(h, GENERATE(as<std::string>{}, "key id", "key ARN"), id);

  const auto [op, members] = GENERATE(table<std::string, std::string>({
      {"DisableKey", ""},
      {"EnableKey", ""},
      {"ScheduleKeyDeletion", R"("PendingWindowInDays":7)"},
      {"CancelKeyDeletion", ""},
      {"UpdateKeyDescription", R"("Description":"mine now")"},
      {"PutKeyPolicy", R"("PolicyName":"default","Policy":"{\"Statement\":{}}")"},
      {"TagResource", R"("Tags":[{"TagKey":"k","TagValue":"v"}])"},
      {"UntagResource", R"("TagKeys":["k"])"},
      {"EnableKeyRotation", ""},
      {"DisableKeyRotation", ""},
      {"RotateKeyOnDemand", ""},
  }));
  CallResult r = h.Call(op, WithMembers(KeyIdBody(ref), members));
  CHECK(r.status == 400);
  CHECK(r.type == "AccessDeniedException");
  CHECK(r.message == "User: arn:aws:iam::111122223333:root is not authorized to perform: kms:" +
                         op + " on resource: " + h.Arn(id) +
                         " because no resource-based policy allows the kms:" + op + " action");

  // Nothing changed.
  const auto key = h.registry().FindKey(kUsEast, id);
  REQUIRE(key != nullptr);
  CHECK(key->key_state == kms::domain::KeyState::kEnabled);
  CHECK(key->description == "Default key that protects my S3 objects when no other key is defined");
  CHECK(key->tags.empty());
  CHECK(key->rotation_enabled);
  CHECK(key->materials.size() == 1);
}

TEST_CASE("Customer aliases cannot point at an AWS managed key", "[ops][aws_managed]") {
  OpHarness h;
  const std::string id = DescribedId(h, "alias/aws/s3");
  const std::string customer = h.CreateSymmetricKey();
  h.CreateAlias("alias/mine", customer);

  const std::string op = GENERATE(as<std::string>{}, "CreateAlias", "UpdateAlias");
  const std::string name = op == "CreateAlias" ? "alias/new" : "alias/mine";
  CallResult r = h.Call(op, AliasBody(name, id));
  CHECK(r.type == "AccessDeniedException");
  CHECK(r.message == "User: arn:aws:iam::111122223333:root is not authorized to perform: kms:" +
                         op + " on resource: " + h.Arn(id) +
                         " because no resource-based policy allows the kms:" + op + " action");
  CHECK(DescribedId(h, "alias/mine") == customer);
  CHECK(h.Call("DescribeKey", KeyIdBody("alias/new")).type == "NotFoundException");
}

TEST_CASE("AWS managed aliases cannot be created, updated or deleted", "[ops][aws_managed]") {
  OpHarness h;
  const std::string customer = h.CreateSymmetricKey();
  const bool used = GENERATE(false, true);  // before and after the first use
  if (used) REQUIRE(h.Call("Encrypt", EncryptBody("alias/aws/s3")).status == 200);

  for (std::string_view op : {"CreateAlias", "UpdateAlias", "DeleteAlias"}) {
    CallResult r = h.Call(op, AliasBody("alias/aws/s3", op == "DeleteAlias" ? "" : customer));
    CHECK(r.status == 400);
    CHECK(r.type == "NotAuthorizedException");
    CHECK(r.message.empty());
    CHECK_FALSE(r.json.HasMember("message"));
  }
  const CallResult listed = List(h);  // owns the document `alias` points into
  const rapidjson::Value* alias = Entry(listed, "alias/aws/s3");
  REQUIRE(alias != nullptr);
  CHECK(alias->HasMember("TargetKeyId") == used);
  if (used) CHECK(std::string((*alias)["TargetKeyId"].GetString()) != customer);
}

TEST_CASE("Checks that come before the AWS managed refusal still do", "[ops][aws_managed]") {
  OpHarness h;
  const std::string missing = "00000000-0000-4000-8000-000000000000";
  CallResult r = h.Call("DisableKey", KeyIdBody(missing));
  CHECK(r.type == "NotFoundException");
  CHECK(r.message == "Key '" + h.Arn(missing) + "' does not exist");
  // The alias forms are not key ids for management operations: no key is created.
  CallResult alias = h.Call("DisableKey", KeyIdBody("alias/aws/s3"));
  CHECK(alias.type == "NotFoundException");
  CHECK(alias.message == "Invalid keyId 'alias/aws/s3'");
  CHECK(h.registry().ListKeys(kUsEast).empty());
}

TEST_CASE("An AWS managed key and its alias survive a restart", "[ops][aws_managed]") {
  TempDbFile db;
  OpHarness h(db.path());
  CallResult sealed = h.Call("Encrypt", EncryptBody("alias/aws/dynamodb"));
  REQUIRE(sealed.status == 200);
  const std::string id = DescribedId(h, "alias/aws/dynamodb");

  h.Reopen();
  CallResult described = h.Call("DescribeKey", KeyIdBody("alias/aws/dynamodb"));
  REQUIRE(described.status == 200);
  CHECK(std::string(described.json["KeyMetadata"]["KeyId"].GetString()) == id);
  CHECK(std::string(described.json["KeyMetadata"]["KeyManager"].GetString()) == "AWS");
  const CallResult listed = List(h);  // owns the document `alias` points into
  const rapidjson::Value* alias = Entry(listed, "alias/aws/dynamodb");
  REQUIRE(alias != nullptr);
  CHECK(std::string((*alias)["TargetKeyId"].GetString()) == id);
  CHECK(h.Call("Decrypt", DecryptBody(sealed.Str("CiphertextBlob"))).status == 200);
  CHECK(h.Call("DisableKey", KeyIdBody(id)).type == "AccessDeniedException");
  CHECK(h.registry().ListKeys(kUsEast).size() == 1);
}

TEST_CASE("Concurrent first uses of a predefined alias create one key", "[ops][aws_managed]") {
  OpHarness h;
  constexpr int kThreads = 8;
  std::vector<std::string> ids(kThreads);
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      while (!go.load()) std::this_thread::yield();
      CallResult r = h.Call("Encrypt", EncryptBody("alias/aws/glue"));
      if (r.status == 200) ids[static_cast<std::size_t>(i)] = r.Str("KeyId");
    });
  }
  go = true;
  for (auto& t : threads) t.join();
  const std::set<std::string> distinct(ids.begin(), ids.end());
  CHECK(distinct.size() == 1);
  CHECK_FALSE(distinct.begin()->empty());
  CHECK(h.registry().ListKeys(kUsEast).size() == 1);
}

TEST_CASE("A first use whose commit fails is KMSInternalException and leaves no key",
          "[ops][aws_managed][storage]") {
  auto sqlite = kms::storage::SqliteStore::Open(":memory:");
  REQUIRE(sqlite.has_value());
  auto faulty = std::make_unique<kms::storage::testing::FaultyStore>(std::move(*sqlite));
  auto* faults = faulty.get();
  auto opened = kms::storage::Registry::Open(std::move(faulty));
  REQUIRE(opened.has_value());
  std::unique_ptr<kms::storage::Registry> registry = std::move(*opened);
  kms::FakeClock clock;
  const kms::config::Config config;
  kms::storage::KeyUsageTracker key_usage(*registry, std::chrono::milliseconds(0));
  const kms::server::Dispatcher dispatcher(*registry, key_usage, clock, config);
  const auto call = [&](std::string_view op, std::string_view body) {
    kms::server::Reply reply =
        dispatcher.Handle("TrentService." + std::string(op), {}, body, "faulty");
    if (auto durable = registry->WaitDurable(reply.ticket); !durable) {
      return kms::server::Dispatcher::CommitFailedReply(reply, durable.error(), "faulty");
    }
    return reply;
  };

  faults->FailNextWrites(1);
  kms::server::Reply failed = call("Encrypt", EncryptBody("alias/aws/s3"));
  CHECK(failed.status == 500);
  CHECK(failed.error_type == "KMSInternalException");
  CHECK(registry->ListKeys(kUsEast).empty());
  CHECK_FALSE(registry->FindAlias(kUsEast, "alias/aws/s3").has_value());

  // The next use creates it.
  CHECK(call("Encrypt", EncryptBody("alias/aws/s3")).status == 200);
  CHECK(registry->ListKeys(kUsEast).size() == 1);
  CHECK(registry->FindAlias(kUsEast, "alias/aws/s3").has_value());
}
