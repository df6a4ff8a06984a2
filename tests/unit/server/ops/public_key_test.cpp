// GetPublicKey (server/ops/public_key.cpp), through the real dispatcher and store.
#include <filesystem>
#include <stdlib.h>
#include <string>

#include <catch2/catch.hpp>
#include <openssl/evp.h>

#include "crypto/key_pair.hpp"
#include "server/ops/key_specs.hpp"
#include "tests/unit/server/ops/op_harness.hpp"

namespace kms::testing {
namespace {

using ops::AlgorithmsMember;

TEST_CASE("GetPublicKey returns the public half of every asymmetric key", "[ops][public_key]") {
  struct Case {
    const char* spec;
    const char* usage;
    const char* openssl_name;
  };
  const Case c = GENERATE(
      Case{"RSA_2048", "ENCRYPT_DECRYPT", "RSA"}, Case{"RSA_3072", "SIGN_VERIFY", "RSA"},
      Case{"ECC_NIST_P256", "KEY_AGREEMENT", "EC"}, Case{"ECC_NIST_P521", "SIGN_VERIFY", "EC"},
      Case{"ECC_SECG_P256K1", "SIGN_VERIFY", "EC"},
      Case{"ECC_NIST_EDWARDS25519", "SIGN_VERIFY", "ED25519"},
      Case{"SM2", "ENCRYPT_DECRYPT", "SM2"});
  CAPTURE(c.spec, c.usage);
  OpHarness h;
  const std::string id = h.CreateKeyOf(c.spec, c.usage);
  h.CreateAlias("alias/pub", id);
  const std::string form = GENERATE(as<std::string>{}, "key id", "key ARN", "alias name");
  CallResult r = h.Call("GetPublicKey", KeyIdBody(RefOf(h, form, id, "alias/pub")));
  REQUIRE(r.status == 200);
  CHECK(r.Str("KeyId") == h.Arn(id));
  CHECK(r.Str("KeySpec") == c.spec);
  CHECK(r.Str("CustomerMasterKeySpec") == c.spec);
  CHECK(r.Str("KeyUsage") == c.usage);
  const std::string member(AlgorithmsMember(Parsed<domain::KeyUsage>(c.usage)));
  REQUIRE(r.json.HasMember(member.c_str()));
  CHECK(r.json[member.c_str()].Size() == ListedAlgorithms(c.spec, c.usage).size());
  CHECK_FALSE(r.json.HasMember("MacAlgorithms"));

  auto pub = crypto::ParsePublicKey(Decoded(r, "PublicKey"));
  REQUIRE(pub);
  CHECK(EVP_PKEY_is_a(pub->get(), c.openssl_name) == 1);
  auto priv = crypto::ParsePrivateKey(h.registry().FindKey(kUsEast, id)->materials[0].bytes);
  REQUIRE(priv);
  CHECK(EVP_PKEY_eq(pub->get(), priv->get()) == 1);
}

TEST_CASE("GetPublicKey is the same key after a restart", "[ops][public_key]") {
  std::string pattern = "/tmp/kms_public_key_test.XXXXXX";
  REQUIRE(::mkdtemp(pattern.data()) != nullptr);
  const std::string path = pattern + "/kms.db";
  std::string before;
  std::string id;
  {
    OpHarness h(path);
    id = h.CreateKeyOf("RSA_2048", "SIGN_VERIFY");
    CallResult r = h.Call("GetPublicKey", KeyIdBody(id));
    REQUIRE(r.status == 200);
    before = r.Str("PublicKey");
    h.Reopen();
    CallResult again = h.Call("GetPublicKey", KeyIdBody(id));
    REQUIRE(again.status == 200);
    CHECK(again.Str("PublicKey") == before);
  }
  std::filesystem::remove_all(pattern);
}

TEST_CASE("GetPublicKey refuses symmetric and HMAC keys", "[ops][public_key]") {
  OpHarness h;
  const bool hmac = GENERATE(false, true);
  const std::string id =
      hmac ? h.CreateKeyOf("HMAC_256", "GENERATE_VERIFY_MAC") : h.CreateSymmetricKey();
  CallResult r = h.Call("GetPublicKey", KeyIdBody(id));
  CHECK(r.status == 400);
  CHECK(r.type == "UnsupportedOperationException");
  CHECK(r.message == h.Arn(id) + " key spec is " + (hmac ? "HMAC_256" : "SYMMETRIC_DEFAULT") +
                         " which is not valid for GetPublicKey.");
}

TEST_CASE("GetPublicKey needs an enabled key that exists", "[ops][public_key]") {
  OpHarness h;
  const std::string id = h.CreateKeyOf("ECC_NIST_P256", "SIGN_VERIFY");
  REQUIRE(h.Call("DisableKey", KeyIdBody(id)).status == 200);
  CallResult disabled = h.Call("GetPublicKey", KeyIdBody(id));
  CHECK(disabled.type == "DisabledException");
  CHECK(disabled.message == h.Arn(id) + " is disabled.");

  REQUIRE(h.Call("EnableKey", KeyIdBody(id)).status == 200);
  h.ScheduleDeletion(id);
  CHECK(h.Call("GetPublicKey", KeyIdBody(id)).type == "KMSInvalidStateException");

  CallResult missing = h.Call("GetPublicKey", KeyIdBody("00000000-0000-4000-8000-000000000000"));
  CHECK(missing.type == "NotFoundException");
  CHECK(h.Call("GetPublicKey", "{}").type == "ValidationException");
}

}  // namespace
}  // namespace kms::testing
