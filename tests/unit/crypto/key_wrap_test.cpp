// Tests for crypto/key_wrap.hpp: AES key wrap with padding against RFC 5649's vectors and
// OpenSSL's command line, and the unwrapping of key material wrapped by an independent
// implementation (Python's `cryptography` 38) exactly as AWS KMS's import instructions do it.
#include "crypto/key_wrap.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include <catch2/catch.hpp>

#include "crypto/bytes.hpp"
#include "crypto/key_pair.hpp"
#include "tests/unit/crypto/hex_util.hpp"
#include "tests/unit/crypto/key_util.hpp"

namespace kms::crypto {
namespace {

using testing::Concat;
using testing::NewKey;
using testing::SpkiOf;
using testing::ToBytes;
using testing::Unhex;

bool Equal(const SecureBytes& a, ByteView b) {
  return a.size() == b.size() && std::equal(b.begin(), b.end(), a.data());
}

// Produced with Python 3.11 and cryptography 38.0.4:
//   rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
//   ec_key = ec.generate_private_key(ec.SECP256R1())   # both exported as DER PKCS#8
//   material = bytes(range(32)); aes = bytes(range(0x40, 0x60))
//   kOaepSha1 / kOaepSha256 = pub.encrypt(material, OAEP(MGF1(H), H, None)), H = SHA1 / SHA256
//   kEcPkcs8Kwp = keywrap.aes_key_wrap_with_padding(aes, ec_pkcs8)
//   kRsaAesSha1 / 256 = pub.encrypt(aes, OAEP(MGF1(H), H, None)) + kEcPkcs8Kwp
constexpr const char* kWrappingKeyPkcs8 =
    "308204be020100300d06092a864886f70d0101010500048204a8308204a40201000282010100b60a87119ef54d5127"
    "d4"
    "2dc5d543b593418faef6a8538146034c6ef645ee5d566d697c395b0c0ade593fcc0524dc5e947fedd4f2ce8a3f03bf"
    "6f"
    "6d809acea0da18dba1f1d2862be6ae706d63ef5cd865d8de64c60529c181bd8425af54777f72867fd62880ae66c9a5"
    "48"
    "bbe15552e9ca3dc4eb88520a18c4ba249ea26004d2299d3e522de234a29b0b16dd90b913e4d3d284db0c94e97d852a"
    "0e"
    "1ec81e64a8beeda8088587260d2ab156a68d0ebf1103b7b373484a18b308c2c2d7df6173e20d671030cf084e6832b1"
    "f8"
    "0f2b0d9a54c5818dde013a40378703d92ea01531d1185ea37182921739cc6bd13dbb782cf3496421b710cebccd4131"
    "5f"
    "c9fd66c20fc502030100010282010007d56279922463d6db06be3a2b52b614bcf7560e9c30b7b93a641c1ef1e46f7f"
    "76"
    "c6d971cdbc076db3b1289ce20e04ede6a6bbdeaa4a4daae21e853b9f031c43365af682e5a320c42a512be13c88261c"
    "6a"
    "882b6afab190ccfdf44550e055776bb20e51e4bd4b83f5d26c7e553f2adf0f9fb7d7c62e7841179a1baaf88ecc364f"
    "97"
    "35087c389fe77c6d1edda0450a754744875ddba6c81225d0104a5568d020581f03d9e430fc40da6013522555dda679"
    "97"
    "25a79ed4c3992c6932500722c85d78a42e853268db9f9d9e5ce4685e7e6c91244def0fcd10aad72597d1e7485e0ebf"
    "f0"
    "212c98df9b3072f20c135d9ace9dd9227f333911d6f17707facca006be8fc302818100dbe5b6c34b48e13cf4988b3d"
    "6f"
    "7614bcac2b82bab904b6026ab5637b23e25dc10f8f75e8547af46c52d478dd69ebec0cc40edec6c9ac0f8eaaaa8606"
    "44"
    "1687581ff7a84cc79786cb448f75ef40d200428fee182266b82a4fe54600b95ee8ae4212c78b271fa8bb5dc9da8b66"
    "0b"
    "50d34964a73b321a0afcb04846ed7fad1f26f302818100d3edb7ab6c4a7042b1c85755fee35cdc927ad606ab6e1526"
    "1b"
    "945d680420b9dda00230aa09e29ebeeb999fa79fd55e218396e4eb20ebab1dc5d90f411d49f74b44e70e8f2b080539"
    "12"
    "dc199c5cebe0c865f1f38ddfba786feb93e024afc78f40b9bf2de606c83c1fc3ce3bee8fcd9e00b91cdc2851897f89"
    "69"
    "58d536f6820c6702818100c55a5b36d7206795cf6800bf78839f84dd788771918fdad23c76e2fba76f07f9b73f67f0"
    "c5"
    "b13c20e40df113b6769879b4942bf87913453b238cbb907017500d1553ade68ad34194b8c9906cd3de258197af7655"
    "99"
    "9efbca8cd8d0d98d8682aea63014815e768f0253a122aec8c5177bad2c31827bc1149c19a21e91120cfd6502818100"
    "8c"
    "45c1d632fd2a44dacb9213177c821074dbdd21d90229f96933d0877283fec214909e894db5b401068c4e4272e69541"
    "75"
    "89c0c768a8d440069e5f1c683876f85908de7820b15453ac8a06619a977dd6e6b338d3e50bd57faedbd7f6306ad404"
    "b1"
    "6d3b020fe724f49973bdf36f3757a77edefd51aa7669f617c67689c4abdb6d02818045354911e7fbb70c74c8ef979a"
    "c0"
    "5e6deb5019f5331ddd789268860746424edb51b859b5a1f641bd9046a999b53bb87cbc581c4ac57fc66c1f30d89476"
    "0d"
    "71b34282fdb050fc722f6ae86c498d1ab476d583c178d13b2de6bdd66f8297cbd8cc5bc0f3dd3f21804c70d36b61e6"
    "4e"
    "7404bb1311b992b11766a11f04dff09a2956";
constexpr const char* kMaterial =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
constexpr const char* kEcPkcs8 =
    "308187020100301306072a8648ce3d020106082a8648ce3d030107046d306b02010104201211d7f65861d0774e6d65"
    "ee"
    "114d6c71180cbf2bf2d1c4f36669e8b7d5a74010a14403420004449035149bcaf27fb50bcab8e084ae272111da88c6"
    "b4"
    "caacca8995439093737a867056b30a830231c4e7e4a238541c7d69e6bd0293e3e32ba3d1c29e057d702b";
constexpr const char* kOaepSha1 =
    "46b0cc7a14528eae99f410a0669ba0d142972e114d28e2a9994c98beeb19751f4abbbc8956248bc96758aebef692ff"
    "55"
    "520913543c0e5797d8d8828054dcc6af222021e58ac1ea458e67e7d4d778b3c8b6dfa2f8b2c7dec4a966eb6f004f5d"
    "82"
    "dc2a8bc1789a37a81ddaad9d60bdc0161c3334ebfb21e31898d9a476bc79c4d7a80f4caa994721e908d094ffe9fef3"
    "70"
    "455f2a9cbe853615995265c4eb049b01bdd2672f3124f9caba3ec8fb563cc84389d417fb026526cffcc5f21d6bb1aa"
    "39"
    "98ef05eeaded092b4cb28d68783d3b30488107a18924a90d8446583f4aede9fd343f1e8b4dc12979264b822b1aeba0"
    "19"
    "34474e879ef498b17b11e16816a4b2c4";
constexpr const char* kOaepSha256 =
    "708c80f3e11027ec8543d1f41230277c11de151e773cc04d7c278c88b3b023d83b8027c991a6c68e678180e49ed971"
    "6e"
    "e994728ee19aa3c756408ae1337bc3312734f182301716dee738c944b2fe3cc3977ed59d7ebb89a30386b4a8d9cabb"
    "88"
    "89dcf431e9adb6caf7de0b0e4d2dd7aff2041c75a054f042854e18ab3d01182ee9b0a781f385e4ab09144361d524d5"
    "bf"
    "3de5cf8843389224290c518cf97321e7e33ab8eb0b96f283effd29f8ba689c7a4ab9eb72fdbf8b70551e04c15b27a5"
    "56"
    "0dcdb21fc80221513d6e583bdfbf57ff6fc9f24310ce180906abf0c5b28d3f3386b2b50afd4816a9c645de137dd84d"
    "e2"
    "651061081b6e7d9022d919d1e3f530fb";
constexpr const char* kAesKey = "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f";
constexpr const char* kEcPkcs8Kwp =
    "ea2892d13bd5331d69ef0a08454de52e17617055617f682b62098109af0a8de49efe8989681ab444cda758ad1bea0c"
    "7c"
    "2b902ca273d0bf6e3ef2049ffe1d7193487ada7f729e70e58589b927e74e1b8b37ea49e849484828b3e9fbc729b8a8"
    "5d"
    "af50c2015eb4359cb906dce14f26fdc5949cbda1276f12a9f3995b4747686d54996748815b6a4639b991ca9b4da61c"
    "73"
    "58e1c3c1695c8e3d";
constexpr const char* kRsaAesSha1 =
    "51361687e2ebc631fdea27a02777d7910e644ac8f4dc5316cf81c7058206e5ad87ebe21706645a0ee2846960229bc8"
    "bf"
    "5fcf540a0c12551c8023491d66e5220a3403459d0101449f22e162012d4f74ba32bcd9741c19c1856700348d4a9a21"
    "75"
    "eb8f8523aca2d058839c8e1e0b33d349399f361a9b90784dc06fa4a28c5dd41721caf6450c0486e4ffbe63016fc891"
    "9a"
    "3f853288c2f3b16e0f83ac69a7a841c427b9ea34fdaa31e2c554d441569630d69ce434d2bb287c99d8f7069af7ffa4"
    "d1"
    "a4076344fc74e37eda404c9ef7304cb0b83dc1ef27b226d0a3c459eb0d22d88de5990deba0e87aaaa24840bc074fac"
    "b3"
    "3da0e627a152a207f771f08978339737ea2892d13bd5331d69ef0a08454de52e17617055617f682b62098109af0a8d"
    "e4"
    "9efe8989681ab444cda758ad1bea0c7c2b902ca273d0bf6e3ef2049ffe1d7193487ada7f729e70e58589b927e74e1b"
    "8b"
    "37ea49e849484828b3e9fbc729b8a85daf50c2015eb4359cb906dce14f26fdc5949cbda1276f12a9f3995b4747686d"
    "54"
    "996748815b6a4639b991ca9b4da61c7358e1c3c1695c8e3d";
constexpr const char* kRsaAesSha256 =
    "2fead676e6dfc87bc86c09247efa705d212714e46df80760c6132df33a84f6d9e71c0b692adf5b58ec2220aa0b8491"
    "db"
    "7c395f7380b6e528abe61e08a7935834a249d830dd0317f7086eb8059c97b43dd8311ea8e6d5fac57e867f2d9034bd"
    "b8"
    "2f47c39452fea863432baaf18494ca34d6748e6e9cdc6e119e698da910e0f357cce0d9459400ced8244b45591e2777"
    "fb"
    "5addaf73c2327cd8489f821e78c98cc3db73387b0b36fc03237537b6155e013a3731abb3c52af4f5dd9b31418537a9"
    "7d"
    "27fa9dc04c4482fdeb53a7463dc0287df2047659be72b0b6c8f12607845f70351ad79f23d8c48b86199ce402f65dfc"
    "f0"
    "5949949a529d1b0690255cfb8fb4c6fcea2892d13bd5331d69ef0a08454de52e17617055617f682b62098109af0a8d"
    "e4"
    "9efe8989681ab444cda758ad1bea0c7c2b902ca273d0bf6e3ef2049ffe1d7193487ada7f729e70e58589b927e74e1b"
    "8b"
    "37ea49e849484828b3e9fbc729b8a85daf50c2015eb4359cb906dce14f26fdc5949cbda1276f12a9f3995b4747686d"
    "54"
    "996748815b6a4639b991ca9b4da61c7358e1c3c1695c8e3d";

Pkey WrappingKey() {
  auto key = ParsePrivateKey(Unhex(kWrappingKeyPkcs8));
  REQUIRE(key);
  return std::move(*key);
}

TEST_CASE("AesKeyWrapPad matches RFC 5649's two examples", "[crypto][key_wrap]") {
  const Bytes kek = Unhex("5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8");
  const Bytes twenty = Unhex("c37b7e6492584340bed12207808941155068f738");
  const Bytes seven = Unhex("466f7250617369");
  const Bytes twenty_wrapped =
      Unhex("138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a");
  const Bytes seven_wrapped = Unhex("afbeb0f07dfbf5419200f2ccb50bb24f");

  auto w20 = AesKeyWrapPad(kek, twenty);
  REQUIRE(w20);
  CHECK(*w20 == twenty_wrapped);
  auto w7 = AesKeyWrapPad(kek, seven);
  REQUIRE(w7);
  CHECK(*w7 == seven_wrapped);

  auto u20 = AesKeyUnwrapPad(kek, twenty_wrapped);
  REQUIRE(u20);
  CHECK(Equal(*u20, twenty));
  auto u7 = AesKeyUnwrapPad(kek, seven_wrapped);
  REQUIRE(u7);
  CHECK(Equal(*u7, seven));
}

TEST_CASE("AesKeyWrapPad with a 256-bit KEK matches openssl enc -id-aes256-wrap-pad",
          "[crypto][key_wrap]") {
  // openssl enc -id-aes256-wrap-pad -K 000102...1f -iv A65959A6 -in m.bin (OpenSSL 3.0.19),
  // the command AWS's import instructions use.
  const Bytes kek = Unhex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
  const Bytes plain = ToBytes("kmsd imported key material: 37 bytes");
  const Bytes wrapped = Unhex(
      "b2d9e0a831381fdafc51863b208a947de466e654ef5acaaad9f621e56985165de4d6715bdd14e1e76d1215e557b0"
      "611b");
  auto w = AesKeyWrapPad(kek, plain);
  REQUIRE(w);
  CHECK(*w == wrapped);
  auto u = AesKeyUnwrapPad(kek, wrapped);
  REQUIRE(u);
  CHECK(Equal(*u, plain));
}

TEST_CASE("AesKeyUnwrapPad refuses tampered, truncated and foreign wrappings",
          "[crypto][key_wrap]") {
  const Bytes kek = Unhex(kAesKey);
  const Bytes wrapped = Unhex(kEcPkcs8Kwp);
  REQUIRE(AesKeyUnwrapPad(kek, wrapped));

  Bytes flipped = wrapped;
  flipped[flipped.size() / 2] ^= 0x01;
  auto tampered = AesKeyUnwrapPad(kek, flipped);
  REQUIRE_FALSE(tampered);
  CHECK(tampered.error().code == Error::Code::kAuthFailed);

  const Bytes truncated(wrapped.begin(), wrapped.end() - 8);
  auto short_one = AesKeyUnwrapPad(kek, truncated);
  REQUIRE_FALSE(short_one);
  CHECK(short_one.error().code == Error::Code::kAuthFailed);

  const Bytes odd(wrapped.begin(), wrapped.end() - 3);  // not whole semiblocks
  CHECK(AesKeyUnwrapPad(kek, odd).error().code == Error::Code::kAuthFailed);
  CHECK(AesKeyUnwrapPad(kek, Bytes(8, 0)).error().code == Error::Code::kAuthFailed);

  Bytes other_kek = kek;
  other_kek[0] ^= 0x80;
  CHECK(AesKeyUnwrapPad(other_kek, wrapped).error().code == Error::Code::kAuthFailed);

  CHECK(AesKeyUnwrapPad(Bytes(20, 1), wrapped).error().code == Error::Code::kBadInput);
  CHECK(AesKeyWrapPad(Bytes(20, 1), kek).error().code == Error::Code::kBadInput);
  CHECK(AesKeyWrapPad(kek, Bytes{}).error().code == Error::Code::kBadInput);
}

TEST_CASE("UnwrapKeyMaterial opens RSAES-OAEP wrappings made by Python's cryptography",
          "[crypto][key_wrap]") {
  const Pkey key = WrappingKey();
  auto sha1 = UnwrapKeyMaterial(key.get(), KeyWrapScheme::kRsaOaepSha1, Unhex(kOaepSha1));
  REQUIRE(sha1);
  CHECK(Equal(*sha1, Unhex(kMaterial)));
  auto sha256 = UnwrapKeyMaterial(key.get(), KeyWrapScheme::kRsaOaepSha256, Unhex(kOaepSha256));
  REQUIRE(sha256);
  CHECK(Equal(*sha256, Unhex(kMaterial)));

  // The other hash does not open them.
  CHECK(
      UnwrapKeyMaterial(key.get(), KeyWrapScheme::kRsaOaepSha256, Unhex(kOaepSha1)).error().code ==
      Error::Code::kAuthFailed);
  CHECK(
      UnwrapKeyMaterial(key.get(), KeyWrapScheme::kRsaOaepSha1, Unhex(kOaepSha256)).error().code ==
      Error::Code::kAuthFailed);
}

TEST_CASE("UnwrapKeyMaterial opens RSA_AES_KEY_WRAP wrappings made by Python's cryptography",
          "[crypto][key_wrap]") {
  const Pkey key = WrappingKey();
  auto sha1 = UnwrapKeyMaterial(key.get(), KeyWrapScheme::kRsaAesKeyWrapSha1, Unhex(kRsaAesSha1));
  REQUIRE(sha1);
  CHECK(Equal(*sha1, Unhex(kEcPkcs8)));
  auto sha256 =
      UnwrapKeyMaterial(key.get(), KeyWrapScheme::kRsaAesKeyWrapSha256, Unhex(kRsaAesSha256));
  REQUIRE(sha256);
  CHECK(Equal(*sha256, Unhex(kEcPkcs8)));

  // The material unwraps to the private key that was wrapped.
  REQUIRE(ParsePrivateKey(*sha256));
  CHECK(IsKeyPairType(ParsePrivateKey(*sha256)->get(), KeyPairType::kEccNistP256));

  // Another OAEP hash, the RSA part alone, a damaged AES part: all kAuthFailed.
  CHECK(UnwrapKeyMaterial(key.get(), KeyWrapScheme::kRsaAesKeyWrapSha256, Unhex(kRsaAesSha1))
            .error()
            .code == Error::Code::kAuthFailed);
  const Bytes whole = Unhex(kRsaAesSha256);
  const Bytes rsa_only(whole.begin(), whole.begin() + 256);
  CHECK(UnwrapKeyMaterial(key.get(), KeyWrapScheme::kRsaAesKeyWrapSha256, rsa_only).error().code ==
        Error::Code::kAuthFailed);
  Bytes damaged = whole;
  damaged.back() ^= 0x01;
  CHECK(UnwrapKeyMaterial(key.get(), KeyWrapScheme::kRsaAesKeyWrapSha256, damaged).error().code ==
        Error::Code::kAuthFailed);
  // Material wrapped directly is not a hybrid wrapping, and the reverse.
  CHECK(UnwrapKeyMaterial(key.get(), KeyWrapScheme::kRsaAesKeyWrapSha1, Unhex(kOaepSha1))
            .error()
            .code == Error::Code::kAuthFailed);
  CHECK(UnwrapKeyMaterial(key.get(), KeyWrapScheme::kRsaOaepSha256, whole).error().code ==
        Error::Code::kAuthFailed);
}

TEST_CASE("WrapKeyMaterial round-trips through UnwrapKeyMaterial for every scheme",
          "[crypto][key_wrap]") {
  const Pkey rsa = NewKey(KeyPairType::kRsa3072);
  auto rsa_public = ParsePublicKey(SpkiOf(rsa.get()));
  REQUIRE(rsa_public);
  const Bytes material = Unhex(kEcPkcs8);  // 138 bytes: fits RSA_3072 OAEP directly
  for (KeyWrapScheme scheme :
       {KeyWrapScheme::kRsaOaepSha1, KeyWrapScheme::kRsaOaepSha256,
        KeyWrapScheme::kRsaAesKeyWrapSha1, KeyWrapScheme::kRsaAesKeyWrapSha256}) {
    auto wrapped = WrapKeyMaterial(rsa_public->get(), scheme, material);
    REQUIRE(wrapped);
    auto unwrapped = UnwrapKeyMaterial(rsa.get(), scheme, *wrapped);
    REQUIRE(unwrapped);
    CHECK(Equal(*unwrapped, material));
  }

  const Pkey sm2 = NewKey(KeyPairType::kSm2);
  auto sm2_wrapped = WrapKeyMaterial(sm2.get(), KeyWrapScheme::kSm2Pke, Unhex(kMaterial));
  REQUIRE(sm2_wrapped);
  auto sm2_unwrapped = UnwrapKeyMaterial(sm2.get(), KeyWrapScheme::kSm2Pke, *sm2_wrapped);
  REQUIRE(sm2_unwrapped);
  CHECK(Equal(*sm2_unwrapped, Unhex(kMaterial)));
}

TEST_CASE("Key wrapping refuses a key of the wrong type and material too long for OAEP",
          "[crypto][key_wrap]") {
  const Pkey rsa = WrappingKey();
  const Pkey sm2 = NewKey(KeyPairType::kSm2);
  CHECK(UnwrapKeyMaterial(sm2.get(), KeyWrapScheme::kRsaOaepSha256, Unhex(kOaepSha256))
            .error()
            .code == Error::Code::kBadInput);
  CHECK(UnwrapKeyMaterial(rsa.get(), KeyWrapScheme::kSm2Pke, Unhex(kOaepSha256)).error().code ==
        Error::Code::kBadInput);
  CHECK(WrapKeyMaterial(nullptr, KeyWrapScheme::kRsaOaepSha1, Unhex(kMaterial)).error().code ==
        Error::Code::kBadInput);
  // RSA_2048 with OAEP-SHA-256 wraps at most 190 bytes: an RSA private key needs RSA_AES.
  const Bytes rsa_private = Unhex(kWrappingKeyPkcs8);
  CHECK(WrapKeyMaterial(rsa.get(), KeyWrapScheme::kRsaOaepSha256, rsa_private).error().code ==
        Error::Code::kBadInput);
  auto hybrid = WrapKeyMaterial(rsa.get(), KeyWrapScheme::kRsaAesKeyWrapSha256, rsa_private);
  REQUIRE(hybrid);
  auto opened = UnwrapKeyMaterial(rsa.get(), KeyWrapScheme::kRsaAesKeyWrapSha256, *hybrid);
  REQUIRE(opened);
  CHECK(Equal(*opened, rsa_private));
}

TEST_CASE("IsKeyPairType checks the algorithm, the RSA size and the curve", "[crypto][key_wrap]") {
  const Pkey rsa = WrappingKey();
  CHECK(IsKeyPairType(rsa.get(), KeyPairType::kRsa2048));
  CHECK_FALSE(IsKeyPairType(rsa.get(), KeyPairType::kRsa3072));
  CHECK_FALSE(IsKeyPairType(rsa.get(), KeyPairType::kEccNistP256));
  auto ec = ParsePrivateKey(Unhex(kEcPkcs8));
  REQUIRE(ec);
  CHECK(IsKeyPairType(ec->get(), KeyPairType::kEccNistP256));
  CHECK_FALSE(IsKeyPairType(ec->get(), KeyPairType::kEccNistP384));
  CHECK_FALSE(IsKeyPairType(ec->get(), KeyPairType::kEccSecgP256k1));
  CHECK_FALSE(IsKeyPairType(ec->get(), KeyPairType::kSm2));
  for (KeyPairType type :
       {KeyPairType::kEccNistP384, KeyPairType::kEccNistP521, KeyPairType::kEccSecgP256k1,
        KeyPairType::kEd25519, KeyPairType::kSm2, KeyPairType::kRsa4096}) {
    const Pkey key = NewKey(type);
    CHECK(IsKeyPairType(key.get(), type));
    CHECK_FALSE(IsKeyPairType(key.get(), KeyPairType::kEccNistP256));
  }
  CHECK_FALSE(IsKeyPairType(nullptr, KeyPairType::kRsa2048));
}

}  // namespace
}  // namespace kms::crypto
