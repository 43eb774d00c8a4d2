/**
 * What retries cost an upstream that fails: a real node (runDataPlane) and HTTP upstreams on
 * loopback, open-loop GETs at `rate` per second for `seconds`, through two tenants:
 *
 * - outage: both targets answer 503, the route retries 3 times: every request fails, and the
 *   extra load on the upstream is what the retry budget lets through (10 % + 3/s by default);
 * - brownout: the first target answers 503, the second 200, the route retries twice: with
 *   first-live target choice every request tries the failing target first, so the budget
 *   bounds how many reach the good one.
 *
 *   node data-plane/bench/retry-load.ts [rate=200] [seconds=10]
 *
 * Prints, per tenant, the requests, the statuses the clients got, the attempts each target
 * saw and the extra load in per cent, then the node's retry counters.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import * as fx from "../../test/data-plane/fixtures.ts";
import { startNode, workspace } from "../../test/data-plane/support.ts";
import { metricSum } from "../../test/support/metrics.ts";
import { poll } from "../../test/support/poll.ts";
import { closedPort } from "../../test/support/ports.ts";

const rate = Number(process.argv[2] ?? 200);
const seconds = Number(process.argv[3] ?? 10);

interface Target {
  url: string;
  hits: number;
  server: Server;
}

async function target(status: number): Promise<Target> {
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      t.hits++;
      res.writeHead(status).end("x");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const t = { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits: 0, server };
  return t;
}

/** Open-loop GETs at `rate` for `seconds`: the statuses the client got. */
async function load(url: string, key: string): Promise<Record<number, number>> {
  const statuses: Record<number, number> = {};
  const sent: Promise<void>[] = [];
  const start = performance.now();
  for (let i = 0; i < rate * seconds; i++) {
    const wait = start + (i * 1000) / rate - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const request = fetch(url, { headers: { "x-api-key": key } }).then(async (res) => {
      await res.text();
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
    });
    sent.push(request);
  }
  await Promise.all(sent);
  return statuses;
}

const scenarios = {
  outage: { targets: [await target(503), await target(503)], retries: 3, key: fx.newKey() },
  brownout: { targets: [await target(503), await target(200)], retries: 2, key: fx.newKey() },
};
const ws = await workspace();
const pair = fx.signingPair();
const tenants = Object.entries(scenarios).map(([id, s]) =>
  fx.tenant({
    id,
    upstream: s.targets.map((t) => t.url),
    keys: [{ id: `k-${id}`, hash: s.key.hash }],
    routes: [{ id: "r", pathPrefix: "/", retries: s.retries }],
  }),
);
await fx.publish(ws.store, fx.sign(fx.snapshot(1, tenants), pair));
const node = await startNode({ ws, pair, cpUrl: `http://127.0.0.1:${await closedPort()}` });
try {
  await poll("the node to apply its config", () => node.state.ready);
  for (const [name, s] of Object.entries(scenarios)) {
    const statuses = await load(`${node.httpUrl}/x`, s.key.key);
    const attempts = s.targets.map((t) => t.hits);
    const requests = rate * seconds;
    const extra = (100 * (attempts.reduce((a, b) => a + b, 0) - requests)) / requests;
    console.log(
      JSON.stringify({ scenario: name, requests, statuses, attempts, extraLoadPct: +extra.toFixed(1) }),
    );
  }
  const counter = (name: string) => metricSum(node.opsUrl, name);
  console.log(
    JSON.stringify({
      retries: await counter("corral_dp_upstream_retries_total"),
      budgetExhausted: await counter("corral_dp_retry_budget_exhausted_total"),
    }),
  );
} finally {
  await node.close();
  for (const s of Object.values(scenarios)) for (const t of s.targets) t.server.close();
  await ws.remove();
}
