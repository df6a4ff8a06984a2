#include "crypto/random.hpp"

#include <array>

#include <catch2/catch.hpp>

#include "tests/unit/crypto/hex_util.hpp"

namespace kms::crypto {
namespace {

TEST_CASE("RandomBytes returns exactly the requested number of bytes", "[crypto][random]") {
  const std::size_t n = GENERATE(as<std::size_t>{}, 0, 1, 12, 32, 1024, 65536);
  auto bytes = RandomBytes(n);
  REQUIRE(bytes);
  CHECK(bytes->size() == n);
  auto secret = RandomSecureBytes(n);
  REQUIRE(secret);
  CHECK(secret->size() == n);
}

TEST_CASE("Two random draws differ", "[crypto][random]") {
  auto a = RandomBytes(32);
  auto b = RandomBytes(32);
  REQUIRE(a);
  REQUIRE(b);
  CHECK(*a != *b);
  CHECK_FALSE(testing::AllZero(*a));

  auto s1 = RandomSecureBytes(32);
  auto s2 = RandomSecureBytes(32);
  REQUIRE(s1);
  REQUIRE(s2);
  CHECK(Bytes(s1->begin(), s1->end()) != Bytes(s2->begin(), s2->end()));
}

TEST_CASE("RandomFill fills the whole span and accepts an empty one", "[crypto][random]") {
  std::array<std::uint8_t, 64> buf{};
  REQUIRE(RandomFill(buf));
  CHECK_FALSE(testing::AllZero(buf));
  CHECK(RandomFill({}));
}

}  // namespace
}  // namespace kms::crypto
