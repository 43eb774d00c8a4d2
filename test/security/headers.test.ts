/**
 * Attack: headers that lie (docs/design.md §8.9). A client of a real data-plane process sends forged
 * forwarding headers and corral-* headers (a forged peer hop among them); the upstream must see
 * only the node's own values. The upstream answers with corral-* headers of its own; the client
 * must never see them. A request one node forwards to the tenant's shard member carries the
 * original client's address (the client connects from 127.0.0.2, the nodes from 127.0.0.1), and
 * a client cannot pass for a forwarding node.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { IncomingHttpHeaders } from "node:http2";
import { recordingUpstream } from "../data-plane/support.ts";
import { startRawUpstream } from "../grpc/raw-h2-upstream.ts";
import { egressAllowFor } from "../support/egress.ts";
import {
  type IsolationPlatform,
  isolationPlatform,
  type Member,
  waitForShard,
} from "../isolation/support.ts";
import { createTenant } from "../support/tenants.ts";
import { rawRequest, unaryCall } from "./support.ts";
import { poll } from "../support/poll.ts";

let p: IsolationPlatform;
let key: string;
let hopsKey: string;
let member: Member;
let other: Member;
let upstream: Awaited<ReturnType<typeof recordingUpstream>>;
let grpc: Awaited<ReturnType<typeof startRawUpstream>>;
const grpcSeen: IncomingHttpHeaders[] = [];

before(async () => {
  upstream = await recordingUpstream({
    "corral-reason": "quota",
    "corral-shard": "http://evil",
    "x-kept": "1",
  });
  grpc = await startRawUpstream((h) => grpcSeen.push(h));
  p = await isolationPlatform({ dataPlanes: 2 });
  key = (await createTenant(p.admin, { id: "liars", upstream: upstream.url })).key;
  hopsKey = (await createTenant(p.admin, { id: "hops", upstream: upstream.url, limits: { shardSize: 1 } }))
    .key;
  // the tenant's own egress exceptions: its HTTP upstream (createTenant) and its gRPC one
  await p.admin.patch("/admin/v1/tenants/liars", {
    egressAllow: egressAllowFor(upstream.url, `http://${grpc.address}`),
  });
  const g = await p.admin.post<{ id: string }>("/admin/v1/tenants/liars/upstreams", {
    name: "grpc",
    targets: [`http://${grpc.address}`],
  });
  await p.admin.post("/admin/v1/tenants/liars/routes", {
    pathPrefix: "/raw.v1.Svc",
    upstreamId: g.id,
    protocol: "grpc",
  });
  await p.platform.waitUntilServing("/ready", key, 30_000);
  await poll("the gRPC route on dp-0", async () => {
    const ok = await unaryCall(p.platform.dps[0]!.grpc, "/raw.v1.Svc/Ok", { "x-api-key": key });
    return ok["grpc-status"] === "0";
  });
  const shard = await waitForShard(p.platform, "hops", hopsKey, 1);
  member = shard[0]!;
  const otherDp = p.platform.dps.find((d) => d.slot !== member.slot)!;
  other = { slot: otherDp.slot, zone: otherDp.zone, url: otherDp.url, live: true };
});

after(async () => {
  await p?.stop();
  await Promise.all([upstream?.close(), grpc?.close()]);
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

const portOf = (m: Member) => Number(new URL(m.url).port);

/** One request from 127.0.0.2 to `node`; the headers the upstream got for it. */
async function viaNode(node: Member, extra: string[] = []) {
  const before = upstream.seen.length;
  const head = ["GET /hop HTTP/1.1", "host: gw.test", `x-api-key: ${hopsKey}`, ...extra].join("\r\n");
  const answer = await rawRequest(portOf(node), head, "127.0.0.2");
  return { answer, seen: upstream.seen.slice(before).map((s) => s.headers) };
}

test("a request forwarded to the tenant's shard member carries the original client's address", async () => {
  const { answer, seen } = await viaNode(other);
  assert.equal(answer.status, 200, answer.body);
  assert.equal(seen.length, 1);
  assert.equal(seen[0]!["x-forwarded-for"], "127.0.0.2");
  assert.equal(seen[0]!.forwarded, 'for=127.0.0.2;proto=http;host="gw.test"');
});

test("a client cannot pass for a forwarding node", async () => {
  const forged = [
    `corral-forwarded-by: ${other.slot}`,
    "x-forwarded-for: 6.6.6.6",
    "corral-hop: for=6.6.6.6",
  ];
  const atMember = await viaNode(member, forged);
  assert.equal(atMember.answer.status, 200, atMember.answer.body);
  assert.equal(atMember.seen[0]!["x-forwarded-for"], "127.0.0.2", "the forged hop's address is not believed");
  // at a non-member, a believed hop would be refused 421 (never forwarded twice): it is forwarded
  const atOther = await viaNode(other, [`corral-forwarded-by: ${member.slot}`]);
  assert.equal(atOther.answer.status, 200, atOther.answer.body);
  assert.equal(atOther.seen[0]!["x-forwarded-for"], "127.0.0.2");
});

test("gRPC: forged origin metadata is replaced; an upstream's corral-* headers and trailers are dropped", async () => {
  const before = grpcSeen.length;
  const metadata = {
    "x-api-key": key,
    "x-forwarded-for": "6.6.6.6",
    "x-real-ip": "6.6.6.6",
    "corral-x": "1",
  };
  const answer = await unaryCall(p.platform.dps[0]!.grpc, "/raw.v1.Svc/CorralHeaders", metadata);
  assert.equal(answer["grpc-status"], "0");
  assert.equal(answer["x-kept"], "1");
  assert.equal(answer["corral-reason"], undefined);
  assert.equal(answer["corral-shard"], undefined);
  const seen = grpcSeen.slice(before).at(-1)!;
  assert.equal(seen["x-forwarded-for"], "127.0.0.1");
  assert.equal(seen["x-real-ip"], undefined);
  assert.equal(seen["corral-x"], undefined);
  assert.equal(seen["corral-tenant"], "liars");
});
