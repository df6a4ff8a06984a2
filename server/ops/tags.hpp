// File: tags.hpp
//
// The tag rules every operation that accepts tags shares: TagResource, and CreateKey's
// "Tags" member. Each TagException text copies AWS's wording (recorded from AWS).
//
//   KMS_ASSIGN_OR_RETURN(std::vector<storage::Tag> tags, ReadTags(in));   // shape checks
//   KMS_TRY(MergeTags(ctx, record.tags, tags));                            // the 50-tag limit
//
// Thread-safety: stateless functions.
#pragma once

#include <cstddef>
#include <vector>

#include "server/ops/context.hpp"
#include "server/protocol/json_io.hpp"
#include "server/protocol/result.hpp"
#include "storage/records.hpp"

namespace kms::ops {

// At most this many tags on one key, counting those it already has.
inline constexpr std::size_t kMaxTagsPerKey = 50;

// Reads the request member "Tags" (a list of {TagKey, TagValue}), in request order; an absent
// member gives an empty list. Lengths were checked by the model validation.
// Errors (TagException): "Tags beginning with aws: are reserved" (the prefix in any case),
// "Duplicate tag keys" (the same TagKey twice in the request).
server::Result<std::vector<storage::Tag>> ReadTags(const server::JsonIn& in);

// Adds `added` to `existing`: a key already present takes the new value in place, new keys are
// appended in order. Errors: TagException "Too many tags" when the result would hold more than
// kMaxTagsPerKey tags; `existing` is unchanged then.
server::Result<void> MergeTags(const OpContext& ctx, std::vector<storage::Tag>& existing,
                               const std::vector<storage::Tag>& added);

}  // namespace kms::ops
