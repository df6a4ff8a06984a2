// File: crypto/key_agreement.hpp
//
// Elliptic-curve Diffie-Hellman with a KMS KEY_AGREEMENT key (ECC_NIST_P256, ECC_NIST_P384,
// ECC_NIST_P521 or SM2) and a peer's public key, as DeriveSharedSecret does. The shared secret
// is the raw ECDH output: the X coordinate of own_private * peer_public, big-endian and padded
// to the field size (32, 48, 66 and 32 bytes), exactly what EVP_PKEY_derive gives for the NIST
// curves. No KDF is applied: that is the caller's business, as in AWS.
//
//   auto peer = crypto::ParsePeerPublicKey(own.get(), spki_der);   // kBadInput if unusable
//   auto secret = crypto::EcdhSharedSecret(own.get(), peer->get());
//
// OpenSSL 3.0 offers no key exchange for SM2-type keys, so for SM2 the point multiplication is
// done with EC_POINT_mul (a constant-time ladder for one point and a secret scalar).
//
// Thread safety: every function may run on any thread; `own` is only read. The SM2 curve and
// the BN_CTX used for it are per thread.
#pragma once

#include "crypto/bytes.hpp"
#include "crypto/error.hpp"
#include "crypto/evp_handles.hpp"

namespace kms::crypto {

// Parses `spki_der`, a DER X.509 SubjectPublicKeyInfo, as the peer of `own` (an EC or SM2
// private key). kBadInput when it does not parse (or has bytes after it), is not an EC key,
// lies on another curve than `own`, or is not a valid point of that curve (off the curve, the
// point at infinity).
Result<Pkey> ParsePeerPublicKey(const EVP_PKEY* own, ByteView spki_der);

// The raw ECDH shared secret of the private key `own` and the public key `peer` (as returned
// by ParsePeerPublicKey). Secret: never log it. kBadInput when the keys do not fit together;
// kOpenSsl if OpenSSL fails.
Result<SecureBytes> EcdhSharedSecret(const EVP_PKEY* own, const EVP_PKEY* peer);

}  // namespace kms::crypto
