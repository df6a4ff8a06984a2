#include "crypto/hmac.hpp"

#include "base/try.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <span>
#include <string>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "crypto/evp_handles.hpp"

namespace kms::crypto {
namespace {

constexpr std::size_t kDigestCount = 4;
constexpr std::size_t kMaxMacBytes = 64;  // HMAC-SHA512

// Keys up to this size are remembered for the same-key fast path (KMS HMAC keys are 28-64
// bytes); longer ones are simply set on every call.
constexpr std::size_t kMaxRememberedKey = 128;

std::size_t IndexOf(HmacDigest digest) { return static_cast<std::size_t>(digest); }

// Per HmacDigest, in enumerator order: OpenSSL's digest name and the MAC length.
struct DigestInfo {
  const char* name;
  std::size_t mac_bytes;
};
constexpr std::array<DigestInfo, kDigestCount> kDigestInfo = {{
    {"SHA224", 28},
    {"SHA256", 32},
    {"SHA384", 48},
    {"SHA512", 64},
}};

// One digest's context on this thread. `key` holds the key the context is keyed with while
// `keyed` is true; the context holds the keyed pads anyway, so keeping the key beside it
// exposes nothing new. Both are cleansed when the thread exits.
struct DigestSlot {
  DigestSlot() = default;
  DigestSlot(const DigestSlot&) = delete;
  DigestSlot& operator=(const DigestSlot&) = delete;
  ~DigestSlot() { OPENSSL_cleanse(key.data(), key.size()); }

  MacCtx ctx;
  bool keyed = false;
  std::size_t key_size = 0;
  std::array<std::uint8_t, kMaxRememberedKey> key{};
};

struct ThreadHmac {
  Mac mac{EVP_MAC_fetch(nullptr, "HMAC", nullptr)};
  std::array<DigestSlot, kDigestCount> slots;
};

ThreadHmac& ThisThreadHmac() {
  thread_local ThreadHmac state;
  return state;
}

// Fails the current call; the slot starts over from a new context next time.
Error Fail(DigestSlot& slot, std::string_view operation) {
  slot.ctx.reset();
  slot.keyed = false;
  OPENSSL_cleanse(slot.key.data(), slot.key.size());
  return OpenSslError(operation);
}

// This thread's slot for `digest`, its context initialised for a new MAC under `key`.
Result<DigestSlot*> Begin(HmacDigest digest, ByteView key) {
  ThreadHmac& state = ThisThreadHmac();
  DigestSlot& slot = state.slots[IndexOf(digest)];
  if (state.mac == nullptr) return Fail(slot, "EVP_MAC_fetch(HMAC)");
  if (slot.ctx == nullptr) {
    slot.ctx.reset(EVP_MAC_CTX_new(state.mac.get()));
    if (slot.ctx == nullptr) return Fail(slot, "EVP_MAC_CTX_new");
    const std::array<OSSL_PARAM, 2> params = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                         const_cast<char*>(kDigestInfo[IndexOf(digest)].name), 0),
        OSSL_PARAM_construct_end()};
    if (EVP_MAC_CTX_set_params(slot.ctx.get(), params.data()) != 1) {
      return Fail(slot, "EVP_MAC_CTX_set_params(digest)");
    }
  }
  const bool same_key = slot.keyed && slot.key_size == key.size() &&
                        CRYPTO_memcmp(slot.key.data(), key.data(), key.size()) == 0;
  slot.keyed = false;
  // A null key resets the context and keeps the pads it was keyed with.
  if (EVP_MAC_init(slot.ctx.get(), same_key ? nullptr : key.data(), same_key ? 0 : key.size(),
                   nullptr) != 1) {
    return Fail(slot, "EVP_MAC_init");
  }
  if (key.size() <= kMaxRememberedKey) {
    if (!same_key) {
      std::copy(key.begin(), key.end(), slot.key.begin());
      slot.key_size = key.size();
    }
    slot.keyed = true;
  }
  return &slot;
}

// The HMAC of `message` under `key` into `out`, which is exactly HmacSize(digest) bytes.
Result<void> HmacInto(HmacDigest digest, ByteView key, ByteView message,
                      std::span<std::uint8_t> out) {
  if (key.empty()) return Error{Error::Code::kBadInput, "an HMAC key must not be empty"};
  KMS_ASSIGN_OR_RETURN(auto slot, Begin(digest, key));
  EVP_MAC_CTX* ctx = slot->ctx.get();
  std::size_t len = 0;
  if (EVP_MAC_update(ctx, message.data(), message.size()) != 1) {
    return Fail(*slot, "EVP_MAC_update");
  }
  if (EVP_MAC_final(ctx, out.data(), &len, out.size()) != 1 || len != out.size()) {
    return Fail(*slot, "EVP_MAC_final");
  }
  return {};
}

}  // namespace

std::size_t HmacSize(HmacDigest digest) { return kDigestInfo[IndexOf(digest)].mac_bytes; }

Result<Bytes> Hmac(HmacDigest digest, ByteView key, ByteView message) {
  Bytes out(HmacSize(digest));
  KMS_TRY(HmacInto(digest, key, message, out));
  return out;
}

Result<bool> HmacVerify(HmacDigest digest, ByteView key, ByteView message, ByteView mac) {
  std::array<std::uint8_t, kMaxMacBytes> buffer{};
  const std::span<std::uint8_t> expected(buffer.data(), HmacSize(digest));
  KMS_TRY(HmacInto(digest, key, message, expected));
  // The length is public (it follows from the algorithm); only the bytes need constant time.
  const bool valid =
      mac.size() == expected.size() && CRYPTO_memcmp(expected.data(), mac.data(), mac.size()) == 0;
  OPENSSL_cleanse(buffer.data(), buffer.size());
  return valid;
}

}  // namespace kms::crypto
