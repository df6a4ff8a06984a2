// Tests for server/ops/tags.cpp: TagResource, UntagResource, ListResourceTags, and the
// ReadTags / MergeTags helpers CreateKey shares.
#include "server/ops/tags.hpp"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>
#include <rapidjson/document.h>

#include "server/ops/context.hpp"
#include "server/protocol/json_io.hpp"
#include "storage/records.hpp"
#include "tests/unit/server/ops/op_harness.hpp"

namespace {

using kms::server::JsonOut;
using kms::storage::Tag;
using namespace kms::testing;
using Tags = std::vector<std::pair<std::string, std::string>>;

void WriteTags(JsonOut& out, const Tags& tags) {
  out.Key("Tags");
  out.StartArray();
  for (const auto& [k, v] : tags) {
    out.StartObject();
    out.String("TagKey", k);
    out.String("TagValue", v);
    out.EndObject();
  }
  out.EndArray();
}

CallResult TagKey(OpHarness& h, std::string_view key_ref, const Tags& tags) {
  JsonOut out;
  out.String("KeyId", key_ref);
  WriteTags(out, tags);
  return h.Call("TagResource", out.Finish());
}

CallResult UntagKey(OpHarness& h, std::string_view key_ref, const std::vector<std::string>& keys) {
  JsonOut out;
  out.String("KeyId", key_ref);
  out.StringList("TagKeys", keys);
  return h.Call("UntagResource", out.Finish());
}

CallResult ListTags(OpHarness& h, std::string_view key_ref, std::string_view extra = {}) {
  return h.Call("ListResourceTags", WithMembers(KeyIdBody(key_ref), extra));
}

Tags TagsOf(const CallResult& r) {
  Tags tags;
  for (const auto& t : r.json["Tags"].GetArray()) {
    tags.emplace_back(t["TagKey"].GetString(), t["TagValue"].GetString());
  }
  return tags;
}

Tags AllTags(OpHarness& h, std::string_view key_ref) {
  CallResult r = ListTags(h, key_ref);
  REQUIRE(r.status == 200);
  REQUIRE_FALSE(r.json["Truncated"].GetBool());
  return TagsOf(r);
}

Tags Numbered(int from, int to) {
  Tags tags;
  for (int i = from; i < to; ++i)
    tags.emplace_back("k" + std::to_string(i), "v" + std::to_string(i));
  return tags;
}

}  // namespace

TEST_CASE("Tags are listed in the order they were first added", "[ops][tags]") {
  OpHarness h;
  const std::string key = h.CreateSymmetricKey();
  const std::string ref = RefOf(h, GENERATE(as<std::string>{}, "key id", "key ARN"), key);

  REQUIRE(TagKey(h, ref, {{"zeta", "1"}, {"alpha", "2"}}).status == 200);
  REQUIRE(TagKey(h, ref, {{"mid", "3"}, {"zeta", "changed"}}).status == 200);
  CHECK(AllTags(h, ref) == Tags{{"zeta", "changed"}, {"alpha", "2"}, {"mid", "3"}});

  SECTION("an empty value is a value") {
    REQUIRE(TagKey(h, ref, {{"empty", ""}}).status == 200);
    CHECK(AllTags(h, ref).back() == std::pair<std::string, std::string>{"empty", ""});
  }
}

TEST_CASE("Tags beginning with aws: are reserved in any letter case", "[ops][tags]") {
  OpHarness h;
  const std::string key = h.CreateSymmetricKey();
  const std::string reserved = GENERATE(as<std::string>{}, "aws:x", "AWS:x", "Aws:", "aWs:cost");

  CallResult r = TagKey(h, key, {{"fine", "1"}, {reserved, "v"}});
  CHECK(r.type == "TagException");
  CHECK(r.message == "Tags beginning with aws: are reserved");
  CHECK(AllTags(h, key).empty());

  SECTION("CreateKey applies the same rule") {
    JsonOut out;
    WriteTags(out, {{reserved, "v"}});
    CallResult created = h.Call("CreateKey", out.Finish());
    CHECK(created.type == "TagException");
    CHECK(created.message == "Tags beginning with aws: are reserved");
  }
  SECTION("aws without the colon is an ordinary key") {
    CHECK(TagKey(h, key, {{"awsome", "1"}, {"aws", "2"}}).status == 200);
  }
}

TEST_CASE("One request may not name a tag key twice", "[ops][tags]") {
  OpHarness h;
  const std::string key = h.CreateSymmetricKey();
  CallResult r = TagKey(h, key, {{"dup", "1"}, {"other", "x"}, {"dup", "2"}});
  CHECK(r.type == "TagException");
  CHECK(r.message == "Duplicate tag keys");
  CHECK(AllTags(h, key).empty());

  SECTION("keys differing in case are different keys") {
    CHECK(TagKey(h, key, {{"Env", "1"}, {"env", "2"}}).status == 200);
    CHECK(AllTags(h, key).size() == 2);
  }
}

TEST_CASE("A key holds at most 50 tags", "[ops][tags]") {
  OpHarness h;
  const std::string key = h.CreateSymmetricKey();

  SECTION("50 at once, then a changed value, fit") {
    REQUIRE(TagKey(h, key, Numbered(0, 50)).status == 200);
    CHECK(TagKey(h, key, {{"k7", "new"}}).status == 200);
    CHECK(AllTags(h, key).size() == 50);
    CallResult r = TagKey(h, key, {{"k50", "v"}});
    CHECK(r.type == "TagException");
    CHECK(r.message == "Too many tags");
  }
  SECTION("51 at once do not") {
    CallResult r = TagKey(h, key, Numbered(0, 51));
    CHECK(r.type == "TagException");
    CHECK(r.message == "Too many tags");
    CHECK(AllTags(h, key).empty());
  }
  SECTION("45 plus 6 new do not, and nothing is added") {
    REQUIRE(TagKey(h, key, Numbered(0, 45)).status == 200);
    CallResult r = TagKey(h, key, Numbered(45, 51));
    CHECK(r.type == "TagException");
    CHECK(r.message == "Too many tags");
    CHECK(AllTags(h, key) == Numbered(0, 45));
  }
  SECTION("CreateKey counts the same way") {
    JsonOut out;
    WriteTags(out, Numbered(0, 51));
    CallResult r = h.Call("CreateKey", out.Finish());
    CHECK(r.type == "TagException");
    CHECK(r.message == "Too many tags");
  }
}

TEST_CASE("Tag key and value lengths get the model's messages", "[ops][tags]") {
  OpHarness h;
  const std::string key = h.CreateSymmetricKey();
  const std::string long_key(129, 'k');
  CallResult r = TagKey(h, key, {{long_key, "v"}});
  CHECK(r.type == "ValidationException");
  CHECK(r.message == "1 validation error detected: Value '" + long_key +
                         "' at 'tags.1.member.tagKey' failed to satisfy constraint: Member must "
                         "have length less than or equal to 128");
  CHECK(TagKey(h, key, {{std::string(128, 'k'), std::string(256, 'v')}}).status == 200);
  CallResult value = TagKey(h, key, {{"k", std::string(257, 'v')}});
  CHECK(value.type == "ValidationException");
  CHECK_THAT(value.message, Catch::Contains("tags.1.member.tagValue"));
}

TEST_CASE("UntagResource removes the named tags and ignores missing ones", "[ops][tags]") {
  OpHarness h;
  const std::string key = h.CreateSymmetricKey();
  REQUIRE(TagKey(h, key, {{"a", "1"}, {"b", "2"}, {"c", "3"}}).status == 200);
  REQUIRE(UntagKey(h, key, {"b", "not-there"}).status == 200);
  CHECK(AllTags(h, key) == Tags{{"a", "1"}, {"c", "3"}});
  REQUIRE(UntagKey(h, h.Arn(key), {"nothing"}).status == 200);
  CHECK(AllTags(h, key) == Tags{{"a", "1"}, {"c", "3"}});
  REQUIRE(UntagKey(h, key, {"a", "c"}).status == 200);
  CHECK(AllTags(h, key).empty());
}

TEST_CASE("Tags change only on keys not pending deletion but list in every state", "[ops][tags]") {
  OpHarness h;
  const std::string key = h.CreateSymmetricKey();
  REQUIRE(TagKey(h, key, {{"a", "1"}}).status == 200);

  SECTION("disabled") {
    REQUIRE(h.Call("DisableKey", KeyIdBody(key)).status == 200);
    CHECK(TagKey(h, key, {{"b", "2"}}).status == 200);
    CHECK(UntagKey(h, key, {"a"}).status == 200);
    CHECK(AllTags(h, key) == Tags{{"b", "2"}});
  }
  SECTION("pending deletion") {
    h.ScheduleDeletion(key);
    CallResult tag = TagKey(h, key, {{"b", "2"}});
    CHECK(tag.type == "KMSInvalidStateException");
    CHECK(tag.message == h.Arn(key) + " is pending deletion.");
    CallResult untag = UntagKey(h, key, {"a"});
    CHECK(untag.type == "KMSInvalidStateException");
    CHECK(AllTags(h, key) == Tags{{"a", "1"}});
  }
}

TEST_CASE("Tag operations take a key id or key ARN, not an alias", "[ops][tags]") {
  OpHarness h;
  const std::string key = h.CreateSymmetricKey();
  h.CreateAlias("alias/t", key);
  CallResult tag = TagKey(h, "alias/t", {{"a", "1"}});
  CHECK(tag.type == "NotFoundException");
  CHECK(tag.message == "Invalid keyId 'alias/t'");
  CHECK(ListTags(h, "alias/t").type == "NotFoundException");
  CHECK(UntagKey(h, "alias/t", {"a"}).type == "NotFoundException");

  const std::string missing = "00000000-0000-4000-8000-000000000000";
  CallResult gone = ListTags(h, missing);
  CHECK(gone.type == "NotFoundException");
  CHECK(gone.message == "Key '" + h.Arn(missing) + "' does not exist");
}

TEST_CASE("ListResourceTags pages with Limit, Marker and Truncated", "[ops][tags]") {
  OpHarness h;
  const std::string key = h.CreateSymmetricKey();
  REQUIRE(TagKey(h, key, Numbered(0, 20)).status == 200);

  Tags seen;
  std::string marker;
  int pages = 0;
  for (;;) {
    std::string extra = R"("Limit":7)";
    if (!marker.empty()) extra += R"(,"Marker":")" + marker + "\"";
    CallResult r = ListTags(h, key, extra);
    REQUIRE(r.status == 200);
    ++pages;
    const Tags page = TagsOf(r);
    CHECK(page.size() <= 7);
    seen.insert(seen.end(), page.begin(), page.end());
    if (!r.json["Truncated"].GetBool()) {
      CHECK_FALSE(r.json.HasMember("NextMarker"));
      break;
    }
    marker = r.Str("NextMarker");
    REQUIRE(pages < 10);
  }
  CHECK(pages == 3);
  CHECK(seen == Numbered(0, 20));

  SECTION("Limit above 50 lists 50") {
    REQUIRE(TagKey(h, key, Numbered(20, 50)).status == 200);
    CallResult r = ListTags(h, key, R"("Limit":1000)");
    CHECK(TagsOf(r).size() == 50);
    CHECK_FALSE(r.json["Truncated"].GetBool());
  }
  SECTION("a marker kmsd did not make is InvalidMarkerException") {
    CHECK(ListTags(h, key, R"("Marker":"abc")").type == "InvalidMarkerException");
  }
  SECTION("a key without tags lists an empty page") {
    const std::string bare = h.CreateSymmetricKey();
    CallResult r = ListTags(h, bare);
    REQUIRE(r.status == 200);
    CHECK(r.json["Tags"].Size() == 0);
    CHECK_FALSE(r.json["Truncated"].GetBool());
  }
}

TEST_CASE("ReadTags and MergeTags as CreateKey uses them", "[ops][tags]") {
  OpHarness h;
  kms::ops::OpContext ctx{h.registry(), h.clock(), h.config(), kUsEast, "test"};
  rapidjson::Document doc;
  doc.Parse(R"({"Tags":[{"TagKey":"a","TagValue":"1"},{"TagKey":"b","TagValue":"2"}]})");
  REQUIRE(doc.IsObject());
  auto read = kms::ops::ReadTags(kms::server::JsonIn(doc));
  REQUIRE(read.has_value());
  CHECK(*read == std::vector<Tag>{{"a", "1"}, {"b", "2"}});

  rapidjson::Document none;
  none.Parse("{}");
  auto empty = kms::ops::ReadTags(kms::server::JsonIn(none));
  REQUIRE(empty.has_value());
  CHECK(empty->empty());

  std::vector<Tag> existing{{"b", "old"}, {"c", "3"}};
  REQUIRE(kms::ops::MergeTags(ctx, existing, *read).has_value());
  CHECK(existing == std::vector<Tag>{{"b", "2"}, {"c", "3"}, {"a", "1"}});

  std::vector<Tag> many;
  for (int i = 0; i < 49; ++i) many.push_back({"k" + std::to_string(i), "v"});
  auto too_many = kms::ops::MergeTags(ctx, many, *read);
  REQUIRE_FALSE(too_many.has_value());
  CHECK(too_many.error().Type() == "TagException");
  CHECK(too_many.error().message == "Too many tags");
  CHECK(many.size() == 49);
}

TEST_CASE("TagResource names a missing key before the tags' own errors", "[ops][tags][order]") {
  OpHarness h;
  const std::string missing = "11111111-2222-4333-8444-555555555555";
  const Tags bad = GENERATE(Tags{{"aws:reserved", "v"}}, Tags{{"k", "1"}, {"k", "2"}});
  CallResult r = TagKey(h, missing, bad);
  CHECK(r.type == "NotFoundException");
  CHECK(r.message == "Key '" + h.Arn(missing) + "' does not exist");
  CHECK(TagKey(h, h.CreateSymmetricKey(), bad).type == "TagException");
}
