// Tests for server/ops/sign.cpp: Sign and Verify, through the dispatcher.
#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdlib.h>
#include <string>
#include <string_view>

#include <catch2/catch.hpp>
#include <openssl/evp.h>

#include "crypto/base64.hpp"
#include "crypto/bytes.hpp"
#include "crypto/key_pair.hpp"
#include "crypto/signature.hpp"
#include "domain/key_specs.hpp"
#include "domain/vocabulary.hpp"
#include "server/protocol/json_io.hpp"
#include "tests/unit/server/ops/op_harness.hpp"

namespace {

using kms::crypto::Bytes;
using kms::server::JsonOut;
using namespace kms::testing;

std::string B64(const Bytes& bytes) { return kms::crypto::Base64Encode(bytes); }
std::string B64(std::string_view text) {
  return kms::crypto::Base64Encode(kms::crypto::AsBytes(text));
}

// A Sign / Verify request body; `extra` holds raw members, e.g. "\"DryRun\":true".
std::string Body(std::string_view key_ref, std::string_view message_b64, std::string_view algorithm,
                 const std::optional<std::string>& type = std::nullopt,
                 const std::optional<std::string>& signature_b64 = std::nullopt,
                 std::string_view extra = {}) {
  JsonOut out;
  out.String("KeyId", key_ref);
  out.String("Message", message_b64);
  out.String("SigningAlgorithm", algorithm);
  if (type) out.String("MessageType", *type);
  if (signature_b64) out.String("Signature", *signature_b64);
  return WithMembers(out.Finish(), extra);
}

Bytes Hash(const char* name, std::string_view text) {
  std::array<std::uint8_t, EVP_MAX_MD_SIZE> out{};
  unsigned int len = 0;
  REQUIRE(EVP_Digest(text.data(), text.size(), out.data(), &len, EVP_get_digestbyname(name),
                     nullptr) == 1);
  return Bytes(out.begin(), out.begin() + len);
}

const char* HashOf(std::string_view algorithm) {
  if (algorithm.ends_with("384")) return "SHA384";
  if (algorithm.ends_with("512")) return "SHA512";
  return "SHA256";
}

// Signs through Sign and returns the base64 signature.
std::string SignOk(OpHarness& h, const std::string& body) {
  CallResult r = h.Call("Sign", body);
  INFO(r.body);
  REQUIRE(r.status == 200);
  return r.Str("Signature");
}

void RequireInvalidSignature(const CallResult& r) {
  INFO(r.body);
  CHECK(r.status == 400);
  CHECK(r.type == "KMSInvalidSignatureException");
  CHECK(r.message.empty());
  CHECK_FALSE(r.json.HasMember("message"));
}

TEST_CASE("Sign and Verify work for every signing key spec and algorithm, RAW and DIGEST",
          "[ops][sign]") {
  OpHarness h;
  for (const char* spec : {"RSA_2048", "ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521",
                           "ECC_SECG_P256K1", "ECC_NIST_EDWARDS25519", "SM2"}) {
    const std::string id = h.CreateKeyOf(spec, "SIGN_VERIFY");
    for (std::string_view algorithm : ListedAlgorithms(spec, "SIGN_VERIFY")) {
      if (algorithm == "ED25519_PH_SHA_512") continue;  // needs OpenSSL 3.2 (own test)
      CAPTURE(spec, algorithm);
      const std::string alg(algorithm);
      const std::string message = "message for " + alg;
      const std::string sig = SignOk(h, Body(id, B64(message), alg));
      CallResult sign = h.Call("Sign", Body(id, B64(message), alg));
      REQUIRE(sign.status == 200);
      CHECK(sign.Str("KeyId") == h.Arn(id));
      CHECK(sign.Str("SigningAlgorithm") == alg);

      CallResult v = h.Call("Verify", Body(id, B64(message), alg, std::string("RAW"), sig));
      INFO(v.body);
      REQUIRE(v.status == 200);
      CHECK(v.Str("KeyId") == h.Arn(id));
      CHECK(v.Str("SigningAlgorithm") == alg);
      REQUIRE(v.json.HasMember("SignatureValid"));
      CHECK(v.json["SignatureValid"].GetBool());

      // The signature verifies offline with GetPublicKey's DER.
      CallResult pub = h.Call("GetPublicKey", KeyIdBody(id));
      REQUIRE(pub.status == 200);
      auto pkey = kms::crypto::ParsePublicKey(Decoded(pub, "PublicKey"));
      REQUIRE(pkey);
      auto algo = kms::domain::CryptoSigningAlgorithm(Parsed<kms::domain::SigningAlgorithm>(alg));
      REQUIRE(algo);
      auto sig_bytes = kms::crypto::Base64Decode(sig);
      REQUIRE(sig_bytes);
      CHECK(kms::crypto::Verify(pkey->get(), *algo, kms::crypto::MessageType::kRaw,
                                kms::crypto::AsBytes(message), *sig_bytes));

      if (alg == "ED25519_SHA_512" || alg == "SM2DSA") continue;  // no plain digest of M
      const Bytes digest = Hash(HashOf(alg), message);
      const std::string dsig = SignOk(h, Body(id, B64(digest), alg, std::string("DIGEST")));
      CHECK(h.Call("Verify", Body(id, B64(message), alg, std::nullopt, dsig)).status == 200);
      CHECK(h.Call("Verify", Body(id, B64(digest), alg, std::string("DIGEST"), sig)).status == 200);
    }
  }
}

TEST_CASE("SM2DSA DIGEST signs the given e directly", "[ops][sign]") {
  OpHarness h;
  const std::string id = h.CreateKeyOf("SM2", "SIGN_VERIFY");
  const Bytes e(32, 0x5a);
  const std::string sig = SignOk(h, Body(id, B64(e), "SM2DSA", std::string("DIGEST")));
  CHECK(h.Call("Verify", Body(id, B64(e), "SM2DSA", std::string("DIGEST"), sig)).status == 200);
  // Not the RAW signature of those 32 bytes (that would be over SM3(Z || e)).
  RequireInvalidSignature(h.Call("Verify", Body(id, B64(e), "SM2DSA", std::nullopt, sig)));
}

TEST_CASE("Sign accepts every form of key reference and GrantTokens", "[ops][sign]") {
  OpHarness h;
  const std::string id = h.CreateKeyOf("ECC_NIST_P256", "SIGN_VERIFY");
  h.CreateAlias("alias/signer", id);
  const std::string form =
      GENERATE(as<std::string>{}, "key id", "key ARN", "alias name", "alias ARN");
  const std::string ref = RefOf(h, form, id, "alias/signer");
  const std::string tokens = h.GrantTokensMember(id);
  CallResult r =
      h.Call("Sign", Body(ref, B64("m"), "ECDSA_SHA_256", std::nullopt, std::nullopt, tokens));
  REQUIRE(r.status == 200);
  CHECK(r.Str("KeyId") == h.Arn(id));
  CallResult v = h.Call(
      "Verify", Body(ref, B64("m"), "ECDSA_SHA_256", std::nullopt, r.Str("Signature"), tokens));
  CHECK(v.status == 200);
}

TEST_CASE("Verify raises KMSInvalidSignatureException with no message for a bad signature",
          "[ops][sign]") {
  OpHarness h;
  const std::string id = h.CreateKeyOf("RSA_2048", "SIGN_VERIFY");
  const std::string other = h.CreateKeyOf("RSA_2048", "SIGN_VERIFY");
  const std::string sig = SignOk(h, Body(id, B64("payload"), "RSASSA_PSS_SHA_256"));
  auto bytes = kms::crypto::Base64Decode(sig);
  REQUIRE(bytes);
  Bytes flipped = *bytes;
  flipped[10] ^= 0x01;

  RequireInvalidSignature(
      h.Call("Verify", Body(id, B64("payloaD"), "RSASSA_PSS_SHA_256", std::nullopt, sig)));
  RequireInvalidSignature(
      h.Call("Verify", Body(id, B64("payload"), "RSASSA_PSS_SHA_256", std::nullopt, B64(flipped))));
  RequireInvalidSignature(
      h.Call("Verify", Body(id, B64("payload"), "RSASSA_PSS_SHA_256", std::nullopt, B64("x"))));
  RequireInvalidSignature(
      h.Call("Verify", Body(other, B64("payload"), "RSASSA_PSS_SHA_256", std::nullopt, sig)));
  RequireInvalidSignature(
      h.Call("Verify", Body(id, B64("payload"), "RSASSA_PSS_SHA_384", std::nullopt, sig)));
  RequireInvalidSignature(
      h.Call("Verify", Body(id, B64("payload"), "RSASSA_PKCS1_V1_5_SHA_256", std::nullopt, sig)));

  // An ECDSA signature that is not DER.
  const std::string ec = h.CreateKeyOf("ECC_NIST_P384", "SIGN_VERIFY");
  RequireInvalidSignature(
      h.Call("Verify", Body(ec, B64("payload"), "ECDSA_SHA_384", std::nullopt, B64(Bytes(96, 7)))));
}

struct ValidationCase {
  const char* spec;
  std::size_t message_bytes;
  const char* algorithm;
  const char* type;
  const char* expected;
};

TEST_CASE("Message types and digest lengths are checked with AWS's ValidationException texts",
          "[ops][sign]") {
  const ValidationCase c = GENERATE(
      ValidationCase{"ECC_NIST_P256", 31, "ECDSA_SHA_256", "DIGEST",
                     "Digest is invalid length for algorithm ECDSA_SHA_256."},
      ValidationCase{"ECC_NIST_P256", 33, "ECDSA_SHA_256", "DIGEST",
                     "Digest is invalid length for algorithm ECDSA_SHA_256."},
      ValidationCase{"ECC_NIST_P256", 64, "ECDSA_SHA_256", "DIGEST",
                     "Digest is invalid length for algorithm ECDSA_SHA_256."},
      ValidationCase{"RSA_2048", 32, "RSASSA_PSS_SHA_512", "DIGEST",
                     "Digest is invalid length for algorithm RSASSA_PSS_SHA_512."},
      ValidationCase{"SM2", 48, "SM2DSA", "DIGEST",
                     "Digest is invalid length for algorithm SM2DSA."},
      ValidationCase{"ECC_NIST_EDWARDS25519", 64, "ED25519_SHA_512", "DIGEST",
                     "Message type DIGEST is incompatible with algorithm ED25519_SHA_512."},
      ValidationCase{"ECC_NIST_EDWARDS25519", 1, "ED25519_PH_SHA_512", "RAW",
                     "Message type RAW is incompatible with algorithm ED25519_PH_SHA_512."},
      ValidationCase{"ECC_NIST_EDWARDS25519", 32, "ED25519_PH_SHA_512", "DIGEST",
                     "Digest is invalid length for algorithm ED25519_PH_SHA_512."},
      ValidationCase{"ECC_NIST_P256", 64, "ECDSA_SHA_256", "EXTERNAL_MU",
                     "Message type EXTERNAL_MU is incompatible with key spec ECC_NIST_P256."});
  CAPTURE(c.spec, c.algorithm, c.type, c.message_bytes);
  OpHarness h;
  const std::string id = h.CreateKeyOf(c.spec, "SIGN_VERIFY");
  for (const char* op : {"Sign", "Verify"}) {
    CallResult r = h.Call(
        op, Body(id, B64(Bytes(c.message_bytes, 1)), c.algorithm, std::string(c.type), B64("sig")));
    CHECK(r.type == "ValidationException");
    CHECK(r.message == c.expected);
  }
}

TEST_CASE("ED25519_PH_SHA_512 needs OpenSSL 3.2: UnsupportedOperationException naming it",
          "[ops][sign]") {
  OpHarness h;
  const std::string id = h.CreateKeyOf("ECC_NIST_EDWARDS25519", "SIGN_VERIFY");
  CallResult ph = h.Call(
      "Sign", Body(id, B64(Hash("SHA512", "m")), "ED25519_PH_SHA_512", std::string("DIGEST")));
  if (kms::crypto::SigningAlgorithmAvailable(kms::crypto::SigningAlgorithm::kEd25519PhSha512)) {
    CHECK(ph.status == 200);
  } else {
    CHECK(ph.type == "UnsupportedOperationException");
    CHECK(ph.message.find("ED25519_PH_SHA_512") != std::string::npos);
    CHECK(ph.message.find("OpenSSL 3.2") != std::string::npos);
    CHECK(ph.message.find(kms::crypto::OpenSslVersionText()) != std::string::npos);
  }
}

TEST_CASE("An algorithm the key spec does not list is InvalidKeyUsageException", "[ops][sign]") {
  OpHarness h;
  struct Case {
    const char* spec;
    const char* algorithm;
  };
  for (const Case c : {Case{"ECC_NIST_P256", "ECDSA_SHA_384"}, Case{"ECC_NIST_P521", "SM2DSA"},
                       Case{"RSA_2048", "ECDSA_SHA_256"}, Case{"SM2", "ECDSA_SHA_256"},
                       Case{"ECC_NIST_EDWARDS25519", "ECDSA_SHA_512"},
                       Case{"ECC_SECG_P256K1", "ML_DSA_SHAKE_256"}}) {
    CAPTURE(c.spec, c.algorithm);
    const std::string id = h.CreateKeyOf(c.spec, "SIGN_VERIFY");
    for (const char* op : {"Sign", "Verify"}) {
      CallResult r = h.Call(op, Body(id, B64("m"), c.algorithm, std::nullopt, B64("sig")));
      CHECK(r.type == "InvalidKeyUsageException");
      CHECK(r.message == std::string("Algorithm ") + c.algorithm +
                             " is incompatible with key spec " + c.spec + ".");
    }
  }
}

TEST_CASE("Keys not for signing are InvalidKeyUsageException naming the usage", "[ops][sign]") {
  OpHarness h;
  const std::string symmetric = h.CreateSymmetricKey();
  const std::string rsa = h.CreateKeyOf("RSA_2048", "ENCRYPT_DECRYPT");
  const std::string hmac = h.CreateKeyOf("HMAC_256", "GENERATE_VERIFY_MAC");
  const std::string ecdh = h.CreateKeyOf("ECC_NIST_P256", "KEY_AGREEMENT");
  struct Case {
    std::string id;
    const char* usage;
  };
  for (const Case& c : {Case{symmetric, "ENCRYPT_DECRYPT"}, Case{rsa, "ENCRYPT_DECRYPT"},
                        Case{hmac, "GENERATE_VERIFY_MAC"}, Case{ecdh, "KEY_AGREEMENT"}}) {
    for (const char* op : {"Sign", "Verify"}) {
      CallResult r =
          h.Call(op, Body(c.id, B64("m"), "RSASSA_PSS_SHA_256", std::nullopt, B64("sig")));
      CHECK(r.type == "InvalidKeyUsageException");
      CHECK(r.message ==
            h.Arn(c.id) + " key usage is " + c.usage + " which is not valid for " + op + ".");
    }
  }
}

TEST_CASE("Disabled, pending-deletion and missing keys neither sign nor verify", "[ops][sign]") {
  OpHarness h;
  const std::string id = h.CreateKeyOf("ECC_NIST_P256", "SIGN_VERIFY");
  const std::string sig = SignOk(h, Body(id, B64("m"), "ECDSA_SHA_256"));
  REQUIRE(h.Call("DisableKey", KeyIdBody(id)).status == 200);
  for (const char* op : {"Sign", "Verify"}) {
    CallResult r = h.Call(op, Body(id, B64("m"), "ECDSA_SHA_256", std::nullopt, sig));
    CHECK(r.type == "DisabledException");
    CHECK(r.message == h.Arn(id) + " is disabled.");
  }
  REQUIRE(h.Call("EnableKey", KeyIdBody(id)).status == 200);
  h.ScheduleDeletion(id);
  for (const char* op : {"Sign", "Verify"}) {
    CallResult r = h.Call(op, Body(id, B64("m"), "ECDSA_SHA_256", std::nullopt, sig));
    CHECK(r.type == "KMSInvalidStateException");
    CHECK(r.message == h.Arn(id) + " is pending deletion.");
  }
  const std::string missing = "11111111-2222-4333-8444-555555555555";
  CallResult r = h.Call("Sign", Body(missing, B64("m"), "ECDSA_SHA_256"));
  CHECK(r.type == "NotFoundException");
  CHECK(r.message == "Key '" + h.Arn(missing) + "' does not exist");
}

TEST_CASE("Model validation answers first for bad Sign and Verify members", "[ops][sign]") {
  OpHarness h;
  const std::string id = h.CreateKeyOf("ECC_NIST_P256", "SIGN_VERIFY");
  CHECK(h.Call("Sign", Body(id, B64("m"), "ECDSA_SHA_1")).type == "ValidationException");
  CHECK(h.Call("Sign", Body(id, B64("m"), "ECDSA_SHA_256", std::string("HASHED"))).type ==
        "ValidationException");
  CHECK(h.Call("Sign", Body(id, "", "ECDSA_SHA_256")).type == "ValidationException");
  CHECK(h.Call("Sign", Body(id, B64(std::string(4097, 'a')), "ECDSA_SHA_256")).type ==
        "ValidationException");
  CHECK(h.Call("Sign", R"({"KeyId":")" + id + R"(","Message":"bQ=="})").type ==
        "ValidationException");
  CHECK(h.Call("Verify", Body(id, B64("m"), "ECDSA_SHA_256")).type == "ValidationException");
  CHECK(h.Call("Sign", Body(id, "!!!", "ECDSA_SHA_256")).status == 400);
  // 4096 bytes is the largest RAW message.
  CHECK(h.Call("Sign", Body(id, B64(std::string(4096, 'a')), "ECDSA_SHA_256")).status == 200);
}

TEST_CASE("Sign and Verify answer DryRunOperationException after every other check",
          "[ops][sign]") {
  OpHarness h;
  const std::string id = h.CreateKeyOf("ECC_NIST_P256", "SIGN_VERIFY");
  const std::string sig = SignOk(h, Body(id, B64("m"), "ECDSA_SHA_256"));
  for (const char* op : {"Sign", "Verify"}) {
    CallResult ok =
        h.Call(op, Body(id, B64("m"), "ECDSA_SHA_256", std::nullopt, sig, R"("DryRun":true)"));
    CHECK(ok.type == "DryRunOperationException");
    CHECK(ok.message == "The request would have succeeded, but the DryRun option is set.");
    // A bad signature with DryRun: the signature is not checked, as it is the work itself.
    CHECK(h.Call(op,
                 Body(id, B64("m"), "ECDSA_SHA_256", std::nullopt, B64("bad"), R"("DryRun":true)"))
              .type == "DryRunOperationException");
    CHECK(h.Call(op, Body(id, B64(Bytes(5, 1)), "ECDSA_SHA_256", std::string("DIGEST"), sig,
                          R"("DryRun":true)"))
              .type == "ValidationException");
    CHECK(h.Call(op, Body(id, B64("m"), "ECDSA_SHA_384", std::nullopt, sig, R"("DryRun":true)"))
              .type == "InvalidKeyUsageException");
  }
}

TEST_CASE("Signatures made before a restart verify after it", "[ops][sign]") {
  std::string pattern = "/tmp/kms_sign_test.XXXXXX";
  REQUIRE(::mkdtemp(pattern.data()) != nullptr);
  {
    OpHarness h(pattern + "/kms.db");
    const std::string id = h.CreateKeyOf("ECC_NIST_P384", "SIGN_VERIFY");
    const std::string sig = SignOk(h, Body(id, B64("durable"), "ECDSA_SHA_384"));
    h.Reopen();
    CHECK(h.Call("Verify", Body(id, B64("durable"), "ECDSA_SHA_384", std::nullopt, sig)).status ==
          200);
    CHECK(h.Call("Sign", Body(id, B64("again"), "ECDSA_SHA_384")).status == 200);
  }
  std::filesystem::remove_all(pattern);
}

}  // namespace
