// File: tests/unit/crypto/key_util.hpp
//
// Key pairs for tests: a fresh parsed private key of a type, and its public half as DER.
// Test-only; REQUIREs success.
#pragma once

#include <utility>

#include <catch2/catch.hpp>

#include "crypto/bytes.hpp"
#include "crypto/evp_handles.hpp"
#include "crypto/key_pair.hpp"

namespace kms::crypto::testing {

// A fresh private key of `type`, generated and parsed as kmsd does it (through PKCS#8 DER).
inline Pkey NewKey(KeyPairType type) {
  auto der = GeneratePrivateKey(type);
  REQUIRE(der);
  auto key = ParsePrivateKey(*der);
  REQUIRE(key);
  return std::move(*key);
}

// The public half of `key` as DER SubjectPublicKeyInfo, as GetPublicKey returns it.
inline Bytes SpkiOf(const EVP_PKEY* key) {
  auto spki = PublicKeyDer(key);
  REQUIRE(spki);
  return *spki;
}

}  // namespace kms::crypto::testing
