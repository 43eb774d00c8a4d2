/** Pure parts of the dev runner: port plans, secrets, settings, the dev.json document, the terminal summary. */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import { createServer } from "node:net";
import { summaryOf } from "../../bin/dev/dev-command.ts";
import { LOCK_FILE, lockDir } from "../../bin/dev/dir-lock.ts";
import { startPlatform } from "../../bin/dev/platform.ts";
import { blobDirOf, curlCommands, devJson, shellQuote } from "../../bin/dev/dev-report.ts";
import { DevUsageError, flagValues, loadDevSettings, portPlanOf } from "../../bin/dev/dev-settings.ts";
import { controlPlaneEnv, dataPlaneEnv, inheritedEnv, zoneOf } from "../../bin/dev/platform-env.ts";
import { allPorts, DEFAULT_PORTS, FREE_PORTS, portsInUse, resolvePorts } from "../../bin/dev/ports.ts";
import { completeSecrets, generateSecrets, loadSecrets, SECRETS_FILE } from "../../bin/dev/secrets.ts";
import { ConfigError } from "../../runtime/env-config.ts";
import { parsePrivateKey, parsePublicKey } from "../../proto/signing-keys.ts";

describe("port plan", () => {
  it("uses the docs/design.md §9.3 defaults, one port up per replica", async () => {
    const ports = await resolvePorts(DEFAULT_PORTS, { controlPlanes: 1, dataPlanes: 3 }, () => {
      throw new Error("no allocation expected");
    });
    assert.deepEqual(ports.cps, [{ http: 7400, grpc: 7401 }]);
    assert.deepEqual(ports.dps, [
      { http: 7500, grpc: 7600, ops: 7700 },
      { http: 7501, grpc: 7601, ops: 7701 },
      { http: 7502, grpc: 7602, ops: 7702 },
    ]);
    assert.equal(ports.upstreamHttp, 7800);
    assert.equal(ports.upstreamGrpc, 7801);
  });

  it("allocates every port of a free plan separately", async () => {
    let next = 20000;
    const ports = await resolvePorts(FREE_PORTS, { controlPlanes: 2, dataPlanes: 3 }, async () => next++);
    const all = allPorts(ports);
    assert.equal(new Set(all).size, all.length);
    assert.equal(all.length, 1 + 2 * 2 + 3 * 3 + 2);
  });

  it("refuses a plan whose ranges overlap", async () => {
    const plan = { ...DEFAULT_PORTS, dpGrpc: 7501 };
    await assert.rejects(
      resolvePorts(plan, { controlPlanes: 1, dataPlanes: 3 }, async () => 1),
      /twice/,
    );
  });
});

describe("secrets", () => {
  it("keeps valid stored values and fills in the missing ones", () => {
    const stored = generateSecrets();
    const kept = completeSecrets({ ...stored, demoApiKey: { id: "k1", key: "crl_x" } });
    assert.deepEqual(kept, { ...stored, demoApiKey: { id: "k1", key: "crl_x" } });
    const filled = completeSecrets({ nodeSecret: stored.nodeSecret });
    assert.equal(filled.nodeSecret, stored.nodeSecret);
    assert.notEqual(
      completeSecrets({ nodeSecret: "too-short-for-a-node-secret" }).nodeSecret,
      "too-short-for-a-node-secret",
    );
    parsePrivateKey(filled.signingKey);
    parsePublicKey(filled.verifyKey);
  });

  it("replaces a key pair whose halves do not belong together", () => {
    const a = generateSecrets();
    const b = generateSecrets();
    const fresh = generateSecrets();
    const out = completeSecrets({ ...a, verifyKey: b.verifyKey }, fresh);
    assert.equal(out.signingKey, fresh.signingKey);
    assert.equal(out.verifyKey, fresh.verifyKey);
    assert.equal(out.nodeSecret, a.nodeSecret);
  });

  it("persists to a 0600 file and reads the same secrets back", async () => {
    const dir = await mkdtemp(join(tmpdir(), "corral-secrets-"));
    try {
      const first = await loadSecrets(dir);
      assert.equal((await stat(join(dir, SECRETS_FILE))).mode & 0o777, 0o600);
      assert.deepEqual(await loadSecrets(dir), first);
      await writeFile(join(dir, SECRETS_FILE), "{not json");
      const regenerated = await loadSecrets(dir);
      assert.notEqual(regenerated.operatorToken, first.operatorToken);
      assert.deepEqual(JSON.parse(await readFile(join(dir, SECRETS_FILE), "utf8")), regenerated);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("dev settings", () => {
  it("maps flags onto CORRAL_DEV_* variables, flags winning over the environment", () => {
    const s = loadDevSettings(
      ["--cp-http-port", "9400", "--verbose", "--data-planes=2"],
      { CORRAL_DEV_CP_HTTP_PORT: "8400", CORRAL_DEV_DP_HTTP_PORT: "8500", CORRAL_PG_URL: "ignored" },
      "/srv/corral",
    );
    assert.equal(s.CORRAL_DEV_CP_HTTP_PORT, 9400);
    assert.equal(s.CORRAL_DEV_DP_HTTP_PORT, 8500);
    assert.equal(s.CORRAL_DEV_VERBOSE, true);
    assert.equal(s.CORRAL_DEV_DATA_PLANES, 2);
    assert.equal(s.CORRAL_DEV_DIR, "/srv/corral/.corral");
  });

  it("names the bad variable", () => {
    assert.throws(
      () => loadDevSettings([], { CORRAL_DEV_DP_OPS_PORT: "99999", CORRAL_DEV_TYPO: "1" }, "/"),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.problems.some((p) => p.startsWith("CORRAL_DEV_DP_OPS_PORT")) &&
        err.problems.some((p) => p.startsWith("CORRAL_DEV_TYPO")),
    );
  });

  it("refuses unknown flags and flags without their value", () => {
    const known = new Set(["CORRAL_DEV_DIR"]);
    assert.throws(() => flagValues(["--nope"], known), DevUsageError);
    assert.throws(() => flagValues(["--dir"], known), DevUsageError);
    assert.throws(() => flagValues(["stray"], known), DevUsageError);
  });

  it("turns --free-ports into a free plan", () => {
    assert.equal(portPlanOf(loadDevSettings(["--free-ports"], {}, "/")), "free");
  });
});

describe("child environments", () => {
  it("drops every inherited CORRAL_* variable", () => {
    const env = inheritedEnv({ PATH: "/bin", CORRAL_DEV_DIR: "x", CORRAL_PG_URL: "y", HOME: undefined });
    assert.deepEqual(env, { PATH: "/bin" });
  });

  it("gives each role exactly its contract variables", () => {
    const shared = { host: "127.0.0.1", blobUrl: "file:///b" };
    const cp = controlPlaneEnv({
      ...shared,
      id: "cp-0",
      pgUrl: "postgres://x",
      nodeSecret: "s".repeat(32),
      httpPort: 1,
      grpcPort: 2,
      signingKey: "k",
      operatorToken: "t",
    });
    assert.deepEqual(Object.keys(cp).sort(), [
      "CORRAL_BLOB_URL",
      "CORRAL_CP_ID",
      "CORRAL_GRPC_PORT",
      "CORRAL_HOST",
      "CORRAL_HTTP_PORT",
      "CORRAL_NODE_SECRET",
      "CORRAL_OPERATOR_TOKEN",
      "CORRAL_PG_URL",
      "CORRAL_SIGNING_KEY",
    ]);
    const dp = dataPlaneEnv({
      ...shared,
      slot: "dp-1",
      nodeCredential: "crn_dp-1.x",
      zone: zoneOf(1),
      cpUrl: "http://cp",
      verifyKey: "v",
      httpPort: 3,
      grpcPort: 4,
      opsPort: 5,
      dataDir: "/d",
    });
    assert.equal(dp.CORRAL_ZONE, "zone-b");
    assert.equal(dp.CORRAL_SLOT, "dp-1");
    assert.equal(dp.CORRAL_NODE_TOKEN, "crn_dp-1.x");
    assert.equal(dp.CORRAL_NODE_SECRET, undefined);
    assert.equal(dp.CORRAL_OPS_PORT, "5");
  });
});

describe("dev.json and the printed commands", () => {
  const input = {
    cp: { url: "http://127.0.0.1:7400", grpc: "127.0.0.1:7401", pid: 11 },
    dps: [
      {
        slot: "dp-0",
        zone: "zone-a",
        url: "http://127.0.0.1:7500",
        grpc: "127.0.0.1:7600",
        ops: "http://127.0.0.1:7700",
        pid: 12,
      },
    ],
    upstreams: { http: "http://127.0.0.1:7800", grpc: "127.0.0.1:7801" },
    operatorToken: "cro_x",
    demo: { tenant: "demo", apiKey: "crl_abc_d'e", httpPath: "/hello", grpcService: "corral.demo.v1.Echo" },
    blobUrl: pathToFileURL("/home/me/app/.corral/blobs").href,
    cwd: "/home/me/app",
  };

  it("has exactly the shape of docs/design.md §9.3", () => {
    const dev = devJson(input);
    assert.deepEqual(Object.keys(dev), ["controlPlane", "dataPlane", "upstreams", "demo", "blobDir"]);
    assert.deepEqual(Object.keys(dev.controlPlane), ["url", "grpc", "pid", "operatorToken"]);
    assert.deepEqual(Object.keys(dev.dataPlane[0]!), ["slot", "zone", "url", "grpc", "ops", "pid"]);
    assert.deepEqual(Object.keys(dev.demo), ["tenant", "apiKey", "httpPath", "grpcService"]);
    assert.equal(dev.blobDir, ".corral/blobs");
  });

  it("shows a blob directory outside the working directory absolute", () => {
    assert.equal(blobDirOf(pathToFileURL("/srv/blobs").href, "/home/me"), "/srv/blobs");
    assert.equal(blobDirOf("s3://bucket/prefix", "/home/me"), "s3://bucket/prefix");
  });

  it("quotes the key for the shell", () => {
    assert.equal(shellQuote("plain-1.2"), "plain-1.2");
    assert.deepEqual(curlCommands(devJson(input)), [
      `curl -H 'x-api-key: crl_abc_d'"'"'e' http://127.0.0.1:7500/hello`,
    ]);
  });
});

describe("terminal summary of child output", () => {
  it("shows warnings and errors, hides routine lines", () => {
    assert.equal(summaryOf(JSON.stringify({ level: 30, msg: "request" }), "stdout"), undefined);
    assert.equal(summaryOf(JSON.stringify({ level: 40, msg: "slow" }), "stdout"), "WARN slow");
    assert.equal(
      summaryOf(JSON.stringify({ level: 50, msg: "failed", err: { message: "boom" } }), "stdout"),
      "ERROR failed: boom",
    );
    assert.equal(summaryOf("TypeError: x is not a function", "stderr"), "TypeError: x is not a function");
    assert.equal(summaryOf("plain stdout", "stdout"), undefined);
  });
});

describe("guards against a second platform", () => {
  it("one lock per state directory; a stale lock is taken over", async () => {
    const dir = await mkdtemp(join(tmpdir(), "corral-lock-"));
    try {
      const lock = await lockDir(dir);
      await assert.rejects(lockDir(dir, process.pid + 1), /in use by another platform \(pid \d+\)/);
      await lock.release();
      await writeFile(join(dir, LOCK_FILE), "2147483646\n");
      const taken = await lockDir(dir);
      assert.equal((await readFile(join(dir, LOCK_FILE), "utf8")).trim(), String(process.pid));
      await taken.release();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("refuses to start on a port something listens on, starting nothing and keeping no lock", async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, "127.0.0.1", resolve));
    const port = (busy.address() as { port: number }).port;
    const dir = await mkdtemp(join(tmpdir(), "corral-busy-"));
    try {
      assert.deepEqual(await portsInUse([port]), [port]);
      for (let i = 0; i < 2; i++) {
        const events: unknown[] = [];
        await assert.rejects(
          startPlatform({ dir, ports: { ...FREE_PORTS, cpHttp: port }, onEvent: (e) => events.push(e) }),
          new RegExp(`port ${port} already in use`),
        );
        assert.deepEqual(events, []);
      }
    } finally {
      busy.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
