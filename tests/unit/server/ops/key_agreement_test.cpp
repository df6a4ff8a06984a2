// Tests for server/ops/key_agreement.cpp: DeriveSharedSecret, through the dispatcher.
#include "crypto/key_agreement.hpp"

#include <initializer_list>
#include <string>
#include <string_view>

#include <catch2/catch.hpp>

#include "crypto/base64.hpp"
#include "crypto/bytes.hpp"
#include "crypto/key_pair.hpp"
#include "server/protocol/json_io.hpp"
#include "tests/unit/crypto/key_util.hpp"
#include "tests/unit/server/ops/op_harness.hpp"

namespace kms::testing {
namespace {

using crypto::Bytes;
using crypto::KeyPairType;
using server::JsonOut;

std::string DeriveBody(std::string_view key_ref, std::string_view public_key_b64,
                       std::string_view algorithm = "ECDH") {
  JsonOut out;
  out.String("KeyId", key_ref);
  out.String("KeyAgreementAlgorithm", algorithm);
  out.String("PublicKey", public_key_b64);
  return out.Finish();
}

// A fresh key pair outside kmsd: the peer of an exchange.
crypto::Pkey NewPeer(KeyPairType type) { return crypto::testing::NewKey(type); }

std::string SpkiB64(const crypto::Pkey& key) {
  return crypto::Base64Encode(crypto::testing::SpkiOf(key.get()));
}

// What the peer derives offline with GetPublicKey's DER.
Bytes PeerSideSecret(OpHarness& h, const std::string& key_id, const crypto::Pkey& peer) {
  CallResult pub = h.Call("GetPublicKey", KeyIdBody(key_id));
  REQUIRE(pub.status == 200);
  auto kms_public = crypto::ParsePeerPublicKey(peer.get(), Decoded(pub, "PublicKey"));
  REQUIRE(kms_public);
  auto secret = crypto::EcdhSharedSecret(peer.get(), kms_public->get());
  REQUIRE(secret);
  return Bytes(secret->begin(), secret->end());
}

struct Case {
  const char* spec;
  KeyPairType type;
  std::size_t secret_bytes;
};

TEST_CASE("DeriveSharedSecret agrees with the peer's own derivation for every curve",
          "[ops][key_agreement]") {
  const Case c =
      GENERATE(values(std::initializer_list<Case>{{"ECC_NIST_P256", KeyPairType::kEccNistP256, 32},
                                                  {"ECC_NIST_P384", KeyPairType::kEccNistP384, 48},
                                                  {"ECC_NIST_P521", KeyPairType::kEccNistP521, 66},
                                                  {"SM2", KeyPairType::kSm2, 32}}));
  CAPTURE(c.spec);
  OpHarness h;
  const std::string id = h.CreateKeyOf(c.spec, "KEY_AGREEMENT");
  h.CreateAlias("alias/agree", id);
  const crypto::Pkey peer = NewPeer(c.type);
  const std::string form =
      GENERATE(as<std::string>{}, "key id", "key ARN", "alias name", "alias ARN");
  CallResult r =
      h.Call("DeriveSharedSecret", DeriveBody(RefOf(h, form, id, "alias/agree"), SpkiB64(peer)));
  REQUIRE(r.status == 200);
  CHECK(r.Str("KeyId") == h.Arn(id));
  CHECK(r.Str("KeyAgreementAlgorithm") == "ECDH");
  CHECK(r.Str("KeyOrigin") == "AWS_KMS");
  CHECK_FALSE(r.json.HasMember("CiphertextForRecipient"));
  const Bytes secret = Decoded(r, "SharedSecret");
  CHECK(secret.size() == c.secret_bytes);
  CHECK(secret == PeerSideSecret(h, id, peer));
}

TEST_CASE("DeriveSharedSecret answers an empty ValidationException for an unusable public key",
          "[ops][key_agreement]") {
  OpHarness h;
  const std::string p256 = h.CreateKeyOf("ECC_NIST_P256", "KEY_AGREEMENT");
  const std::string sm2 = h.CreateKeyOf("SM2", "KEY_AGREEMENT");
  auto check_bad = [&](const std::string& key_id, const std::string& public_key_b64) {
    CallResult r = h.Call("DeriveSharedSecret", DeriveBody(key_id, public_key_b64));
    CHECK(r.status == 400);
    CHECK(r.type == "ValidationException");
    CHECK(r.body == R"({"__type":"ValidationException"})");
  };
  SECTION("not DER") { check_bad(p256, crypto::Base64Encode(crypto::AsBytes("not a public key"))); }
  SECTION("another curve") {
    check_bad(p256, SpkiB64(NewPeer(KeyPairType::kEccNistP384)));
    check_bad(p256, SpkiB64(NewPeer(KeyPairType::kSm2)));
    check_bad(sm2, SpkiB64(NewPeer(KeyPairType::kEccNistP256)));
    check_bad(p256, SpkiB64(NewPeer(KeyPairType::kEccSecgP256k1)));
  }
  SECTION("not an EC key") {
    check_bad(p256, SpkiB64(NewPeer(KeyPairType::kRsa2048)));
    check_bad(sm2, SpkiB64(NewPeer(KeyPairType::kEd25519)));
  }
  SECTION("a point off the curve") {
    for (const auto& [key_id, type] :
         {std::pair{p256, KeyPairType::kEccNistP256}, std::pair{sm2, KeyPairType::kSm2}}) {
      Bytes spki = crypto::testing::SpkiOf(NewPeer(type).get());
      spki.back() ^= 0x01;
      check_bad(key_id, crypto::Base64Encode(spki));
    }
  }
}

TEST_CASE("DeriveSharedSecret needs a KEY_AGREEMENT key", "[ops][key_agreement]") {
  OpHarness h;
  const std::string peer = SpkiB64(NewPeer(KeyPairType::kEccNistP256));
  for (const auto& [spec, usage] :
       {std::pair{"ECC_NIST_P256", "SIGN_VERIFY"},
        std::pair{"SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT"},
        std::pair{"HMAC_256", "GENERATE_VERIFY_MAC"}, std::pair{"SM2", "ENCRYPT_DECRYPT"}}) {
    CAPTURE(spec);
    const std::string id = h.CreateKeyOf(spec, usage);
    CallResult r = h.Call("DeriveSharedSecret", DeriveBody(id, peer));
    CHECK(r.type == "InvalidKeyUsageException");
    CHECK(r.message ==
          h.Arn(id) + " key usage is " + usage + " which is not valid for DeriveSharedSecret.");
  }
}

TEST_CASE("DeriveSharedSecret validates the request shape", "[ops][key_agreement]") {
  OpHarness h;
  const std::string id = h.CreateKeyOf("ECC_NIST_P384", "KEY_AGREEMENT");
  const std::string peer = SpkiB64(NewPeer(KeyPairType::kEccNistP384));
  CallResult algorithm = h.Call("DeriveSharedSecret", DeriveBody(id, peer, "ECDHE"));
  CHECK(algorithm.type == "ValidationException");
  CHECK(algorithm.message ==
        "1 validation error detected: Value 'ECDHE' at 'keyAgreementAlgorithm' failed to "
        "satisfy constraint: Member must satisfy enum value set: [ECDH]");
  CHECK(h.Call("DeriveSharedSecret", R"({"KeyId":")" + id + R"(","KeyAgreementAlgorithm":"ECDH"})")
            .type == "ValidationException");
  CHECK(h.Call("DeriveSharedSecret", R"({"KeyId":")" + id + R"(","PublicKey":")" + peer + R"("})")
            .type == "ValidationException");
}

TEST_CASE("DeriveSharedSecret with Recipient is UnsupportedOperationException",
          "[ops][key_agreement]") {
  OpHarness h;
  const std::string id = h.CreateKeyOf("ECC_NIST_P256", "KEY_AGREEMENT");
  CallResult r = h.Call("DeriveSharedSecret",
                        WithMembers(DeriveBody(id, SpkiB64(NewPeer(KeyPairType::kEccNistP256))),
                                    R"("Recipient":{"KeyEncryptionAlgorithm":"RSAES_OAEP_SHA_256",)"
                                    R"("AttestationDocument":"aGk="})"));
  CHECK(r.type == "UnsupportedOperationException");
  CHECK(r.message ==
        "kmsd does not support Recipient: there is no Nitro Enclave attestation to verify.");
}

TEST_CASE("DeriveSharedSecret needs an enabled key that exists", "[ops][key_agreement]") {
  OpHarness h;
  const std::string id = h.CreateKeyOf("ECC_NIST_P521", "KEY_AGREEMENT");
  const std::string peer = SpkiB64(NewPeer(KeyPairType::kEccNistP521));
  REQUIRE(h.Call("DisableKey", KeyIdBody(id)).status == 200);
  CallResult disabled = h.Call("DeriveSharedSecret", DeriveBody(id, peer));
  CHECK(disabled.type == "DisabledException");
  CHECK(disabled.message == h.Arn(id) + " is disabled.");
  REQUIRE(h.Call("EnableKey", KeyIdBody(id)).status == 200);
  h.ScheduleDeletion(id);
  CHECK(h.Call("DeriveSharedSecret", DeriveBody(id, peer)).type == "KMSInvalidStateException");
  CallResult missing = h.Call("DeriveSharedSecret", DeriveBody("alias/none", peer));
  CHECK(missing.type == "NotFoundException");
}

TEST_CASE("DeriveSharedSecret checks DryRun last and ignores GrantTokens", "[ops][key_agreement]") {
  OpHarness h;
  const std::string id = h.CreateKeyOf("ECC_NIST_P256", "KEY_AGREEMENT");
  const std::string peer = SpkiB64(NewPeer(KeyPairType::kEccNistP256));
  CallResult dry =
      h.Call("DeriveSharedSecret", WithMembers(DeriveBody(id, peer), R"("DryRun":true)"));
  CHECK(dry.type == "DryRunOperationException");
  CHECK(dry.message == "The request would have succeeded, but the DryRun option is set.");
  CallResult bad_key = h.Call(
      "DeriveSharedSecret",
      WithMembers(DeriveBody(id, SpkiB64(NewPeer(KeyPairType::kEccNistP384))), R"("DryRun":true)"));
  CHECK(bad_key.type == "ValidationException");
  CallResult grants =
      h.Call("DeriveSharedSecret", WithMembers(DeriveBody(id, peer), h.GrantTokensMember(id)));
  CHECK(grants.status == 200);
}

TEST_CASE("A KEY_AGREEMENT key derives the same secret after a restart", "[ops][key_agreement]") {
  const TempDbFile db;
  OpHarness h(db.path());
  const std::string id = h.CreateKeyOf("SM2", "KEY_AGREEMENT");
  const std::string peer = SpkiB64(NewPeer(KeyPairType::kSm2));
  CallResult before = h.Call("DeriveSharedSecret", DeriveBody(id, peer));
  REQUIRE(before.status == 200);
  h.Reopen();
  CallResult after = h.Call("DeriveSharedSecret", DeriveBody(id, peer));
  REQUIRE(after.status == 200);
  CHECK(after.Str("SharedSecret") == before.Str("SharedSecret"));
}

}  // namespace
}  // namespace kms::testing
