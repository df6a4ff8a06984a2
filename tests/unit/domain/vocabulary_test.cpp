#include "domain/vocabulary.hpp"

#include <algorithm>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/unit/domain/model_enum.hpp"

namespace kms::domain {
namespace {

using testing::ModelEnum;

template <Vocabulary E>
std::vector<std::string_view> Names() {
  std::vector<std::string_view> names;
  for (const WireRow<E>& row : WireRows(E{})) names.push_back(row.name);
  return names;
}

template <Vocabulary E>
void CheckRoundTrip() {
  std::set<std::string_view> seen;
  for (const WireRow<E>& row : WireRows(E{})) {
    CAPTURE(std::string(row.name));
    CHECK(WireName(row.value) == row.name);
    const std::optional<E> parsed = Parse<E>(row.name);
    REQUIRE(parsed);
    CHECK(*parsed == row.value);
    CHECK(seen.insert(row.name).second);  // no name twice
  }
  CHECK_FALSE(Parse<E>(""));
  CHECK_FALSE(Parse<E>("BOGUS"));
}

// The table holds exactly the model's values (in any order: the model's MacAlgorithmSpec is
// listed in AWS's order, not enum order).
template <Vocabulary E>
void CheckMatchesModel(std::string_view shape) {
  CAPTURE(std::string(shape));
  std::vector<std::string_view> ours = Names<E>();
  const auto model = ModelEnum(shape);
  std::vector<std::string_view> theirs(model.begin(), model.end());
  std::ranges::sort(ours);
  std::ranges::sort(theirs);
  CHECK(ours == theirs);
}

TEST_CASE("Every enumerator round-trips through its wire name", "[domain][vocabulary]") {
  CheckRoundTrip<KeyState>();
  CheckRoundTrip<KeyUsage>();
  CheckRoundTrip<KeySpec>();
  CheckRoundTrip<Origin>();
  CheckRoundTrip<KeyManager>();
  CheckRoundTrip<EncryptionAlgorithm>();
  CheckRoundTrip<SigningAlgorithm>();
  CheckRoundTrip<MacAlgorithm>();
  CheckRoundTrip<KeyAgreementAlgorithm>();
  CheckRoundTrip<RotationType>();
  CheckRoundTrip<ExpirationModel>();
  CheckRoundTrip<MultiRegionKeyType>();
  CheckRoundTrip<GrantOperation>();
  CheckRoundTrip<WrappingAlgorithm>();
  CheckRoundTrip<WrappingKeySpec>();
  CheckRoundTrip<ImportType>();
  CheckRoundTrip<ImportState>();
  CheckRoundTrip<KeyMaterialState>();
  CheckRoundTrip<CustomKeyStoreType>();
  CheckRoundTrip<ConnectionState>();
  CheckRoundTrip<ConnectionErrorCode>();
  CheckRoundTrip<XksProxyConnectivity>();
}

TEST_CASE("Each table holds exactly the botocore model's enum values", "[domain][vocabulary]") {
  CheckMatchesModel<KeyUsage>("KeyUsageType");
  CheckMatchesModel<KeySpec>("KeySpec");
  CheckMatchesModel<Origin>("OriginType");
  CheckMatchesModel<EncryptionAlgorithm>("EncryptionAlgorithmSpec");
  CheckMatchesModel<SigningAlgorithm>("SigningAlgorithmSpec");
  CheckMatchesModel<MacAlgorithm>("MacAlgorithmSpec");
  CheckMatchesModel<KeyAgreementAlgorithm>("KeyAgreementAlgorithmSpec");
  CheckMatchesModel<ExpirationModel>("ExpirationModelType");
  CheckMatchesModel<GrantOperation>("GrantOperation");
  CheckMatchesModel<WrappingAlgorithm>("AlgorithmSpec");
  CheckMatchesModel<WrappingKeySpec>("WrappingKeySpec");
  CheckMatchesModel<ImportType>("ImportType");
  CheckMatchesModel<CustomKeyStoreType>("CustomKeyStoreType");
  CheckMatchesModel<XksProxyConnectivity>("XksProxyConnectivityType");
}

TEST_CASE("Response-only enums match the model's values", "[domain][vocabulary]") {
  // Not in the request model; pinned from botocore's service-2.json.
  CHECK(Names<KeyState>() == std::vector<std::string_view>{"Creating", "Enabled", "Disabled",
                                                           "PendingDeletion", "PendingImport",
                                                           "PendingReplicaDeletion", "Unavailable",
                                                           "Updating"});
  CHECK(Names<KeyManager>() == std::vector<std::string_view>{"AWS", "CUSTOMER"});
  CHECK(Names<RotationType>() == std::vector<std::string_view>{"AUTOMATIC", "ON_DEMAND"});
  CHECK(Names<MultiRegionKeyType>() == std::vector<std::string_view>{"PRIMARY", "REPLICA"});
  CHECK(Names<ImportState>() == std::vector<std::string_view>{"IMPORTED", "PENDING_IMPORT"});
  CHECK(Names<KeyMaterialState>() ==
        std::vector<std::string_view>{"NON_CURRENT", "CURRENT", "PENDING_ROTATION",
                                      "PENDING_MULTI_REGION_IMPORT_AND_ROTATION"});
  CHECK(Names<ConnectionState>() == std::vector<std::string_view>{"CONNECTED", "CONNECTING",
                                                                  "FAILED", "DISCONNECTED",
                                                                  "DISCONNECTING"});
  CHECK(Names<ConnectionErrorCode>() ==
        std::vector<std::string_view>{
            "INVALID_CREDENTIALS", "CLUSTER_NOT_FOUND", "NETWORK_ERRORS", "INTERNAL_ERROR",
            "INSUFFICIENT_CLOUDHSM_HSMS", "USER_LOCKED_OUT", "USER_NOT_FOUND", "USER_LOGGED_IN",
            "SUBNET_NOT_FOUND", "INSUFFICIENT_FREE_ADDRESSES_IN_SUBNET", "XKS_PROXY_ACCESS_DENIED",
            "XKS_PROXY_NOT_REACHABLE", "XKS_VPC_ENDPOINT_SERVICE_NOT_FOUND",
            "XKS_PROXY_INVALID_RESPONSE", "XKS_PROXY_INVALID_CONFIGURATION",
            "XKS_VPC_ENDPOINT_SERVICE_INVALID_CONFIGURATION", "XKS_PROXY_TIMED_OUT",
            "XKS_PROXY_INVALID_TLS_CONFIGURATION"});
}

TEST_CASE("Parsing is exact: case and surrounding space matter", "[domain][vocabulary]") {
  CHECK(Parse<KeyState>("PendingDeletion") == KeyState::kPendingDeletion);
  CHECK_FALSE(Parse<KeyState>("pendingdeletion"));
  CHECK_FALSE(Parse<KeySpec>("RSA_2048 "));
  CHECK_FALSE(Parse<KeySpec>("RSA_1024"));
  // SYMMETRIC_DEFAULT is both a key spec and an encryption algorithm, as in AWS.
  CHECK(Parse<KeySpec>("SYMMETRIC_DEFAULT") == KeySpec::kSymmetricDefault);
  CHECK(Parse<EncryptionAlgorithm>("SYMMETRIC_DEFAULT") == EncryptionAlgorithm::kSymmetricDefault);
  CHECK_FALSE(Parse<SigningAlgorithm>("SYMMETRIC_DEFAULT"));
}

static_assert(WireName(KeyState::kEnabled) == "Enabled", "WireName is usable at compile time");

}  // namespace
}  // namespace kms::domain
