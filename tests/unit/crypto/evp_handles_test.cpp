#include "crypto/evp_handles.hpp"

#include <catch2/catch.hpp>
#include <openssl/err.h>
#include <openssl/obj_mac.h>

namespace kms::crypto {
namespace {

TEST_CASE("DrainOpenSslErrors empties the thread's error queue into one message",
          "[crypto][evp_handles]") {
  ERR_clear_error();
  CHECK(DrainOpenSslErrors().empty());

  const Cipher missing(EVP_CIPHER_fetch(nullptr, "NO-SUCH-CIPHER", nullptr));
  REQUIRE(missing == nullptr);
  REQUIRE(ERR_peek_error() != 0);

  const std::string message = DrainOpenSslErrors();
  CHECK_FALSE(message.empty());
  CHECK(ERR_peek_error() == 0);
}

TEST_CASE("OpenSslError names the failed operation and drains the queue", "[crypto][evp_handles]") {
  const Cipher missing(EVP_CIPHER_fetch(nullptr, "NO-SUCH-CIPHER", nullptr));
  REQUIRE(missing == nullptr);
  const Error e = OpenSslError("EVP_CIPHER_fetch");
  CHECK(e.code == Error::Code::kOpenSsl);
  CHECK(e.message.rfind("EVP_CIPHER_fetch failed: ", 0) == 0);
  CHECK(ERR_peek_error() == 0);
}

TEST_CASE("Handle aliases own and free what OpenSSL allocates", "[crypto][evp_handles]") {
  CipherCtx cipher_ctx(EVP_CIPHER_CTX_new());
  MdCtx md_ctx(EVP_MD_CTX_new());
  Bio bio(BIO_new(BIO_s_mem()));
  Cipher cipher(EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr));
  Mac mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  CHECK(cipher_ctx != nullptr);
  CHECK(md_ctx != nullptr);
  CHECK(bio != nullptr);
  CHECK(cipher != nullptr);
  REQUIRE(mac != nullptr);
  MacCtx mac_ctx(EVP_MAC_CTX_new(mac.get()));
  CHECK(mac_ctx != nullptr);
  PkeyCtx pkey_ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  CHECK(pkey_ctx != nullptr);
  Pkey pkey(EVP_PKEY_new());
  CHECK(pkey != nullptr);
  EcGroup group(EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1));
  REQUIRE(group != nullptr);
  EcPoint point(EC_POINT_new(group.get()));
  CHECK(point != nullptr);
  Bignum bn(BN_new());
  CHECK(bn != nullptr);
  BnCtx bn_ctx(BN_CTX_new());
  CHECK(bn_ctx != nullptr);
}

}  // namespace
}  // namespace kms::crypto
