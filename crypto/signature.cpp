#include "crypto/signature.hpp"

#include "base/try.hpp"

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rsa.h>

#include "crypto/bounded_cache.hpp"
#include "crypto/key_pair.hpp"

namespace kms::crypto {
namespace {

enum class Family { kRsaPss, kRsaPkcs1, kEcdsa, kEd25519, kEd25519Ph, kSm2 };

enum class Hash { kNone, kSha256, kSha384, kSha512, kSm3 };

struct AlgorithmInfo {
  SigningAlgorithm algorithm;
  std::string_view name;  // for error messages: the standard's name, not AWS's (domain/)
  Family family;
  Hash hash;                 // RAW messages are hashed with it (Ed25519: none of ours)
  std::size_t digest_bytes;  // the DIGEST length; 0: DIGEST not accepted
};

// In enumerator order.
constexpr std::array<AlgorithmInfo, kSigningAlgorithmCount> kAlgorithms = {{
    {SigningAlgorithm::kRsaPssSha256, "RSASSA-PSS/SHA-256", Family::kRsaPss, Hash::kSha256, 32},
    {SigningAlgorithm::kRsaPssSha384, "RSASSA-PSS/SHA-384", Family::kRsaPss, Hash::kSha384, 48},
    {SigningAlgorithm::kRsaPssSha512, "RSASSA-PSS/SHA-512", Family::kRsaPss, Hash::kSha512, 64},
    {SigningAlgorithm::kRsaPkcs1Sha256, "RSASSA-PKCS1-v1_5/SHA-256", Family::kRsaPkcs1,
     Hash::kSha256, 32},
    {SigningAlgorithm::kRsaPkcs1Sha384, "RSASSA-PKCS1-v1_5/SHA-384", Family::kRsaPkcs1,
     Hash::kSha384, 48},
    {SigningAlgorithm::kRsaPkcs1Sha512, "RSASSA-PKCS1-v1_5/SHA-512", Family::kRsaPkcs1,
     Hash::kSha512, 64},
    {SigningAlgorithm::kEcdsaSha256, "ECDSA/SHA-256", Family::kEcdsa, Hash::kSha256, 32},
    {SigningAlgorithm::kEcdsaSha384, "ECDSA/SHA-384", Family::kEcdsa, Hash::kSha384, 48},
    {SigningAlgorithm::kEcdsaSha512, "ECDSA/SHA-512", Family::kEcdsa, Hash::kSha512, 64},
    {SigningAlgorithm::kEd25519Sha512, "Ed25519", Family::kEd25519, Hash::kNone, 0},
    {SigningAlgorithm::kEd25519PhSha512, "Ed25519ph", Family::kEd25519Ph, Hash::kNone, 64},
    {SigningAlgorithm::kSm2Dsa, "GB/T 32918.2 with SM3", Family::kSm2, Hash::kSm3, 32},
}};

const AlgorithmInfo& InfoOf(SigningAlgorithm algorithm) {
  return kAlgorithms[static_cast<std::size_t>(algorithm)];
}

// The digests, fetched once per process (EVP_sha256() would do an implicit fetch, which takes
// a lock, on every use). Fetched algorithms may be shared between threads.
const EVP_MD* DigestOf(Hash hash) {
  static const Md kSha256(EVP_MD_fetch(nullptr, "SHA256", nullptr));
  static const Md kSha384(EVP_MD_fetch(nullptr, "SHA384", nullptr));
  static const Md kSha512(EVP_MD_fetch(nullptr, "SHA512", nullptr));
  static const Md kSm3(EVP_MD_fetch(nullptr, "SM3", nullptr));
  switch (hash) {
    case Hash::kSha256:
      return kSha256.get();
    case Hash::kSha384:
      return kSha384.get();
    case Hash::kSha512:
      return kSha512.get();
    case Hash::kSm3:
      return kSm3.get();
    case Hash::kNone:
      break;
  }
  return nullptr;
}

const char* KeyTypeOf(Family family) {
  switch (family) {
    case Family::kRsaPss:
    case Family::kRsaPkcs1:
      return "RSA";
    case Family::kEcdsa:
      return "EC";
    case Family::kEd25519:
    case Family::kEd25519Ph:
      return "ED25519";
    case Family::kSm2:
      return "SM2";
  }
  return "";
}

bool IsEdwards(Family family) { return family == Family::kEd25519 || family == Family::kEd25519Ph; }

constexpr unsigned long kOpenSsl32 = 0x30200000UL;

// The SM2 curve coefficients a and b (GB/T 32918.5), which enter Z.
constexpr std::array<std::uint8_t, 32> kSm2A = {
    0xFF, 0xFF, 0xFF, 0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFC};
constexpr std::array<std::uint8_t, 32> kSm2B = {
    0x28, 0xE9, 0xFA, 0x9E, 0x9D, 0x9F, 0x5E, 0x34, 0x4D, 0x5A, 0x9E, 0x4B, 0xCF, 0x65, 0x09, 0xA7,
    0xF3, 0x97, 0x89, 0xF5, 0x15, 0xAB, 0x8F, 0x92, 0xDD, 0xBC, 0xBD, 0x41, 0x4D, 0x94, 0x0E, 0x93};
// The default distinguishing ID AWS uses for SM2DSA, and its length in bits (ENTL).
constexpr std::string_view kSm2DefaultId = "1234567812345678";

constexpr std::size_t kMaxDigestBytes = 64;
using DigestBuffer = std::array<std::uint8_t, kMaxDigestBytes>;

// Hashes `first || second` into `out`; returns the digest length. A per-thread context, so
// nothing is allocated per call.
Result<std::size_t> HashInto(Hash hash, ByteView first, ByteView second, DigestBuffer& out) {
  thread_local MdCtx ctx(EVP_MD_CTX_new());
  const EVP_MD* md = DigestOf(hash);
  if (ctx == nullptr || md == nullptr) return OpenSslError("EVP_MD_fetch / EVP_MD_CTX_new");
  unsigned int len = 0;
  if (EVP_DigestInit_ex2(ctx.get(), md, nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), first.data(), first.size()) != 1 ||
      EVP_DigestUpdate(ctx.get(), second.data(), second.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), out.data(), &len) != 1) {
    return OpenSslError("message digest");
  }
  return std::size_t{len};
}

// Z = SM3(ENTL || ID || a || b || xG || yG || xA || yA) for the SM2 key `key` and the default ID.
Result<DigestBuffer> Sm2Z(const EVP_PKEY* key) {
  constexpr std::size_t kPoint = 65;  // 0x04 || x || y
  std::array<std::uint8_t, kPoint> generator{};
  std::array<std::uint8_t, kPoint> pub{};
  std::size_t generator_len = 0;
  std::size_t pub_len = 0;
  if (EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_EC_GENERATOR, generator.data(),
                                      generator.size(), &generator_len) != 1 ||
      EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, pub.data(), pub.size(),
                                      &pub_len) != 1) {
    return OpenSslError("SM2 key parameters");
  }
  if (generator_len != kPoint || pub_len != kPoint || generator[0] != 0x04 || pub[0] != 0x04) {
    return Error{Error::Code::kBadInput, "the SM2 key does not have uncompressed points"};
  }
  constexpr std::size_t kIdBits = kSm2DefaultId.size() * 8;
  Bytes input;
  input.reserve(kSm2DefaultId.size() + std::size_t{2 + 2 * 32 + 4 * 32});
  input.push_back(static_cast<std::uint8_t>(kIdBits >> 8));
  input.push_back(static_cast<std::uint8_t>(kIdBits & 0xff));
  const ByteView id = AsBytes(kSm2DefaultId);
  input.insert(input.end(), id.begin(), id.end());
  input.insert(input.end(), kSm2A.begin(), kSm2A.end());
  input.insert(input.end(), kSm2B.begin(), kSm2B.end());
  input.insert(input.end(), generator.begin() + 1, generator.end());
  input.insert(input.end(), pub.begin() + 1, pub.end());
  DigestBuffer z{};
  KMS_TRY(HashInto(Hash::kSm3, input, {}, z));
  return z;
}

// An OpenSSL context ready to sign or verify with one key and one algorithm.
struct Prepared {
  bool ready = false;
  PkeyCtx pkey_ctx;  // RSA, ECDSA, SM2: operates on the digest (EVP_PKEY_sign / _verify)
  MdCtx md_ctx;      // Ed25519, Ed25519ph: one-shot EVP_DigestSign / EVP_DigestVerify
  std::size_t max_signature = 0;
  DigestBuffer sm2_z{};  // SM2 only
};

// Initialises `md_ctx` for Ed25519 (or Ed25519ph) signing or verification with `key`.
Result<void> InitEdwards(EVP_MD_CTX* md_ctx, EVP_PKEY* key, Family family, bool sign) {
  OSSL_PARAM params[2] = {OSSL_PARAM_END, OSSL_PARAM_END};
  // OpenSSL 3.2+ selects the RFC 8032 instance by name; the string is only read.
  constexpr const char* kEd25519ph = "Ed25519ph";
  if (family == Family::kEd25519Ph) {
    params[0] = OSSL_PARAM_construct_utf8_string("instance", const_cast<char*>(kEd25519ph), 0);
  }
  const int ok =
      sign ? EVP_DigestSignInit_ex(md_ctx, nullptr, nullptr, nullptr, nullptr, key, params)
           : EVP_DigestVerifyInit_ex(md_ctx, nullptr, nullptr, nullptr, nullptr, key, params);
  if (ok != 1) return OpenSslError(sign ? "EVP_DigestSignInit_ex" : "EVP_DigestVerifyInit_ex");
  return {};
}

// Whether a context after EVP_DigestSign / EVP_DigestVerify can run again without being
// initialised anew. OpenSSL 3.0 allows it for Ed25519; later releases may mark the context
// finalised. Found out once per process with a throwaway key.
bool OneShotReusable() {
  static const bool kReusable = [] {
    auto der = GeneratePrivateKey(KeyPairType::kEd25519);
    if (!der) return false;
    auto key = ParsePrivateKey(*der);
    MdCtx ctx(EVP_MD_CTX_new());
    if (!key || ctx == nullptr) return false;
    if (!InitEdwards(ctx.get(), key->get(), Family::kEd25519, true)) return false;
    std::array<std::uint8_t, 64> sig{};
    const std::uint8_t message[1] = {0};
    for (int i = 0; i < 2; ++i) {
      std::size_t len = sig.size();
      if (EVP_DigestSign(ctx.get(), sig.data(), &len, message, sizeof message) != 1) {
        DrainOpenSslErrors();
        return false;
      }
    }
    return true;
  }();
  return kReusable;
}

Result<void> CheckRequest(const EVP_PKEY* key, const AlgorithmInfo& info) {
  if (key == nullptr || EVP_PKEY_is_a(key, KeyTypeOf(info.family)) != 1) {
    return Error{Error::Code::kBadInput,
                 "the key does not fit signing algorithm " + std::string(info.name)};
  }
  if (!SigningAlgorithmAvailable(info.algorithm)) {
    return Error{Error::Code::kBadInput, std::string(info.name) + " needs OpenSSL " +
                                             std::string(OpenSslNeededFor(info.algorithm)) +
                                             " or later; kmsd runs with " + OpenSslVersionText()};
  }
  return {};
}

Result<void> CheckMessage(const AlgorithmInfo& info, MessageType type, ByteView message) {
  if (!AcceptsMessageType(info.algorithm, type)) {
    return Error{Error::Code::kBadInput,
                 std::string(info.name) + " does not take this message type"};
  }
  if (type == MessageType::kDigest && message.size() != info.digest_bytes) {
    return Error{Error::Code::kBadInput,
                 "the digest has the wrong length for " + std::string(info.name)};
  }
  return {};
}

// Builds the context for signing (`sign`) or verifying with `key` and `info`'s algorithm.
Result<Prepared> Prepare(const EVP_PKEY* const_key, const AlgorithmInfo& info, bool sign) {
  KMS_TRY(CheckRequest(const_key, info));
  // OpenSSL only reads the key; its API is not const-correct here.
  EVP_PKEY* key = const_cast<EVP_PKEY*>(const_key);
  Prepared p;
  p.max_signature = static_cast<std::size_t>(EVP_PKEY_get_size(key));
  if (IsEdwards(info.family)) {
    p.md_ctx.reset(EVP_MD_CTX_new());
    if (p.md_ctx == nullptr) return OpenSslError("EVP_MD_CTX_new");
    if (auto init = InitEdwards(p.md_ctx.get(), key, info.family, sign); !init) {
      return init.error();
    }
    p.ready = true;
    return p;
  }
  p.pkey_ctx.reset(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
  if (p.pkey_ctx == nullptr) return OpenSslError("EVP_PKEY_CTX_new_from_pkey");
  EVP_PKEY_CTX* ctx = p.pkey_ctx.get();
  if ((sign ? EVP_PKEY_sign_init(ctx) : EVP_PKEY_verify_init(ctx)) != 1) {
    return OpenSslError(sign ? "EVP_PKEY_sign_init" : "EVP_PKEY_verify_init");
  }
  const EVP_MD* md = DigestOf(info.hash);
  if (md == nullptr) return OpenSslError("EVP_MD_fetch");
  switch (info.family) {
    case Family::kRsaPss:
      if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) != 1 ||
          EVP_PKEY_CTX_set_signature_md(ctx, md) != 1 ||
          EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md) != 1 ||
          EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, RSA_PSS_SALTLEN_DIGEST) != 1) {
        return OpenSslError("RSASSA-PSS parameters");
      }
      break;
    case Family::kRsaPkcs1:
      if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1 ||
          EVP_PKEY_CTX_set_signature_md(ctx, md) != 1) {
        return OpenSslError("RSASSA-PKCS1-v1_5 parameters");
      }
      break;
    case Family::kEcdsa:
      if (EVP_PKEY_CTX_set_signature_md(ctx, md) != 1) return OpenSslError("ECDSA parameters");
      break;
    case Family::kSm2: {
      KMS_ASSIGN_OR_RETURN(auto z, Sm2Z(key));
      p.sm2_z = z;
      break;
    }
    case Family::kEd25519:
    case Family::kEd25519Ph:
      break;
  }
  p.ready = true;
  return p;
}

// The value the algorithm signs: the DIGEST message itself, or the RAW message's hash
// (SM2: SM3(Z || M)). Edwards algorithms sign the message as it is.
Result<ByteView> ToBeSigned(const Prepared& p, const AlgorithmInfo& info, MessageType type,
                            ByteView message, DigestBuffer& buffer) {
  if (type == MessageType::kDigest || IsEdwards(info.family)) return message;
  const ByteView prefix = info.family == Family::kSm2 ? ByteView(p.sm2_z.data(), 32) : ByteView();
  KMS_ASSIGN_OR_RETURN(auto len, HashInto(info.hash, prefix, message, buffer));
  return ByteView(buffer.data(), len);
}

// Re-initialises an Edwards context before a use, where OpenSSL does not allow one-shot reuse.
Result<void> RefreshEdwards(Prepared& p, const EVP_PKEY* key, const AlgorithmInfo& info,
                            bool sign) {
  if (!IsEdwards(info.family) || OneShotReusable()) return {};
  return InitEdwards(p.md_ctx.get(), const_cast<EVP_PKEY*>(key), info.family, sign);
}

Result<Bytes> SignWith(Prepared& p, const EVP_PKEY* key, const AlgorithmInfo& info,
                       MessageType type, ByteView message) {
  KMS_TRY(CheckMessage(info, type, message));
  DigestBuffer buffer{};
  KMS_ASSIGN_OR_RETURN(auto tbs, ToBeSigned(p, info, type, message, buffer));
  KMS_TRY(RefreshEdwards(p, key, info, true));
  Bytes signature(p.max_signature);
  std::size_t len = signature.size();
  const int ok =
      IsEdwards(info.family)
          ? EVP_DigestSign(p.md_ctx.get(), signature.data(), &len, tbs.data(), tbs.size())
          : EVP_PKEY_sign(p.pkey_ctx.get(), signature.data(), &len, tbs.data(), tbs.size());
  if (ok != 1) return OpenSslError(std::string(info.name) + " signing");
  signature.resize(len);
  return signature;
}

Result<void> VerifyWith(Prepared& p, const EVP_PKEY* key, const AlgorithmInfo& info,
                        MessageType type, ByteView message, ByteView signature) {
  KMS_TRY(CheckMessage(info, type, message));
  DigestBuffer buffer{};
  KMS_ASSIGN_OR_RETURN(auto tbs, ToBeSigned(p, info, type, message, buffer));
  KMS_TRY(RefreshEdwards(p, key, info, false));
  const int ok = IsEdwards(info.family) ? EVP_DigestVerify(p.md_ctx.get(), signature.data(),
                                                           signature.size(), tbs.data(), tbs.size())
                                        : EVP_PKEY_verify(p.pkey_ctx.get(), signature.data(),
                                                          signature.size(), tbs.data(), tbs.size());
  if (ok != 1) {
    // Bad padding, a wrong length, DER that does not parse: all one answer.
    DrainOpenSslErrors();
    return Error{Error::Code::kAuthFailed, "the signature does not verify"};
  }
  return {};
}

constexpr std::size_t kCacheCapacity = 1024;

// One cached key: its parsed private key and a context per algorithm and direction, built on
// first use.
struct CacheEntry {
  Pkey key;
  std::array<Prepared, kSigningAlgorithmCount> sign;
  std::array<Prepared, kSigningAlgorithmCount> verify;
};

// The entry for `cache_id`, parsing `pkcs8_der` on a miss. The reference is valid until the
// next call on this thread.
Result<CacheEntry*> CachedEntry(std::string_view cache_id, ByteView pkcs8_der) {
  thread_local BoundedCache<CacheEntry> cache(kCacheCapacity);
  return cache.GetOrMake(cache_id, [pkcs8_der]() -> Result<CacheEntry> {
    KMS_ASSIGN_OR_RETURN(auto parsed, ParsePrivateKey(pkcs8_der));
    CacheEntry entry;
    entry.key = std::move(parsed);
    return entry;
  });
}

// The prepared context of `entry` for `info` in one direction, built if need be.
Result<Prepared*> PreparedOf(CacheEntry& entry, const AlgorithmInfo& info, bool sign) {
  Prepared& slot = (sign ? entry.sign : entry.verify)[static_cast<std::size_t>(info.algorithm)];
  if (!slot.ready) {
    KMS_ASSIGN_OR_RETURN(auto built, Prepare(entry.key.get(), info, sign));
    slot = std::move(built);
  }
  return &slot;
}

}  // namespace

std::size_t DigestBytes(SigningAlgorithm algorithm) { return InfoOf(algorithm).digest_bytes; }

bool AcceptsMessageType(SigningAlgorithm algorithm, MessageType type) {
  switch (InfoOf(algorithm).family) {
    case Family::kEd25519:
      return type == MessageType::kRaw;
    case Family::kEd25519Ph:
      return type == MessageType::kDigest;
    default:
      return true;
  }
}

bool SigningAlgorithmAvailable(SigningAlgorithm algorithm) {
  if (InfoOf(algorithm).family == Family::kEd25519Ph) return OpenSSL_version_num() >= kOpenSsl32;
  return true;
}

std::string_view OpenSslNeededFor(SigningAlgorithm algorithm) {
  return InfoOf(algorithm).family == Family::kEd25519Ph ? "3.2" : "";
}

Result<Bytes> Sign(const EVP_PKEY* key, SigningAlgorithm algorithm, MessageType type,
                   ByteView message) {
  const AlgorithmInfo& info = InfoOf(algorithm);
  KMS_ASSIGN_OR_RETURN(auto prepared, Prepare(key, info, /*sign=*/true));
  return SignWith(prepared, key, info, type, message);
}

Result<void> Verify(const EVP_PKEY* key, SigningAlgorithm algorithm, MessageType type,
                    ByteView message, ByteView signature) {
  const AlgorithmInfo& info = InfoOf(algorithm);
  KMS_ASSIGN_OR_RETURN(auto prepared, Prepare(key, info, /*sign=*/false));
  return VerifyWith(prepared, key, info, type, message, signature);
}

Result<Bytes> CachedSign(std::string_view cache_id, ByteView pkcs8_der, SigningAlgorithm algorithm,
                         MessageType type, ByteView message) {
  const AlgorithmInfo& info = InfoOf(algorithm);
  KMS_ASSIGN_OR_RETURN(auto entry, CachedEntry(cache_id, pkcs8_der));
  KMS_ASSIGN_OR_RETURN(auto prepared, PreparedOf(*entry, info, /*sign=*/true));
  auto signature = SignWith(*prepared, entry->key.get(), info, type, message);
  // A context OpenSSL failed in is not trusted again: the next call builds a fresh one.
  if (!signature && signature.error().code == Error::Code::kOpenSsl) *prepared = Prepared{};
  return signature;
}

Result<void> CachedVerify(std::string_view cache_id, ByteView pkcs8_der, SigningAlgorithm algorithm,
                          MessageType type, ByteView message, ByteView signature) {
  const AlgorithmInfo& info = InfoOf(algorithm);
  KMS_ASSIGN_OR_RETURN(auto entry, CachedEntry(cache_id, pkcs8_der));
  KMS_ASSIGN_OR_RETURN(auto prepared, PreparedOf(*entry, info, /*sign=*/false));
  auto verified = VerifyWith(*prepared, entry->key.get(), info, type, message, signature);
  if (!verified && verified.error().code == Error::Code::kOpenSsl) *prepared = Prepared{};
  return verified;
}

}  // namespace kms::crypto
