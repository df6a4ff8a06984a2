// File: crypto/evp_handles.hpp
//
// RAII ownership of every OpenSSL handle used in kmsd: one deleter struct and one unique_ptr
// alias per handle type. This is the only file that calls OpenSSL *_free functions.
//
//   crypto::CipherCtx ctx(EVP_CIPHER_CTX_new());
//   if (ctx == nullptr) return crypto::OpenSslError("EVP_CIPHER_CTX_new");
//
// Also the error-queue helpers every wrapper uses on failure, so that no stale entry is left on
// the thread's queue to confuse the next call.
//
// Thread safety: the handles follow OpenSSL's rules (a context belongs to one thread at a time;
// fetched algorithms such as EVP_CIPHER may be shared). The error helpers touch only the
// calling thread's error queue.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "crypto/error.hpp"

namespace kms::crypto {

struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* p) const noexcept { EVP_CIPHER_CTX_free(p); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;

// For algorithms obtained with EVP_CIPHER_fetch (not the static EVP_aes_*() getters).
struct CipherFree {
  void operator()(EVP_CIPHER* p) const noexcept { EVP_CIPHER_free(p); }
};
using Cipher = std::unique_ptr<EVP_CIPHER, CipherFree>;

// For digests obtained with EVP_MD_fetch.
struct MdFree {
  void operator()(EVP_MD* p) const noexcept { EVP_MD_free(p); }
};
using Md = std::unique_ptr<EVP_MD, MdFree>;

struct PkeyFree {
  void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* p) const noexcept { EVP_PKEY_CTX_free(p); }
};
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;

struct MdCtxFree {
  void operator()(EVP_MD_CTX* p) const noexcept { EVP_MD_CTX_free(p); }
};
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

struct MacFree {
  void operator()(EVP_MAC* p) const noexcept { EVP_MAC_free(p); }
};
using Mac = std::unique_ptr<EVP_MAC, MacFree>;

struct MacCtxFree {
  void operator()(EVP_MAC_CTX* p) const noexcept { EVP_MAC_CTX_free(p); }
};
using MacCtx = std::unique_ptr<EVP_MAC_CTX, MacCtxFree>;

struct BioFree {
  void operator()(BIO* p) const noexcept { BIO_free_all(p); }
};
using Bio = std::unique_ptr<BIO, BioFree>;

// Low-level EC arithmetic, for what the EVP interface does not offer (ECDH with SM2 keys).
struct EcGroupFree {
  void operator()(EC_GROUP* p) const noexcept { EC_GROUP_free(p); }
};
using EcGroup = std::unique_ptr<EC_GROUP, EcGroupFree>;

// Points may be secret (a shared point): cleansed before they are freed.
struct EcPointFree {
  void operator()(EC_POINT* p) const noexcept { EC_POINT_clear_free(p); }
};
using EcPoint = std::unique_ptr<EC_POINT, EcPointFree>;

// Numbers may be secret (a private scalar): cleansed before they are freed.
struct BignumFree {
  void operator()(BIGNUM* p) const noexcept { BN_clear_free(p); }
};
using Bignum = std::unique_ptr<BIGNUM, BignumFree>;

struct BnCtxFree {
  void operator()(BN_CTX* p) const noexcept { BN_CTX_free(p); }
};
using BnCtx = std::unique_ptr<BN_CTX, BnCtxFree>;

// Pops every entry off this thread's OpenSSL error queue and joins them into one string
// ("error:...:reason; error:...:reason"). Returns "" when the queue was empty.
std::string DrainOpenSslErrors();

// Error{kOpenSsl, "<operation> failed: <drained queue>"}. Always drains the queue.
Error OpenSslError(std::string_view operation);

}  // namespace kms::crypto
