// Tests for server/ops/import.cpp: CreateKey with Origin EXTERNAL, GetParametersForImport,
// ImportKeyMaterial, DeleteImportedKeyMaterial and the expiry of imported material, through the
// dispatcher. Material is wrapped on the test's side with crypto::WrapKeyMaterial, as a client
// does with GetParametersForImport's public key (crypto/key_wrap_test.cpp checks that scheme
// against Python's `cryptography`).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <catch2/catch.hpp>

#include "crypto/base64.hpp"
#include "crypto/bytes.hpp"
#include "crypto/hmac.hpp"
#include "crypto/key_pair.hpp"
#include "crypto/key_wrap.hpp"
#include "crypto/random.hpp"
#include "crypto/signature.hpp"
#include "storage/key_usage_tracker.hpp"
#include "storage/sqlite_store.hpp"
#include "tests/unit/server/ops/op_harness.hpp"
#include "tests/unit/storage/faulty_store.hpp"

namespace {

using namespace kms::testing;
using kms::crypto::Bytes;
using kms::crypto::KeyWrapScheme;

// CreateKey with Origin EXTERNAL; returns the key id.
std::string CreateExternal(OpHarness& h, std::string_view spec = "SYMMETRIC_DEFAULT",
                           std::string_view usage = {}, std::string_view region = {}) {
  kms::server::JsonOut body;
  body.String("Origin", "EXTERNAL");
  if (spec != "SYMMETRIC_DEFAULT") body.String("KeySpec", spec);
  if (!usage.empty()) body.String("KeyUsage", usage);
  CallResult r = h.Call("CreateKey", body.Finish(), region);
  REQUIRE(r.status == 200);
  return r.json["KeyMetadata"]["KeyId"].GetString();
}

std::string ParamsBody(std::string_view key_ref, std::string_view algorithm,
                       std::string_view spec) {
  kms::server::JsonOut out;
  out.String("KeyId", key_ref);
  out.String("WrappingAlgorithm", algorithm);
  out.String("WrappingKeySpec", spec);
  return out.Finish();
}

// A GetParametersForImport result: the token (base64, as sent back) and the public key.
struct Params {
  std::string token;
  kms::crypto::Pkey public_key;
  std::int64_t valid_to = 0;
};

Params GetParams(OpHarness& h, std::string_view key_ref,
                 std::string_view algorithm = "RSAES_OAEP_SHA_256",
                 std::string_view spec = "RSA_2048", std::string_view region = {}) {
  CallResult r = h.Call("GetParametersForImport", ParamsBody(key_ref, algorithm, spec), region);
  REQUIRE(r.status == 200);
  auto public_key = kms::crypto::ParsePublicKey(Decoded(r, "PublicKey"));
  REQUIRE(public_key);
  return {r.Str("ImportToken"), std::move(*public_key), r.json["ParametersValidTo"].GetInt64()};
}

// `material` wrapped under the parameters' public key with `scheme`, base64.
std::string Wrapped(const Params& p, KeyWrapScheme scheme, kms::crypto::ByteView material) {
  auto wrapped = kms::crypto::WrapKeyMaterial(p.public_key.get(), scheme, material);
  REQUIRE(wrapped);
  return kms::crypto::Base64Encode(*wrapped);
}

// An ImportKeyMaterial body; `extra` is raw members appended (e.g. "\"ImportType\":\"...\"").
// Without `extra`, the material does not expire.
std::string ImportBody(
    std::string_view key_ref, std::string_view token, std::string_view wrapped_b64,
    std::string_view extra = R"("ExpirationModel":"KEY_MATERIAL_DOES_NOT_EXPIRE")") {
  kms::server::JsonOut out;
  out.String("KeyId", key_ref);
  out.String("ImportToken", token);
  out.String("EncryptedKeyMaterial", wrapped_b64);
  return WithMembers(out.Finish(), extra);
}

// GetParametersForImport, wrap, ImportKeyMaterial: the whole client side of an import.
CallResult Import(OpHarness& h, std::string_view key_id, kms::crypto::ByteView material,
                  std::string_view extra = R"("ExpirationModel":"KEY_MATERIAL_DOES_NOT_EXPIRE")",
                  std::string_view algorithm = "RSAES_OAEP_SHA_256",
                  KeyWrapScheme scheme = KeyWrapScheme::kRsaOaepSha256) {
  const Params p = GetParams(h, key_id, algorithm);
  return h.Call("ImportKeyMaterial",
                ImportBody(key_id, p.token, Wrapped(p, scheme, material), extra));
}

Bytes Secret(std::size_t n, std::uint8_t seed = 1) {
  Bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(seed + i * 13);
  return b;
}

CallResult Describe(OpHarness& h, std::string_view key_ref) {
  return h.Call("DescribeKey", KeyIdBody(key_ref));
}

std::string State(OpHarness& h, std::string_view key_ref) {
  CallResult d = Describe(h, key_ref);
  REQUIRE(d.status == 200);
  return d.json["KeyMetadata"]["KeyState"].GetString();
}

std::string EncryptBody(std::string_view key_ref, std::string_view plaintext_b64 = "aGVsbG8=") {
  return R"({"KeyId":")" + std::string(key_ref) + R"(","Plaintext":")" +
         std::string(plaintext_b64) + R"("})";
}

std::string EncryptOk(OpHarness& h, std::string_view key_ref) {
  CallResult r = h.Call("Encrypt", EncryptBody(key_ref));
  REQUIRE(r.status == 200);
  return r.Str("CiphertextBlob");
}

void CheckPendingImport(OpHarness& h, const std::string& id) {
  CallResult r = h.Call("Encrypt", EncryptBody(id));
  CHECK(r.status == 400);
  CHECK(r.type == "KMSInvalidStateException");
  CHECK(r.message == h.Arn(id) + " is pending import.");
}

std::string AwsKmsKey(OpHarness& h) { return h.CreateSymmetricKey(); }

}  // namespace

// --- CreateKey ------------------------------------------------------------------------------

TEST_CASE("CreateKey with Origin EXTERNAL makes a disabled key pending import, without material",
          "[ops][import]") {
  OpHarness h;
  const auto [spec, usage] = GENERATE(table<std::string, std::string>({
      {"SYMMETRIC_DEFAULT", ""},
      {"HMAC_256", "GENERATE_VERIFY_MAC"},
      {"RSA_2048", "ENCRYPT_DECRYPT"},
      {"ECC_NIST_P256", "SIGN_VERIFY"},
      {"SM2", "SIGN_VERIFY"},
  }));
  const std::string id = CreateExternal(h, spec, usage);
  CallResult d = Describe(h, id);
  REQUIRE(d.status == 200);
  const auto& m = d.json["KeyMetadata"];
  CHECK(std::string(m["Origin"].GetString()) == "EXTERNAL");
  CHECK(std::string(m["KeyState"].GetString()) == "PendingImport");
  CHECK_FALSE(m["Enabled"].GetBool());
  CHECK(std::string(m["KeySpec"].GetString()) == spec);
  CHECK_FALSE(m.HasMember("ExpirationModel"));
  CHECK_FALSE(m.HasMember("ValidTo"));
  CHECK_FALSE(m.HasMember("CurrentKeyMaterialId"));
  const auto key = h.registry().FindKey(kUsEast, id);
  REQUIRE(key != nullptr);
  CHECK(key->materials.empty());
  CHECK(key->current_material_version == 0);
}

TEST_CASE("An EXTERNAL key without material refuses cryptography and EnableKey as pending import",
          "[ops][import]") {
  OpHarness h;
  const std::string id = CreateExternal(h);
  CheckPendingImport(h, id);
  CallResult g = h.Call("GenerateDataKey", R"({"KeyId":")" + id + R"(","KeySpec":"AES_256"})");
  CHECK(g.type == "KMSInvalidStateException");
  CallResult e = h.Call("EnableKey", KeyIdBody(id));
  CHECK(e.type == "KMSInvalidStateException");
  CHECK(e.message == h.Arn(id) + " is pending import.");
}

// --- GetParametersForImport -----------------------------------------------------------------

TEST_CASE("GetParametersForImport returns the key ARN, a token, an RSA public key and 24 hours",
          "[ops][import]") {
  OpHarness h;
  const std::string id = CreateExternal(h);
  const auto [spec, bits] =
      GENERATE(table<std::string, int>({{"RSA_2048", 2048}, {"RSA_3072", 3072}}));
  const std::string ref = RefOf(h, GENERATE(as<std::string>{}, "key id", "key ARN"), id);
  CallResult r = h.Call("GetParametersForImport", ParamsBody(ref, "RSAES_OAEP_SHA_256", spec));
  REQUIRE(r.status == 200);
  CHECK(r.Str("KeyId") == h.Arn(id));
  CHECK(r.json["ParametersValidTo"].GetInt64() == kStart + kDay);
  CHECK_FALSE(Decoded(r, "ImportToken").empty());
  auto public_key = kms::crypto::ParsePublicKey(Decoded(r, "PublicKey"));
  REQUIRE(public_key);
  CHECK(kms::crypto::KeyBits(public_key->get()) == bits);

  // The private half is kept, durable, on the key.
  const auto key = h.registry().FindKey(kUsEast, id);
  REQUIRE(key->import_params.size() == 1);
  CHECK(key->import_params[0].valid_to == kStart + kDay);
  auto private_key = kms::crypto::ParsePrivateKey(key->import_params[0].private_key);
  REQUIRE(private_key);
  CHECK(kms::crypto::PublicKeyDer(private_key->get()).value() == Decoded(r, "PublicKey"));
}

TEST_CASE("GetParametersForImport on an AWS_KMS key is UnsupportedOperationException",
          "[ops][import]") {
  OpHarness h;
  const std::string id = AwsKmsKey(h);
  CallResult r = h.Call("GetParametersForImport", ParamsBody(id, "RSAES_OAEP_SHA_256", "RSA_2048"));
  CHECK(r.status == 400);
  CHECK(r.type == "UnsupportedOperationException");
  CHECK(r.message == h.Arn(id) + " origin is AWS_KMS which is not valid for this operation.");
}

TEST_CASE("GetParametersForImport checks the key first: missing, alias, pending deletion",
          "[ops][import]") {
  OpHarness h;
  const std::string missing = "11111111-2222-4333-8444-555555555555";
  CallResult r =
      h.Call("GetParametersForImport", ParamsBody(missing, "RSAES_PKCS1_V1_5", "RSA_2048"));
  CHECK(r.type == "NotFoundException");
  CHECK(r.message == "Key '" + h.Arn(missing) + "' does not exist");

  const std::string id = CreateExternal(h);
  h.CreateAlias("alias/imported", id);
  r = h.Call("GetParametersForImport",
             ParamsBody("alias/imported", "RSAES_OAEP_SHA_1", "RSA_2048"));
  CHECK(r.type == "NotFoundException");
  CHECK(r.message == "Invalid keyId 'alias/imported'");

  h.ScheduleDeletion(id);
  r = h.Call("GetParametersForImport", ParamsBody(id, "RSAES_OAEP_SHA_1", "RSA_2048"));
  CHECK(r.type == "KMSInvalidStateException");
  CHECK(r.message == h.Arn(id) + " is pending deletion.");
}

TEST_CASE("GetParametersForImport refuses wrapping combinations AWS does not support",
          "[ops][import]") {
  OpHarness h;
  const std::string symmetric = CreateExternal(h);
  const std::string rsa = CreateExternal(h, "RSA_2048", "SIGN_VERIFY");
  const std::string p521 = CreateExternal(h, "ECC_NIST_P521", "SIGN_VERIFY");

  struct Case {
    std::string key;
    std::string algorithm;
    std::string spec;
    std::string region;
    std::string message;
  };
  const std::vector<Case> cases = {
      {symmetric, "RSAES_PKCS1_V1_5", "RSA_2048", "",
       "The RSAES_PKCS1_V1_5 wrapping algorithm is no longer supported. Use RSAES_OAEP_SHA_256 or "
       "RSA_AES_KEY_WRAP_SHA_256."},
      {symmetric, "SM2PKE", "SM2", "",
       "WrappingAlgorithm SM2PKE and WrappingKeySpec SM2 are supported only in China Regions."},
      {symmetric, "RSAES_OAEP_SHA_256", "SM2", "",
       "WrappingAlgorithm SM2PKE and WrappingKeySpec SM2 are supported only in China Regions."},
      {rsa, "RSAES_OAEP_SHA_256", "RSA_4096", "",
       "WrappingAlgorithm RSAES_OAEP_SHA_256 cannot wrap RSA_2048 key material. Use "
       "RSA_AES_KEY_WRAP_SHA_1 or RSA_AES_KEY_WRAP_SHA_256."},
      {p521, "RSAES_OAEP_SHA_1", "RSA_2048", "",
       "WrappingAlgorithm RSAES_OAEP_SHA_1 with WrappingKeySpec RSA_2048 cannot wrap "
       "ECC_NIST_P521 key material. Use a longer wrapping key or an RSA_AES_KEY_WRAP algorithm."},
  };
  for (const Case& c : cases) {
    INFO(c.algorithm << " " << c.spec);
    CallResult r = h.Call("GetParametersForImport", ParamsBody(c.key, c.algorithm, c.spec));
    CHECK(r.status == 400);
    CHECK(r.type == "ValidationException");
    CHECK(r.message == c.message);
  }
  CHECK(h.registry().FindKey(kUsEast, symmetric)->import_params.empty());

  // What is allowed: P521 under a longer key or RSA_AES, an RSA key with RSA_AES.
  GetParams(h, p521, "RSAES_OAEP_SHA_256", "RSA_3072");
  GetParams(h, p521, "RSA_AES_KEY_WRAP_SHA_1", "RSA_2048");
  GetParams(h, rsa, "RSA_AES_KEY_WRAP_SHA_256", "RSA_2048");
}

TEST_CASE("In China Regions GetParametersForImport offers SM2PKE and refuses RSA_AES",
          "[ops][import]") {
  OpHarness h;
  const std::string region = "cn-north-1";
  const std::string id = CreateExternal(h, "SYMMETRIC_DEFAULT", {}, region);
  CallResult r = h.Call("GetParametersForImport",
                        ParamsBody(id, "RSA_AES_KEY_WRAP_SHA_256", "RSA_2048"), region);
  CHECK(r.type == "ValidationException");
  CHECK(r.message ==
        "WrappingAlgorithm RSA_AES_KEY_WRAP_SHA_256 is not supported in China Regions.");
  r = h.Call("GetParametersForImport", ParamsBody(id, "SM2PKE", "RSA_2048"), region);
  CHECK(r.type == "ValidationException");
  CHECK(r.message == "WrappingAlgorithm SM2PKE is not compatible with WrappingKeySpec RSA_2048.");

  // SM2PKE end to end: the SM2 public key wraps, kmsd unwraps, the key works.
  const Params p = GetParams(h, id, "SM2PKE", "SM2", region);
  CHECK(kms::crypto::IsKeyPairType(p.public_key.get(), kms::crypto::KeyPairType::kSm2));
  const Bytes material = Secret(32);
  CallResult imported =
      h.Call("ImportKeyMaterial",
             ImportBody(id, p.token, Wrapped(p, KeyWrapScheme::kSm2Pke, material)), region);
  REQUIRE(imported.status == 200);
  CHECK(imported.Str("KeyId") == h.Arn(id, region));
  CHECK(h.Call("Encrypt", EncryptBody(id), region).status == 200);
}

// --- ImportKeyMaterial: the happy paths -------------------------------------------------------

TEST_CASE("ImportKeyMaterial enables a symmetric key with every RSA wrapping algorithm",
          "[ops][import]") {
  OpHarness h;
  const auto [algorithm, scheme] = GENERATE(table<std::string, KeyWrapScheme>({
      {"RSAES_OAEP_SHA_1", KeyWrapScheme::kRsaOaepSha1},
      {"RSAES_OAEP_SHA_256", KeyWrapScheme::kRsaOaepSha256},
      {"RSA_AES_KEY_WRAP_SHA_1", KeyWrapScheme::kRsaAesKeyWrapSha1},
      {"RSA_AES_KEY_WRAP_SHA_256", KeyWrapScheme::kRsaAesKeyWrapSha256},
  }));
  const std::string id = CreateExternal(h);
  CallResult r = Import(h, id, Secret(32), R"("ExpirationModel":"KEY_MATERIAL_DOES_NOT_EXPIRE")",
                        algorithm, scheme);
  REQUIRE(r.status == 200);
  CHECK(r.Str("KeyId") == h.Arn(id));
  const std::string material_id = r.Str("KeyMaterialId");
  CHECK(material_id.size() == 64);

  CallResult d = Describe(h, id);
  const auto& m = d.json["KeyMetadata"];
  CHECK(std::string(m["KeyState"].GetString()) == "Enabled");
  CHECK(m["Enabled"].GetBool());
  CHECK(std::string(m["ExpirationModel"].GetString()) == "KEY_MATERIAL_DOES_NOT_EXPIRE");
  CHECK_FALSE(m.HasMember("ValidTo"));
  CHECK(std::string(m["CurrentKeyMaterialId"].GetString()) == material_id);

  // The key works like any other, with the imported bytes.
  const std::string blob = EncryptOk(h, id);
  CallResult dec = h.Call("Decrypt", DecryptBody(blob));
  REQUIRE(dec.status == 200);
  CHECK(dec.Str("Plaintext") == "aGVsbG8=");
  const auto key = h.registry().FindKey(kUsEast, id);
  REQUIRE(key->materials.size() == 1);
  CHECK(key->materials[0].bytes == Secret(32));
  CHECK(h.Call("GenerateDataKey", R"({"KeyId":")" + id + R"(","KeySpec":"AES_256"})").status ==
        200);
}

TEST_CASE("An imported HMAC key computes the MAC of the imported secret", "[ops][import]") {
  OpHarness h;
  const auto [spec, algorithm, digest, size] =
      GENERATE(table<std::string, std::string, kms::crypto::HmacDigest, std::size_t>({
          {"HMAC_224", "HMAC_SHA_224", kms::crypto::HmacDigest::kSha224, 28},
          {"HMAC_256", "HMAC_SHA_256", kms::crypto::HmacDigest::kSha256, 64},
          {"HMAC_384", "HMAC_SHA_384", kms::crypto::HmacDigest::kSha384, 128},
          {"HMAC_512", "HMAC_SHA_512", kms::crypto::HmacDigest::kSha512, 64},
      }));
  const std::string id = CreateExternal(h, spec, "GENERATE_VERIFY_MAC");
  const Bytes secret = Secret(size, 7);
  REQUIRE(Import(h, id, secret).status == 200);
  CallResult mac = h.Call("GenerateMac", R"({"KeyId":")" + id +
                                             R"(","Message":"bWVzc2FnZQ==","MacAlgorithm":")" +
                                             algorithm + R"("})");
  REQUIRE(mac.status == 200);
  auto expected = kms::crypto::Hmac(digest, secret, kms::crypto::AsBytes("message"));
  REQUIRE(expected);
  CHECK(Decoded(mac, "Mac") == *expected);
}

TEST_CASE("An imported private key signs, and GetPublicKey returns its public half",
          "[ops][import]") {
  OpHarness h;
  const auto [spec, type, algorithm, crypto_algorithm] = GENERATE(
      table<std::string, kms::crypto::KeyPairType, std::string, kms::crypto::SigningAlgorithm>({
          {"ECC_NIST_P256", kms::crypto::KeyPairType::kEccNistP256, "ECDSA_SHA_256",
           kms::crypto::SigningAlgorithm::kEcdsaSha256},
          {"RSA_2048", kms::crypto::KeyPairType::kRsa2048, "RSASSA_PSS_SHA_256",
           kms::crypto::SigningAlgorithm::kRsaPssSha256},
      }));
  const std::string id = CreateExternal(h, spec, "SIGN_VERIFY");
  auto pkcs8 = kms::crypto::GeneratePrivateKey(type);
  REQUIRE(pkcs8);
  REQUIRE(Import(h, id, *pkcs8, R"("ExpirationModel":"KEY_MATERIAL_DOES_NOT_EXPIRE")",
                 "RSA_AES_KEY_WRAP_SHA_256", KeyWrapScheme::kRsaAesKeyWrapSha256)
              .status == 200);

  auto own = kms::crypto::ParsePrivateKey(*pkcs8);
  REQUIRE(own);
  CallResult pub = h.Call("GetPublicKey", KeyIdBody(id));
  REQUIRE(pub.status == 200);
  CHECK(Decoded(pub, "PublicKey") == kms::crypto::PublicKeyDer(own->get()).value());

  CallResult sig =
      h.Call("Sign", R"({"KeyId":")" + id + R"(","Message":"c2lnbiBtZQ==","SigningAlgorithm":")" +
                         algorithm + R"("})");
  REQUIRE(sig.status == 200);
  CHECK(kms::crypto::Verify(own->get(), crypto_algorithm, kms::crypto::MessageType::kRaw,
                            kms::crypto::AsBytes("sign me"), Decoded(sig, "Signature")));
  CallResult d = Describe(h, id);
  CHECK(std::string(d.json["KeyMetadata"]["KeyState"].GetString()) == "Enabled");
  CHECK(std::string(d.json["KeyMetadata"]["ExpirationModel"].GetString()) ==
        "KEY_MATERIAL_DOES_NOT_EXPIRE");
  CHECK_FALSE(d.json["KeyMetadata"].HasMember("CurrentKeyMaterialId"));  // asymmetric: none
}

TEST_CASE("A restart between GetParametersForImport and ImportKeyMaterial keeps the token valid",
          "[ops][import]") {
  TempDbFile db;
  OpHarness h(db.path());
  const std::string id = CreateExternal(h);
  const Params p = GetParams(h, id);
  const std::string wrapped = Wrapped(p, KeyWrapScheme::kRsaOaepSha256, Secret(32));
  h.Reopen();
  CallResult r = h.Call("ImportKeyMaterial", ImportBody(id, p.token, wrapped));
  REQUIRE(r.status == 200);
  const std::string blob = EncryptOk(h, id);
  h.Reopen();
  CHECK(State(h, id) == "Enabled");
  CHECK(h.Call("Decrypt", DecryptBody(blob)).status == 200);
}

// --- ImportKeyMaterial: expiration ------------------------------------------------------------

TEST_CASE("ImportKeyMaterial needs ValidTo for expiring material, as AWS words it",
          "[ops][import]") {
  OpHarness h;
  const std::string id = CreateExternal(h);
  // No ExpirationModel means KEY_MATERIAL_EXPIRES.
  CallResult r = Import(h, id, Secret(32), "");
  CHECK(r.status == 400);
  CHECK(r.type == "ValidationException");
  CHECK(r.message == "A validTo date must be set if the ExpirationModel is KEY_MATERIAL_EXPIRES");
  r = Import(h, id, Secret(32), R"("ExpirationModel":"KEY_MATERIAL_EXPIRES")");
  CHECK(r.message == "A validTo date must be set if the ExpirationModel is KEY_MATERIAL_EXPIRES");
  CHECK(State(h, id) == "PendingImport");
}

TEST_CASE("ImportKeyMaterial refuses ValidTo without expiry, in the past or beyond 365 days",
          "[ops][import]") {
  OpHarness h;
  const std::string id = CreateExternal(h);
  const auto [extra, message] = GENERATE(table<std::string, std::string>({
      {R"("ExpirationModel":"KEY_MATERIAL_DOES_NOT_EXPIRE","ValidTo":1800000000)",
       "A validTo date must not be set if the ExpirationModel is KEY_MATERIAL_DOES_NOT_EXPIRE"},
      {R"("ValidTo":1700000000)", "The validTo date must be in the future."},
      {R"("ValidTo":1699999999.5)", "The validTo date must be in the future."},
      {R"("ValidTo":1700000000.5)", "The validTo date must be in the future."},
      {R"("ValidTo":-5)", "The validTo date must be in the future."},
      {R"("ValidTo":1731536001)",
       "The validTo date must be no more than 365 days after the request date."},
      {R"("ValidTo":1e300)",
       "The validTo date must be no more than 365 days after the request date."},
  }));
  CallResult r = Import(h, id, Secret(32), extra);
  CHECK(r.status == 400);
  CHECK(r.type == "ValidationException");
  CHECK(r.message == message);
}

TEST_CASE("Imported material expires at ValidTo: the key is pending import until re-imported",
          "[ops][import]") {
  TempDbFile db;
  OpHarness h(db.path());
  const std::string id = CreateExternal(h);
  const Bytes material = Secret(32, 42);
  const std::int64_t valid_to = kStart + 365 * kDay;  // the longest AWS allows
  CallResult r = Import(h, id, material, R"("ValidTo":)" + std::to_string(valid_to));
  REQUIRE(r.status == 200);
  CallResult d = Describe(h, id);
  CHECK(std::string(d.json["KeyMetadata"]["ExpirationModel"].GetString()) ==
        "KEY_MATERIAL_EXPIRES");
  CHECK(d.json["KeyMetadata"]["ValidTo"].GetInt64() == valid_to);
  const std::string blob = EncryptOk(h, id);

  h.clock().Set(valid_to - 1);
  CHECK(h.Call("Decrypt", DecryptBody(blob)).status == 200);

  h.clock().Set(valid_to);
  CheckPendingImport(h, id);
  CallResult dec = h.Call("Decrypt", DecryptBody(blob));
  CHECK(dec.type == "KMSInvalidStateException");
  CHECK(dec.message == h.Arn(id) + " is pending import.");
  d = Describe(h, id);
  CHECK(std::string(d.json["KeyMetadata"]["KeyState"].GetString()) == "PendingImport");
  CHECK_FALSE(d.json["KeyMetadata"]["Enabled"].GetBool());
  CHECK_FALSE(d.json["KeyMetadata"].HasMember("ExpirationModel"));
  CHECK_FALSE(d.json["KeyMetadata"].HasMember("ValidTo"));
  CHECK(d.json["KeyMetadata"].HasMember("CurrentKeyMaterialId"));

  // Reading wrote nothing; the first write to the key stores the expired view.
  CHECK(h.registry().FindKey(kUsEast, id)->materials[0].bytes == material);
  REQUIRE(h.Call("UpdateKeyDescription", R"({"KeyId":")" + id + R"(","Description":"d"})").status ==
          200);
  const auto stored = h.registry().FindKey(kUsEast, id);
  CHECK(stored->materials[0].bytes.empty());
  CHECK(stored->key_state == kms::domain::KeyState::kPendingImport);
  h.Reopen();
  CHECK(State(h, id) == "PendingImport");

  // The same material again: the key is back, and so is every ciphertext.
  REQUIRE(Import(h, id, material).status == 200);
  CHECK(State(h, id) == "Enabled");
  CHECK(h.Call("Decrypt", DecryptBody(blob)).status == 200);
}

TEST_CASE("Expiry survives a restart without any write", "[ops][import]") {
  TempDbFile db;
  OpHarness h(db.path());
  const std::string id = CreateExternal(h, "HMAC_256", "GENERATE_VERIFY_MAC");
  REQUIRE(Import(h, id, Secret(32), R"("ValidTo":)" + std::to_string(kStart + kDay)).status == 200);
  h.Reopen();
  CHECK(State(h, id) == "Enabled");
  h.clock().Advance(kDay);
  h.Reopen();
  CHECK(State(h, id) == "PendingImport");
}

// --- ImportKeyMaterial: tokens --------------------------------------------------------------

TEST_CASE("ImportKeyMaterial refuses a garbled token or one of another key", "[ops][import]") {
  OpHarness h;
  const std::string id = CreateExternal(h);
  const std::string other = CreateExternal(h);
  const Params p = GetParams(h, id);
  const Params q = GetParams(h, other);
  const std::string wrapped = Wrapped(p, KeyWrapScheme::kRsaOaepSha256, Secret(32));

  Bytes raw = kms::crypto::Base64Decode(p.token).value();
  Bytes flipped = raw;
  flipped[40] ^= 0x01;  // inside the token id
  const std::string bad = GENERATE(as<std::string>{}, "garbage", "short", "flipped", "other");
  std::string token;
  if (bad == "garbage") token = "Z2FyYmFnZQ==";
  if (bad == "short") token = kms::crypto::Base64Encode(Bytes(raw.begin(), raw.end() - 1));
  if (bad == "flipped") token = kms::crypto::Base64Encode(flipped);
  if (bad == "other") token = q.token;
  INFO(bad);
  CallResult r = h.Call("ImportKeyMaterial", ImportBody(id, token, wrapped));
  CHECK(r.status == 400);
  CHECK(r.type == "InvalidImportTokenException");
  CHECK(r.message == "The import token is invalid or is associated with a different KMS key.");
  CHECK(State(h, id) == "PendingImport");
}

TEST_CASE("An import token expires after 24 hours, even once its parameters are dropped",
          "[ops][import]") {
  OpHarness h;
  const std::string id = CreateExternal(h);
  const Params p = GetParams(h, id);
  const std::string wrapped = Wrapped(p, KeyWrapScheme::kRsaOaepSha256, Secret(32));
  h.clock().Advance(kDay);
  CallResult r = h.Call("ImportKeyMaterial", ImportBody(id, p.token, wrapped));
  CHECK(r.type == "ExpiredImportTokenException");
  CHECK(r.message ==
        "The import token has expired. Use GetParametersForImport to get a new import token and "
        "public key.");

  GetParams(h, id);  // writing the key drops the expired parameters
  const auto key = h.registry().FindKey(kUsEast, id);
  REQUIRE(key->import_params.size() == 1);
  CHECK(key->import_params[0].valid_to == kStart + 2 * kDay);
  r = h.Call("ImportKeyMaterial", ImportBody(id, p.token, wrapped));
  CHECK(r.type == "ExpiredImportTokenException");
}

TEST_CASE("A key keeps its 16 newest import parameter sets", "[ops][import]") {
  OpHarness h;
  const std::string id = CreateExternal(h);
  const Params first = GetParams(h, id);
  std::optional<Params> second;
  for (int i = 0; i < 16; ++i) {
    Params p = GetParams(h, id);
    if (i == 0) second = std::move(p);
  }
  CHECK(h.registry().FindKey(kUsEast, id)->import_params.size() == 16);
  CallResult r = h.Call(
      "ImportKeyMaterial",
      ImportBody(id, first.token, Wrapped(first, KeyWrapScheme::kRsaOaepSha256, Secret(32))));
  CHECK(r.type == "InvalidImportTokenException");
  r = h.Call(
      "ImportKeyMaterial",
      ImportBody(id, second->token, Wrapped(*second, KeyWrapScheme::kRsaOaepSha256, Secret(32))));
  CHECK(r.status == 200);
}

// --- ImportKeyMaterial: the material ------------------------------------------------------------

TEST_CASE("Material that does not unwrap is InvalidCiphertextException with no message",
          "[ops][import]") {
  OpHarness h;
  const std::string id = CreateExternal(h);
  const Params p = GetParams(h, id, "RSAES_OAEP_SHA_256");
  const Params other = GetParams(h, id, "RSAES_OAEP_SHA_256");
  const std::string wrapped = GENERATE(as<std::string>{}, "sha1", "other key", "garbage", "hybrid");
  std::string b64;
  if (wrapped == "sha1") b64 = Wrapped(p, KeyWrapScheme::kRsaOaepSha1, Secret(32));
  if (wrapped == "other key") b64 = Wrapped(other, KeyWrapScheme::kRsaOaepSha256, Secret(32));
  if (wrapped == "garbage") b64 = "Z2FyYmFnZQ==";
  if (wrapped == "hybrid") b64 = Wrapped(p, KeyWrapScheme::kRsaAesKeyWrapSha256, Secret(32));
  INFO(wrapped);
  CallResult r = h.Call("ImportKeyMaterial", ImportBody(id, p.token, b64));
  CHECK(r.status == 400);
  CHECK(r.type == "InvalidCiphertextException");
  CHECK(r.body == R"({"__type":"InvalidCiphertextException"})");
}

TEST_CASE("Material that does not fit the key spec is IncorrectKeyMaterialException",
          "[ops][import]") {
  OpHarness h;
  auto ecc = kms::crypto::GeneratePrivateKey(kms::crypto::KeyPairType::kEccNistP384);
  REQUIRE(ecc);
  const Bytes ecc_material(ecc->begin(), ecc->end());
  const auto [spec, usage, material] = GENERATE_COPY(table<std::string, std::string, Bytes>({
      {"SYMMETRIC_DEFAULT", "", Secret(31)},
      {"SYMMETRIC_DEFAULT", "", Secret(33)},
      {"HMAC_256", "GENERATE_VERIFY_MAC", Secret(31)},
      {"HMAC_256", "GENERATE_VERIFY_MAC", Secret(65)},
      {"HMAC_384", "GENERATE_VERIFY_MAC", Secret(47)},
      {"HMAC_512", "GENERATE_VERIFY_MAC", Secret(129)},
      {"ECC_NIST_P256", "SIGN_VERIFY", ecc_material},
      {"ECC_NIST_P256", "SIGN_VERIFY", Secret(100)},
      {"RSA_2048", "SIGN_VERIFY", ecc_material},
  }));
  INFO(spec << " " << material.size());
  const std::string id = CreateExternal(h, spec, usage);
  const bool rsa = spec == "RSA_2048";
  CallResult r =
      Import(h, id, material, R"("ExpirationModel":"KEY_MATERIAL_DOES_NOT_EXPIRE")",
             rsa ? "RSA_AES_KEY_WRAP_SHA_256" : "RSA_AES_KEY_WRAP_SHA_1",
             rsa ? KeyWrapScheme::kRsaAesKeyWrapSha256 : KeyWrapScheme::kRsaAesKeyWrapSha1);
  CHECK(r.status == 400);
  CHECK(r.type == "IncorrectKeyMaterialException");
  CHECK(r.message == "The key material is not valid for a KMS key with key spec " + spec + ".");
  CHECK(State(h, id) == "PendingImport");
}

TEST_CASE("ImportKeyMaterial on an AWS_KMS or pending-deletion key fails before the token",
          "[ops][import]") {
  OpHarness h;
  const std::string aws = AwsKmsKey(h);
  CallResult r = h.Call("ImportKeyMaterial", ImportBody(aws, "eA==", "eA=="));
  CHECK(r.type == "UnsupportedOperationException");
  CHECK(r.message == h.Arn(aws) + " origin is AWS_KMS which is not valid for this operation.");

  const std::string id = CreateExternal(h);
  const Params p = GetParams(h, id);
  h.ScheduleDeletion(id);
  r = h.Call("ImportKeyMaterial",
             ImportBody(id, p.token, Wrapped(p, KeyWrapScheme::kRsaOaepSha256, Secret(32))));
  CHECK(r.type == "KMSInvalidStateException");
  CHECK(r.message == h.Arn(id) + " is pending deletion.");
}

// --- Re-import, DeleteImportedKeyMaterial -------------------------------------------------------

TEST_CASE("DeleteImportedKeyMaterial makes the key pending import; the same material restores it",
          "[ops][import]") {
  OpHarness h;
  const std::string id = CreateExternal(h);
  const Bytes material = Secret(32, 9);
  CallResult first = Import(h, id, material);
  REQUIRE(first.status == 200);
  const std::string material_id = first.Str("KeyMaterialId");
  const std::string blob = EncryptOk(h, id);

  const std::string ref = RefOf(h, GENERATE(as<std::string>{}, "key id", "key ARN"), id);
  CallResult del = h.Call("DeleteImportedKeyMaterial", KeyIdBody(ref));
  REQUIRE(del.status == 200);
  CHECK(del.Str("KeyId") == h.Arn(id));
  CHECK(del.Str("KeyMaterialId") == material_id);
  CheckPendingImport(h, id);
  CallResult d = Describe(h, id);
  CHECK(std::string(d.json["KeyMetadata"]["KeyState"].GetString()) == "PendingImport");
  CHECK_FALSE(d.json["KeyMetadata"].HasMember("ExpirationModel"));
  CHECK(std::string(d.json["KeyMetadata"]["CurrentKeyMaterialId"].GetString()) == material_id);
  CHECK(h.registry().FindKey(kUsEast, id)->materials[0].bytes.empty());

  // Other material is refused; the same material, named by its id or not, comes back.
  CallResult wrong = Import(h, id, Secret(32, 10));
  CHECK(wrong.status == 400);
  CHECK(wrong.type == "IncorrectKeyMaterialException");
  CHECK(wrong.message ==
        "The key material is not the key material that was previously imported into " + h.Arn(id) +
            ".");
  CallResult again = Import(
      h, id, material,
      R"("ExpirationModel":"KEY_MATERIAL_DOES_NOT_EXPIRE","ImportType":"EXISTING_KEY_MATERIAL","KeyMaterialId":")" +
          material_id + R"(")");
  REQUIRE(again.status == 200);
  CHECK(again.Str("KeyMaterialId") == material_id);
  CHECK(State(h, id) == "Enabled");
  CallResult dec = h.Call("Decrypt", DecryptBody(blob));
  REQUIRE(dec.status == 200);
  CHECK(dec.Str("KeyMaterialId") == material_id);
}

TEST_CASE("Re-importing the same material changes its expiry; other material is refused",
          "[ops][import]") {
  OpHarness h;
  const std::string id = CreateExternal(h, "HMAC_384", "GENERATE_VERIFY_MAC");
  const Bytes material = Secret(48);
  REQUIRE(Import(h, id, material).status == 200);
  REQUIRE(Import(h, id, material, R"("ValidTo":)" + std::to_string(kStart + 10 * kDay)).status ==
          200);
  CallResult d = Describe(h, id);
  CHECK(std::string(d.json["KeyMetadata"]["ExpirationModel"].GetString()) ==
        "KEY_MATERIAL_EXPIRES");
  CHECK(d.json["KeyMetadata"]["ValidTo"].GetInt64() == kStart + 10 * kDay);
  CHECK(Import(h, id, Secret(48, 2)).type == "IncorrectKeyMaterialException");
  // A KeyMaterialId that is not this material's.
  CallResult named =
      Import(h, id, material,
             R"("ExpirationModel":"KEY_MATERIAL_DOES_NOT_EXPIRE","KeyMaterialId":")" +
                 std::string(64, 'a') + R"(")");
  CHECK(named.type == "IncorrectKeyMaterialException");
  CHECK(named.message ==
        "The key material does not match KeyMaterialId " + std::string(64, 'a') + ".");
}

TEST_CASE("KeyMaterialId is derived from the key and the material", "[ops][import]") {
  OpHarness h;
  const std::string a = CreateExternal(h);
  const std::string b = CreateExternal(h);
  const Bytes material = Secret(32, 77);
  const std::string id_a = Import(h, a, material).Str("KeyMaterialId");
  const std::string id_b = Import(h, b, material).Str("KeyMaterialId");
  CHECK(id_a.size() == 64);
  CHECK(id_a != id_b);
  REQUIRE(h.Call("DeleteImportedKeyMaterial", KeyIdBody(a)).status == 200);
  CHECK(Import(h, a, material).Str("KeyMaterialId") == id_a);
}

TEST_CASE("DeleteImportedKeyMaterial: AWS_KMS keys, keys without material, pending deletion",
          "[ops][import]") {
  OpHarness h;
  const std::string aws = AwsKmsKey(h);
  CallResult r = h.Call("DeleteImportedKeyMaterial", KeyIdBody(aws));
  CHECK(r.type == "UnsupportedOperationException");
  CHECK(r.message == h.Arn(aws) + " origin is AWS_KMS which is not valid for this operation.");

  const std::string empty = CreateExternal(h);
  r = h.Call("DeleteImportedKeyMaterial", KeyIdBody(empty));
  REQUIRE(r.status == 200);
  CHECK(r.body == R"({"KeyId":")" + h.Arn(empty) + R"(","KeyMaterialId":""})");
  CHECK(State(h, empty) == "PendingImport");

  const std::string id = CreateExternal(h);
  REQUIRE(Import(h, id, Secret(32)).status == 200);
  h.ScheduleDeletion(id);
  r = h.Call("DeleteImportedKeyMaterial", KeyIdBody(id));
  REQUIRE(r.status == 200);
  CHECK(State(h, id) == "PendingDeletion");
  // Cancelling the deletion of a key without its material leaves it waiting for the material.
  REQUIRE(h.Call("CancelKeyDeletion", KeyIdBody(id)).status == 200);
  CHECK(State(h, id) == "PendingImport");

  r = h.Call("DeleteImportedKeyMaterial",
             R"({"KeyId":")" + id + R"(","KeyMaterialId":")" + std::string(64, 'b') + R"("})");
  CHECK(r.type == "NotFoundException");
  CHECK(r.message == "Key material (id: " + std::string(64, 'b') +
                         ") is not associated with KMS key " + h.Arn(id) + ".");
}

TEST_CASE("A disabled key stays disabled on re-import, and turns pending import on deletion",
          "[ops][import]") {
  OpHarness h;
  const std::string id = CreateExternal(h);
  const Bytes material = Secret(32);
  REQUIRE(Import(h, id, material).status == 200);
  REQUIRE(h.Call("DisableKey", KeyIdBody(id)).status == 200);
  REQUIRE(Import(h, id, material).status == 200);
  CHECK(State(h, id) == "Disabled");
  REQUIRE(h.Call("DeleteImportedKeyMaterial", KeyIdBody(id)).status == 200);
  CHECK(State(h, id) == "PendingImport");
  REQUIRE(Import(h, id, material).status == 200);
  CHECK(State(h, id) == "Enabled");
}

// --- ImportType NEW_KEY_MATERIAL
// ------------------------------------------------------------------

TEST_CASE("NEW_KEY_MATERIAL adds material pending rotation; only one may wait", "[ops][import]") {
  OpHarness h;
  const std::string id = CreateExternal(h);
  const std::string first = Import(h, id, Secret(32, 1)).Str("KeyMaterialId");
  const std::string new_type =
      R"("ExpirationModel":"KEY_MATERIAL_DOES_NOT_EXPIRE","ImportType":"NEW_KEY_MATERIAL")";
  CallResult second = Import(h, id, Secret(32, 2), new_type + R"(,"KeyMaterialDescription":"v2")");
  REQUIRE(second.status == 200);
  CHECK(second.Str("KeyMaterialId") != first);
  CHECK(h.CurrentKeyMaterialId(id) == first);  // current until RotateKeyOnDemand
  const auto key = h.registry().FindKey(kUsEast, id);
  REQUIRE(key->materials.size() == 2);
  CHECK(key->current_material_version == 1);
  CHECK(key->materials[1].version == 2);
  CHECK(key->materials[1].description == "v2");
  CHECK(key->materials[1].bytes == Secret(32, 2));

  CallResult third = Import(h, id, Secret(32, 3), new_type);
  CHECK(third.status == 400);
  CHECK(third.type == "KMSInvalidStateException");
  const std::string third_id = third.message.substr(22, 64);
  CHECK(third.message == "New key material (id: " + third_id +
                             ") cannot be imported into KMS key " + id +
                             ", because another key material (id: " + second.Str("KeyMaterialId") +
                             ") is pending rotation.");

  // Deleting the pending material leaves the key usable.
  REQUIRE(h.Call("DeleteImportedKeyMaterial", R"({"KeyId":")" + id + R"(","KeyMaterialId":")" +
                                                  second.Str("KeyMaterialId") + R"("})")
              .status == 200);
  CHECK(State(h, id) == "Enabled");
}

TEST_CASE("NEW_KEY_MATERIAL refuses KeyMaterialId, known material and non-symmetric keys",
          "[ops][import]") {
  OpHarness h;
  const std::string id = CreateExternal(h);
  const std::string new_type =
      R"("ExpirationModel":"KEY_MATERIAL_DOES_NOT_EXPIRE","ImportType":"NEW_KEY_MATERIAL")";
  CallResult r =
      Import(h, id, Secret(32), new_type + R"(,"KeyMaterialId":")" + std::string(64, 'c') + R"(")");
  CHECK(r.type == "ValidationException");
  CHECK(r.message ==
        "You cannot specify a key material ID with ImportType set to NEW_KEY_MATERIAL.");

  // EXISTING before any material was imported.
  r = Import(
      h, id, Secret(32),
      R"("ExpirationModel":"KEY_MATERIAL_DOES_NOT_EXPIRE","ImportType":"EXISTING_KEY_MATERIAL")");
  CHECK(r.type == "IncorrectKeyMaterialException");
  CHECK(r.message == "No key material was imported into " + h.Arn(id) +
                         " before. Import it with ImportType NEW_KEY_MATERIAL.");

  const std::string material_id = Import(h, id, Secret(32)).Str("KeyMaterialId");
  r = Import(h, id, Secret(32), new_type);
  CHECK(r.type == "IncorrectKeyMaterialException");
  CHECK(r.message == "Key material (id: " + material_id + ") is already associated with KMS key " +
                         id + ". Import it with ImportType EXISTING_KEY_MATERIAL.");

  const std::string mac = CreateExternal(h, "HMAC_256", "GENERATE_VERIFY_MAC");
  REQUIRE(Import(h, mac, Secret(32)).status == 200);
  r = Import(h, mac, Secret(32, 5), new_type);
  CHECK(r.type == "UnsupportedOperationException");
  CHECK(r.message == "New key material cannot be imported into " + h.Arn(mac) +
                         ": only symmetric encryption keys that are not multi-Region replicas "
                         "take more than one key material.");
}

// --- Storage failures
// ------------------------------------------------------------------------------

TEST_CASE("A storage failure in an import operation is KMSInternalException and changes nothing",
          "[ops][import][storage]") {
  kms::config::Config config;
  kms::FakeClock clock;
  auto sqlite = kms::storage::SqliteStore::Open(":memory:");
  REQUIRE(sqlite.has_value());
  auto faulty = std::make_unique<kms::storage::testing::FaultyStore>(std::move(*sqlite));
  auto* faults = faulty.get();
  auto registry = kms::storage::Registry::Open(std::move(faulty));
  REQUIRE(registry.has_value());
  kms::storage::KeyUsageTracker key_usage(**registry, std::chrono::milliseconds(0));
  kms::server::Dispatcher dispatcher(**registry, key_usage, clock, config);
  const auto call = [&](std::string_view op, const std::string& body) {
    kms::server::Reply reply = dispatcher.Handle("TrentService." + std::string(op), {}, body, "r");
    if (auto durable = (*registry)->WaitDurable(reply.ticket); !durable) {
      return kms::server::Dispatcher::CommitFailedReply(reply, durable.error(), "r");
    }
    return reply;
  };
  kms::server::Reply created = call("CreateKey", R"({"Origin":"EXTERNAL"})");
  REQUIRE(created.status == 200);
  rapidjson::Document doc;
  doc.Parse(created.body.c_str());
  const std::string id = doc["KeyMetadata"]["KeyId"].GetString();

  faults->FailNextWrites(1);
  kms::server::Reply r =
      call("GetParametersForImport", ParamsBody(id, "RSAES_OAEP_SHA_1", "RSA_2048"));
  CHECK(r.status == 500);
  CHECK(r.error_type == "KMSInternalException");
  CHECK((*registry)->FindKey(kUsEast, id)->import_params.empty());

  kms::server::Reply params =
      call("GetParametersForImport", ParamsBody(id, "RSAES_OAEP_SHA_1", "RSA_2048"));
  REQUIRE(params.status == 200);
  rapidjson::Document p;
  p.Parse(params.body.c_str());
  auto public_key =
      kms::crypto::ParsePublicKey(kms::crypto::Base64Decode(p["PublicKey"].GetString()).value());
  REQUIRE(public_key);
  auto wrapped =
      kms::crypto::WrapKeyMaterial(public_key->get(), KeyWrapScheme::kRsaOaepSha1, Secret(32));
  REQUIRE(wrapped);
  const std::string body =
      ImportBody(id, p["ImportToken"].GetString(), kms::crypto::Base64Encode(*wrapped));
  faults->FailNextWrites(1);
  r = call("ImportKeyMaterial", body);
  CHECK(r.status == 500);
  CHECK((*registry)->FindKey(kUsEast, id)->key_state == kms::domain::KeyState::kPendingImport);
  REQUIRE(call("ImportKeyMaterial", body).status == 200);

  faults->FailNextWrites(1);
  r = call("DeleteImportedKeyMaterial", KeyIdBody(id));
  CHECK(r.status == 500);
  CHECK((*registry)->FindKey(kUsEast, id)->key_state == kms::domain::KeyState::kEnabled);
  CHECK((*registry)->FindKey(kUsEast, id)->materials[0].bytes == Secret(32));
}

TEST_CASE("CancelKeyDeletion of a key of another origin without material comes back Disabled",
          "[ops][import]") {
  OpHarness h;
  // Custom key store keys keep no material in kmsd: only EXTERNAL keys wait for an import.
  kms::storage::KeyRecord key;
  key.scope = kUsEast;
  key.key_id = "11111111-2222-4333-8444-555555555555";
  key.origin = kms::domain::Origin::kAwsCloudHsm;
  key.creation_date = kStart;
  {
    auto writer = h.registry().BeginWrite();
    REQUIRE(writer.InsertKey(key).has_value());
  }
  h.ScheduleDeletion(key.key_id);
  REQUIRE(h.Call("CancelKeyDeletion", KeyIdBody(key.key_id)).status == 200);
  CHECK(State(h, key.key_id) == "Disabled");
}
