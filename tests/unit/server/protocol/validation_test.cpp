// Request validation against the botocore KMS model: AWS's exact ValidationException texts,
// SerializationException for wrong JSON types, and the rules AWS applies (null = absent,
// unknown members ignored, violations in model member order).
#include "server/protocol/validation.hpp"

#include <string>
#include <string_view>

#include <catch2/catch.hpp>
#include <rapidjson/document.h>

#include "server/protocol/model_table.hpp"

namespace kms::server {
namespace {

using Kind = RequestCheck::Kind;

RequestCheck Check(std::string_view operation, const std::string& json) {
  rapidjson::Document doc;
  doc.Parse(json.c_str(), json.size());
  REQUIRE_FALSE(doc.HasParseError());
  return CheckRequest(operation, doc);
}

std::string One(std::string_view violation) {
  return "1 validation error detected: " + std::string(violation);
}

// A base64 string that decodes to exactly `bytes` bytes (padded as AWS clients send it).
std::string Base64OfSize(std::size_t bytes) {
  std::string s((bytes + 2) / 3 * 4, 'A');
  if (bytes % 3 == 1) s.replace(s.size() - 2, 2, "==");
  if (bytes % 3 == 2) s.back() = '=';
  return s;
}

constexpr std::string_view kKeyId = R"("KeyId":"1234abcd-12ab-34cd-56ef-1234567890ab")";

TEST_CASE("GenerateRandom with NumberOfBytes 0 gives AWS's exact range message",
          "[protocol][validation]") {
  const auto check = Check("GenerateRandom", R"({"NumberOfBytes":0})");
  CHECK(check.kind == Kind::kValidation);
  CHECK(check.message ==
        One("Value '0' at 'numberOfBytes' failed to satisfy constraint: Member must have value "
            "greater than or equal to 1"));
}

TEST_CASE("GenerateRandom with NumberOfBytes 1025 breaks the upper bound",
          "[protocol][validation]") {
  const auto check = Check("GenerateRandom", R"({"NumberOfBytes":1025})");
  CHECK(check.kind == Kind::kValidation);
  CHECK(check.message ==
        One("Value '1025' at 'numberOfBytes' failed to satisfy constraint: Member must have value "
            "less than or equal to 1024"));
}

TEST_CASE("GenerateRandom accepts the bounds and an empty body", "[protocol][validation]") {
  const int n = GENERATE(1, 512, 1024);
  const auto check = Check("GenerateRandom", "{\"NumberOfBytes\":" + std::to_string(n) + "}");
  CHECK(check.kind == Kind::kOk);
  CHECK(check.message.empty());
  CHECK(Check("GenerateRandom", "{}").kind == Kind::kOk);
}

TEST_CASE("Encrypt plaintext length uses decoded bytes and hides the sensitive value",
          "[protocol][validation]") {
  const auto body = [](std::size_t bytes) {
    return "{" + std::string(kKeyId) + R"(,"Plaintext":")" + Base64OfSize(bytes) + "\"}";
  };
  SECTION("4097 bytes is too long") {
    const auto check = Check("Encrypt", body(4097));
    CHECK(check.kind == Kind::kValidation);
    CHECK(check.message ==
          One("Value at 'plaintext' failed to satisfy constraint: Member must have length less "
              "than or equal to 4096"));
  }
  SECTION("an empty plaintext is too short") {
    const auto check = Check("Encrypt", body(0));
    CHECK(check.message ==
          One("Value at 'plaintext' failed to satisfy constraint: Member must have length greater "
              "than or equal to 1"));
  }
  SECTION("1, 4095 and 4096 bytes are fine") {
    const std::size_t bytes = GENERATE(1U, 2U, 3U, 4095U, 4096U);
    CHECK(Check("Encrypt", body(bytes)).kind == Kind::kOk);
  }
  SECTION("unpadded base64 counts the same") {
    const std::string unpadded(5462, 'A');  // 4096 bytes: 1365 quads + 2 chars
    CHECK(
        Check("Encrypt", "{" + std::string(kKeyId) + R"(,"Plaintext":")" + unpadded + "\"}").kind ==
        Kind::kOk);
    const std::string unpadded_long(5463, 'A');  // 4097 bytes
    CHECK(Check("Encrypt", "{" + std::string(kKeyId) + R"(,"Plaintext":")" + unpadded_long + "\"}")
              .kind == Kind::kValidation);
  }
}

TEST_CASE("TagResource reports a long tag key at tags.N.member.tagKey", "[protocol][validation]") {
  const std::string long_key(129, 'k');
  const auto check = Check("TagResource", "{" + std::string(kKeyId) +
                                              R"(,"Tags":[{"TagKey":"ok","TagValue":"v"},)"
                                              R"({"TagKey":")" +
                                              long_key + R"(","TagValue":"v"}]})");
  CHECK(check.kind == Kind::kValidation);
  CHECK(check.message == One("Value '" + long_key +
                             "' at 'tags.2.member.tagKey' failed to satisfy constraint: Member "
                             "must have length less than or equal to 128"));

  const auto first = Check("TagResource", "{" + std::string(kKeyId) + R"(,"Tags":[{"TagKey":")" +
                                              long_key + R"(","TagValue":"v"}]})");
  CHECK(first.message == One("Value '" + long_key +
                             "' at 'tags.1.member.tagKey' failed to satisfy constraint: Member "
                             "must have length less than or equal to 128"));
}

TEST_CASE("A missing required member inside a list element is reported with its path",
          "[protocol][validation]") {
  const auto check =
      Check("TagResource", "{" + std::string(kKeyId) + R"(,"Tags":[{"TagKey":"a"}]})");
  CHECK(check.message ==
        One("Value null at 'tags.1.member.tagValue' failed to satisfy constraint: Member must not "
            "be null"));
  const auto null_element = Check("TagResource", "{" + std::string(kKeyId) + R"(,"Tags":[null]})");
  CHECK(null_element.message ==
        One("Value null at 'tags.1.member' failed to satisfy constraint: Member must not be "
            "null"));
}

TEST_CASE("CreateKey with an unknown KeySpec lists the model's enum values in model order",
          "[protocol][validation]") {
  const auto check = Check("CreateKey", R"({"KeySpec":"HMAC_random"})");
  CHECK(check.kind == Kind::kValidation);
  CHECK(check.message ==
        One("Value 'HMAC_random' at 'keySpec' failed to satisfy constraint: Member must satisfy "
            "enum value set: [RSA_2048, RSA_3072, RSA_4096, ECC_NIST_P256, ECC_NIST_P384, "
            "ECC_NIST_P521, ECC_SECG_P256K1, SYMMETRIC_DEFAULT, HMAC_224, HMAC_256, HMAC_384, "
            "HMAC_512, SM2, ML_DSA_44, ML_DSA_65, ML_DSA_87, ECC_NIST_EDWARDS25519]"));
}

TEST_CASE("GenerateMac lists MacAlgorithmSpec in the order AWS sends it",
          "[protocol][validation]") {
  const auto check = Check(
      "GenerateMac", "{" + std::string(kKeyId) + R"(,"Message":"AA==","MacAlgorithm":"HMAC"})");
  CHECK(check.message ==
        One("Value 'HMAC' at 'macAlgorithm' failed to satisfy constraint: Member must satisfy "
            "enum value set: [HMAC_SHA_384, HMAC_SHA_256, HMAC_SHA_224, HMAC_SHA_512]"));
}

TEST_CASE("Enum values are case-sensitive", "[protocol][validation]") {
  CHECK(Check("CreateKey", R"({"KeyUsage":"ENCRYPT_DECRYPT"})").kind == Kind::kOk);
  const auto check = Check("CreateKey", R"({"KeyUsage":"encrypt_decrypt"})");
  CHECK(check.message ==
        One("Value 'encrypt_decrypt' at 'keyUsage' failed to satisfy constraint: Member must "
            "satisfy enum value set: [SIGN_VERIFY, ENCRYPT_DECRYPT, GENERATE_VERIFY_MAC, "
            "KEY_AGREEMENT]"));
}

TEST_CASE("A missing required member is 'Value null ... must not be null'",
          "[protocol][validation]") {
  const auto check = Check("DescribeKey", "{}");
  CHECK(check.kind == Kind::kValidation);
  CHECK(check.message ==
        One("Value null at 'keyId' failed to satisfy constraint: Member must not be null"));
}

TEST_CASE("A JSON null counts as absent", "[protocol][validation]") {
  CHECK(Check("DescribeKey", R"({"KeyId":null})").message ==
        One("Value null at 'keyId' failed to satisfy constraint: Member must not be null"));
  CHECK(Check("GenerateRandom", R"({"NumberOfBytes":null})").kind == Kind::kOk);
  CHECK(Check("CreateKey", R"({"Tags":null,"KeySpec":null,"MultiRegion":null})").kind == Kind::kOk);
}

TEST_CASE("Several violations are joined in model member order", "[protocol][validation]") {
  // Sign members in model order: KeyId, Message, MessageType, GrantTokens, SigningAlgorithm.
  const auto check = Check("Sign", R"({"SigningAlgorithm":"MD5","MessageType":"RAWR","KeyId":""})");
  CHECK(check.kind == Kind::kValidation);
  CHECK(check.message ==
        "4 validation errors detected: "
        "Value '' at 'keyId' failed to satisfy constraint: Member must have length greater than "
        "or equal to 1; "
        "Value null at 'message' failed to satisfy constraint: Member must not be null; "
        "Value 'RAWR' at 'messageType' failed to satisfy constraint: Member must satisfy enum "
        "value set: [RAW, DIGEST, EXTERNAL_MU]; "
        "Value 'MD5' at 'signingAlgorithm' failed to satisfy constraint: Member must satisfy enum "
        "value set: [RSASSA_PSS_SHA_256, RSASSA_PSS_SHA_384, RSASSA_PSS_SHA_512, "
        "RSASSA_PKCS1_V1_5_SHA_256, RSASSA_PKCS1_V1_5_SHA_384, RSASSA_PKCS1_V1_5_SHA_512, "
        "ECDSA_SHA_256, ECDSA_SHA_384, ECDSA_SHA_512, SM2DSA, ML_DSA_SHAKE_256, ED25519_SHA_512, "
        "ED25519_PH_SHA_512]");
}

TEST_CASE("One value can break length and pattern at once", "[protocol][validation]") {
  // AliasNameType: length 1-256, pattern ^[a-zA-Z0-9:/_-]+$
  const auto check = Check("DeleteAlias", R"({"AliasName":""})");
  CHECK(check.message ==
        "2 validation errors detected: "
        "Value '' at 'aliasName' failed to satisfy constraint: Member must have length greater "
        "than or equal to 1; "
        "Value '' at 'aliasName' failed to satisfy constraint: Member must satisfy regular "
        "expression pattern: ^[a-zA-Z0-9:/_-]+$");
}

TEST_CASE("Patterns are full matches, in the model's spelling", "[protocol][validation]") {
  CHECK(Check("DeleteAlias", R"({"AliasName":"alias/my-key_1:x"})").kind == Kind::kOk);
  CHECK(Check("DeleteAlias", R"({"AliasName":"alias/has space"})").message ==
        One("Value 'alias/has space' at 'aliasName' failed to satisfy constraint: Member must "
            "satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$"));
  CHECK(Check("UpdatePrimaryRegion", "{" + std::string(kKeyId) + R"(,"PrimaryRegion":"eu-west-2"})")
            .kind == Kind::kOk);
  CHECK(
      Check("UpdatePrimaryRegion", "{" + std::string(kKeyId) + R"(,"PrimaryRegion":"eu-west-2x"})")
          .message ==
      One("Value 'eu-west-2x' at 'primaryRegion' failed to satisfy constraint: Member must "
          "satisfy regular expression pattern: ^([a-z]+-){2,3}\\d+$"));
  CHECK(Check("GetKeyPolicy", "{" + std::string(kKeyId) + R"(,"PolicyName":"default"})").kind ==
        Kind::kOk);
  CHECK(Check("GetKeyPolicy", "{" + std::string(kKeyId) + R"(,"PolicyName":"de-fault"})").message ==
        One("Value 'de-fault' at 'policyName' failed to satisfy constraint: Member must satisfy "
            "regular expression pattern: [\\w]+"));
}

TEST_CASE("Java \\u ranges in patterns see code points, not UTF-8 bytes",
          "[protocol][validation]") {
  // PolicyType: [\u0009\u000A\u000D\u0020-\u00FF]+ ; "é" is U+00E9 (in), "中" is U+4E2D (out).
  const std::string ok = "{" + std::string(kKeyId) + R"(,"Policy":"{\"a\":\"caf\u00e9\"}\n"})";
  CHECK(Check("PutKeyPolicy", ok).kind == Kind::kOk);
  const auto check = Check("PutKeyPolicy", "{" + std::string(kKeyId) + R"(,"Policy":"\u4e2d"})");
  CHECK(check.kind == Kind::kValidation);
  CHECK(check.message ==
        One("Value '\xe4\xb8\xad' at 'policy' failed to satisfy constraint: Member must satisfy "
            "regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u00FF]+"));
}

TEST_CASE("A maximum-size policy is matched without exhausting the stack",
          "[protocol][validation]") {
  std::string policy(131072, 'a');
  CHECK(Check("PutKeyPolicy", "{" + std::string(kKeyId) + R"(,"Policy":")" + policy + "\"}").kind ==
        Kind::kOk);
  policy += 'a';
  CHECK(Check("PutKeyPolicy", "{" + std::string(kKeyId) + R"(,"Policy":")" + policy + "\"}")
            .message ==
        One("Value '" + policy +
            "' at 'policy' failed to satisfy constraint: Member must have length less than or "
            "equal to 131072"));
}

TEST_CASE("String lengths count code points", "[protocol][validation]") {
  // TagKeyType max 128: 128 three-byte characters are fine, 129 are not.
  std::string key;
  for (int i = 0; i < 128; ++i) key += "\xe4\xb8\xad";
  const auto body = [](const std::string& k) {
    return "{" + std::string(kKeyId) + R"(,"Tags":[{"TagKey":")" + k + R"(","TagValue":""}]})";
  };
  CHECK(Check("TagResource", body(key)).kind == Kind::kOk);
  CHECK(Check("TagResource", body(key + "\xe4\xb8\xad")).kind == Kind::kValidation);
}

TEST_CASE("Sensitive strings are not echoed", "[protocol][validation]") {
  // KeyStorePasswordType: sensitive, length 7-32.
  const auto check =
      Check("UpdateCustomKeyStore", R"({"CustomKeyStoreId":"cks-1","KeyStorePassword":"short"})");
  CHECK(check.message ==
        One("Value at 'keyStorePassword' failed to satisfy constraint: Member must have length "
            "greater than or equal to 7"));
}

TEST_CASE("Nested structures use dotted paths", "[protocol][validation]") {
  const auto check = Check(
      "CreateCustomKeyStore",
      R"({"CustomKeyStoreName":"s","XksProxyAuthenticationCredential":{"AccessKeyId":"abc"}})");
  CHECK(check.message ==
        "3 validation errors detected: "
        "Value at 'xksProxyAuthenticationCredential.accessKeyId' failed to satisfy constraint: "
        "Member must have length greater than or equal to 20; "
        "Value at 'xksProxyAuthenticationCredential.accessKeyId' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: ^[A-Z2-7]+$; "
        "Value null at 'xksProxyAuthenticationCredential.rawSecretAccessKey' failed to satisfy "
        "constraint: Member must not be null");
}

TEST_CASE("List length is checked without echoing the list", "[protocol][validation]") {
  std::string tokens = "[";
  for (int i = 0; i < 11; ++i) tokens += std::string(i == 0 ? "" : ",") + "\"t\"";
  tokens += "]";
  const auto check =
      Check("DescribeKey", "{" + std::string(kKeyId) + R"(,"GrantTokens":)" + tokens + "}");
  CHECK(check.message ==
        One("Value at 'grantTokens' failed to satisfy constraint: Member must have length less "
            "than or equal to 10"));
}

TEST_CASE("Elements of a scalar list are reported once, Coral style", "[protocol][validation]") {
  const auto check =
      Check("CreateGrant", "{" + std::string(kKeyId) +
                               R"(,"GranteePrincipal":"arn:aws:iam::111122223333:root",)"
                               R"("Operations":["Encrypt","Fly","Swim"],"GrantTokens":["",null]})");
  CHECK(check.message ==
        "2 validation errors detected: "
        "Value '[Encrypt, Fly, Swim]' at 'operations' failed to satisfy constraint: Member must "
        "satisfy constraint: [Member must satisfy enum value set: [Decrypt, Encrypt, "
        "GenerateDataKey, GenerateDataKeyWithoutPlaintext, ReEncryptFrom, ReEncryptTo, Sign, "
        "Verify, GetPublicKey, CreateGrant, RetireGrant, DescribeKey, GenerateDataKeyPair, "
        "GenerateDataKeyPairWithoutPlaintext, GenerateMac, VerifyMac, DeriveSharedSecret]]; "
        "Value '[, null]' at 'grantTokens' failed to satisfy constraint: Member must satisfy "
        "constraint: [Member must have length greater than or equal to 1, Member must not be "
        "null]");
}

TEST_CASE("Map values keep the key in the path", "[protocol][validation]") {
  const auto check = Check("Encrypt", "{" + std::string(kKeyId) +
                                          R"(,"Plaintext":"AA==","EncryptionContext":{"k":null}})");
  CHECK(check.message ==
        One("Value null at 'encryptionContext.k' failed to satisfy constraint: Member must not "
            "be null"));
}

TEST_CASE("Unknown members are ignored", "[protocol][validation]") {
  CHECK(Check("GenerateRandom", R"({"Bogus":[1,{"x":2}],"NumberOfBytes":16,"keyid":7})").kind ==
        Kind::kOk);
  CHECK(Check("TagResource",
              "{" + std::string(kKeyId) + R"(,"Tags":[{"TagKey":"a","TagValue":"b","Extra":1}]})")
            .kind == Kind::kOk);
}

TEST_CASE("A wrong JSON type is a serialization error", "[protocol][validation]") {
  struct Case {
    std::string_view operation;
    std::string body;
    std::string_view message;
  };
  const std::string key(kKeyId);
  const auto c = GENERATE_COPY(
      Case{"DescribeKey", R"({"KeyId":5})", "NUMBER_VALUE can not be converted to a String"},
      Case{"DescribeKey", R"({"KeyId":true})", "TRUE_VALUE can not be converted to a String"},
      Case{"DescribeKey", R"({"KeyId":false})", "FALSE_VALUE can not be converted to a String"},
      Case{"DescribeKey", R"({"KeyId":{"a":1}})",
           "Start of structure or map found where not expected."},
      Case{"DescribeKey", R"({"KeyId":["a"]})", "Start of list found where not expected"},
      Case{"GenerateRandom", R"({"NumberOfBytes":"16"})",
           "STRING_VALUE can not be converted to an Integer"},
      Case{"GenerateRandom", R"({"NumberOfBytes":1.5})",
           "NUMBER_VALUE can not be converted to an Integer"},
      Case{"GenerateRandom", R"({"NumberOfBytes":2147483648})",
           "NUMBER_VALUE can not be converted to an Integer"},
      Case{"GenerateRandom", R"({"NumberOfBytes":true})",
           "TRUE_VALUE can not be converted to an Integer"},
      Case{"CreateKey", R"({"MultiRegion":"true"})",
           "STRING_VALUE can not be converted to a Boolean"},
      Case{"CreateKey", R"({"MultiRegion":1})", "NUMBER_VALUE can not be converted to a Boolean"},
      Case{"ImportKeyMaterial", R"({"ValidTo":"2030-01-01"})",
           "STRING_VALUE can not be converted to a Timestamp"},
      Case{"Encrypt", "{" + key + R"(,"Plaintext":12})",
           "NUMBER_VALUE can not be converted to a Blob"},
      Case{"CreateKey", R"({"Tags":{"TagKey":"a"}})",
           "Start of structure or map found where not expected."},
      Case{"CreateKey", R"({"Tags":"a"})", "STRING_VALUE can not be converted to a List"},
      Case{"CreateKey", R"({"Tags":["a"]})", "STRING_VALUE can not be converted to a Structure"},
      Case{"Encrypt", "{" + key + R"(,"EncryptionContext":["a"]})",
           "Start of list found where not expected"},
      Case{"Encrypt", "{" + key + R"(,"EncryptionContext":{"a":1}})",
           "NUMBER_VALUE can not be converted to a String"},
      Case{"DescribeKey", "{" + key + R"(,"GrantTokens":[1]})",
           "NUMBER_VALUE can not be converted to a String"},
      Case{"DescribeKey", "[]", "Start of list found where not expected"},
      Case{"DescribeKey", "\"x\"", "STRING_VALUE can not be converted to a Structure"},
      Case{"DescribeKey", "null", "NULL_VALUE can not be converted to a Structure"});
  CAPTURE(c.operation, c.body);
  const auto check = Check(c.operation, c.body);
  CHECK(check.kind == Kind::kSerialization);
  CHECK(check.message == c.message);
}

TEST_CASE("A serialization error wins over earlier constraint violations",
          "[protocol][validation]") {
  // KeyId (first in model order) is too short, Plaintext (second) has the wrong type.
  const auto check = Check("Encrypt", R"({"KeyId":"","Plaintext":7})");
  CHECK(check.kind == Kind::kSerialization);
  CHECK(check.message == "NUMBER_VALUE can not be converted to a Blob");
}

TEST_CASE("Timestamps accept integer and fractional epoch seconds", "[protocol][validation]") {
  const std::string base = "{" + std::string(kKeyId) + R"(,"ImportToken":"AA==",)" +
                           R"("EncryptedKeyMaterial":"AA==","ValidTo":)";
  CHECK(Check("ImportKeyMaterial", base + "1700000000}").kind == Kind::kOk);
  CHECK(Check("ImportKeyMaterial", base + "1700000000.5}").kind == Kind::kOk);
}

TEST_CASE("Valid requests for several operations pass", "[protocol][validation]") {
  const std::string key(kKeyId);
  const auto [operation, body] = GENERATE_COPY(table<std::string_view, std::string>({
      {"CreateKey", "{}"},
      {"CreateKey", R"({"Description":"d","KeyUsage":"SIGN_VERIFY","KeySpec":"ECC_NIST_P256",)"
                    R"("Tags":[{"TagKey":"a","TagValue":""}],"MultiRegion":false,)"
                    R"("BypassPolicyLockoutSafetyCheck":true})"},
      {"Encrypt", "{" + key + R"(,"Plaintext":"aGVsbG8=","EncryptionContext":{"a":"b"},)" +
                      R"("EncryptionAlgorithm":"SYMMETRIC_DEFAULT","GrantTokens":["t"]})"},
      {"Decrypt", R"({"CiphertextBlob":"AQID"})"},
      {"GenerateDataKey", "{" + key + R"(,"KeySpec":"AES_256"})"},
      {"GenerateDataKeyPair", "{" + key + R"(,"KeyPairSpec":"RSA_2048"})"},
      {"ScheduleKeyDeletion", "{" + key + R"(,"PendingWindowInDays":7})"},
      {"CreateAlias", R"({"AliasName":"alias/test","TargetKeyId":"k"})"},
      {"CreateGrant", "{" + key + R"(,"GranteePrincipal":"arn:aws:iam::111122223333:role/r",)" +
                          R"("Operations":["Encrypt","Decrypt"],)" +
                          R"("Constraints":{"EncryptionContextSubset":{"a":"b"}}})"},
      {"ListKeys", R"({"Limit":100,"Marker":"abc"})"},
      {"EnableKeyRotation", "{" + key + R"(,"RotationPeriodInDays":365})"},
      {"ReplicateKey", "{" + key + R"(,"ReplicaRegion":"us-west-2"})"},
      {"Verify", "{" + key + R"(,"Message":"AA==","Signature":"AA==",)" +
                     R"("SigningAlgorithm":"ECDSA_SHA_256","MessageType":"DIGEST"})"},
  }));
  CAPTURE(operation, body);
  const auto check = Check(operation, body);
  CHECK(check.message.empty());
  CHECK(check.kind == Kind::kOk);
}

TEST_CASE("Unknown operations are reported as such", "[protocol][validation]") {
  rapidjson::Document doc;
  doc.Parse("{}");
  CHECK(CheckRequest("Encrypt2", doc).kind == Kind::kUnknownOperation);
  CHECK(CheckRequest("encrypt", doc).kind == Kind::kUnknownOperation);
  CHECK(CheckRequest("", doc).kind == Kind::kUnknownOperation);
  CHECK(CheckRequest("TrentService.Encrypt", doc).kind == Kind::kUnknownOperation);
  CHECK_FALSE(IsKnownOperation("Encrypt2"));
  CHECK(IsKnownOperation("Encrypt"));
  CHECK(IsKnownOperation("CancelKeyDeletion"));
  CHECK(IsKnownOperation("VerifyMac"));
}

}  // namespace
}  // namespace kms::server
