// File: dispatch.hpp
//
// Dispatcher: one AWS JSON 1.1 request in, one response out. Never fails: every problem
// becomes an AWS-shaped error response, a throw anywhere in parsing, validation or the
// handler included (KMSInternalException; the catch block is Handle()'s).
//
// Thread-safety: Handle() may be called from many threads at once.
#pragma once

#include "base/clock.hpp"

#include <span>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "server/ops/ops.hpp"
#include "storage/key_usage_tracker.hpp"
#include "storage/registry.hpp"

namespace kms::server {

struct OpEntry {
  std::string_view name;
  ops::Handler fn;  // never nullptr: every operation of the model has a handler
  // Whether the handler may run for long on this request body: it can generate a key pair
  // (an RSA_4096 key takes a second or more). The transport runs such requests off its io
  // thread (Dispatcher::MayBlock, through KmsService::MayBlock). nullptr: never. A cheap look at
  // the raw body; erring towards true only costs a thread hop.
  bool (*may_block)(std::string_view body) = nullptr;
};

// All 54 operations of the KMS model, sorted by name.
std::span<const OpEntry> OperationTable();

// The operations whose successful use of a key GetKeyLastUsage reports (the model's
// KeyLastUsageTrackingOperation), sorted by name.
std::span<const std::string_view> UsageTrackedOperations();

struct Reply {
  unsigned status = 200;
  std::string body;
  std::string_view error_type;  // empty on success; else the __type (also X-Amzn-Errortype)
  std::string_view operation;   // for the access log; empty if unknown
  // The registry changes this reply may depend on. The reply must not be sent before the
  // ticket is durable; if it fails, CommitFailedReply() is sent instead (registry.hpp).
  storage::Registry::Ticket ticket;
};

// The region named by a SigV4 Authorization header's credential scope
// (Credential=AKID/DATE/REGION/kms/aws4_request), or empty.
std::string_view RegionFromAuthorization(std::string_view authorization);

// Key usage: when an operation of UsageTrackedOperations() succeeds, Handle() records each key
// it worked with (OpContext::used_keys) in the KeyUsageTracker, with the request's id and the
// clock's time. A failed request records nothing. Memory only (key_usage_tracker.hpp).
class Dispatcher {
 public:
  // REQUIRES: every argument outlives the dispatcher.
  Dispatcher(storage::Registry& registry, storage::KeyUsageTracker& key_usage, const Clock& clock,
             const config::Config& config);

  // `target` is the X-Amz-Target header, `authorization` the Authorization header.
  Reply Handle(std::string_view target, std::string_view authorization, std::string_view body,
               std::string_view request_id) const;

  // True when the operation named by an X-Amz-Target header may block on this request body
  // (OpEntry::may_block). Cheap: a lookup in the sorted table and a scan of the raw body, no
  // JSON parsing.
  static bool MayBlock(std::string_view target, std::string_view body);

  // An error reply in the protocol's shape; used by KmsService for transport-level
  // rejections (body too large) too. A KMSInternalException's detail (error.message) goes to
  // the log under `request_id`, and the client gets a generic text naming the request id:
  // nothing internal (SQL, file paths, function names, OpenSSL strings) reaches a client.
  static Reply ErrorReply(const KmsError& error, std::string_view request_id);
  // What replaces `reply` when a change it depends on could not be stored (its ticket failed):
  // KMSInternalException, the failure logged under `request_id`.
  static Reply CommitFailedReply(const Reply& reply, const storage::Error& failure,
                                 std::string_view request_id);

 private:
  // Handle() without the ticket.
  Reply Run(std::string_view target, std::string_view authorization, std::string_view body,
            std::string_view request_id) const;

  storage::Registry& registry_;
  storage::KeyUsageTracker& key_usage_;
  const Clock& clock_;
  const config::Config& config_;
};

}  // namespace kms::server
