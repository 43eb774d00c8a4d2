import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { type FixedLatencyServer, startFixedLatencyServer } from "../bench/fixed-latency-server.ts";
import { freePort } from "../net/free-port.ts";
import { HttpSender } from "./senders.ts";

// A placement-aware client spreads a tenant over its shard and fails over when a member
// refuses connections (a killed node); a request that reached a member is never resent.
let a: FixedLatencyServer;
let b: FixedLatencyServer;
let dead: string;

before(async () => {
  a = await startFixedLatencyServer({ delayMs: 0 });
  b = await startFixedLatencyServer({ delayMs: 0, reply: () => ({ status: 503 }) });
  dead = `http://127.0.0.1:${await freePort()}`;
});
after(async () => {
  await Promise.all([a.close(), b.close()]);
});

test("requests are spread round-robin over the shard's origins", async () => {
  const c = await startFixedLatencyServer({ delayMs: 0 });
  const sender = new HttpSender({ connections: 2, timeoutMs: 2000 });
  const target = { kind: "http" as const, url: `${a.url}/x`, origins: [a.url, c.url] };
  try {
    const before = a.requests();
    const outcomes = [];
    for (let i = 0; i < 10; i++) outcomes.push(await sender.send(target));
    assert.deepEqual(new Set(outcomes), new Set(["ok"]));
    assert.equal(a.requests() - before, 5);
    assert.equal(c.requests(), 5);
  } finally {
    await sender.close();
    await c.close();
  }
});

test("an origin that refuses connections is skipped; every request still succeeds", async () => {
  const sender = new HttpSender({ connections: 2, timeoutMs: 2000 });
  const target = { kind: "http" as const, url: `${a.url}/x`, origins: [dead, a.url] };
  try {
    const before = a.requests();
    for (let i = 0; i < 20; i++) assert.equal(await sender.send(target), "ok");
    assert.equal(a.requests() - before, 20);
  } finally {
    await sender.close();
  }
});

test("an answer from a member is final, even an error: no retry on another origin", async () => {
  const sender = new HttpSender({ connections: 2, timeoutMs: 2000 });
  const target = { kind: "http" as const, url: `${b.url}/x`, origins: [b.url, a.url] };
  try {
    const beforeA = a.requests();
    const outcomes = [await sender.send(target), await sender.send(target)];
    assert.deepEqual(outcomes, ["http_503", "ok"]);
    assert.equal(a.requests() - beforeA, 1);
  } finally {
    await sender.close();
  }
});

test("with every origin refusing, the request fails with the connect error", async () => {
  const sender = new HttpSender({ connections: 1, timeoutMs: 2000 });
  const target = { kind: "http" as const, url: `${dead}/x`, origins: [dead] };
  try {
    assert.equal(await sender.send(target), "econnrefused");
  } finally {
    await sender.close();
  }
});
