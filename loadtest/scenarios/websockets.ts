import { Agent, request } from "node:http";
import type { AdminClient } from "../../bin/admin/admin-client.ts";
import { WebSocket } from "ws";
import { newLatencyHistogram, recordMs, summarize } from "../generator/histogram.ts";
import { nodeScript, startChild } from "../process/child-process.ts";
import { FLEET_PARAMS, NODES_ON_NEWEST_AT_END, openFleet } from "../platform/platform-scenario.ts";
import { defineScenario } from "../scenario/types.ts";
import type { LoadTenant } from "../platform/load-tenants.ts";

const WS_ECHO = new URL("../bench/ws-echo-server.ts", import.meta.url);
const WS_PATH = "/ws";

/**
 * WebSockets under config churn: `socketsPerTenant` sockets per tenant, opened to its shard
 * members (placement-aware) through the route `/ws` (websocket: true) to an echo upstream;
 * `rate` messages per second spread over every socket, open loop (latency counted from the
 * scheduled send time); an admin change every `churnMs` (rename a tenant, add and remove a
 * route) the whole time. Judged: no socket closed by anyone but the harness, no message lost,
 * the p99 echo latency; then the time to the first server-sent event through a node against
 * straight to the upstream (`sseTrials` streams each way).
 */
export default defineScenario({
  name: "websockets",
  description:
    "N WebSockets per tenant echoing at a fixed message rate while the config churns: zero disconnects, p99 echo latency, SSE first-event overhead",
  params: {
    ...FLEET_PARAMS,
    tenants: 10,
    socketsPerTenant: 20,
    rate: 1000,
    durationSec: 20,
    churnMs: 250,
    messageBytes: 128,
    // a target; on the shared 2-core machine the tail follows the machine's load, with or
    // without churn (the direct baseline in the report shows it; results/2026-12-08-websockets.md)
    maxP99Ms: 100,
    sseTrials: 50,
    maxSseExtraMs: 5,
  },
  thresholds: [
    { metric: "ws.disconnects", description: "sockets closed by anyone but the harness", max: 0 },
    { metric: "ws.lost", description: "messages sent without an echo", max: 0 },
    { metric: "ws.failed_opens", description: "sockets that could not be opened", max: 0 },
    { metric: "ws.p99_ms", description: "p99 echo latency through the gateway, ms", max: (p) => p.maxP99Ms },
    { metric: "churn.admin_errors", description: "admin calls that failed", max: 0 },
    {
      metric: "sse.first_event_extra_p50_ms",
      description: "median extra time to the first server-sent event through a node, ms",
      max: (p) => p.maxSseExtraMs,
    },
    NODES_ON_NEWEST_AT_END,
  ],
  async run(ctx) {
    const p = ctx.params;
    const echo = await startChild<{ url: string }>(nodeScript(WS_ECHO));
    ctx.onCleanup(() => echo.stop());
    ctx.sampler.add({ name: "ws-echo", pid: echo.pid });
    const session = await openFleet(ctx, { tenantSpec: () => ({ upstreamUrl: echo.ready.url }) });
    const admin = session.rig.admin;
    for (const t of session.tenants)
      await admin.post(`/admin/v1/tenants/${t.id}/routes`, {
        pathPrefix: WS_PATH,
        upstreamId: t.upstreamId,
        websocket: true,
        websocketMaxConnections: p.socketsPerTenant * 2,
      });
    await waitWsServed(session.tenants, 30_000);
    const opened = await openSockets(session.tenants, p.socketsPerTenant);
    ctx.log(`${opened.sockets.length} sockets open, ${opened.failed} failed ${opened.why}`);
    const state = watchSockets(opened.sockets);
    const churn = churnConfig(session, p.churnMs);
    const end = ctx.timeline.begin(`admin change every ${p.churnMs} ms`, "churn");
    const echoes = await sendMessages(opened.sockets, p.rate, p.durationSec, p.messageBytes);
    end();
    const counts = await churn.stop();
    state.closing = true;
    for (const s of opened.sockets) s.close(1000);
    const finish = await session.finish();
    // the same load straight to the upstream, no churn: what the machine itself adds
    const direct = await directEchoes(echo.ready.url, opened.sockets.length, p);
    const sse = await sseOverhead(echo.ready.url, session.tenants[0]!, p.sseTrials);
    const latency = summarize(echoes.histogram);
    const row = (
      path: string,
      l: typeof latency,
      sent: number,
      lost: number,
      disconnects: number | string,
    ) => [path, sent, l.p50Ms, l.p99Ms, l.p999Ms, l.maxMs, disconnects, lost];
    ctx.addTable({
      title: `WebSocket echo latency (ms, from the scheduled send time), ${opened.sockets.length} sockets`,
      columns: ["path", "messages", "p50", "p99", "p99.9", "max", "disconnects", "lost"],
      rows: [
        row(
          "through the nodes, config churning",
          latency,
          echoes.sent,
          echoes.sent - echoes.received,
          state.disconnects,
        ),
        row("straight to the upstream", direct, direct.count, 0, "-"),
      ],
    });
    ctx.addTable({
      title: `Time to the first server-sent event (ms, ${p.sseTrials} streams each way)`,
      columns: ["path", "p50", "p99"],
      rows: [
        ["direct", sse.direct.p50Ms, sse.direct.p99Ms],
        ["through a node", sse.through.p50Ms, sse.through.p99Ms],
      ],
    });
    return {
      metrics: {
        ...finish,
        "ws.sockets": opened.sockets.length,
        "ws.failed_opens": opened.failed,
        "ws.disconnects": state.disconnects,
        "ws.sent": echoes.sent,
        "ws.lost": echoes.sent - echoes.received,
        "ws.p50_ms": latency.p50Ms,
        "ws.p99_ms": latency.p99Ms,
        "ws.max_ms": latency.maxMs,
        "ws.direct_p50_ms": direct.p50Ms,
        "ws.direct_p99_ms": direct.p99Ms,
        "churn.admin_ops": counts.ops,
        "churn.admin_errors": counts.errors,
        "sse.first_event_direct_p50_ms": sse.direct.p50Ms,
        "sse.first_event_through_p50_ms": sse.through.p50Ms,
        "sse.first_event_extra_p50_ms": Math.round((sse.through.p50Ms - sse.direct.p50Ms) * 1000) / 1000,
      },
    };
  },
});

/** One socket to `origin`'s /ws for the tenant: the socket, or why not. */
function openOne(origin: string, t: LoadTenant): Promise<WebSocket | string> {
  const socket = new WebSocket(`${origin.replace(/^http/, "ws")}${WS_PATH}`, {
    headers: { "x-api-key": t.key },
    perMessageDeflate: false,
  });
  return new Promise((resolve) => {
    socket.once("open", () => resolve(socket));
    socket.once("error", (err) => resolve(err.message));
    socket.once("unexpected-response", (_req, res) => {
      res.resume();
      resolve(`${res.statusCode} ${res.headers["corral-reason"] ?? ""}`);
    });
  });
}

/** Until every shard member of every tenant takes an upgrade on /ws (the routes were just added). */
async function waitWsServed(tenants: LoadTenant[], timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (const t of tenants)
    for (const origin of t.shard.origins) {
      for (;;) {
        const got = await openOne(origin, t);
        if (typeof got !== "string") {
          got.close(1000);
          break;
        }
        if (performance.now() > deadline) throw new Error(`${t.id} /ws not served by ${origin}: ${got}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
}

/** `perTenant` sockets per tenant, round-robin over its shard's members. */
async function openSockets(tenants: LoadTenant[], perTenant: number) {
  const sockets: WebSocket[] = [];
  let failed = 0;
  const why = new Map<string, number>();
  const fail = (reason: string) => why.set(reason, (why.get(reason) ?? 0) + 1);
  for (const t of tenants) {
    const opens = Array.from({ length: perTenant }, (_, i) =>
      openOne(t.shard.origins[i % t.shard.origins.length]!, t),
    );
    for (const s of await Promise.all(opens)) {
      if (typeof s !== "string") sockets.push(s);
      else {
        failed++;
        fail(s);
      }
    }
  }
  return { sockets, failed, why: [...why].map(([reason, n]) => `${n}× ${reason}`).join(", ") };
}

/** The same sockets' worth of load straight to the upstream's echo (a baseline for the machine). */
async function directEchoes(
  upstream: string,
  count: number,
  p: { rate: number; durationSec: number; messageBytes: number },
) {
  const opens = Array.from({ length: count }, () => {
    const socket = new WebSocket(`${upstream.replace(/^http/, "ws")}${WS_PATH}`, {
      perMessageDeflate: false,
    });
    return new Promise<WebSocket>((resolve, reject) => {
      socket.once("open", () => resolve(socket));
      socket.once("error", reject);
    });
  });
  const sockets = await Promise.all(opens);
  const echoes = await sendMessages(sockets, p.rate, p.durationSec, p.messageBytes);
  for (const s of sockets) s.close(1000);
  return summarize(echoes.histogram);
}

/** Counts sockets that close while the harness is not closing them. */
function watchSockets(sockets: WebSocket[]) {
  const state = { disconnects: 0, closing: false };
  for (const s of sockets)
    s.on("close", () => {
      if (!state.closing) state.disconnects++;
    });
  return state;
}

/**
 * Open loop: message i is due at start + i/rate on socket i mod n, carrying its index; its
 * latency counts from when it was due. Waits for the last echoes (at most 5 s).
 */
async function sendMessages(sockets: WebSocket[], rate: number, durationSec: number, bytes: number) {
  const histogram = newLatencyHistogram();
  const due: number[] = [];
  let received = 0;
  for (const s of sockets)
    s.on("message", (data: Buffer) => {
      const i = data.readUInt32BE(0);
      recordMs(histogram, performance.now() - due[i]!);
      received++;
    });
  const total = Math.round(rate * durationSec);
  const start = performance.now() + 10;
  let sent = 0;
  while (sent < total) {
    const now = performance.now();
    while (sent < total && start + (sent * 1000) / rate <= now) {
      const payload = Buffer.alloc(Math.max(4, bytes));
      payload.writeUInt32BE(sent, 0);
      due[sent] = start + (sent * 1000) / rate;
      const socket = sockets[sent % sockets.length]!;
      if (socket.readyState === WebSocket.OPEN) socket.send(payload);
      sent++;
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  const deadline = performance.now() + 5000;
  while (received < sent && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return { histogram, sent, received };
}

/** Admin changes every `churnMs`: rename a tenant, or add or remove a route of another. */
function churnConfig(session: { tenants: LoadTenant[]; rig: { admin: AdminClient } }, churnMs: number) {
  const counts = { ops: 0, errors: 0 };
  const admin = session.rig.admin;
  let stopped = false;
  let extra: { tenant: string; id: string } | undefined;
  const loop = (async () => {
    for (let n = 0; !stopped; n++) {
      const t = session.tenants[n % session.tenants.length]!;
      counts.ops++;
      const change = async () => {
        if (n % 3 === 0) return admin.patch(`/admin/v1/tenants/${t.id}`, { name: `churn ${n}` });
        if (!extra) {
          const route = await admin.post<{ id: string }>(`/admin/v1/tenants/${t.id}/routes`, {
            pathPrefix: `/churn/${n}`,
            upstreamId: t.upstreamId,
          });
          extra = { tenant: t.id, id: route.id };
          return;
        }
        const gone = extra;
        extra = undefined;
        return admin.delete(`/admin/v1/tenants/${gone.tenant}/routes/${gone.id}`);
      };
      await change().catch(() => counts.errors++);
      await new Promise((r) => setTimeout(r, churnMs));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return counts;
    },
  };
}

/** ms from request to the first event's bytes, over a kept-alive connection (as the node's pool is). */
function firstEventMs(url: string, key: string, agent: Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    const sent = performance.now();
    const req = request(url, { headers: { "x-api-key": key }, agent }, (res) => {
      res.once("data", () => resolve(performance.now() - sent));
      res.resume();
    });
    req.on("error", reject);
    req.end();
  });
}

/** First-event times straight to the upstream and through the tenant's first shard member, alternating. */
async function sseOverhead(upstream: string, tenant: LoadTenant, trials: number) {
  const direct = newLatencyHistogram();
  const through = newLatencyHistogram();
  const path = `${tenant.path}/events?n=1`;
  const node = tenant.shard.origins[0]!;
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  for (let i = 0; i < trials; i++) {
    recordMs(direct, await firstEventMs(`${upstream}${path}`, tenant.key, agent));
    recordMs(through, await firstEventMs(`${node}${path}`, tenant.key, agent));
  }
  agent.destroy();
  return { direct: summarize(direct), through: summarize(through) };
}
