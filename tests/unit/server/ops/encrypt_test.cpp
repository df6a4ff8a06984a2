// Tests for server/ops/encrypt.cpp: Encrypt, Decrypt, ReEncrypt, through the dispatcher.
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <catch2/catch.hpp>

#include "crypto/asymmetric_cipher.hpp"
#include "crypto/base64.hpp"
#include "crypto/bytes.hpp"
#include "crypto/ciphertext_blob.hpp"
#include "crypto/encryption_context.hpp"
#include "crypto/key_pair.hpp"
#include "crypto/random.hpp"
#include "server/protocol/json_io.hpp"
#include "storage/records.hpp"
#include "tests/unit/server/ops/op_harness.hpp"

namespace {

using kms::crypto::Bytes;
using kms::crypto::EncryptionContext;
using kms::server::JsonOut;
using namespace kms::testing;

std::string B64(std::string_view text) {
  return kms::crypto::Base64Encode(kms::crypto::AsBytes(text));
}
std::string B64(const Bytes& bytes) { return kms::crypto::Base64Encode(bytes); }

std::string Text(const Bytes& bytes) { return std::string(bytes.begin(), bytes.end()); }

std::string EncryptBody(std::string_view key_ref, std::string_view plaintext,
                        const std::optional<EncryptionContext>& context = std::nullopt) {
  JsonOut out;
  out.String("KeyId", key_ref);
  out.String("Plaintext", B64(plaintext));
  if (context) WriteContext(out, "EncryptionContext", *context);
  return out.Finish();
}

// Encrypts and returns the base64 CiphertextBlob.
std::string EncryptOk(OpHarness& h, std::string_view key_ref, std::string_view plaintext,
                      const std::optional<EncryptionContext>& context = std::nullopt,
                      std::string_view region = {}) {
  CallResult r = h.Call("Encrypt", EncryptBody(key_ref, plaintext, context), region);
  REQUIRE(r.status == 200);
  return r.Str("CiphertextBlob");
}

// Adds material version 2 and makes it current: what a rotation does.
std::string AddMaterialVersion(OpHarness& h, const std::string& key_id) {
  auto writer = h.registry().BeginWrite();
  auto key = h.registry().FindKey(kUsEast, key_id);
  REQUIRE(key != nullptr);
  kms::storage::KeyRecord rotated = *key;
  auto secret = kms::crypto::RandomBytes(32);
  REQUIRE(secret.has_value());
  kms::storage::KeyMaterial m;
  m.version = 2;
  m.material_id = std::string(64, 'b');
  m.bytes = *secret;
  m.created_at = h.clock().NowSeconds();
  rotated.materials.push_back(m);
  rotated.current_material_version = 2;
  REQUIRE(writer.UpdateKey(rotated).has_value());
  return m.material_id;
}

void RequireEmptyInvalidCiphertext(const CallResult& r) {
  CHECK(r.status == 400);
  CHECK(r.type == "InvalidCiphertextException");
  CHECK(r.message.empty());
  CHECK_FALSE(r.json.HasMember("message"));
  CHECK_FALSE(r.json.HasMember("Message"));
}

}  // namespace

TEST_CASE("Encrypt and Decrypt round-trip with every form of key reference", "[ops][encrypt]") {
  OpHarness h;
  const std::string key = h.CreateSymmetricKey();
  h.CreateAlias("alias/app", key);
  const std::string ref =
      RefOf(h, GENERATE(as<std::string>{}, "key id", "key ARN", "alias name", "alias ARN"), key,
            "alias/app");

  CallResult enc =
      h.Call("Encrypt", EncryptBody(ref, "attack at dawn", EncryptionContext{{"app", "x"}}));
  REQUIRE(enc.status == 200);
  CHECK(enc.Str("KeyId") == h.Arn(key));
  CHECK(enc.Str("EncryptionAlgorithm") == "SYMMETRIC_DEFAULT");

  SECTION("Decrypt finds the key from the blob") {
    CallResult dec =
        h.Call("Decrypt", DecryptBody(enc.Str("CiphertextBlob"), EncryptionContext{{"app", "x"}}));
    REQUIRE(dec.status == 200);
    CHECK(Text(Decoded(dec, "Plaintext")) == "attack at dawn");
    CHECK(dec.Str("KeyId") == h.Arn(key));
    CHECK(dec.Str("EncryptionAlgorithm") == "SYMMETRIC_DEFAULT");
    CHECK(dec.Str("KeyMaterialId") == h.CurrentKeyMaterialId(key));
  }
  SECTION("Decrypt accepts a KeyId that names the same key") {
    CallResult dec = h.Call(
        "Decrypt", DecryptBody(enc.Str("CiphertextBlob"), EncryptionContext{{"app", "x"}}, ref));
    REQUIRE(dec.status == 200);
    CHECK(Text(Decoded(dec, "Plaintext")) == "attack at dawn");
  }
}

TEST_CASE("Encrypt accepts 4096 bytes and rejects 4097 with the model's message",
          "[ops][encrypt]") {
  OpHarness h;
  const std::string key = h.CreateSymmetricKey();
  const std::string max(4096, 'p');
  const std::string blob = EncryptOk(h, key, max);
  CallResult dec = h.Call("Decrypt", DecryptBody(blob));
  REQUIRE(dec.status == 200);
  CHECK(Text(Decoded(dec, "Plaintext")) == max);

  CallResult r = h.Call("Encrypt", EncryptBody(key, std::string(4097, 'p')));
  CHECK(r.status == 400);
  CHECK(r.type == "ValidationException");
  CHECK(r.message ==
        "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member "
        "must have length less than or equal to 4096");
}

TEST_CASE("Decrypt rejects each wrong encryption context with an empty InvalidCiphertextException",
          "[ops][encrypt]") {
  OpHarness h;
  const std::string key = h.CreateSymmetricKey();
  const EncryptionContext sealed_with = GENERATE(values<EncryptionContext>({
      {{"purpose", "test"}, {"Dept", "eng"}},
      {{"ab", "c"}},
  }));
  const std::string blob = EncryptOk(h, key, "secret", sealed_with);

  SECTION("the same context decrypts") {
    CHECK(h.Call("Decrypt", DecryptBody(blob, sealed_with)).status == 200);
  }
  SECTION("a missing context") {
    RequireEmptyInvalidCiphertext(h.Call("Decrypt", DecryptBody(blob)));
  }
  SECTION("an empty context") {
    RequireEmptyInvalidCiphertext(h.Call("Decrypt", DecryptBody(blob, EncryptionContext{})));
  }
  SECTION("one value changed") {
    EncryptionContext changed = sealed_with;
    changed.begin()->second += "x";
    RequireEmptyInvalidCiphertext(h.Call("Decrypt", DecryptBody(blob, changed)));
  }
  SECTION("one pair added") {
    EncryptionContext added = sealed_with;
    added.emplace("extra", "pair");
    RequireEmptyInvalidCiphertext(h.Call("Decrypt", DecryptBody(blob, added)));
  }
  SECTION("a key's case changed") {
    EncryptionContext recased;
    for (const auto& [k, v] : sealed_with) {
      std::string upper = k;
      upper[0] = static_cast<char>(upper[0] ^ 0x20);  // flip the case of the first letter
      recased.emplace(upper, v);
    }
    RequireEmptyInvalidCiphertext(h.Call("Decrypt", DecryptBody(blob, recased)));
  }
}

TEST_CASE("Decrypt tells {\"ab\":\"c\"} and {\"a\":\"bc\"} apart", "[ops][encrypt]") {
  OpHarness h;
  const std::string key = h.CreateSymmetricKey();
  const std::string blob = EncryptOk(h, key, "secret", EncryptionContext{{"ab", "c"}});
  RequireEmptyInvalidCiphertext(
      h.Call("Decrypt", DecryptBody(blob, EncryptionContext{{"a", "bc"}})));
}

TEST_CASE("Decrypt answers InvalidCiphertextException, never a 500, for damaged blobs",
          "[ops][encrypt]") {
  OpHarness h;
  const std::string key = h.CreateSymmetricKey();
  const std::string blob_b64 = EncryptOk(h, key, "some plaintext");
  const Bytes blob = *kms::crypto::Base64Decode(blob_b64);

  SECTION("any single flipped bit") {
    for (std::size_t i = 0; i < blob.size(); ++i) {
      Bytes tampered = blob;
      tampered[i] ^= 0x01;
      CallResult r = h.Call("Decrypt", DecryptBody(B64(tampered)));
      INFO("byte " << i);
      CHECK(r.status == 400);
      CHECK(r.type == "InvalidCiphertextException");
      CHECK(r.message.empty());
    }
  }
  SECTION("any truncation") {
    for (std::size_t n = 1; n < blob.size(); ++n) {
      Bytes truncated(blob.begin(), blob.begin() + static_cast<std::ptrdiff_t>(n));
      CallResult r = h.Call("Decrypt", DecryptBody(B64(truncated)));
      INFO("length " << n);
      RequireEmptyInvalidCiphertext(r);
    }
  }
  SECTION("bytes appended") {
    Bytes longer = blob;
    longer.push_back(0);
    RequireEmptyInvalidCiphertext(h.Call("Decrypt", DecryptBody(B64(longer))));
  }
  SECTION("random bytes") {
    const std::size_t n = GENERATE(1u, 16u, 53u, 69u, 100u, 6144u);
    auto random = kms::crypto::RandomBytes(n);
    REQUIRE(random.has_value());
    RequireEmptyInvalidCiphertext(h.Call("Decrypt", DecryptBody(B64(*random))));
  }
  SECTION("a well-formed blob for a key that does not exist") {
    auto material = kms::crypto::RandomBytes(32);
    REQUIRE(material.has_value());
    auto forged = kms::crypto::SealBlob("00000000-0000-4000-8000-000000000000", 1, *material,
                                        kms::crypto::AsBytes("x"), {});
    REQUIRE(forged.has_value());
    RequireEmptyInvalidCiphertext(h.Call("Decrypt", DecryptBody(B64(*forged))));
    RequireEmptyInvalidCiphertext(h.Call("Decrypt", DecryptBody(B64(*forged), std::nullopt, key)));
  }
  SECTION("the right key id but forged under other material") {
    auto material = kms::crypto::RandomBytes(32);
    REQUIRE(material.has_value());
    auto forged = kms::crypto::SealBlob(key, 1, *material, kms::crypto::AsBytes("x"), {});
    REQUIRE(forged.has_value());
    RequireEmptyInvalidCiphertext(h.Call("Decrypt", DecryptBody(B64(*forged))));
  }
  SECTION("a material version the key does not have") {
    auto material = kms::crypto::RandomBytes(32);
    REQUIRE(material.has_value());
    auto forged = kms::crypto::SealBlob(key, 7, *material, kms::crypto::AsBytes("x"), {});
    REQUIRE(forged.has_value());
    RequireEmptyInvalidCiphertext(h.Call("Decrypt", DecryptBody(B64(*forged))));
  }
}

TEST_CASE("Decrypt without CiphertextBlob is a ValidationException", "[ops][encrypt]") {
  OpHarness h;
  CallResult r = h.Call("Decrypt", "{}");
  CHECK(r.status == 400);
  CHECK(r.type == "ValidationException");
}

TEST_CASE("Decrypt with another key's KeyId is IncorrectKeyException", "[ops][encrypt]") {
  OpHarness h;
  const std::string key = h.CreateSymmetricKey();
  const std::string other = h.CreateSymmetricKey();
  const std::string blob = EncryptOk(h, key, "secret");
  const std::string other_ref = RefOf(h, GENERATE(as<std::string>{}, "key id", "key ARN"), other);

  CallResult r = h.Call("Decrypt", DecryptBody(blob, std::nullopt, other_ref));
  CHECK(r.status == 400);
  CHECK(r.type == "IncorrectKeyException");
  CHECK(r.message ==
        "The key ID in the request does not identify a CMK that can perform this operation.");
}

TEST_CASE("Decrypt with a KeyId that does not exist is NotFoundException", "[ops][encrypt]") {
  OpHarness h;
  const std::string key = h.CreateSymmetricKey();
  const std::string blob = EncryptOk(h, key, "secret");
  CallResult r = h.Call("Decrypt", DecryptBody(blob, std::nullopt, "alias/nothing"));
  CHECK(r.type == "NotFoundException");
  CHECK(r.message == "Alias arn:aws:kms:us-east-1:111122223333:alias/nothing is not found.");
}

TEST_CASE("A disabled key neither encrypts nor decrypts", "[ops][encrypt]") {
  OpHarness h;
  const std::string key = h.CreateSymmetricKey();
  const std::string blob = EncryptOk(h, key, "secret");
  REQUIRE(h.Call("DisableKey", KeyIdBody(key)).status == 200);

  const std::string expected = h.Arn(key) + " is disabled.";
  CallResult enc = h.Call("Encrypt", EncryptBody(key, "secret"));
  CHECK(enc.type == "DisabledException");
  CHECK(enc.message == expected);
  CallResult dec = h.Call("Decrypt", DecryptBody(blob));
  CHECK(dec.type == "DisabledException");
  CHECK(dec.message == expected);
}

TEST_CASE("A key pending deletion neither encrypts nor decrypts; once gone it is not found",
          "[ops][encrypt]") {
  OpHarness h;
  const std::string key = h.CreateSymmetricKey();
  const std::string blob = EncryptOk(h, key, "secret");
  h.ScheduleDeletion(key);

  const std::string expected = h.Arn(key) + " is pending deletion.";
  CallResult enc = h.Call("Encrypt", EncryptBody(key, "secret"));
  CHECK(enc.type == "KMSInvalidStateException");
  CHECK(enc.message == expected);
  CallResult dec = h.Call("Decrypt", DecryptBody(blob));
  CHECK(dec.type == "KMSInvalidStateException");
  CHECK(dec.message == expected);

  h.clock().Advance(7 * kDay + 1);
  CallResult gone = h.Call("Encrypt", EncryptBody(key, "secret"));
  CHECK(gone.type == "NotFoundException");
  CHECK(gone.message == "Key '" + h.Arn(key) + "' does not exist");
  RequireEmptyInvalidCiphertext(h.Call("Decrypt", DecryptBody(blob)));
}

TEST_CASE("Encrypt with a key that is not for encryption is InvalidKeyUsageException",
          "[ops][encrypt]") {
  OpHarness h;
  const std::string key = h.CreateSymmetricKey();
  const std::string hmac = "11111111-2222-4333-8444-555555555555";
  h.InsertKeyLike(key, hmac, "HMAC_256", "GENERATE_VERIFY_MAC");

  CallResult r = h.Call("Encrypt", EncryptBody(hmac, "secret"));
  CHECK(r.type == "InvalidKeyUsageException");
  CHECK(r.message ==
        h.Arn(hmac) + " key usage is GENERATE_VERIFY_MAC which is not valid for Encrypt.");

  SECTION("and Decrypt naming it as KeyId is IncorrectKeyException") {
    const std::string blob = EncryptOk(h, key, "secret");
    CallResult dec = h.Call("Decrypt", DecryptBody(blob, std::nullopt, hmac));
    CHECK(dec.type == "IncorrectKeyException");
  }
}

TEST_CASE("Encrypt accepts only SYMMETRIC_DEFAULT as EncryptionAlgorithm for a symmetric key",
          "[ops][encrypt]") {
  OpHarness h;
  const std::string key = h.CreateSymmetricKey();
  CallResult ok = h.Call("Encrypt", R"({"KeyId":")" + key +
                                        R"(","Plaintext":"aGk=",)"
                                        R"("EncryptionAlgorithm":"SYMMETRIC_DEFAULT"})");
  CHECK(ok.status == 200);
  CallResult r = h.Call("Encrypt", R"({"KeyId":")" + key +
                                       R"(","Plaintext":"aGk=",)"
                                       R"("EncryptionAlgorithm":"RSAES_OAEP_SHA_256"})");
  CHECK(r.type == "InvalidKeyUsageException");
  CHECK(r.message ==
        "Algorithm RSAES_OAEP_SHA_256 is incompatible with key spec SYMMETRIC_DEFAULT.");
}

TEST_CASE("Encrypt accepts GrantTokens and ignores them", "[ops][encrypt]") {
  OpHarness h;
  const std::string key = h.CreateSymmetricKey();
  CallResult r = h.Call("Encrypt", WithMembers(R"({"KeyId":")" + key + R"(","Plaintext":"aGk="})",
                                               h.GrantTokensMember(key)));
  CHECK(r.status == 200);
}

TEST_CASE("DryRun answers DryRunOperationException after every other check", "[ops][encrypt]") {
  OpHarness h;
  const std::string key = h.CreateSymmetricKey();
  const std::string other = h.CreateSymmetricKey();
  const std::string blob = EncryptOk(h, key, "secret");
  const std::string text = "The request would have succeeded, but the DryRun option is set.";

  CallResult enc =
      h.Call("Encrypt", R"({"KeyId":")" + key + R"(","Plaintext":"aGk=","DryRun":true})");
  CHECK(enc.type == "DryRunOperationException");
  CHECK(enc.message == text);
  CallResult dec = h.Call("Decrypt", R"({"CiphertextBlob":")" + blob + R"(","DryRun":true})");
  CHECK(dec.type == "DryRunOperationException");
  CHECK(dec.message == text);
  CallResult re =
      h.Call("ReEncrypt", R"({"CiphertextBlob":")" + blob + R"(","DestinationKeyId":")" + other +
                              R"(","DryRun":true})");
  CHECK(re.type == "DryRunOperationException");

  SECTION("a failing check still wins over DryRun") {
    REQUIRE(h.Call("DisableKey", KeyIdBody(key)).status == 200);
    CallResult disabled =
        h.Call("Encrypt", R"({"KeyId":")" + key + R"(","Plaintext":"aGk=","DryRun":true})");
    CHECK(disabled.type == "DisabledException");
  }
}

TEST_CASE("Decrypt with Recipient is UnsupportedOperationException", "[ops][encrypt]") {
  OpHarness h;
  const std::string key = h.CreateSymmetricKey();
  const std::string blob = EncryptOk(h, key, "secret");
  CallResult r =
      h.Call("Decrypt", R"({"CiphertextBlob":")" + blob +
                            R"(","Recipient":{"KeyEncryptionAlgorithm":"RSAES_OAEP_SHA_256",)"
                            R"("AttestationDocument":"aGk="}})");
  CHECK(r.type == "UnsupportedOperationException");
  CHECK_FALSE(r.message.empty());
}

TEST_CASE("ReEncrypt moves a ciphertext to another key and context", "[ops][encrypt]") {
  OpHarness h;
  const std::string source = h.CreateSymmetricKey();
  const std::string destination = h.CreateSymmetricKey();
  h.CreateAlias("alias/dest", destination);
  const std::string blob = EncryptOk(h, source, "payload", EncryptionContext{{"stage", "one"}});
  const std::string dest_ref =
      RefOf(h, GENERATE(as<std::string>{}, "key id", "key ARN", "alias name", "alias ARN"),
            destination, "alias/dest");

  JsonOut body;
  body.String("CiphertextBlob", blob);
  WriteContext(body, "SourceEncryptionContext", {{"stage", "one"}});
  body.String("DestinationKeyId", dest_ref);
  WriteContext(body, "DestinationEncryptionContext", {{"stage", "two"}});
  CallResult re = h.Call("ReEncrypt", body.Finish());
  REQUIRE(re.status == 200);
  CHECK(re.Str("KeyId") == h.Arn(destination));
  CHECK(re.Str("SourceKeyId") == h.Arn(source));
  CHECK(re.Str("SourceEncryptionAlgorithm") == "SYMMETRIC_DEFAULT");
  CHECK(re.Str("DestinationEncryptionAlgorithm") == "SYMMETRIC_DEFAULT");
  CHECK(re.Str("SourceKeyMaterialId") == h.CurrentKeyMaterialId(source));
  CHECK(re.Str("DestinationKeyMaterialId") == h.CurrentKeyMaterialId(destination));

  const std::string moved = re.Str("CiphertextBlob");
  CallResult dec = h.Call("Decrypt", DecryptBody(moved, EncryptionContext{{"stage", "two"}}));
  REQUIRE(dec.status == 200);
  CHECK(Text(Decoded(dec, "Plaintext")) == "payload");
  CHECK(dec.Str("KeyId") == h.Arn(destination));
  RequireEmptyInvalidCiphertext(
      h.Call("Decrypt", DecryptBody(moved, EncryptionContext{{"stage", "one"}})));
}

TEST_CASE("ReEncrypt checks the source like Decrypt does", "[ops][encrypt]") {
  OpHarness h;
  const std::string source = h.CreateSymmetricKey();
  const std::string destination = h.CreateSymmetricKey();
  const std::string blob = EncryptOk(h, source, "payload", EncryptionContext{{"a", "b"}});

  SECTION("a wrong source context") {
    RequireEmptyInvalidCiphertext(
        h.Call("ReEncrypt", R"({"CiphertextBlob":")" + blob + R"(","DestinationKeyId":")" +
                                destination + R"(","SourceEncryptionContext":{"a":"c"}})"));
  }
  SECTION("a SourceKeyId naming another key") {
    CallResult r = h.Call("ReEncrypt", R"({"CiphertextBlob":")" + blob + R"(","SourceKeyId":")" +
                                           destination + R"(","DestinationKeyId":")" + destination +
                                           R"(","SourceEncryptionContext":{"a":"b"}})");
    CHECK(r.type == "IncorrectKeyException");
    CHECK(r.message ==
          "The key ID in the request does not identify a CMK that can perform this operation.");
  }
  SECTION("a SourceKeyId naming the right key") {
    CallResult r =
        h.Call("ReEncrypt", R"({"CiphertextBlob":")" + blob + R"(","SourceKeyId":")" +
                                h.Arn(source) + R"(","DestinationKeyId":")" + destination +
                                R"(","SourceEncryptionContext":{"a":"b"}})");
    CHECK(r.status == 200);
  }
  SECTION("a disabled destination") {
    REQUIRE(h.Call("DisableKey", KeyIdBody(destination)).status == 200);
    CallResult r =
        h.Call("ReEncrypt", R"({"CiphertextBlob":")" + blob + R"(","DestinationKeyId":")" +
                                destination + R"(","SourceEncryptionContext":{"a":"b"}})");
    CHECK(r.type == "DisabledException");
    CHECK(r.message == h.Arn(destination) + " is disabled.");
  }
  SECTION("a missing CiphertextBlob") {
    CallResult r = h.Call("ReEncrypt", R"({"DestinationKeyId":")" + destination + R"("})");
    CHECK(r.type == "ValidationException");
  }
}

TEST_CASE("Old ciphertexts still decrypt after the key material changes", "[ops][encrypt]") {
  OpHarness h;
  const std::string key = h.CreateSymmetricKey();
  const std::string first_id = h.CurrentKeyMaterialId(key);
  const std::string old_blob = EncryptOk(h, key, "before");
  const std::string second_id = AddMaterialVersion(h, key);
  const std::string new_blob = EncryptOk(h, key, "after");

  CallResult old_dec = h.Call("Decrypt", DecryptBody(old_blob));
  REQUIRE(old_dec.status == 200);
  CHECK(Text(Decoded(old_dec, "Plaintext")) == "before");
  CHECK(old_dec.Str("KeyMaterialId") == first_id);

  CallResult new_dec = h.Call("Decrypt", DecryptBody(new_blob));
  REQUIRE(new_dec.status == 200);
  CHECK(Text(Decoded(new_dec, "Plaintext")) == "after");
  CHECK(new_dec.Str("KeyMaterialId") == second_id);
  CHECK(second_id != first_id);
}

// Decision: a blob whose key is in another region names no key the caller can see, so it is
// not a valid ciphertext here (rather than NotFoundException, which would leak that the key
// exists elsewhere).
TEST_CASE("A blob made in eu-west-2 does not decrypt from us-east-1", "[ops][encrypt]") {
  OpHarness h;
  const std::string key = h.CreateSymmetricKey("eu-west-2");
  const std::string blob = EncryptOk(h, key, "regional", std::nullopt, "eu-west-2");

  CallResult home = h.Call("Decrypt", DecryptBody(blob), "eu-west-2");
  REQUIRE(home.status == 200);
  CHECK(home.Str("KeyId") == h.Arn(key, "eu-west-2"));

  RequireEmptyInvalidCiphertext(h.Call("Decrypt", DecryptBody(blob), "us-east-1"));
  RequireEmptyInvalidCiphertext(h.Call("Decrypt", DecryptBody(blob)));
  const std::string local = h.CreateSymmetricKey();
  RequireEmptyInvalidCiphertext(h.Call("Decrypt", DecryptBody(blob, std::nullopt, local)));

  SECTION("and Encrypt from us-east-1 does not find the key") {
    CallResult r = h.Call("Encrypt", EncryptBody(key, "x"), "us-east-1");
    CHECK(r.type == "NotFoundException");
    CHECK(r.message == "Key '" + h.Arn(key) + "' does not exist");
  }
}

// ---------------------------------------------------------------------------------------------
// Asymmetric keys: RSA_* with RSAES_OAEP_SHA_1 / RSAES_OAEP_SHA_256, SM2 with SM2PKE.

namespace {

// An Encrypt body with EncryptionAlgorithm (omitted when empty) and raw plaintext bytes.
std::string AsymEncryptBody(std::string_view key_ref, const Bytes& plaintext,
                            std::string_view algorithm) {
  JsonOut out;
  out.String("KeyId", key_ref);
  out.String("Plaintext", B64(plaintext));
  if (!algorithm.empty()) out.String("EncryptionAlgorithm", algorithm);
  return out.Finish();
}

// A Decrypt body with KeyId and EncryptionAlgorithm (each omitted when empty).
std::string AsymDecryptBody(const std::string& blob_b64, std::string_view key_ref,
                            std::string_view algorithm) {
  JsonOut out;
  out.String("CiphertextBlob", blob_b64);
  if (!key_ref.empty()) out.String("KeyId", key_ref);
  if (!algorithm.empty()) out.String("EncryptionAlgorithm", algorithm);
  return out.Finish();
}

Bytes Pattern(std::size_t n) {
  Bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(i * 31 + 7);
  return b;
}

struct AsymCase {
  const char* spec;
  const char* algorithm;
  std::size_t limit;         // AWS's plaintext limit
  std::size_t output_bytes;  // RSA: the modulus; 0 for SM2 (DER, variable)
};

const AsymCase kAsymCases[] = {
    {"RSA_2048", "RSAES_OAEP_SHA_1", 214, 256},
    {"RSA_2048", "RSAES_OAEP_SHA_256", 190, 256},
    {"RSA_3072", "RSAES_OAEP_SHA_1", 342, 384},
    {"RSA_3072", "RSAES_OAEP_SHA_256", 318, 384},
    {"RSA_4096", "RSAES_OAEP_SHA_1", 470, 512},
    {"RSA_4096", "RSAES_OAEP_SHA_256", 446, 512},
    {"SM2", "SM2PKE", 1024, 0},
};

void RequireInvalidKeyUsage(const CallResult& r, const std::string& message) {
  CHECK(r.status == 400);
  CHECK(r.type == "InvalidKeyUsageException");
  CHECK(r.message == message);
}

}  // namespace

TEST_CASE(
    "Asymmetric Encrypt takes exactly AWS's limit, refuses one byte more, and Decrypt "
    "returns the plaintext",
    "[ops][encrypt][asymmetric]") {
  OpHarness h;
  const std::string spec = GENERATE(as<std::string>{}, "RSA_2048", "RSA_3072", "RSA_4096", "SM2");
  const std::string key = h.CreateKeyOf(spec, "ENCRYPT_DECRYPT");
  for (const AsymCase& c : kAsymCases) {
    if (c.spec != spec) continue;
    CAPTURE(c.spec, c.algorithm);
    const Bytes plaintext = Pattern(c.limit);
    CallResult enc = h.Call("Encrypt", AsymEncryptBody(key, plaintext, c.algorithm));
    REQUIRE(enc.status == 200);
    CHECK(enc.Str("KeyId") == h.Arn(key));
    CHECK(enc.Str("EncryptionAlgorithm") == c.algorithm);
    const Bytes blob = Decoded(enc, "CiphertextBlob");
    if (c.output_bytes != 0) CHECK(blob.size() == c.output_bytes);

    CallResult dec = h.Call("Decrypt", AsymDecryptBody(B64(blob), h.Arn(key), c.algorithm));
    REQUIRE(dec.status == 200);
    CHECK(Decoded(dec, "Plaintext") == plaintext);
    CHECK(dec.Str("KeyId") == h.Arn(key));
    CHECK(dec.Str("EncryptionAlgorithm") == c.algorithm);
    CHECK_FALSE(dec.json.HasMember("KeyMaterialId"));

    CallResult over = h.Call("Encrypt", AsymEncryptBody(key, Pattern(c.limit + 1), c.algorithm));
    CHECK(over.status == 400);
    CHECK(over.type == "ValidationException");
    CHECK(over.message == "Algorithm " + std::string(c.algorithm) + " and key spec " + spec +
                              " cannot encrypt data larger than " + std::to_string(c.limit) +
                              " bytes.");
  }
}

TEST_CASE("Data encrypted offline with GetPublicKey's DER decrypts through Decrypt",
          "[ops][encrypt][asymmetric]") {
  OpHarness h;
  const AsymCase c = GENERATE(
      values(std::initializer_list<AsymCase>{kAsymCases[0], kAsymCases[1], kAsymCases[6]}));
  CAPTURE(c.spec, c.algorithm);
  const std::string key = h.CreateKeyOf(c.spec, "ENCRYPT_DECRYPT");
  CallResult pub = h.Call("GetPublicKey", KeyIdBody(key));
  REQUIRE(pub.status == 200);
  auto public_key = kms::crypto::ParsePublicKey(Decoded(pub, "PublicKey"));
  REQUIRE(public_key);
  const auto cipher = std::string_view(c.algorithm) == "SM2PKE"
                          ? kms::crypto::AsymmetricCipher::kSm2
                          : (std::string_view(c.algorithm) == "RSAES_OAEP_SHA_1"
                                 ? kms::crypto::AsymmetricCipher::kRsaOaepSha1
                                 : kms::crypto::AsymmetricCipher::kRsaOaepSha256);
  auto blob =
      kms::crypto::AsymmetricEncrypt(public_key->get(), cipher, kms::crypto::AsBytes("offline"));
  REQUIRE(blob);
  CallResult dec = h.Call("Decrypt", AsymDecryptBody(B64(*blob), key, c.algorithm));
  REQUIRE(dec.status == 200);
  CHECK(Text(Decoded(dec, "Plaintext")) == "offline");
}

TEST_CASE("Asymmetric Encrypt and Decrypt need an algorithm the key lists",
          "[ops][encrypt][asymmetric]") {
  OpHarness h;
  const std::string rsa = h.CreateKeyOf("RSA_2048", "ENCRYPT_DECRYPT");
  const std::string sm2 = h.CreateKeyOf("SM2", "ENCRYPT_DECRYPT");
  const Bytes data = Pattern(4);

  SECTION("Encrypt without EncryptionAlgorithm means SYMMETRIC_DEFAULT, which RSA keys lack") {
    RequireInvalidKeyUsage(h.Call("Encrypt", AsymEncryptBody(rsa, data, "")),
                           "Algorithm SYMMETRIC_DEFAULT is incompatible with key spec RSA_2048.");
    RequireInvalidKeyUsage(h.Call("Encrypt", AsymEncryptBody(sm2, data, "SYMMETRIC_DEFAULT")),
                           "Algorithm SYMMETRIC_DEFAULT is incompatible with key spec SM2.");
  }
  SECTION("an algorithm of another key spec") {
    RequireInvalidKeyUsage(h.Call("Encrypt", AsymEncryptBody(rsa, data, "SM2PKE")),
                           "Algorithm SM2PKE is incompatible with key spec RSA_2048.");
    RequireInvalidKeyUsage(h.Call("Encrypt", AsymEncryptBody(sm2, data, "RSAES_OAEP_SHA_256")),
                           "Algorithm RSAES_OAEP_SHA_256 is incompatible with key spec SM2.");
  }
  SECTION("Decrypt without EncryptionAlgorithm") {
    CallResult enc = h.Call("Encrypt", AsymEncryptBody(rsa, data, "RSAES_OAEP_SHA_256"));
    REQUIRE(enc.status == 200);
    RequireInvalidKeyUsage(h.Call("Decrypt", AsymDecryptBody(enc.Str("CiphertextBlob"), rsa, "")),
                           "Algorithm SYMMETRIC_DEFAULT is incompatible with key spec RSA_2048.");
  }
  SECTION("Decrypt with the other OAEP hash does not decrypt") {
    CallResult enc = h.Call("Encrypt", AsymEncryptBody(rsa, data, "RSAES_OAEP_SHA_256"));
    REQUIRE(enc.status == 200);
    RequireEmptyInvalidCiphertext(
        h.Call("Decrypt", AsymDecryptBody(enc.Str("CiphertextBlob"), rsa, "RSAES_OAEP_SHA_1")));
  }
}

TEST_CASE("Asymmetric Decrypt answers InvalidCiphertextException for what does not decrypt",
          "[ops][encrypt][asymmetric]") {
  OpHarness h;
  const std::string spec = GENERATE(as<std::string>{}, "RSA_2048", "SM2");
  const std::string algorithm = spec == "SM2" ? "SM2PKE" : "RSAES_OAEP_SHA_256";
  const std::string key = h.CreateKeyOf(spec, "ENCRYPT_DECRYPT");
  CallResult enc = h.Call("Encrypt", AsymEncryptBody(key, Pattern(64), algorithm));
  REQUIRE(enc.status == 200);
  const Bytes blob = Decoded(enc, "CiphertextBlob");

  SECTION("without KeyId the ciphertext is not a kmsd blob") {
    RequireEmptyInvalidCiphertext(h.Call("Decrypt", AsymDecryptBody(B64(blob), "", algorithm)));
  }
  SECTION("a flipped bit anywhere") {
    for (std::size_t i : {std::size_t{0}, blob.size() / 2, blob.size() - 1}) {
      Bytes tampered = blob;
      tampered[i] ^= 0x01;
      INFO("byte " << i);
      RequireEmptyInvalidCiphertext(
          h.Call("Decrypt", AsymDecryptBody(B64(tampered), key, algorithm)));
    }
  }
  SECTION("truncated, extended or random bytes") {
    Bytes truncated(blob.begin(), blob.end() - 1);
    Bytes longer = blob;
    longer.push_back(0);
    for (const Bytes& bad : {truncated, longer, Pattern(1), Pattern(blob.size())}) {
      RequireEmptyInvalidCiphertext(h.Call("Decrypt", AsymDecryptBody(B64(bad), key, algorithm)));
    }
  }
  SECTION("another key of the same spec") {
    const std::string other = h.CreateKeyOf(spec, "ENCRYPT_DECRYPT");
    RequireEmptyInvalidCiphertext(h.Call("Decrypt", AsymDecryptBody(B64(blob), other, algorithm)));
  }
  SECTION("a symmetric blob sent with an asymmetric KeyId") {
    const std::string symmetric = h.CreateSymmetricKey();
    const std::string sym_blob = EncryptOk(h, symmetric, "x");
    RequireEmptyInvalidCiphertext(h.Call("Decrypt", AsymDecryptBody(sym_blob, key, algorithm)));
  }
}

TEST_CASE("Asymmetric keys take no EncryptionContext", "[ops][encrypt][asymmetric]") {
  OpHarness h;
  const std::string key = h.CreateKeyOf("RSA_2048", "ENCRYPT_DECRYPT");
  JsonOut body;
  body.String("KeyId", key);
  body.String("Plaintext", B64("x"));
  body.String("EncryptionAlgorithm", "RSAES_OAEP_SHA_1");
  WriteContext(body, "EncryptionContext", {{"purpose", "test"}});
  CallResult r = h.Call("Encrypt", body.Finish());
  CHECK(r.status == 400);
  CHECK(r.type == "ValidationException");
  CHECK(r.message ==
        "EncryptionContext is not supported with asymmetric KMS keys (key spec RSA_2048).");

  SECTION("an empty context is the same as none") {
    JsonOut empty;
    empty.String("KeyId", key);
    empty.String("Plaintext", B64("x"));
    empty.String("EncryptionAlgorithm", "RSAES_OAEP_SHA_1");
    WriteContext(empty, "EncryptionContext", {});
    CallResult ok = h.Call("Encrypt", empty.Finish());
    REQUIRE(ok.status == 200);

    JsonOut dec;
    dec.String("CiphertextBlob", ok.Str("CiphertextBlob"));
    dec.String("KeyId", key);
    dec.String("EncryptionAlgorithm", "RSAES_OAEP_SHA_1");
    WriteContext(dec, "EncryptionContext", {{"purpose", "test"}});
    CallResult refused = h.Call("Decrypt", dec.Finish());
    CHECK(refused.type == "ValidationException");
  }
}

TEST_CASE("Encrypt refuses asymmetric keys that are not for encryption",
          "[ops][encrypt][asymmetric]") {
  OpHarness h;
  const auto [spec, usage] = GENERATE(table<std::string, std::string>({
      {"RSA_2048", "SIGN_VERIFY"},
      {"ECC_NIST_P256", "SIGN_VERIFY"},
      {"ECC_NIST_P384", "KEY_AGREEMENT"},
      {"SM2", "SIGN_VERIFY"},
  }));
  const std::string key = h.CreateKeyOf(spec, usage);
  RequireInvalidKeyUsage(
      h.Call("Encrypt", AsymEncryptBody(key, Pattern(8), "RSAES_OAEP_SHA_256")),
      h.Arn(key) + " key usage is " + usage + " which is not valid for Encrypt.");

  SECTION("and as Decrypt's KeyId for a symmetric blob it is another key") {
    const std::string blob = EncryptOk(h, h.CreateSymmetricKey(), "x");
    CallResult r = h.Call("Decrypt", DecryptBody(blob, std::nullopt, key));
    CHECK(r.type == "IncorrectKeyException");
  }
}

TEST_CASE("A disabled asymmetric key neither encrypts nor decrypts", "[ops][encrypt][asymmetric]") {
  OpHarness h;
  const std::string key = h.CreateKeyOf("RSA_2048", "ENCRYPT_DECRYPT");
  CallResult enc = h.Call("Encrypt", AsymEncryptBody(key, Pattern(8), "RSAES_OAEP_SHA_256"));
  REQUIRE(enc.status == 200);
  REQUIRE(h.Call("DisableKey", KeyIdBody(key)).status == 200);
  CallResult e = h.Call("Encrypt", AsymEncryptBody(key, Pattern(8), "RSAES_OAEP_SHA_256"));
  CHECK(e.type == "DisabledException");
  CHECK(e.message == h.Arn(key) + " is disabled.");
  CallResult d =
      h.Call("Decrypt", AsymDecryptBody(enc.Str("CiphertextBlob"), key, "RSAES_OAEP_SHA_256"));
  CHECK(d.type == "DisabledException");
}

TEST_CASE("DryRun on asymmetric Encrypt and Decrypt answers DryRunOperationException",
          "[ops][encrypt][asymmetric]") {
  OpHarness h;
  const std::string key = h.CreateKeyOf("RSA_2048", "ENCRYPT_DECRYPT");
  CallResult enc = h.Call("Encrypt", AsymEncryptBody(key, Pattern(8), "RSAES_OAEP_SHA_1"));
  REQUIRE(enc.status == 200);
  CallResult e = h.Call("Encrypt", WithMembers(AsymEncryptBody(key, Pattern(8), "RSAES_OAEP_SHA_1"),
                                               "\"DryRun\":true"));
  CHECK(e.type == "DryRunOperationException");
  CallResult d = h.Call(
      "Decrypt", WithMembers(AsymDecryptBody(enc.Str("CiphertextBlob"), key, "RSAES_OAEP_SHA_1"),
                             "\"DryRun\":true"));
  CHECK(d.type == "DryRunOperationException");
  // The limit is checked before DryRun answers.
  CallResult over = h.Call(
      "Encrypt",
      WithMembers(AsymEncryptBody(key, Pattern(215), "RSAES_OAEP_SHA_1"), "\"DryRun\":true"));
  CHECK(over.type == "ValidationException");
}

TEST_CASE("ReEncrypt moves ciphertexts between symmetric and asymmetric keys",
          "[ops][encrypt][asymmetric]") {
  OpHarness h;
  const std::string symmetric = h.CreateSymmetricKey();
  const std::string rsa = h.CreateKeyOf("RSA_2048", "ENCRYPT_DECRYPT");
  const std::string sm2 = h.CreateKeyOf("SM2", "ENCRYPT_DECRYPT");

  SECTION("symmetric to RSA") {
    const std::string blob = EncryptOk(h, symmetric, "payload", EncryptionContext{{"a", "b"}});
    JsonOut body;
    body.String("CiphertextBlob", blob);
    WriteContext(body, "SourceEncryptionContext", {{"a", "b"}});
    body.String("DestinationKeyId", rsa);
    body.String("DestinationEncryptionAlgorithm", "RSAES_OAEP_SHA_256");
    CallResult re = h.Call("ReEncrypt", body.Finish());
    REQUIRE(re.status == 200);
    CHECK(re.Str("SourceKeyId") == h.Arn(symmetric));
    CHECK(re.Str("KeyId") == h.Arn(rsa));
    CHECK(re.Str("SourceEncryptionAlgorithm") == "SYMMETRIC_DEFAULT");
    CHECK(re.Str("DestinationEncryptionAlgorithm") == "RSAES_OAEP_SHA_256");
    CHECK(re.Str("SourceKeyMaterialId") == h.CurrentKeyMaterialId(symmetric));
    CHECK_FALSE(re.json.HasMember("DestinationKeyMaterialId"));
    CHECK(Decoded(re, "CiphertextBlob").size() == 256);
    CallResult dec =
        h.Call("Decrypt", AsymDecryptBody(re.Str("CiphertextBlob"), rsa, "RSAES_OAEP_SHA_256"));
    REQUIRE(dec.status == 200);
    CHECK(Text(Decoded(dec, "Plaintext")) == "payload");
  }
  SECTION("RSA to symmetric, and RSA to SM2") {
    CallResult enc = h.Call("Encrypt", AsymEncryptBody(rsa, Pattern(100), "RSAES_OAEP_SHA_1"));
    REQUIRE(enc.status == 200);
    JsonOut body;
    body.String("CiphertextBlob", enc.Str("CiphertextBlob"));
    body.String("SourceKeyId", rsa);
    body.String("SourceEncryptionAlgorithm", "RSAES_OAEP_SHA_1");
    body.String("DestinationKeyId", symmetric);
    WriteContext(body, "DestinationEncryptionContext", {{"stage", "two"}});
    CallResult re = h.Call("ReEncrypt", body.Finish());
    REQUIRE(re.status == 200);
    CHECK(re.Str("SourceKeyId") == h.Arn(rsa));
    CHECK(re.Str("SourceEncryptionAlgorithm") == "RSAES_OAEP_SHA_1");
    CHECK(re.Str("DestinationEncryptionAlgorithm") == "SYMMETRIC_DEFAULT");
    CHECK_FALSE(re.json.HasMember("SourceKeyMaterialId"));
    CHECK(re.Str("DestinationKeyMaterialId") == h.CurrentKeyMaterialId(symmetric));
    CallResult dec = h.Call(
        "Decrypt", DecryptBody(re.Str("CiphertextBlob"), EncryptionContext{{"stage", "two"}}));
    REQUIRE(dec.status == 200);
    CHECK(Decoded(dec, "Plaintext") == Pattern(100));

    JsonOut to_sm2;
    to_sm2.String("CiphertextBlob", enc.Str("CiphertextBlob"));
    to_sm2.String("SourceKeyId", rsa);
    to_sm2.String("SourceEncryptionAlgorithm", "RSAES_OAEP_SHA_1");
    to_sm2.String("DestinationKeyId", sm2);
    to_sm2.String("DestinationEncryptionAlgorithm", "SM2PKE");
    CallResult moved = h.Call("ReEncrypt", to_sm2.Finish());
    REQUIRE(moved.status == 200);
    CallResult sm2_dec =
        h.Call("Decrypt", AsymDecryptBody(moved.Str("CiphertextBlob"), sm2, "SM2PKE"));
    REQUIRE(sm2_dec.status == 200);
    CHECK(Decoded(sm2_dec, "Plaintext") == Pattern(100));
  }
  SECTION("an asymmetric source without SourceEncryptionAlgorithm") {
    CallResult enc = h.Call("Encrypt", AsymEncryptBody(rsa, Pattern(10), "RSAES_OAEP_SHA_1"));
    REQUIRE(enc.status == 200);
    CallResult re = h.Call("ReEncrypt", R"({"CiphertextBlob":")" + enc.Str("CiphertextBlob") +
                                            R"(","SourceKeyId":")" + rsa +
                                            R"(","DestinationKeyId":")" + symmetric + R"("})");
    RequireInvalidKeyUsage(re,
                           "Algorithm SYMMETRIC_DEFAULT is incompatible with key spec RSA_2048.");
  }
  SECTION("a plaintext over the destination's limit") {
    const std::string blob = EncryptOk(h, symmetric, std::string(215, 'p'));
    CallResult re =
        h.Call("ReEncrypt", R"({"CiphertextBlob":")" + blob + R"(","DestinationKeyId":")" + rsa +
                                R"(","DestinationEncryptionAlgorithm":"RSAES_OAEP_SHA_1"})");
    CHECK(re.type == "ValidationException");
    CHECK(re.message ==
          "Algorithm RSAES_OAEP_SHA_1 and key spec RSA_2048 cannot encrypt data larger than 214 "
          "bytes.");
  }
  SECTION("a destination context for an asymmetric destination") {
    const std::string blob = EncryptOk(h, symmetric, "x");
    CallResult re =
        h.Call("ReEncrypt", R"({"CiphertextBlob":")" + blob + R"(","DestinationKeyId":")" + rsa +
                                R"(","DestinationEncryptionAlgorithm":"RSAES_OAEP_SHA_1",)"
                                R"("DestinationEncryptionContext":{"a":"b"}})");
    CHECK(re.type == "ValidationException");
    CHECK(re.message ==
          "DestinationEncryptionContext is not supported with asymmetric KMS keys "
          "(key spec RSA_2048).");
  }
  SECTION("a signing destination") {
    const std::string signer = h.CreateKeyOf("RSA_2048", "SIGN_VERIFY");
    const std::string blob = EncryptOk(h, symmetric, "x");
    CallResult re = h.Call("ReEncrypt", R"({"CiphertextBlob":")" + blob +
                                            R"(","DestinationKeyId":")" + signer + R"("})");
    RequireInvalidKeyUsage(
        re, h.Arn(signer) + " key usage is SIGN_VERIFY which is not valid for ReEncrypt.");
  }
}
