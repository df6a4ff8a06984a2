#include "server/ops/grant_token.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "crypto/base64.hpp"
#include "crypto/bytes.hpp"
#include "crypto/digest.hpp"
#include "crypto/random.hpp"
#include "server/ops/key_lookup.hpp"

namespace kms::ops {
namespace {

constexpr std::uint8_t kVersion = 0x01;
constexpr std::size_t kMaxAccountBytes = 64;
constexpr std::size_t kMaxRegionBytes = 32;
constexpr std::size_t kGrantIdBytes = 32;
constexpr std::size_t kNonceBytes = 16;
constexpr std::size_t kCheckBytes = 8;
// GrantTokenType's model maximum is 8192 characters; a kmsd token is far shorter. Longer text
// is refused before it is decoded.
constexpr std::size_t kMaxTokenChars = 4 * (1 + 1 + kMaxAccountBytes + 1 + kMaxRegionBytes + 1 +
                                            36 + kGrantIdBytes + kNonceBytes + kCheckBytes);

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Account and region: printable ASCII without spaces (they come from the configuration and
// the SigV4 scope, which allow less than this).
bool IsNameText(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c > ' ' && c <= '~'; });
}

void AppendField(crypto::Bytes& out, std::string_view field) {
  out.push_back(static_cast<std::uint8_t>(field.size()));
  out.insert(out.end(), field.begin(), field.end());
}

crypto::Bytes CheckOf(crypto::ByteView covered) {
  crypto::Bytes digest = crypto::Sha256(covered);
  digest.resize(kCheckBytes);
  return digest;
}

// Reads the length-prefixed text at `pos` (1..max bytes), advancing `pos`.
std::optional<std::string_view> ReadField(crypto::ByteView bytes, std::size_t& pos,
                                          std::size_t max) {
  if (pos >= bytes.size()) return std::nullopt;
  const std::size_t length = bytes[pos++];
  if (length == 0 || length > max || bytes.size() - pos < length) return std::nullopt;
  std::string_view text(reinterpret_cast<const char*>(bytes.data() + pos), length);
  pos += length;
  return text;
}

}  // namespace

bool IsWellFormedGrantId(std::string_view grant_id) {
  return grant_id.size() == 2 * kGrantIdBytes &&
         std::all_of(grant_id.begin(), grant_id.end(), [](char c) { return HexValue(c) >= 0; });
}

server::Result<std::string> MakeGrantToken(const storage::Scope& scope, std::string_view key_id,
                                           std::string_view grant_id) {
  if (scope.account.empty() || scope.account.size() > kMaxAccountBytes || scope.region.empty() ||
      scope.region.size() > kMaxRegionBytes || !IsWellFormedKeyId(key_id) ||
      !IsWellFormedGrantId(grant_id)) {
    return KmsError::Internal("MakeGrantToken: cannot name grant " + std::string(grant_id) +
                              " of key " + std::string(key_id));
  }
  crypto::Bytes bytes;
  bytes.push_back(kVersion);
  AppendField(bytes, scope.account);
  AppendField(bytes, scope.region);
  AppendField(bytes, key_id);
  for (std::size_t i = 0; i < grant_id.size(); i += 2) {
    bytes.push_back(
        static_cast<std::uint8_t>(HexValue(grant_id[i]) * 16 + HexValue(grant_id[i + 1])));
  }
  auto nonce = crypto::RandomBytes(kNonceBytes);
  if (!nonce)
    return KmsError::Internal("kmsd could not generate random bytes: " + nonce.error().message);
  bytes.insert(bytes.end(), nonce->begin(), nonce->end());
  const crypto::Bytes check = CheckOf(bytes);
  bytes.insert(bytes.end(), check.begin(), check.end());
  return crypto::Base64Encode(bytes);
}

std::optional<GrantTokenContent> ParseGrantToken(std::string_view token) {
  if (token.size() > kMaxTokenChars) return std::nullopt;
  const std::optional<crypto::Bytes> decoded = crypto::Base64Decode(token);
  if (!decoded || decoded->empty() || (*decoded)[0] != kVersion) return std::nullopt;
  const crypto::ByteView bytes = *decoded;
  std::size_t pos = 1;
  const auto account = ReadField(bytes, pos, kMaxAccountBytes);
  const auto region = account ? ReadField(bytes, pos, kMaxRegionBytes) : std::nullopt;
  const auto key_id = region ? ReadField(bytes, pos, 36) : std::nullopt;
  if (!key_id || !IsNameText(*account) || !IsNameText(*region) || !IsWellFormedKeyId(*key_id)) {
    return std::nullopt;
  }
  if (bytes.size() - pos != kGrantIdBytes + kNonceBytes + kCheckBytes) return std::nullopt;
  const std::size_t check_at = bytes.size() - kCheckBytes;
  const crypto::Bytes check = CheckOf(bytes.first(check_at));
  if (!std::equal(check.begin(), check.end(),
                  bytes.begin() + static_cast<std::ptrdiff_t>(check_at))) {
    return std::nullopt;
  }
  GrantTokenContent content;
  content.scope = storage::Scope{std::string(*account), std::string(*region)};
  content.key_id = std::string(*key_id);
  content.grant_id = crypto::HexEncode(bytes.subspan(pos, kGrantIdBytes));
  return content;
}

KmsError InvalidGrantToken() {
  // AWS text unknown; short, in the style of its "Invalid keyId '...'" (the token itself,
  // up to 8 KiB, is not echoed).
  return KmsError{server::ErrorCode::kInvalidGrantToken, "Invalid grant token"};
}

server::Result<void> CheckGrantTokens(const server::JsonIn& in) {
  for (std::string_view token : in.OptionalStringList("GrantTokens")) {
    if (!ParseGrantToken(token)) return InvalidGrantToken();
  }
  return {};
}

}  // namespace kms::ops
