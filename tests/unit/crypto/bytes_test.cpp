#include "crypto/bytes.hpp"

#include <string>
#include <type_traits>
#include <utility>

#include <catch2/catch.hpp>

#include "tests/unit/crypto/hex_util.hpp"

namespace kms::crypto {
namespace {

using testing::AllZero;
using testing::ToBytes;

Bytes Copy(ByteView v) { return Bytes(v.begin(), v.end()); }

TEST_CASE("AsBytes views the characters of a string", "[crypto][bytes]") {
  const std::string s("a\0\xff", 3);
  const ByteView v = AsBytes(s);
  REQUIRE(v.size() == 3);
  CHECK(v[0] == 'a');
  CHECK(v[1] == 0x00);
  CHECK(v[2] == 0xff);
  CHECK(v.data() == reinterpret_cast<const std::uint8_t*>(s.data()));
}

TEST_CASE("SecureBytes starts zeroed or as a copy of its input", "[crypto][bytes]") {
  SecureBytes empty;
  CHECK(empty.empty());
  CHECK(empty.size() == 0);
  CHECK(empty.begin() == empty.end());

  SecureBytes zeros(5);
  CHECK(zeros.size() == 5);
  CHECK(AllZero(zeros));

  const Bytes src = ToBytes("secret");
  SecureBytes copy(src);
  CHECK(Copy(copy) == src);
  CHECK(copy.data() != src.data());
}

TEST_CASE("SecureBytes copies are independent", "[crypto][bytes]") {
  SecureBytes a(ToBytes("abc"));
  SecureBytes b = a;
  b.data()[0] = 'x';
  CHECK(Copy(a) == ToBytes("abc"));
  CHECK(Copy(b) == ToBytes("xbc"));

  SecureBytes c(ToBytes("a much longer secret"));
  c = a;  // shrinking assignment reuses c's buffer
  CHECK(Copy(c) == ToBytes("abc"));
  c.resize(20);  // the old tail was wiped, not resurrected
  CHECK(AllZero(c.view().subspan(3)));

  SecureBytes d(ToBytes("x"));
  d = c;  // growing assignment
  CHECK(Copy(d) == Copy(c));

  const SecureBytes& self = d;
  d = self;
  CHECK(Copy(d) == Copy(c));
}

TEST_CASE("A moved-from SecureBytes is empty", "[crypto][bytes]") {
  static_assert(std::is_nothrow_move_constructible_v<SecureBytes>);
  static_assert(std::is_nothrow_move_assignable_v<SecureBytes>);

  SecureBytes a(ToBytes("key material"));
  const std::uint8_t* buffer = a.data();
  SecureBytes b(std::move(a));
  CHECK(b.data() == buffer);  // the allocation moved, no copy was left behind
  CHECK(Copy(b) == ToBytes("key material"));
  CHECK(a.empty());  // NOLINT(bugprone-use-after-move): checking the moved-from state
  CHECK(a.data() == nullptr);

  SecureBytes c(ToBytes("other"));
  c = std::move(b);
  CHECK(Copy(c) == ToBytes("key material"));
  CHECK(b.empty());  // NOLINT(bugprone-use-after-move)
  CHECK(b.data() == nullptr);
}

TEST_CASE("SecureBytes resize wipes what it drops and zero-fills what it adds", "[crypto][bytes]") {
  SecureBytes s(ToBytes("abcdef"));
  std::uint8_t* buffer = s.data();

  s.resize(2);
  CHECK(Copy(s) == ToBytes("ab"));
  s.resize(6);  // within capacity: same buffer, and "cdef" is gone
  CHECK(s.data() == buffer);
  CHECK(Copy(s) == Bytes{'a', 'b', 0, 0, 0, 0});

  s.resize(100);  // reallocates; prefix kept, rest zero
  REQUIRE(s.size() == 100);
  CHECK(Copy(s.view().first(2)) == ToBytes("ab"));
  CHECK(AllZero(s.view().subspan(2)));

  s.clear();
  CHECK(s.empty());
  s.resize(100);
  CHECK(AllZero(s));
}

TEST_CASE("SecureBytes converts to a view and exposes a mutable span", "[crypto][bytes]") {
  SecureBytes s(3);
  for (std::uint8_t& b : s.span()) b = 7;
  const ByteView v = s;  // implicit conversion
  CHECK(v.size() == 3);
  CHECK(v.data() == s.data());
  CHECK(Copy(s.view()) == Bytes{7, 7, 7});
  const SecureBytes& cs = s;
  CHECK(Bytes(cs.begin(), cs.end()) == Bytes{7, 7, 7});
}

}  // namespace
}  // namespace kms::crypto
