// File: error.hpp
//
// KmsError: the one error type that reaches a client. Every rejection a client can
// trigger is a KmsError; the dispatcher turns it into an AWS JSON 1.1 error response
// (`__type`, optional `message`, HTTP status from the table in error.cpp).
//
// Thread-safety: plain values.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include <boost/assert/source_location.hpp>

namespace kms::server {

// One enumerator per AWS error code kmsd can send. error.cpp holds exactly one row per
// enumerator (error_test.cpp checks that).
enum class ErrorCode {
  // Modelled KMS exceptions.
  kAlreadyExists,
  kCloudHsmClusterInUse,
  kCloudHsmClusterInvalidConfiguration,
  kCloudHsmClusterNotActive,
  kCloudHsmClusterNotFound,
  kCloudHsmClusterNotRelated,
  kConflict,
  kCustomKeyStoreHasCmks,
  kCustomKeyStoreInvalidState,
  kCustomKeyStoreNameInUse,
  kCustomKeyStoreNotFound,
  kDependencyTimeout,
  kDisabled,
  kDryRunOperation,
  kExpiredImportToken,
  kIncorrectKey,
  kIncorrectKeyMaterial,
  kIncorrectTrustAnchor,
  kInvalidAliasName,
  kInvalidArn,
  kInvalidCiphertext,
  kInvalidGrantId,
  kInvalidGrantToken,
  kInvalidImportToken,
  kInvalidKeyUsage,
  kInvalidMarker,
  kInternal,
  kInvalidMac,
  kInvalidSignature,
  kInvalidState,
  kKeyUnavailable,
  kLimitExceeded,
  kMalformedPolicyDocument,
  kNotFound,
  kTag,
  kUnsupportedOperation,
  kXksKeyAlreadyInUse,
  kXksKeyInvalidConfiguration,
  kXksKeyNotFound,
  kXksProxyIncorrectAuthenticationCredential,
  kXksProxyInvalidConfiguration,
  kXksProxyInvalidResponse,
  kXksProxyUriEndpointInUse,
  kXksProxyUriInUse,
  kXksProxyUriUnreachable,
  kXksProxyVpcEndpointServiceInUse,
  kXksProxyVpcEndpointServiceInvalidConfiguration,
  kXksProxyVpcEndpointServiceNotFound,
  // Common AWS JSON-protocol errors that the KMS model does not list.
  kValidation,
  kSerialization,
  kUnknownOperation,
  kAccessDenied,
  kNotAuthorized,
  kRequestEntityTooLarge,
  kRequestHeaderFieldsTooLarge,  // request line, headers, chunk lines and trailers too large
  kThrottling,                   // kmsd already serves --max-connections clients
};

struct ErrorInfo {
  ErrorCode code;
  std::string_view type;  // the `__type` / X-Amzn-Errortype value
  unsigned http_status;
};

// The whole table, in enumerator order.
std::span<const ErrorInfo> ErrorTable();
const ErrorInfo& InfoOf(ErrorCode code);

struct KmsError {
  ErrorCode code = ErrorCode::kInternal;
  // May be empty: then the response has no `message` field. For kInternal it is the detail
  // for kmsd's log only: the client gets a generic text and the request id
  // (Dispatcher::ErrorReply), never a SQL statement, file path or OpenSSL string.
  std::string message;

  std::string_view Type() const { return InfoOf(code).type; }
  unsigned HttpStatus() const { return InfoOf(code).http_status; }

  // Named constructors for the common codes; KmsError{code, msg} works for the rest.
  static KmsError NotFound(std::string message) {
    return {ErrorCode::kNotFound, std::move(message)};
  }
  static KmsError Validation(std::string message) {
    return {ErrorCode::kValidation, std::move(message)};
  }
  static KmsError Serialization(std::string message) {
    return {ErrorCode::kSerialization, std::move(message)};
  }
  static KmsError InvalidState(std::string message) {
    return {ErrorCode::kInvalidState, std::move(message)};
  }
  static KmsError InvalidCiphertext() { return {ErrorCode::kInvalidCiphertext, {}}; }
  static KmsError Internal(std::string message) {
    return {ErrorCode::kInternal, std::move(message)};
  }
  static KmsError Unsupported(std::string message) {
    return {ErrorCode::kUnsupportedOperation, std::move(message)};
  }
};

// ADL hook so that Result<T>::value() compiles; handlers test `if (!r)` instead.
[[noreturn]] void throw_exception_from_error(const KmsError& e, const boost::source_location& loc);

}  // namespace kms::server
