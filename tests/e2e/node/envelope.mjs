// Envelope encryption against kmsd with the AWS SDK for JavaScript v3.
// Usage: node envelope.mjs http://127.0.0.1:PORT
// Prints one line per step and "node envelope: OK"; exits non-zero on any failure.
import {
  KMSClient,
  CreateKeyCommand,
  GenerateDataKeyWithoutPlaintextCommand,
  DecryptCommand,
} from "@aws-sdk/client-kms";

const endpoint = process.argv[2];
if (!endpoint) {
  console.error("usage: node envelope.mjs <endpoint-url>");
  process.exit(2);
}

const client = new KMSClient({
  endpoint,
  region: "us-east-1",
  credentials: { accessKeyId: "AKIDTEST", secretAccessKey: "secret" },
  maxAttempts: 1,
});

function check(condition, what) {
  if (!condition) throw new Error(`check failed: ${what}`);
  console.log(`ok - ${what}`);
}

const context = { purpose: "node-e2e", tenant: "t1" };

async function main() {
  const created = await client.send(new CreateKeyCommand({ Description: "node sdk" }));
  const keyId = created.KeyMetadata?.KeyId;
  const arn = `arn:aws:kms:us-east-1:111122223333:key/${keyId}`;
  check(created.KeyMetadata?.Arn === arn, `CreateKey returned ${created.KeyMetadata?.Arn}`);

  const gen = await client.send(
    new GenerateDataKeyWithoutPlaintextCommand({
      KeyId: keyId,
      KeySpec: "AES_256",
      EncryptionContext: context,
    }),
  );
  check(gen.KeyId === arn, `GenerateDataKeyWithoutPlaintext KeyId is the key ARN (${gen.KeyId})`);
  check(gen.Plaintext === undefined, "GenerateDataKeyWithoutPlaintext has no Plaintext");
  check(gen.CiphertextBlob instanceof Uint8Array && gen.CiphertextBlob.length > 32,
        `CiphertextBlob is ${gen.CiphertextBlob?.length} bytes`);

  const dec = await client.send(
    new DecryptCommand({ CiphertextBlob: gen.CiphertextBlob, EncryptionContext: context }),
  );
  check(dec.Plaintext instanceof Uint8Array && dec.Plaintext.length === 32,
        `Decrypt returns a 32-byte data key (${dec.Plaintext?.length})`);
  check(dec.KeyId === arn, `Decrypt KeyId is the key ARN (${dec.KeyId})`);
  check(dec.EncryptionAlgorithm === "SYMMETRIC_DEFAULT",
        `Decrypt EncryptionAlgorithm ${dec.EncryptionAlgorithm}`);

  let wrong = null;
  try {
    await client.send(
      new DecryptCommand({
        CiphertextBlob: gen.CiphertextBlob,
        EncryptionContext: { ...context, purpose: "other" },
      }),
    );
  } catch (err) {
    wrong = err;
    // Each error the SDK received, for the suite's scan for internal detail (test_node_sdk.py).
    console.log(`node envelope: error ${JSON.stringify({ name: err.name, message: err.message })}`);
  }
  check(wrong !== null, "Decrypt with a wrong context fails");
  check(wrong.name === "InvalidCiphertextException",
        `the error is InvalidCiphertextException (got ${wrong.name}: ${wrong.message})`);
  check(wrong.$metadata?.httpStatusCode === 400, `HTTP 400 (${wrong.$metadata?.httpStatusCode})`);
  check(typeof wrong.$metadata?.requestId === "string" && wrong.$metadata.requestId.length > 0,
        "the error carries a request id");
}

main().then(
  () => {
    console.log("node envelope: OK");
  },
  (err) => {
    console.error(`node envelope: FAILED: ${err?.name ?? "Error"}: ${err?.message ?? err}`);
    process.exit(1);
  },
);
