#include "crypto/base64.hpp"

#include <string>

#include <catch2/catch.hpp>

#include "tests/unit/crypto/hex_util.hpp"

namespace kms::crypto {
namespace {

using testing::ToBytes;

TEST_CASE("Base64 matches the RFC 4648 test vectors", "[crypto][base64]") {
  const auto [plain, encoded] = GENERATE(table<std::string, std::string>({
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  }));
  CHECK(Base64Encode(AsBytes(plain)) == encoded);
  auto decoded = Base64Decode(encoded);
  REQUIRE(decoded);
  CHECK(*decoded == ToBytes(plain));
  CHECK(Base64DecodedSize(encoded) == plain.size());
}

TEST_CASE("Base64 round-trips every byte value", "[crypto][base64]") {
  Bytes all(256);
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = static_cast<std::uint8_t>(i);
  for (std::size_t len = 0; len <= all.size(); len += 37) {
    const ByteView prefix = ByteView(all).first(len);
    const std::string text = Base64Encode(prefix);
    CHECK(Base64DecodedSize(text) == len);
    auto decoded = Base64Decode(text);
    REQUIRE(decoded);
    CHECK(*decoded == Bytes(prefix.begin(), prefix.end()));
  }
  CHECK(Base64Encode(Bytes{0xfb, 0xff}) == "+/8=");
}

TEST_CASE("Base64Decode rejects malformed input", "[crypto][base64]") {
  const std::string bad = GENERATE(as<std::string>{},
                                   "Zg",                      // missing padding
                                   "Zg=",                     // length not a multiple of 4
                                   "Zm9vY",                   //
                                   "Z===",                    // too much padding
                                   "====",                    //
                                   "=Zg=",                    // padding at the front
                                   "Zg==Zg==",                // padding in the middle
                                   "Zm=v",                    //
                                   "Zm9v\n",                  // whitespace
                                   "Zm9 v",                   //
                                   "Zm-v",                    // URL-safe alphabet
                                   "Zm_v",                    //
                                   "Zm9\x80",                 // non-ASCII
                                   "Zh==",                    // non-zero bits before the padding
                                   "Zm9=",                    //
                                   std::string("Zm\0v", 4));  // embedded NUL
  CHECK_FALSE(Base64Decode(bad).has_value());
}

TEST_CASE("Base64DecodedSize follows length and padding without validating", "[crypto][base64]") {
  CHECK(Base64DecodedSize("") == 0);
  CHECK(Base64DecodedSize("AAAA") == 3);
  CHECK(Base64DecodedSize("AAA=") == 2);
  CHECK(Base64DecodedSize("AA==") == 1);
  CHECK(Base64DecodedSize("AA") == 1);
  CHECK(Base64DecodedSize("AAA") == 2);
  CHECK(Base64DecodedSize("!!!!!!!!") == 6);
}

}  // namespace
}  // namespace kms::crypto
