// Tests for server/ops/encrypt.cpp: Encrypt, Decrypt, ReEncrypt, through the dispatcher.
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <catch2/catch.hpp>

#include "crypto/base64.hpp"
#include "crypto/bytes.hpp"
#include "crypto/ciphertext_blob.hpp"
#include "crypto/encryption_context.hpp"
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
  CallResult r =
      h.Call("Encrypt", R"({"KeyId":")" + key + R"(","Plaintext":"aGk=","GrantTokens":["token"]})");
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
