#include "crypto/random.hpp"

#include <array>
#include <set>
#include <vector>

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

// --- RandomBuffer, with a deterministic source: byte i of the source stream is i mod 251
// (a prime, so the pattern does not line up with buffer sizes), and every call is recorded.
namespace counting {
std::size_t position = 0;
std::vector<std::size_t> calls;  // the size of each source call
bool fail = false;

Result<void> Source(std::span<std::uint8_t> out) {
  calls.push_back(out.size());
  if (fail) return Error{Error::Code::kOpenSsl, "source failed"};
  for (auto& b : out) b = static_cast<std::uint8_t>(position++ % 251);
  return {};
}

void Reset() {
  position = 0;
  calls.clear();
  fail = false;
}

// The source stream's bytes [from, from + n).
Bytes Stream(std::size_t from, std::size_t n) {
  Bytes out(n);
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<std::uint8_t>((from + i) % 251);
  return out;
}
}  // namespace counting

TEST_CASE("RandomBuffer hands out the source stream in order, refilling across the boundary",
          "[crypto][random]") {
  counting::Reset();
  RandomBuffer buffer(/*capacity=*/100, /*max_buffered=*/40, &counting::Source);
  CHECK(buffer.available() == 0);  // nothing is fetched before the first request

  Bytes a(30), b(30), c(30), d(30);
  REQUIRE(buffer.Fill(a));
  CHECK(counting::calls == std::vector<std::size_t>{100});
  CHECK(buffer.available() == 70);
  REQUIRE(buffer.Fill(b));
  REQUIRE(buffer.Fill(c));
  CHECK(buffer.available() == 10);
  // d needs 30 bytes and only 10 are left: 10 from this block, 20 from a fresh one.
  REQUIRE(buffer.Fill(d));
  CHECK(counting::calls == std::vector<std::size_t>{100, 100});
  CHECK(buffer.available() == 80);

  CHECK(a == counting::Stream(0, 30));
  CHECK(b == counting::Stream(30, 30));
  CHECK(c == counting::Stream(60, 30));
  CHECK(d == counting::Stream(90, 30));  // no byte skipped, none handed out twice
}

TEST_CASE("RandomBuffer sends large requests straight to the source", "[crypto][random]") {
  counting::Reset();
  RandomBuffer buffer(100, 40, &counting::Source);
  Bytes small(8), large(41);
  REQUIRE(buffer.Fill(small));
  REQUIRE(buffer.Fill(large));
  CHECK(counting::calls == std::vector<std::size_t>{100, 41});
  CHECK(large == counting::Stream(100, 41));
  CHECK(buffer.available() == 92);  // the buffered bytes were not touched
}

TEST_CASE("RandomBuffer reports a failing source and leaves no partial output",
          "[crypto][random]") {
  counting::Reset();
  RandomBuffer buffer(16, 16, &counting::Source);
  Bytes first(10);
  REQUIRE(buffer.Fill(first));
  counting::fail = true;
  Bytes second(10, 0xAA);  // 6 bytes fit from the buffer, then the refill fails
  auto r = buffer.Fill(second);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == Error::Code::kOpenSsl);
  CHECK(testing::AllZero(second));
  CHECK(buffer.available() == 0);

  counting::fail = false;  // it recovers on the next call
  Bytes third(4);
  REQUIRE(buffer.Fill(third));
  CHECK_FALSE(testing::AllZero(third));
}

TEST_CASE("RandomFill gives different bytes on every call, across many buffer refills",
          "[crypto][random]") {
  // 1,000 draws of 44 bytes (an IV plus a data key) cross the per-thread buffer's refill
  // boundary about ten times; no two draws may be equal.
  std::set<Bytes> seen;
  for (int i = 0; i < 1000; ++i) {
    Bytes draw(44);
    REQUIRE(RandomFill(draw));
    CHECK(seen.insert(draw).second);
  }
  // Requests above the buffered limit bypass the buffer and still succeed.
  Bytes large(kMaxBufferedRandomRequest + 1);
  REQUIRE(RandomFill(large));
  CHECK_FALSE(testing::AllZero(large));
}

}  // namespace
}  // namespace kms::crypto

namespace kms::crypto {
namespace {

TEST_CASE("InitializeOpenSsl succeeds, may run again, and leaves the DRBG working",
          "[crypto][random]") {
  REQUIRE(InitializeOpenSsl());
  REQUIRE(InitializeOpenSsl());
  std::array<std::uint8_t, 32> a{};
  std::array<std::uint8_t, 32> b{};
  REQUIRE(RandomFill(a));
  REQUIRE(RandomFill(b));
  CHECK(a != b);
}

}  // namespace
}  // namespace kms::crypto
