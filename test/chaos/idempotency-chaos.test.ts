/**
 * Gateway idempotency keys under chaos, with real processes: two data-plane nodes (child
 * processes), a Redis with an fsync-always append-only file, and a counting upstream. Clients
 * send keyed POSTs and retry each one (alternating nodes) until it has a final answer, while a
 * chaos loop SIGKILLs and restarts the nodes and restarts Redis, and the upstream cuts the
 * connection after running some requests. Whatever happens, the upstream runs each key at most
 * once; every key ends with its answer (first or replayed) or spent (409: ran, answer lost).
 * Run: npx node --test test/chaos/idempotency-chaos.test.ts (it prints what the chaos did).
 */
import assert from "node:assert/strict";
import { fileURLToPath, pathToFileURL } from "node:url";
import { after, before, test } from "node:test";
import { type ChildHandle, startChild } from "../support/child.ts";
import { poll } from "../support/poll.ts";
import { freePort } from "../support/ports.ts";
import { type RedisServer, startRedis } from "../support/redis.ts";
import { type CountingUpstream, countingUpstream } from "../data-plane/counting-upstream.ts";
import * as fx from "../data-plane/fixtures.ts";
import { testNodeCredential, type Workspace, workspace } from "../data-plane/support.ts";

const BIN = fileURLToPath(new URL("../../bin/corral.ts", import.meta.url));
/** keys at least; clients go on with new keys until the chaos plan has run */
const MIN_KEYS = 48;
const CLIENTS = 4;
/** a bound for a loaded machine, not a measurement */
const WORKLOAD_DEADLINE_MS = 150_000;

const pair = fx.signingPair();
const apiKey = fx.newKey();
let ws: Workspace;
let redis: RedisServer;
let upstream: CountingUpstream;

interface Node {
  slot: string;
  env: Record<string, string>;
  url: string;
  ops: string;
  child?: ChildHandle;
}
const nodes: Node[] = [];

async function nodeSpec(slot: string): Promise<Node> {
  const [http, grpc, ops] = [await freePort(), await freePort(), await freePort()];
  const env = {
    PATH: process.env.PATH ?? "",
    CORRAL_CP_URL: `http://127.0.0.1:${await freePort()}`,
    CORRAL_NODE_TOKEN: testNodeCredential(slot),
    CORRAL_VERIFY_KEY: pair.verifyKeyText,
    CORRAL_BLOB_URL: pathToFileURL(ws.blobDir).href,
    CORRAL_SLOT: slot,
    CORRAL_ZONE: "zone-a",
    CORRAL_HTTP_PORT: String(http),
    CORRAL_GRPC_PORT: String(grpc),
    CORRAL_OPS_PORT: String(ops),
    CORRAL_DATA_DIR: `${ws.dataDir}/${slot}`,
    CORRAL_POLL_INTERVAL_MS: "60000",
    CORRAL_SNAPSHOT_CAPACITY: String(fx.CAPACITY),
    CORRAL_LOG_LEVEL: "warn",
    CORRAL_REDIS_URL: redis.url,
    CORRAL_IDEMPOTENCY_LEASE_MS: "1000",
  };
  return { slot, env, url: `http://127.0.0.1:${http}`, ops: `http://127.0.0.1:${ops}` };
}

async function startNodeProcess(node: Node): Promise<void> {
  node.child = startChild(process.execPath, [BIN, "data-plane"], { env: node.env });
  await poll(`${node.slot} to be ready`, async () => (await fetch(`${node.ops}/readyz`)).ok, 60_000, 100);
}

async function killNode(node: Node): Promise<void> {
  const proc = node.child?.proc;
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((resolve) => proc.once("exit", resolve));
  proc.kill("SIGKILL");
  await exited;
}

before(async () => {
  ws = await workspace();
  redis = await startRedis({ persistent: true });
  upstream = await countingUpstream();
  const snap = fx.snapshot(1, [
    fx.tenant({
      id: "acme",
      upstream: upstream.url,
      keys: [{ id: apiKey.id, hash: apiKey.hash }],
      routes: [{ id: "orders", pathPrefix: "/", idempotency: true, timeoutMs: 5000 }],
    }),
  ]);
  await fx.publish(ws.store, fx.sign(snap, pair));
  for (const slot of ["dp-0", "dp-1"]) nodes.push(await nodeSpec(slot));
  await Promise.all(nodes.map(startNodeProcess));
});

after(async () => {
  await Promise.all(nodes.map((n) => n.child?.stop()));
  await upstream?.close();
  await redis?.destroy();
  await ws?.remove();
});

type Final = "answered" | "replayed" | "spent";

/** Retries one key until it has a final answer; a 422 (same key, same request) fails the test. */
async function runKey(i: number, stop: AbortSignal): Promise<{ final: Final; attempts: number }> {
  // some requests run long (a kill lands mid-flight), some are cut by the upstream after running
  const path = i % 6 === 0 ? `/reset/${i}` : i % 6 === 1 ? `/slow/600/${i}` : `/slow/40/${i}`;
  for (let attempt = 0; ; attempt++) {
    stop.throwIfAborted();
    const node = nodes[(i + attempt) % nodes.length]!;
    try {
      const res = await fetch(node.url + path, {
        method: "POST",
        headers: {
          "x-api-key": apiKey.key,
          "idempotency-key": `order-${i}`,
          "content-type": "application/json",
        },
        body: JSON.stringify({ order: i }),
        // the long ones' first attempt gives up early, as an impatient client would
        signal: AbortSignal.any([stop, AbortSignal.timeout(i % 6 === 1 && attempt === 0 ? 200 : 10_000)]),
      });
      const reason = res.headers.get("corral-reason") ?? "";
      const replay = res.headers.get("corral-idempotent-replay") === "true";
      await res.arrayBuffer();
      assert.notEqual(res.status, 422, `order-${i}: a retry of the same request was called a different one`);
      if (res.status === 201) return { final: replay ? "replayed" : "answered", attempts: attempt + 1 };
      if (reason === "idempotency_spent") return { final: "spent", attempts: attempt + 1 };
    } catch (err) {
      if (err instanceof assert.AssertionError) throw err;
      // the node died under the request, or it timed out: retry
    }
    await new Promise((r) => setTimeout(r, 50 + 50 * Math.random())); // the client's retry backoff
  }
}

/** The chaos plan: kill (SIGKILL) and restart a node, or restart Redis, one after the other. */
const PLAN = ["dp-0", "redis", "dp-1", "redis", "dp-0", "dp-1"] as const;

test("through node kills, Redis restarts and upstream resets, each key runs at most once", async () => {
  const stop = AbortSignal.timeout(WORKLOAD_DEADLINE_MS);
  const chaos = { nodeKills: 0, redisRestarts: 0, done: false };
  const chaosLoop = (async () => {
    for (const step of PLAN) {
      await new Promise((r) => setTimeout(r, 300)); // chaos cadence (fault injection, not a wait for an event)
      if (step === "redis") {
        await redis.stop();
        await redis.start();
        chaos.redisRestarts++;
      } else {
        const node = nodes.find((n) => n.slot === step)!;
        await killNode(node);
        chaos.nodeKills++;
        await startNodeProcess(node);
      }
    }
    chaos.done = true;
  })();
  const finals: Final[] = [];
  let next = 0;
  const client = async () => {
    while (next < MIN_KEYS || !chaos.done) {
      const i = next++;
      finals[i] = (await runKey(i, stop)).final;
    }
  };
  await Promise.all([chaosLoop, ...Array.from({ length: CLIENTS }, client)]);
  const KEYS = finals.length;
  const overrun = [...upstream.executions].filter(([, n]) => n > 1);
  assert.deepEqual(overrun, [], "no key ran twice");
  assert.equal(finals.filter(Boolean).length, KEYS, "every key has a final answer");
  const count = (f: Final) => finals.filter((x) => x === f).length;
  const ran = [...upstream.executions.values()].reduce((a, b) => a + b, 0);
  console.log(
    `chaos: ${chaos.nodeKills} node kills, ${chaos.redisRestarts} Redis restarts; keys answered ${count("answered")}, ` +
      `replayed ${count("replayed")}, spent ${count("spent")}; upstream runs ${ran} for ${KEYS} keys`,
  );
  const cut = finals.filter((_, i) => i % 6 === 0);
  assert.ok(
    cut.every((f) => f === "spent"),
    "the keys the upstream cut after running are spent, never run again",
  );
  assert.ok(ran >= KEYS / 2, "most keys ran");
  assert.ok(count("replayed") > 0, "clients that gave up got the answer on their retry");
});
