// File: domain/vocabulary.hpp
//
// The typed vocabulary of KMS: key state, key usage, key spec, origin, key manager, the
// encryption, signing, MAC and key-agreement algorithms, and the enums of rotation, import,
// grants, multi-region keys and custom key stores. Each is an enum with ONE table that
// maps it to its AWS wire name (the text the JSON API and kmsd's SQLite columns carry).
// Everywhere else in kmsd these are enums, so a misspelt state or spec does not compile;
// strings exist only at the edges, where a request is parsed (ops), a response is written
// (ops) and a row is read or written (storage/sqlite_store.cpp).
//
//   domain::KeyState state = domain::KeyState::kPendingDeletion;
//   std::string_view wire = domain::WireName(state);                 // "PendingDeletion"
//   std::optional<domain::KeySpec> spec = domain::Parse<domain::KeySpec>("RSA_2048");
//   domain::Parse<domain::KeySpec>("RSA_1024");                      // std::nullopt
//
// The enums list every value of the botocore model (service-2.json), in the model's order,
// including values kmsd never creates (KeyState::kCreating, Origin::kExternal, ...): a value
// AWS can send or return has an enumerator, so parsing never has to invent one. What a key
// spec allows (usages, algorithms, key sizes) is in domain/key_specs.hpp, not here.
//
// Why a header of constexpr tables and no .cpp: WireName is an array index and is used on the
// hot path of every response; static_asserts below prove at compile time that each table is
// in enum order, so WireName can index without a search (tests/unit/domain checks that each
// table is complete against the botocore model). The one layer below storage, crypto-facing
// code and ops: it includes only the standard library.
//
// Errors: Parse returns std::nullopt for a name that is not in the table (case-sensitive, as
// AWS is). WireName is total: every enumerator has a row.
//
// Thread-safety: constant data and pure functions.
#pragma once

#include <concepts>
#include <cstddef>
#include <optional>
#include <span>
#include <string_view>

namespace kms::domain {

// KeyState (botocore "KeyState").
enum class KeyState {
  kCreating,
  kEnabled,
  kDisabled,
  kPendingDeletion,
  kPendingImport,
  kPendingReplicaDeletion,
  kUnavailable,
  kUpdating,
};

// KeyUsage (botocore "KeyUsageType").
enum class KeyUsage {
  kSignVerify,
  kEncryptDecrypt,
  kGenerateVerifyMac,
  kKeyAgreement,
};

// KeySpec (botocore "KeySpec"; CustomerMasterKeySpec, DataKeyPairSpec and WrappingKeySpec use
// the same names for their subsets). Model order, except that SM2 precedes
// ECC_NIST_EDWARDS25519 as in DataKeyPairSpec, whose enum-value-set message key_specs builds
// from this order.
enum class KeySpec {
  kRsa2048,
  kRsa3072,
  kRsa4096,
  kEccNistP256,
  kEccNistP384,
  kEccNistP521,
  kEccSecgP256k1,
  kSymmetricDefault,
  kHmac224,
  kHmac256,
  kHmac384,
  kHmac512,
  kSm2,
  kMlDsa44,
  kMlDsa65,
  kMlDsa87,
  kEccNistEdwards25519,
};

// Origin (botocore "OriginType").
enum class Origin {
  kAwsKms,
  kExternal,
  kAwsCloudHsm,
  kExternalKeyStore,
};

// KeyManager (botocore "KeyManagerType").
enum class KeyManager {
  kAws,
  kCustomer,
};

// EncryptionAlgorithm (botocore "EncryptionAlgorithmSpec").
enum class EncryptionAlgorithm {
  kSymmetricDefault,
  kRsaesOaepSha1,
  kRsaesOaepSha256,
  kSm2Pke,
};

// SigningAlgorithm (botocore "SigningAlgorithmSpec").
enum class SigningAlgorithm {
  kRsassaPssSha256,
  kRsassaPssSha384,
  kRsassaPssSha512,
  kRsassaPkcs1V15Sha256,
  kRsassaPkcs1V15Sha384,
  kRsassaPkcs1V15Sha512,
  kEcdsaSha256,
  kEcdsaSha384,
  kEcdsaSha512,
  kSm2Dsa,
  kMlDsaShake256,
  kEd25519Sha512,
  kEd25519PhSha512,
};

// MacAlgorithm (botocore "MacAlgorithmSpec").
enum class MacAlgorithm {
  kHmacSha224,
  kHmacSha256,
  kHmacSha384,
  kHmacSha512,
};

// KeyAgreementAlgorithm (botocore "KeyAgreementAlgorithmSpec").
enum class KeyAgreementAlgorithm {
  kEcdh,
};

// RotationType (botocore "RotationType").
enum class RotationType {
  kAutomatic,
  kOnDemand,
};

// ExpirationModel (botocore "ExpirationModelType").
enum class ExpirationModel {
  kKeyMaterialExpires,
  kKeyMaterialDoesNotExpire,
};

// MultiRegionKeyType (botocore "MultiRegionKeyType").
enum class MultiRegionKeyType {
  kPrimary,
  kReplica,
};

// GrantOperation (botocore "GrantOperation").
enum class GrantOperation {
  kDecrypt,
  kEncrypt,
  kGenerateDataKey,
  kGenerateDataKeyWithoutPlaintext,
  kReEncryptFrom,
  kReEncryptTo,
  kSign,
  kVerify,
  kGetPublicKey,
  kCreateGrant,
  kRetireGrant,
  kDescribeKey,
  kGenerateDataKeyPair,
  kGenerateDataKeyPairWithoutPlaintext,
  kGenerateMac,
  kVerifyMac,
  kDeriveSharedSecret,
};

// WrappingAlgorithm (botocore "AlgorithmSpec").
enum class WrappingAlgorithm {
  kRsaesPkcs1V15,
  kRsaesOaepSha1,
  kRsaesOaepSha256,
  kRsaAesKeyWrapSha1,
  kRsaAesKeyWrapSha256,
  kSm2Pke,
};

// WrappingKeySpec (botocore "WrappingKeySpec").
enum class WrappingKeySpec {
  kRsa2048,
  kRsa3072,
  kRsa4096,
  kSm2,
};

// ImportType (botocore "ImportType").
enum class ImportType {
  kNewKeyMaterial,
  kExistingKeyMaterial,
};

// ImportState (botocore "ImportState").
enum class ImportState {
  kImported,
  kPendingImport,
};

// KeyMaterialState (botocore "KeyMaterialState").
enum class KeyMaterialState {
  kNonCurrent,
  kCurrent,
  kPendingRotation,
  kPendingMultiRegionImportAndRotation,
};

// CustomKeyStoreType (botocore "CustomKeyStoreType").
enum class CustomKeyStoreType {
  kAwsCloudHsm,
  kExternalKeyStore,
};

// ConnectionState (botocore "ConnectionStateType").
enum class ConnectionState {
  kConnected,
  kConnecting,
  kFailed,
  kDisconnected,
  kDisconnecting,
};

// ConnectionErrorCode (botocore "ConnectionErrorCodeType").
enum class ConnectionErrorCode {
  kInvalidCredentials,
  kClusterNotFound,
  kNetworkErrors,
  kInternalError,
  kInsufficientCloudhsmHsms,
  kUserLockedOut,
  kUserNotFound,
  kUserLoggedIn,
  kSubnetNotFound,
  kInsufficientFreeAddressesInSubnet,
  kXksProxyAccessDenied,
  kXksProxyNotReachable,
  kXksVpcEndpointServiceNotFound,
  kXksProxyInvalidResponse,
  kXksProxyInvalidConfiguration,
  kXksVpcEndpointServiceInvalidConfiguration,
  kXksProxyTimedOut,
  kXksProxyInvalidTlsConfiguration,
};

// XksProxyConnectivity (botocore "XksProxyConnectivityType").
enum class XksProxyConnectivity {
  kPublicEndpoint,
  kVpcEndpointService,
};

// One row of a wire-name table.
template <class E>
struct WireRow {
  E value;
  std::string_view name;
};

// The wire-name tables: the only place in kmsd's sources that spells these names.
inline constexpr WireRow<KeyState> kKeyStateNames[] = {
    {KeyState::kCreating, "Creating"},
    {KeyState::kEnabled, "Enabled"},
    {KeyState::kDisabled, "Disabled"},
    {KeyState::kPendingDeletion, "PendingDeletion"},
    {KeyState::kPendingImport, "PendingImport"},
    {KeyState::kPendingReplicaDeletion, "PendingReplicaDeletion"},
    {KeyState::kUnavailable, "Unavailable"},
    {KeyState::kUpdating, "Updating"},
};

inline constexpr WireRow<KeyUsage> kKeyUsageNames[] = {
    {KeyUsage::kSignVerify, "SIGN_VERIFY"},
    {KeyUsage::kEncryptDecrypt, "ENCRYPT_DECRYPT"},
    {KeyUsage::kGenerateVerifyMac, "GENERATE_VERIFY_MAC"},
    {KeyUsage::kKeyAgreement, "KEY_AGREEMENT"},
};

inline constexpr WireRow<KeySpec> kKeySpecNames[] = {
    {KeySpec::kRsa2048, "RSA_2048"},
    {KeySpec::kRsa3072, "RSA_3072"},
    {KeySpec::kRsa4096, "RSA_4096"},
    {KeySpec::kEccNistP256, "ECC_NIST_P256"},
    {KeySpec::kEccNistP384, "ECC_NIST_P384"},
    {KeySpec::kEccNistP521, "ECC_NIST_P521"},
    {KeySpec::kEccSecgP256k1, "ECC_SECG_P256K1"},
    {KeySpec::kSymmetricDefault, "SYMMETRIC_DEFAULT"},
    {KeySpec::kHmac224, "HMAC_224"},
    {KeySpec::kHmac256, "HMAC_256"},
    {KeySpec::kHmac384, "HMAC_384"},
    {KeySpec::kHmac512, "HMAC_512"},
    {KeySpec::kSm2, "SM2"},
    {KeySpec::kMlDsa44, "ML_DSA_44"},
    {KeySpec::kMlDsa65, "ML_DSA_65"},
    {KeySpec::kMlDsa87, "ML_DSA_87"},
    {KeySpec::kEccNistEdwards25519, "ECC_NIST_EDWARDS25519"},
};

inline constexpr WireRow<Origin> kOriginNames[] = {
    {Origin::kAwsKms, "AWS_KMS"},
    {Origin::kExternal, "EXTERNAL"},
    {Origin::kAwsCloudHsm, "AWS_CLOUDHSM"},
    {Origin::kExternalKeyStore, "EXTERNAL_KEY_STORE"},
};

inline constexpr WireRow<KeyManager> kKeyManagerNames[] = {
    {KeyManager::kAws, "AWS"},
    {KeyManager::kCustomer, "CUSTOMER"},
};

inline constexpr WireRow<EncryptionAlgorithm> kEncryptionAlgorithmNames[] = {
    {EncryptionAlgorithm::kSymmetricDefault, "SYMMETRIC_DEFAULT"},
    {EncryptionAlgorithm::kRsaesOaepSha1, "RSAES_OAEP_SHA_1"},
    {EncryptionAlgorithm::kRsaesOaepSha256, "RSAES_OAEP_SHA_256"},
    {EncryptionAlgorithm::kSm2Pke, "SM2PKE"},
};

inline constexpr WireRow<SigningAlgorithm> kSigningAlgorithmNames[] = {
    {SigningAlgorithm::kRsassaPssSha256, "RSASSA_PSS_SHA_256"},
    {SigningAlgorithm::kRsassaPssSha384, "RSASSA_PSS_SHA_384"},
    {SigningAlgorithm::kRsassaPssSha512, "RSASSA_PSS_SHA_512"},
    {SigningAlgorithm::kRsassaPkcs1V15Sha256, "RSASSA_PKCS1_V1_5_SHA_256"},
    {SigningAlgorithm::kRsassaPkcs1V15Sha384, "RSASSA_PKCS1_V1_5_SHA_384"},
    {SigningAlgorithm::kRsassaPkcs1V15Sha512, "RSASSA_PKCS1_V1_5_SHA_512"},
    {SigningAlgorithm::kEcdsaSha256, "ECDSA_SHA_256"},
    {SigningAlgorithm::kEcdsaSha384, "ECDSA_SHA_384"},
    {SigningAlgorithm::kEcdsaSha512, "ECDSA_SHA_512"},
    {SigningAlgorithm::kSm2Dsa, "SM2DSA"},
    {SigningAlgorithm::kMlDsaShake256, "ML_DSA_SHAKE_256"},
    {SigningAlgorithm::kEd25519Sha512, "ED25519_SHA_512"},
    {SigningAlgorithm::kEd25519PhSha512, "ED25519_PH_SHA_512"},
};

inline constexpr WireRow<MacAlgorithm> kMacAlgorithmNames[] = {
    {MacAlgorithm::kHmacSha224, "HMAC_SHA_224"},
    {MacAlgorithm::kHmacSha256, "HMAC_SHA_256"},
    {MacAlgorithm::kHmacSha384, "HMAC_SHA_384"},
    {MacAlgorithm::kHmacSha512, "HMAC_SHA_512"},
};

inline constexpr WireRow<KeyAgreementAlgorithm> kKeyAgreementAlgorithmNames[] = {
    {KeyAgreementAlgorithm::kEcdh, "ECDH"},
};

inline constexpr WireRow<RotationType> kRotationTypeNames[] = {
    {RotationType::kAutomatic, "AUTOMATIC"},
    {RotationType::kOnDemand, "ON_DEMAND"},
};

inline constexpr WireRow<ExpirationModel> kExpirationModelNames[] = {
    {ExpirationModel::kKeyMaterialExpires, "KEY_MATERIAL_EXPIRES"},
    {ExpirationModel::kKeyMaterialDoesNotExpire, "KEY_MATERIAL_DOES_NOT_EXPIRE"},
};

inline constexpr WireRow<MultiRegionKeyType> kMultiRegionKeyTypeNames[] = {
    {MultiRegionKeyType::kPrimary, "PRIMARY"},
    {MultiRegionKeyType::kReplica, "REPLICA"},
};

inline constexpr WireRow<GrantOperation> kGrantOperationNames[] = {
    {GrantOperation::kDecrypt, "Decrypt"},
    {GrantOperation::kEncrypt, "Encrypt"},
    {GrantOperation::kGenerateDataKey, "GenerateDataKey"},
    {GrantOperation::kGenerateDataKeyWithoutPlaintext, "GenerateDataKeyWithoutPlaintext"},
    {GrantOperation::kReEncryptFrom, "ReEncryptFrom"},
    {GrantOperation::kReEncryptTo, "ReEncryptTo"},
    {GrantOperation::kSign, "Sign"},
    {GrantOperation::kVerify, "Verify"},
    {GrantOperation::kGetPublicKey, "GetPublicKey"},
    {GrantOperation::kCreateGrant, "CreateGrant"},
    {GrantOperation::kRetireGrant, "RetireGrant"},
    {GrantOperation::kDescribeKey, "DescribeKey"},
    {GrantOperation::kGenerateDataKeyPair, "GenerateDataKeyPair"},
    {GrantOperation::kGenerateDataKeyPairWithoutPlaintext, "GenerateDataKeyPairWithoutPlaintext"},
    {GrantOperation::kGenerateMac, "GenerateMac"},
    {GrantOperation::kVerifyMac, "VerifyMac"},
    {GrantOperation::kDeriveSharedSecret, "DeriveSharedSecret"},
};

inline constexpr WireRow<WrappingAlgorithm> kWrappingAlgorithmNames[] = {
    {WrappingAlgorithm::kRsaesPkcs1V15, "RSAES_PKCS1_V1_5"},
    {WrappingAlgorithm::kRsaesOaepSha1, "RSAES_OAEP_SHA_1"},
    {WrappingAlgorithm::kRsaesOaepSha256, "RSAES_OAEP_SHA_256"},
    {WrappingAlgorithm::kRsaAesKeyWrapSha1, "RSA_AES_KEY_WRAP_SHA_1"},
    {WrappingAlgorithm::kRsaAesKeyWrapSha256, "RSA_AES_KEY_WRAP_SHA_256"},
    {WrappingAlgorithm::kSm2Pke, "SM2PKE"},
};

inline constexpr WireRow<WrappingKeySpec> kWrappingKeySpecNames[] = {
    {WrappingKeySpec::kRsa2048, "RSA_2048"},
    {WrappingKeySpec::kRsa3072, "RSA_3072"},
    {WrappingKeySpec::kRsa4096, "RSA_4096"},
    {WrappingKeySpec::kSm2, "SM2"},
};

inline constexpr WireRow<ImportType> kImportTypeNames[] = {
    {ImportType::kNewKeyMaterial, "NEW_KEY_MATERIAL"},
    {ImportType::kExistingKeyMaterial, "EXISTING_KEY_MATERIAL"},
};

inline constexpr WireRow<ImportState> kImportStateNames[] = {
    {ImportState::kImported, "IMPORTED"},
    {ImportState::kPendingImport, "PENDING_IMPORT"},
};

inline constexpr WireRow<KeyMaterialState> kKeyMaterialStateNames[] = {
    {KeyMaterialState::kNonCurrent, "NON_CURRENT"},
    {KeyMaterialState::kCurrent, "CURRENT"},
    {KeyMaterialState::kPendingRotation, "PENDING_ROTATION"},
    {KeyMaterialState::kPendingMultiRegionImportAndRotation,
     "PENDING_MULTI_REGION_IMPORT_AND_ROTATION"},
};

inline constexpr WireRow<CustomKeyStoreType> kCustomKeyStoreTypeNames[] = {
    {CustomKeyStoreType::kAwsCloudHsm, "AWS_CLOUDHSM"},
    {CustomKeyStoreType::kExternalKeyStore, "EXTERNAL_KEY_STORE"},
};

inline constexpr WireRow<ConnectionState> kConnectionStateNames[] = {
    {ConnectionState::kConnected, "CONNECTED"},
    {ConnectionState::kConnecting, "CONNECTING"},
    {ConnectionState::kFailed, "FAILED"},
    {ConnectionState::kDisconnected, "DISCONNECTED"},
    {ConnectionState::kDisconnecting, "DISCONNECTING"},
};

inline constexpr WireRow<ConnectionErrorCode> kConnectionErrorCodeNames[] = {
    {ConnectionErrorCode::kInvalidCredentials, "INVALID_CREDENTIALS"},
    {ConnectionErrorCode::kClusterNotFound, "CLUSTER_NOT_FOUND"},
    {ConnectionErrorCode::kNetworkErrors, "NETWORK_ERRORS"},
    {ConnectionErrorCode::kInternalError, "INTERNAL_ERROR"},
    {ConnectionErrorCode::kInsufficientCloudhsmHsms, "INSUFFICIENT_CLOUDHSM_HSMS"},
    {ConnectionErrorCode::kUserLockedOut, "USER_LOCKED_OUT"},
    {ConnectionErrorCode::kUserNotFound, "USER_NOT_FOUND"},
    {ConnectionErrorCode::kUserLoggedIn, "USER_LOGGED_IN"},
    {ConnectionErrorCode::kSubnetNotFound, "SUBNET_NOT_FOUND"},
    {ConnectionErrorCode::kInsufficientFreeAddressesInSubnet,
     "INSUFFICIENT_FREE_ADDRESSES_IN_SUBNET"},
    {ConnectionErrorCode::kXksProxyAccessDenied, "XKS_PROXY_ACCESS_DENIED"},
    {ConnectionErrorCode::kXksProxyNotReachable, "XKS_PROXY_NOT_REACHABLE"},
    {ConnectionErrorCode::kXksVpcEndpointServiceNotFound, "XKS_VPC_ENDPOINT_SERVICE_NOT_FOUND"},
    {ConnectionErrorCode::kXksProxyInvalidResponse, "XKS_PROXY_INVALID_RESPONSE"},
    {ConnectionErrorCode::kXksProxyInvalidConfiguration, "XKS_PROXY_INVALID_CONFIGURATION"},
    {ConnectionErrorCode::kXksVpcEndpointServiceInvalidConfiguration,
     "XKS_VPC_ENDPOINT_SERVICE_INVALID_CONFIGURATION"},
    {ConnectionErrorCode::kXksProxyTimedOut, "XKS_PROXY_TIMED_OUT"},
    {ConnectionErrorCode::kXksProxyInvalidTlsConfiguration, "XKS_PROXY_INVALID_TLS_CONFIGURATION"},
};

inline constexpr WireRow<XksProxyConnectivity> kXksProxyConnectivityNames[] = {
    {XksProxyConnectivity::kPublicEndpoint, "PUBLIC_ENDPOINT"},
    {XksProxyConnectivity::kVpcEndpointService, "VPC_ENDPOINT_SERVICE"},
};

// The table of E, found by overload on a value of E (WireRows(E{})): the hook the generic
// WireName, Parse and the Vocabulary concept use.
constexpr std::span<const WireRow<KeyState>> WireRows(KeyState) { return kKeyStateNames; }
constexpr std::span<const WireRow<KeyUsage>> WireRows(KeyUsage) { return kKeyUsageNames; }
constexpr std::span<const WireRow<KeySpec>> WireRows(KeySpec) { return kKeySpecNames; }
constexpr std::span<const WireRow<Origin>> WireRows(Origin) { return kOriginNames; }
constexpr std::span<const WireRow<KeyManager>> WireRows(KeyManager) { return kKeyManagerNames; }
constexpr std::span<const WireRow<EncryptionAlgorithm>> WireRows(EncryptionAlgorithm) {
  return kEncryptionAlgorithmNames;
}
constexpr std::span<const WireRow<SigningAlgorithm>> WireRows(SigningAlgorithm) {
  return kSigningAlgorithmNames;
}
constexpr std::span<const WireRow<MacAlgorithm>> WireRows(MacAlgorithm) {
  return kMacAlgorithmNames;
}
constexpr std::span<const WireRow<KeyAgreementAlgorithm>> WireRows(KeyAgreementAlgorithm) {
  return kKeyAgreementAlgorithmNames;
}
constexpr std::span<const WireRow<RotationType>> WireRows(RotationType) {
  return kRotationTypeNames;
}
constexpr std::span<const WireRow<ExpirationModel>> WireRows(ExpirationModel) {
  return kExpirationModelNames;
}
constexpr std::span<const WireRow<MultiRegionKeyType>> WireRows(MultiRegionKeyType) {
  return kMultiRegionKeyTypeNames;
}
constexpr std::span<const WireRow<GrantOperation>> WireRows(GrantOperation) {
  return kGrantOperationNames;
}
constexpr std::span<const WireRow<WrappingAlgorithm>> WireRows(WrappingAlgorithm) {
  return kWrappingAlgorithmNames;
}
constexpr std::span<const WireRow<WrappingKeySpec>> WireRows(WrappingKeySpec) {
  return kWrappingKeySpecNames;
}
constexpr std::span<const WireRow<ImportType>> WireRows(ImportType) { return kImportTypeNames; }
constexpr std::span<const WireRow<ImportState>> WireRows(ImportState) { return kImportStateNames; }
constexpr std::span<const WireRow<KeyMaterialState>> WireRows(KeyMaterialState) {
  return kKeyMaterialStateNames;
}
constexpr std::span<const WireRow<CustomKeyStoreType>> WireRows(CustomKeyStoreType) {
  return kCustomKeyStoreTypeNames;
}
constexpr std::span<const WireRow<ConnectionState>> WireRows(ConnectionState) {
  return kConnectionStateNames;
}
constexpr std::span<const WireRow<ConnectionErrorCode>> WireRows(ConnectionErrorCode) {
  return kConnectionErrorCodeNames;
}
constexpr std::span<const WireRow<XksProxyConnectivity>> WireRows(XksProxyConnectivity) {
  return kXksProxyConnectivityNames;
}

// The enums of the vocabulary: exactly those with a WireRows overload.
template <class E>
concept Vocabulary = requires(E e) {
  { WireRows(e) } -> std::same_as<std::span<const WireRow<E>>>;
};

// The AWS wire name of `value`, e.g. "PendingDeletion", "RSA_2048", "ECDSA_SHA_256".
template <Vocabulary E>
constexpr std::string_view WireName(E value) {
  return WireRows(E{})[static_cast<std::size_t>(value)].name;
}

// The enumerator whose wire name is exactly `name`; nullopt for any other text.
template <Vocabulary E>
constexpr std::optional<E> Parse(std::string_view name) {
  for (const WireRow<E>& row : WireRows(E{})) {
    if (row.name == name) return row.value;
  }
  return std::nullopt;
}

// Compile-time proof that WireName may index: row i holds enumerator i, and every row has a
// name. (A row missing at the end is caught by tests/unit/domain, which compares each table
// with the botocore model's enum values.)
template <Vocabulary E>
constexpr bool TableInEnumOrder() {
  std::size_t i = 0;
  for (const WireRow<E>& row : WireRows(E{})) {
    if (static_cast<std::size_t>(row.value) != i++ || row.name.empty()) return false;
  }
  return true;
}
static_assert(TableInEnumOrder<KeyState>());
static_assert(TableInEnumOrder<KeyUsage>());
static_assert(TableInEnumOrder<KeySpec>());
static_assert(TableInEnumOrder<Origin>());
static_assert(TableInEnumOrder<KeyManager>());
static_assert(TableInEnumOrder<EncryptionAlgorithm>());
static_assert(TableInEnumOrder<SigningAlgorithm>());
static_assert(TableInEnumOrder<MacAlgorithm>());
static_assert(TableInEnumOrder<KeyAgreementAlgorithm>());
static_assert(TableInEnumOrder<RotationType>());
static_assert(TableInEnumOrder<ExpirationModel>());
static_assert(TableInEnumOrder<MultiRegionKeyType>());
static_assert(TableInEnumOrder<GrantOperation>());
static_assert(TableInEnumOrder<WrappingAlgorithm>());
static_assert(TableInEnumOrder<WrappingKeySpec>());
static_assert(TableInEnumOrder<ImportType>());
static_assert(TableInEnumOrder<ImportState>());
static_assert(TableInEnumOrder<KeyMaterialState>());
static_assert(TableInEnumOrder<CustomKeyStoreType>());
static_assert(TableInEnumOrder<ConnectionState>());
static_assert(TableInEnumOrder<ConnectionErrorCode>());
static_assert(TableInEnumOrder<XksProxyConnectivity>());

}  // namespace kms::domain
