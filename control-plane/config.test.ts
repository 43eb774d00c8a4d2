import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError } from "../runtime/env-config.ts";
import { maxPayloadFor } from "../proto/snapshot-codec.ts";
import { generateSigningKeyPair } from "../proto/signing-keys.ts";
import { loadControlPlaneConfig } from "./config.ts";

const required = () => ({
  CORRAL_PG_URL: "postgres://corral@127.0.0.1:5432/corral",
  CORRAL_NODE_SECRET: "node-secret-0123456789abcdef0123456789",
  CORRAL_SIGNING_KEY: generateSigningKeyPair().privateKey,
});

test("defaults fill everything but the required settings", () => {
  const config = loadControlPlaneConfig(required(), "/srv/corral");
  assert.equal(config.CORRAL_BLOB_URL, "file:///srv/corral/.corral/blobs");
  assert.equal(config.CORRAL_HOST, "127.0.0.1");
  assert.equal(config.CORRAL_HTTP_PORT, 7400);
  assert.equal(config.CORRAL_GRPC_PORT, 7401);
  assert.equal(config.CORRAL_SNAPSHOT_CAPACITY, 8 * 1024 * 1024);
  assert.equal(config.CORRAL_MIGRATE, true);
  assert.equal(config.CORRAL_OPERATOR_TOKEN, "");
  assert.equal(config.CORRAL_SIGNING_KEY.asymmetricKeyType, "ed25519");
  assert.equal(config.CORRAL_MAX_SLOTS, 256);
  assert.equal(config.CORRAL_SYNC_MAX_FRAMES_PER_SEC, 50);
  assert.equal(config.CORRAL_TLS_CERT_FILE, "");
  assert.ok(Object.isFrozen(config));
});

test("every problem names its variable, and secrets never appear in the message", () => {
  const env = {
    CORRAL_PG_URL: "mysql://nope",
    CORRAL_SIGNING_KEY: "c2VjcmV0LWJ1dC1ub3QtYS1rZXk=",
    CORRAL_NODE_SECRET: "short",
    CORRAL_BLOB_URL: "ftp://x",
    CORRAL_SNAPSHOT_CAPACITY: "10",
    CORRAL_HTTP_PORT: "99999",
    CORRAL_DATA_DIR: "/tmp/x",
  };
  let error: ConfigError | undefined;
  try {
    loadControlPlaneConfig(env);
  } catch (err) {
    error = err as ConfigError;
  }
  assert.ok(error instanceof ConfigError);
  const names = [
    "CORRAL_PG_URL",
    "CORRAL_SIGNING_KEY",
    "CORRAL_NODE_SECRET",
    "CORRAL_BLOB_URL",
    "CORRAL_SNAPSHOT_CAPACITY",
    "CORRAL_HTTP_PORT",
    "CORRAL_DATA_DIR",
  ];
  for (const name of names)
    assert.ok(
      error.problems.some((p) => p.startsWith(name)),
      name,
    );
  assert.ok(!error.message.includes("c2VjcmV0LWJ1dC1ub3QtYS1rZXk="));
  assert.ok(!error.message.includes("short"));
});

test("missing required settings are each reported", () => {
  assert.throws(
    () => loadControlPlaneConfig({}),
    (err: ConfigError) =>
      ["CORRAL_PG_URL", "CORRAL_NODE_SECRET", "CORRAL_SIGNING_KEY"].every((n) =>
        err.problems.some((p) => p.startsWith(`${n} is required`)),
      ),
  );
});

test("the old shared CORRAL_NODE_TOKEN is refused, and a TLS certificate needs its key", () => {
  assert.throws(
    () => loadControlPlaneConfig({ ...required(), CORRAL_NODE_TOKEN: "node-token-0123456789" }),
    (err: ConfigError) => err.problems.some((p) => p.startsWith("CORRAL_NODE_TOKEN is not a setting")),
  );
  assert.throws(
    () => loadControlPlaneConfig({ ...required(), CORRAL_TLS_CERT_FILE: "/etc/tls/tls.crt" }),
    (err: ConfigError) => err.problems.some((p) => p.includes("CORRAL_TLS_KEY_FILE")),
  );
});

test("the payload bound and fleet reserve follow the capacity, and a bound past it names the variable", () => {
  const config = loadControlPlaneConfig({ ...required(), CORRAL_SNAPSHOT_CAPACITY: String(64 * 1024) });
  assert.equal(config.CORRAL_SNAPSHOT_MAX_PAYLOAD, maxPayloadFor(64 * 1024));
  assert.equal(config.CORRAL_SNAPSHOT_FLEET_RESERVE, Math.floor(maxPayloadFor(64 * 1024) / 8));
  const big = loadControlPlaneConfig(required());
  assert.equal(big.CORRAL_SNAPSHOT_FLEET_RESERVE, 64 * 1024);
  assert.ok(Object.isFrozen(config));
  const explicit = loadControlPlaneConfig({
    ...required(),
    CORRAL_SNAPSHOT_MAX_PAYLOAD: "10000",
    CORRAL_SNAPSHOT_FLEET_RESERVE: "100",
  });
  assert.deepEqual(
    [explicit.CORRAL_SNAPSHOT_MAX_PAYLOAD, explicit.CORRAL_SNAPSHOT_FLEET_RESERVE],
    [10000, 100],
  );
  assert.throws(
    () =>
      loadControlPlaneConfig({
        ...required(),
        CORRAL_SNAPSHOT_CAPACITY: String(64 * 1024),
        CORRAL_SNAPSHOT_MAX_PAYLOAD: String(64 * 1024),
      }),
    (e: unknown) => e instanceof ConfigError && /CORRAL_SNAPSHOT_MAX_PAYLOAD/.test(e.message),
  );
  assert.throws(
    () =>
      loadControlPlaneConfig({
        ...required(),
        CORRAL_SNAPSHOT_MAX_PAYLOAD: "1000",
        CORRAL_SNAPSHOT_FLEET_RESERVE: "1000",
      }),
    (e: unknown) => e instanceof ConfigError && /CORRAL_SNAPSHOT_FLEET_RESERVE/.test(e.message),
  );
});
