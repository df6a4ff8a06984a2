// File: key_usage.cpp
//
// GetKeyLastUsage: what the KeyUsageTracker (storage/key_usage_tracker.hpp) holds for a key.
// The uses themselves are recorded by the dispatcher (protocol/dispatch.hpp) after each
// successful cryptographic operation, for every key the operation passed through
// RequireEnabled (key_lookup.hpp); this file only reads them.
//
// Thread-safety: the handler only reads the registry and the tracker.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "crypto/bytes.hpp"
#include "crypto/digest.hpp"
#include "server/ops/key_lookup.hpp"
#include "server/ops/ops.hpp"
#include "storage/key_usage_tracker.hpp"
#include "storage/records.hpp"

namespace kms::ops {
namespace {

// The CloudTrail eventId of the request `request_id`. kmsd writes no CloudTrail, so the id is
// derived from the request id (a UUID shaped like AWS's event ids: version 4, RFC 4122
// variant), which is stored with the use: the same use shows the same id, across restarts too.
std::string CloudTrailEventId(std::string_view request_id) {
  const std::string name = "kmsd CloudTrail eventId of request " + std::string(request_id);
  crypto::Bytes digest = crypto::Sha256(crypto::AsBytes(name));
  digest.resize(16);
  digest[6] = static_cast<std::uint8_t>((digest[6] & 0x0f) | 0x40);
  digest[8] = static_cast<std::uint8_t>((digest[8] & 0x3f) | 0x80);
  const std::string hex = crypto::HexEncode(digest);
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20);
}

}  // namespace

// GetKeyLastUsage: https://docs.aws.amazon.com/kms/latest/APIReference/API_GetKeyLastUsage.html
// KeyId is a key id or key ARN ("Alias names are not supported", as the model says); a key in
// any state answers, until its deletion date has passed. KeyLastUsage is an empty object while
// the key has no recorded use (the API reference calls the element "empty" and each of its
// members "absent" then); the response's KeyId is the key id. Uses count once their operation
// has succeeded: DryRun, a failed check or a failed verification records nothing. ReEncrypt
// records a use of both keys; each key of a multi-Region set (each region) tracks its own.
// Deviation: uses are stored in batches, once a second and at shutdown: after a crash
// (SIGKILL, power loss) a key may show a use up to a second older than its last one.
// Deviation: TrackingStartDate is always the key's creation date. For keys created by a kmsd
// that predates GetKeyLastUsage, uses made before the upgrade are unknown, yet the date does
// not say so (AWS would give the date tracking began).
// Deviation: CloudTrailEventId is derived from the request id (kmsd writes no CloudTrail).
Result<void> GetKeyLastUsage(OpContext& ctx, const JsonIn& in, JsonOut& out) {
  KMS_ASSIGN_OR_RETURN(std::string_view key_ref, in.RequiredString("KeyId"));
  KMS_ASSIGN_OR_RETURN(KeyPtr key, ResolveKey(ctx, key_ref, KeyRefForms::kKeyIdOrArn));
  if (ctx.key_usage == nullptr) return KmsError::Internal("GetKeyLastUsage: no usage tracker");

  std::optional<storage::KeyUsageRecord> last = ctx.key_usage->Find(ctx.scope, key->key_id);
  // A use from before the key was created belongs to an earlier key of the same id in this
  // region (a replica deleted and replicated again): not this key's.
  if (last && last->used_at < key->creation_date) last.reset();

  out.String("KeyId", key->key_id);
  out.Key("KeyLastUsage");
  out.StartObject();
  if (last) {
    out.String("Operation", last->operation);
    out.Timestamp("Timestamp", last->used_at);
    out.String("CloudTrailEventId", CloudTrailEventId(last->request_id));
    out.String("KmsRequestId", last->request_id);
  }
  out.EndObject();
  out.Timestamp("TrackingStartDate", key->creation_date);
  out.Timestamp("KeyCreationDate", key->creation_date);
  return {};
}

}  // namespace kms::ops
