/**
 * The active health check probes against real servers: HTTP (2xx passes; 503, silence past the
 * timeout, a refused connection fail) and gRPC (grpc.health.v1 SERVING passes, NOT_SERVING
 * fails). Attack: a target the tenant's egress policy refuses is never connected to by a check.
 */
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, test } from "node:test";
import { grpcHealthProbe, healthCheckRequest, servingStatus } from "../../data-plane/grpc/health-probe.ts";
import { UpstreamSessions } from "../../data-plane/grpc/upstream-sessions.ts";
import { httpHealthProbe } from "../../data-plane/http/health-probe.ts";
import { UpstreamPools } from "../../data-plane/http/upstream-pools.ts";
import { systemTimers } from "../../data-plane/clock.ts";
import { startBrownoutUpstream } from "../../loadtest/faults/brownout-upstream.ts";
import { DENY_ALL_EXCEPTIONS, egressPolicy } from "../../proto/egress-policy.ts";
import { DEFAULT_HEALTH_CHECK } from "../../proto/upstream-policy.ts";
import { closedPort } from "../support/ports.ts";
import { plainUpstream } from "./fixtures.ts";

const LOOPBACK = egressPolicy(["127.0.0.0/8"]);
const hc = { ...DEFAULT_HEALTH_CHECK, path: "/healthz", timeoutMs: 300 };
const pools = new UpstreamPools(systemTimers());
const sessions = new UpstreamSessions(systemTimers());
const cleanups: Array<() => Promise<unknown>> = [() => pools.close(), () => sessions.close(100)];
after(() => Promise.all(cleanups.map((c) => c())));

/** A server's origin; `connections` counts the connections it accepted. */
async function server(handler: Parameters<typeof createServer>[1], connections = { n: 0 }) {
  const s = createServer(handler);
  s.on("connection", () => connections.n++);
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  cleanups.push(
    () =>
      new Promise((resolve) => {
        s.closeAllConnections();
        s.close(resolve);
      }),
  );
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

function check(origin: string, egress = LOOPBACK, over = {}) {
  const upstream = plainUpstream([origin]);
  return httpHealthProbe(pools)({ target: upstream.targets[0]!, upstream, egress, hc: { ...hc, ...over } });
}

test("HTTP: 2xx passes; 503, no answer within the timeout and a refused connection fail", async () => {
  let status = 200;
  const paths: string[] = [];
  const origin = await server((req, res) => {
    paths.push(req.url ?? "");
    if (status === 0) return; // never answers
    res.writeHead(status).end("x".repeat(200_000));
  });
  assert.equal(await check(origin), true);
  assert.deepEqual(paths, ["/healthz"]);
  status = 503;
  assert.equal(await check(origin), false);
  status = 0;
  const started = performance.now();
  assert.equal(await check(origin), false);
  assert.ok(performance.now() - started < 3_000, "bounded by the check's timeout");
  assert.equal(await check(`http://127.0.0.1:${await closedPort()}`), false);
});

test("attack: a check never connects where the tenant's egress policy refuses", async () => {
  const connections = { n: 0 };
  const origin = await server((_req, res) => res.end("ok"), connections);
  assert.equal(await check(origin, DENY_ALL_EXCEPTIONS), false);
  assert.equal(connections.n, 0);
  assert.equal(await check(origin, LOOPBACK), true, "the same target where the policy allows it");
  assert.equal(connections.n, 1);
});

test("gRPC: SERVING passes, NOT_SERVING fails; the messages are grpc.health.v1's", async () => {
  assert.deepEqual([...healthCheckRequest("")], [0, 0, 0, 0, 0]);
  assert.deepEqual([...healthCheckRequest("a.B")], [0, 0, 0, 0, 5, 0x0a, 3, 0x61, 0x2e, 0x42]);
  assert.equal(servingStatus(Buffer.from([0, 0, 0, 0, 2, 0x08, 1])), 1);
  assert.equal(servingStatus(Buffer.from([0, 0, 0, 0, 2, 0x08, 2])), 2);
  assert.equal(servingStatus(Buffer.from([0, 0, 0, 0, 9, 0x08])), 0, "truncated");
  const up = await startBrownoutUpstream();
  cleanups.push(() => up.close());
  const upstream = plainUpstream([`http://${up.grpc}`]);
  const probe = () =>
    grpcHealthProbe(sessions)({
      target: upstream.targets[0]!,
      upstream,
      egress: LOOPBACK,
      hc: { ...hc, grpc: true },
    });
  assert.equal(await probe(), true);
  await fetch(`${up.url}/__mode/sick`);
  assert.equal(await probe(), false);
  const denied = await grpcHealthProbe(sessions)({
    target: upstream.targets[0]!,
    upstream,
    egress: DENY_ALL_EXCEPTIONS,
    hc: { ...hc, grpc: true },
  });
  assert.equal(denied, false);
});
