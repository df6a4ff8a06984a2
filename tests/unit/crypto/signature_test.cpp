#include "crypto/signature.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rsa.h>

#include "crypto/bytes.hpp"
#include "crypto/key_pair.hpp"
#include "tests/unit/crypto/hex_util.hpp"

namespace kms::crypto {
namespace {

using testing::Unhex;

// Generated keys, one per type for the whole binary (RSA_4096 generation takes seconds).
struct TestKey {
  SecureBytes der;
  Pkey key;
  Pkey pub;  // the public half alone, as a client holding GetPublicKey's DER has it
};

const TestKey& KeyOf(KeyPairType type) {
  static std::map<KeyPairType, TestKey> keys;
  auto it = keys.find(type);
  if (it == keys.end()) {
    auto der = GeneratePrivateKey(type);
    REQUIRE(der);
    auto key = ParsePrivateKey(*der);
    REQUIRE(key);
    auto spki = PublicKeyDer(key->get());
    REQUIRE(spki);
    auto pub = ParsePublicKey(*spki);
    REQUIRE(pub);
    it = keys.emplace(type, TestKey{std::move(*der), std::move(*key), std::move(*pub)}).first;
  }
  return it->second;
}

Bytes Filled(std::size_t n, std::uint8_t seed = 1) {
  Bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(i * 7 + seed);
  return b;
}

Bytes Digest(const char* name, ByteView data) {
  std::array<std::uint8_t, EVP_MAX_MD_SIZE> out{};
  unsigned int len = 0;
  REQUIRE(EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_get_digestbyname(name),
                     nullptr) == 1);
  return Bytes(out.begin(), out.begin() + len);
}

struct Case {
  KeyPairType type;
  SigningAlgorithm algorithm;
  const char* name;    // AWS name
  const char* digest;  // OpenSSL digest name (nullptr: pure Ed25519)
  int padding;         // RSA padding, 0 otherwise
};

// Every key spec x signing algorithm AWS allows (key_specs table), with Ed25519ph apart.
const std::vector<Case>& AllCases() {
  static const std::vector<Case> cases = [] {
    std::vector<Case> out;
    struct RsaAlgorithm {
      SigningAlgorithm algorithm;
      const char* name;
      const char* digest;
      int padding;
    };
    constexpr RsaAlgorithm kRsa[] = {
        {SigningAlgorithm::kRsaPssSha256, "RSASSA_PSS_SHA_256", "SHA256", RSA_PKCS1_PSS_PADDING},
        {SigningAlgorithm::kRsaPssSha384, "RSASSA_PSS_SHA_384", "SHA384", RSA_PKCS1_PSS_PADDING},
        {SigningAlgorithm::kRsaPssSha512, "RSASSA_PSS_SHA_512", "SHA512", RSA_PKCS1_PSS_PADDING},
        {SigningAlgorithm::kRsaPkcs1Sha256, "RSASSA_PKCS1_V1_5_SHA_256", "SHA256",
         RSA_PKCS1_PADDING},
        {SigningAlgorithm::kRsaPkcs1Sha384, "RSASSA_PKCS1_V1_5_SHA_384", "SHA384",
         RSA_PKCS1_PADDING},
        {SigningAlgorithm::kRsaPkcs1Sha512, "RSASSA_PKCS1_V1_5_SHA_512", "SHA512",
         RSA_PKCS1_PADDING},
    };
    for (KeyPairType rsa : {KeyPairType::kRsa2048, KeyPairType::kRsa3072, KeyPairType::kRsa4096}) {
      for (const RsaAlgorithm& a : kRsa)
        out.push_back({rsa, a.algorithm, a.name, a.digest, a.padding});
    }
    out.push_back(
        {KeyPairType::kEccNistP256, SigningAlgorithm::kEcdsaSha256, "ECDSA_SHA_256", "SHA256", 0});
    out.push_back(
        {KeyPairType::kEccNistP384, SigningAlgorithm::kEcdsaSha384, "ECDSA_SHA_384", "SHA384", 0});
    out.push_back(
        {KeyPairType::kEccNistP521, SigningAlgorithm::kEcdsaSha512, "ECDSA_SHA_512", "SHA512", 0});
    out.push_back({KeyPairType::kEccSecgP256k1, SigningAlgorithm::kEcdsaSha256, "ECDSA_SHA_256",
                   "SHA256", 0});
    out.push_back(
        {KeyPairType::kEd25519, SigningAlgorithm::kEd25519Sha512, "ED25519_SHA_512", nullptr, 0});
    out.push_back({KeyPairType::kSm2, SigningAlgorithm::kSm2Dsa, "SM2DSA", "SM3", 0});
    return out;
  }();
  return cases;
}

// OpenSSL's own one-shot verification of a RAW message, as an independent verifier holding
// only the public key does it: RSA with the padding and PSS salt = digest length, SM2 with
// the default distinguishing ID.
bool IndependentlyVerifies(const Case& c, EVP_PKEY* pub, ByteView message, ByteView signature) {
  MdCtx ctx(EVP_MD_CTX_new());
  REQUIRE(ctx != nullptr);
  EVP_PKEY_CTX* pctx = nullptr;
  REQUIRE(EVP_DigestVerifyInit_ex(ctx.get(), &pctx, c.digest, nullptr, nullptr, pub, nullptr) == 1);
  if (c.type == KeyPairType::kSm2) {
    // OpenSSL 3.0 takes the ID after init (as `-pkeyopt distid:` does), not as an init param.
    REQUIRE(EVP_PKEY_CTX_set1_id(pctx, "1234567812345678", 16) == 1);
  }
  if (c.padding != 0) {
    REQUIRE(EVP_PKEY_CTX_set_rsa_padding(pctx, c.padding) == 1);
    if (c.padding == RSA_PKCS1_PSS_PADDING) {
      REQUIRE(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1);
    }
  }
  const int ok = EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), message.data(),
                                  message.size());
  DrainOpenSslErrors();
  return ok == 1;
}

// e = SM3(Z || M) computed here from the published SM2 generator and the key's public point:
// a check on the module's Z that does not share its code.
Bytes Sm2E(EVP_PKEY* key, ByteView message) {
  std::array<std::uint8_t, 65> pub{};
  std::size_t pub_len = 0;
  REQUIRE(EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, pub.data(), pub.size(),
                                          &pub_len) == 1);
  REQUIRE(pub_len == 65);
  Bytes z_input = Unhex(
      "0080"
      "31323334353637383132333435363738"
      "FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC"
      "28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93"
      "32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7"
      "BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0");
  z_input.insert(z_input.end(), pub.begin() + 1, pub.end());
  Bytes e_input = Digest("SM3", z_input);
  e_input.insert(e_input.end(), message.begin(), message.end());
  return Digest("SM3", e_input);
}

// The digest a DIGEST message of `c` carries for `message`.
Bytes DigestMessage(const Case& c, const TestKey& k, ByteView message) {
  if (c.type == KeyPairType::kSm2) return Sm2E(k.key.get(), message);
  return Digest(c.digest, message);
}

TEST_CASE("Every algorithm signs RAW messages that an independent verifier accepts",
          "[crypto][signature]") {
  for (const Case& c : AllCases()) {
    CAPTURE(c.name, static_cast<int>(c.type));
    const TestKey& k = KeyOf(c.type);
    for (std::size_t size : {std::size_t{0}, std::size_t{1}, std::size_t{4096}}) {
      const Bytes message = Filled(size);
      auto sig = Sign(k.key.get(), c.algorithm, MessageType::kRaw, message);
      REQUIRE(sig);
      CHECK(IndependentlyVerifies(c, k.pub.get(), message, *sig));
      CHECK(Verify(k.pub.get(), c.algorithm, MessageType::kRaw, message, *sig));
      CHECK(Verify(k.key.get(), c.algorithm, MessageType::kRaw, message, *sig));
      if (c.type == KeyPairType::kEd25519) {
        CHECK(sig->size() == 64);
      } else if (c.padding != 0) {
        CHECK(sig->size() == static_cast<std::size_t>(EVP_PKEY_get_size(k.key.get())));
      } else {
        CHECK((*sig)[0] == 0x30);  // DER SEQUENCE { r, s }
      }
    }
  }
}

TEST_CASE("A DIGEST signature is the RAW signature of the message it digests",
          "[crypto][signature]") {
  for (const Case& c : AllCases()) {
    if (c.type == KeyPairType::kEd25519) continue;  // RAW only
    CAPTURE(c.name, static_cast<int>(c.type));
    const TestKey& k = KeyOf(c.type);
    const Bytes message = Filled(300, 9);
    const Bytes digest = DigestMessage(c, k, message);
    REQUIRE(digest.size() == DigestBytes(c.algorithm));

    auto from_digest = Sign(k.key.get(), c.algorithm, MessageType::kDigest, digest);
    REQUIRE(from_digest);
    CHECK(IndependentlyVerifies(c, k.pub.get(), message, *from_digest));
    CHECK(Verify(k.pub.get(), c.algorithm, MessageType::kRaw, message, *from_digest));
    CHECK(Verify(k.pub.get(), c.algorithm, MessageType::kDigest, digest, *from_digest));

    auto from_raw = Sign(k.key.get(), c.algorithm, MessageType::kRaw, message);
    REQUIRE(from_raw);
    CHECK(Verify(k.pub.get(), c.algorithm, MessageType::kDigest, digest, *from_raw));
    if (c.padding == RSA_PKCS1_PADDING) CHECK(*from_raw == *from_digest);  // deterministic
  }
}

TEST_CASE("A tampered signature or message, or another key, is kAuthFailed",
          "[crypto][signature]") {
  for (const Case& c : AllCases()) {
    CAPTURE(c.name, static_cast<int>(c.type));
    const TestKey& k = KeyOf(c.type);
    const Bytes message = Filled(64);
    auto sig = Sign(k.key.get(), c.algorithm, MessageType::kRaw, message);
    REQUIRE(sig);

    Bytes flipped = *sig;
    flipped[flipped.size() / 2] ^= 0x01;
    Bytes truncated(sig->begin(), sig->end() - 1);
    Bytes extended = *sig;
    extended.push_back(0);
    Bytes other_message = message;
    other_message[0] ^= 0x80;
    // Another key of the family (RSA keys come from the shared set: generation is slow).
    const bool is_rsa = c.padding != 0;
    Pkey fresh;
    if (!is_rsa) {
      auto der = GeneratePrivateKey(c.type);
      REQUIRE(der);
      auto parsed = ParsePrivateKey(*der);
      REQUIRE(parsed);
      fresh = std::move(*parsed);
    }
    const EVP_PKEY* other_key =
        is_rsa
            ? KeyOf(c.type == KeyPairType::kRsa2048 ? KeyPairType::kRsa3072 : KeyPairType::kRsa2048)
                  .key.get()
            : fresh.get();

    for (auto result : {Verify(k.key.get(), c.algorithm, MessageType::kRaw, message, flipped),
                        Verify(k.key.get(), c.algorithm, MessageType::kRaw, message, truncated),
                        Verify(k.key.get(), c.algorithm, MessageType::kRaw, message, extended),
                        Verify(k.key.get(), c.algorithm, MessageType::kRaw, message, Bytes{}),
                        Verify(k.key.get(), c.algorithm, MessageType::kRaw, message, Filled(600)),
                        Verify(k.key.get(), c.algorithm, MessageType::kRaw, other_message, *sig),
                        Verify(other_key, c.algorithm, MessageType::kRaw, message, *sig)}) {
      REQUIRE_FALSE(result);
      CHECK(result.error().code == Error::Code::kAuthFailed);
    }
  }
}

TEST_CASE("RSASSA-PSS does not verify as PKCS#1 v1.5, nor SHA-256 as SHA-384",
          "[crypto][signature]") {
  const TestKey& k = KeyOf(KeyPairType::kRsa2048);
  const Bytes message = Filled(10);
  auto pss = Sign(k.key.get(), SigningAlgorithm::kRsaPssSha256, MessageType::kRaw, message);
  REQUIRE(pss);
  CHECK_FALSE(
      Verify(k.key.get(), SigningAlgorithm::kRsaPkcs1Sha256, MessageType::kRaw, message, *pss));
  CHECK_FALSE(
      Verify(k.key.get(), SigningAlgorithm::kRsaPssSha384, MessageType::kRaw, message, *pss));
  // PSS is randomised: two signatures of one message differ, and both verify.
  auto again = Sign(k.key.get(), SigningAlgorithm::kRsaPssSha256, MessageType::kRaw, message);
  REQUIRE(again);
  CHECK(*again != *pss);
}

TEST_CASE("A DIGEST of the wrong length is kBadInput", "[crypto][signature]") {
  for (const Case& c : AllCases()) {
    if (c.type == KeyPairType::kEd25519) continue;
    CAPTURE(c.name);
    const TestKey& k = KeyOf(c.type);
    const std::size_t right = DigestBytes(c.algorithm);
    for (std::size_t n : {right - 1, right + 1, std::size_t{1}}) {
      auto sig = Sign(k.key.get(), c.algorithm, MessageType::kDigest, Filled(n));
      REQUIRE_FALSE(sig);
      CHECK(sig.error().code == Error::Code::kBadInput);
      auto ok = Verify(k.key.get(), c.algorithm, MessageType::kDigest, Filled(n), Filled(64));
      REQUIRE_FALSE(ok);
      CHECK(ok.error().code == Error::Code::kBadInput);
    }
  }
}

TEST_CASE("Digest lengths and message types follow AWS", "[crypto][signature]") {
  CHECK(DigestBytes(SigningAlgorithm::kEcdsaSha256) == 32);
  CHECK(DigestBytes(SigningAlgorithm::kRsaPssSha384) == 48);
  CHECK(DigestBytes(SigningAlgorithm::kRsaPkcs1Sha512) == 64);
  CHECK(DigestBytes(SigningAlgorithm::kSm2Dsa) == 32);
  CHECK(DigestBytes(SigningAlgorithm::kEd25519PhSha512) == 64);
  CHECK(AcceptsMessageType(SigningAlgorithm::kEd25519Sha512, MessageType::kRaw));
  CHECK_FALSE(AcceptsMessageType(SigningAlgorithm::kEd25519Sha512, MessageType::kDigest));
  CHECK(AcceptsMessageType(SigningAlgorithm::kEd25519PhSha512, MessageType::kDigest));
  CHECK_FALSE(AcceptsMessageType(SigningAlgorithm::kEd25519PhSha512, MessageType::kRaw));
  CHECK(AcceptsMessageType(SigningAlgorithm::kSm2Dsa, MessageType::kDigest));

  const TestKey& k = KeyOf(KeyPairType::kEd25519);
  auto digest =
      Sign(k.key.get(), SigningAlgorithm::kEd25519Sha512, MessageType::kDigest, Filled(64));
  REQUIRE_FALSE(digest);
  CHECK(digest.error().code == Error::Code::kBadInput);
}

TEST_CASE("A key of the wrong type for the algorithm is kBadInput", "[crypto][signature]") {
  const TestKey& ec = KeyOf(KeyPairType::kEccNistP256);
  const TestKey& rsa = KeyOf(KeyPairType::kRsa2048);
  const TestKey& sm2 = KeyOf(KeyPairType::kSm2);
  for (auto result :
       {Sign(ec.key.get(), SigningAlgorithm::kRsaPssSha256, MessageType::kRaw, Filled(4)),
        Sign(rsa.key.get(), SigningAlgorithm::kEcdsaSha256, MessageType::kRaw, Filled(4)),
        Sign(sm2.key.get(), SigningAlgorithm::kEcdsaSha256, MessageType::kRaw, Filled(4)),
        Sign(ec.key.get(), SigningAlgorithm::kSm2Dsa, MessageType::kRaw, Filled(4)),
        Sign(ec.key.get(), SigningAlgorithm::kEd25519Sha512, MessageType::kRaw, Filled(4)),
        Sign(nullptr, SigningAlgorithm::kEcdsaSha256, MessageType::kRaw, Filled(4))}) {
    REQUIRE_FALSE(result);
    CHECK(result.error().code == Error::Code::kBadInput);
  }
}

TEST_CASE("Ed25519ph needs OpenSSL 3.2: refused with kBadInput before, RFC 8032 after",
          "[crypto][signature]") {
  const TestKey& k = KeyOf(KeyPairType::kEd25519);
  const Bytes digest = Digest("SHA512", Filled(100));
  auto sig = Sign(k.key.get(), SigningAlgorithm::kEd25519PhSha512, MessageType::kDigest, digest);
  if (OpenSSL_version_num() < 0x30200000UL) {
    CHECK_FALSE(SigningAlgorithmAvailable(SigningAlgorithm::kEd25519PhSha512));
    CHECK(OpenSslNeededFor(SigningAlgorithm::kEd25519PhSha512) == "3.2");
    REQUIRE_FALSE(sig);
    CHECK(sig.error().code == Error::Code::kBadInput);
    CHECK(sig.error().message.find("3.2") != std::string::npos);
  } else {
    REQUIRE(sig);
    CHECK(sig->size() == 64);
    CHECK(Verify(k.pub.get(), SigningAlgorithm::kEd25519PhSha512, MessageType::kDigest, digest,
                 *sig));
    // Not a pure Ed25519 signature of the digest.
    CHECK_FALSE(
        Verify(k.pub.get(), SigningAlgorithm::kEd25519Sha512, MessageType::kRaw, digest, *sig));
  }
  CHECK(SigningAlgorithmAvailable(SigningAlgorithm::kEd25519Sha512));
  CHECK(SigningAlgorithmAvailable(SigningAlgorithm::kSm2Dsa));
}

TEST_CASE("The cached path signs and verifies like the direct one, call after call",
          "[crypto][signature]") {
  for (const Case& c : AllCases()) {
    CAPTURE(c.name, static_cast<int>(c.type));
    const TestKey& k = KeyOf(c.type);
    const std::string id =
        std::string("material-") + c.name + std::to_string(static_cast<int>(c.type));
    for (int round = 0; round < 3; ++round) {
      const Bytes message = Filled(50, static_cast<std::uint8_t>(round));
      auto sig = CachedSign(id, k.der, c.algorithm, MessageType::kRaw, message);
      REQUIRE(sig);
      CHECK(IndependentlyVerifies(c, k.pub.get(), message, *sig));
      CHECK(CachedVerify(id, k.der, c.algorithm, MessageType::kRaw, message, *sig));
      Bytes bad = *sig;
      bad[bad.size() - 1] ^= 0x01;
      auto refused = CachedVerify(id, k.der, c.algorithm, MessageType::kRaw, message, bad);
      REQUIRE_FALSE(refused);
      CHECK(refused.error().code == Error::Code::kAuthFailed);
      // A failed verification leaves the cached context usable.
      CHECK(CachedVerify(id, k.der, c.algorithm, MessageType::kRaw, message, *sig));
      if (c.type != KeyPairType::kEd25519) {
        auto digest =
            CachedSign(id, k.der, c.algorithm, MessageType::kDigest, DigestMessage(c, k, message));
        REQUIRE(digest);
        CHECK(IndependentlyVerifies(c, k.pub.get(), message, *digest));
      }
    }
  }
}

TEST_CASE("CachedSign refuses bytes that are not a private key", "[crypto][signature]") {
  auto sig = CachedSign("not-a-key", Filled(40), SigningAlgorithm::kEcdsaSha256, MessageType::kRaw,
                        Filled(4));
  REQUIRE_FALSE(sig);
  CHECK(sig.error().code == Error::Code::kBadInput);
}

}  // namespace
}  // namespace kms::crypto
