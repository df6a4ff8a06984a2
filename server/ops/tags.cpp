// File: tags.cpp
//
// TagResource, UntagResource, ListResourceTags, and the tag rules CreateKey shares (tags.hpp).
// Tags live in the KeyRecord in insertion order; a write replaces the whole record under the
// registry's writer lock, so concurrent TagResource calls on one key never lose a tag.
//
// Thread-safety: handlers may run concurrently; writes serialise on Registry::BeginWrite().
#include "server/ops/tags.hpp"

#include <algorithm>
#include <charconv>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "server/ops/key_lookup.hpp"
#include "server/ops/ops.hpp"
#include "server/ops/paging.hpp"

namespace kms::ops {
namespace {

// ListResourceTags: "must be between 1 and 50, inclusive. If you do not include a value, it
// defaults to 50." The model allows up to 1000; larger values get 50.
constexpr std::int64_t kMaxTagPage = 50;

KmsError TagError(std::string message) { return {server::ErrorCode::kTag, std::move(message)}; }

// "aws:" in any letter case.
bool HasReservedPrefix(std::string_view key) {
  constexpr std::string_view kReserved = "aws:";
  if (key.size() < kReserved.size()) return false;
  return std::equal(kReserved.begin(), kReserved.end(), key.begin(), [](char want, char got) {
    return want == (got >= 'A' && got <= 'Z' ? static_cast<char>(got - 'A' + 'a') : got);
  });
}

auto FindTag(std::vector<storage::Tag>& tags, std::string_view key) {
  return std::find_if(tags.begin(), tags.end(),
                      [key](const storage::Tag& t) { return t.key == key; });
}

// Markers are the decimal index of the next tag to return. Opaque to clients.
Result<std::size_t> ParseMarker(std::string_view marker) {
  std::size_t index = 0;
  auto [end, ec] = std::from_chars(marker.data(), marker.data() + marker.size(), index);
  if (ec != std::errc() || end != marker.data() + marker.size()) {
    return InvalidMarker(marker);
  }
  return index;
}

}  // namespace

Result<std::vector<storage::Tag>> ReadTags(const JsonIn& in) {
  std::vector<storage::Tag> tags;
  std::set<std::string_view> seen;
  for (const JsonIn& entry : in.OptionalObjectList("Tags")) {
    KMS_ASSIGN_OR_RETURN(std::string_view key, entry.RequiredString("TagKey"));
    KMS_ASSIGN_OR_RETURN(std::string_view value, entry.RequiredString("TagValue"));
    if (HasReservedPrefix(key)) return TagError("Tags beginning with aws: are reserved");
    if (!seen.insert(key).second) return TagError("Duplicate tag keys");
    tags.push_back(storage::Tag{std::string(key), std::string(value)});
  }
  return tags;
}

Result<void> MergeTags(const OpContext& /*ctx*/, std::vector<storage::Tag>& existing,
                       const std::vector<storage::Tag>& added) {
  std::vector<storage::Tag> merged = existing;
  for (const storage::Tag& tag : added) {
    auto it = FindTag(merged, tag.key);
    if (it != merged.end()) {
      it->value = tag.value;
    } else {
      merged.push_back(tag);
    }
  }
  if (merged.size() > kMaxTagsPerKey) return TagError("Too many tags");
  existing = std::move(merged);
  return {};
}

// TagResource: https://docs.aws.amazon.com/kms/latest/APIReference/API_TagResource.html
// Deviation: the ABAC side effects of tags (tag-based authorization) are not emulated.
Result<void> TagResource(OpContext& ctx, const JsonIn& in, JsonOut& /*out*/) {
  KMS_ASSIGN_OR_RETURN(std::string_view key_ref, in.RequiredString("KeyId"));

  // Order of checks: the key, then its manager and state, then the tags' own rules (reserved
  // prefix, duplicates, count). Lengths were checked with the model, before any of these.
  auto writer = ctx.registry.BeginWrite();
  KMS_ASSIGN_OR_RETURN(KeyPtr key, ResolveKey(ctx, key_ref, KeyRefForms::kKeyIdOrArn));
  KMS_TRY(RequireCustomerManaged(ctx, *key, "TagResource"));
  KMS_TRY(RequireNotPendingDeletion(ctx, *key));
  KMS_ASSIGN_OR_RETURN(std::vector<storage::Tag> tags, ReadTags(in));

  storage::KeyRecord updated = *key;
  KMS_TRY(MergeTags(ctx, updated.tags, tags));
  if (updated.tags == key->tags) return {};  // nothing new: nothing to write
  if (!writer.UpdateKey(std::move(updated))) return StorageFailure("TagResource");
  return {};
}

// UntagResource: https://docs.aws.amazon.com/kms/latest/APIReference/API_UntagResource.html
// Removing a tag key the key does not have is not an error (as in AWS).
Result<void> UntagResource(OpContext& ctx, const JsonIn& in, JsonOut& /*out*/) {
  KMS_ASSIGN_OR_RETURN(std::string_view key_ref, in.RequiredString("KeyId"));
  const std::vector<std::string_view> tag_keys = in.OptionalStringList("TagKeys");

  auto writer = ctx.registry.BeginWrite();
  KMS_ASSIGN_OR_RETURN(KeyPtr key, ResolveKey(ctx, key_ref, KeyRefForms::kKeyIdOrArn));
  KMS_TRY(RequireCustomerManaged(ctx, *key, "UntagResource"));
  KMS_TRY(RequireNotPendingDeletion(ctx, *key));

  storage::KeyRecord updated = *key;
  std::erase_if(updated.tags, [&tag_keys](const storage::Tag& t) {
    return std::find(tag_keys.begin(), tag_keys.end(), t.key) != tag_keys.end();
  });
  if (updated.tags.size() == key->tags.size()) return {};  // nothing to remove
  if (!writer.UpdateKey(std::move(updated))) return StorageFailure("UntagResource");
  return {};
}

// ListResourceTags: https://docs.aws.amazon.com/kms/latest/APIReference/API_ListResourceTags.html
// Allowed in every key state. Tags come in the order they were first added.
Result<void> ListResourceTags(OpContext& ctx, const JsonIn& in, JsonOut& out) {
  KMS_ASSIGN_OR_RETURN(std::string_view key_ref, in.RequiredString("KeyId"));
  const std::int64_t limit = std::min(in.OptionalInt("Limit").value_or(kMaxTagPage), kMaxTagPage);
  std::size_t begin = 0;
  if (auto marker = in.OptionalString("Marker")) {
    KMS_ASSIGN_OR_RETURN(begin, ParseMarker(*marker));
  }

  KMS_ASSIGN_OR_RETURN(KeyPtr key, ResolveKey(ctx, key_ref, KeyRefForms::kKeyIdOrArn));
  const std::vector<storage::Tag>& tags = key->tags;
  begin = std::min(begin, tags.size());
  const std::size_t end =
      std::min(tags.size(), begin + static_cast<std::size_t>(std::max<std::int64_t>(limit, 1)));

  out.Key("Tags");
  out.StartArray();
  for (std::size_t i = begin; i < end; ++i) {
    out.StartObject();
    out.String("TagKey", tags[i].key);
    out.String("TagValue", tags[i].value);
    out.EndObject();
  }
  out.EndArray();
  const bool truncated = end < tags.size();
  if (truncated) out.String("NextMarker", std::to_string(end));
  out.Bool("Truncated", truncated);
  return {};
}

}  // namespace kms::ops
