"""Custom key stores through boto3 (and raw JSON where Debian's boto3 lacks a member, such as
XksProxyVpcEndpointServiceOwner): the lifecycle of CloudHSM and external key stores, paging,
uniqueness, secrets never returned, keys in a store that work while it is connected, and a
restart in the middle of it all. The stores are emulated: nothing is contacted."""
from __future__ import annotations

import base64
import json

import pytest

from e2e_support import (ACCOUNT, OTHER_REGION, RECEIVED_ERRORS, assert_error, call, call_ok,
                         expect_error, key_arn, make_client)

PASSWORD = "kmsuser-Passw0rd"
SECRET = "SECRETsecretSECRETsecretSECRETsecret+/=1234"  # 43 characters
ACCESS_KEY_ID = "ABCDEFGHIJKLMNOPQRST"
CERT = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"
VPC_SERVICE = "com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0"


def cloudhsm_store(kms, name: str, cluster: str = "cluster-2a34b5cdefg") -> str:
    return kms.create_custom_key_store(CustomKeyStoreName=name, CloudHsmClusterId=cluster,
                                       TrustAnchorCertificate=CERT,
                                       KeyStorePassword=PASSWORD)["CustomKeyStoreId"]


def xks_store(kms, name: str, endpoint: str = "https://xks.example.com",
              path: str = "/kms/xks/v1") -> str:
    return kms.create_custom_key_store(
        CustomKeyStoreName=name, CustomKeyStoreType="EXTERNAL_KEY_STORE",
        XksProxyUriEndpoint=endpoint, XksProxyUriPath=path, XksProxyConnectivity="PUBLIC_ENDPOINT",
        XksProxyAuthenticationCredential={"AccessKeyId": ACCESS_KEY_ID,
                                          "RawSecretAccessKey": SECRET})["CustomKeyStoreId"]


def describe_one(kms, store_id: str) -> dict:
    stores = kms.describe_custom_key_stores(CustomKeyStoreId=store_id)["CustomKeyStores"]
    assert len(stores) == 1, stores
    return stores[0]


def state_of(kms, store_id: str) -> str:
    return describe_one(kms, store_id)["ConnectionState"]


def connect_and_wait(kms, store_id: str) -> None:
    """What CI users do: connect, then poll DescribeCustomKeyStores until CONNECTED."""
    kms.connect_custom_key_store(CustomKeyStoreId=store_id)
    for _ in range(10):
        if state_of(kms, store_id) == "CONNECTED":
            return
    raise AssertionError(f"{store_id} did not connect: {describe_one(kms, store_id)}")


def assert_no_secret(text: str) -> None:
    assert PASSWORD not in text and SECRET not in text, f"a secret was returned: {text}"


def test_cloudhsm_key_store_lifecycle(kms, url):
    store_id = cloudhsm_store(kms, "hsm")
    assert store_id.startswith("cks-") and len(store_id) == 21, store_id
    entry = describe_one(kms, store_id)
    assert entry["CustomKeyStoreName"] == "hsm"
    assert entry["CustomKeyStoreType"] == "AWS_CLOUDHSM"
    assert entry["CloudHsmClusterId"] == "cluster-2a34b5cdefg"
    assert entry["TrustAnchorCertificate"] == CERT
    assert entry["ConnectionState"] == "DISCONNECTED"
    assert "ConnectionErrorCode" not in entry and "XksProxyConfiguration" not in entry
    assert "CreationDate" in entry

    connect_and_wait(kms, store_id)
    kms.connect_custom_key_store(CustomKeyStoreId=store_id)  # connecting again changes nothing
    assert state_of(kms, store_id) == "CONNECTED"
    # The name changes while connected; the password only while disconnected.
    kms.update_custom_key_store(CustomKeyStoreId=store_id, NewCustomKeyStoreName="hsm-renamed")
    expect_error(kms.update_custom_key_store, "CustomKeyStoreInvalidStateException",
                 f"Custom key store {store_id} must be DISCONNECTED to change KeyStorePassword, "
                 "but its ConnectionState is CONNECTED.",
                 CustomKeyStoreId=store_id, KeyStorePassword="another-password")
    expect_error(kms.delete_custom_key_store, "CustomKeyStoreInvalidStateException",
                 f"Custom key store {store_id} must be DISCONNECTED to be deleted, but its "
                 "ConnectionState is CONNECTED.", CustomKeyStoreId=store_id)
    kms.disconnect_custom_key_store(CustomKeyStoreId=store_id)
    expect_error(kms.disconnect_custom_key_store, "CustomKeyStoreInvalidStateException",
                 f"Custom key store {store_id} is not connected: its ConnectionState is "
                 "DISCONNECTED.", CustomKeyStoreId=store_id)
    kms.update_custom_key_store(CustomKeyStoreId=store_id, KeyStorePassword="another-password",
                                CloudHsmClusterId="cluster-3b45c6defgh")
    entry = kms.describe_custom_key_stores(CustomKeyStoreName="hsm-renamed")["CustomKeyStores"][0]
    assert entry["CustomKeyStoreId"] == store_id
    assert entry["CloudHsmClusterId"] == "cluster-3b45c6defgh"

    kms.delete_custom_key_store(CustomKeyStoreId=store_id)
    expect_error(kms.describe_custom_key_stores, "CustomKeyStoreNotFoundException",
                 f"Custom key store '{store_id}' does not exist.", CustomKeyStoreId=store_id)
    assert kms.describe_custom_key_stores()["CustomKeyStores"] == []
    # Raw JSON sees the same secrets-free answers.
    assert_no_secret(json.dumps(call_ok(url, "DescribeCustomKeyStores", {})))


def test_external_key_store_lifecycle(kms, url):
    store_id = xks_store(kms, "xks")
    entry = describe_one(kms, store_id)
    assert entry["CustomKeyStoreType"] == "EXTERNAL_KEY_STORE"
    assert entry["XksProxyConfiguration"] == {
        "Connectivity": "PUBLIC_ENDPOINT", "AccessKeyId": ACCESS_KEY_ID,
        "UriEndpoint": "https://xks.example.com", "UriPath": "/kms/xks/v1"}
    assert "CloudHsmClusterId" not in entry

    connect_and_wait(kms, store_id)
    # Credential and path change while connected; the endpoint needs a disconnected store.
    kms.update_custom_key_store(
        CustomKeyStoreId=store_id, XksProxyUriPath="/v2/kms/xks/v1",
        XksProxyAuthenticationCredential={"AccessKeyId": "ZYXWVUTSRQPONMLKJIHG",
                                          "RawSecretAccessKey": "B" * 64})
    expect_error(kms.update_custom_key_store, "CustomKeyStoreInvalidStateException",
                 f"Custom key store {store_id} must be DISCONNECTED to change "
                 "XksProxyUriEndpoint, but its ConnectionState is CONNECTED.",
                 CustomKeyStoreId=store_id, XksProxyUriEndpoint="https://other.example.com")
    kms.disconnect_custom_key_store(CustomKeyStoreId=store_id)
    # To VPC endpoint service connectivity, with an owner boto3's model does not know yet.
    call_ok(url, "UpdateCustomKeyStore", {
        "CustomKeyStoreId": store_id, "XksProxyConnectivity": "VPC_ENDPOINT_SERVICE",
        "XksProxyUriEndpoint": "https://private.example.com",
        "XksProxyVpcEndpointServiceName": VPC_SERVICE,
        "XksProxyVpcEndpointServiceOwner": "444455556666"})
    config = call_ok(url, "DescribeCustomKeyStores",
                     {"CustomKeyStoreId": store_id})["CustomKeyStores"][0]["XksProxyConfiguration"]
    assert config == {"Connectivity": "VPC_ENDPOINT_SERVICE", "AccessKeyId": "ZYXWVUTSRQPONMLKJIHG",
                      "UriEndpoint": "https://private.example.com", "UriPath": "/v2/kms/xks/v1",
                      "VpcEndpointServiceName": VPC_SERVICE,
                      "VpcEndpointServiceOwner": "444455556666"}, config
    assert_no_secret(json.dumps(call_ok(url, "DescribeCustomKeyStores", {})))
    assert "B" * 64 not in json.dumps(call_ok(url, "DescribeCustomKeyStores", {}))
    kms.delete_custom_key_store(CustomKeyStoreId=store_id)


def test_create_validation_and_uniqueness(kms, url):
    expect_error(kms.create_custom_key_store, "ValidationException",
                 "KeyStorePassword is required for custom key stores with a CustomKeyStoreType "
                 "of AWS_CLOUDHSM.",
                 CustomKeyStoreName="hsm", CloudHsmClusterId="cluster-2a34b5cdefg",
                 TrustAnchorCertificate=CERT)
    expect_error(kms.create_custom_key_store, "ValidationException",
                 "XksProxyUriEndpoint is valid only for custom key stores with a "
                 "CustomKeyStoreType of EXTERNAL_KEY_STORE.",
                 CustomKeyStoreName="hsm", CloudHsmClusterId="cluster-2a34b5cdefg",
                 TrustAnchorCertificate=CERT, KeyStorePassword=PASSWORD,
                 XksProxyUriEndpoint="https://xks.example.com")
    r = call(url, "CreateCustomKeyStore", {
        "CustomKeyStoreName": "xks", "CustomKeyStoreType": "EXTERNAL_KEY_STORE",
        "XksProxyUriEndpoint": "https://xks.example.com", "XksProxyUriPath": "/kms/xks/v1",
        "XksProxyConnectivity": "PUBLIC_ENDPOINT",
        "XksProxyAuthenticationCredential": {"AccessKeyId": ACCESS_KEY_ID,
                                             "RawSecretAccessKey": SECRET},
        "XksProxyVpcEndpointServiceName": VPC_SERVICE})
    assert_error(r, "XksProxyInvalidConfigurationException",
                 "XksProxyVpcEndpointServiceName is valid only when XksProxyConnectivity is "
                 "VPC_ENDPOINT_SERVICE.")
    # A bad password length is the model's error, without the password in it (boto3 would not
    # send it).
    r = call(url, "CreateCustomKeyStore", {
        "CustomKeyStoreName": "hsm", "CloudHsmClusterId": "cluster-2a34b5cdefg",
        "TrustAnchorCertificate": CERT, "KeyStorePassword": "short"})
    assert_error(r, "ValidationException")
    assert b"short" not in r.body, r.describe()

    first = cloudhsm_store(kms, "taken")
    expect_error(kms.create_custom_key_store, "CustomKeyStoreNameInUseException",
                 f"Custom key store name 'taken' is already in use by custom key store {first} "
                 "in this account and Region.",
                 CustomKeyStoreName="taken", CloudHsmClusterId="cluster-3b45c6defgh",
                 TrustAnchorCertificate=CERT, KeyStorePassword=PASSWORD)
    expect_error(kms.create_custom_key_store, "CloudHsmClusterInUseException",
                 "CloudHSM cluster cluster-2a34b5cdefg is already associated with custom key "
                 f"store {first}.",
                 CustomKeyStoreName="other", CloudHsmClusterId="cluster-2a34b5cdefg",
                 TrustAnchorCertificate=CERT, KeyStorePassword=PASSWORD)
    xks = xks_store(kms, "xks")
    expect_error(kms.create_custom_key_store, "XksProxyUriInUseException",
                 "XKS proxy URI https://xks.example.com/kms/xks/v1 is already associated with "
                 f"custom key store {xks}.",
                 CustomKeyStoreName="xks2", CustomKeyStoreType="EXTERNAL_KEY_STORE",
                 XksProxyUriEndpoint="https://xks.example.com", XksProxyUriPath="/kms/xks/v1",
                 XksProxyConnectivity="PUBLIC_ENDPOINT",
                 XksProxyAuthenticationCredential={"AccessKeyId": ACCESS_KEY_ID,
                                                   "RawSecretAccessKey": SECRET})
    # Names are per Region.
    eu = make_client(url, OTHER_REGION)
    cloudhsm_store(eu, "taken")
    assert len(kms.describe_custom_key_stores()["CustomKeyStores"]) == 2
    # The quota: 10 per account and Region.
    for i in range(8):
        xks_store(kms, f"more{i}", endpoint=f"https://more{i}.example.com")
    expect_error(kms.create_custom_key_store, "LimitExceededException",
                 "This account and Region already have 10 custom key stores, the most AWS KMS "
                 "allows.", CustomKeyStoreName="eleventh", CloudHsmClusterId="cluster-4c56d7efghi",
                 TrustAnchorCertificate=CERT, KeyStorePassword=PASSWORD)


def test_describe_paging_and_errors(kms, url):
    ids = sorted(xks_store(kms, f"s{i}", endpoint=f"https://s{i}.example.com") for i in range(5))
    seen, marker, pages = [], None, 0
    while True:
        kwargs = {"Limit": 2} | ({"Marker": marker} if marker else {})
        page = kms.describe_custom_key_stores(**kwargs)
        pages += 1
        seen += [s["CustomKeyStoreId"] for s in page["CustomKeyStores"]]
        if not page["Truncated"]:
            assert "NextMarker" not in page
            break
        marker = page["NextMarker"]
    assert pages == 3 and seen == ids, (pages, seen, ids)
    # boto3's paginator walks the same pages.
    paginated = [s["CustomKeyStoreId"]
                 for p in kms.get_paginator("describe_custom_key_stores").paginate(
                     PaginationConfig={"PageSize": 2})
                 for s in p["CustomKeyStores"]]
    assert paginated == ids

    expect_error(kms.describe_custom_key_stores, "CustomKeyStoreNotFoundException",
                 "Custom key store with name 'nope' does not exist.", CustomKeyStoreName="nope")
    expect_error(kms.describe_custom_key_stores, "InvalidMarkerException",
                 "The marker 'garbage' is not valid.", Marker="garbage")
    expect_error(kms.describe_custom_key_stores, "ValidationException",
                 "Specify either CustomKeyStoreId or CustomKeyStoreName, but not both.",
                 CustomKeyStoreId=ids[0], CustomKeyStoreName="s0")
    for op in ("connect_custom_key_store", "disconnect_custom_key_store",
               "delete_custom_key_store", "update_custom_key_store"):
        expect_error(getattr(kms, op), "CustomKeyStoreNotFoundException",
                     "Custom key store 'cks-0123456789abcdef0' does not exist.",
                     CustomKeyStoreId="cks-0123456789abcdef0")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_keys_in_a_store_work_while_it_is_connected(kms, url):
    hsm = cloudhsm_store(kms, "hsm")
    expect_error(kms.create_key, "CustomKeyStoreInvalidStateException",
                 f"Custom key store {hsm} is not connected: its ConnectionState is DISCONNECTED. "
                 "Connect it with ConnectCustomKeyStore and try again.",
                 CustomKeyStoreId=hsm, Origin="AWS_CLOUDHSM")
    connect_and_wait(kms, hsm)
    md = kms.create_key(CustomKeyStoreId=hsm, Origin="AWS_CLOUDHSM")["KeyMetadata"]
    key_id = md["KeyId"]
    assert md["Origin"] == "AWS_CLOUDHSM" and md["CustomKeyStoreId"] == hsm
    assert md["CloudHsmClusterId"] == "cluster-2a34b5cdefg" and md["KeyState"] == "Enabled"

    ctx = {"purpose": "cks"}
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"in the store", EncryptionContext=ctx)["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob, EncryptionContext=ctx)["Plaintext"] == b"in the store"
    data_key = kms.generate_data_key(KeyId=key_id, KeySpec="AES_256")
    random = kms.generate_random(NumberOfBytes=32, CustomKeyStoreId=hsm)["Plaintext"]
    assert len(random) == 32

    # Disconnected: the key is Unavailable and every cryptographic operation refuses it.
    kms.disconnect_custom_key_store(CustomKeyStoreId=hsm)
    unavailable = f"{key_arn(key_id)} is unavailable."
    expect_error(kms.encrypt, "KMSInvalidStateException", unavailable, KeyId=key_id,
                 Plaintext=b"x")
    expect_error(kms.decrypt, "KMSInvalidStateException", unavailable, CiphertextBlob=blob,
                 EncryptionContext=ctx)
    expect_error(kms.decrypt, "KMSInvalidStateException", unavailable,
                 CiphertextBlob=data_key["CiphertextBlob"])
    expect_error(kms.generate_data_key, "KMSInvalidStateException", unavailable, KeyId=key_id,
                 KeySpec="AES_256")
    expect_error(kms.generate_random, "CustomKeyStoreInvalidStateException",
                 CustomKeyStoreId=hsm, NumberOfBytes=8)
    md = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert md["KeyState"] == "Unavailable" and md["Enabled"] is False, md
    # A store with keys cannot go.
    expect_error(kms.delete_custom_key_store, "CustomKeyStoreHasCMKsException",
                 f"Custom key store {hsm} contains KMS keys. Delete them with "
                 "ScheduleKeyDeletion; once they are deleted, the custom key store can be "
                 "deleted.", CustomKeyStoreId=hsm)

    # Reconnected: it works again, old blobs included.
    connect_and_wait(kms, hsm)
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"
    assert kms.decrypt(CiphertextBlob=blob, EncryptionContext=ctx)["Plaintext"] == b"in the store"
    assert kms.decrypt(CiphertextBlob=data_key["CiphertextBlob"])["Plaintext"] == data_key["Plaintext"]
    # Such keys do not rotate.
    expect_error(kms.enable_key_rotation, "UnsupportedOperationException",
                 f"{key_arn(key_id)} origin is AWS_CLOUDHSM which is not valid for this operation.",
                 KeyId=key_id)
    r = call(url, "RotateKeyOnDemand", {"KeyId": key_id})
    assert_error(r, "UnsupportedOperationException",
                 f"{key_arn(key_id)} origin is AWS_CLOUDHSM which is not valid for this operation.")


def test_keys_in_an_external_key_store(kms, url):
    xks = xks_store(kms, "xks")
    connect_and_wait(kms, xks)
    expect_error(kms.create_key, "ValidationException",
                 "XksKeyId is required for KMS keys with an Origin of EXTERNAL_KEY_STORE.",
                 CustomKeyStoreId=xks, Origin="EXTERNAL_KEY_STORE")
    expect_error(kms.create_key, "UnsupportedOperationException",
                 "KMS keys in a custom key store must have KeySpec SYMMETRIC_DEFAULT and KeyUsage "
                 "ENCRYPT_DECRYPT, not RSA_2048 and ENCRYPT_DECRYPT.",
                 CustomKeyStoreId=xks, Origin="EXTERNAL_KEY_STORE", XksKeyId="ext-1",
                 KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT")
    md = kms.create_key(CustomKeyStoreId=xks, Origin="EXTERNAL_KEY_STORE",
                        XksKeyId="ext-1")["KeyMetadata"]
    assert md["Origin"] == "EXTERNAL_KEY_STORE" and md["XksKeyConfiguration"] == {"Id": "ext-1"}
    assert md["CustomKeyStoreId"] == xks and "CloudHsmClusterId" not in md
    expect_error(kms.create_key, "XksKeyAlreadyInUseException",
                 f"XksKeyId ext-1 is already associated with {key_arn(md['KeyId'])} in custom key "
                 f"store {xks}. Each KMS key in an external key store needs an external key of "
                 "its own.", CustomKeyStoreId=xks, Origin="EXTERNAL_KEY_STORE", XksKeyId="ext-1")
    blob = kms.encrypt(KeyId=md["KeyId"], Plaintext=b"external")["CiphertextBlob"]
    expect_error(kms.generate_random, "UnsupportedOperationException", CustomKeyStoreId=xks,
                 NumberOfBytes=8)
    kms.disconnect_custom_key_store(CustomKeyStoreId=xks)
    expect_error(kms.decrypt, "KMSInvalidStateException", f"{key_arn(md['KeyId'])} is unavailable.",
                 CiphertextBlob=blob)
    kms.connect_custom_key_store(CustomKeyStoreId=xks)
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"external"

    # The store goes once its key is deleted and it is disconnected.
    kms.schedule_key_deletion(KeyId=md["KeyId"], PendingWindowInDays=7)
    kms.disconnect_custom_key_store(CustomKeyStoreId=xks)
    expect_error(kms.delete_custom_key_store, "CustomKeyStoreHasCMKsException",
                 CustomKeyStoreId=xks)


def test_stores_states_and_keys_survive_a_restart(fresh_server):
    srv = fresh_server()
    kms = make_client(srv.url)
    hsm = cloudhsm_store(kms, "hsm")
    connect_and_wait(kms, hsm)
    xks = xks_store(kms, "xks")
    connect_and_wait(kms, xks)
    hsm_key = kms.create_key(CustomKeyStoreId=hsm, Origin="AWS_CLOUDHSM")["KeyMetadata"]["KeyId"]
    xks_key = kms.create_key(CustomKeyStoreId=xks, Origin="EXTERNAL_KEY_STORE",
                             XksKeyId="ext-1")["KeyMetadata"]["KeyId"]
    hsm_blob = kms.encrypt(KeyId=hsm_key, Plaintext=b"hsm")["CiphertextBlob"]
    xks_blob = kms.encrypt(KeyId=xks_key, Plaintext=b"xks")["CiphertextBlob"]
    kms.disconnect_custom_key_store(CustomKeyStoreId=xks)  # one connected, one not
    before = call_ok(srv.url, "DescribeCustomKeyStores", {})
    keys_before = {k: call_ok(srv.url, "DescribeKey", {"KeyId": k}) for k in (hsm_key, xks_key)}

    srv.kill9()  # nothing acknowledged may be lost
    srv.start()
    kms = make_client(srv.url)
    assert call_ok(srv.url, "DescribeCustomKeyStores", {}) == before
    assert {k: call_ok(srv.url, "DescribeKey", {"KeyId": k}) for k in (hsm_key, xks_key)} == keys_before
    assert keys_before[xks_key]["KeyMetadata"]["KeyState"] == "Unavailable"
    assert kms.decrypt(CiphertextBlob=hsm_blob)["Plaintext"] == b"hsm"
    expect_error(kms.decrypt, "KMSInvalidStateException", f"{key_arn(xks_key)} is unavailable.",
                 CiphertextBlob=xks_blob)
    kms.connect_custom_key_store(CustomKeyStoreId=xks)
    assert kms.decrypt(CiphertextBlob=xks_blob)["Plaintext"] == b"xks"

    srv.stop()  # and a graceful restart keeps the reconnection
    srv.start()
    kms = make_client(srv.url)
    assert state_of(kms, xks) == "CONNECTED"
    assert kms.decrypt(CiphertextBlob=xks_blob)["Plaintext"] == b"xks"
    srv.stop()


def test_no_error_message_holds_a_secret():
    for where, error_type, message in RECEIVED_ERRORS:
        assert_no_secret(message)
