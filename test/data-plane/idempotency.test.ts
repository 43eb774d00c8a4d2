/**
 * Gateway idempotency keys through a real node and a real Redis: a keyed POST/PATCH on a route
 * that opts in runs once and is replayed; in flight 409, different body 422, answer too large
 * to keep 409 spent, Redis down 503 (never run); keys scoped per tenant; bad keys and bodies
 * refused clearly; a client that goes away still gets the answer on its retry.
 */
import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { after, before, test } from "node:test";
import type { DataPlaneProcess } from "../../data-plane/main.ts";
import { closedPort } from "../support/ports.ts";
import { poll } from "../support/poll.ts";
import { type RedisServer, startRedis } from "../support/redis.ts";
import { type CountingUpstream, countingUpstream } from "./counting-upstream.ts";
import * as fx from "./fixtures.ts";
import { startNode, type Workspace, workspace } from "./support.ts";

const pair = fx.signingPair();
const acmeKey = fx.newKey();
const betaKey = fx.newKey();
let ws: Workspace;
let redis: RedisServer;
let upstream: CountingUpstream;
let node: DataPlaneProcess;

const MAX_BODY = 1024;
const MAX_ANSWER = 4096;

before(async () => {
  ws = await workspace();
  redis = await startRedis();
  upstream = await countingUpstream();
  const routes = [
    { id: "orders", pathPrefix: "/", idempotency: true },
    { id: "plain", pathPrefix: "/plain" },
  ];
  const publicOrders = {
    id: "public",
    pathPrefix: "/",
    hosts: ["pub.acme.test"],
    public: true,
    idempotency: true,
  };
  const snap = fx.snapshot(1, [
    fx.tenant({
      id: "acme",
      upstream: upstream.url,
      keys: [{ id: acmeKey.id, hash: acmeKey.hash }],
      routes: [...routes, publicOrders],
    }),
    fx.tenant({ id: "beta", upstream: upstream.url, keys: [{ id: betaKey.id, hash: betaKey.hash }], routes }),
  ]);
  await fx.publish(ws.store, fx.sign(snap, pair));
  node = await startNode({
    ws,
    pair,
    cpUrl: `http://127.0.0.1:${await closedPort()}`,
    env: {
      CORRAL_REDIS_URL: redis.url,
      CORRAL_IDEMPOTENCY_MAX_BODY_BYTES: String(MAX_BODY),
      CORRAL_IDEMPOTENCY_MAX_RESPONSE_BYTES: String(MAX_ANSWER),
      CORRAL_IDEMPOTENCY_LEASE_MS: "2000",
      CORRAL_TRUSTED_PROXIES: "127.0.0.1",
    },
  });
  await poll("the node to apply LATEST", () => node.state.ready);
});

after(async () => {
  await node.close();
  await upstream.close();
  await redis.destroy();
  await ws.remove();
});

interface Sent {
  status: number;
  reason: string;
  replay: string;
  body: string;
}

async function post(
  path: string,
  key: string | undefined,
  body: string,
  o: { apiKey?: string; method?: string; signal?: AbortSignal } = {},
): Promise<Sent> {
  const headers: Record<string, string> = { "x-api-key": o.apiKey ?? acmeKey.key };
  if (key !== undefined) headers["idempotency-key"] = key;
  const res = await fetch(node.httpUrl + path, {
    method: o.method ?? "POST",
    headers,
    body,
    signal: o.signal,
  });
  return {
    status: res.status,
    reason: res.headers.get("corral-reason") ?? "",
    replay: res.headers.get("corral-idempotent-replay") ?? "",
    body: await res.text(),
  };
}

const runs = (tenant: string, key: string) => upstream.executions.get(`${tenant} ${key}`) ?? 0;

test("the first answer is stored and replayed; a different body under the key is refused", async () => {
  const first = await post("/orders", "k-1", '{"item":1}');
  assert.deepEqual([first.status, first.replay], [201, ""]);
  const again = await post("/orders", "k-1", '{"item":1}');
  assert.deepEqual([again.status, again.replay, again.body], [201, "true", first.body]);
  const patch = await post("/orders", "k-1", '{"item":1}', { method: "PATCH" });
  assert.deepEqual(
    [patch.status, patch.reason],
    [422, "idempotency_mismatch"],
    "another method is another request",
  );
  const other = await post("/orders", "k-1", '{"item":2}');
  assert.deepEqual([other.status, other.reason], [422, "idempotency_mismatch"]);
  assert.equal(runs("acme", "k-1"), 1);
  const res = await fetch(`${node.httpUrl}/orders`, {
    method: "POST",
    headers: { "x-api-key": acmeKey.key, "idempotency-key": "k-1" },
    body: '{"item":1}',
  });
  assert.equal(res.headers.get("x-order"), "o-1", "the upstream's headers are replayed");
  assert.equal(res.headers.get("set-cookie"), "a=1, b=2");
  await res.text();
});

test("attack: tenant A's key never replays to tenant B (keys are scoped per tenant)", async () => {
  await post("/orders", "shared-key", "same");
  const beta = await post("/orders", "shared-key", "same", { apiKey: betaKey.key });
  assert.deepEqual([beta.status, beta.replay], [201, ""], "beta's request runs as its own");
  assert.match(beta.body, /^done beta shared-key/);
  assert.equal(runs("acme", "shared-key"), 1);
  assert.equal(runs("beta", "shared-key"), 1);
});

/** A keyless POST on the public host from client address `ip` (the node believes X-Forwarded-For). */
function keylessPost(ip: string, key: string): Promise<{ status: number; replay: string; body: string }> {
  return new Promise((resolve, reject) => {
    const headers = { host: "pub.acme.test", "x-forwarded-for": ip, "idempotency-key": key };
    const req = httpRequest(`${node.httpUrl}/orders`, { method: "POST", headers });
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          replay: String(res.headers["corral-idempotent-replay"] ?? ""),
          body: Buffer.concat(chunks).toString(),
        }),
      );
    });
    req.on("error", reject);
    req.end("x");
  });
}

test("attack: on a public route one anonymous client never gets another's answer by reusing its key", async () => {
  const victim = await keylessPost("198.51.100.1", "guessable-1");
  assert.deepEqual([victim.status, victim.replay], [201, ""]);
  const attacker = await keylessPost("198.51.100.2", "guessable-1");
  assert.deepEqual([attacker.status, attacker.replay], [201, ""], "the attacker's request is its own");
  const retry = await keylessPost("198.51.100.1", "guessable-1");
  assert.deepEqual([retry.status, retry.replay, retry.body], [201, "true", victim.body]);
  assert.equal(runs("acme", "guessable-1"), 2, "once per client");
});

test("the same key in flight is 409, then replayed once the first finishes", async () => {
  const first = post("/slow/1500", "k-slow", "x");
  await poll("the upstream to get the first request", () => runs("acme", "k-slow") === 1);
  const second = await post("/slow/1500", "k-slow", "x");
  assert.deepEqual([second.status, second.reason], [409, "idempotency_in_flight"]);
  assert.equal((await first).status, 201);
  assert.equal((await post("/slow/1500", "k-slow", "x")).replay, "true");
  assert.equal(runs("acme", "k-slow"), 1);
});

test("a client that went away gets the answer on its retry; the request ran once", async () => {
  const gone = new AbortController();
  const first = post("/slow/800", "k-gone", "x", { signal: gone.signal }).catch((err: Error) => err);
  await poll("the upstream to get the request", () => runs("acme", "k-gone") === 1);
  gone.abort();
  assert.ok((await first) instanceof Error);
  const retry = await poll("the answer to be kept", async () => {
    const r = await post("/slow/800", "k-gone", "x");
    return r.replay === "true" && r;
  });
  assert.equal(retry.status, 201);
  assert.equal(runs("acme", "k-gone"), 1);
});

test("an answer larger than the node keeps: relayed whole the first time, the key is then spent", async () => {
  const first = await post(`/big/${MAX_ANSWER * 3}`, "k-big", "x");
  assert.equal(first.status, 201);
  assert.equal(first.body.length, MAX_ANSWER * 3);
  const retry = await post(`/big/${MAX_ANSWER * 3}`, "k-big", "x");
  assert.deepEqual([retry.status, retry.reason], [409, "idempotency_spent"]);
  assert.match(retry.body, /larger than the node keeps/);
  assert.equal(runs("acme", "k-big"), 1);
});

test("an upstream that cuts the connection after running the request: the key is spent, never run again", async () => {
  const first = await post("/reset", "k-reset", "x");
  assert.equal(first.status, 502);
  const retry = await post("/reset", "k-reset", "x");
  assert.deepEqual([retry.status, retry.reason], [409, "idempotency_spent"]);
  assert.equal(runs("acme", "k-reset"), 1);
});

test("an answer that stalls after its head is cut at the route timeout; the key is spent", async () => {
  const res = await fetch(`${node.httpUrl}/stall`, {
    method: "POST",
    headers: { "x-api-key": acmeKey.key, "idempotency-key": "k-stall" },
    body: "x",
  });
  assert.equal(res.status, 201);
  await assert.rejects(res.text(), "the cut answer does not end cleanly");
  const retry = await post("/stall", "k-stall", "x");
  assert.deepEqual([retry.status, retry.reason], [409, "idempotency_spent"]);
  assert.equal(runs("acme", "k-stall"), 1);
});

test("oversize and malformed keys, and oversize bodies, are refused clearly and run nothing", async () => {
  const long = await post("/orders", "k".repeat(256), "x");
  assert.deepEqual([long.status, long.reason], [400, "bad_idempotency_key"]);
  assert.match(long.body, /1-255 visible ASCII/);
  const spaced = await post("/orders", "has space", "x");
  assert.equal(spaced.status, 400);
  const big = await post("/orders", "k-body", "b".repeat(MAX_BODY + 1));
  assert.deepEqual([big.status, big.reason], [413, "payload_too_large"]);
  assert.equal(runs("acme", "k".repeat(256)) + runs("acme", "has space") + runs("acme", "k-body"), 0);
});

test("routes that do not opt in, and requests without a key, are not deduplicated", async () => {
  const before = upstream.executions.get("acme k-plain") ?? 0;
  await post("/plain/x", "k-plain", "x");
  await post("/plain/x", "k-plain", "x");
  assert.equal(runs("acme", "k-plain") - before, 2);
  const unkeyed = upstream.unkeyed;
  await post("/orders", undefined, "x");
  await post("/orders", undefined, "x");
  assert.equal(upstream.unkeyed - unkeyed, 2);
});

test("Redis unreachable: 503, the request is not run; served again once Redis is back", async () => {
  await redis.stop();
  try {
    const refused = await post("/orders", "k-down", "x");
    assert.deepEqual([refused.status, refused.reason], [503, "idempotency_unavailable"]);
    assert.equal(runs("acme", "k-down"), 0);
  } finally {
    await redis.start();
  }
  const served = await poll("Redis to be reachable again", async () => {
    const r = await post("/orders", "k-down", "x");
    return r.status === 201 && r;
  });
  assert.equal(served.replay, "");
  assert.equal(runs("acme", "k-down"), 1);
});
