#include "server/service/kms_service.hpp"

#include <cstdint>
#include <optional>
#include <utility>

#include <boost/beast/http/verb.hpp>

#include "server/protocol/json_io.hpp"

namespace kms::server {

namespace http = boost::beast::http;

KmsService::KmsService(storage::Registry& registry, storage::KeyUsageTracker& key_usage,
                       const Clock& clock, const config::Config& config)
    : registry_(registry),
      key_usage_(key_usage),
      dispatcher_(registry, key_usage, clock, config),
      web_guard_(config),
      started_(std::chrono::steady_clock::now()) {}

bool KmsService::MayBlock(const transport::HttpRequest& request) const {
  return request.method == http::verb::post &&
         Dispatcher::MayBlock(request.amz_target, request.body);
}

transport::Reply KmsService::Answer(const transport::HttpRequest& request,
                                    std::string_view request_id) {
  return ToTransport(Route(request, request_id));
}

Reply KmsService::Route(const transport::HttpRequest& request, std::string_view request_id) {
  if (auto refused = web_guard_.CheckHost(request)) {
    return Dispatcher::ErrorReply(*refused, request_id);
  }
  const std::string_view target = request.target;
  const http::verb method = request.method;
  if (target == "/_kmsd/health" && (method == http::verb::get || method == http::verb::head)) {
    const auto uptime = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::steady_clock::now() - started_)
                            .count();
    JsonOut out;
    out.String("status", "ok");
    out.String("version", KMSD_VERSION);
    out.Int("uptimeSeconds", uptime);
    out.Int("keys", static_cast<std::int64_t>(registry_.KeyCount()));
    return Reply{200, out.Finish(), {}, "health", {}};
  }
  if (target == "/_kmsd/reset" && method == http::verb::post) {
    if (auto refused = web_guard_.CheckAdminWrite(request)) {
      Reply reply = Dispatcher::ErrorReply(*refused, request_id);
      reply.operation = "reset";
      return reply;
    }
    const storage::Registry::Seq first = registry_.LastChange();
    (void)registry_.BeginWrite().Reset();  // never fails in memory; its commit may
    key_usage_.Clear();  // a use recorded in between is dropped by the next flush (no key)
    JsonOut out;
    out.String("status", "reset");
    return Reply{200, out.Finish(), {}, "reset", {first, registry_.LastChange()}};
  }
  if (method == http::verb::post) {
    return dispatcher_.Handle(request.amz_target, request.authorization, request.body, request_id);
  }
  return Dispatcher::ErrorReply({ErrorCode::kUnknownOperation, {}}, request_id);
}

transport::Reply KmsService::Refuse(transport::Refusal refusal, std::string detail,
                                    std::string_view request_id) {
  using transport::Refusal;
  KmsError error{ErrorCode::kInternal, std::move(detail)};
  switch (refusal) {
    case Refusal::kBodyTooLarge:
      error.code = ErrorCode::kRequestEntityTooLarge;
      break;
    case Refusal::kHeadersTooLarge:
      error.code = ErrorCode::kRequestHeaderFieldsTooLarge;
      break;
    case Refusal::kMalformed:
      error.code = ErrorCode::kSerialization;
      break;
    case Refusal::kTooManyConnections:
      error.code = ErrorCode::kThrottling;
      break;
    case Refusal::kInternal:
      break;
  }
  return ToTransport(Dispatcher::ErrorReply(error, request_id));
}

transport::Reply KmsService::ToTransport(Reply&& reply) const {
  transport::Reply out;
  out.status = reply.status;
  out.body = std::move(reply.body);
  out.error_type = reply.error_type;
  out.operation = reply.operation;
  if (!registry_.IsDurable(reply.ticket)) {
    out.must_wait = true;
    out.wait = {reply.ticket.begin, reply.ticket.end};
  }
  return out;
}

void KmsService::WhenReady(transport::Reply&& reply, std::string_view request_id,
                           ReadyCallback ready) {
  const storage::Registry::Ticket ticket{reply.wait.first, reply.wait.last};
  // Runs at once or on the committer thread: it only builds the reply and hands it over.
  registry_.WhenDurable(
      ticket, [this, reply = std::move(reply), id = std::string(request_id),
               ready = std::move(ready)](const std::optional<storage::Error>& failure) mutable {
        reply.must_wait = false;
        if (failure) {
          // The protocol's failure reply, converted as every other reply is (its empty ticket
          // is durable, so must_wait stays false).
          Reply waited;
          waited.operation = reply.operation;
          reply = ToTransport(Dispatcher::CommitFailedReply(waited, *failure, id));
        }
        // Moved out, so what `ready` holds (the connection) is released when it returns,
        // whenever the registry drops this callback.
        ReadyCallback deliver = std::move(ready);
        deliver(std::move(reply));
      });
}

void KmsService::Quiesce() { registry_.Quiesce(); }

}  // namespace kms::server
