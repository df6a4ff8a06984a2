#include "crypto/ciphertext_blob.hpp"

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "crypto/aes_gcm.hpp"
#include "crypto/digest.hpp"
#include "crypto/encryption_context.hpp"
#include "tests/unit/crypto/hex_util.hpp"

namespace kms::crypto {
namespace {

using testing::Concat;
using testing::ToBytes;
using testing::Unhex;

constexpr std::string_view kKeyId = "1234abcd-12ab-34cd-56ef-1234567890ab";
constexpr std::string_view kOtherKeyId = "mrk-1234abcd12ab34cd56ef1234567890ab";
constexpr std::string_view kIvHex = "cafebabefacedbaddecaf888";

SecureBytes Material(std::uint8_t first) {
  SecureBytes key(kBlobKeyMaterialBytes);
  for (std::size_t i = 0; i < key.size(); ++i) key.data()[i] = static_cast<std::uint8_t>(first + i);
  return key;
}

std::string AsString(ByteView bytes) { return std::string(bytes.begin(), bytes.end()); }

TEST_CASE("SealBlob writes the format byte, key id, big-endian version and IV in order",
          "[crypto][ciphertext_blob]") {
  const SecureBytes key = Material(0);
  const Bytes plaintext = ToBytes("hello kms");
  auto blob = SealBlob(kKeyId, 0x01020304, key, plaintext, {{"purpose", "test"}});
  REQUIRE(blob);
  REQUIRE(blob->size() == kBlobOverheadBytes + plaintext.size());

  const ByteView b = *blob;
  CHECK(b[0] == 0x01);
  CHECK(AsString(b.subspan(1, 36)) == kKeyId);
  CHECK(HexEncode(b.subspan(37, 4)) == "01020304");
  // The IV sits at [41, 53) and is random: two seals of the same input differ there.
  auto again = SealBlob(kKeyId, 0x01020304, key, plaintext, {{"purpose", "test"}});
  REQUIRE(again);
  CHECK(HexEncode(b.subspan(41, 12)) != HexEncode(ByteView(*again).subspan(41, 12)));
  CHECK(HexEncode(b.first(41)) == HexEncode(ByteView(*again).first(41)));

  auto header = ParseBlobHeader(*blob);
  REQUIRE(header);
  CHECK(header->key_id == kKeyId);
  CHECK(header->material_version == 0x01020304u);

  auto opened = OpenBlob(*blob, key, {{"purpose", "test"}});
  REQUIRE(opened);
  CHECK(AsString(*opened) == "hello kms");
}

TEST_CASE("A blob sealed with a fixed IV matches bytes computed independently",
          "[crypto][ciphertext_blob]") {
  const SecureBytes key = Material(0);  // 00 01 02 ... 1f
  const Bytes iv = Unhex(kIvHex);
  const Bytes plaintext = ToBytes("hello kms");
  const EncryptionContext context = {{"purpose", "test"}, {"department", "finance"}};

  auto blob = detail::SealBlobWithIv(kKeyId, 7, key, iv, plaintext, context);
  REQUIRE(blob);

  // Pinned bytes (computed outside this code base with Python's `cryptography` AESGCM over
  // the same header and AAD). A change here is a format change: bump kBlobFormatV1.
  CHECK(HexEncode(*blob) ==
        "01"                                                                        // format
        "31323334616263642d313261622d333463642d353665662d313233343536373839306162"  // key id
        "00000007"                                                                  // version
        "cafebabefacedbaddecaf888"                                                  // IV
        "e2c6cc4ac55a247635"                                                        // ciphertext
        "aa388c20ea3b5509c4b53735533211ec");                                        // tag

  // The same bytes rebuilt by hand from the format table and plain AES-GCM.
  const Bytes header = Unhex("01" + HexEncode(AsBytes(kKeyId)) + "00000007" + std::string(kIvHex));
  const Bytes encoded_context = Unhex(
      "00000002"                      // two pairs, in bytewise key order:
      "0000000a6465706172746d656e74"  //   "department"
      "0000000766696e616e6365"        //   "finance"
      "00000007707572706f7365"        //   "purpose"
      "0000000474657374");            //   "test"
  Bytes ciphertext(plaintext.size());
  std::array<std::uint8_t, kGcmTagBytes> tag{};
  REQUIRE(AesGcmSeal(key, iv, Concat(header, encoded_context), plaintext, ciphertext, tag));
  const Bytes expected = Concat(Concat(header, ciphertext), tag);
  CHECK(HexEncode(*blob) == HexEncode(expected));

  auto opened = OpenBlob(*blob, key, context);
  REQUIRE(opened);
  CHECK(AsString(*opened) == "hello kms");
}

TEST_CASE("OpenBlob round-trips empty and large plaintexts", "[crypto][ciphertext_blob]") {
  const SecureBytes key = Material(9);
  const std::size_t size = GENERATE(as<std::size_t>{}, 0, 1, 4096, 65536);
  Bytes plaintext(size);
  for (std::size_t i = 0; i < size; ++i) plaintext[i] = static_cast<std::uint8_t>(i * 7);
  auto blob = SealBlob(kOtherKeyId, 1, key, plaintext, {});
  REQUIRE(blob);
  CHECK(blob->size() == kBlobOverheadBytes + size);
  auto opened = OpenBlob(*blob, key, {});
  REQUIRE(opened);
  CHECK(Bytes(opened->begin(), opened->end()) == plaintext);
}

TEST_CASE("OpenBlob fails authentication when the encryption context differs",
          "[crypto][ciphertext_blob]") {
  const SecureBytes key = Material(1);
  const EncryptionContext sealed_with = {{"Purpose", "billing"}, {"tenant", "42"}};
  EncryptionContext opened_with = sealed_with;

  SECTION("a different value") { opened_with["tenant"] = "43"; }
  SECTION("a missing context") { opened_with.clear(); }
  SECTION("a missing pair") { opened_with.erase("tenant"); }
  SECTION("an added pair") { opened_with["extra"] = ""; }
  SECTION("a key with changed case") {
    opened_with.erase("Purpose");
    opened_with["purpose"] = "billing";
  }
  SECTION("a value with changed case") { opened_with["Purpose"] = "Billing"; }

  auto blob = SealBlob(kKeyId, 1, key, ToBytes("secret"), sealed_with);
  REQUIRE(blob);
  auto opened = OpenBlob(*blob, key, opened_with);
  REQUIRE_FALSE(opened);
  CHECK(opened.error().code == Error::Code::kAuthFailed);
}

TEST_CASE("Contexts that concatenate to the same string do not open each other's blobs",
          "[crypto][ciphertext_blob]") {
  const EncryptionContext ab_c = {{"ab", "c"}};
  const EncryptionContext a_bc = {{"a", "bc"}};
  CHECK(EncodeContext(ab_c) != EncodeContext(a_bc));

  const SecureBytes key = Material(2);
  auto blob = SealBlob(kKeyId, 1, key, ToBytes("secret"), ab_c);
  REQUIRE(blob);
  auto opened = OpenBlob(*blob, key, a_bc);
  REQUIRE_FALSE(opened);
  CHECK(opened.error().code == Error::Code::kAuthFailed);
  CHECK(OpenBlob(*blob, key, ab_c));
}

TEST_CASE("OpenBlob fails authentication with other key material", "[crypto][ciphertext_blob]") {
  auto blob = SealBlob(kKeyId, 1, Material(3), ToBytes("secret"), {});
  REQUIRE(blob);
  auto opened = OpenBlob(*blob, Material(4), {});
  REQUIRE_FALSE(opened);
  CHECK(opened.error().code == Error::Code::kAuthFailed);
}

TEST_CASE("A truncated blob is rejected as bad input at every length up to the header",
          "[crypto][ciphertext_blob]") {
  const SecureBytes key = Material(5);
  auto blob = SealBlob(kKeyId, 1, key, Bytes{}, {});
  REQUIRE(blob);
  REQUIRE(blob->size() == kBlobOverheadBytes);
  for (std::size_t len = 0; len < kBlobOverheadBytes; ++len) {
    INFO("length " << len);
    const ByteView truncated = ByteView(*blob).first(len);
    auto header = ParseBlobHeader(truncated);
    REQUIRE_FALSE(header);
    CHECK(header.error().code == Error::Code::kBadInput);
    auto opened = OpenBlob(truncated, key, {});
    REQUIRE_FALSE(opened);
    CHECK(opened.error().code == Error::Code::kBadInput);
  }
  CHECK(OpenBlob(*blob, key, {}));  // exactly 69 bytes: the empty plaintext
}

TEST_CASE("Flipping any bit of a blob makes OpenBlob fail", "[crypto][ciphertext_blob]") {
  const SecureBytes key = Material(6);
  const EncryptionContext context = {{"k", "v"}};
  auto blob = SealBlob(kKeyId, 3, key, ToBytes("a secret"), context);
  REQUIRE(blob);

  for (std::size_t i = 0; i < blob->size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      Bytes tampered = *blob;
      tampered[i] ^= static_cast<std::uint8_t>(1u << bit);
      INFO("byte " << i << " bit " << bit);
      auto opened = OpenBlob(tampered, key, context);
      REQUIRE_FALSE(opened);
      const bool header_unparsable =
          i == 0 || (i <= kBlobKeyIdBytes && (tampered[i] < 0x20 || tampered[i] > 0x7E));
      CHECK(opened.error().code ==
            (header_unparsable ? Error::Code::kBadInput : Error::Code::kAuthFailed));
    }
  }
}

TEST_CASE("OpenBlob rejects an unknown format byte", "[crypto][ciphertext_blob]") {
  const SecureBytes key = Material(7);
  auto blob = SealBlob(kKeyId, 1, key, ToBytes("x"), {});
  REQUIRE(blob);
  const auto format = static_cast<std::uint8_t>(GENERATE(0x00, 0x02, 0xFF));
  (*blob)[0] = format;
  auto header = ParseBlobHeader(*blob);
  REQUIRE_FALSE(header);
  CHECK(header.error().code == Error::Code::kBadInput);
  auto opened = OpenBlob(*blob, key, {});
  REQUIRE_FALSE(opened);
  CHECK(opened.error().code == Error::Code::kBadInput);
}

TEST_CASE("Swapping the key id or material version in the header breaks the tag",
          "[crypto][ciphertext_blob]") {
  const SecureBytes key = Material(8);
  auto blob = SealBlob(kKeyId, 1, key, ToBytes("x"), {});
  REQUIRE(blob);

  SECTION("key id") {
    std::copy(kOtherKeyId.begin(), kOtherKeyId.end(), blob->begin() + 1);
    auto header = ParseBlobHeader(*blob);
    REQUIRE(header);
    CHECK(header->key_id == kOtherKeyId);
  }
  SECTION("material version") { (*blob)[kBlobMaterialVersionOffset + 3] = 2; }

  auto opened = OpenBlob(*blob, key, {});
  REQUIRE_FALSE(opened);
  CHECK(opened.error().code == Error::Code::kAuthFailed);
}

TEST_CASE("ParseBlobHeader rejects a key id with a non-printable byte",
          "[crypto][ciphertext_blob]") {
  auto blob = SealBlob(kKeyId, 1, Material(0), ToBytes("x"), {});
  REQUIRE(blob);
  (*blob)[5] = 0x00;
  auto header = ParseBlobHeader(*blob);
  REQUIRE_FALSE(header);
  CHECK(header.error().code == Error::Code::kBadInput);
}

TEST_CASE("SealBlob rejects key ids that are not 36 printable characters",
          "[crypto][ciphertext_blob]") {
  const std::string key_id = GENERATE(std::string(""), std::string(35, 'a'), std::string(37, 'a'),
                                      std::string(35, 'a') + '\n');
  auto blob = SealBlob(key_id, 1, Material(0), ToBytes("x"), {});
  REQUIRE_FALSE(blob);
  CHECK(blob.error().code == Error::Code::kBadInput);
}

TEST_CASE("SealBlob and OpenBlob reject key material that is not 32 bytes",
          "[crypto][ciphertext_blob]") {
  const std::size_t size = GENERATE(as<std::size_t>{}, 0, 16, 24, 31, 33);
  const SecureBytes key(size);
  auto sealed = SealBlob(kKeyId, 1, key, ToBytes("x"), {});
  REQUIRE_FALSE(sealed);
  CHECK(sealed.error().code == Error::Code::kBadInput);

  auto blob = SealBlob(kKeyId, 1, Material(0), ToBytes("x"), {});
  REQUIRE(blob);
  auto opened = OpenBlob(*blob, key, {});
  REQUIRE_FALSE(opened);
  CHECK(opened.error().code == Error::Code::kBadInput);
}

TEST_CASE("SealBlobWithIv rejects an IV that is not 12 bytes", "[crypto][ciphertext_blob]") {
  auto blob = detail::SealBlobWithIv(kKeyId, 1, Material(0), Bytes(16), ToBytes("x"), {});
  REQUIRE_FALSE(blob);
  CHECK(blob.error().code == Error::Code::kBadInput);
}

TEST_CASE("Blobs seal and open correctly on many threads at once", "[crypto][ciphertext_blob]") {
  constexpr int kThreads = 4;
  constexpr int kRounds = 500;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t, &failures] {
      const SecureBytes key = Material(static_cast<std::uint8_t>(t * 40));
      const EncryptionContext context = {{"thread", std::to_string(t)}};
      for (int i = 0; i < kRounds; ++i) {
        const std::string message = "message " + std::to_string(t) + "/" + std::to_string(i);
        auto blob = SealBlob(kKeyId, 1, key, AsBytes(message), context);
        if (!blob) {
          ++failures;
          continue;
        }
        auto opened = OpenBlob(*blob, key, context);
        if (!opened || AsString(*opened) != message) ++failures;
        if (OpenBlob(*blob, key, {})) ++failures;  // wrong context must still fail
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(failures.load() == 0);
}

}  // namespace
}  // namespace kms::crypto
