// File: grant_token.hpp
//
// Grant tokens: what CreateGrant returns beside the GrantId. RetireGrant takes one to name the
// grant it retires (with no KeyId); every operation whose request model has `GrantTokens`
// accepts a list of them (CheckGrantTokens, called once for all of them by the dispatcher).
//
// A token is the standard base64 (crypto/base64.hpp) of these bytes:
//
//   offset  size  field
//   0       1     format version: 0x01
//   1       1     A: length of the account (1..64)
//   2       A     the account of the grant's key (ASCII)
//   2+A     1     R: length of the region (1..32)
//   3+A     R     the region of the grant's key (ASCII)
//   3+A+R   1     K: length of the key id (36: a UUID, or "mrk-" + 32 hex)
//   4+A+R   K     the key id
//   ..      32    the grant id: the 64 lowercase hex digits of GrantId, as 32 bytes
//   ..      16    nonce: random bytes, so that every CreateGrant call returns a new token (AWS:
//                 "the returned grant token is unique with every CreateGrant request")
//   ..      8     check: the first 8 bytes of SHA-256 over every byte before it
//
// What a token is not: a secret or a capability. It names (scope, key, grant), as AWS's tokens
// name a grant, and holds nothing else; tokens of one grant are interchangeable. The check
// catches a token that was cut or mistyped (InvalidGrantTokenException). A token cannot be
// turned into another key's grant without notice either: RetireGrant looks the grant id up on
// the key the token names, and answers NotFoundException when that key has no such grant.
// Tokens need no server-side state, so they survive a restart as long as the grant does.
//
// Thread-safety: stateless functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "server/protocol/json_io.hpp"
#include "server/protocol/result.hpp"
#include "storage/records.hpp"

namespace kms::ops {

// What a well-formed token names.
struct GrantTokenContent {
  storage::Scope scope;
  std::string key_id;
  std::string grant_id;  // 64 lowercase hex
};

// True for a grant id as kmsd makes them: 64 lowercase hex digits.
bool IsWellFormedGrantId(std::string_view grant_id);

// A new token for grant `grant_id` (IsWellFormedGrantId) of key `key_id` in `scope`, with a
// fresh random nonce. Errors: KMSInternalException when the random generator fails.
server::Result<std::string> MakeGrantToken(const storage::Scope& scope, std::string_view key_id,
                                           std::string_view grant_id);

// What `token` names, or nullopt when it is not a token kmsd made (bad base64, wrong version
// or lengths, a malformed key or grant id, a check that does not match).
std::optional<GrantTokenContent> ParseGrantToken(std::string_view token);

// InvalidGrantTokenException, with kmsd's text (AWS's text is unknown).
server::KmsError InvalidGrantToken();

// The request's `GrantTokens` list, if any: InvalidGrantTokenException unless every token
// parses (ParseGrantToken). A well-formed token is accepted whatever became of its grant:
// kmsd does not enforce grants, so a token only matters as a well-formed argument. (In AWS a
// token stands in for its grant until the grant is known everywhere, a few minutes at most;
// a token of a retired grant grants nothing, which kmsd, enforcing nothing, cannot show.)
server::Result<void> CheckGrantTokens(const server::JsonIn& in);

}  // namespace kms::ops
