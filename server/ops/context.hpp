// File: context.hpp
//
// OpContext: what every operation handler gets besides its JSON input and output.
//
// Thread-safety: one per request; the referenced registry, clock and config are shared
// and thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "config/config.hpp"
#include "server/clock.hpp"
#include "storage/records.hpp"
#include "storage/registry.hpp"

namespace kms::ops {

struct OpContext {
  storage::Registry& registry;
  const server::Clock& clock;
  const config::Config& config;
  storage::Scope scope;  // the caller's account and region
  std::string_view request_id;

  std::int64_t Now() const { return clock.NowSeconds(); }

  // arn:aws:kms:<region>:<account>:key/<key_id>
  std::string KeyArn(std::string_view key_id) const { return Arn("key/", key_id); }
  // arn:aws:kms:<region>:<account>:alias/<name without "alias/">
  std::string AliasArn(std::string_view alias_name) const { return Arn({}, alias_name); }
  std::string ArnPrefix() const { return Arn({}, {}); }

 private:
  // ArnPrefix() + kind + name, built with one allocation (every hot-path response has one).
  std::string Arn(std::string_view kind, std::string_view name) const {
    constexpr std::string_view kHead = "arn:aws:kms:";
    std::string arn;
    arn.reserve(kHead.size() + scope.region.size() + scope.account.size() + 2 + kind.size() +
                name.size());
    arn.append(kHead).append(scope.region).append(":").append(scope.account).append(":");
    arn.append(kind).append(name);
    return arn;
  }
};

}  // namespace kms::ops
