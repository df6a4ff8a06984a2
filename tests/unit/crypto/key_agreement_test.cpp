#include "crypto/key_agreement.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>

#include <catch2/catch.hpp>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "crypto/bytes.hpp"
#include "crypto/key_pair.hpp"
#include "tests/unit/crypto/hex_util.hpp"
#include "tests/unit/crypto/key_util.hpp"

namespace kms::crypto {
namespace {

using testing::Concat;
using testing::NewKey;
using testing::SpkiOf;
using testing::Unhex;

Bytes AsBytesCopy(const SecureBytes& s) { return Bytes(s.begin(), s.end()); }

// own's secret with the peer whose private key is `peer`, through both functions.
Bytes Secret(const EVP_PKEY* own, const EVP_PKEY* peer) {
  auto parsed = ParsePeerPublicKey(own, SpkiOf(peer));
  REQUIRE(parsed);
  auto secret = EcdhSharedSecret(own, parsed->get());
  REQUIRE(secret);
  return AsBytesCopy(*secret);
}

// OpenSSL's own ECDH (EVP_PKEY_derive), for keys that OpenSSL 3.0 derives with.
Bytes EvpDerive(EVP_PKEY* own, EVP_PKEY* peer) {
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, own, nullptr));
  REQUIRE(ctx != nullptr);
  REQUIRE(EVP_PKEY_derive_init(ctx.get()) == 1);
  REQUIRE(EVP_PKEY_derive_set_peer(ctx.get(), peer) == 1);
  std::size_t len = 0;
  REQUIRE(EVP_PKEY_derive(ctx.get(), nullptr, &len) == 1);
  Bytes out(len);
  REQUIRE(EVP_PKEY_derive(ctx.get(), out.data(), &len) == 1);
  out.resize(len);
  return out;
}

struct Curve {
  KeyPairType type;
  const char* name;
  std::size_t secret_bytes;
};

TEST_CASE("Both sides of an ECDH exchange derive the same field-sized secret",
          "[crypto][key_agreement]") {
  const Curve c =
      GENERATE(values(std::initializer_list<Curve>{{KeyPairType::kEccNistP256, "P-256", 32},
                                                   {KeyPairType::kEccNistP384, "P-384", 48},
                                                   {KeyPairType::kEccNistP521, "P-521", 66},
                                                   {KeyPairType::kSm2, "SM2", 32}}));
  CAPTURE(c.name);
  const Pkey alice = NewKey(c.type);
  const Pkey bob = NewKey(c.type);
  const Bytes ab = Secret(alice.get(), bob.get());
  CHECK(ab.size() == c.secret_bytes);
  CHECK(Secret(bob.get(), alice.get()) == ab);
  CHECK(Secret(alice.get(), alice.get()).size() == c.secret_bytes);
  if (c.type != KeyPairType::kSm2) CHECK(EvpDerive(alice.get(), bob.get()) == ab);
  const Pkey carol = NewKey(c.type);
  CHECK(Secret(alice.get(), carol.get()) != ab);
}

// A private key of OpenSSL key type `keymgmt` ("EC" or "SM2") on the named curve `group`, from
// its big-endian scalar `d` and its encoded public point.
Pkey KeyFromData(const char* keymgmt, const char* group, const Bytes& d, const Bytes& pub) {
  Bytes d_native(d.rbegin(), d.rend());  // OSSL_PARAM BIGNUMs are native-endian (x86: little)
  Bytes pub_copy = pub;
  std::array<OSSL_PARAM, 4> params = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, const_cast<char*>(group), 0),
      OSSL_PARAM_construct_BN(OSSL_PKEY_PARAM_PRIV_KEY, d_native.data(), d_native.size()),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pub_copy.data(), pub_copy.size()),
      OSSL_PARAM_construct_end()};
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_name(nullptr, keymgmt, nullptr));
  REQUIRE(ctx != nullptr);
  REQUIRE(EVP_PKEY_fromdata_init(ctx.get()) == 1);
  EVP_PKEY* raw = nullptr;
  REQUIRE(EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_KEYPAIR, params.data()) == 1);
  return Pkey(raw);
}

// An EC-type (not SM2-type) key on the SM2 curve. OpenSSL 3.0 generates these and derives with
// them (though it refuses to import them), which gives an answer independent of the
// EC_POINT_mul path.
Pkey EcKeyOnSm2Curve() {
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  REQUIRE(ctx != nullptr);
  REQUIRE(EVP_PKEY_keygen_init(ctx.get()) == 1);
  REQUIRE(EVP_PKEY_CTX_set_group_name(ctx.get(), "SM2") == 1);
  EVP_PKEY* raw = nullptr;
  REQUIRE(EVP_PKEY_generate(ctx.get(), &raw) == 1);
  Pkey key(raw);
  REQUIRE(EVP_PKEY_is_a(key.get(), "EC") == 1);
  return key;
}

// The same key pair as an SM2-type key, as kmsd holds SM2 keys.
Pkey Sm2TypeCopy(const EVP_PKEY* ec) {
  BIGNUM* raw = nullptr;
  REQUIRE(EVP_PKEY_get_bn_param(ec, OSSL_PKEY_PARAM_PRIV_KEY, &raw) == 1);
  const Bignum d(raw);
  Bytes d_bytes(32);
  REQUIRE(BN_bn2binpad(d.get(), d_bytes.data(), 32) == 32);
  std::array<std::uint8_t, 65> pub{};
  std::size_t pub_len = 0;
  REQUIRE(EVP_PKEY_get_octet_string_param(ec, OSSL_PKEY_PARAM_PUB_KEY, pub.data(), pub.size(),
                                          &pub_len) == 1);
  Pkey sm2 = KeyFromData("SM2", "SM2", d_bytes, Bytes(pub.begin(), pub.begin() + pub_len));
  REQUIRE(EVP_PKEY_is_a(sm2.get(), "SM2") == 1);
  return sm2;
}

TEST_CASE("The SM2 secret is the one OpenSSL's ECDH computes on the SM2 curve",
          "[crypto][key_agreement]") {
  const Pkey alice_ec = EcKeyOnSm2Curve();
  const Pkey bob_ec = EcKeyOnSm2Curve();
  const Pkey alice = Sm2TypeCopy(alice_ec.get());
  const Pkey bob = Sm2TypeCopy(bob_ec.get());
  const Bytes expected = EvpDerive(alice_ec.get(), bob_ec.get());
  CHECK(expected.size() == 32);
  CHECK(Secret(alice.get(), bob.get()) == expected);
  CHECK(Secret(bob.get(), alice.get()) == expected);
}

// NIST CAVS ECC CDH primitive test vector, P-256, COUNT = 0.
TEST_CASE("P-256 ECDH matches the NIST CDH test vector", "[crypto][key_agreement]") {
  const Bytes d = Unhex("7d7dc5f71eb29ddaf80d6214632eeae03d9058af1fb6d22ed80badb62bc1a534");
  const Bytes own_pub = Unhex(
      "04ead218590119e8876b29146ff89ca61770c4edbbf97d38ce385ed281d8a6b230"
      "28af61281fd35e2fa7002523acc85a429cb06ee6648325389f59edfce1405141");
  const Bytes peer_spki =
      Concat(Unhex("3059301306072a8648ce3d020106082a8648ce3d030107034200"),
             Unhex("04700c48f77f56584c5cc632ca65640db91b6bacce3a4df6b42ce7cc838833d287"
                   "db71e509e3fd9b060ddb20ba5c51dcc5948d46fbf640dfe0441782cab85fa4ac"));

  const Pkey own = KeyFromData("EC", "P-256", d, own_pub);

  auto peer = ParsePeerPublicKey(own.get(), peer_spki);
  REQUIRE(peer);
  auto secret = EcdhSharedSecret(own.get(), peer->get());
  REQUIRE(secret);
  CHECK(AsBytesCopy(*secret) ==
        Unhex("46fc62106420ff012e54a434fbdd2d25ccc5852060561e68040dd7778997bd7b"));
}

void CheckBadInput(const EVP_PKEY* own, const Bytes& spki) {
  auto peer = ParsePeerPublicKey(own, spki);
  REQUIRE_FALSE(peer);
  CHECK(peer.error().code == Error::Code::kBadInput);
}

TEST_CASE("A peer key that does not parse, is on another curve or is no valid point is bad input",
          "[crypto][key_agreement]") {
  const Pkey p256 = NewKey(KeyPairType::kEccNistP256);
  const Pkey p384 = NewKey(KeyPairType::kEccNistP384);
  const Pkey sm2 = NewKey(KeyPairType::kSm2);

  SECTION("not DER") {
    CheckBadInput(p256.get(), {});
    CheckBadInput(p256.get(), Bytes{0x30, 0x03, 0x01, 0x02});
    CheckBadInput(sm2.get(), Bytes(91, 0xff));
  }
  SECTION("bytes after the SubjectPublicKeyInfo") {
    Bytes spki = SpkiOf(NewKey(KeyPairType::kEccNistP256).get());
    spki.push_back(0);
    CheckBadInput(p256.get(), spki);
  }
  SECTION("another curve") {
    CheckBadInput(p256.get(), SpkiOf(p384.get()));
    CheckBadInput(p384.get(), SpkiOf(p256.get()));
    CheckBadInput(p256.get(), SpkiOf(sm2.get()));
    CheckBadInput(sm2.get(), SpkiOf(p256.get()));
    CheckBadInput(p256.get(), SpkiOf(NewKey(KeyPairType::kEccSecgP256k1).get()));
  }
  SECTION("not an EC key") {
    CheckBadInput(p256.get(), SpkiOf(NewKey(KeyPairType::kRsa2048).get()));
    CheckBadInput(sm2.get(), SpkiOf(NewKey(KeyPairType::kEd25519).get()));
  }
  SECTION("a point off the curve") {
    for (const EVP_PKEY* own : {p256.get(), sm2.get()}) {
      Bytes spki = SpkiOf(own);
      spki.back() ^= 0x01;  // the last byte of Y
      CheckBadInput(own, spki);
    }
  }
  SECTION("the point at infinity") {
    // SEQUENCE { SEQUENCE { id-ecPublicKey, prime256v1 }, BIT STRING { 0x00 } }
    CheckBadInput(p256.get(), Unhex("3019301306072a8648ce3d020106082a8648ce3d03010703020000"));
  }
}

TEST_CASE("EcdhSharedSecret refuses keys that do not fit together", "[crypto][key_agreement]") {
  const Pkey p256 = NewKey(KeyPairType::kEccNistP256);
  const Pkey p521 = NewKey(KeyPairType::kEccNistP521);
  const Pkey rsa = NewKey(KeyPairType::kRsa2048);
  for (auto [own, peer] : {std::pair{p256.get(), p521.get()}, std::pair{rsa.get(), p256.get()},
                           std::pair{p256.get(), rsa.get()}}) {
    auto secret = EcdhSharedSecret(own, peer);
    REQUIRE_FALSE(secret);
    CHECK(secret.error().code == Error::Code::kBadInput);
  }
}

}  // namespace
}  // namespace kms::crypto
