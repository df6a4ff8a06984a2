// Tests for server/ops/data_keys.cpp: GenerateDataKey[Pair][WithoutPlaintext] and
// GenerateRandom, through the dispatcher.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <catch2/catch.hpp>
#include <openssl/evp.h>

#include "crypto/base64.hpp"
#include "crypto/bytes.hpp"
#include "crypto/encryption_context.hpp"
#include "crypto/key_pair.hpp"
#include "server/protocol/json_io.hpp"
#include "tests/unit/server/ops/op_harness.hpp"

namespace {

using kms::crypto::Bytes;
using kms::crypto::EncryptionContext;
using kms::server::JsonOut;
using namespace kms::testing;

// A GenerateDataKey* request body; KeySpec AES_256 unless told otherwise.
std::string Body(std::string_view key_ref, std::optional<std::string> key_spec = "AES_256",
                 std::optional<std::int64_t> number_of_bytes = std::nullopt,
                 const std::optional<EncryptionContext>& context = std::nullopt,
                 bool dry_run = false) {
  JsonOut out;
  out.String("KeyId", key_ref);
  if (key_spec) out.String("KeySpec", *key_spec);
  if (number_of_bytes) out.Int("NumberOfBytes", *number_of_bytes);
  if (context) WriteContext(out, "EncryptionContext", *context);
  if (dry_run) out.Bool("DryRun", true);
  return out.Finish();
}

std::string RandomBody(std::int64_t n) { return R"({"NumberOfBytes":)" + std::to_string(n) + "}"; }

}  // namespace

TEST_CASE("GenerateDataKey returns a plaintext that Decrypt recovers from its CiphertextBlob",
          "[ops][data_keys]") {
  OpHarness h;
  const std::string key = h.CreateSymmetricKey();
  h.CreateAlias("alias/dk", key);
  const std::string ref =
      RefOf(h, GENERATE(as<std::string>{}, "key id", "key ARN", "alias name", "alias ARN"), key,
            "alias/dk");
  const EncryptionContext context{{"bucket", "logs"}, {"object", "2026/01/01.gz"}};

  CallResult r = h.Call("GenerateDataKey", Body(ref, "AES_256", std::nullopt, context));
  REQUIRE(r.status == 200);
  CHECK(r.Str("KeyId") == h.Arn(key));
  CHECK(r.Str("KeyMaterialId") == h.CurrentKeyMaterialId(key));
  const Bytes plaintext = Decoded(r, "Plaintext");
  CHECK(plaintext.size() == 32);

  CallResult dec = h.Call("Decrypt", DecryptBody(r.Str("CiphertextBlob"), context));
  REQUIRE(dec.status == 200);
  CHECK(Decoded(dec, "Plaintext") == plaintext);
  CHECK(dec.Str("KeyId") == h.Arn(key));
}

TEST_CASE("GenerateDataKey sizes the key from KeySpec or NumberOfBytes", "[ops][data_keys]") {
  OpHarness h;
  const std::string key = h.CreateSymmetricKey();
  SECTION("KeySpec") {
    auto [spec, size] =
        GENERATE(table<std::string, std::size_t>({{"AES_128", 16}, {"AES_256", 32}}));
    CallResult r = h.Call("GenerateDataKey", Body(key, spec));
    REQUIRE(r.status == 200);
    CHECK(Decoded(r, "Plaintext").size() == size);
  }
  SECTION("NumberOfBytes") {
    const std::int64_t n = GENERATE(1, 2, 31, 64, 1023, 1024);
    CallResult r = h.Call("GenerateDataKey", Body(key, std::nullopt, n));
    REQUIRE(r.status == 200);
    const Bytes plaintext = Decoded(r, "Plaintext");
    CHECK(plaintext.size() == static_cast<std::size_t>(n));
    CallResult dec = h.Call("Decrypt", DecryptBody(r.Str("CiphertextBlob")));
    REQUIRE(dec.status == 200);
    CHECK(Decoded(dec, "Plaintext") == plaintext);
  }
}

TEST_CASE("Two data keys are never the same", "[ops][data_keys]") {
  OpHarness h;
  const std::string key = h.CreateSymmetricKey();
  CallResult a = h.Call("GenerateDataKey", Body(key));
  CallResult b = h.Call("GenerateDataKey", Body(key));
  REQUIRE(a.status == 200);
  REQUIRE(b.status == 200);
  CHECK(a.Str("Plaintext") != b.Str("Plaintext"));
  CHECK(a.Str("CiphertextBlob") != b.Str("CiphertextBlob"));
}

TEST_CASE("GenerateDataKeyWithoutPlaintext gives a blob that decrypts only with its context",
          "[ops][data_keys]") {
  OpHarness h;
  const std::string key = h.CreateSymmetricKey();
  const EncryptionContext context{{"tenant", "a"}};

  CallResult r =
      h.Call("GenerateDataKeyWithoutPlaintext", Body(key, "AES_128", std::nullopt, context));
  REQUIRE(r.status == 200);
  CHECK_FALSE(r.json.HasMember("Plaintext"));
  CHECK(r.Str("KeyId") == h.Arn(key));
  CHECK(r.Str("KeyMaterialId") == h.CurrentKeyMaterialId(key));

  CallResult dec = h.Call("Decrypt", DecryptBody(r.Str("CiphertextBlob"), context));
  REQUIRE(dec.status == 200);
  CHECK(Decoded(dec, "Plaintext").size() == 16);

  CallResult wrong =
      h.Call("Decrypt", DecryptBody(r.Str("CiphertextBlob"), EncryptionContext{{"tenant", "b"}}));
  CHECK(wrong.type == "InvalidCiphertextException");
  CHECK(wrong.message.empty());
  CallResult missing = h.Call("Decrypt", DecryptBody(r.Str("CiphertextBlob")));
  CHECK(missing.type == "InvalidCiphertextException");
}

TEST_CASE("Exactly one of KeySpec and NumberOfBytes is required", "[ops][data_keys]") {
  OpHarness h;
  const std::string key = h.CreateSymmetricKey();
  const std::string op =
      GENERATE(as<std::string>{}, "GenerateDataKey", "GenerateDataKeyWithoutPlaintext");
  SECTION("both") {
    CallResult r = h.Call(op, Body(key, "AES_256", 32));
    CHECK(r.type == "ValidationException");
    CHECK(r.message == "Please specify either number of bytes or key spec.");
  }
  SECTION("neither") {
    CallResult r = h.Call(op, Body(key, std::nullopt));
    CHECK(r.type == "ValidationException");
    CHECK(r.message == "Please specify either number of bytes or key spec.");
  }
}

TEST_CASE("NumberOfBytes outside 1..1024 gets the model's message", "[ops][data_keys]") {
  OpHarness h;
  const std::string key = h.CreateSymmetricKey();
  SECTION("0") {
    CallResult r = h.Call("GenerateDataKey", Body(key, std::nullopt, 0));
    CHECK(r.type == "ValidationException");
    CHECK(r.message ==
          "1 validation error detected: Value '0' at 'numberOfBytes' failed to satisfy "
          "constraint: Member must have value greater than or equal to 1");
    CallResult random = h.Call("GenerateRandom", RandomBody(0));
    CHECK(random.type == "ValidationException");
    CHECK(random.message == r.message);
  }
  SECTION("1025") {
    CallResult r = h.Call("GenerateDataKey", Body(key, std::nullopt, 1025));
    CHECK(r.type == "ValidationException");
    CHECK(r.message ==
          "1 validation error detected: Value '1025' at 'numberOfBytes' failed to satisfy "
          "constraint: Member must have value less than or equal to 1024");
    CallResult random = h.Call("GenerateRandom", RandomBody(1025));
    CHECK(random.type == "ValidationException");
    CHECK(random.message == r.message);
  }
}

TEST_CASE("GenerateDataKey checks the key's state and usage", "[ops][data_keys]") {
  OpHarness h;
  const std::string key = h.CreateSymmetricKey();
  const std::string op =
      GENERATE(as<std::string>{}, "GenerateDataKey", "GenerateDataKeyWithoutPlaintext");

  SECTION("a disabled key") {
    REQUIRE(h.Call("DisableKey", KeyIdBody(key)).status == 200);
    CallResult r = h.Call(op, Body(key));
    CHECK(r.type == "DisabledException");
    CHECK(r.message == h.Arn(key) + " is disabled.");
  }
  SECTION("a key pending deletion") {
    h.ScheduleDeletion(key);
    CallResult r = h.Call(op, Body(key));
    CHECK(r.type == "KMSInvalidStateException");
    CHECK(r.message == h.Arn(key) + " is pending deletion.");
  }
  SECTION("a key that does not exist") {
    const std::string missing = "00000000-0000-4000-8000-000000000000";
    CallResult r = h.Call(op, Body(missing));
    CHECK(r.type == "NotFoundException");
    CHECK(r.message == "Key '" + h.Arn(missing) + "' does not exist");
  }
  SECTION("an HMAC key") {
    const std::string hmac = "11111111-2222-4333-8444-555555555555";
    h.InsertKeyLike(key, hmac, "HMAC_256", "GENERATE_VERIFY_MAC");
    CallResult r = h.Call(op, Body(hmac));
    CHECK(r.type == "InvalidKeyUsageException");
    CHECK(r.message ==
          h.Arn(hmac) + " key usage is GENERATE_VERIFY_MAC which is not valid for " + op + ".");
  }
}

TEST_CASE("GenerateDataKey with DryRun answers DryRunOperationException", "[ops][data_keys]") {
  OpHarness h;
  const std::string key = h.CreateSymmetricKey();
  const std::string op =
      GENERATE(as<std::string>{}, "GenerateDataKey", "GenerateDataKeyWithoutPlaintext");
  CallResult r = h.Call(op, Body(key, "AES_256", std::nullopt, std::nullopt, /*dry_run=*/true));
  CHECK(r.type == "DryRunOperationException");
  CHECK(r.message == "The request would have succeeded, but the DryRun option is set.");
}

TEST_CASE("GenerateDataKey with Recipient is UnsupportedOperationException", "[ops][data_keys]") {
  OpHarness h;
  const std::string key = h.CreateSymmetricKey();
  CallResult r = h.Call("GenerateDataKey",
                        R"({"KeyId":")" + key +
                            R"(","KeySpec":"AES_256","Recipient":{"AttestationDocument":"aGk="}})");
  CHECK(r.type == "UnsupportedOperationException");
  CHECK_FALSE(r.message.empty());
}

TEST_CASE("GenerateRandom returns exactly NumberOfBytes bytes for 1..1024", "[ops][data_keys]") {
  OpHarness h;
  for (std::int64_t n = 1; n <= 1024; ++n) {
    CallResult r = h.Call("GenerateRandom", RandomBody(n));
    INFO("NumberOfBytes " << n);
    REQUIRE(r.status == 200);
    CHECK(Decoded(r, "Plaintext").size() == static_cast<std::size_t>(n));
  }
  CHECK(h.Call("GenerateRandom", RandomBody(32)).Str("Plaintext") !=
        h.Call("GenerateRandom", RandomBody(32)).Str("Plaintext"));
}

TEST_CASE("GenerateRandom without NumberOfBytes is a ValidationException", "[ops][data_keys]") {
  OpHarness h;
  const std::string body = GENERATE(as<std::string>{}, "{}", "", R"({"NumberOfBytes":null})");
  CallResult r = h.Call("GenerateRandom", body);
  CHECK(r.type == "ValidationException");
  CHECK(r.message == "NumberOfBytes is required.");
}

// GenerateRandom with CustomKeyStoreId: custom_key_stores_test.cpp.
TEST_CASE("GenerateRandom for a Recipient is unsupported", "[ops][data_keys]") {
  OpHarness h;
  CallResult recipient =
      h.Call("GenerateRandom", R"({"NumberOfBytes":8,"Recipient":{"AttestationDocument":"aGk="}})");
  CHECK(recipient.type == "UnsupportedOperationException");
}

// ---------------------------------------------------------------------------------------------
// GenerateDataKeyPair[WithoutPlaintext]

namespace {

// A GenerateDataKeyPair* request body.
std::string PairBody(std::string_view key_ref, std::string_view pair_spec,
                     const std::optional<EncryptionContext>& context = std::nullopt) {
  JsonOut out;
  out.String("KeyId", key_ref);
  out.String("KeyPairSpec", pair_spec);
  if (context) WriteContext(out, "EncryptionContext", *context);
  return out.Finish();
}

void RequireInvalidCiphertext(const CallResult& r) {
  CHECK(r.status == 400);
  CHECK(r.type == "InvalidCiphertextException");
  CHECK(r.message.empty());
}

// Decrypts a PrivateKeyCiphertextBlob with `context`.
CallResult DecryptPrivateKey(OpHarness& h, const CallResult& pair,
                             const std::optional<EncryptionContext>& context) {
  return h.Call("Decrypt", DecryptBody(pair.Str("PrivateKeyCiphertextBlob"), context));
}

}  // namespace

TEST_CASE(
    "GenerateDataKeyPair makes every DataKeyPairSpec: PKCS#8 private key, matching SPKI "
    "public key, and a blob Decrypt opens with the same context",
    "[ops][data_keys][pair]") {
  OpHarness h;
  const std::string key = h.CreateSymmetricKey();
  const auto [spec, openssl_type, bits] = GENERATE(table<std::string, std::string, int>({
      {"RSA_2048", "RSA", 2048},
      {"RSA_3072", "RSA", 3072},
      {"RSA_4096", "RSA", 4096},
      {"ECC_NIST_P256", "EC", 256},
      {"ECC_NIST_P384", "EC", 384},
      {"ECC_NIST_P521", "EC", 521},
      {"ECC_SECG_P256K1", "EC", 256},
      {"SM2", "SM2", 256},
      {"ECC_NIST_EDWARDS25519", "ED25519", 256},
  }));
  CAPTURE(spec);
  const EncryptionContext context{{"purpose", "pair"}};

  CallResult pair = h.Call("GenerateDataKeyPair", PairBody(key, spec, context));
  REQUIRE(pair.status == 200);
  CHECK(pair.Str("KeyId") == h.Arn(key));
  CHECK(pair.Str("KeyPairSpec") == spec);
  CHECK(pair.Str("KeyMaterialId") == h.CurrentKeyMaterialId(key));

  const Bytes private_der = Decoded(pair, "PrivateKeyPlaintext");
  const Bytes public_der = Decoded(pair, "PublicKey");
  auto private_key = kms::crypto::ParsePrivateKey(private_der);
  REQUIRE(private_key);
  CHECK(EVP_PKEY_is_a(private_key->get(), openssl_type.c_str()) == 1);
  CHECK(kms::crypto::KeyBits(private_key->get()) == bits);
  REQUIRE(kms::crypto::ParsePublicKey(public_der));
  auto derived_public = kms::crypto::PublicKeyDer(private_key->get());
  REQUIRE(derived_public);
  CHECK(*derived_public == public_der);

  CallResult opened = DecryptPrivateKey(h, pair, context);
  REQUIRE(opened.status == 200);
  CHECK(Decoded(opened, "Plaintext") == private_der);
  CHECK(opened.Str("KeyId") == h.Arn(key));
  RequireInvalidCiphertext(DecryptPrivateKey(h, pair, std::nullopt));
  RequireInvalidCiphertext(DecryptPrivateKey(h, pair, EncryptionContext{{"purpose", "x"}}));
}

TEST_CASE("GenerateDataKeyPairWithoutPlaintext omits the private key; the blob holds it",
          "[ops][data_keys][pair]") {
  OpHarness h;
  const std::string key = h.CreateSymmetricKey();
  const std::string spec = GENERATE(as<std::string>{}, "ECC_NIST_P256", "RSA_2048");
  CallResult pair = h.Call("GenerateDataKeyPairWithoutPlaintext", PairBody(key, spec));
  REQUIRE(pair.status == 200);
  CHECK_FALSE(pair.json.HasMember("PrivateKeyPlaintext"));
  CHECK(pair.Str("KeyPairSpec") == spec);
  CHECK(pair.Str("KeyId") == h.Arn(key));
  CHECK(pair.Str("KeyMaterialId") == h.CurrentKeyMaterialId(key));

  CallResult opened = DecryptPrivateKey(h, pair, std::nullopt);
  REQUIRE(opened.status == 200);
  auto private_key = kms::crypto::ParsePrivateKey(Decoded(opened, "Plaintext"));
  REQUIRE(private_key);
  auto derived_public = kms::crypto::PublicKeyDer(private_key->get());
  REQUIRE(derived_public);
  CHECK(*derived_public == Decoded(pair, "PublicKey"));
}

TEST_CASE("Two data key pairs are never the same", "[ops][data_keys][pair]") {
  OpHarness h;
  const std::string key = h.CreateSymmetricKey();
  CallResult a = h.Call("GenerateDataKeyPair", PairBody(key, "ECC_NIST_P256"));
  CallResult b = h.Call("GenerateDataKeyPair", PairBody(key, "ECC_NIST_P256"));
  REQUIRE(a.status == 200);
  REQUIRE(b.status == 200);
  CHECK(a.Str("PublicKey") != b.Str("PublicKey"));
  CHECK(a.Str("PrivateKeyPlaintext") != b.Str("PrivateKeyPlaintext"));
}

TEST_CASE("GenerateDataKeyPair needs a symmetric encryption key", "[ops][data_keys][pair]") {
  OpHarness h;
  const std::string op =
      GENERATE(as<std::string>{}, "GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext");

  SECTION("an RSA encryption key") {
    const std::string rsa = h.CreateKeyOf("RSA_2048", "ENCRYPT_DECRYPT");
    CallResult r = h.Call(op, PairBody(rsa, "ECC_NIST_P256"));
    CHECK(r.type == "InvalidKeyUsageException");
    CHECK(r.message == h.Arn(rsa) + " key spec is RSA_2048 which is not valid for " + op + ".");
  }
  SECTION("signing, MAC and key agreement keys") {
    const auto [spec, usage] = GENERATE(table<std::string, std::string>({
        {"RSA_2048", "SIGN_VERIFY"},
        {"ECC_NIST_P256", "SIGN_VERIFY"},
        {"HMAC_256", "GENERATE_VERIFY_MAC"},
        {"ECC_NIST_P256", "KEY_AGREEMENT"},
    }));
    const std::string other = h.CreateKeyOf(spec, usage);
    CallResult r = h.Call(op, PairBody(other, "ECC_NIST_P256"));
    CHECK(r.type == "InvalidKeyUsageException");
    CHECK(r.message ==
          h.Arn(other) + " key usage is " + usage + " which is not valid for " + op + ".");
  }
  SECTION("a disabled key") {
    const std::string key = h.CreateSymmetricKey();
    REQUIRE(h.Call("DisableKey", KeyIdBody(key)).status == 200);
    CallResult r = h.Call(op, PairBody(key, "ECC_NIST_P256"));
    CHECK(r.type == "DisabledException");
    CHECK(r.message == h.Arn(key) + " is disabled.");
  }
  SECTION("a key that does not exist") {
    const std::string missing = "00000000-0000-4000-8000-000000000000";
    CallResult r = h.Call(op, PairBody(missing, "ECC_NIST_P256"));
    CHECK(r.type == "NotFoundException");
  }
}

TEST_CASE("GenerateDataKeyPair validates KeyPairSpec, DryRun and Recipient",
          "[ops][data_keys][pair]") {
  OpHarness h;
  const std::string key = h.CreateSymmetricKey();
  SECTION("a key spec that is not a data key pair spec") {
    const std::string spec = GENERATE(as<std::string>{}, "ML_DSA_44", "HMAC_256", "AES_256");
    CallResult r = h.Call("GenerateDataKeyPair", PairBody(key, spec));
    CHECK(r.type == "ValidationException");
    CHECK(r.message.find("keyPairSpec") != std::string::npos);
  }
  SECTION("no KeyPairSpec") {
    CallResult r = h.Call("GenerateDataKeyPair", KeyIdBody(key));
    CHECK(r.type == "ValidationException");
  }
  SECTION("DryRun") {
    CallResult r = h.Call("GenerateDataKeyPairWithoutPlaintext",
                          WithMembers(PairBody(key, "SM2"), "\"DryRun\":true"));
    CHECK(r.type == "DryRunOperationException");
    CHECK(r.message == "The request would have succeeded, but the DryRun option is set.");
  }
  SECTION("Recipient") {
    CallResult r =
        h.Call("GenerateDataKeyPair",
               WithMembers(PairBody(key, "SM2"), R"("Recipient":{"AttestationDocument":"aGk="})"));
    CHECK(r.type == "UnsupportedOperationException");
    CHECK_FALSE(r.message.empty());
  }
}

TEST_CASE("GenerateDataKey refuses asymmetric and HMAC keys", "[ops][data_keys]") {
  OpHarness h;
  const std::string op =
      GENERATE(as<std::string>{}, "GenerateDataKey", "GenerateDataKeyWithoutPlaintext");
  const auto [spec, usage] = GENERATE(table<std::string, std::string>({
      {"RSA_2048", "ENCRYPT_DECRYPT"},
      {"RSA_3072", "SIGN_VERIFY"},
      {"ECC_NIST_P256", "SIGN_VERIFY"},
      {"SM2", "ENCRYPT_DECRYPT"},
      {"HMAC_384", "GENERATE_VERIFY_MAC"},
  }));
  const std::string key = h.CreateKeyOf(spec, usage);
  CallResult r = h.Call(op, Body(key));
  CHECK(r.status == 400);
  CHECK(r.type == "InvalidKeyUsageException");
  if (usage == "ENCRYPT_DECRYPT") {
    CHECK(r.message == h.Arn(key) + " key spec is " + spec + " which is not valid for " + op + ".");
  } else {
    CHECK(r.message ==
          h.Arn(key) + " key usage is " + usage + " which is not valid for " + op + ".");
  }
}
