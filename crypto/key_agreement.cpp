#include "crypto/key_agreement.hpp"

#include "base/try.hpp"

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>

#include "crypto/key_pair.hpp"

namespace kms::crypto {
namespace {

// Large enough for any named curve's group name ("prime256v1", "SM2", "secp521r1", ...).
using GroupName = std::array<char, 64>;
// An uncompressed P-521 point is 133 bytes; every supported encoding fits.
using PointBytes = std::array<std::uint8_t, 160>;

Error BadInput(std::string message) { return Error{Error::Code::kBadInput, std::move(message)}; }

bool IsEcFamily(const EVP_PKEY* key) {
  return EVP_PKEY_is_a(key, "EC") == 1 || EVP_PKEY_is_a(key, "SM2") == 1;
}

bool IsSm2(const EVP_PKEY* key) { return EVP_PKEY_is_a(key, "SM2") == 1; }

// The named curve of an EC or SM2 key; false when it has none (explicit parameters).
bool CurveOf(const EVP_PKEY* key, GroupName& name) {
  std::size_t len = 0;
  if (EVP_PKEY_get_group_name(key, name.data(), name.size(), &len) != 1 || len == 0) {
    DrainOpenSslErrors();
    return false;
  }
  return true;
}

// The checks both functions need: two EC-family keys on the same named curve.
Result<void> CheckSameCurve(const EVP_PKEY* own, const EVP_PKEY* peer) {
  if (own == nullptr || !IsEcFamily(own)) return BadInput("the KMS key is not an EC key");
  if (peer == nullptr || !IsEcFamily(peer)) return BadInput("the public key is not an EC key");
  GroupName own_curve{};
  GroupName peer_curve{};
  if (!CurveOf(own, own_curve)) return BadInput("the KMS key has no named curve");
  if (!CurveOf(peer, peer_curve) || std::string_view(own_curve.data()) != peer_curve.data()) {
    return BadInput("the public key is on another curve");
  }
  return {};
}

// The NIST curves: OpenSSL's ECDH key exchange.
Result<SecureBytes> DeriveWithEvp(const EVP_PKEY* own, const EVP_PKEY* peer) {
  // OpenSSL only reads the keys; its API is not const-correct here.
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, const_cast<EVP_PKEY*>(own), nullptr));
  if (ctx == nullptr) return OpenSslError("EVP_PKEY_CTX_new_from_pkey");
  if (EVP_PKEY_derive_init(ctx.get()) != 1) return OpenSslError("EVP_PKEY_derive_init");
  if (EVP_PKEY_derive_set_peer(ctx.get(), const_cast<EVP_PKEY*>(peer)) != 1) {
    DrainOpenSslErrors();
    return BadInput("the public key does not fit the KMS key");
  }
  std::size_t len = 0;
  if (EVP_PKEY_derive(ctx.get(), nullptr, &len) != 1) return OpenSslError("EVP_PKEY_derive(size)");
  SecureBytes out(len);
  if (EVP_PKEY_derive(ctx.get(), out.data(), &len) != 1) {
    DrainOpenSslErrors();
    return BadInput("ECDH failed for this public key");
  }
  out.resize(len);
  return out;
}

// This thread's SM2 curve and BN_CTX (building the group is the costly part).
struct ThreadSm2 {
  EcGroup group{EC_GROUP_new_by_curve_name(NID_sm2)};
  BnCtx bn_ctx{BN_CTX_new()};
};

ThreadSm2& ThisThreadSm2() {
  thread_local ThreadSm2 state;
  return state;
}

// SM2: X(own_private * peer_public) with EC_POINT_mul.
Result<SecureBytes> DeriveWithPointMul(const EVP_PKEY* own, const EVP_PKEY* peer) {
  ThreadSm2& state = ThisThreadSm2();
  const EC_GROUP* group = state.group.get();
  BN_CTX* bn_ctx = state.bn_ctx.get();
  if (group == nullptr || bn_ctx == nullptr) return OpenSslError("EC_GROUP_new_by_curve_name(SM2)");

  BIGNUM* raw_scalar = nullptr;
  if (EVP_PKEY_get_bn_param(own, OSSL_PKEY_PARAM_PRIV_KEY, &raw_scalar) != 1) {
    return OpenSslError("EVP_PKEY_get_bn_param(priv)");
  }
  const Bignum scalar(raw_scalar);

  PointBytes encoded{};
  std::size_t encoded_len = 0;
  if (EVP_PKEY_get_octet_string_param(peer, OSSL_PKEY_PARAM_PUB_KEY, encoded.data(), encoded.size(),
                                      &encoded_len) != 1) {
    DrainOpenSslErrors();
    return BadInput("the public key has no point");
  }
  const EcPoint peer_point(EC_POINT_new(group));
  const EcPoint shared(EC_POINT_new(group));
  const Bignum x(BN_new());
  if (peer_point == nullptr || shared == nullptr || x == nullptr) {
    return OpenSslError("EC_POINT_new");
  }
  // oct2point refuses a point that is not on the curve.
  if (EC_POINT_oct2point(group, peer_point.get(), encoded.data(), encoded_len, bn_ctx) != 1 ||
      EC_POINT_is_at_infinity(group, peer_point.get()) == 1) {
    DrainOpenSslErrors();
    return BadInput("the public key is not a point of the curve");
  }
  if (EC_POINT_mul(group, shared.get(), nullptr, peer_point.get(), scalar.get(), bn_ctx) != 1) {
    return OpenSslError("EC_POINT_mul");
  }
  // SM2's cofactor is 1: a valid peer point never gives infinity with a valid private key.
  if (EC_POINT_is_at_infinity(group, shared.get()) == 1 ||
      EC_POINT_get_affine_coordinates(group, shared.get(), x.get(), nullptr, bn_ctx) != 1) {
    DrainOpenSslErrors();
    return BadInput("ECDH failed for this public key");
  }
  const int degree = EC_GROUP_get_degree(group);
  SecureBytes out(static_cast<std::size_t>((degree + 7) / 8));
  if (BN_bn2binpad(x.get(), out.data(), static_cast<int>(out.size())) < 0) {
    return OpenSslError("BN_bn2binpad");
  }
  return out;
}

}  // namespace

Result<Pkey> ParsePeerPublicKey(const EVP_PKEY* own, ByteView spki_der) {
  KMS_ASSIGN_OR_RETURN(auto peer, ParsePublicKey(spki_der));
  KMS_TRY(CheckSameCurve(own, peer.get()));
  // Not the point at infinity, coordinates in range, on the curve. The "quick" check leaves out
  // the order check, which only matters for curves with a cofactor (none of KMS's).
  PkeyCtx check(EVP_PKEY_CTX_new_from_pkey(nullptr, peer.get(), nullptr));
  if (check == nullptr) return OpenSslError("EVP_PKEY_CTX_new_from_pkey");
  if (EVP_PKEY_public_check_quick(check.get()) != 1) {
    DrainOpenSslErrors();
    return BadInput("the public key is not a valid point of the curve");
  }
  return peer;
}

Result<SecureBytes> EcdhSharedSecret(const EVP_PKEY* own, const EVP_PKEY* peer) {
  KMS_TRY(CheckSameCurve(own, peer));
  if (IsSm2(own)) return DeriveWithPointMul(own, peer);
  return DeriveWithEvp(own, peer);
}

}  // namespace kms::crypto
