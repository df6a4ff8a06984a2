#include "crypto/aes_gcm.hpp"

#include <array>
#include <cstdint>
#include <string_view>

#include <catch2/catch.hpp>

#include "crypto/digest.hpp"
#include "tests/unit/crypto/hex_util.hpp"

namespace kms::crypto {
namespace {

using testing::AllZero;
using testing::ToBytes;
using testing::Unhex;

struct GcmVector {
  std::string_view name;
  std::string_view key, iv, aad, plaintext, ciphertext, tag;
};

// AES-256, 96-bit IV, with AAD.
constexpr std::array kVectors = {
    // McGrew & Viega, "The Galois/Counter Mode of Operation (GCM)", Test Case 16.
    GcmVector{"McGrew-Viega test case 16",
              "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
              "cafebabefacedbaddecaf888", "feedfacedeadbeeffeedfacedeadbeefabaddad2",
              "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
              "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
              "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
              "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
              "76fc6ece0f4e1768cddf8853bb2d551b"},
    // NIST CAVP gcmEncryptExtIV256.rsp [Keylen=256][IVlen=96][PTlen=128][AADlen=128]
    // [Taglen=128] Count = 0.
    GcmVector{"NIST CAVP gcmEncryptExtIV256 PTlen=128 AADlen=128 count 0",
              "92e11dcdaa866f5ce790fd24501f92509aacf4cb8b1339d50c9c1240935dd08b",
              "ac93a1a6145299bde902f21a", "1e0889016f67601c8ebea4943bc23ad6",
              "2d71bcfa914e4ac045b2aa60955fad24", "8995ae2e6df3dbf96fac7b7137bae67f",
              "eca5aa77d51d4a0a14d9c51e1da474ab"},
};

TEST_CASE("AesGcmSeal reproduces the published AES-256 GCM test vectors", "[crypto][aes_gcm]") {
  for (const GcmVector& v : kVectors) {
    INFO(v.name);
    const Bytes plaintext = Unhex(v.plaintext);
    Bytes ciphertext(plaintext.size());
    std::array<std::uint8_t, kGcmTagBytes> tag{};
    REQUIRE(AesGcmSeal(Unhex(v.key), Unhex(v.iv), Unhex(v.aad), plaintext, ciphertext, tag));
    CHECK(HexEncode(ciphertext) == v.ciphertext);
    CHECK(HexEncode(tag) == v.tag);
  }
}

TEST_CASE("AesGcmOpen decrypts the published AES-256 GCM test vectors", "[crypto][aes_gcm]") {
  for (const GcmVector& v : kVectors) {
    INFO(v.name);
    const Bytes ciphertext = Unhex(v.ciphertext);
    Bytes plaintext(ciphertext.size());
    REQUIRE(
        AesGcmOpen(Unhex(v.key), Unhex(v.iv), Unhex(v.aad), ciphertext, Unhex(v.tag), plaintext));
    CHECK(HexEncode(plaintext) == v.plaintext);
  }
}

TEST_CASE("AesGcmOpen rejects a tampered ciphertext, tag or AAD and wipes its output",
          "[crypto][aes_gcm]") {
  const GcmVector& v = kVectors[0];
  const Bytes key = Unhex(v.key);
  const Bytes iv = Unhex(v.iv);
  Bytes aad = Unhex(v.aad);
  Bytes ciphertext = Unhex(v.ciphertext);
  Bytes tag = Unhex(v.tag);

  SECTION("ciphertext") { ciphertext[10] ^= 0x01; }
  SECTION("last ciphertext byte") { ciphertext.back() ^= 0x80; }
  SECTION("tag") { tag[0] ^= 0x01; }
  SECTION("last tag byte") { tag.back() ^= 0x80; }
  SECTION("aad byte") { aad[3] ^= 0x01; }
  SECTION("aad truncated") { aad.pop_back(); }
  SECTION("aad extended") { aad.push_back(0); }

  Bytes plaintext(ciphertext.size(), 0xAA);
  auto r = AesGcmOpen(key, iv, aad, ciphertext, tag, plaintext);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == Error::Code::kAuthFailed);
  CHECK(AllZero(plaintext));
}

TEST_CASE("AES-GCM rejects keys that are not 16, 24 or 32 bytes", "[crypto][aes_gcm]") {
  const std::size_t key_size = GENERATE(as<std::size_t>{}, 0, 1, 15, 17, 23, 31, 33, 64);
  const Bytes key(key_size, 0x42);
  const Bytes iv(kGcmIvBytes);
  const Bytes plaintext = ToBytes("data");
  Bytes ciphertext(plaintext.size());
  std::array<std::uint8_t, kGcmTagBytes> tag{};

  auto sealed = AesGcmSeal(key, iv, {}, plaintext, ciphertext, tag);
  REQUIRE_FALSE(sealed);
  CHECK(sealed.error().code == Error::Code::kBadInput);

  Bytes out(ciphertext.size());
  auto opened = AesGcmOpen(key, iv, {}, ciphertext, tag, out);
  REQUIRE_FALSE(opened);
  CHECK(opened.error().code == Error::Code::kBadInput);
}

TEST_CASE("AES-GCM rejects IVs that are not 12 bytes", "[crypto][aes_gcm]") {
  const std::size_t iv_size = GENERATE(as<std::size_t>{}, 0, 8, 11, 13, 16);
  const Bytes key(32, 0x42);
  const Bytes iv(iv_size);
  const Bytes plaintext = ToBytes("data");
  Bytes ciphertext(plaintext.size());
  std::array<std::uint8_t, kGcmTagBytes> tag{};

  auto sealed = AesGcmSeal(key, iv, {}, plaintext, ciphertext, tag);
  REQUIRE_FALSE(sealed);
  CHECK(sealed.error().code == Error::Code::kBadInput);

  Bytes out(ciphertext.size());
  auto opened = AesGcmOpen(key, iv, {}, ciphertext, tag, out);
  REQUIRE_FALSE(opened);
  CHECK(opened.error().code == Error::Code::kBadInput);
}

TEST_CASE("AES-GCM rejects output buffers and tags of the wrong size", "[crypto][aes_gcm]") {
  const Bytes key(32, 0x42);
  const Bytes iv(kGcmIvBytes);
  const Bytes plaintext = ToBytes("sixteen bytes!!!");
  std::array<std::uint8_t, kGcmTagBytes> tag{};

  Bytes short_out(plaintext.size() - 1);
  auto r1 = AesGcmSeal(key, iv, {}, plaintext, short_out, tag);
  REQUIRE_FALSE(r1);
  CHECK(r1.error().code == Error::Code::kBadInput);

  Bytes ciphertext(plaintext.size());
  std::array<std::uint8_t, 12> short_tag{};
  auto r2 = AesGcmSeal(key, iv, {}, plaintext, ciphertext, short_tag);
  REQUIRE_FALSE(r2);
  CHECK(r2.error().code == Error::Code::kBadInput);

  REQUIRE(AesGcmSeal(key, iv, {}, plaintext, ciphertext, tag));
  Bytes long_out(plaintext.size() + 1);
  auto r3 = AesGcmOpen(key, iv, {}, ciphertext, tag, long_out);
  REQUIRE_FALSE(r3);
  CHECK(r3.error().code == Error::Code::kBadInput);

  // A truncated tag is refused outright rather than checked on fewer bits.
  Bytes plain(ciphertext.size());
  auto r4 = AesGcmOpen(key, iv, {}, ciphertext, ByteView(tag).first(12), plain);
  REQUIRE_FALSE(r4);
  CHECK(r4.error().code == Error::Code::kBadInput);
}

TEST_CASE("AES-GCM round-trips with every key size, empty inputs and in place",
          "[crypto][aes_gcm]") {
  const std::size_t key_size = GENERATE(as<std::size_t>{}, 16, 24, 32);
  const std::size_t plaintext_size = GENERATE(as<std::size_t>{}, 0, 1, 15, 16, 17, 1000);
  const Bytes key(key_size, 0x5A);
  const Bytes iv(kGcmIvBytes, 0x01);
  const Bytes aad = ToBytes("header");
  Bytes plaintext(plaintext_size);
  for (std::size_t i = 0; i < plaintext.size(); ++i) plaintext[i] = static_cast<std::uint8_t>(i);

  Bytes buffer = plaintext;
  std::array<std::uint8_t, kGcmTagBytes> tag{};
  REQUIRE(AesGcmSeal(key, iv, aad, buffer, buffer, tag));  // in place
  if (!plaintext.empty()) CHECK(buffer != plaintext);
  REQUIRE(AesGcmOpen(key, iv, aad, buffer, tag, buffer));
  CHECK(buffer == plaintext);
}

TEST_CASE("AES-GCM on one thread stays correct across key sizes, directions and failures",
          "[crypto][aes_gcm]") {
  // The per-thread context is reused between calls; interleave everything that changes its
  // state and check each result against the published vector again.
  const GcmVector& v = kVectors[1];
  const Bytes key = Unhex(v.key), iv = Unhex(v.iv), aad = Unhex(v.aad);
  const Bytes plaintext = Unhex(v.plaintext), ciphertext = Unhex(v.ciphertext);
  const Bytes tag = Unhex(v.tag);
  const Bytes key128(16, 0x11);

  for (int round = 0; round < 3; ++round) {
    Bytes ct(plaintext.size());
    std::array<std::uint8_t, kGcmTagBytes> t{};
    REQUIRE(AesGcmSeal(key128, iv, aad, plaintext, ct, t));  // switch to AES-128
    REQUIRE(AesGcmSeal(key, iv, aad, plaintext, ct, t));     // and back to AES-256
    CHECK(HexEncode(ct) == v.ciphertext);
    CHECK(HexEncode(t) == v.tag);

    Bytes bad_tag = tag;
    bad_tag[5] ^= 0x10;
    Bytes out(ciphertext.size());
    auto failed = AesGcmOpen(key, iv, aad, ciphertext, bad_tag, out);
    REQUIRE_FALSE(failed);
    CHECK(failed.error().code == Error::Code::kAuthFailed);

    REQUIRE(AesGcmOpen(key, iv, aad, ciphertext, tag, out));
    CHECK(out == plaintext);
  }
}

TEST_CASE("AES-GCM on one thread never reuses the previous call's key schedule for another key",
          "[crypto][aes_gcm]") {
  // The per-thread context keeps the last key's schedule and skips re-keying when the next
  // call has the same key. Alternate between two keys of one size (same cipher), including
  // keys that differ only in their last byte, and check every result against the vector.
  const GcmVector& v = kVectors[1];
  const Bytes key = Unhex(v.key), iv = Unhex(v.iv), aad = Unhex(v.aad);
  const Bytes plaintext = Unhex(v.plaintext), ciphertext = Unhex(v.ciphertext);
  const Bytes tag = Unhex(v.tag);
  Bytes other = key;
  other.back() ^= 0x01;

  for (int round = 0; round < 3; ++round) {
    Bytes ct(plaintext.size());
    std::array<std::uint8_t, kGcmTagBytes> t{};
    REQUIRE(AesGcmSeal(key, iv, aad, plaintext, ct, t));
    CHECK(HexEncode(ct) == v.ciphertext);
    CHECK(HexEncode(t) == v.tag);
    REQUIRE(AesGcmSeal(key, iv, aad, plaintext, ct, t));  // same key again: schedule reused
    CHECK(HexEncode(ct) == v.ciphertext);

    Bytes out(ciphertext.size());
    auto wrong = AesGcmOpen(other, iv, aad, ciphertext, tag, out);  // another key
    REQUIRE_FALSE(wrong);
    CHECK(wrong.error().code == Error::Code::kAuthFailed);
    REQUIRE(AesGcmSeal(other, iv, aad, plaintext, ct, t));
    CHECK(HexEncode(ct) != v.ciphertext);

    REQUIRE(AesGcmOpen(key, iv, aad, ciphertext, tag, out));  // back to the first key
    CHECK(out == plaintext);
  }
}

}  // namespace
}  // namespace kms::crypto
