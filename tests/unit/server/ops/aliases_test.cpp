// Tests for server/ops/aliases.cpp: CreateAlias, UpdateAlias, DeleteAlias, ListAliases,
// through the dispatcher.
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <unistd.h>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "server/ops/aws_managed.hpp"
#include "tests/unit/server/ops/op_harness.hpp"

namespace {

using namespace kms::testing;

constexpr std::string_view kPrefixText =
    "Alias must start with the prefix \"alias/\". Please see "
    "https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html";

CallResult Alias(OpHarness& h, std::string_view op, std::string_view name,
                 std::string_view target = {}, std::string_view region = {}) {
  return h.Call(op, AliasBody(name, target), region);
}

// ListAliases as sent.
CallResult ListRaw(OpHarness& h, std::string_view extra = {}, std::string_view region = {}) {
  return h.Call("ListAliases", WithMembers("{}", extra), region);
}

// ListAliases without the predefined AWS managed aliases that name no key yet, which every
// scope lists (aws_managed_test.cpp tests them): the aliases a test made.
CallResult List(OpHarness& h, std::string_view extra = {}, std::string_view region = {}) {
  CallResult r = ListRaw(h, extra, region);
  if (r.status != 200) return r;
  rapidjson::Value& aliases = r.json["Aliases"];
  for (auto it = aliases.Begin(); it != aliases.End();) {
    it = it->HasMember("TargetKeyId") ? it + 1 : aliases.Erase(it);
  }
  return r;
}

std::vector<std::string> Names(const CallResult& r) {
  std::vector<std::string> names;
  for (const auto& a : r.json["Aliases"].GetArray()) names.emplace_back(a["AliasName"].GetString());
  return names;
}

}  // namespace

TEST_CASE("An alias can be created, listed, updated and deleted", "[ops][aliases]") {
  OpHarness h;
  const std::string first = h.CreateSymmetricKey();
  const std::string second = h.CreateSymmetricKey();
  const std::int64_t created = h.clock().NowSeconds();

  h.CreateAlias("alias/app", first);
  CallResult listed = List(h);
  REQUIRE(listed.status == 200);
  REQUIRE(listed.json["Aliases"].Size() == 1);
  const auto& entry = listed.json["Aliases"][0];
  CHECK(std::string(entry["AliasName"].GetString()) == "alias/app");
  CHECK(std::string(entry["AliasArn"].GetString()) == h.AliasArn("alias/app"));
  CHECK(std::string(entry["TargetKeyId"].GetString()) == first);
  CHECK(entry["CreationDate"].GetInt64() == created);
  CHECK(entry["LastUpdatedDate"].GetInt64() == created);
  CHECK(listed.json["Truncated"].GetBool() == false);
  CHECK_FALSE(listed.json.HasMember("NextMarker"));

  h.clock().Advance(60);
  const std::string second_ref = RefOf(h, GENERATE(as<std::string>{}, "key id", "key ARN"), second);
  REQUIRE(Alias(h, "UpdateAlias", "alias/app", second_ref).status == 200);
  listed = List(h);
  REQUIRE(listed.json["Aliases"].Size() == 1);
  CHECK(std::string(listed.json["Aliases"][0]["TargetKeyId"].GetString()) == second);
  CHECK(listed.json["Aliases"][0]["CreationDate"].GetInt64() == created);
  CHECK(listed.json["Aliases"][0]["LastUpdatedDate"].GetInt64() == created + 60);

  REQUIRE(Alias(h, "DeleteAlias", "alias/app").status == 200);
  CHECK(List(h).json["Aliases"].Size() == 0);
  CallResult described = h.Call("DescribeKey", KeyIdBody("alias/app"));
  CHECK(described.type == "NotFoundException");
  CHECK(described.message == "Alias " + h.AliasArn("alias/app") + " is not found.");
}

TEST_CASE("Encrypt through an alias uses the key the alias names now", "[ops][aliases]") {
  OpHarness h;
  const std::string first = h.CreateSymmetricKey();
  const std::string second = h.CreateSymmetricKey();
  h.CreateAlias("alias/current", first);

  CallResult before = h.Call("Encrypt", R"({"KeyId":"alias/current","Plaintext":"aGk="})");
  REQUIRE(before.status == 200);
  CHECK(before.Str("KeyId") == h.Arn(first));

  REQUIRE(Alias(h, "UpdateAlias", "alias/current", second).status == 200);
  CallResult after = h.Call("Encrypt", R"({"KeyId":"alias/current","Plaintext":"aGk="})");
  REQUIRE(after.status == 200);
  CHECK(after.Str("KeyId") == h.Arn(second));

  // The old ciphertext still names its own key.
  CallResult dec =
      h.Call("Decrypt", R"({"CiphertextBlob":")" + before.Str("CiphertextBlob") + R"("})");
  REQUIRE(dec.status == 200);
  CHECK(dec.Str("KeyId") == h.Arn(first));
}

TEST_CASE("Alias names must start with alias/", "[ops][aliases]") {
  OpHarness h;
  const std::string key = h.CreateSymmetricKey();
  const std::string name = GENERATE(as<std::string>{}, "app", "aliasapp", "Alias/app", "key/app");
  SECTION("CreateAlias") {
    CallResult r = Alias(h, "CreateAlias", name, key);
    CHECK(r.type == "ValidationException");
    CHECK(r.message == kPrefixText);
  }
  SECTION("UpdateAlias") {
    CallResult r = Alias(h, "UpdateAlias", name, key);
    CHECK(r.type == "ValidationException");
    CHECK(r.message == kPrefixText);
  }
  SECTION("DeleteAlias") {
    CallResult r = Alias(h, "DeleteAlias", name);
    CHECK(r.type == "ValidationException");
    CHECK(r.message == kPrefixText);
  }
}

TEST_CASE("Alias names may not contain a colon", "[ops][aliases]") {
  OpHarness h;
  const std::string key = h.CreateSymmetricKey();
  auto r = h.Call("CreateAlias", AliasBody("alias/a:b", key));
  CHECK(r.status == 400);
  CHECK(r.type == "ValidationException");
  CHECK(r.message ==
        "1 validation error detected: Value 'alias/a:b' at 'aliasName' failed to satisfy "
        "constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9/_-]+$");
  CHECK(h.Call("CreateAlias", AliasBody("alias/a_b-c/d", key)).status == 200);
}

TEST_CASE("The alias/aws/ prefix is reserved for AWS managed keys", "[ops][aliases]") {
  OpHarness h;
  const std::string key = h.CreateSymmetricKey();
  CallResult r = Alias(h, "CreateAlias", "alias/aws/s3", key);
  CHECK(r.status == 400);
  CHECK(r.type == "NotAuthorizedException");
  CHECK(r.message.empty());
  CHECK_FALSE(r.json.HasMember("message"));
  CHECK(List(h).json["Aliases"].Size() == 0);

  SECTION("a name that only starts like it is fine") {
    CHECK(Alias(h, "CreateAlias", "alias/awsome", key).status == 200);
  }
}

TEST_CASE("CreateAlias rejects a name that exists with its ARN in the message", "[ops][aliases]") {
  OpHarness h;
  const std::string first = h.CreateSymmetricKey();
  const std::string second = h.CreateSymmetricKey();
  h.CreateAlias("alias/taken", first);

  CallResult r = Alias(h, "CreateAlias", "alias/taken", second);
  CHECK(r.type == "AlreadyExistsException");
  CHECK(r.message == "An alias with the name " + h.AliasArn("alias/taken") + " already exists");

  CallResult listed = List(h);
  REQUIRE(listed.json["Aliases"].Size() == 1);
  CHECK(std::string(listed.json["Aliases"][0]["TargetKeyId"].GetString()) == first);
}

TEST_CASE("CreateAlias takes a key id or key ARN as target, not an alias", "[ops][aliases]") {
  OpHarness h;
  const std::string key = h.CreateSymmetricKey();
  h.CreateAlias("alias/one", key);

  SECTION("key ARN") { CHECK(Alias(h, "CreateAlias", "alias/two", h.Arn(key)).status == 200); }
  SECTION("alias name") {
    CallResult r = Alias(h, "CreateAlias", "alias/two", "alias/one");
    CHECK(r.type == "NotFoundException");
    CHECK(r.message == "Invalid keyId 'alias/one'");
  }
  SECTION("alias ARN") {
    CallResult r = Alias(h, "CreateAlias", "alias/two", h.AliasArn("alias/one"));
    CHECK(r.type == "NotFoundException");
  }
  SECTION("a key that does not exist") {
    const std::string missing = "00000000-0000-4000-8000-000000000000";
    CallResult r = Alias(h, "CreateAlias", "alias/two", missing);
    CHECK(r.type == "NotFoundException");
    CHECK(r.message == "Key '" + h.Arn(missing) + "' does not exist");
  }
}

TEST_CASE("Aliases may name a disabled key but not one pending deletion", "[ops][aliases]") {
  OpHarness h;
  const std::string key = h.CreateSymmetricKey();
  const std::string other = h.CreateSymmetricKey();
  REQUIRE(h.Call("DisableKey", KeyIdBody(key)).status == 200);
  CHECK(Alias(h, "CreateAlias", "alias/disabled", key).status == 200);

  h.ScheduleDeletion(other);
  CallResult create = Alias(h, "CreateAlias", "alias/doomed", other);
  CHECK(create.type == "KMSInvalidStateException");
  CHECK(create.message == h.Arn(other) + " is pending deletion.");
  CallResult update = Alias(h, "UpdateAlias", "alias/disabled", other);
  CHECK(update.type == "KMSInvalidStateException");
  CHECK(update.message == h.Arn(other) + " is pending deletion.");

  SECTION("an alias whose key is pending deletion can still move away and be deleted") {
    h.ScheduleDeletion(key);
    CHECK(List(h).json["Aliases"].Size() == 1);
    const std::string fresh = h.CreateSymmetricKey();
    CHECK(Alias(h, "UpdateAlias", "alias/disabled", fresh).status == 200);
    CHECK(Alias(h, "DeleteAlias", "alias/disabled").status == 200);
  }
}

TEST_CASE("UpdateAlias and DeleteAlias need an existing alias", "[ops][aliases]") {
  OpHarness h;
  const std::string key = h.CreateSymmetricKey();
  CallResult update = Alias(h, "UpdateAlias", "alias/ghost", key);
  CHECK(update.type == "NotFoundException");
  CHECK(update.message == "Alias " + h.AliasArn("alias/ghost") + " is not found.");
  CallResult del = Alias(h, "DeleteAlias", "alias/ghost");
  CHECK(del.type == "NotFoundException");
  CHECK(del.message == "Alias " + h.AliasArn("alias/ghost") + " is not found.");

  h.CreateAlias("alias/once", key);
  REQUIRE(Alias(h, "DeleteAlias", "alias/once").status == 200);
  CHECK(Alias(h, "DeleteAlias", "alias/once").type == "NotFoundException");
}

TEST_CASE("UpdateAlias keeps an alias on the same type and usage of key", "[ops][aliases]") {
  OpHarness h;
  const std::string key = h.CreateSymmetricKey();
  h.CreateAlias("alias/typed", key);

  auto [spec, usage] = GENERATE(table<std::string, std::string>({
      {"HMAC_256", "GENERATE_VERIFY_MAC"},
      {"RSA_2048", "SIGN_VERIFY"},
      {"RSA_2048", "ENCRYPT_DECRYPT"},
  }));
  const std::string other = "11111111-2222-4333-8444-555555555555";
  h.InsertKeyLike(key, other, spec, usage);
  CallResult r = Alias(h, "UpdateAlias", "alias/typed", other);
  CHECK(r.type == "ValidationException");
  CHECK_THAT(r.message, Catch::Contains("same key type and key usage"));
  CallResult listed = List(h);
  CHECK(std::string(listed.json["Aliases"][0]["TargetKeyId"].GetString()) == key);
}

TEST_CASE("ListAliases pages with Limit, Marker and Truncated", "[ops][aliases]") {
  OpHarness h;
  const std::string key = h.CreateSymmetricKey();
  std::vector<std::string> all;
  for (int i = 0; i < 7; ++i) {
    const std::string name = "alias/page-" + std::to_string(i);
    h.CreateAlias(name, key);
    all.push_back(name);
  }

  // The predefined AWS managed aliases are listed too, and sort first ("alias/aws/...").
  std::vector<std::string> expected;
  for (const auto& managed : kms::ops::kAwsManagedAliases) expected.emplace_back(managed.name);
  expected.insert(expected.end(), all.begin(), all.end());

  std::vector<std::string> seen;
  std::string marker;
  int pages = 0;
  for (;;) {
    std::string extra = R"("Limit":3)";
    if (!marker.empty()) extra += R"(,"Marker":")" + marker + "\"";
    CallResult r = ListRaw(h, extra);
    REQUIRE(r.status == 200);
    ++pages;
    const auto names = Names(r);
    CHECK(names.size() <= 3);
    seen.insert(seen.end(), names.begin(), names.end());
    if (!r.json["Truncated"].GetBool()) {
      CHECK_FALSE(r.json.HasMember("NextMarker"));
      break;
    }
    marker = r.Str("NextMarker");
    REQUIRE_FALSE(marker.empty());
    REQUIRE(pages < 20);
  }
  CHECK(std::cmp_equal(pages, (expected.size() + 2) / 3));
  CHECK(seen == expected);

  SECTION("the default page is 50 and Limit is capped at 100") {
    for (int i = 7; i < 120; ++i) {
      h.CreateAlias("alias/page-" + std::to_string(i), key);
    }
    CallResult first = ListRaw(h);
    CHECK(first.json["Aliases"].Size() == 50);
    CHECK(first.json["Truncated"].GetBool());
    CallResult capped = ListRaw(h, R"("Limit":1000)");
    CHECK(capped.json["Aliases"].Size() == 100);
    CHECK(capped.json["Truncated"].GetBool());
  }
  SECTION("a marker kmsd did not make is InvalidMarkerException") {
    CallResult r = List(h, R"("Marker":"garbage")");
    CHECK(r.type == "InvalidMarkerException");
  }
}

TEST_CASE("ListAliases filters by KeyId given as key id or key ARN", "[ops][aliases]") {
  OpHarness h;
  const std::string first = h.CreateSymmetricKey();
  const std::string second = h.CreateSymmetricKey();
  h.CreateAlias("alias/a1", first);
  h.CreateAlias("alias/b2", second);
  h.CreateAlias("alias/c1", first);

  const std::string ref = RefOf(h, GENERATE(as<std::string>{}, "key id", "key ARN"), first);
  CallResult r = List(h, R"("KeyId":")" + ref + "\"");
  REQUIRE(r.status == 200);
  CHECK(Names(r) == std::vector<std::string>{"alias/a1", "alias/c1"});

  SECTION("an alias is not a KeyId here") {
    CallResult bad = List(h, R"("KeyId":"alias/a1")");
    CHECK(bad.type == "NotFoundException");
    CHECK(bad.message == "Invalid keyId 'alias/a1'");
  }
  SECTION("a key that does not exist") {
    CallResult bad = List(h, R"("KeyId":"00000000-0000-4000-8000-000000000000")");
    CHECK(bad.type == "NotFoundException");
  }
}

TEST_CASE("Aliases of a key past its deletion date are gone and their names free",
          "[ops][aliases]") {
  OpHarness h;
  const std::string doomed = h.CreateSymmetricKey();
  const std::string survivor = h.CreateSymmetricKey();
  h.CreateAlias("alias/doomed", doomed);
  h.CreateAlias("alias/kept", survivor);
  h.ScheduleDeletion(doomed);
  CHECK(Names(List(h)) == std::vector<std::string>{"alias/doomed", "alias/kept"});

  h.clock().Advance(7 * kDay + 1);
  CHECK(Names(List(h)) == std::vector<std::string>{"alias/kept"});
  CHECK(Alias(h, "DeleteAlias", "alias/doomed").type == "NotFoundException");
  CHECK(Alias(h, "UpdateAlias", "alias/doomed", survivor).type == "NotFoundException");
  h.CreateAlias("alias/doomed", survivor);
  CHECK(Names(List(h)) == std::vector<std::string>{"alias/doomed", "alias/kept"});
}

TEST_CASE("Aliases live in one region", "[ops][aliases]") {
  OpHarness h;
  const std::string key = h.CreateSymmetricKey("eu-west-2");
  h.CreateAlias("alias/regional", key, "eu-west-2");
  CHECK(Names(List(h, {}, "eu-west-2")) == std::vector<std::string>{"alias/regional"});
  CHECK(List(h).json["Aliases"].Size() == 0);
  CHECK(Alias(h, "CreateAlias", "alias/regional", key).type == "NotFoundException");

  CallResult listed = List(h, {}, "eu-west-2");
  CHECK(std::string(listed.json["Aliases"][0]["AliasArn"].GetString()) ==
        "arn:aws:kms:eu-west-2:111122223333:alias/regional");
}

TEST_CASE("Aliases survive a restart", "[ops][aliases]") {
  const std::string path = "/tmp/kmsd-aliases-test-" + std::to_string(::getpid()) + ".db";
  std::remove(path.c_str());
  {
    OpHarness h(path);
    const std::string key = h.CreateSymmetricKey();
    h.CreateAlias("alias/durable", key);
    h.Reopen();
    CHECK(Names(List(h)) == std::vector<std::string>{"alias/durable"});
    CHECK(h.Call("Encrypt", R"({"KeyId":"alias/durable","Plaintext":"aGk="})").status == 200);
  }
  std::remove(path.c_str());
  std::remove((path + "-wal").c_str());
  std::remove((path + "-shm").c_str());
}

TEST_CASE("CreateAlias names a missing target key before a taken name", "[ops][aliases][order]") {
  OpHarness h;
  h.CreateAlias("alias/taken", h.CreateSymmetricKey());
  const std::string missing = "11111111-2222-4333-8444-555555555555";
  CallResult r = Alias(h, "CreateAlias", "alias/taken", missing);
  CHECK(r.type == "NotFoundException");
  CHECK(r.message == "Key '" + h.Arn(missing) + "' does not exist");
}
