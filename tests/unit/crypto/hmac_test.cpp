#include "crypto/hmac.hpp"

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>

#include <catch2/catch.hpp>

#include "crypto/bytes.hpp"
#include "tests/unit/crypto/hex_util.hpp"

namespace kms::crypto {
namespace {

using testing::ToBytes;
using testing::Unhex;

// RFC 4231 section 4: test cases 1, 2, 3 and 6 (6: a key longer than the block size).
struct Vector {
  Bytes key;
  Bytes data;
  const char* sha224;
  const char* sha256;
  const char* sha384;
  const char* sha512;
};

std::span<const Vector> Rfc4231() {
  static const Vector kVectors[] = {
      {Bytes(20, 0x0b), ToBytes("Hi There"),
       "896fb1128abbdf196832107cd49df33f47b4b1169912ba4f53684b22",
       "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
       "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8"
       "b2fa9cb6",
       "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274e"
       "aea3f4e4be9d914eeb61f1702e696c203a126854"},
      {ToBytes("Jefe"), ToBytes("what do ya want for nothing?"),
       "a30e01098bc6dbbf45690f3a7e9e6d0f8bbea2a39e6148008fd05e44",
       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
       "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ec"
       "fab21649",
       "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65"
       "f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"},
      {Bytes(20, 0xaa), Bytes(50, 0xdd), "7fb3cb3588c6c1f6ffa9694d7d6ad2649365b0c1f65d69d1ec8333ea",
       "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
       "88062608d3e6ad8a0aa2ace014c8a86f0aa635d947ac9febe83ef4e55966144b2a5ab39dc13814b94e3ab6e1"
       "01a34f27",
       "fa73b0089d56a284efb0f0756c890be9b1b5dbdd8ee81a3655f83e33b2279d39bf3e848279a722c806b485a4"
       "7e67c807b946a337bee8942674278859e13292fb"},
      {Bytes(131, 0xaa), ToBytes("Test Using Larger Than Block-Size Key - Hash Key First"),
       "95e9a0db962095adaebe9b2d6f0dbce2d499f112f2d2b7273fa6870e",
       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
       "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c60c2ef6ab4030fe8296248df1"
       "63f44952",
       "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f3526b56d037e05f2598bd0fd221"
       "5d6a1e5295e64f73f63f0aec8b915a985d786598"},
  };
  return kVectors;
}

const char* Expected(const Vector& v, HmacDigest digest) {
  switch (digest) {
    case HmacDigest::kSha224:
      return v.sha224;
    case HmacDigest::kSha256:
      return v.sha256;
    case HmacDigest::kSha384:
      return v.sha384;
    case HmacDigest::kSha512:
      return v.sha512;
  }
  return "";
}

constexpr HmacDigest kDigests[] = {HmacDigest::kSha224, HmacDigest::kSha256, HmacDigest::kSha384,
                                   HmacDigest::kSha512};

TEST_CASE("Hmac matches the RFC 4231 vectors for every digest", "[crypto][hmac]") {
  const HmacDigest digest = GENERATE(values(std::initializer_list<HmacDigest>{
      HmacDigest::kSha224, HmacDigest::kSha256, HmacDigest::kSha384, HmacDigest::kSha512}));
  int index = 0;
  for (const Vector& v : Rfc4231()) {
    CAPTURE(static_cast<int>(digest), index++);
    auto mac = Hmac(digest, v.key, v.data);
    REQUIRE(mac);
    CHECK(*mac == Unhex(Expected(v, digest)));
    CHECK(mac->size() == HmacSize(digest));
  }
}

TEST_CASE("Hmac gives the same answers however calls of keys and digests interleave",
          "[crypto][hmac]") {
  // Repeats and switches exercise the per-thread contexts' same-key reuse and re-keying.
  for (int round = 0; round < 3; ++round) {
    for (const Vector& v : Rfc4231()) {
      for (HmacDigest digest : kDigests) {
        auto first = Hmac(digest, v.key, v.data);
        auto again = Hmac(digest, v.key, v.data);
        REQUIRE(first);
        REQUIRE(again);
        CHECK(*first == Unhex(Expected(v, digest)));
        CHECK(*again == *first);
      }
    }
  }
  // A key that differs from the remembered one only in its last byte, and a shorter prefix.
  Bytes key(32, 0x11);
  auto a = Hmac(HmacDigest::kSha256, key, ToBytes("m"));
  key.back() = 0x12;
  auto b = Hmac(HmacDigest::kSha256, key, ToBytes("m"));
  auto c = Hmac(HmacDigest::kSha256, ByteView(key).first(31), ToBytes("m"));
  REQUIRE(a);
  REQUIRE(b);
  REQUIRE(c);
  CHECK(*a != *b);
  CHECK(*b != *c);
}

TEST_CASE("Hmac of an empty message is defined; an empty key is refused", "[crypto][hmac]") {
  auto mac = Hmac(HmacDigest::kSha256, Bytes(32, 1), {});
  REQUIRE(mac);
  CHECK(mac->size() == 32);
  auto no_key = Hmac(HmacDigest::kSha256, {}, ToBytes("m"));
  REQUIRE_FALSE(no_key);
  CHECK(no_key.error().code == Error::Code::kBadInput);
  auto verify = HmacVerify(HmacDigest::kSha256, {}, ToBytes("m"), *mac);
  REQUIRE_FALSE(verify);
  CHECK(verify.error().code == Error::Code::kBadInput);
}

TEST_CASE("HmacVerify accepts exactly the right MAC", "[crypto][hmac]") {
  const Vector& v = Rfc4231().front();
  for (HmacDigest digest : kDigests) {
    const Bytes good = Unhex(Expected(v, digest));
    auto ok = HmacVerify(digest, v.key, v.data, good);
    REQUIRE(ok);
    CHECK(*ok);

    Bytes flipped = good;
    flipped.back() ^= 0x01;
    CHECK_FALSE(*HmacVerify(digest, v.key, v.data, flipped));
    Bytes first_flipped = good;
    first_flipped.front() ^= 0x80;
    CHECK_FALSE(*HmacVerify(digest, v.key, v.data, first_flipped));
    CHECK_FALSE(*HmacVerify(digest, v.key, v.data, ByteView(good).first(good.size() - 1)));
    Bytes longer = good;
    longer.push_back(0);
    CHECK_FALSE(*HmacVerify(digest, v.key, v.data, longer));
    CHECK_FALSE(*HmacVerify(digest, v.key, v.data, {}));
    CHECK_FALSE(*HmacVerify(digest, v.key, ToBytes("Hi there"), good));
    Bytes other_key = v.key;
    other_key[0] ^= 1;
    CHECK_FALSE(*HmacVerify(digest, other_key, v.data, good));
  }
}

TEST_CASE("HmacSize is the digest length", "[crypto][hmac]") {
  CHECK(HmacSize(HmacDigest::kSha224) == 28);
  CHECK(HmacSize(HmacDigest::kSha256) == 32);
  CHECK(HmacSize(HmacDigest::kSha384) == 48);
  CHECK(HmacSize(HmacDigest::kSha512) == 64);
}

}  // namespace
}  // namespace kms::crypto
