#include "server/protocol/dispatch.hpp"

#include "base/fault_injection.hpp"
#include "base/log.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>

#include <rapidjson/document.h>

#include "server/ops/grant_token.hpp"
#include "server/protocol/validation.hpp"

namespace kms::server {
namespace {

constexpr std::string_view kTargetPrefix = "TrentService.";

// A rapidjson::Document whose parse stacks also come from a memory pool (see Handle). Its
// values are plain rapidjson::Values.
using RequestDocument =
    rapidjson::GenericDocument<rapidjson::UTF8<>, rapidjson::MemoryPoolAllocator<>,
                               rapidjson::MemoryPoolAllocator<>>;

// OpEntry::may_block for the handlers that generate a key pair (or use an RSA private key to
// unwrap imported material) on every request.
bool Always(std::string_view /*body*/) { return true; }

// OpEntry::may_block for CreateKey: a key pair is generated only for an asymmetric KeySpec
// (or the deprecated CustomerMasterKeySpec, which contains the same text). A body without
// the text "KeySpec", and without a backslash (an escape could spell the member name),
// creates a symmetric key, a few microseconds of work best done on the io thread: a thread
// hop costs more than that (two context switches on a busy core).
bool CreateKeyMayBlock(std::string_view body) {
  return body.find("KeySpec") != std::string_view::npos ||
         body.find('\\') != std::string_view::npos;
}

// Sorted by name; lookup uses std::lower_bound. dispatch_test.cpp checks the order and that
// the names are exactly those of tests/data/kms_operations.txt.
constexpr std::array kOps = {
    OpEntry{"CancelKeyDeletion", &ops::CancelKeyDeletion},
    OpEntry{"ConnectCustomKeyStore", &ops::ConnectCustomKeyStore},
    OpEntry{"CreateAlias", &ops::CreateAlias},
    OpEntry{"CreateCustomKeyStore", &ops::CreateCustomKeyStore},
    OpEntry{"CreateGrant", &ops::CreateGrant},
    OpEntry{"CreateKey", &ops::CreateKey, &CreateKeyMayBlock},
    OpEntry{"Decrypt", &ops::Decrypt},
    OpEntry{"DeleteAlias", &ops::DeleteAlias},
    OpEntry{"DeleteCustomKeyStore", &ops::DeleteCustomKeyStore},
    OpEntry{"DeleteImportedKeyMaterial", &ops::DeleteImportedKeyMaterial},
    OpEntry{"DeriveSharedSecret", &ops::DeriveSharedSecret},
    OpEntry{"DescribeCustomKeyStores", &ops::DescribeCustomKeyStores},
    OpEntry{"DescribeKey", &ops::DescribeKey},
    OpEntry{"DisableKey", &ops::DisableKey},
    OpEntry{"DisableKeyRotation", &ops::DisableKeyRotation},
    OpEntry{"DisconnectCustomKeyStore", &ops::DisconnectCustomKeyStore},
    OpEntry{"EnableKey", &ops::EnableKey},
    OpEntry{"EnableKeyRotation", &ops::EnableKeyRotation},
    OpEntry{"Encrypt", &ops::Encrypt},
    OpEntry{"GenerateDataKey", &ops::GenerateDataKey},
    OpEntry{"GenerateDataKeyPair", &ops::GenerateDataKeyPair, &Always},
    OpEntry{"GenerateDataKeyPairWithoutPlaintext", &ops::GenerateDataKeyPairWithoutPlaintext,
            &Always},
    OpEntry{"GenerateDataKeyWithoutPlaintext", &ops::GenerateDataKeyWithoutPlaintext},
    OpEntry{"GenerateMac", &ops::GenerateMac},
    OpEntry{"GenerateRandom", &ops::GenerateRandom},
    OpEntry{"GetKeyLastUsage", &ops::GetKeyLastUsage},
    OpEntry{"GetKeyPolicy", &ops::GetKeyPolicy},
    OpEntry{"GetKeyRotationStatus", &ops::GetKeyRotationStatus},
    OpEntry{"GetParametersForImport", &ops::GetParametersForImport, &Always},
    OpEntry{"GetPublicKey", &ops::GetPublicKey},
    OpEntry{"ImportKeyMaterial", &ops::ImportKeyMaterial, &Always},
    OpEntry{"ListAliases", &ops::ListAliases},
    OpEntry{"ListGrants", &ops::ListGrants},
    OpEntry{"ListKeyPolicies", &ops::ListKeyPolicies},
    OpEntry{"ListKeyRotations", &ops::ListKeyRotations},
    OpEntry{"ListKeys", &ops::ListKeys},
    OpEntry{"ListResourceTags", &ops::ListResourceTags},
    OpEntry{"ListRetirableGrants", &ops::ListRetirableGrants},
    OpEntry{"PutKeyPolicy", &ops::PutKeyPolicy},
    OpEntry{"ReEncrypt", &ops::ReEncrypt},
    OpEntry{"ReplicateKey", &ops::ReplicateKey},
    OpEntry{"RetireGrant", &ops::RetireGrant},
    OpEntry{"RevokeGrant", &ops::RevokeGrant},
    OpEntry{"RotateKeyOnDemand", &ops::RotateKeyOnDemand},
    OpEntry{"ScheduleKeyDeletion", &ops::ScheduleKeyDeletion},
    OpEntry{"Sign", &ops::Sign},
    OpEntry{"TagResource", &ops::TagResource},
    OpEntry{"UntagResource", &ops::UntagResource},
    OpEntry{"UpdateAlias", &ops::UpdateAlias},
    OpEntry{"UpdateCustomKeyStore", &ops::UpdateCustomKeyStore},
    OpEntry{"UpdateKeyDescription", &ops::UpdateKeyDescription},
    OpEntry{"UpdatePrimaryRegion", &ops::UpdatePrimaryRegion},
    OpEntry{"Verify", &ops::Verify},
    OpEntry{"VerifyMac", &ops::VerifyMac},
};

// Every row has a handler (issue 19): dispatch_test.cpp's [coverage] case checks it and calls
// every operation. (Not a static_assert: comparing a function's address with nullptr is not a
// constant expression under GCC's sanitizer builds.)

// GetKeyLastUsage's KeyLastUsageTrackingOperation, sorted; dispatch_test.cpp checks it against
// the model. A table, so that the request path asks one array, not a chain of comparisons.
constexpr std::array<std::string_view, 12> kUsageTrackedOps = {
    "Decrypt",
    "DeriveSharedSecret",
    "Encrypt",
    "GenerateDataKey",
    "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext",
    "GenerateDataKeyWithoutPlaintext",
    "GenerateMac",
    "ReEncrypt",
    "Sign",
    "Verify",
    "VerifyMac",
};

// kTracksUsage[i]: whether kOps[i] is in kUsageTrackedOps.
constexpr std::array<bool, kOps.size()> kTracksUsage = [] {
  std::array<bool, kOps.size()> tracked{};
  for (std::size_t i = 0; i < kOps.size(); ++i) {
    tracked[i] = std::binary_search(kUsageTrackedOps.begin(), kUsageTrackedOps.end(), kOps[i].name);
  }
  return tracked;
}();
static_assert(std::is_sorted(kUsageTrackedOps.begin(), kUsageTrackedOps.end()));
static_assert(std::count(kTracksUsage.begin(), kTracksUsage.end(), true) ==
                  static_cast<std::ptrdiff_t>(kUsageTrackedOps.size()),
              "every tracked operation has a row in kOps");

const OpEntry* FindOp(std::string_view name) {
  auto it = std::lower_bound(kOps.begin(), kOps.end(), name,
                             [](const OpEntry& e, std::string_view n) { return e.name < n; });
  if (it == kOps.end() || it->name != name) return nullptr;
  return &*it;
}

// The row of the operation an X-Amz-Target ("TrentService.<Operation>") names, or nullptr.
const OpEntry* FindTarget(std::string_view target) {
  if (!target.starts_with(kTargetPrefix)) return nullptr;
  return FindOp(target.substr(kTargetPrefix.size()));
}

// The operation an X-Amz-Target names (a view into the static table), or empty.
std::string_view OperationName(std::string_view target) {
  const OpEntry* op = FindTarget(target);
  return op == nullptr ? std::string_view() : op->name;
}

Reply Error(const KmsError& error, std::string_view operation, std::string_view request_id) {
  Reply reply = Dispatcher::ErrorReply(error, request_id);
  reply.operation = operation;
  return reply;
}

}  // namespace

std::span<const OpEntry> OperationTable() { return kOps; }

std::span<const std::string_view> UsageTrackedOperations() { return kUsageTrackedOps; }

std::string_view RegionFromAuthorization(std::string_view authorization) {
  constexpr std::string_view kCredential = "Credential=";
  auto pos = authorization.find(kCredential);
  if (pos == std::string_view::npos) return {};
  std::string_view scope = authorization.substr(pos + kCredential.size());
  scope = scope.substr(0, scope.find_first_of(", "));
  // AKID/DATE/REGION/SERVICE/aws4_request
  for (int skip = 0; skip < 2; ++skip) {
    auto slash = scope.find('/');
    if (slash == std::string_view::npos) return {};
    scope.remove_prefix(slash + 1);
  }
  std::string_view region = scope.substr(0, scope.find('/'));
  if (region.empty() || region.size() > 32) return {};
  for (char c : region) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok) return {};
  }
  return region;
}

Dispatcher::Dispatcher(storage::Registry& registry, storage::KeyUsageTracker& key_usage,
                       const Clock& clock, const config::Config& config)
    : registry_(registry), key_usage_(key_usage), clock_(clock), config_(config) {}

bool Dispatcher::MayBlock(std::string_view target, std::string_view body) {
  const OpEntry* op = FindTarget(target);
  return op != nullptr && op->may_block != nullptr && op->may_block(body);
}

Reply Dispatcher::ErrorReply(const KmsError& error, std::string_view request_id) {
  JsonOut out;
  out.String("__type", error.Type());
  if (error.code == ErrorCode::kInternal) {
    // AWS's KMSInternalException text is not known; this one is kmsd's.
    Log(LogLevel::kError, "request " + std::string(request_id) + " failed: " + error.message);
    out.String("message",
               "kmsd could not complete the request because of an internal error; "
               "its log has the details under request id " +
                   std::string(request_id) + ".");
  } else if (!error.message.empty()) {
    out.String("message", error.message);
  }
  return Reply{error.HttpStatus(), out.Finish(), error.Type(), {}, {}};
}

Reply Dispatcher::CommitFailedReply(const Reply& reply, const storage::Error& failure,
                                    std::string_view request_id) {
  Reply failed = ErrorReply(
      KmsError::Internal("a change this request made or depended on could not be stored, and "
                         "was undone: " +
                         failure.message),
      request_id);
  failed.operation = reply.operation;
  return failed;
}

Reply Dispatcher::Handle(std::string_view target, std::string_view authorization,
                         std::string_view body, std::string_view request_id) const {
  // The registry changes the handler can see lie between these two points.
  const storage::Registry::Seq begin = registry_.LastChange();
  Reply reply;
  // The catch block: a throw is a bug, never a normal error; whichever stage threw (parsing,
  // validation, the handler), the client gets a 500 and the connection stays up.
  try {
    reply = Run(target, authorization, body, request_id);
  } catch (const std::exception& e) {
    reply = Error(KmsError::Internal(std::string("uncaught exception: ") + e.what()),
                  OperationName(target), request_id);
  } catch (...) {
    reply = Error(KmsError::Internal("uncaught exception"), OperationName(target), request_id);
  }
  reply.ticket = {begin, registry_.LastChange()};
  return reply;
}

Reply Dispatcher::Run(std::string_view target, std::string_view authorization,
                      std::string_view body, std::string_view request_id) const {
  const OpEntry* op = FindTarget(target);
  if (op == nullptr) return Error({ErrorCode::kUnknownOperation, {}}, {}, request_id);

  // Requests are small: parse into per-thread buffers, so the common request allocates
  // nothing, neither for its DOM (RapidJSON's default pool starts with a 64 KiB heap chunk)
  // nor for the parser's working stacks (by default a `new` and two mallocs per parse).
  // Larger bodies spill into heap chunks that the pools free when they go out of scope.
  // The buffers come from the heap on a thread's first request, uninitialised: as
  // thread_local arrays they would sit in every thread's TLS block, which pthread_create
  // zeroes, so each thread kmsd starts (committer, OpenSSL set-up, ...) would fault in six
  // pages it never uses, on the start-up path (a page fault costs ~10 us on a VM).
  struct ParseBuffers {
    alignas(std::max_align_t) char dom[16 * 1024];
    alignas(std::max_align_t) char stack[8 * 1024];
  };
  thread_local const std::unique_ptr<ParseBuffers> buffers(new ParseBuffers);
  rapidjson::MemoryPoolAllocator<> pool(buffers->dom, sizeof buffers->dom);
  rapidjson::MemoryPoolAllocator<> stack_pool(buffers->stack, sizeof buffers->stack);
  RequestDocument doc(&pool, /*stackCapacity=*/1024, &stack_pool);
  if (auto parsed = ParseRequestBody(body, doc); !parsed) {
    return Error(parsed.error(), op->name, request_id);
  }
  fault::Point(fault::Stage::kValidate);
  RequestCheck check = CheckRequest(op->name, doc);
  switch (check.kind) {
    case RequestCheck::Kind::kOk:
      break;
    case RequestCheck::Kind::kUnknownOperation:
      return Error({ErrorCode::kUnknownOperation, {}}, op->name, request_id);
    case RequestCheck::Kind::kSerialization:
      return Error(KmsError::Serialization(std::move(check.message)), op->name, request_id);
    case RequestCheck::Kind::kValidation:
      return Error(KmsError::Validation(std::move(check.message)), op->name, request_id);
  }

  std::string_view region = RegionFromAuthorization(authorization);
  ops::OpContext ctx{
      registry_,
      clock_,
      config_,
      storage::Scope{config_.account_id, region.empty() ? config_.region : std::string(region)},
      request_id,
      &key_usage_};
  JsonIn in(doc);
  // GrantTokens, for every operation whose model has the member, in this one place: each token
  // must be one CreateGrant could have returned (ops/grant_token.hpp), else
  // InvalidGrantTokenException. It runs before the handler, so a malformed token is reported
  // before the handler's own checks (a choice: AWS's order is unknown).
  if (in.Has("GrantTokens") && InputHasMember(op->name, "GrantTokens")) {
    if (auto tokens = ops::CheckGrantTokens(in); !tokens) {
      return Error(tokens.error(), op->name, request_id);
    }
  }
  JsonOut out;
  fault::Point(fault::Stage::kHandler);
  Result<void> result = op->fn(ctx, in, out);
  if (!result) return Error(result.error(), op->name, request_id);
  if (kTracksUsage[static_cast<std::size_t>(op - kOps.data())] && ctx.used_keys.size() > 0) {
    const std::int64_t now = ctx.Now();
    for (std::size_t i = 0; i < ctx.used_keys.size(); ++i) {
      key_usage_.Record(ctx.scope, ctx.used_keys[i], op->name, now, request_id);
    }
  }
  return Reply{200, out.Finish(), {}, op->name, {}};
}

}  // namespace kms::server
