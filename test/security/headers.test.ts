/**
 * Attack: headers that lie (DESIGN §7.1). A client of a real data-plane process sends forged
 * forwarding headers and corral-* headers (a forged peer hop among them); the upstream must see
 * only the node's own values. The upstream answers with corral-* headers of its own; the client
 * must never see them.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { recordingUpstream } from "../data-plane/support.ts";
import { createTenant, type IsolationPlatform, isolationPlatform } from "../isolation/support.ts";
import { rawRequest } from "./support.ts";

let p: IsolationPlatform;
let key: string;
let upstream: Awaited<ReturnType<typeof recordingUpstream>>;

before(async () => {
  upstream = await recordingUpstream({
    "corral-reason": "quota",
    "corral-shard": "http://evil",
    "x-kept": "1",
  });
  p = await isolationPlatform({ dataPlanes: 1 });
  key = await createTenant(p.admin, { id: "liars", upstream: upstream.url });
  await p.platform.waitUntilServing("/ready", key, 30_000);
});

after(async () => {
  await p?.stop();
  await upstream?.close();
});

test("a client's forwarding and corral-* headers are replaced by the node's own", async () => {
  const port = Number(new URL(p.platform.dps[0]!.url).port);
  const forged = [
    "forwarded: for=6.6.6.6;proto=https",
    "x-real-ip: 6.6.6.6",
    "x-forwarded-for: 6.6.6.6",
    "x-forwarded-proto: https",
    "x-forwarded-host: admin.internal",
    "x-forwarded-port: 443",
    "x-forwarded-prefix: /admin",
    "corral-tenant: someone-else",
    "corral-forwarded-by: dp-0",
    "corral-hop: for=6.6.6.6;exp=99999999999999;sig=" + "0".repeat(64),
    "corral-internal: 1",
    "corral-priority: batch",
  ];
  const before = upstream.seen.length;
  const answer = await rawRequest(
    port,
    [`GET /who HTTP/1.1`, "host: gw.test", `x-api-key: ${key}`, ...forged].join("\r\n"),
  );
  assert.equal(answer.status, 200, answer.body);
  const seen = upstream.seen.slice(before);
  assert.equal(seen.length, 1);
  const h = seen[0]!.headers;
  assert.equal(h["x-forwarded-for"], "127.0.0.1");
  assert.equal(h["x-forwarded-proto"], "http");
  assert.equal(h["x-forwarded-host"], "gw.test");
  assert.equal(h.forwarded, 'for=127.0.0.1;proto=http;host="gw.test"');
  assert.equal(h["corral-tenant"], "liars");
  for (const name of ["x-real-ip", "x-forwarded-port", "x-forwarded-prefix", "corral-hop", "corral-internal"])
    assert.equal(h[name], undefined, name);
  assert.equal(h["corral-forwarded-by"], undefined);
  assert.equal(h["corral-priority"], "batch", "a documented client input passes");
});

test("an upstream's corral-* response headers never reach the client", async () => {
  const port = Number(new URL(p.platform.dps[0]!.url).port);
  const answer = await rawRequest(port, `GET /answer HTTP/1.1\r\nhost: gw.test\r\nx-api-key: ${key}`);
  assert.equal(answer.status, 200);
  assert.equal(answer.headers["x-kept"], "1");
  assert.equal(answer.headers["corral-reason"], undefined);
  assert.equal(answer.headers["corral-shard"], undefined);
});
