#include "crypto/key_pair.hpp"

#include "base/try.hpp"

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/decoder.h>
#include <openssl/ec.h>
#include <openssl/encoder.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/params.h>
#include <openssl/x509.h>

#include "crypto/bounded_cache.hpp"

namespace kms::crypto {
namespace {

// How OpenSSL names and parameterises each type.
struct TypeInfo {
  const char* algorithm;  // key management name for EVP_PKEY_CTX_new_from_name
  unsigned rsa_bits;      // RSA only
  const char* group;      // EC only: the curve
};

TypeInfo InfoOf(KeyPairType type) {
  switch (type) {
    case KeyPairType::kRsa2048:
      return {"RSA", 2048, nullptr};
    case KeyPairType::kRsa3072:
      return {"RSA", 3072, nullptr};
    case KeyPairType::kRsa4096:
      return {"RSA", 4096, nullptr};
    case KeyPairType::kEccNistP256:
      return {"EC", 0, "P-256"};
    case KeyPairType::kEccNistP384:
      return {"EC", 0, "P-384"};
    case KeyPairType::kEccNistP521:
      return {"EC", 0, "P-521"};
    case KeyPairType::kEccSecgP256k1:
      return {"EC", 0, "secp256k1"};
    case KeyPairType::kEd25519:
      return {"ED25519", 0, nullptr};
    case KeyPairType::kSm2:
      return {"SM2", 0, nullptr};
    case KeyPairType::kMlDsa44:
      return {"ML-DSA-44", 0, nullptr};
    case KeyPairType::kMlDsa65:
      return {"ML-DSA-65", 0, nullptr};
    case KeyPairType::kMlDsa87:
      return {"ML-DSA-87", 0, nullptr};
  }
  return {"", 0, nullptr};
}

// Copies an OpenSSL-allocated secret into SecureBytes and cleanses the original.
SecureBytes TakeSecret(unsigned char* data, std::size_t len) {
  SecureBytes out(ByteView(data, len));
  OPENSSL_clear_free(data, len);
  return out;
}

constexpr std::size_t kCacheCapacity = 1024;

// The NID of a curve named the NIST way ("P-256") or by OpenSSL's short name ("prime256v1",
// "secp256k1"); NID_undef for neither.
int CurveNid(const char* name) {
  const int nist = EC_curve_nist2nid(name);
  return nist != NID_undef ? nist : OBJ_sn2nid(name);
}

}  // namespace

bool KeyPairTypeAvailable(KeyPairType type) {
  EVP_KEYMGMT* keymgmt = EVP_KEYMGMT_fetch(nullptr, InfoOf(type).algorithm, nullptr);
  EVP_KEYMGMT_free(keymgmt);
  ERR_clear_error();  // a failed fetch leaves an entry behind
  return keymgmt != nullptr;
}

std::string OpenSslVersionText() { return OpenSSL_version(OPENSSL_VERSION); }

Result<SecureBytes> GeneratePrivateKey(KeyPairType type) {
  const TypeInfo info = InfoOf(type);
  if (!KeyPairTypeAvailable(type)) {
    return Error{Error::Code::kBadInput,
                 std::string(info.algorithm) + " is not provided by " + OpenSslVersionText()};
  }
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_name(nullptr, info.algorithm, nullptr));
  if (ctx == nullptr || EVP_PKEY_keygen_init(ctx.get()) != 1) {
    return OpenSslError("EVP_PKEY_keygen_init");
  }
  OSSL_PARAM params[2] = {OSSL_PARAM_END, OSSL_PARAM_END};
  unsigned bits = info.rsa_bits;
  if (info.rsa_bits != 0) {
    params[0] = OSSL_PARAM_construct_uint(OSSL_PKEY_PARAM_RSA_BITS, &bits);
  } else if (info.group != nullptr) {
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
                                                 const_cast<char*>(info.group), 0);
  }
  if (EVP_PKEY_CTX_set_params(ctx.get(), params) != 1) {
    return OpenSslError("EVP_PKEY_CTX_set_params");
  }
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_generate(ctx.get(), &raw) != 1) return OpenSslError("EVP_PKEY_generate");
  const Pkey key(raw);

  using EncoderCtx = std::unique_ptr<OSSL_ENCODER_CTX, decltype(&OSSL_ENCODER_CTX_free)>;
  EncoderCtx encoder(
      OSSL_ENCODER_CTX_new_for_pkey(key.get(), EVP_PKEY_KEYPAIR, "DER", "PrivateKeyInfo", nullptr),
      &OSSL_ENCODER_CTX_free);
  unsigned char* der = nullptr;
  std::size_t der_len = 0;
  if (encoder == nullptr || OSSL_ENCODER_to_data(encoder.get(), &der, &der_len) != 1) {
    return OpenSslError("OSSL_ENCODER_to_data(PrivateKeyInfo)");
  }
  return TakeSecret(der, der_len);
}

Result<Pkey> ParsePrivateKey(ByteView pkcs8_der) {
  using DecoderCtx = std::unique_ptr<OSSL_DECODER_CTX, decltype(&OSSL_DECODER_CTX_free)>;
  EVP_PKEY* raw = nullptr;
  DecoderCtx decoder(OSSL_DECODER_CTX_new_for_pkey(&raw, "DER", "PrivateKeyInfo", nullptr,
                                                   EVP_PKEY_KEYPAIR, nullptr, nullptr),
                     &OSSL_DECODER_CTX_free);
  if (decoder == nullptr) return OpenSslError("OSSL_DECODER_CTX_new_for_pkey");
  const unsigned char* data = pkcs8_der.data();
  std::size_t left = pkcs8_der.size();
  const int ok = OSSL_DECODER_from_data(decoder.get(), &data, &left);
  Pkey key(raw);
  if (ok != 1 || key == nullptr || left != 0) {
    DrainOpenSslErrors();
    return Error{Error::Code::kBadInput, "not a DER PKCS#8 private key"};
  }
  return key;
}

Result<Pkey> CachedPrivateKey(std::string_view cache_id, ByteView pkcs8_der) {
  thread_local BoundedCache<Pkey> cache(kCacheCapacity);
  KMS_ASSIGN_OR_RETURN(
      auto cached, cache.GetOrMake(cache_id, [pkcs8_der] { return ParsePrivateKey(pkcs8_der); }));
  if (EVP_PKEY_up_ref(cached->get()) != 1) return OpenSslError("EVP_PKEY_up_ref");
  return Pkey(cached->get());
}

Result<Bytes> PublicKeyDer(const EVP_PKEY* key) {
  unsigned char* der = nullptr;
  const int len = i2d_PUBKEY(key, &der);
  if (len <= 0) return OpenSslError("i2d_PUBKEY");
  Bytes out(der, der + len);
  OPENSSL_free(der);
  return out;
}

Result<Pkey> ParsePublicKey(ByteView spki_der) {
  const unsigned char* p = spki_der.data();
  Pkey key(d2i_PUBKEY(nullptr, &p, static_cast<long>(spki_der.size())));
  if (key == nullptr || p != spki_der.data() + spki_der.size()) {
    DrainOpenSslErrors();
    return Error{Error::Code::kBadInput, "not a DER SubjectPublicKeyInfo"};
  }
  return key;
}

int KeyBits(const EVP_PKEY* key) { return EVP_PKEY_get_bits(key); }

bool IsKeyPairType(const EVP_PKEY* key, KeyPairType type) {
  const TypeInfo info = InfoOf(type);
  if (key == nullptr || EVP_PKEY_is_a(key, info.algorithm) != 1) return false;
  if (info.rsa_bits != 0) return EVP_PKEY_get_bits(key) == static_cast<int>(info.rsa_bits);
  if (info.group == nullptr) return true;
  char group[64] = {};
  std::size_t len = 0;
  if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), &len) !=
      1) {
    DrainOpenSslErrors();
    return false;
  }
  return CurveNid(group) != NID_undef && CurveNid(group) == CurveNid(info.group);
}

}  // namespace kms::crypto
