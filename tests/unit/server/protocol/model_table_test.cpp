// The generated model tables: up to date with the botocore model (via the generator's --check),
// the same 54 operations as tests/data/kms_operations.txt, and internally consistent.
#include "server/protocol/model_table.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <catch2/catch.hpp>

#include "server/protocol/validation.hpp"

namespace kms::server {
namespace {

using model::kTables;
using model::ShapeKind;

std::string SourceDir() {
  const char* dir = std::getenv("KMSD_SOURCE_DIR");  // set by kmsd_add_unit_test
  REQUIRE(dir != nullptr);
  return dir;
}

const model::Shape& ShapeNamed(std::string_view name) {
  const auto it = std::find_if(kTables.shapes.begin(), kTables.shapes.end(),
                               [name](const model::Shape& s) { return s.name == name; });
  REQUIRE(it != kTables.shapes.end());
  return *it;
}

const model::Operation& OperationNamed(std::string_view name) {
  const auto it = std::find_if(kTables.operations.begin(), kTables.operations.end(),
                               [name](const model::Operation& op) { return op.name == name; });
  REQUIRE(it != kTables.operations.end());
  return *it;
}

std::vector<std::string_view> EnumOf(const model::Shape& shape) {
  const auto values = kTables.enum_values.subspan(shape.enum_first, shape.enum_count);
  return {values.begin(), values.end()};
}

std::size_t PatternIndex(std::string_view pattern) {
  const auto it = std::find(kTables.patterns.begin(), kTables.patterns.end(), pattern);
  REQUIRE(it != kTables.patterns.end());
  return static_cast<std::size_t>(it - kTables.patterns.begin());
}

TEST_CASE("model_table.cpp and kms_operations.txt are what the generator writes",
          "[protocol][model]") {
  const std::string command = "python3 \"" + SourceDir() + "/tools/gen_model_table.py\" --check";
  CHECK(std::system(command.c_str()) == 0);
}

TEST_CASE("OperationNames() is the 54 sorted names in tests/data/kms_operations.txt",
          "[protocol][model]") {
  std::ifstream file(SourceDir() + "/tests/data/kms_operations.txt");
  REQUIRE(file.good());
  std::vector<std::string> expected;
  for (std::string line; std::getline(file, line);) expected.push_back(line);

  const auto names = OperationNames();
  REQUIRE(names.size() == 54);
  REQUIRE(expected.size() == names.size());
  CHECK(std::is_sorted(names.begin(), names.end()));
  CHECK(std::adjacent_find(names.begin(), names.end()) == names.end());
  for (std::size_t i = 0; i < names.size(); ++i) {
    CHECK(names[i] == expected[i]);
    CHECK(kTables.operations[i].name == names[i]);
    CHECK(IsKnownOperation(names[i]));
  }
}

TEST_CASE("Every index in the tables points inside its table", "[protocol][model]") {
  CHECK(kTables.model_uid == "kms-2014-11-01");
  CHECK(kTables.model_sha256.size() == 64);
  for (const model::Operation& op : kTables.operations) {
    REQUIRE(op.input < kTables.shapes.size());
    CHECK(kTables.shapes[op.input].kind == ShapeKind::kStructure);
  }
  for (const model::Shape& shape : kTables.shapes) {
    CAPTURE(shape.name);
    CHECK(std::size_t{shape.enum_first} + shape.enum_count <= kTables.enum_values.size());
    CHECK(std::size_t{shape.member_first} + shape.member_count <= kTables.members.size());
    CHECK((shape.pattern == model::kNoPattern || shape.pattern < kTables.patterns.size()));
    CHECK((!shape.has_min || !shape.has_max || shape.min <= shape.max));
    const bool container = shape.kind == ShapeKind::kList || shape.kind == ShapeKind::kMap;
    CHECK((shape.element != model::kNoShape) == container);
    CHECK((shape.key != model::kNoShape) == (shape.kind == ShapeKind::kMap));
    if (container) CHECK(shape.element < kTables.shapes.size());
    if (shape.kind == ShapeKind::kMap) CHECK(shape.key < kTables.shapes.size());
    if (shape.kind != ShapeKind::kStructure) CHECK(shape.member_count == 0);
  }
  for (const model::Member& member : kTables.members) {
    CAPTURE(member.name);
    CHECK(member.shape < kTables.shapes.size());
    REQUIRE(!member.name.empty());
    CHECK(member.camel_name.substr(1) == member.name.substr(1));
    CHECK(member.camel_name[0] ==
          static_cast<char>(std::tolower(static_cast<unsigned char>(member.name[0]))));
  }
}

TEST_CASE("The tables carry the constraints of well-known members", "[protocol][model]") {
  const model::Shape& generate_random = kTables.shapes[OperationNamed("GenerateRandom").input];
  const model::Member& number_of_bytes = kTables.members[generate_random.member_first];
  CHECK(number_of_bytes.name == "NumberOfBytes");
  CHECK(number_of_bytes.camel_name == "numberOfBytes");
  CHECK_FALSE(number_of_bytes.required);
  const model::Shape& nob = kTables.shapes[number_of_bytes.shape];
  CHECK(nob.kind == ShapeKind::kInteger);
  CHECK((nob.has_min && nob.min == 1 && nob.has_max && nob.max == 1024));

  const model::Shape& plaintext = ShapeNamed("PlaintextType");
  CHECK(plaintext.kind == ShapeKind::kBlob);
  CHECK(plaintext.sensitive);
  CHECK((plaintext.min == 1 && plaintext.max == 4096));

  CHECK(EnumOf(ShapeNamed("DataKeySpec")) == std::vector<std::string_view>{"AES_256", "AES_128"});
  CHECK(EnumOf(ShapeNamed("KeySpec")).size() == 17);

  const model::Shape& tag_list = ShapeNamed("TagList");
  CHECK(tag_list.kind == ShapeKind::kList);
  CHECK(kTables.shapes[tag_list.element].name == "Tag");
  const model::Shape& context = ShapeNamed("EncryptionContextType");
  CHECK(context.kind == ShapeKind::kMap);
  CHECK(kTables.shapes[context.key].kind == ShapeKind::kString);
  CHECK(kTables.shapes[context.element].kind == ShapeKind::kString);
}

TEST_CASE("Every model pattern compiles and behaves like Java's", "[protocol][model]") {
  for (std::size_t i = 0; i < kTables.patterns.size(); ++i) {
    CAPTURE(kTables.patterns[i]);
    CHECK_NOTHROW(MatchesModelPattern(i, "x"));
  }
  struct Sample {
    std::string_view pattern;
    std::string_view value;
    bool matches;
  };
  const auto s = GENERATE(values<Sample>({
      {"[0-9]{12}", "111122223333", true},
      {"[0-9]{12}", "11112222333", false},
      {"^[a-zA-Z0-9:/_-]+$", "alias/aws/s3", true},
      {"^[a-zA-Z0-9:/_-]+$", "", false},
      {"[\\u0020-\\u00FF]*", "", true},
      {"[\\u0020-\\u00FF]*", "caf\xc3\xa9 ~", true},
      {"[\\u0020-\\u00FF]*", "tab\t", false},
      {"[\\u0020-\\u00FF]*", "\xe4\xb8\xad", false},
      {"[\\w]+", "default", true},
      {"[\\w]+", "caf\xc3\xa9", false},
      {"^([a-z]+-){2,3}\\d+$", "us-gov-west-1", true},
      {"^([a-z]+-){2,3}\\d+$", "us-east-1a", false},
      {"^[a-zA-Z0-9-_.]+$", "a-b_c.d", true},
      {"^(/[a-zA-Z0-9\\/_-]+/kms/xks/v\\d{1,2})$|^(/kms/xks/v\\d{1,2})$", "/kms/xks/v1", true},
      {"^(/[a-zA-Z0-9\\/_-]+/kms/xks/v\\d{1,2})$|^(/kms/xks/v\\d{1,2})$", "/p/kms/xks/v12", true},
      {"^(/[a-zA-Z0-9\\/_-]+/kms/xks/v\\d{1,2})$|^(/kms/xks/v\\d{1,2})$", "/kms/xks/v123", false},
  }));
  CAPTURE(s.pattern, s.value);
  CHECK(MatchesModelPattern(PatternIndex(s.pattern), s.value) == s.matches);
}

TEST_CASE("The pattern scanner agrees with std::regex on every model pattern",
          "[protocol][model]") {
  // ASCII, the Java \s set, and characters either side of the \u00FF boundary, in 1- to
  // 4-byte UTF-8, plus a stray continuation byte (decoded as U+FFFD by both paths).
  std::vector<std::string> alphabet = {"\t",
                                       "\n",
                                       "\v",
                                       "\f",
                                       "\r",
                                       "\xc3\xa9",          // U+00E9
                                       "\xc3\xbf",          // U+00FF
                                       "\xc4\x80",          // U+0100
                                       "\xe4\xb8\xad",      // U+4E2D
                                       "\xf0\x9f\x98\x80",  // U+1F600
                                       "\x80"};
  for (char c = ' '; c <= '~'; ++c) alphabet.emplace_back(1, c);
  std::mt19937 random(20240607);  // fixed seed: the same strings on every run
  std::uniform_int_distribution<std::size_t> pick(0, alphabet.size() - 1);
  std::uniform_int_distribution<int> length(0, 12);
  for (std::size_t p = 0; p < kTables.patterns.size(); ++p) {
    CAPTURE(kTables.patterns[p]);
    for (int round = 0; round < 3000; ++round) {
      std::string value;
      for (int n = length(random); n > 0; --n) value += alphabet[pick(random)];
      CAPTURE(value);
      REQUIRE(MatchesModelPattern(p, value) == MatchesModelPatternWithRegex(p, value));
    }
    // And the examples that are supposed to match, which random strings rarely hit.
    for (const std::string_view value :
         {"111122223333", "alias/a_b-c:d", "0123abcdef", "cluster-234567abcde", "a b\tc.d-e",
          "default", "arn:aws:iam::111122223333:role/r", "us-west-2", "AKIA234567ABCDEFGHIJ",
          "https://example.com", "/kms/xks/v1", "com.amazonaws.vpce.us-east-1.vpce-svc-0abc"}) {
      CAPTURE(value);
      REQUIRE(MatchesModelPattern(p, value) == MatchesModelPatternWithRegex(p, value));
    }
  }
}

}  // namespace
}  // namespace kms::server
