// Tests for server/ops/data_keys.cpp: GenerateDataKey, GenerateDataKeyWithoutPlaintext and
// GenerateRandom, through the dispatcher.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <catch2/catch.hpp>

#include "crypto/bytes.hpp"
#include "crypto/encryption_context.hpp"
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

TEST_CASE("GenerateRandom in a custom key store or for a Recipient is unsupported",
          "[ops][data_keys]") {
  OpHarness h;
  CallResult store = h.Call("GenerateRandom", R"({"NumberOfBytes":8,"CustomKeyStoreId":"cks-1"})");
  CHECK(store.type == "UnsupportedOperationException");
  CHECK_FALSE(store.message.empty());
  CallResult recipient =
      h.Call("GenerateRandom", R"({"NumberOfBytes":8,"Recipient":{"AttestationDocument":"aGk="}})");
  CHECK(recipient.type == "UnsupportedOperationException");
}
