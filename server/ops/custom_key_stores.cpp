// File: custom_key_stores.cpp
//
// CreateCustomKeyStore, DescribeCustomKeyStores, UpdateCustomKeyStore, ConnectCustomKeyStore,
// DisconnectCustomKeyStore and DeleteCustomKeyStore, for AWS_CLOUDHSM and EXTERNAL_KEY_STORE
// key stores, plus what CreateKey, GenerateRandom and the key lookup need of them
// (custom_key_stores.hpp).
//
// The stores are emulated. kmsd keeps each store's settings and connection state durably, checks
// them as AWS documents (required members per type, uniqueness in the account and Region, which
// changes need a disconnected store), and never contacts a CloudHSM cluster or an external key
// store proxy. Connecting always succeeds, at once. A key in a store works while the store is
// CONNECTED; otherwise its key state reads Unavailable and cryptographic operations refuse it
// (key_lookup.cpp).
//
// Secrets: KeyStorePassword and the proxy credential's RawSecretAccessKey are stored (the
// Store keeps them as AWS does, to connect) and never written to a response or a log.
//
// Error texts: AWS's texts for these operations are not recorded in KMS_FACTS and the AWS
// documentation does not quote them; every text here is written in AWS's style after the
// documentation's description of the condition ("AWS text unknown"). The exception types
// follow the API reference.
//
// Thread-safety: handlers run concurrently; every read-check-write runs under the registry's
// writer, so two requests cannot both take one name, cluster or proxy URI.
#include "server/ops/custom_key_stores.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "crypto/digest.hpp"
#include "crypto/random.hpp"
#include "domain/vocabulary.hpp"
#include "server/ops/key_lookup.hpp"
#include "server/ops/ops.hpp"
#include "server/ops/paging.hpp"

namespace kms::ops {
namespace {

using domain::ConnectionState;
using domain::CustomKeyStoreType;
using domain::XksProxyConnectivity;
using storage::CustomKeyStoreRecord;

// "Custom key store resource quota: 10 per AWS account and Region" (AWS KMS Developer Guide,
// Resource quotas).
constexpr std::size_t kMaxCustomKeyStores = 10;
// DescribeCustomKeyStores without Limit. AWS documents no default; ListKeys' 100 is used.
constexpr std::int64_t kDefaultDescribeLimit = 100;
// "cks-" + 17 lowercase hex digits, as AWS's ids look (cks-1234567890abcdef0).
constexpr std::string_view kIdPrefix = "cks-";
constexpr std::size_t kIdHexDigits = 17;

// Members that only one type of store takes (CreateCustomKeyStore, UpdateCustomKeyStore).
constexpr std::array<std::string_view, 3> kCloudHsmMembers = {
    "CloudHsmClusterId", "TrustAnchorCertificate", "KeyStorePassword"};
constexpr std::array<std::string_view, 6> kXksMembers = {"XksProxyUriEndpoint",
                                                         "XksProxyUriPath",
                                                         "XksProxyVpcEndpointServiceName",
                                                         "XksProxyVpcEndpointServiceOwner",
                                                         "XksProxyAuthenticationCredential",
                                                         "XksProxyConnectivity"};

// UpdateCustomKeyStore: the members AWS lets change while the store is CONNECTED (as well as
// DISCONNECTED); every other member needs it DISCONNECTED.
constexpr std::array<std::string_view, 3> kChangeableWhileConnected = {
    "NewCustomKeyStoreName", "XksProxyAuthenticationCredential", "XksProxyUriPath"};
constexpr std::array<std::string_view, 6> kChangeableWhileDisconnected = {
    "KeyStorePassword",
    "CloudHsmClusterId",
    "XksProxyUriEndpoint",
    "XksProxyVpcEndpointServiceName",
    "XksProxyVpcEndpointServiceOwner",
    "XksProxyConnectivity"};

std::string Name(CustomKeyStoreType type) { return std::string(domain::WireName(type)); }
std::string Name(ConnectionState state) { return std::string(domain::WireName(state)); }
std::string Name(XksProxyConnectivity connectivity) {
  return std::string(domain::WireName(connectivity));
}

// --- Error texts (AWS text unknown: see the file comment). ---

KmsError StoreNotFound(std::string_view id) {
  return {server::ErrorCode::kCustomKeyStoreNotFound,
          "Custom key store '" + std::string(id) + "' does not exist."};
}

KmsError StoreNameNotFound(std::string_view name) {
  return {server::ErrorCode::kCustomKeyStoreNotFound,
          "Custom key store with name '" + std::string(name) + "' does not exist."};
}

KmsError InvalidStoreState(std::string message) {
  return {server::ErrorCode::kCustomKeyStoreInvalidState, std::move(message)};
}

// CreateKey and GenerateRandom in a store that is not connected.
KmsError NotConnected(const CustomKeyStoreRecord& store) {
  return InvalidStoreState(
      "Custom key store " + store.id + " is not connected: its ConnectionState is " +
      Name(store.connection_state) + ". Connect it with ConnectCustomKeyStore and try again.");
}

// A member the store's type requires but the request lacks.
KmsError MemberRequired(std::string_view member, std::string_view condition) {
  return KmsError::Validation(std::string(member) + " is required for custom key stores with " +
                              std::string(condition) + ".");
}

KmsError InvalidXksConfiguration(std::string message) {
  return {server::ErrorCode::kXksProxyInvalidConfiguration, std::move(message)};
}

// --- Reading requests. ---

// A member of the other type of store than `type`: ValidationException, in the documentation's
// words ("This parameter is valid only for custom key stores with a CustomKeyStoreType of ...").
Result<void> RefuseMembersOfOtherType(const JsonIn& in, CustomKeyStoreType type) {
  const bool cloud_hsm = type == CustomKeyStoreType::kAwsCloudHsm;
  const std::span<const std::string_view> foreign =
      cloud_hsm ? std::span<const std::string_view>(kXksMembers)
                : std::span<const std::string_view>(kCloudHsmMembers);
  const CustomKeyStoreType other =
      cloud_hsm ? CustomKeyStoreType::kExternalKeyStore : CustomKeyStoreType::kAwsCloudHsm;
  for (std::string_view member : foreign) {
    if (in.Has(member)) {
      return KmsError::Validation(std::string(member) +
                                  " is valid only for custom key stores with a "
                                  "CustomKeyStoreType of " +
                                  Name(other) + ".");
    }
  }
  return {};
}

// The request's member `member`, which the model made an enum of E; absent -> nullopt.
template <domain::Vocabulary E>
Result<std::optional<E>> OptionalEnum(const JsonIn& in, std::string_view member) {
  const std::optional<std::string_view> text = in.OptionalString(member);
  if (!text) return std::optional<E>();
  const std::optional<E> value = domain::Parse<E>(*text);
  if (!value) {  // the model's enum check runs first; this guards the handler
    return KmsError::Validation(std::string(member) + " " + std::string(*text) +
                                " is not supported.");
  }
  return value;
}

// XksProxyAuthenticationCredential {AccessKeyId, RawSecretAccessKey} into `store`.
Result<void> ReadCredential(const JsonIn& in, CustomKeyStoreRecord& store) {
  const rapidjson::Value* member = in.Find("XksProxyAuthenticationCredential");
  if (member == nullptr || !member->IsObject()) {  // the model checked the type
    return KmsError::Serialization("XksProxyAuthenticationCredential must be an object");
  }
  const JsonIn credential(*member);
  KMS_ASSIGN_OR_RETURN(std::string_view access_key_id, credential.RequiredString("AccessKeyId"));
  KMS_ASSIGN_OR_RETURN(std::string_view secret, credential.RequiredString("RawSecretAccessKey"));
  store.xks_access_key_id = std::string(access_key_id);
  store.xks_secret_access_key = std::string(secret);
  return {};
}

// An AWS_CLOUDHSM store's settings of CreateCustomKeyStore.
Result<void> ReadCloudHsmSettings(const JsonIn& in, CustomKeyStoreRecord& store) {
  const std::string condition = "a CustomKeyStoreType of " + Name(store.type);
  for (std::string_view member : kCloudHsmMembers) {
    if (!in.Has(member)) return MemberRequired(member, condition);
  }
  store.cloud_hsm_cluster_id = std::string(*in.OptionalString("CloudHsmClusterId"));
  store.trust_anchor_certificate = std::string(*in.OptionalString("TrustAnchorCertificate"));
  store.key_store_password = std::string(*in.OptionalString("KeyStorePassword"));
  return {};
}

// XksProxyVpcEndpointServiceName and -Owner belong to VPC_ENDPOINT_SERVICE connectivity.
KmsError VpcMembersNeedVpcConnectivity(std::string_view member) {
  return InvalidXksConfiguration(std::string(member) +
                                 " is valid only when XksProxyConnectivity is " +
                                 Name(XksProxyConnectivity::kVpcEndpointService) + ".");
}

// An EXTERNAL_KEY_STORE store's settings of CreateCustomKeyStore. The owner of the VPC
// endpoint service defaults to the caller's account, as AWS documents.
Result<void> ReadXksSettings(const OpContext& ctx, const JsonIn& in, CustomKeyStoreRecord& store) {
  const std::string condition = "a CustomKeyStoreType of " + Name(store.type);
  for (std::string_view member : {"XksProxyUriEndpoint", "XksProxyUriPath",
                                  "XksProxyAuthenticationCredential", "XksProxyConnectivity"}) {
    if (!in.Has(member)) return MemberRequired(member, condition);
  }
  store.xks_uri_endpoint = std::string(*in.OptionalString("XksProxyUriEndpoint"));
  store.xks_uri_path = std::string(*in.OptionalString("XksProxyUriPath"));
  KMS_TRY(ReadCredential(in, store));
  KMS_ASSIGN_OR_RETURN(store.xks_connectivity,
                       OptionalEnum<XksProxyConnectivity>(in, "XksProxyConnectivity"));
  if (store.xks_connectivity == XksProxyConnectivity::kVpcEndpointService) {
    const auto service = in.OptionalString("XksProxyVpcEndpointServiceName");
    if (!service) {
      return MemberRequired(
          "XksProxyVpcEndpointServiceName",
          "an XksProxyConnectivity of " + Name(XksProxyConnectivity::kVpcEndpointService));
    }
    store.xks_vpc_endpoint_service_name = std::string(*service);
    store.xks_vpc_endpoint_service_owner = std::string(
        in.OptionalString("XksProxyVpcEndpointServiceOwner").value_or(ctx.scope.account));
    return {};
  }
  for (std::string_view member :
       {"XksProxyVpcEndpointServiceName", "XksProxyVpcEndpointServiceOwner"}) {
    if (in.Has(member)) return VpcMembersNeedVpcConnectivity(member);
  }
  return {};
}

// --- Checks against the other stores of the scope. ---

// `candidate` (a new store, or the result of an update) takes nothing another store of the
// scope holds: the name; a CloudHSM cluster; an XKS proxy URI (endpoint + path), an endpoint
// shared with a VPC_ENDPOINT_SERVICE store, or a VPC endpoint service.
// REQUIRES: the caller holds the registry's writer.
Result<void> CheckUnique(const OpContext& ctx, const CustomKeyStoreRecord& candidate) {
  const std::vector<CustomKeyStoreRecord> stores = ctx.registry.ListCustomKeyStores(ctx.scope);
  for (const CustomKeyStoreRecord& other : stores) {
    if (other.id != candidate.id && other.name == candidate.name) {
      return KmsError{server::ErrorCode::kCustomKeyStoreNameInUse,
                      "Custom key store name '" + candidate.name +
                          "' is already in use by custom key store " + other.id +
                          " in this account and Region."};
    }
  }
  for (const CustomKeyStoreRecord& other : stores) {
    if (other.id == candidate.id || other.type != candidate.type) continue;
    if (candidate.type == CustomKeyStoreType::kAwsCloudHsm) {
      if (other.cloud_hsm_cluster_id == candidate.cloud_hsm_cluster_id) {
        return KmsError{server::ErrorCode::kCloudHsmClusterInUse,
                        "CloudHSM cluster " + candidate.cloud_hsm_cluster_id +
                            " is already associated with custom key store " + other.id + "."};
      }
      continue;
    }
    const bool vpc = candidate.xks_connectivity == XksProxyConnectivity::kVpcEndpointService;
    const bool other_vpc = other.xks_connectivity == XksProxyConnectivity::kVpcEndpointService;
    if (other.xks_uri_endpoint == candidate.xks_uri_endpoint) {
      if (other.xks_uri_path == candidate.xks_uri_path) {
        return KmsError{server::ErrorCode::kXksProxyUriInUse,
                        "XKS proxy URI " + candidate.xks_uri_endpoint + candidate.xks_uri_path +
                            " is already associated with custom key store " + other.id + "."};
      }
      if (vpc || other_vpc) {
        return KmsError{server::ErrorCode::kXksProxyUriEndpointInUse,
                        "XksProxyUriEndpoint " + candidate.xks_uri_endpoint +
                            " is already associated with custom key store " + other.id +
                            ". An external key store with VPC_ENDPOINT_SERVICE connectivity "
                            "needs an XksProxyUriEndpoint of its own."};
      }
    }
    if (vpc && other_vpc &&
        other.xks_vpc_endpoint_service_name == candidate.xks_vpc_endpoint_service_name) {
      return KmsError{server::ErrorCode::kXksProxyVpcEndpointServiceInUse,
                      "VPC endpoint service " + candidate.xks_vpc_endpoint_service_name +
                          " is already associated with custom key store " + other.id + "."};
    }
  }
  return {};
}

bool IsLowerHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

// "cks-" + 17 lowercase hex: the form of every id kmsd hands out (and so of every marker).
bool IsWellFormedStoreId(std::string_view id) {
  return id.size() == kIdPrefix.size() + kIdHexDigits && id.starts_with(kIdPrefix) &&
         std::all_of(id.begin() + static_cast<std::ptrdiff_t>(kIdPrefix.size()), id.end(),
                     IsLowerHex);
}

// A fresh store id. REQUIRES: the caller holds the registry's writer.
Result<std::string> NewStoreId(const OpContext& ctx) {
  for (int attempt = 0; attempt < 8; ++attempt) {
    auto random = crypto::RandomBytes((kIdHexDigits + 1) / 2);
    if (!random) return KmsError::Internal("random generation failed: " + random.error().message);
    std::string id = std::string(kIdPrefix) + crypto::HexEncode(*random).substr(0, kIdHexDigits);
    if (!ctx.registry.FindCustomKeyStore(ctx.scope, id)) return id;
  }
  return KmsError::Internal("kmsd could not pick an unused custom key store id");
}

// True if a key of the scope that still exists (not past its deletion date) is in `store_id`.
bool StoreHasKeys(const OpContext& ctx, std::string_view store_id) {
  const std::int64_t now = ctx.Now();
  return std::ranges::any_of(ctx.registry.ListKeys(ctx.scope), [&](const KeyPtr& key) {
    return key->custom_key_store_id == store_id && !IsGone(*key, now);
  });
}

// UpdateCustomKeyStore's members need the store DISCONNECTED, except those AWS lets change
// while it is CONNECTED; in the other states (CONNECTING, DISCONNECTING, FAILED) nothing changes.
Result<void> CheckUpdateAllowedInState(const JsonIn& in, const CustomKeyStoreRecord& store) {
  const ConnectionState state = store.connection_state;
  if (state == ConnectionState::kDisconnected) return {};
  for (std::string_view member : kChangeableWhileDisconnected) {
    if (in.Has(member)) {
      return InvalidStoreState("Custom key store " + store.id + " must be " +
                               Name(ConnectionState::kDisconnected) + " to change " +
                               std::string(member) + ", but its ConnectionState is " + Name(state) +
                               ".");
    }
  }
  if (state == ConnectionState::kConnected) return {};
  for (std::string_view member : kChangeableWhileConnected) {
    if (in.Has(member)) {
      return InvalidStoreState(
          "Custom key store " + store.id + " must be " + Name(ConnectionState::kConnected) +
          " or " + Name(ConnectionState::kDisconnected) + " to change " + std::string(member) +
          ", but its ConnectionState is " + Name(state) + ".");
    }
  }
  return {};
}

// The XKS members of UpdateCustomKeyStore applied to `store`. A change of connectivity needs a
// new XksProxyUriEndpoint, and to VPC_ENDPOINT_SERVICE a service name; to PUBLIC_ENDPOINT it
// drops the service name and owner (AWS documents both).
Result<void> ApplyXksUpdate(const OpContext& ctx, const JsonIn& in, CustomKeyStoreRecord& store) {
  KMS_ASSIGN_OR_RETURN(const std::optional<XksProxyConnectivity> connectivity,
                       OptionalEnum<XksProxyConnectivity>(in, "XksProxyConnectivity"));
  if (connectivity && connectivity != store.xks_connectivity) {
    if (!in.Has("XksProxyUriEndpoint")) {
      return InvalidXksConfiguration("Changing XksProxyConnectivity to " + Name(*connectivity) +
                                     " requires a new XksProxyUriEndpoint.");
    }
    if (*connectivity == XksProxyConnectivity::kVpcEndpointService &&
        !in.Has("XksProxyVpcEndpointServiceName")) {
      return InvalidXksConfiguration("Changing XksProxyConnectivity to " + Name(*connectivity) +
                                     " requires an XksProxyVpcEndpointServiceName.");
    }
    store.xks_connectivity = connectivity;
    store.xks_vpc_endpoint_service_name.clear();
    store.xks_vpc_endpoint_service_owner =
        *connectivity == XksProxyConnectivity::kVpcEndpointService ? ctx.scope.account : "";
  }
  if (store.xks_connectivity != XksProxyConnectivity::kVpcEndpointService) {
    for (std::string_view member :
         {"XksProxyVpcEndpointServiceName", "XksProxyVpcEndpointServiceOwner"}) {
      if (in.Has(member)) return VpcMembersNeedVpcConnectivity(member);
    }
  }
  if (auto v = in.OptionalString("XksProxyUriEndpoint")) store.xks_uri_endpoint = std::string(*v);
  if (auto v = in.OptionalString("XksProxyUriPath")) store.xks_uri_path = std::string(*v);
  if (auto v = in.OptionalString("XksProxyVpcEndpointServiceName")) {
    store.xks_vpc_endpoint_service_name = std::string(*v);
  }
  if (auto v = in.OptionalString("XksProxyVpcEndpointServiceOwner")) {
    store.xks_vpc_endpoint_service_owner = std::string(*v);
  }
  if (in.Has("XksProxyAuthenticationCredential")) KMS_TRY(ReadCredential(in, store));
  return {};
}

// The members of one CustomKeyStoresListEntry, in the model's order (WritePage opens and
// closes the object). Secrets are never written.
void WriteStoreEntry(const CustomKeyStoreRecord& store, JsonOut& out) {
  out.String("CustomKeyStoreId", store.id);
  out.String("CustomKeyStoreName", store.name);
  const bool cloud_hsm = store.type == CustomKeyStoreType::kAwsCloudHsm;
  if (cloud_hsm) {
    out.String("CloudHsmClusterId", store.cloud_hsm_cluster_id);
    out.String("TrustAnchorCertificate", store.trust_anchor_certificate);
  }
  out.String("ConnectionState", domain::WireName(store.connection_state));
  if (store.connection_state == ConnectionState::kFailed && store.connection_error_code) {
    out.String("ConnectionErrorCode", domain::WireName(*store.connection_error_code));
  }
  out.Timestamp("CreationDate", store.creation_date);
  out.String("CustomKeyStoreType", domain::WireName(store.type));
  if (!cloud_hsm) {
    out.Key("XksProxyConfiguration");
    out.StartObject();
    if (store.xks_connectivity) {
      out.String("Connectivity", domain::WireName(*store.xks_connectivity));
    }
    out.String("AccessKeyId", store.xks_access_key_id);
    out.String("UriEndpoint", store.xks_uri_endpoint);
    out.String("UriPath", store.xks_uri_path);
    if (store.xks_connectivity == XksProxyConnectivity::kVpcEndpointService) {
      out.String("VpcEndpointServiceName", store.xks_vpc_endpoint_service_name);
      out.String("VpcEndpointServiceOwner", store.xks_vpc_endpoint_service_owner);
    }
    out.EndObject();
  }
}

// Stores `updated` in place of its record. REQUIRES: `writer` is the caller's writer.
Result<void> SaveStore(storage::Registry::Writer& writer, CustomKeyStoreRecord updated,
                       std::string_view operation) {
  const std::string id = updated.id;
  auto written = writer.UpdateCustomKeyStore(std::move(updated));
  if (!written) {
    if (written.error().code == storage::Error::Code::kNotFound) return StoreNotFound(id);
    return StorageFailure(operation);
  }
  return {};
}

}  // namespace

// --- custom_key_stores.hpp ---

Result<CustomKeyStoreRecord> FindCustomKeyStoreById(const OpContext& ctx, std::string_view id) {
  std::optional<CustomKeyStoreRecord> store = ctx.registry.FindCustomKeyStore(ctx.scope, id);
  if (!store) return StoreNotFound(id);
  return std::move(*store);
}

bool IsCustomKeyStoreOrigin(std::string_view origin) {
  const std::optional<domain::Origin> parsed = domain::Parse<domain::Origin>(origin);
  return parsed == domain::Origin::kAwsCloudHsm || parsed == domain::Origin::kExternalKeyStore;
}

// AWS texts unknown: AWS documents the rules ("This parameter is valid only for symmetric
// encryption KMS keys in a single Region"; XksKeyId "is required for a KMS key with an Origin
// value of EXTERNAL_KEY_STORE. It is not valid for KMS keys with any other Origin value"), not
// the messages. The order of the checks is a choice.
Result<std::optional<CustomKeyStorePlacement>> CheckCustomKeyStorePlacement(
    const JsonIn& in, domain::KeySpec spec, domain::KeyUsage usage) {
  const std::optional<std::string_view> origin_text = in.OptionalString("Origin");
  const std::optional<domain::Origin> origin =
      origin_text ? domain::Parse<domain::Origin>(*origin_text) : domain::Origin::kAwsKms;
  const bool custom_origin = origin_text && IsCustomKeyStoreOrigin(*origin_text);
  const std::optional<std::string_view> store_id = in.OptionalString("CustomKeyStoreId");
  const std::optional<std::string_view> xks_key_id = in.OptionalString("XksKeyId");
  const std::string_view origin_name =
      origin ? domain::WireName(*origin) : std::string_view("AWS_KMS");

  if (xks_key_id && origin != domain::Origin::kExternalKeyStore) {
    return KmsError::Validation("XksKeyId is valid only for KMS keys with an Origin of " +
                                Name(CustomKeyStoreType::kExternalKeyStore) + ", not " +
                                std::string(origin_name) + ".");
  }
  if (!store_id && !custom_origin) return std::optional<CustomKeyStorePlacement>();
  if (!store_id) {
    return KmsError::Validation("A CustomKeyStoreId is required for KMS keys with an Origin of " +
                                std::string(origin_name) + ".");
  }
  if (!custom_origin) {
    return KmsError::Validation(
        "CustomKeyStoreId is valid only for KMS keys with an Origin of AWS_CLOUDHSM or "
        "EXTERNAL_KEY_STORE, not " +
        std::string(origin_name) + ".");
  }
  if (origin == domain::Origin::kExternalKeyStore && !xks_key_id) {
    return KmsError::Validation("XksKeyId is required for KMS keys with an Origin of " +
                                Name(CustomKeyStoreType::kExternalKeyStore) + ".");
  }
  if (spec != domain::KeySpec::kSymmetricDefault || usage != domain::KeyUsage::kEncryptDecrypt) {
    return KmsError::Unsupported(
        "KMS keys in a custom key store must have KeySpec SYMMETRIC_DEFAULT and KeyUsage "
        "ENCRYPT_DECRYPT, not " +
        std::string(domain::WireName(spec)) + " and " + std::string(domain::WireName(usage)) + ".");
  }
  if (in.OptionalBool("MultiRegion").value_or(false)) {
    return KmsError::Unsupported("Multi-Region keys cannot be created in a custom key store.");
  }
  return std::optional<CustomKeyStorePlacement>(CustomKeyStorePlacement{
      std::string(*store_id), *origin, std::string(xks_key_id.value_or(""))});
}

Result<void> CheckStoreTakesKey(const OpContext& ctx, const CustomKeyStorePlacement& placement) {
  KMS_ASSIGN_OR_RETURN(const CustomKeyStoreRecord store,
                       FindCustomKeyStoreById(ctx, placement.store_id));
  const domain::Origin store_origin = store.type == CustomKeyStoreType::kAwsCloudHsm
                                          ? domain::Origin::kAwsCloudHsm
                                          : domain::Origin::kExternalKeyStore;
  if (placement.origin != store_origin) {
    return KmsError::Validation(
        "Origin " + std::string(domain::WireName(placement.origin)) +
        " is not valid for custom key store " + store.id + ", whose CustomKeyStoreType is " +
        Name(store.type) + ". Use Origin " + std::string(domain::WireName(store_origin)) + ".");
  }
  if (store.connection_state != ConnectionState::kConnected) return NotConnected(store);
  if (placement.origin == domain::Origin::kExternalKeyStore) {
    const std::int64_t now = ctx.Now();
    for (const KeyPtr& key : ctx.registry.ListKeys(ctx.scope)) {
      if (key->custom_key_store_id == store.id && key->xks_key_id == placement.xks_key_id &&
          !IsGone(*key, now)) {
        return KmsError{server::ErrorCode::kXksKeyAlreadyInUse,
                        "XksKeyId " + placement.xks_key_id + " is already associated with " +
                            ctx.KeyArn(key->key_id) + " in custom key store " + store.id +
                            ". Each KMS key in an external key store needs an external key of "
                            "its own."};
      }
    }
  }
  return {};
}

Result<void> RequireRandomSource(const OpContext& ctx, std::string_view store_id) {
  KMS_ASSIGN_OR_RETURN(const CustomKeyStoreRecord store, FindCustomKeyStoreById(ctx, store_id));
  if (store.type != CustomKeyStoreType::kAwsCloudHsm) {
    return KmsError::Unsupported("GenerateRandom does not support custom key store " + store.id +
                                 ": its CustomKeyStoreType is " + Name(store.type) +
                                 ", and only AWS_CLOUDHSM key stores generate random bytes.");
  }
  if (store.connection_state != ConnectionState::kConnected) return NotConnected(store);
  return {};
}

bool InUnavailableKeyStore(const OpContext& ctx, const storage::KeyRecord& key) {
  if (key.custom_key_store_id.empty()) return false;
  const std::optional<CustomKeyStoreRecord> store =
      ctx.registry.FindCustomKeyStore(key.scope, key.custom_key_store_id);
  return !store || store->connection_state != ConnectionState::kConnected;
}

void WriteCustomKeyStoreMembers(const OpContext& ctx, const storage::KeyRecord& key, JsonOut& out) {
  if (key.custom_key_store_id.empty()) return;
  out.String("CustomKeyStoreId", key.custom_key_store_id);
  if (key.origin != domain::Origin::kAwsCloudHsm) return;
  const std::optional<CustomKeyStoreRecord> store =
      ctx.registry.FindCustomKeyStore(key.scope, key.custom_key_store_id);
  if (store) out.String("CloudHsmClusterId", store->cloud_hsm_cluster_id);
}

void WriteXksKeyConfiguration(const storage::KeyRecord& key, JsonOut& out) {
  if (key.origin != domain::Origin::kExternalKeyStore) return;
  out.Key("XksKeyConfiguration");
  out.StartObject();
  out.String("Id", key.xks_key_id);
  out.EndObject();
}

// --- Handlers. ---

// CreateCustomKeyStore:
// https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateCustomKeyStore.html
// CustomKeyStoreType defaults to AWS_CLOUDHSM. Each type requires its own members and refuses
// the other type's (ValidationException); the name, a CloudHSM cluster, an XKS proxy URI and a
// VPC endpoint service are unique in the account and Region; at most 10 stores
// (LimitExceededException). A new store is DISCONNECTED.
// Deviation: nothing is contacted, so the cluster is never "not found" or "not active", the
// trust anchor is not checked against it, and an XKS proxy never rejects the credential or
// answers wrongly (CloudHsmClusterNotFound/NotActive/InvalidConfiguration, IncorrectTrustAnchor,
// XksProxyUriUnreachable, XksProxyIncorrectAuthenticationCredential, XksProxyInvalidResponse,
// XksProxyVpcEndpointServiceNotFound/InvalidConfiguration never occur).
Result<void> CreateCustomKeyStore(OpContext& ctx, const JsonIn& in, JsonOut& out) {
  KMS_ASSIGN_OR_RETURN(std::string_view name, in.RequiredString("CustomKeyStoreName"));
  KMS_ASSIGN_OR_RETURN(const std::optional<CustomKeyStoreType> type,
                       OptionalEnum<CustomKeyStoreType>(in, "CustomKeyStoreType"));

  CustomKeyStoreRecord store;
  store.scope = ctx.scope;
  store.name = std::string(name);
  store.type = type.value_or(CustomKeyStoreType::kAwsCloudHsm);
  store.connection_state = ConnectionState::kDisconnected;
  store.creation_date = ctx.Now();
  KMS_TRY(RefuseMembersOfOtherType(in, store.type));
  if (store.type == CustomKeyStoreType::kAwsCloudHsm) {
    KMS_TRY(ReadCloudHsmSettings(in, store));
  } else {
    KMS_TRY(ReadXksSettings(ctx, in, store));
  }

  auto writer = ctx.registry.BeginWrite();
  KMS_TRY(CheckUnique(ctx, store));
  if (ctx.registry.ListCustomKeyStores(ctx.scope).size() >= kMaxCustomKeyStores) {
    return KmsError{server::ErrorCode::kLimitExceeded,
                    "This account and Region already have " + std::to_string(kMaxCustomKeyStores) +
                        " custom key stores, the most AWS KMS allows."};
  }
  KMS_ASSIGN_OR_RETURN(store.id, NewStoreId(ctx));
  const std::string id = store.id;
  if (!writer.InsertCustomKeyStore(std::move(store))) {
    return StorageFailure("CreateCustomKeyStore");
  }
  out.String("CustomKeyStoreId", id);
  return {};
}

// DescribeCustomKeyStores:
// https://docs.aws.amazon.com/kms/latest/APIReference/API_DescribeCustomKeyStores.html
// Every store of the account and Region, or the one named by CustomKeyStoreId or
// CustomKeyStoreName (not both: ValidationException), in id order; Limit/Marker paging as
// ListKeys pages (paging.hpp), NextMarker being the last id listed. Never returns
// KeyStorePassword or RawSecretAccessKey.
Result<void> DescribeCustomKeyStores(OpContext& ctx, const JsonIn& in, JsonOut& out) {
  const std::optional<std::string_view> id = in.OptionalString("CustomKeyStoreId");
  const std::optional<std::string_view> name = in.OptionalString("CustomKeyStoreName");
  if (id && name) {
    return KmsError::Validation(
        "Specify either CustomKeyStoreId or CustomKeyStoreName, but not both.");
  }
  const std::int64_t limit = in.OptionalInt("Limit").value_or(kDefaultDescribeLimit);
  const std::optional<std::string_view> marker = in.OptionalString("Marker");
  if (marker && !IsWellFormedStoreId(*marker)) return InvalidMarker(*marker);

  std::vector<CustomKeyStoreRecord> stores;
  if (id) {
    KMS_ASSIGN_OR_RETURN(CustomKeyStoreRecord store, FindCustomKeyStoreById(ctx, *id));
    stores.push_back(std::move(store));
  } else {
    stores = ctx.registry.ListCustomKeyStores(ctx.scope);
    if (name) {
      std::erase_if(stores, [&](const CustomKeyStoreRecord& s) { return s.name != *name; });
      if (stores.empty()) return StoreNameNotFound(*name);
    }
  }
  if (marker) {
    std::erase_if(stores, [&](const CustomKeyStoreRecord& s) { return s.id <= *marker; });
  }
  WritePage(
      out, "CustomKeyStores", std::span<const CustomKeyStoreRecord>(stores), limit,
      [&out](const CustomKeyStoreRecord& store) { WriteStoreEntry(store, out); },
      [](const CustomKeyStoreRecord& store) -> std::string_view { return store.id; });
  return {};
}

// UpdateCustomKeyStore:
// https://docs.aws.amazon.com/kms/latest/APIReference/API_UpdateCustomKeyStore.html
// NewCustomKeyStoreName (and, for an external key store, XksProxyAuthenticationCredential and
// XksProxyUriPath) change while the store is CONNECTED or DISCONNECTED; every other member needs
// it DISCONNECTED (CustomKeyStoreInvalidStateException). Members of the other type of store are
// refused (ValidationException); uniqueness is checked as in CreateCustomKeyStore.
// Deviation: a new CloudHsmClusterId is not checked for being related to the old one
// (CloudHsmClusterNotRelatedException never occurs); nothing is contacted (see Create).
Result<void> UpdateCustomKeyStore(OpContext& ctx, const JsonIn& in, JsonOut& /*out*/) {
  KMS_ASSIGN_OR_RETURN(std::string_view id, in.RequiredString("CustomKeyStoreId"));

  auto writer = ctx.registry.BeginWrite();
  KMS_ASSIGN_OR_RETURN(const CustomKeyStoreRecord store, FindCustomKeyStoreById(ctx, id));
  KMS_TRY(RefuseMembersOfOtherType(in, store.type));
  KMS_TRY(CheckUpdateAllowedInState(in, store));

  CustomKeyStoreRecord updated = store;
  if (auto v = in.OptionalString("NewCustomKeyStoreName")) updated.name = std::string(*v);
  if (store.type == CustomKeyStoreType::kAwsCloudHsm) {
    if (auto v = in.OptionalString("KeyStorePassword"))
      updated.key_store_password = std::string(*v);
    if (auto v = in.OptionalString("CloudHsmClusterId")) {
      updated.cloud_hsm_cluster_id = std::string(*v);
    }
  } else {
    KMS_TRY(ApplyXksUpdate(ctx, in, updated));
  }
  if (updated == store) return {};  // nothing changes: nothing to write
  KMS_TRY(CheckUnique(ctx, updated));
  return SaveStore(writer, std::move(updated), "UpdateCustomKeyStore");
}

// ConnectCustomKeyStore:
// https://docs.aws.amazon.com/kms/latest/APIReference/API_ConnectCustomKeyStore.html
// DISCONNECTED -> CONNECTED; a CONNECTED (or CONNECTING) store is left as it is; DISCONNECTING
// and FAILED are refused (CustomKeyStoreInvalidStateException), as AWS documents.
// Deviation: the connection completes before the call returns: kmsd shows CONNECTED at once
// where AWS shows CONNECTING for minutes (clients that poll DescribeCustomKeyStores until
// CONNECTED see it on their first poll), and it never fails (no FAILED, no ConnectionErrorCode).
Result<void> ConnectCustomKeyStore(OpContext& ctx, const JsonIn& in, JsonOut& /*out*/) {
  KMS_ASSIGN_OR_RETURN(std::string_view id, in.RequiredString("CustomKeyStoreId"));

  auto writer = ctx.registry.BeginWrite();
  KMS_ASSIGN_OR_RETURN(CustomKeyStoreRecord store, FindCustomKeyStoreById(ctx, id));
  switch (store.connection_state) {
    case ConnectionState::kConnected:
    case ConnectionState::kConnecting:
      return {};
    case ConnectionState::kDisconnecting:
    case ConnectionState::kFailed:
      return InvalidStoreState(
          "Custom key store " + store.id + " cannot be connected while its ConnectionState is " +
          Name(store.connection_state) + ". Disconnect it with DisconnectCustomKeyStore first.");
    case ConnectionState::kDisconnected:
      break;
  }
  store.connection_state = ConnectionState::kConnected;
  store.connection_error_code.reset();
  return SaveStore(writer, std::move(store), "ConnectCustomKeyStore");
}

// DisconnectCustomKeyStore:
// https://docs.aws.amazon.com/kms/latest/APIReference/API_DisconnectCustomKeyStore.html
// CONNECTED, CONNECTING or FAILED -> DISCONNECTED; a store that is DISCONNECTED or
// DISCONNECTING is refused (CustomKeyStoreInvalidStateException), as AWS documents. From then
// on its keys read Unavailable and cryptographic operations with them fail until it is
// connected again.
Result<void> DisconnectCustomKeyStore(OpContext& ctx, const JsonIn& in, JsonOut& /*out*/) {
  KMS_ASSIGN_OR_RETURN(std::string_view id, in.RequiredString("CustomKeyStoreId"));

  auto writer = ctx.registry.BeginWrite();
  KMS_ASSIGN_OR_RETURN(CustomKeyStoreRecord store, FindCustomKeyStoreById(ctx, id));
  if (store.connection_state == ConnectionState::kDisconnected ||
      store.connection_state == ConnectionState::kDisconnecting) {
    return InvalidStoreState("Custom key store " + store.id +
                             " is not connected: its ConnectionState is " +
                             Name(store.connection_state) + ".");
  }
  store.connection_state = ConnectionState::kDisconnected;
  store.connection_error_code.reset();
  return SaveStore(writer, std::move(store), "DisconnectCustomKeyStore");
}

// DeleteCustomKeyStore:
// https://docs.aws.amazon.com/kms/latest/APIReference/API_DeleteCustomKeyStore.html
// Only a DISCONNECTED store (CustomKeyStoreInvalidStateException) that holds no KMS keys
// (CustomKeyStoreHasCMKsException; a key pending deletion still counts until its deletion
// date). When both hold, the state is reported first (a choice: AWS's order is unknown).
Result<void> DeleteCustomKeyStore(OpContext& ctx, const JsonIn& in, JsonOut& /*out*/) {
  KMS_ASSIGN_OR_RETURN(std::string_view id, in.RequiredString("CustomKeyStoreId"));

  auto writer = ctx.registry.BeginWrite();
  KMS_ASSIGN_OR_RETURN(const CustomKeyStoreRecord store, FindCustomKeyStoreById(ctx, id));
  if (store.connection_state != ConnectionState::kDisconnected) {
    return InvalidStoreState(
        "Custom key store " + store.id + " must be " + Name(ConnectionState::kDisconnected) +
        " to be deleted, but its ConnectionState is " + Name(store.connection_state) + ".");
  }
  if (StoreHasKeys(ctx, store.id)) {
    return KmsError{server::ErrorCode::kCustomKeyStoreHasCmks,
                    "Custom key store " + store.id +
                        " contains KMS keys. Delete them with ScheduleKeyDeletion; once they "
                        "are deleted, the custom key store can be deleted."};
  }
  auto deleted = writer.DeleteCustomKeyStore(ctx.scope, store.id);
  if (!deleted) {
    if (deleted.error().code == storage::Error::Code::kNotFound) return StoreNotFound(store.id);
    return StorageFailure("DeleteCustomKeyStore");
  }
  return {};
}

}  // namespace kms::ops
