#include "crypto/digest.hpp"

#include <catch2/catch.hpp>

namespace kms::crypto {
namespace {

TEST_CASE("Sha256 matches the FIPS 180-2 test vectors", "[crypto][digest]") {
  CHECK(HexEncode(Sha256(AsBytes("abc"))) ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(HexEncode(Sha256(AsBytes(""))) ==
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(HexEncode(Sha256(AsBytes("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))) ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST_CASE("HexEncode writes two lowercase digits per byte", "[crypto][digest]") {
  CHECK(HexEncode(Bytes{}).empty());
  CHECK(HexEncode(Bytes{0x00, 0x0a, 0xab, 0xff}) == "000aabff");
}

}  // namespace
}  // namespace kms::crypto
