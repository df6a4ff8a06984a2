#include "server/protocol/error.hpp"

#include <array>
#include <stdexcept>

namespace kms::server {
namespace {

// 500 for the three faults botocore marks as such; 400 for everything a client caused; 413,
// 431 and 503 for the transport-level refusals (too large a body, too large a head or framing,
// too many connections).
constexpr std::array kTable = {
    ErrorInfo{ErrorCode::kAlreadyExists, "AlreadyExistsException", 400},
    ErrorInfo{ErrorCode::kCloudHsmClusterInUse, "CloudHsmClusterInUseException", 400},
    ErrorInfo{ErrorCode::kCloudHsmClusterInvalidConfiguration,
              "CloudHsmClusterInvalidConfigurationException", 400},
    ErrorInfo{ErrorCode::kCloudHsmClusterNotActive, "CloudHsmClusterNotActiveException", 400},
    ErrorInfo{ErrorCode::kCloudHsmClusterNotFound, "CloudHsmClusterNotFoundException", 400},
    ErrorInfo{ErrorCode::kCloudHsmClusterNotRelated, "CloudHsmClusterNotRelatedException", 400},
    ErrorInfo{ErrorCode::kConflict, "ConflictException", 400},
    ErrorInfo{ErrorCode::kCustomKeyStoreHasCmks, "CustomKeyStoreHasCMKsException", 400},
    ErrorInfo{ErrorCode::kCustomKeyStoreInvalidState, "CustomKeyStoreInvalidStateException", 400},
    ErrorInfo{ErrorCode::kCustomKeyStoreNameInUse, "CustomKeyStoreNameInUseException", 400},
    ErrorInfo{ErrorCode::kCustomKeyStoreNotFound, "CustomKeyStoreNotFoundException", 400},
    ErrorInfo{ErrorCode::kDependencyTimeout, "DependencyTimeoutException", 500},
    ErrorInfo{ErrorCode::kDisabled, "DisabledException", 400},
    ErrorInfo{ErrorCode::kDryRunOperation, "DryRunOperationException", 400},
    ErrorInfo{ErrorCode::kExpiredImportToken, "ExpiredImportTokenException", 400},
    ErrorInfo{ErrorCode::kIncorrectKey, "IncorrectKeyException", 400},
    ErrorInfo{ErrorCode::kIncorrectKeyMaterial, "IncorrectKeyMaterialException", 400},
    ErrorInfo{ErrorCode::kIncorrectTrustAnchor, "IncorrectTrustAnchorException", 400},
    ErrorInfo{ErrorCode::kInvalidAliasName, "InvalidAliasNameException", 400},
    ErrorInfo{ErrorCode::kInvalidArn, "InvalidArnException", 400},
    ErrorInfo{ErrorCode::kInvalidCiphertext, "InvalidCiphertextException", 400},
    ErrorInfo{ErrorCode::kInvalidGrantId, "InvalidGrantIdException", 400},
    ErrorInfo{ErrorCode::kInvalidGrantToken, "InvalidGrantTokenException", 400},
    ErrorInfo{ErrorCode::kInvalidImportToken, "InvalidImportTokenException", 400},
    ErrorInfo{ErrorCode::kInvalidKeyUsage, "InvalidKeyUsageException", 400},
    ErrorInfo{ErrorCode::kInvalidMarker, "InvalidMarkerException", 400},
    ErrorInfo{ErrorCode::kInternal, "KMSInternalException", 500},
    ErrorInfo{ErrorCode::kInvalidMac, "KMSInvalidMacException", 400},
    ErrorInfo{ErrorCode::kInvalidSignature, "KMSInvalidSignatureException", 400},
    ErrorInfo{ErrorCode::kInvalidState, "KMSInvalidStateException", 400},
    ErrorInfo{ErrorCode::kKeyUnavailable, "KeyUnavailableException", 500},
    ErrorInfo{ErrorCode::kLimitExceeded, "LimitExceededException", 400},
    ErrorInfo{ErrorCode::kMalformedPolicyDocument, "MalformedPolicyDocumentException", 400},
    ErrorInfo{ErrorCode::kNotFound, "NotFoundException", 400},
    ErrorInfo{ErrorCode::kTag, "TagException", 400},
    ErrorInfo{ErrorCode::kUnsupportedOperation, "UnsupportedOperationException", 400},
    ErrorInfo{ErrorCode::kXksKeyAlreadyInUse, "XksKeyAlreadyInUseException", 400},
    ErrorInfo{ErrorCode::kXksKeyInvalidConfiguration, "XksKeyInvalidConfigurationException", 400},
    ErrorInfo{ErrorCode::kXksKeyNotFound, "XksKeyNotFoundException", 400},
    ErrorInfo{ErrorCode::kXksProxyIncorrectAuthenticationCredential,
              "XksProxyIncorrectAuthenticationCredentialException", 400},
    ErrorInfo{ErrorCode::kXksProxyInvalidConfiguration, "XksProxyInvalidConfigurationException",
              400},
    ErrorInfo{ErrorCode::kXksProxyInvalidResponse, "XksProxyInvalidResponseException", 400},
    ErrorInfo{ErrorCode::kXksProxyUriEndpointInUse, "XksProxyUriEndpointInUseException", 400},
    ErrorInfo{ErrorCode::kXksProxyUriInUse, "XksProxyUriInUseException", 400},
    ErrorInfo{ErrorCode::kXksProxyUriUnreachable, "XksProxyUriUnreachableException", 400},
    ErrorInfo{ErrorCode::kXksProxyVpcEndpointServiceInUse,
              "XksProxyVpcEndpointServiceInUseException", 400},
    ErrorInfo{ErrorCode::kXksProxyVpcEndpointServiceInvalidConfiguration,
              "XksProxyVpcEndpointServiceInvalidConfigurationException", 400},
    ErrorInfo{ErrorCode::kXksProxyVpcEndpointServiceNotFound,
              "XksProxyVpcEndpointServiceNotFoundException", 400},
    ErrorInfo{ErrorCode::kValidation, "ValidationException", 400},
    ErrorInfo{ErrorCode::kSerialization, "SerializationException", 400},
    ErrorInfo{ErrorCode::kUnknownOperation, "UnknownOperationException", 400},
    ErrorInfo{ErrorCode::kAccessDenied, "AccessDeniedException", 400},
    ErrorInfo{ErrorCode::kNotAuthorized, "NotAuthorizedException", 400},
    ErrorInfo{ErrorCode::kRequestEntityTooLarge, "RequestEntityTooLargeException", 413},
    // AWS's front end answers an oversized head with a bare 431 or 400; kmsd keeps every
    // answer AWS-shaped and names this one itself.
    ErrorInfo{ErrorCode::kRequestHeaderFieldsTooLarge, "RequestHeaderFieldsTooLargeException", 431},
    ErrorInfo{ErrorCode::kThrottling, "ThrottlingException", 503},
};

constexpr bool TableMatchesEnum() {
  for (std::size_t i = 0; i < kTable.size(); ++i) {
    if (static_cast<std::size_t>(kTable[i].code) != i) return false;
  }
  return true;
}
static_assert(TableMatchesEnum(), "error table rows must follow ErrorCode order, one per code");

}  // namespace

std::span<const ErrorInfo> ErrorTable() { return kTable; }

const ErrorInfo& InfoOf(ErrorCode code) {
  const auto index = static_cast<std::size_t>(code);
  return index < kTable.size() ? kTable[index]
                               : kTable[static_cast<std::size_t>(ErrorCode::kInternal)];
}

void throw_exception_from_error(const KmsError& e, const boost::source_location& /*loc*/) {
  throw std::runtime_error(std::string(e.Type()) + ": " + e.message);
}

}  // namespace kms::server
