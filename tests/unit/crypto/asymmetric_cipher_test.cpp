#include "crypto/asymmetric_cipher.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <initializer_list>

#include <catch2/catch.hpp>
#include <openssl/evp.h>

#include "crypto/bytes.hpp"
#include "crypto/key_pair.hpp"
#include "tests/unit/crypto/key_util.hpp"

namespace kms::crypto {
namespace {

using testing::NewKey;
using testing::SpkiOf;

// The public half alone, as a client holding GetPublicKey's DER has it.
Pkey PublicOnly(const EVP_PKEY* key) {
  auto pub = ParsePublicKey(SpkiOf(key));
  REQUIRE(pub);
  return std::move(*pub);
}

Bytes Filled(std::size_t n) {
  Bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(i * 7 + 1);
  return b;
}

bool Equal(const SecureBytes& a, const Bytes& b) {
  return a.size() == b.size() && std::equal(b.begin(), b.end(), a.data());
}

struct Case {
  KeyPairType type;
  AsymmetricCipher cipher;
  const char* name;
};

const Case kCases[] = {
    {KeyPairType::kRsa2048, AsymmetricCipher::kRsaOaepSha1, "RSA_2048 OAEP SHA-1"},
    {KeyPairType::kRsa2048, AsymmetricCipher::kRsaOaepSha256, "RSA_2048 OAEP SHA-256"},
    {KeyPairType::kSm2, AsymmetricCipher::kSm2, "SM2PKE"},
};

TEST_CASE(
    "AsymmetricEncrypt output decrypts with the private key, also when made from the "
    "public key alone",
    "[crypto][asymmetric_cipher]") {
  const Case c = GENERATE(values(std::initializer_list<Case>{kCases[0], kCases[1], kCases[2]}));
  CAPTURE(c.name);
  const Pkey key = NewKey(c.type);
  const Pkey pub = PublicOnly(key.get());
  const Bytes plaintext = Filled(100);

  for (const EVP_PKEY* encrypting : {key.get(), pub.get()}) {
    auto blob = AsymmetricEncrypt(encrypting, c.cipher, plaintext);
    REQUIRE(blob);
    if (c.cipher == AsymmetricCipher::kSm2) {
      // DER SEQUENCE {C1x, C1y, C3, C2}: the plaintext plus the point and a 32-byte SM3 hash.
      CHECK((*blob)[0] == 0x30);
      CHECK(blob->size() > plaintext.size() + 64 + 32);
    } else {
      CHECK(blob->size() == 256);  // modulus-sized, no framing
    }
    auto plain = AsymmetricDecrypt(key.get(), c.cipher, *blob);
    REQUIRE(plain);
    CHECK(Equal(*plain, plaintext));
  }
}

TEST_CASE("Two encryptions of one plaintext differ (randomised padding)",
          "[crypto][asymmetric_cipher]") {
  const Case c = GENERATE(values(std::initializer_list<Case>{kCases[0], kCases[2]}));
  const Pkey key = NewKey(c.type);
  auto a = AsymmetricEncrypt(key.get(), c.cipher, Filled(16));
  auto b = AsymmetricEncrypt(key.get(), c.cipher, Filled(16));
  REQUIRE(a);
  REQUIRE(b);
  CHECK(*a != *b);
}

TEST_CASE("A damaged, truncated or foreign ciphertext is kAuthFailed",
          "[crypto][asymmetric_cipher]") {
  const Case c = GENERATE(values(std::initializer_list<Case>{kCases[0], kCases[1], kCases[2]}));
  CAPTURE(c.name);
  const Pkey key = NewKey(c.type);
  auto blob = AsymmetricEncrypt(key.get(), c.cipher, Filled(32));
  REQUIRE(blob);

  Bytes flipped = *blob;
  flipped[flipped.size() - 1] ^= 0x01;
  Bytes truncated(blob->begin(), blob->end() - 1);
  Bytes extended = *blob;
  extended.push_back(0);
  const Pkey other = NewKey(c.type);
  for (auto result : {AsymmetricDecrypt(key.get(), c.cipher, flipped),
                      AsymmetricDecrypt(key.get(), c.cipher, truncated),
                      AsymmetricDecrypt(key.get(), c.cipher, extended),
                      AsymmetricDecrypt(key.get(), c.cipher, Bytes{}),
                      AsymmetricDecrypt(key.get(), c.cipher, Filled(256)),
                      AsymmetricDecrypt(other.get(), c.cipher, *blob)}) {
    REQUIRE_FALSE(result);
    CHECK(result.error().code == Error::Code::kAuthFailed);
  }
}

TEST_CASE("OAEP with SHA-1 does not decrypt as OAEP with SHA-256", "[crypto][asymmetric_cipher]") {
  const Pkey key = NewKey(KeyPairType::kRsa2048);
  auto blob = AsymmetricEncrypt(key.get(), AsymmetricCipher::kRsaOaepSha1, Filled(20));
  REQUIRE(blob);
  auto wrong = AsymmetricDecrypt(key.get(), AsymmetricCipher::kRsaOaepSha256, *blob);
  REQUIRE_FALSE(wrong);
  CHECK(wrong.error().code == Error::Code::kAuthFailed);
}

TEST_CASE("RSA-OAEP takes at most modulus - 2 * hash - 2 bytes", "[crypto][asymmetric_cipher]") {
  const Pkey key = NewKey(KeyPairType::kRsa2048);
  CHECK(AsymmetricEncrypt(key.get(), AsymmetricCipher::kRsaOaepSha1, Filled(214)));
  CHECK(AsymmetricEncrypt(key.get(), AsymmetricCipher::kRsaOaepSha256, Filled(190)));
  auto over = AsymmetricEncrypt(key.get(), AsymmetricCipher::kRsaOaepSha256, Filled(191));
  REQUIRE_FALSE(over);
  CHECK(over.error().code == Error::Code::kBadInput);
}

TEST_CASE("A key of the wrong type for the cipher is kBadInput", "[crypto][asymmetric_cipher]") {
  const Pkey ec = NewKey(KeyPairType::kEccNistP256);
  const Pkey rsa = NewKey(KeyPairType::kRsa2048);
  auto r1 = AsymmetricEncrypt(ec.get(), AsymmetricCipher::kRsaOaepSha256, Filled(8));
  auto r2 = AsymmetricEncrypt(rsa.get(), AsymmetricCipher::kSm2, Filled(8));
  auto r3 = AsymmetricDecrypt(ec.get(), AsymmetricCipher::kSm2, Filled(8));
  for (bool failed_bad_input : {!r1 && r1.error().code == Error::Code::kBadInput,
                                !r2 && r2.error().code == Error::Code::kBadInput,
                                !r3 && r3.error().code == Error::Code::kBadInput}) {
    CHECK(failed_bad_input);
  }
}

}  // namespace
}  // namespace kms::crypto
