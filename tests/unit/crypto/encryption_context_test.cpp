#include "crypto/encryption_context.hpp"

#include <catch2/catch.hpp>

#include "crypto/digest.hpp"
#include "tests/unit/crypto/hex_util.hpp"

namespace kms::crypto {
namespace {

TEST_CASE("An empty encryption context encodes as a zero pair count",
          "[crypto][encryption_context]") {
  CHECK(HexEncode(EncodeContext({})) == "00000000");
}

TEST_CASE("Each pair encodes as length-prefixed key then length-prefixed value",
          "[crypto][encryption_context]") {
  CHECK(HexEncode(EncodeContext({{"a", "b"}})) ==
        "00000001"
        "0000000161"
        "0000000162");
  CHECK(HexEncode(EncodeContext({{"key", ""}})) ==
        "00000001"
        "000000036b6579"
        "00000000");
}

TEST_CASE("Pairs are encoded in bytewise key order", "[crypto][encryption_context]") {
  // Insertion order does not matter, uppercase sorts before lowercase, and a UTF-8 key with
  // the high bit set sorts after ASCII (bytes compare as unsigned).
  EncryptionContext context;
  context["\xc3\xa9t\xc3\xa9"] = "1";  // "été"
  context["b"] = "2";
  context["B"] = "3";
  context["a"] = "4";
  CHECK(HexEncode(EncodeContext(context)) ==
        "00000004"                        // four pairs
        "00000001420000000133"            // B=3
        "00000001610000000134"            // a=4
        "00000001620000000132"            // b=2
        "00000005c3a974c3a90000000131");  // été=1
}

TEST_CASE("Contexts whose concatenations collide still encode differently",
          "[crypto][encryption_context]") {
  CHECK(EncodeContext({{"ab", "c"}}) != EncodeContext({{"a", "bc"}}));
  CHECK(EncodeContext({{"a", "b"}, {"c", "d"}}) != EncodeContext({{"a", "bcd"}}));
  CHECK(EncodeContext({{"", "ab"}}) != EncodeContext({{"a", "b"}}));
}

TEST_CASE("AppendEncodedContext appends after existing bytes", "[crypto][encryption_context]") {
  Bytes out = testing::Unhex("ff");
  AppendEncodedContext({{"a", "b"}}, out);
  CHECK(HexEncode(out) == "ff" + HexEncode(EncodeContext({{"a", "b"}})));
}

}  // namespace
}  // namespace kms::crypto
