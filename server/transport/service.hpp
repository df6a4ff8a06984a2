// File: service.hpp
//
// Service: what the transport hands each request to, and all it knows of what lies above it.
// The transport (this folder: listener, sessions, the server's threads) reads, bounds and
// writes HTTP; a Service decides what to answer. kmsd's one Service is KmsService
// (server/service/kms_service.hpp): the KMS API, the /_kmsd admin endpoints, and waiting
// until the changes a reply depends on are durable.
//
//   Reply reply = service.Answer(request, request_id);      // on an io thread, or off it
//   if (!reply.wait) write(reply);                          // the usual case
//   else service.WhenReady(std::move(reply), request_id, [](Reply&& r) { post(write(r)); });
//
// Errors: Answer and Refuse never fail; every problem is an error reply of the service's
// protocol. A throw out of Answer is a bug the transport turns into Refuse(kInternal).
//
// Thread-safety: every member may be called from any thread, concurrently.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "server/transport/request_parser.hpp"

namespace kms::transport {

// A reply as the transport writes it: the status, a body the service built, the error type
// (X-Amzn-Errortype; empty on success) and the operation's name for the access log.
struct Reply {
  unsigned status = 200;
  std::string body;
  std::string_view error_type;  // static storage: a name from the service's error table
  std::string_view operation;   // static storage; empty if unknown
  // Opaque to the transport: when set, the reply may go out only once the service says so
  // (WhenReady). The service sets it when the reply depends on work not yet finished (for
  // kmsd: changes not yet durable).
  struct Wait {
    std::uint64_t first = 0;
    std::uint64_t last = 0;
  };
  bool must_wait = false;
  Wait wait;
};

// Why the transport refused a request before the service saw it. The transport words the
// detail ("Request body exceeds the limit of 1048576 bytes"); the service gives it its
// protocol's shape (status, error type).
enum class Refusal {
  kBodyTooLarge,        // the decoded body is over its limit
  kHeadersTooLarge,     // request line, fields, chunk-size lines and trailers over theirs
  kMalformed,           // not HTTP/1.1 the transport will frame (bad chunking, two Hosts)
  kTooManyConnections,  // every connection slot is taken
  kInternal,            // a bug: reading or answering the request threw
};

class Service {
 public:
  using ReadyCallback = std::function<void(Reply&& reply)>;

  virtual ~Service() = default;

  // True when answering `request` may take long (it generates an RSA key pair, say): the
  // transport then calls Answer on a thread of its own, so the other connections of the io
  // thread are not held up. Cheap: no parsing. Erring towards true only costs a thread hop.
  virtual bool MayBlock(const HttpRequest& request) const = 0;
  // The reply to a complete request. `request_id` is the id the response carries.
  virtual Reply Answer(const HttpRequest& request, std::string_view request_id) = 0;
  // The reply to a request the transport refused; `detail` says why, in words for the client.
  virtual Reply Refuse(Refusal refusal, std::string detail, std::string_view request_id) = 0;
  // Calls `ready` once `reply` (with must_wait set) may be sent, with what to send: `reply`
  // itself, or an error reply if the work it waited for failed. At once on the calling thread
  // if it already may; otherwise later on another thread, so `ready` must only hand the reply
  // over (post it to the connection's executor).
  virtual void WhenReady(Reply&& reply, std::string_view request_id, ReadyCallback ready) = 0;
  // Blocks until every WhenReady callback has run and released what it held. The transport
  // calls it before it destroys the executors those callbacks post to.
  virtual void Quiesce() = 0;
};

}  // namespace kms::transport
