#include "server/protocol/json_io.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <catch2/catch.hpp>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

using kms::server::JsonIn;
using kms::server::JsonOut;
using kms::server::LowerCamel;

namespace {
rapidjson::Document Parse(const char* text) {
  rapidjson::Document d;
  d.Parse(text);
  REQUIRE(!d.HasParseError());
  return d;
}
}  // namespace

TEST_CASE("JsonIn reads typed members and treats null as absent", "[server][json_io]") {
  auto doc = Parse(R"({"KeyId":"abc","N":5,"B":true,"Z":null,"L":["x","y"]})");
  JsonIn in(doc);
  CHECK(in.RequiredString("KeyId").value() == "abc");
  CHECK(in.OptionalInt("N") == 5);
  CHECK(in.OptionalBool("B") == true);
  CHECK_FALSE(in.Has("Z"));
  CHECK_FALSE(in.OptionalString("N").has_value());  // wrong type is never read as a string
  CHECK(in.OptionalStringList("L") == std::vector<std::string_view>{"x", "y"});
}

TEST_CASE("A missing required member is AWS's 'must not be null' validation error",
          "[server][json_io]") {
  auto doc = Parse(R"({})");
  JsonIn in(doc);
  auto r = in.RequiredString("KeyId");
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().Type() == "ValidationException");
  CHECK(r.error().message ==
        "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member "
        "must not be null");
}

TEST_CASE("Blobs are base64-decoded and bad base64 is a SerializationException",
          "[server][json_io]") {
  auto doc = Parse(R"({"Good":"aGVsbG8=","Bad":"!!!!"})");
  JsonIn in(doc);
  auto good = in.RequiredBlob("Good");
  REQUIRE(good.has_value());
  CHECK(std::string(good->begin(), good->end()) == "hello");
  auto secret = in.RequiredSecretBlob("Good");
  REQUIRE(secret.has_value());
  CHECK(secret->size() == 5);
  auto bad = in.RequiredBlob("Bad");
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().Type() == "SerializationException");
  auto absent = in.OptionalBlob("Nope");
  REQUIRE(absent.has_value());
  CHECK_FALSE(absent->has_value());
}

TEST_CASE("String maps read every pair", "[server][json_io]") {
  auto doc = Parse(R"({"EncryptionContext":{"b":"2","a":"1"}})");
  JsonIn in(doc);
  auto ctx = in.OptionalStringMap("EncryptionContext");
  REQUIRE(ctx.has_value());
  CHECK(ctx->size() == 2);
  CHECK(ctx->at("a") == "1");
  auto none = in.OptionalStringMap("Missing");
  REQUIRE(none.has_value());
  CHECK(none->empty());
}

TEST_CASE("JsonOut writes members, blobs as base64 and escapes strings", "[server][json_io]") {
  JsonOut out;
  out.String("KeyId", "a\"b");
  const std::uint8_t bytes[] = {'h', 'i'};
  out.Blob("Blob", bytes);
  out.Int("N", -3);
  out.Bool("Ok", true);
  out.StringList("L", {"x"});
  out.Key("Obj");
  out.StartObject();
  out.String("In", "v");
  out.EndObject();
  CHECK(out.Finish() ==
        R"({"KeyId":"a\"b","Blob":"aGk=","N":-3,"Ok":true,"L":["x"],"Obj":{"In":"v"}})");
}

TEST_CASE("JsonOut writes strings exactly as RapidJSON's writer does", "[server][json_io]") {
  // Strings that need no escaping skip the writer; the output must not change.
  const std::string text = GENERATE(
      std::string(), std::string("plain"), std::string("arn:aws:kms:us-east-1:111122223333:key/x"),
      std::string("quote\"in"), std::string("back\\slash"), std::string("tab\tnew\nline"),
      std::string("ctl\x01\x1f"), std::string("del\x7f"), std::string("caf\xc3\xa9 \xe2\x82\xac"),
      std::string("slash/ok"), std::string("\x80raw"));
  rapidjson::StringBuffer expected_buffer;
  rapidjson::Writer<rapidjson::StringBuffer> expected(expected_buffer);
  expected.StartObject();
  expected.Key(text.data(), static_cast<rapidjson::SizeType>(text.size()));
  expected.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
  expected.Key("List");
  expected.StartArray();
  expected.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
  expected.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
  expected.EndArray();
  expected.EndObject();

  JsonOut out;
  out.String(text, text);
  out.StringList("List", {text, text});
  CHECK(out.Finish() == std::string(expected_buffer.GetString(), expected_buffer.GetSize()));
}

TEST_CASE("LowerCamel lowers only the first letter", "[server][json_io]") {
  CHECK(LowerCamel("NumberOfBytes") == "numberOfBytes");
  CHECK(LowerCamel("KeyId") == "keyId");
  CHECK(LowerCamel("") == "");
}

namespace {
// ParseRequestBody's verdict on `body`: "" when accepted, else the SerializationException text.
std::string ParseError(std::string_view body) {
  rapidjson::Document doc;
  auto parsed = kms::server::ParseRequestBody(body, doc);
  if (parsed) return {};
  CHECK(parsed.error().Type() == "SerializationException");
  return parsed.error().message;
}

// A JSON object of `count` members "m0", "m1", ...; when `repeat` is set, the last member's
// name repeats member `repeat`'s.
std::string WideObject(int count, std::optional<int> repeat = std::nullopt) {
  std::string body = "{";
  for (int i = 0; i < count; ++i) {
    if (i != 0) body += ',';
    const int name = (repeat && i == count - 1) ? *repeat : i;
    body += "\"m" + std::to_string(name) + "\":" + std::to_string(i);
  }
  return body + "}";
}
}  // namespace

TEST_CASE("A request body is one JSON value: only whitespace may follow it",
          "[server][json_io][regression][issue17]") {
  using namespace std::string_literals;
  const std::string kNotSingular = "The document root must not be followed by other values.";
  CHECK(ParseError(R"({"KeyId":"x"})") == "");
  CHECK(ParseError(" \t\r\n{\"KeyId\":\"x\"} \t\r\n") == "");
  const std::string body = GENERATE(R"({"KeyId":"x"})"s + '\0', "{}\0"s, "{}\0junk"s, "{} \0"s,
                                    "{} {}"s, "{}x"s, "{}}"s, "{} ,"s, "{}\f"s);
  INFO(body);
  CHECK(ParseError(body) == kNotSingular);
}

TEST_CASE("A member name repeated in any object of a request is refused",
          "[server][json_io][regression][issue17]") {
  using Case = std::pair<std::string, std::string>;
  const Case c = GENERATE(
      Case{R"({"KeyId":"a","KeyId":"b"})", "KeyId"},
      Case{R"({"KeyId":"a","Plaintext":"eA==","KeyId":"b"})", "KeyId"},
      Case{R"({"a":1,"\u0061":2})", "a"},  // the same name once unescaped
      Case{R"({"EncryptionContext":{"k":"1","k":"2"}})", "k"},
      Case{R"({"Tags":[{"TagKey":"a","TagValue":"1"},{"TagKey":"b","TagKey":"c"}]})", "TagKey"},
      Case{R"({"X":[[{"deep":{"y":1,"z":2,"y":3}}]]})", "y"},
      Case{WideObject(17, 0), "m0"},  // past the pairwise limit: sorted
      Case{WideObject(16, 3), "m3"},  // at it: pairwise
      Case{WideObject(100'000, 99'998), "m99998"});
  INFO(c.first.substr(0, 200));
  CHECK(ParseError(c.first) == "Duplicate member name \"" + c.second + "\" in a JSON object");
}

TEST_CASE("Names that differ only after unescaping or in one byte are distinct",
          "[server][json_io][regression][issue17]") {
  CHECK(ParseError(R"({"a":1,"A":2,"a ":3,"\u0000a":4,"a\u0000":5})") == "");
  CHECK(ParseError(R"({"x":{"a":1},"y":{"a":2},"z":[{"a":1},{"a":2}]})") == "");
  CHECK(ParseError(WideObject(16)) == "");
  CHECK(ParseError(WideObject(17)) == "");
  CHECK(ParseError(WideObject(100'000)) == "");
}

TEST_CASE("FindDuplicateMemberName reports the repeated name of the first offending object",
          "[server][json_io][regression][issue17]") {
  rapidjson::Document doc;
  doc.Parse(R"({"p":{"q":1,"q":2},"r":1,"r":2})");
  REQUIRE_FALSE(doc.HasParseError());
  CHECK(kms::server::FindDuplicateMemberName(doc) == "r");  // the outer object is checked first
  CHECK(kms::server::FindDuplicateMemberName(doc["p"]) == "q");
  rapidjson::Document scalar;
  scalar.Parse("5");
  CHECK_FALSE(kms::server::FindDuplicateMemberName(scalar).has_value());
}
