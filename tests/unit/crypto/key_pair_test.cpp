#include "crypto/key_pair.hpp"

#include <algorithm>

#include <catch2/catch.hpp>
#include <openssl/err.h>
#include <openssl/evp.h>

namespace kms::crypto {
namespace {

struct Expected {
  KeyPairType type;
  const char* openssl_name;  // what EVP_PKEY_is_a reports
  int bits;
};

TEST_CASE("GeneratePrivateKey makes each type and its DER forms round-trip", "[crypto][key_pair]") {
  const Expected e = GENERATE(
      Expected{KeyPairType::kRsa2048, "RSA", 2048}, Expected{KeyPairType::kRsa3072, "RSA", 3072},
      Expected{KeyPairType::kEccNistP256, "EC", 256},
      Expected{KeyPairType::kEccNistP384, "EC", 384},
      Expected{KeyPairType::kEccNistP521, "EC", 521},
      Expected{KeyPairType::kEccSecgP256k1, "EC", 256},
      Expected{KeyPairType::kEd25519, "ED25519", 256}, Expected{KeyPairType::kSm2, "SM2", 256});
  CAPTURE(e.openssl_name, e.bits);
  REQUIRE(KeyPairTypeAvailable(e.type));
  auto der = GeneratePrivateKey(e.type);
  REQUIRE(der);
  CHECK(der->size() > 32);

  auto key = ParsePrivateKey(*der);
  REQUIRE(key);
  CHECK(EVP_PKEY_is_a(key->get(), e.openssl_name) == 1);
  CHECK(KeyBits(key->get()) == e.bits);

  auto spki = PublicKeyDer(key->get());
  REQUIRE(spki);
  auto pub = ParsePublicKey(*spki);
  REQUIRE(pub);
  CHECK(EVP_PKEY_is_a(pub->get(), e.openssl_name) == 1);
  CHECK(EVP_PKEY_eq(key->get(), pub->get()) == 1);  // same public half
  CHECK(ERR_peek_error() == 0);
}

TEST_CASE("Two generated keys differ", "[crypto][key_pair]") {
  auto a = GeneratePrivateKey(KeyPairType::kEccNistP256);
  auto b = GeneratePrivateKey(KeyPairType::kEccNistP256);
  REQUIRE(a);
  REQUIRE(b);
  const bool same = a->view().size() == b->view().size() &&
                    std::equal(a->view().begin(), a->view().end(), b->view().begin());
  CHECK_FALSE(same);
}

TEST_CASE("Parsers reject what is not their structure", "[crypto][key_pair]") {
  auto der = GeneratePrivateKey(KeyPairType::kEccNistP256);
  REQUIRE(der);
  auto key = ParsePrivateKey(*der);
  REQUIRE(key);
  auto spki = PublicKeyDer(key->get());
  REQUIRE(spki);

  const Bytes garbage = {0x30, 0x03, 0x02, 0x01, 0x00};
  CHECK(ParsePrivateKey(garbage).error().code == Error::Code::kBadInput);
  CHECK(ParsePublicKey(garbage).error().code == Error::Code::kBadInput);
  CHECK(ParsePublicKey({}).error().code == Error::Code::kBadInput);
  // A public key is not a private key, and trailing bytes are not ignored.
  CHECK(ParsePrivateKey(*spki).error().code == Error::Code::kBadInput);
  Bytes trailing = *spki;
  trailing.push_back(0);
  CHECK(ParsePublicKey(trailing).error().code == Error::Code::kBadInput);
  Bytes truncated(spki->begin(), spki->end() - 1);
  CHECK(ParsePublicKey(truncated).error().code == Error::Code::kBadInput);
  CHECK(ERR_peek_error() == 0);
}

TEST_CASE("CachedPrivateKey parses once per id and hands out references", "[crypto][key_pair]") {
  auto der = GeneratePrivateKey(KeyPairType::kEd25519);
  REQUIRE(der);
  auto first = CachedPrivateKey("cache-test-id", *der);
  auto second = CachedPrivateKey("cache-test-id", *der);
  REQUIRE(first);
  REQUIRE(second);
  CHECK(first->get() == second->get());  // the same parsed key
  auto other = CachedPrivateKey("cache-test-other", *der);
  REQUIRE(other);
  CHECK(other->get() != first->get());
  CHECK(EVP_PKEY_eq(other->get(), first->get()) == 1);

  const Bytes garbage = {1, 2, 3};
  CHECK_FALSE(CachedPrivateKey("cache-test-bad", garbage));
}

TEST_CASE("ML-DSA availability follows the OpenSSL in use", "[crypto][key_pair]") {
  const bool available = KeyPairTypeAvailable(KeyPairType::kMlDsa65);
  CHECK(available == (OPENSSL_VERSION_NUMBER >= 0x30500000L));
  if (!available) {
    auto der = GeneratePrivateKey(KeyPairType::kMlDsa65);
    REQUIRE_FALSE(der);
    CHECK(der.error().code == Error::Code::kBadInput);
    CHECK(der.error().message.find("ML-DSA-65 is not provided by OpenSSL") == 0);
  }
  CHECK(ERR_peek_error() == 0);
}

}  // namespace
}  // namespace kms::crypto
