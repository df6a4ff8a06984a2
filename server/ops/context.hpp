// File: context.hpp
//
// OpContext: what every operation handler gets besides its JSON input and output.
//
// Thread-safety: one per request; the referenced registry, usage tracker, clock and config
// are shared and thread-safe.
#pragma once

#include "base/clock.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "storage/key_usage_tracker.hpp"
#include "storage/records.hpp"
#include "storage/registry.hpp"

namespace kms::ops {

// The AWS partition `region` belongs to: "aws-cn" for cn-* (cn-north-1), "aws-us-gov" for
// us-gov-* (us-gov-west-1), otherwise "aws". The one place kmsd maps a region to a partition:
// the ARNs it writes and accepts and the default key policy's principal all go through it.
// (The isolated partitions, aws-iso* and aws-eusc, are not modelled: their regions read as
// "aws".)
constexpr std::string_view PartitionOf(std::string_view region) {
  if (region.starts_with("cn-")) return "aws-cn";
  if (region.starts_with("us-gov-")) return "aws-us-gov";
  return "aws";
}

// arn:<partition>:kms:<region>:<account>:key/<key_id> for a key of `scope`, which may be
// another region than the caller's (multi-region keys name their related keys this way).
inline std::string KeyArnOf(const storage::Scope& scope, std::string_view key_id) {
  std::string arn = "arn:";
  arn.append(PartitionOf(scope.region)).append(":kms:").append(scope.region).append(":");
  arn.append(scope.account).append(":key/").append(key_id);
  return arn;
}

// The keys a request's cryptographic work used, in the order first noted: at most two
// (ReEncrypt's source and destination), held inline so that noting one allocates nothing.
class UsedKeys {
 public:
  static constexpr std::size_t kMax = 2;
  static constexpr std::size_t kMaxIdLength = 36;  // a UUID, or "mrk-" and 32 hex digits

  // Adds `key_id` unless it is noted already. A third key, or an id longer than any kmsd
  // makes, is not noted.
  void Note(std::string_view key_id) {
    if (count_ == kMax || key_id.size() > kMaxIdLength) return;
    for (std::size_t i = 0; i < count_; ++i) {
      if ((*this)[i] == key_id) return;
    }
    key_id.copy(ids_[count_].data(), key_id.size());
    lengths_[count_] = static_cast<std::uint8_t>(key_id.size());
    ++count_;
  }
  std::size_t size() const { return count_; }
  std::string_view operator[](std::size_t i) const { return {ids_[i].data(), lengths_[i]}; }

 private:
  std::array<std::array<char, kMaxIdLength>, kMax> ids_;  // only the first lengths_[i] used
  std::array<std::uint8_t, kMax> lengths_{};
  std::size_t count_ = 0;
};

struct OpContext {
  storage::Registry& registry;
  const Clock& clock;
  const config::Config& config;
  storage::Scope scope;  // the caller's account and region
  std::string_view request_id;
  // The last use of each key (GetKeyLastUsage). Null only in a context a test builds by hand.
  storage::KeyUsageTracker* key_usage = nullptr;
  // Each key that passed RequireEnabled (key_lookup.hpp), the check every cryptographic
  // operation makes of every key it works with. Once an operation that GetKeyLastUsage tracks
  // has succeeded, the dispatcher records these keys in key_usage. Mutable: noting a key is
  // bookkeeping on the side of a check that otherwise only reads the context.
  mutable UsedKeys used_keys{};

  std::int64_t Now() const { return clock.NowSeconds(); }

  // The partition of the caller's region ("aws", "aws-cn", "aws-us-gov").
  std::string_view Partition() const { return PartitionOf(scope.region); }

  // arn:<partition>:kms:<region>:<account>:key/<key_id>
  std::string KeyArn(std::string_view key_id) const { return Arn("key/", key_id); }
  // arn:<partition>:kms:<region>:<account>:alias/<name without "alias/">
  std::string AliasArn(std::string_view alias_name) const { return Arn({}, alias_name); }
  std::string ArnPrefix() const { return Arn({}, {}); }

 private:
  // ArnPrefix() + kind + name, built with one allocation (every hot-path response has one).
  std::string Arn(std::string_view kind, std::string_view name) const {
    const std::string_view partition = Partition();
    std::string arn;
    arn.reserve(4 + partition.size() + 5 + scope.region.size() + 1 + scope.account.size() + 1 +
                kind.size() + name.size());
    arn.append("arn:").append(partition).append(":kms:").append(scope.region).append(":");
    arn.append(scope.account).append(":").append(kind).append(name);
    return arn;
  }
};

}  // namespace kms::ops
