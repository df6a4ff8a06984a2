// File: kms_service.hpp
//
// KmsService: kmsd's answer to every HTTP request the transport reads (transport::Service).
// It routes a request to one of three places:
//
//   GET|HEAD /_kmsd/health   status, version, uptime, key count
//   POST /_kmsd/reset        forgets every key and alias, and their last usage
//                            (WebGuard::CheckAdminWrite first)
//   POST (anything else)     the KMS API: the Dispatcher (protocol/dispatch.hpp) by X-Amz-Target
//
// after WebGuard's Host check (web_guard.hpp), and it holds a reply back until the registry
// changes it depends on are durable: Answer() sets Reply::must_wait when they are not yet,
// and WhenReady() calls back once they are, or with KMSInternalException if their commit
// failed. Transport refusals (413, 431, 400, 503, internal) become AWS-shaped errors here.
//
// Layers: transport (server/transport) -> this service -> protocol (server/protocol: JSON,
// validation, dispatch) -> operations (server/ops) -> storage/ and crypto/.
//
// Thread-safety: every member may be called from any thread (transport::Service).
#pragma once

#include "base/clock.hpp"

#include <chrono>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "server/protocol/dispatch.hpp"
#include "server/service/web_guard.hpp"
#include "server/transport/service.hpp"
#include "storage/key_usage_tracker.hpp"
#include "storage/registry.hpp"

namespace kms::server {

class KmsService final : public transport::Service {
 public:
  // REQUIRES: `registry`, `key_usage`, `clock` and `config` outlive the service.
  KmsService(storage::Registry& registry, storage::KeyUsageTracker& key_usage, const Clock& clock,
             const config::Config& config);

  bool MayBlock(const transport::HttpRequest& request) const override;
  transport::Reply Answer(const transport::HttpRequest& request,
                          std::string_view request_id) override;
  transport::Reply Refuse(transport::Refusal refusal, std::string detail,
                          std::string_view request_id) override;
  void WhenReady(transport::Reply&& reply, std::string_view request_id,
                 ReadyCallback ready) override;
  void Quiesce() override;

 private:
  // The protocol's reply, before the durability check.
  Reply Route(const transport::HttpRequest& request, std::string_view request_id);
  // `reply` for the transport: must_wait set if its ticket is not durable yet.
  transport::Reply ToTransport(Reply&& reply) const;

  storage::Registry& registry_;
  storage::KeyUsageTracker& key_usage_;
  const Dispatcher dispatcher_;
  const WebGuard web_guard_;
  const std::chrono::steady_clock::time_point started_;
};

}  // namespace kms::server
