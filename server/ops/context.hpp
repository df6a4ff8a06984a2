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
  std::string KeyArn(std::string_view key_id) const {
    return ArnPrefix() + "key/" + std::string(key_id);
  }
  // arn:aws:kms:<region>:<account>:alias/<name without "alias/">
  std::string AliasArn(std::string_view alias_name) const {
    return ArnPrefix() + std::string(alias_name);
  }
  std::string ArnPrefix() const {
    return "arn:aws:kms:" + scope.region + ":" + scope.account + ":";
  }
};

}  // namespace kms::ops
