import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError } from "../runtime/env-config.ts";
import { deriveNodeCredential } from "../proto/node-credential.ts";
import { generateSigningKeyPair } from "../proto/signing-keys.ts";
import { loadDataPlaneSettings } from "./config.ts";

const required = {
  CORRAL_CP_URL: "http://127.0.0.1:7400",
  CORRAL_NODE_TOKEN: deriveNodeCredential("s".repeat(32), "dp-3"),
  CORRAL_VERIFY_KEY: generateSigningKeyPair().publicKey,
  CORRAL_SLOT: "dp-3",
};

test("defaults fill in around the required settings", () => {
  const s = loadDataPlaneSettings(required, "/srv/corral");
  assert.equal(s.blobUrl, "file:///srv/corral/.corral/blobs");
  assert.equal(s.dataDir, "/srv/corral/.corral/dp-dp-3");
  assert.deepEqual(
    [s.zone, s.host, s.httpPort, s.grpcPort, s.opsPort, s.snapshotCapacity, s.pollIntervalMs, s.logLevel],
    ["zone-a", "127.0.0.1", 7500, 7600, 7700, 8388608, 10000, "info"],
  );
  assert.equal(s.advertiseUrl, undefined);
  assert.equal(s.redisUrl, undefined);
  assert.equal(s.verifyKey.asymmetricKeyType, "ed25519");
  assert.ok(Object.isFrozen(s));
});

test("every bad or missing variable is named, unknown CORRAL_* refused", () => {
  try {
    loadDataPlaneSettings({
      CORRAL_CP_URL: "ftp://x",
      CORRAL_VERIFY_KEY: "not a key",
      CORRAL_SLOT: "DP 0",
      CORRAL_HTTP_PORT: "99999",
      CORRAL_BLOB_URL: "http://x",
      CORRAL_SNAPSHOT_CAPACITY: "10",
      CORRAL_SIGNING_KEY: "belongs to the control plane",
    });
    assert.fail("expected a ConfigError");
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    const text = err.problems.join("\n");
    for (const name of [
      "CORRAL_CP_URL",
      "CORRAL_NODE_TOKEN is required",
      "CORRAL_VERIFY_KEY",
      "CORRAL_SLOT",
      "CORRAL_HTTP_PORT",
      "CORRAL_BLOB_URL",
      "CORRAL_SNAPSHOT_CAPACITY",
      "CORRAL_SIGNING_KEY is not a setting",
    ])
      assert.ok(text.includes(name), `${name} not reported in:\n${text}`);
    assert.ok(!text.includes(required.CORRAL_NODE_TOKEN));
  }
});

test("explicit settings are taken as given", () => {
  const s = loadDataPlaneSettings({
    ...required,
    CORRAL_DATA_DIR: "/var/lib/corral",
    CORRAL_ADVERTISE_URL: "http://dp-3.internal:7500",
    CORRAL_BLOB_URL: "s3://bucket/prefix",
    CORRAL_S3_ENDPOINT: "http://127.0.0.1:9000",
    CORRAL_POLL_INTERVAL_MS: "250",
    CORRAL_LOG_LEVEL: "silent",
  });
  assert.deepEqual(
    [s.dataDir, s.advertiseUrl, s.blobUrl, s.s3Endpoint, s.pollIntervalMs, s.logLevel],
    [
      "/var/lib/corral",
      "http://dp-3.internal:7500",
      "s3://bucket/prefix",
      "http://127.0.0.1:9000",
      250,
      "silent",
    ],
  );
});

test("CORRAL_LOG_SAMPLE_RATE: a fraction from 0 to 1, every request by default", () => {
  assert.equal(loadDataPlaneSettings(required).logSampleRate, 1);
  for (const [raw, rate] of [
    ["0", 0],
    ["0.01", 0.01],
    [".5", 0.5],
    ["1", 1],
    ["1.0", 1],
    ["1e-3", 0.001],
  ] as const)
    assert.equal(loadDataPlaneSettings({ ...required, CORRAL_LOG_SAMPLE_RATE: raw }).logSampleRate, rate);
  for (const raw of ["1.5", "-0.1", "2e-1x", "half", "0x1", "NaN", "Infinity", " 0.5"])
    assert.throws(
      () => loadDataPlaneSettings({ ...required, CORRAL_LOG_SAMPLE_RATE: raw }),
      (err: unknown) => err instanceof ConfigError && err.problems[0]!.startsWith("CORRAL_LOG_SAMPLE_RATE"),
      raw,
    );
});

test("the node credential must be one, for this very slot; a CA file needs https and must be readable", () => {
  const problems = (env: Record<string, string>) => {
    try {
      loadDataPlaneSettings({ ...required, ...env });
      return "";
    } catch (err) {
      return (err as ConfigError).problems.join("\n");
    }
  };
  assert.match(
    problems({ CORRAL_NODE_TOKEN: "crn_shared-token-of-the-old-days" }),
    /CORRAL_NODE_TOKEN: expected/,
  );
  assert.match(
    problems({ CORRAL_NODE_TOKEN: deriveNodeCredential("s".repeat(32), "dp-4") }),
    /credential is for slot dp-4, CORRAL_SLOT is dp-3/,
  );
  assert.match(problems({ CORRAL_CP_CA_FILE: "/nonexistent/ca.pem" }), /CORRAL_CP_CA_FILE: set with an http/);
  assert.match(
    problems({ CORRAL_CP_URL: "https://cp:7400", CORRAL_CP_CA_FILE: "/nonexistent/ca.pem" }),
    /CORRAL_CP_CA_FILE: cannot read/,
  );
  assert.equal(loadDataPlaneSettings(required).cpCa, undefined);
});

test("slow-client limits: sane defaults, the headers timeout never beyond the request timeout", () => {
  assert.deepEqual(loadDataPlaneSettings(required).limits, {
    headersTimeoutMs: 10_000,
    requestTimeoutMs: 30_000,
    idleTimeoutMs: 30_000,
    maxConnections: 10_000,
    maxConnectionsPerSource: 0,
    maxRequestsPerConnection: 10_000,
  });
  const short = loadDataPlaneSettings({ ...required, CORRAL_REQUEST_TIMEOUT_MS: "2000" });
  assert.equal(short.limits.headersTimeoutMs, 2000);
  assert.throws(
    () => loadDataPlaneSettings({ ...required, CORRAL_MAX_CONNECTIONS: "0", CORRAL_IDLE_TIMEOUT_MS: "x" }),
    (err: ConfigError) =>
      err.problems.some((p) => p.startsWith("CORRAL_MAX_CONNECTIONS")) &&
      err.problems.some((p) => p.startsWith("CORRAL_IDLE_TIMEOUT_MS")),
  );
});

test("CORRAL_TRUSTED_PROXIES: none by default, addresses and CIDR blocks, errors name it", () => {
  assert.equal(loadDataPlaneSettings(required).trustedProxies.check("127.0.0.1"), false);
  const s = loadDataPlaneSettings({ ...required, CORRAL_TRUSTED_PROXIES: "10.0.0.0/8, fd00::/8" });
  assert.equal(s.trustedProxies.check("10.2.3.4"), true);
  assert.equal(s.trustedProxies.check("fd00::1", "ipv6"), true);
  assert.throws(
    () => loadDataPlaneSettings({ ...required, CORRAL_TRUSTED_PROXIES: "10.0.0.0/40" }),
    /CORRAL_TRUSTED_PROXIES/,
  );
});
