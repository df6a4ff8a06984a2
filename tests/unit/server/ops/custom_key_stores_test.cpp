// Tests for server/ops/custom_key_stores.cpp: CreateCustomKeyStore, DescribeCustomKeyStores,
// UpdateCustomKeyStore, ConnectCustomKeyStore, DisconnectCustomKeyStore, DeleteCustomKeyStore,
// and keys in custom key stores (CreateKey, DescribeKey, cryptographic operations, rotation,
// GenerateRandom).
#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include <catch2/catch.hpp>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "domain/vocabulary.hpp"
#include "storage/key_usage_tracker.hpp"
#include "storage/registry.hpp"
#include "storage/sqlite_store.hpp"
#include "tests/unit/server/ops/op_harness.hpp"
#include "tests/unit/storage/faulty_store.hpp"

namespace {

using namespace kms::testing;
using kms::server::JsonOut;
namespace domain = kms::domain;

constexpr std::string_view kPassword = "kmsuser-Passw0rd";
constexpr std::string_view kSecret = "SECRETsecretSECRETsecretSECRETsecret+/=1234";  // 43 chars
constexpr std::string_view kAccessKeyId = "ABCDEFGHIJKLMNOPQRST";                    // 20 chars
constexpr std::string_view kCert = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----";

// A CreateCustomKeyStore body for an AWS_CLOUDHSM store; `type` adds CustomKeyStoreType.
std::string CloudHsmBody(std::string_view name, std::string_view cluster = "cluster-2a34b5cdefg",
                         bool type = false) {
  JsonOut out;
  out.String("CustomKeyStoreName", name);
  if (type) out.String("CustomKeyStoreType", "AWS_CLOUDHSM");
  out.String("CloudHsmClusterId", cluster);
  out.String("TrustAnchorCertificate", kCert);
  out.String("KeyStorePassword", kPassword);
  return out.Finish();
}

void WriteCredential(JsonOut& out, std::string_view access_key_id = kAccessKeyId,
                     std::string_view secret = kSecret) {
  out.Key("XksProxyAuthenticationCredential");
  out.StartObject();
  out.String("AccessKeyId", access_key_id);
  out.String("RawSecretAccessKey", secret);
  out.EndObject();
}

// A CreateCustomKeyStore body for an EXTERNAL_KEY_STORE store with PUBLIC_ENDPOINT connectivity
// (VPC_ENDPOINT_SERVICE when `vpc_service` is given).
std::string XksBody(std::string_view name, std::string_view endpoint = "https://xks.example.com",
                    std::string_view path = "/kms/xks/v1", std::string_view vpc_service = {}) {
  JsonOut out;
  out.String("CustomKeyStoreName", name);
  out.String("CustomKeyStoreType", "EXTERNAL_KEY_STORE");
  out.String("XksProxyUriEndpoint", endpoint);
  out.String("XksProxyUriPath", path);
  WriteCredential(out);
  if (vpc_service.empty()) {
    out.String("XksProxyConnectivity", "PUBLIC_ENDPOINT");
  } else {
    out.String("XksProxyConnectivity", "VPC_ENDPOINT_SERVICE");
    out.String("XksProxyVpcEndpointServiceName", vpc_service);
  }
  return out.Finish();
}

constexpr std::string_view kVpcService = "com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0";
constexpr std::string_view kOtherVpcService =
    "com.amazonaws.vpce.us-east-1.vpce-svc-0fedcba9876543210";

std::string IdBody(std::string_view id) {
  JsonOut out;
  out.String("CustomKeyStoreId", id);
  return out.Finish();
}

// Creates a store from `body` (REQUIREs success) and returns its id.
std::string Create(OpHarness& h, const std::string& body, std::string_view region = {}) {
  CallResult r = h.Call("CreateCustomKeyStore", body, region);
  INFO(r.body);
  REQUIRE(r.status == 200);
  return r.Str("CustomKeyStoreId");
}

void Connect(OpHarness& h, const std::string& id) {
  REQUIRE(h.Call("ConnectCustomKeyStore", IdBody(id)).status == 200);
}
void Disconnect(OpHarness& h, const std::string& id) {
  REQUIRE(h.Call("DisconnectCustomKeyStore", IdBody(id)).status == 200);
}

// The one entry DescribeCustomKeyStores gives for `id`.
CallResult DescribeOne(OpHarness& h, const std::string& id) {
  CallResult r = h.Call("DescribeCustomKeyStores", IdBody(id));
  REQUIRE(r.status == 200);
  REQUIRE(r.json["CustomKeyStores"].Size() == 1);
  return r;
}

std::string StateOf(OpHarness& h, const std::string& id) {
  CallResult r = DescribeOne(h, id);
  return r.json["CustomKeyStores"][0]["ConnectionState"].GetString();
}

// A connected AWS_CLOUDHSM store.
std::string ConnectedCloudHsm(OpHarness& h, std::string_view name = "hsm") {
  const std::string id = Create(h, CloudHsmBody(name));
  Connect(h, id);
  return id;
}

// A CreateKey body for a key in store `store_id`.
std::string KeyInStoreBody(std::string_view store_id, std::string_view origin = "AWS_CLOUDHSM",
                           std::string_view xks_key_id = {}) {
  JsonOut out;
  out.String("CustomKeyStoreId", store_id);
  if (!origin.empty()) out.String("Origin", origin);
  if (!xks_key_id.empty()) out.String("XksKeyId", xks_key_id);
  return out.Finish();
}

std::string CreateKeyIn(OpHarness& h, std::string_view store_id,
                        std::string_view origin = "AWS_CLOUDHSM", std::string_view xks = {}) {
  CallResult r = h.Call("CreateKey", KeyInStoreBody(store_id, origin, xks));
  INFO(r.body);
  REQUIRE(r.status == 200);
  return r.json["KeyMetadata"]["KeyId"].GetString();
}

std::string EncryptBody(std::string_view key_ref) {
  JsonOut out;
  out.String("KeyId", key_ref);
  out.String("Plaintext", "aGVsbG8=");
  return out.Finish();
}

// Stores `store` straight into the registry (states CreateCustomKeyStore never makes).
void SetState(OpHarness& h, const std::string& id, domain::ConnectionState state,
              std::optional<domain::ConnectionErrorCode> code = std::nullopt) {
  auto writer = h.registry().BeginWrite();
  auto store = h.registry().FindCustomKeyStore(kUsEast, id);
  REQUIRE(store.has_value());
  store->connection_state = state;
  store->connection_error_code = code;
  REQUIRE(writer.UpdateCustomKeyStore(*store).has_value());
}

void CheckError(const CallResult& r, std::string_view type, std::string_view message) {
  INFO(r.body);
  CHECK(r.status == 400);
  CHECK(r.type == type);
  CHECK(r.message == message);
}

}  // namespace

// --- CreateCustomKeyStore -------------------------------------------------------------------

TEST_CASE("CreateCustomKeyStore makes a disconnected CloudHSM key store by default",
          "[ops][custom_key_store]") {
  OpHarness h;
  const bool explicit_type = GENERATE(false, true);
  CallResult r =
      h.Call("CreateCustomKeyStore", CloudHsmBody("hsm", "cluster-2a34b5cdefg", explicit_type));
  REQUIRE(r.status == 200);
  const std::string id = r.Str("CustomKeyStoreId");
  CHECK(std::regex_match(id, std::regex("cks-[0-9a-f]{17}")));
  CHECK(r.body == R"({"CustomKeyStoreId":")" + id + R"("})");

  CallResult d = DescribeOne(h, id);
  CHECK(d.body == R"({"CustomKeyStores":[{"CustomKeyStoreId":")" + id +
                      R"(","CustomKeyStoreName":"hsm","CloudHsmClusterId":"cluster-2a34b5cdefg",)"
                      R"("TrustAnchorCertificate":"-----BEGIN CERTIFICATE-----\nMIIB\n-----END )"
                      R"(CERTIFICATE-----","ConnectionState":"DISCONNECTED","CreationDate":)" +
                      std::to_string(kStart) +
                      R"(,"CustomKeyStoreType":"AWS_CLOUDHSM"}],"Truncated":false})");
  // The password is kept (to connect, as AWS keeps it) and never returned.
  CHECK(h.registry().FindCustomKeyStore(kUsEast, id)->key_store_password == kPassword);
  CHECK(d.body.find(kPassword) == std::string::npos);
}

TEST_CASE("CreateCustomKeyStore makes external key stores with public and VPC connectivity",
          "[ops][custom_key_store]") {
  OpHarness h;
  SECTION("PUBLIC_ENDPOINT") {
    const std::string id = Create(h, XksBody("xks"));
    CallResult d = DescribeOne(h, id);
    CHECK(d.body == R"({"CustomKeyStores":[{"CustomKeyStoreId":")" + id +
                        R"(","CustomKeyStoreName":"xks","ConnectionState":"DISCONNECTED",)"
                        R"("CreationDate":)" +
                        std::to_string(kStart) +
                        R"(,"CustomKeyStoreType":"EXTERNAL_KEY_STORE","XksProxyConfiguration":{)"
                        R"("Connectivity":"PUBLIC_ENDPOINT","AccessKeyId":"ABCDEFGHIJKLMNOPQRST",)"
                        R"("UriEndpoint":"https://xks.example.com","UriPath":"/kms/xks/v1"}}],)"
                        R"("Truncated":false})");
    CHECK(d.body.find(kSecret) == std::string::npos);
    CHECK(h.registry().FindCustomKeyStore(kUsEast, id)->xks_secret_access_key == kSecret);
  }
  SECTION("VPC_ENDPOINT_SERVICE: the owner defaults to the caller's account") {
    const std::string id =
        Create(h, XksBody("xks", "https://private.example.com", "/a/kms/xks/v1", kVpcService));
    CallResult d = DescribeOne(h, id);
    const auto& config = d.json["CustomKeyStores"][0]["XksProxyConfiguration"];
    CHECK(std::string(config["Connectivity"].GetString()) == "VPC_ENDPOINT_SERVICE");
    CHECK(std::string(config["VpcEndpointServiceName"].GetString()) == kVpcService);
    CHECK(std::string(config["VpcEndpointServiceOwner"].GetString()) == "111122223333");
    CHECK(std::string(config["UriPath"].GetString()) == "/a/kms/xks/v1");
  }
  SECTION("VPC_ENDPOINT_SERVICE with an owner") {
    const std::string body =
        WithMembers(XksBody("xks", "https://private.example.com", "/kms/xks/v1", kVpcService),
                    R"("XksProxyVpcEndpointServiceOwner":"444455556666")");
    const std::string id = Create(h, body);
    CallResult d = DescribeOne(h, id);
    CHECK(
        std::string(d.json["CustomKeyStores"][0]["XksProxyConfiguration"]["VpcEndpointServiceOwner"]
                        .GetString()) == "444455556666");
  }
}

TEST_CASE("CreateCustomKeyStore requires the members of the store's type",
          "[ops][custom_key_store]") {
  OpHarness h;
  SECTION("AWS_CLOUDHSM") {
    const std::string member = GENERATE(as<std::string>{}, "CloudHsmClusterId",
                                        "TrustAnchorCertificate", "KeyStorePassword");
    rapidjson::Document doc;
    doc.Parse(CloudHsmBody("hsm").c_str());
    doc.RemoveMember(member.c_str());
    JsonOut out;
    for (const auto& m : doc.GetObject()) out.String(m.name.GetString(), m.value.GetString());
    CheckError(h.Call("CreateCustomKeyStore", out.Finish()), "ValidationException",
               member +
                   " is required for custom key stores with a CustomKeyStoreType of "
                   "AWS_CLOUDHSM.");
  }
  SECTION("EXTERNAL_KEY_STORE") {
    const std::string member = GENERATE(as<std::string>{}, "XksProxyUriEndpoint", "XksProxyUriPath",
                                        "XksProxyAuthenticationCredential", "XksProxyConnectivity");
    rapidjson::Document doc;
    doc.Parse(XksBody("xks").c_str());
    doc.RemoveMember(member.c_str());
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
    doc.Accept(writer);
    CheckError(h.Call("CreateCustomKeyStore", buffer.GetString()), "ValidationException",
               member +
                   " is required for custom key stores with a CustomKeyStoreType of "
                   "EXTERNAL_KEY_STORE.");
  }
  SECTION("VPC_ENDPOINT_SERVICE needs a service name") {
    const std::string body =
        std::regex_replace(XksBody("xks"), std::regex("PUBLIC_ENDPOINT"), "VPC_ENDPOINT_SERVICE");
    CheckError(h.Call("CreateCustomKeyStore", body), "ValidationException",
               "XksProxyVpcEndpointServiceName is required for custom key stores with an "
               "XksProxyConnectivity of VPC_ENDPOINT_SERVICE.");
  }
  CHECK(h.registry().ListCustomKeyStores(kUsEast).empty());
}

TEST_CASE("CreateCustomKeyStore refuses the members of the other type of store",
          "[ops][custom_key_store]") {
  OpHarness h;
  SECTION("XKS members for a CloudHSM store") {
    const std::string member = GENERATE(
        as<std::string>{}, R"("XksProxyUriEndpoint":"https://xks.example.com")",
        R"("XksProxyUriPath":"/kms/xks/v1")", R"("XksProxyConnectivity":"PUBLIC_ENDPOINT")",
        R"("XksProxyVpcEndpointServiceOwner":"111122223333")");
    const std::string name = member.substr(1, member.find('"', 1) - 1);
    CheckError(h.Call("CreateCustomKeyStore", WithMembers(CloudHsmBody("hsm"), member)),
               "ValidationException",
               name +
                   " is valid only for custom key stores with a CustomKeyStoreType of "
                   "EXTERNAL_KEY_STORE.");
  }
  SECTION("CloudHSM members for an external key store") {
    const std::string member =
        GENERATE(as<std::string>{}, R"("CloudHsmClusterId":"cluster-2a34b5cdefg")",
                 R"("TrustAnchorCertificate":"cert")", R"("KeyStorePassword":"password1")");
    const std::string name = member.substr(1, member.find('"', 1) - 1);
    CheckError(h.Call("CreateCustomKeyStore", WithMembers(XksBody("xks"), member)),
               "ValidationException",
               name +
                   " is valid only for custom key stores with a CustomKeyStoreType of "
                   "AWS_CLOUDHSM.");
  }
  SECTION("VPC members with PUBLIC_ENDPOINT connectivity") {
    const std::string member = GENERATE(
        as<std::string>{},
        std::string(R"("XksProxyVpcEndpointServiceName":")") + std::string(kVpcService) + "\"",
        R"("XksProxyVpcEndpointServiceOwner":"111122223333")");
    const std::string name = member.substr(1, member.find('"', 1) - 1);
    CheckError(h.Call("CreateCustomKeyStore", WithMembers(XksBody("xks"), member)),
               "XksProxyInvalidConfigurationException",
               name + " is valid only when XksProxyConnectivity is VPC_ENDPOINT_SERVICE.");
  }
  CHECK(h.registry().ListCustomKeyStores(kUsEast).empty());
}

TEST_CASE("CreateCustomKeyStore's model checks never echo a secret", "[ops][custom_key_store]") {
  OpHarness h;
  CallResult r = h.Call("CreateCustomKeyStore",
                        R"({"CustomKeyStoreName":"hsm","CloudHsmClusterId":"cluster-2a34b5cdefg",)"
                        R"("TrustAnchorCertificate":"c","KeyStorePassword":"short"})");
  CHECK(r.type == "ValidationException");
  CHECK(r.body.find("short") == std::string::npos);
  JsonOut out;
  out.String("CustomKeyStoreName", "xks");
  out.String("CustomKeyStoreType", "EXTERNAL_KEY_STORE");
  WriteCredential(out, kAccessKeyId, "not a valid secret!");
  CallResult x = h.Call("CreateCustomKeyStore", out.Finish());
  CHECK(x.type == "ValidationException");
  CHECK(x.body.find("not a valid secret") == std::string::npos);
}

TEST_CASE("Custom key store names are unique in an account and Region", "[ops][custom_key_store]") {
  OpHarness h;
  const std::string first = Create(h, CloudHsmBody("shared"));
  CheckError(h.Call("CreateCustomKeyStore", XksBody("shared")), "CustomKeyStoreNameInUseException",
             "Custom key store name 'shared' is already in use by custom key store " + first +
                 " in this account and Region.");
  // Another Region is another namespace (and the same cluster id is another cluster).
  Create(h, CloudHsmBody("shared"), "eu-west-2");
  CHECK(h.registry().ListCustomKeyStores(kUsEast).size() == 1);
}

TEST_CASE("A CloudHSM cluster backs one custom key store", "[ops][custom_key_store]") {
  OpHarness h;
  const std::string first = Create(h, CloudHsmBody("one", "cluster-2a34b5cdefg"));
  CheckError(h.Call("CreateCustomKeyStore", CloudHsmBody("two", "cluster-2a34b5cdefg")),
             "CloudHsmClusterInUseException",
             "CloudHSM cluster cluster-2a34b5cdefg is already associated with custom key store " +
                 first + ".");
  Create(h, CloudHsmBody("two", "cluster-3b45c6defgh"));
}

TEST_CASE("External key stores need proxy URIs and VPC endpoint services of their own",
          "[ops][custom_key_store]") {
  OpHarness h;
  const std::string pub = Create(h, XksBody("public"));
  SECTION("the same endpoint and path") {
    CheckError(h.Call("CreateCustomKeyStore", XksBody("again")), "XksProxyUriInUseException",
               "XKS proxy URI https://xks.example.com/kms/xks/v1 is already associated with "
               "custom key store " +
                   pub + ".");
  }
  SECTION("a public endpoint may serve two paths") {
    Create(h, XksBody("second", "https://xks.example.com", "/two/kms/xks/v1"));
  }
  SECTION("a VPC store may not share a public store's endpoint") {
    CheckError(h.Call("CreateCustomKeyStore",
                      XksBody("vpc", "https://xks.example.com", "/vpc/kms/xks/v1", kVpcService)),
               "XksProxyUriEndpointInUseException",
               "XksProxyUriEndpoint https://xks.example.com is already associated with custom "
               "key store " +
                   pub +
                   ". An external key store with VPC_ENDPOINT_SERVICE connectivity needs an "
                   "XksProxyUriEndpoint of its own.");
  }
  SECTION("nor one VPC endpoint service serve two stores") {
    const std::string vpc =
        Create(h, XksBody("vpc", "https://private.example.com", "/kms/xks/v1", kVpcService));
    CheckError(h.Call("CreateCustomKeyStore",
                      XksBody("vpc2", "https://private2.example.com", "/kms/xks/v1", kVpcService)),
               "XksProxyVpcEndpointServiceInUseException",
               "VPC endpoint service " + std::string(kVpcService) +
                   " is already associated with custom key store " + vpc + ".");
    Create(h, XksBody("vpc3", "https://private3.example.com", "/kms/xks/v1", kOtherVpcService));
  }
}

TEST_CASE("An account and Region hold at most 10 custom key stores", "[ops][custom_key_store]") {
  OpHarness h;
  for (int i = 0; i < 10; ++i) {
    Create(h, XksBody("xks" + std::to_string(i), "https://xks" + std::to_string(i) + ".example"));
  }
  CheckError(h.Call("CreateCustomKeyStore", CloudHsmBody("eleventh")), "LimitExceededException",
             "This account and Region already have 10 custom key stores, the most AWS KMS "
             "allows.");
  Create(h, CloudHsmBody("eleventh"), "eu-west-2");
}

// --- DescribeCustomKeyStores ----------------------------------------------------------------

TEST_CASE("DescribeCustomKeyStores lists every store, or the one named by id or name",
          "[ops][custom_key_store]") {
  OpHarness h;
  const std::string a = Create(h, CloudHsmBody("alpha"));
  const std::string b = Create(h, XksBody("beta"));
  Create(h, CloudHsmBody("gamma"), "eu-west-2");

  CallResult all = h.Call("DescribeCustomKeyStores", "{}");
  REQUIRE(all.status == 200);
  REQUIRE(all.json["CustomKeyStores"].Size() == 2);
  std::vector<std::string> ids = {all.json["CustomKeyStores"][0]["CustomKeyStoreId"].GetString(),
                                  all.json["CustomKeyStores"][1]["CustomKeyStoreId"].GetString()};
  CHECK(ids == std::vector<std::string>{std::min(a, b), std::max(a, b)});  // id order
  CHECK_FALSE(all.json["Truncated"].GetBool());
  CHECK_FALSE(all.json.HasMember("NextMarker"));

  CallResult by_name = h.Call("DescribeCustomKeyStores", R"({"CustomKeyStoreName":"beta"})");
  REQUIRE(by_name.status == 200);
  REQUIRE(by_name.json["CustomKeyStores"].Size() == 1);
  CHECK(std::string(by_name.json["CustomKeyStores"][0]["CustomKeyStoreId"].GetString()) == b);
}

TEST_CASE("DescribeCustomKeyStores errors", "[ops][custom_key_store]") {
  OpHarness h;
  const std::string id = Create(h, CloudHsmBody("hsm"));
  CheckError(h.Call("DescribeCustomKeyStores", IdBody("cks-00000000000000000")),
             "CustomKeyStoreNotFoundException",
             "Custom key store 'cks-00000000000000000' does not exist.");
  CheckError(h.Call("DescribeCustomKeyStores", R"({"CustomKeyStoreName":"nope"})"),
             "CustomKeyStoreNotFoundException",
             "Custom key store with name 'nope' does not exist.");
  CheckError(
      h.Call("DescribeCustomKeyStores", WithMembers(IdBody(id), R"("CustomKeyStoreName":"hsm")")),
      "ValidationException",
      "Specify either CustomKeyStoreId or CustomKeyStoreName, but not both.");
  CheckError(h.Call("DescribeCustomKeyStores", R"({"Marker":"garbage"})"), "InvalidMarkerException",
             "The marker 'garbage' is not valid.");
  // A store of another Region is not found here.
  CheckError(h.Call("DescribeCustomKeyStores", IdBody(id), "eu-west-2"),
             "CustomKeyStoreNotFoundException", "Custom key store '" + id + "' does not exist.");
}

TEST_CASE("DescribeCustomKeyStores pages with Limit and Marker", "[ops][custom_key_store]") {
  OpHarness h;
  std::vector<std::string> created;
  for (int i = 0; i < 5; ++i)
    created.push_back(
        Create(h, CloudHsmBody("s" + std::to_string(i),
                               "cluster-abcdefghijk" + std::string(1, char('a' + i)))));
  std::sort(created.begin(), created.end());

  std::vector<std::string> seen;
  std::string marker;
  int pages = 0;
  for (;;) {
    std::string body =
        R"({"Limit":2)" + (marker.empty() ? "" : R"(,"Marker":")" + marker + "\"") + "}";
    CallResult r = h.Call("DescribeCustomKeyStores", body);
    REQUIRE(r.status == 200);
    ++pages;
    for (const auto& s : r.json["CustomKeyStores"].GetArray()) {
      seen.push_back(s["CustomKeyStoreId"].GetString());
    }
    if (!r.json["Truncated"].GetBool()) {
      CHECK_FALSE(r.json.HasMember("NextMarker"));
      break;
    }
    CHECK(r.json["CustomKeyStores"].Size() == 2);
    marker = r.Str("NextMarker");
    CHECK(marker == seen.back());
    REQUIRE(pages < 10);
  }
  CHECK(pages == 3);
  CHECK(seen == created);
}

// --- ConnectCustomKeyStore / DisconnectCustomKeyStore ---------------------------------------

TEST_CASE("ConnectCustomKeyStore connects at once; DisconnectCustomKeyStore disconnects",
          "[ops][custom_key_store]") {
  OpHarness h;
  const std::string id =
      Create(h, GENERATE(as<std::string>{}, CloudHsmBody("store"), XksBody("store")));
  CHECK(StateOf(h, id) == "DISCONNECTED");
  CallResult c = h.Call("ConnectCustomKeyStore", IdBody(id));
  REQUIRE(c.status == 200);
  CHECK(c.body == "{}");
  CHECK(StateOf(h, id) == "CONNECTED");
  // Connecting a connected store changes nothing.
  CHECK(h.Call("ConnectCustomKeyStore", IdBody(id)).status == 200);
  CHECK(StateOf(h, id) == "CONNECTED");

  CallResult d = h.Call("DisconnectCustomKeyStore", IdBody(id));
  REQUIRE(d.status == 200);
  CHECK(d.body == "{}");
  CHECK(StateOf(h, id) == "DISCONNECTED");
  CheckError(h.Call("DisconnectCustomKeyStore", IdBody(id)), "CustomKeyStoreInvalidStateException",
             "Custom key store " + id + " is not connected: its ConnectionState is DISCONNECTED.");
}

TEST_CASE("ConnectCustomKeyStore refuses a FAILED or DISCONNECTING store",
          "[ops][custom_key_store]") {
  OpHarness h;
  const std::string id = Create(h, CloudHsmBody("store"));
  SECTION("FAILED: the error code shows, and Disconnect clears it") {
    SetState(h, id, domain::ConnectionState::kFailed,
             domain::ConnectionErrorCode::kClusterNotFound);
    CallResult d = DescribeOne(h, id);
    CHECK(std::string(d.json["CustomKeyStores"][0]["ConnectionState"].GetString()) == "FAILED");
    CHECK(std::string(d.json["CustomKeyStores"][0]["ConnectionErrorCode"].GetString()) ==
          "CLUSTER_NOT_FOUND");
    CheckError(h.Call("ConnectCustomKeyStore", IdBody(id)), "CustomKeyStoreInvalidStateException",
               "Custom key store " + id +
                   " cannot be connected while its ConnectionState is FAILED. Disconnect it with "
                   "DisconnectCustomKeyStore first.");
    Disconnect(h, id);
    CallResult after = DescribeOne(h, id);
    CHECK_FALSE(after.json["CustomKeyStores"][0].HasMember("ConnectionErrorCode"));
    Connect(h, id);
    CHECK(StateOf(h, id) == "CONNECTED");
  }
  SECTION("DISCONNECTING") {
    SetState(h, id, domain::ConnectionState::kDisconnecting);
    CHECK(h.Call("ConnectCustomKeyStore", IdBody(id)).type ==
          "CustomKeyStoreInvalidStateException");
    CheckError(
        h.Call("DisconnectCustomKeyStore", IdBody(id)), "CustomKeyStoreInvalidStateException",
        "Custom key store " + id + " is not connected: its ConnectionState is DISCONNECTING.");
  }
  SECTION("the error code shows only while FAILED") {
    SetState(h, id, domain::ConnectionState::kConnected,
             domain::ConnectionErrorCode::kNetworkErrors);
    CHECK_FALSE(DescribeOne(h, id).json["CustomKeyStores"][0].HasMember("ConnectionErrorCode"));
  }
}

TEST_CASE(
    "Every custom key store operation answers CustomKeyStoreNotFoundException for an "
    "unknown id",
    "[ops][custom_key_store]") {
  OpHarness h;
  const std::string op =
      GENERATE(as<std::string>{}, "ConnectCustomKeyStore", "DisconnectCustomKeyStore",
               "DeleteCustomKeyStore", "UpdateCustomKeyStore", "DescribeCustomKeyStores");
  CheckError(h.Call(op, IdBody("cks-0123456789abcdef0")), "CustomKeyStoreNotFoundException",
             "Custom key store 'cks-0123456789abcdef0' does not exist.");
}

// --- UpdateCustomKeyStore -------------------------------------------------------------------

TEST_CASE("UpdateCustomKeyStore renames a store, connected or not", "[ops][custom_key_store]") {
  OpHarness h;
  const std::string id = Create(h, CloudHsmBody("old"));
  const bool connected = GENERATE(false, true);
  if (connected) Connect(h, id);
  CallResult r =
      h.Call("UpdateCustomKeyStore", WithMembers(IdBody(id), R"("NewCustomKeyStoreName":"new")"));
  REQUIRE(r.status == 200);
  CHECK(r.body == "{}");
  CHECK(std::string(
            DescribeOne(h, id).json["CustomKeyStores"][0]["CustomKeyStoreName"].GetString()) ==
        "new");
  // The old name is free again; the new one is taken.
  const std::string other = Create(h, CloudHsmBody("old", "cluster-3b45c6defgh"));
  CheckError(h.Call("UpdateCustomKeyStore",
                    WithMembers(IdBody(other), R"("NewCustomKeyStoreName":"new")")),
             "CustomKeyStoreNameInUseException",
             "Custom key store name 'new' is already in use by custom key store " + id +
                 " in this account and Region.");
  // Renaming a store to its own name changes nothing.
  CHECK(h.Call("UpdateCustomKeyStore", WithMembers(IdBody(id), R"("NewCustomKeyStoreName":"new")"))
            .status == 200);
}

TEST_CASE(
    "UpdateCustomKeyStore changes a CloudHSM store's password and cluster only while "
    "disconnected",
    "[ops][custom_key_store]") {
  OpHarness h;
  const std::string id = Create(h, CloudHsmBody("hsm"));
  const std::string other = Create(h, CloudHsmBody("other", "cluster-3b45c6defgh"));
  const std::string password = R"("KeyStorePassword":"new-password")";
  const std::string cluster = R"("CloudHsmClusterId":"cluster-4c56d7efghi")";

  Connect(h, id);
  CheckError(h.Call("UpdateCustomKeyStore", WithMembers(IdBody(id), password)),
             "CustomKeyStoreInvalidStateException",
             "Custom key store " + id +
                 " must be DISCONNECTED to change KeyStorePassword, but its ConnectionState is "
                 "CONNECTED.");
  CheckError(h.Call("UpdateCustomKeyStore", WithMembers(IdBody(id), cluster)),
             "CustomKeyStoreInvalidStateException",
             "Custom key store " + id +
                 " must be DISCONNECTED to change CloudHsmClusterId, but its ConnectionState is "
                 "CONNECTED.");
  Disconnect(h, id);
  REQUIRE(
      h.Call("UpdateCustomKeyStore", WithMembers(IdBody(id), password + "," + cluster)).status ==
      200);
  auto stored = h.registry().FindCustomKeyStore(kUsEast, id);
  CHECK(stored->key_store_password == "new-password");
  CHECK(stored->cloud_hsm_cluster_id == "cluster-4c56d7efghi");

  CheckError(h.Call("UpdateCustomKeyStore",
                    WithMembers(IdBody(id), R"("CloudHsmClusterId":"cluster-3b45c6defgh")")),
             "CloudHsmClusterInUseException",
             "CloudHSM cluster cluster-3b45c6defgh is already associated with custom key store " +
                 other + ".");
  CheckError(
      h.Call("UpdateCustomKeyStore", WithMembers(IdBody(id), R"("XksProxyUriPath":"/kms/xks/v1")")),
      "ValidationException",
      "XksProxyUriPath is valid only for custom key stores with a CustomKeyStoreType of "
      "EXTERNAL_KEY_STORE.");
}

TEST_CASE(
    "UpdateCustomKeyStore changes an external key store's credential and path while "
    "connected, the rest while disconnected",
    "[ops][custom_key_store]") {
  OpHarness h;
  const std::string id = Create(h, XksBody("xks"));
  Connect(h, id);
  {
    JsonOut out;
    out.String("CustomKeyStoreId", id);
    out.String("XksProxyUriPath", "/new/kms/xks/v2");
    WriteCredential(out, "ZYXWVUTSRQPONMLKJIHG", "0123456789012345678901234567890123456789abc");
    REQUIRE(h.Call("UpdateCustomKeyStore", out.Finish()).status == 200);
  }
  auto stored = h.registry().FindCustomKeyStore(kUsEast, id);
  CHECK(stored->xks_uri_path == "/new/kms/xks/v2");
  CHECK(stored->xks_access_key_id == "ZYXWVUTSRQPONMLKJIHG");
  CHECK(stored->xks_secret_access_key == "0123456789012345678901234567890123456789abc");
  CHECK(stored->connection_state == domain::ConnectionState::kConnected);

  const std::string member = GENERATE(
      as<std::string>{}, R"("XksProxyUriEndpoint":"https://other.example.com")",
      R"("XksProxyConnectivity":"PUBLIC_ENDPOINT")",
      std::string(R"("XksProxyVpcEndpointServiceName":")") + std::string(kVpcService) + "\"",
      R"("XksProxyVpcEndpointServiceOwner":"111122223333")");
  const std::string name = member.substr(1, member.find('"', 1) - 1);
  CheckError(h.Call("UpdateCustomKeyStore", WithMembers(IdBody(id), member)),
             "CustomKeyStoreInvalidStateException",
             "Custom key store " + id + " must be DISCONNECTED to change " + name +
                 ", but its ConnectionState is CONNECTED.");
  CheckError(
      h.Call("UpdateCustomKeyStore", WithMembers(IdBody(id), R"("KeyStorePassword":"pw12345")")),
      "ValidationException",
      "KeyStorePassword is valid only for custom key stores with a CustomKeyStoreType of "
      "AWS_CLOUDHSM.");
}

TEST_CASE("UpdateCustomKeyStore changes an external key store's connectivity as AWS documents",
          "[ops][custom_key_store]") {
  OpHarness h;
  const std::string id = Create(h, XksBody("xks"));
  const std::string vpc = R"("XksProxyConnectivity":"VPC_ENDPOINT_SERVICE")";
  const std::string endpoint = R"("XksProxyUriEndpoint":"https://private.example.com")";
  const std::string service =
      std::string(R"("XksProxyVpcEndpointServiceName":")") + std::string(kVpcService) + "\"";

  CheckError(h.Call("UpdateCustomKeyStore", WithMembers(IdBody(id), vpc + "," + service)),
             "XksProxyInvalidConfigurationException",
             "Changing XksProxyConnectivity to VPC_ENDPOINT_SERVICE requires a new "
             "XksProxyUriEndpoint.");
  CheckError(h.Call("UpdateCustomKeyStore", WithMembers(IdBody(id), vpc + "," + endpoint)),
             "XksProxyInvalidConfigurationException",
             "Changing XksProxyConnectivity to VPC_ENDPOINT_SERVICE requires an "
             "XksProxyVpcEndpointServiceName.");
  CheckError(h.Call("UpdateCustomKeyStore", WithMembers(IdBody(id), service)),
             "XksProxyInvalidConfigurationException",
             "XksProxyVpcEndpointServiceName is valid only when XksProxyConnectivity is "
             "VPC_ENDPOINT_SERVICE.");

  REQUIRE(
      h.Call("UpdateCustomKeyStore", WithMembers(IdBody(id), vpc + "," + endpoint + "," + service))
          .status == 200);
  auto stored = h.registry().FindCustomKeyStore(kUsEast, id);
  CHECK(stored->xks_connectivity == domain::XksProxyConnectivity::kVpcEndpointService);
  CHECK(stored->xks_uri_endpoint == "https://private.example.com");
  CHECK(stored->xks_vpc_endpoint_service_name == kVpcService);
  CHECK(stored->xks_vpc_endpoint_service_owner == "111122223333");

  // The owner changes alone while the connectivity stays.
  REQUIRE(h.Call("UpdateCustomKeyStore",
                 WithMembers(IdBody(id), R"("XksProxyVpcEndpointServiceOwner":"444455556666")"))
              .status == 200);
  CHECK(h.registry().FindCustomKeyStore(kUsEast, id)->xks_vpc_endpoint_service_owner ==
        "444455556666");

  // Back to a public endpoint: the VPC settings go.
  REQUIRE(h.Call("UpdateCustomKeyStore",
                 WithMembers(IdBody(id), R"("XksProxyConnectivity":"PUBLIC_ENDPOINT",)"
                                         R"("XksProxyUriEndpoint":"https://xks2.example.com")"))
              .status == 200);
  stored = h.registry().FindCustomKeyStore(kUsEast, id);
  CHECK(stored->xks_connectivity == domain::XksProxyConnectivity::kPublicEndpoint);
  CHECK(stored->xks_vpc_endpoint_service_name.empty());
  CHECK(stored->xks_vpc_endpoint_service_owner.empty());
  CHECK_FALSE(DescribeOne(h, id).json["CustomKeyStores"][0]["XksProxyConfiguration"].HasMember(
      "VpcEndpointServiceName"));

  // Uniqueness holds for updates too.
  const std::string other = Create(h, XksBody("other", "https://xks3.example.com"));
  CheckError(
      h.Call("UpdateCustomKeyStore",
             WithMembers(IdBody(other), R"("XksProxyUriEndpoint":"https://xks2.example.com")")),
      "XksProxyUriInUseException",
      "XKS proxy URI https://xks2.example.com/kms/xks/v1 is already associated with "
      "custom key store " +
          id + ".");
}

TEST_CASE("UpdateCustomKeyStore changes nothing while a store is FAILED",
          "[ops][custom_key_store]") {
  OpHarness h;
  const std::string id = Create(h, CloudHsmBody("hsm"));
  SetState(h, id, domain::ConnectionState::kFailed, domain::ConnectionErrorCode::kNetworkErrors);
  CheckError(
      h.Call("UpdateCustomKeyStore", WithMembers(IdBody(id), R"("NewCustomKeyStoreName":"n")")),
      "CustomKeyStoreInvalidStateException",
      "Custom key store " + id +
          " must be CONNECTED or DISCONNECTED to change NewCustomKeyStoreName, but its "
          "ConnectionState is FAILED.");
  CHECK(h.Call("UpdateCustomKeyStore", IdBody(id)).status == 200);  // nothing to change
}

// --- DeleteCustomKeyStore -------------------------------------------------------------------

TEST_CASE("DeleteCustomKeyStore deletes a disconnected store without keys",
          "[ops][custom_key_store]") {
  OpHarness h;
  const std::string id = Create(h, CloudHsmBody("hsm"));
  Connect(h, id);
  CheckError(h.Call("DeleteCustomKeyStore", IdBody(id)), "CustomKeyStoreInvalidStateException",
             "Custom key store " + id +
                 " must be DISCONNECTED to be deleted, but its ConnectionState is CONNECTED.");
  Disconnect(h, id);
  CallResult r = h.Call("DeleteCustomKeyStore", IdBody(id));
  REQUIRE(r.status == 200);
  CHECK(r.body == "{}");
  CHECK(h.Call("DescribeCustomKeyStores", IdBody(id)).type == "CustomKeyStoreNotFoundException");
  // Its name and cluster are free again.
  Create(h, CloudHsmBody("hsm"));
}

TEST_CASE("DeleteCustomKeyStore refuses a store that holds KMS keys until they are deleted",
          "[ops][custom_key_store]") {
  OpHarness h;
  const std::string id = ConnectedCloudHsm(h);
  const std::string key = CreateKeyIn(h, id);
  Disconnect(h, id);
  const std::string has_keys = "Custom key store " + id +
                               " contains KMS keys. Delete them with ScheduleKeyDeletion; once "
                               "they are deleted, the custom key store can be deleted.";
  CheckError(h.Call("DeleteCustomKeyStore", IdBody(id)), "CustomKeyStoreHasCMKsException",
             has_keys);
  // A key pending deletion still counts, until its deletion date.
  h.ScheduleDeletion(key, 7);
  CheckError(h.Call("DeleteCustomKeyStore", IdBody(id)), "CustomKeyStoreHasCMKsException",
             has_keys);
  h.clock().Advance(7 * kDay);
  REQUIRE(h.Call("DeleteCustomKeyStore", IdBody(id)).status == 200);
}

// --- Keys in custom key stores --------------------------------------------------------------

TEST_CASE("CreateKey makes a symmetric key in a connected CloudHSM key store",
          "[ops][custom_key_store]") {
  OpHarness h;
  const std::string store = ConnectedCloudHsm(h);
  CallResult r = h.Call("CreateKey", KeyInStoreBody(store));
  REQUIRE(r.status == 200);
  const auto& md = r.json["KeyMetadata"];
  CHECK(std::string(md["Origin"].GetString()) == "AWS_CLOUDHSM");
  CHECK(std::string(md["CustomKeyStoreId"].GetString()) == store);
  CHECK(std::string(md["CloudHsmClusterId"].GetString()) == "cluster-2a34b5cdefg");
  CHECK(std::string(md["KeySpec"].GetString()) == "SYMMETRIC_DEFAULT");
  CHECK(std::string(md["KeyState"].GetString()) == "Enabled");
  CHECK_FALSE(md.HasMember("XksKeyConfiguration"));
  const std::string key = md["KeyId"].GetString();
  CallResult d = h.Call("DescribeKey", KeyIdBody(key));
  CHECK(d.body.find(R"("Origin":"AWS_CLOUDHSM","CustomKeyStoreId":")" + store +
                    R"(","CloudHsmClusterId":"cluster-2a34b5cdefg")") != std::string::npos);
  // The key has material of its own in kmsd.
  CHECK(h.registry().FindKey(kUsEast, key)->materials.size() == 1);
}

TEST_CASE("CreateKey makes a key in a connected external key store with its XksKeyId",
          "[ops][custom_key_store]") {
  OpHarness h;
  const std::string store = Create(h, XksBody("xks"));
  Connect(h, store);
  CallResult r = h.Call("CreateKey", KeyInStoreBody(store, "EXTERNAL_KEY_STORE", "ext-key-1"));
  REQUIRE(r.status == 200);
  const auto& md = r.json["KeyMetadata"];
  CHECK(std::string(md["Origin"].GetString()) == "EXTERNAL_KEY_STORE");
  CHECK(std::string(md["CustomKeyStoreId"].GetString()) == store);
  CHECK_FALSE(md.HasMember("CloudHsmClusterId"));
  CHECK(std::string(md["XksKeyConfiguration"]["Id"].GetString()) == "ext-key-1");

  // One external key per KMS key of the store.
  CheckError(h.Call("CreateKey", KeyInStoreBody(store, "EXTERNAL_KEY_STORE", "ext-key-1")),
             "XksKeyAlreadyInUseException",
             "XksKeyId ext-key-1 is already associated with " + h.Arn(md["KeyId"].GetString()) +
                 " in custom key store " + store +
                 ". Each KMS key in an external key store needs an external key of its own.");
  CHECK(h.Call("CreateKey", KeyInStoreBody(store, "EXTERNAL_KEY_STORE", "ext-key-2")).status ==
        200);
  const std::string other = Create(h, XksBody("other", "https://other.example.com"));
  Connect(h, other);
  CHECK(h.Call("CreateKey", KeyInStoreBody(other, "EXTERNAL_KEY_STORE", "ext-key-1")).status ==
        200);
}

TEST_CASE("CreateKey checks the custom key store members", "[ops][custom_key_store]") {
  OpHarness h;
  const std::string hsm = ConnectedCloudHsm(h);
  const std::string xks = Create(h, XksBody("xks"));
  Connect(h, xks);

  CheckError(h.Call("CreateKey", KeyInStoreBody(hsm, "")), "ValidationException",
             "CustomKeyStoreId is valid only for KMS keys with an Origin of AWS_CLOUDHSM or "
             "EXTERNAL_KEY_STORE, not AWS_KMS.");
  CheckError(h.Call("CreateKey", R"({"Origin":"AWS_CLOUDHSM"})"), "ValidationException",
             "A CustomKeyStoreId is required for KMS keys with an Origin of AWS_CLOUDHSM.");
  CheckError(h.Call("CreateKey", R"({"XksKeyId":"k"})"), "ValidationException",
             "XksKeyId is valid only for KMS keys with an Origin of EXTERNAL_KEY_STORE, not "
             "AWS_KMS.");
  CheckError(h.Call("CreateKey", KeyInStoreBody(hsm, "AWS_CLOUDHSM", "k")), "ValidationException",
             "XksKeyId is valid only for KMS keys with an Origin of EXTERNAL_KEY_STORE, not "
             "AWS_CLOUDHSM.");
  CheckError(h.Call("CreateKey", KeyInStoreBody(xks, "EXTERNAL_KEY_STORE")), "ValidationException",
             "XksKeyId is required for KMS keys with an Origin of EXTERNAL_KEY_STORE.");
  CheckError(
      h.Call("CreateKey", WithMembers(KeyInStoreBody(hsm),
                                      R"("KeySpec":"HMAC_256","KeyUsage":"GENERATE_VERIFY_MAC")")),
      "UnsupportedOperationException",
      "KMS keys in a custom key store must have KeySpec SYMMETRIC_DEFAULT and KeyUsage "
      "ENCRYPT_DECRYPT, not HMAC_256 and GENERATE_VERIFY_MAC.");
  CheckError(h.Call("CreateKey", WithMembers(KeyInStoreBody(hsm), R"("MultiRegion":true)")),
             "UnsupportedOperationException",
             "Multi-Region keys cannot be created in a custom key store.");
  CheckError(h.Call("CreateKey", KeyInStoreBody("cks-0123456789abcdef0")),
             "CustomKeyStoreNotFoundException",
             "Custom key store 'cks-0123456789abcdef0' does not exist.");
  CheckError(h.Call("CreateKey", KeyInStoreBody(xks, "AWS_CLOUDHSM")), "ValidationException",
             "Origin AWS_CLOUDHSM is not valid for custom key store " + xks +
                 ", whose CustomKeyStoreType is EXTERNAL_KEY_STORE. Use Origin "
                 "EXTERNAL_KEY_STORE.");
  CheckError(h.Call("CreateKey", KeyInStoreBody(hsm, "EXTERNAL_KEY_STORE", "k")),
             "ValidationException",
             "Origin EXTERNAL_KEY_STORE is not valid for custom key store " + hsm +
                 ", whose CustomKeyStoreType is AWS_CLOUDHSM. Use Origin AWS_CLOUDHSM.");
  Disconnect(h, hsm);
  CheckError(h.Call("CreateKey", KeyInStoreBody(hsm)), "CustomKeyStoreInvalidStateException",
             "Custom key store " + hsm +
                 " is not connected: its ConnectionState is DISCONNECTED. Connect it with "
                 "ConnectCustomKeyStore and try again.");
  CHECK(h.registry().ListKeys(kUsEast).empty());
}

TEST_CASE("A key in a disconnected custom key store is Unavailable until the store reconnects",
          "[ops][custom_key_store]") {
  OpHarness h;
  const std::string store = ConnectedCloudHsm(h);
  const std::string key = CreateKeyIn(h, store);
  CallResult enc = h.Call("Encrypt", EncryptBody(key));
  REQUIRE(enc.status == 200);
  const std::string blob = enc.Str("CiphertextBlob");
  REQUIRE(h.Call("Decrypt", DecryptBody(blob)).status == 200);

  Disconnect(h, store);
  const std::string unavailable = h.Arn(key) + " is unavailable.";
  CheckError(h.Call("Encrypt", EncryptBody(key)), "KMSInvalidStateException", unavailable);
  CheckError(h.Call("Decrypt", DecryptBody(blob)), "KMSInvalidStateException", unavailable);
  CheckError(h.Call("GenerateDataKey", WithMembers(KeyIdBody(key), R"("KeySpec":"AES_256")")),
             "KMSInvalidStateException", unavailable);
  CheckError(
      h.Call("ReEncrypt", WithMembers(DecryptBody(blob), R"("DestinationKeyId":")" + key + "\"")),
      "KMSInvalidStateException", unavailable);
  CallResult d = h.Call("DescribeKey", KeyIdBody(key));
  CHECK(std::string(d.json["KeyMetadata"]["KeyState"].GetString()) == "Unavailable");
  CHECK_FALSE(d.json["KeyMetadata"]["Enabled"].GetBool());

  // Management still works: disabling takes effect once the store is back.
  REQUIRE(h.Call("DisableKey", KeyIdBody(key)).status == 200);
  CheckError(h.Call("Encrypt", EncryptBody(key)), "KMSInvalidStateException", unavailable);
  Connect(h, store);
  CheckError(h.Call("Encrypt", EncryptBody(key)), "DisabledException",
             h.Arn(key) + " is disabled.");
  REQUIRE(h.Call("EnableKey", KeyIdBody(key)).status == 200);
  CHECK(h.Call("Encrypt", EncryptBody(key)).status == 200);
  CallResult plain = h.Call("Decrypt", DecryptBody(blob));
  REQUIRE(plain.status == 200);
  CHECK(plain.Str("Plaintext") == "aGVsbG8=");

  // A key pending deletion reads PendingDeletion even while its store is disconnected.
  h.ScheduleDeletion(key, 7);
  Disconnect(h, store);
  CallResult pending = h.Call("DescribeKey", KeyIdBody(key));
  CHECK(std::string(pending.json["KeyMetadata"]["KeyState"].GetString()) == "PendingDeletion");
  CheckError(h.Call("Encrypt", EncryptBody(key)), "KMSInvalidStateException",
             h.Arn(key) + " is pending deletion.");
}

TEST_CASE("Keys in custom key stores do not rotate", "[ops][custom_key_store]") {
  OpHarness h;
  const std::string store = Create(h, XksBody("xks"));
  Connect(h, store);
  const std::string key = CreateKeyIn(h, store, "EXTERNAL_KEY_STORE", "ext-1");
  const std::string op = GENERATE(as<std::string>{}, "EnableKeyRotation", "RotateKeyOnDemand");
  CheckError(h.Call(op, KeyIdBody(key)), "UnsupportedOperationException",
             h.Arn(key) + " origin is EXTERNAL_KEY_STORE which is not valid for this operation.");
}

TEST_CASE("GenerateRandom with CustomKeyStoreId needs a connected CloudHSM key store",
          "[ops][custom_key_store]") {
  OpHarness h;
  const std::string hsm = Create(h, CloudHsmBody("hsm"));
  const std::string xks = Create(h, XksBody("xks"));
  const auto body = [](const std::string& id) {
    return WithMembers(IdBody(id), R"("NumberOfBytes":16)");
  };
  CheckError(h.Call("GenerateRandom", body(hsm)), "CustomKeyStoreInvalidStateException",
             "Custom key store " + hsm +
                 " is not connected: its ConnectionState is DISCONNECTED. Connect it with "
                 "ConnectCustomKeyStore and try again.");
  Connect(h, hsm);
  CallResult r = h.Call("GenerateRandom", body(hsm));
  REQUIRE(r.status == 200);
  CHECK(Decoded(r, "Plaintext").size() == 16);
  CheckError(h.Call("GenerateRandom", body(xks)), "UnsupportedOperationException",
             "GenerateRandom does not support custom key store " + xks +
                 ": its CustomKeyStoreType is EXTERNAL_KEY_STORE, and only AWS_CLOUDHSM key "
                 "stores generate random bytes.");
  CheckError(h.Call("GenerateRandom", body("cks-0123456789abcdef0")),
             "CustomKeyStoreNotFoundException",
             "Custom key store 'cks-0123456789abcdef0' does not exist.");
}

// --- Durability -----------------------------------------------------------------------------

TEST_CASE("Custom key stores, their states and their keys survive a restart",
          "[ops][custom_key_store]") {
  TempDbFile db;
  OpHarness h(db.path());
  const std::string hsm = ConnectedCloudHsm(h);
  const std::string xks =
      Create(h, XksBody("xks", "https://private.example.com", "/kms/xks/v1", kVpcService));
  Connect(h, xks);
  const std::string hsm_key = CreateKeyIn(h, hsm);
  const std::string xks_key = CreateKeyIn(h, xks, "EXTERNAL_KEY_STORE", "ext-1");
  const std::string blob = h.Call("Encrypt", EncryptBody(xks_key)).Str("CiphertextBlob");
  Disconnect(h, xks);
  const std::string before = h.Call("DescribeCustomKeyStores", "{}").body;

  h.Reopen();
  CHECK(h.Call("DescribeCustomKeyStores", "{}").body == before);
  CHECK(StateOf(h, hsm) == "CONNECTED");
  CHECK(StateOf(h, xks) == "DISCONNECTED");
  CHECK(h.Call("Encrypt", EncryptBody(hsm_key)).status == 200);
  CHECK(h.Call("Decrypt", DecryptBody(blob)).type == "KMSInvalidStateException");
  Connect(h, xks);
  CallResult plain = h.Call("Decrypt", DecryptBody(blob));
  REQUIRE(plain.status == 200);
  CHECK(plain.Str("Plaintext") == "aGVsbG8=");
  CHECK(h.registry().FindCustomKeyStore(kUsEast, xks)->xks_secret_access_key == kSecret);
  CHECK(std::string(h.Call("DescribeKey", KeyIdBody(xks_key))
                        .json["KeyMetadata"]["XksKeyConfiguration"]["Id"]
                        .GetString()) == "ext-1");
}

// --- Storage failures -----------------------------------------------------------------------

TEST_CASE(
    "A storage failure in a custom key store operation is KMSInternalException and "
    "changes nothing",
    "[ops][custom_key_store][storage]") {
  kms::config::Config config;
  kms::FakeClock clock;
  auto sqlite = kms::storage::SqliteStore::Open(":memory:");
  REQUIRE(sqlite.has_value());
  auto faulty = std::make_unique<kms::storage::testing::FaultyStore>(std::move(*sqlite));
  kms::storage::testing::FaultyStore* faults = faulty.get();
  auto registry = kms::storage::Registry::Open(std::move(faulty));
  REQUIRE(registry.has_value());
  kms::storage::KeyUsageTracker key_usage(**registry, std::chrono::milliseconds(0));
  kms::server::Dispatcher dispatcher(**registry, key_usage, clock, config);
  const auto call = [&](std::string_view op, std::string_view body) {
    kms::server::Reply reply =
        dispatcher.Handle("TrentService." + std::string(op), {}, body, "faulty");
    if (auto durable = (*registry)->WaitDurable(reply.ticket); !durable) {
      return kms::server::Dispatcher::CommitFailedReply(reply, durable.error(), "faulty");
    }
    return reply;
  };
  kms::server::Reply created = call("CreateCustomKeyStore", CloudHsmBody("hsm"));
  REQUIRE(created.status == 200);
  rapidjson::Document doc;
  doc.Parse(created.body.c_str());
  const std::string id = doc["CustomKeyStoreId"].GetString();

  const std::string op =
      GENERATE(as<std::string>{}, "CreateCustomKeyStore", "ConnectCustomKeyStore",
               "UpdateCustomKeyStore", "DeleteCustomKeyStore");
  faults->FailNextWrites(1);
  const std::string body = op == "CreateCustomKeyStore"
                               ? CloudHsmBody("second", "cluster-3b45c6defgh")
                               : WithMembers(IdBody(id), R"("NewCustomKeyStoreName":"renamed")");
  kms::server::Reply r = call(op, body);
  CHECK(r.status == 500);
  CHECK(r.error_type == "KMSInternalException");
  const auto stores = (*registry)->ListCustomKeyStores(kUsEast);
  REQUIRE(stores.size() == 1);
  CHECK(stores[0].name == "hsm");
  CHECK(stores[0].connection_state == domain::ConnectionState::kDisconnected);
}
