// File: policies.hpp
//
// Key policy helpers shared by CreateKey and the policy operations (policies.cpp).
// kmsd stores one policy per key, named "default", and does not evaluate it.
//
//   std::string policy = DefaultKeyPolicy(ctx);           // AWS's default, for this account
//   KMS_TRY(CheckPolicyDocument(in.OptionalString("Policy").value_or(policy)));
//
// Thread-safety: stateless functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "server/ops/context.hpp"
#include "server/protocol/result.hpp"
#include "storage/records.hpp"

namespace kms::ops {

// The only policy name KMS supports.
inline constexpr std::string_view kDefaultPolicyName = "default";

// AWS's quota on the size of a key policy document (the "Key policy document size" quota in
// the KMS developer guide), in bytes of UTF-8 text. The service model allows a Policy of up to
// 131072 characters; anything longer than this quota is a LimitExceededException.
inline constexpr std::size_t kMaxKeyPolicyBytes = 32768;

// The key policy AWS attaches when CreateKey has no Policy: it lets the account's IAM
// policies govern the key (arn:<partition>:iam::<account>:root). Pretty-printed the way AWS
// returns it.
std::string DefaultKeyPolicy(const OpContext& ctx);
// The same for `scope` (DefaultKeyPolicy(ctx) == DefaultKeyPolicy(ctx.scope)).
std::string DefaultKeyPolicy(const storage::Scope& scope);

// Checks that `policy` is at most kMaxKeyPolicyBytes long (else LimitExceededException) and a
// JSON object with a "Statement" member (an object or a non-empty array of objects; else
// MalformedPolicyDocumentException with a short reason). Statements are not evaluated.
server::Result<void> CheckPolicyDocument(std::string_view policy);

}  // namespace kms::ops
