/**
 * Attack: a few thousand sockets trickling request bodies (docs/design.md §8.8 "slow and greedy
 * clients"). A real data plane and control plane run with CORRAL_REQUEST_TIMEOUT_MS=2000; 2,000
 * loopback sockets each announce a body (100 kB; 60 kB for the CP, under its body limit, which
 * would refuse more at once) and send one byte every 500 ms. A well-behaved
 * tenant's requests (and an operator's, on the control plane) must all succeed meanwhile, and
 * every slow socket must be closed by the server within the request timeout plus a margin for
 * this loaded machine, however steadily its bytes keep coming. Bounded: 2,000 sockets per
 * server (ulimit -n here is 20,000; the test, the upstream and the server each hold a share).
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { after, before, test } from "node:test";
import { request } from "undici";
import {
  call,
  type IsolationPlatform,
  isolationPlatform,
  type TestUpstream,
  testUpstream,
} from "../isolation/support.ts";
import { createTenant } from "../support/tenants.ts";
import { slowSockets } from "./support.ts";
import { metricValue } from "../support/metrics.ts";
import { poll } from "../support/poll.ts";

const SOCKETS = 2000;
const REQUEST_TIMEOUT_MS = 2000;
/** a slow socket must be closed within the timeout plus this (the machine is shared and loaded) */
const MARGIN_MS = 10_000;
/** per-source connection cap: above the 2,000 slow sockets (one source) the first tests open */
const PER_SOURCE = 2500;

let p: IsolationPlatform;
let upstream: TestUpstream;
let calmKey: string;
let slowKey: string;

before(async () => {
  // the upstream answers once it has the whole body: a trickled request holds its exchange open
  upstream = await testUpstream(async (req) => {
    if (!req.readableEnded) await once(req, "end").catch(() => {}); // aborted: the node cut it
    return false;
  });
  const limits = {
    CORRAL_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
    CORRAL_MAX_CONNECTIONS_PER_SOURCE: String(PER_SOURCE),
  };
  p = await isolationPlatform({ dataPlanes: 1, dpEnv: limits, cpEnv: limits });
  calmKey = (await createTenant(p.admin, { id: "calm", upstream: upstream.url })).key;
  slowKey = (await createTenant(p.admin, { id: "slow", upstream: upstream.url })).key;
  await p.platform.waitUntilServing("/ready", calmKey, 30_000);
  await p.platform.waitUntilServing("/ready", slowKey, 30_000);
});

after(async () => {
  await p?.stop();
  await upstream?.close();
});

/** Runs `n` well-behaved requests one after another while the slow sockets hold on. */
async function wellBehaved(n: number, one: () => Promise<number>): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < n; i++) statuses.push(await one());
  return statuses;
}

async function attack(port: number, head: string, bodyBytes: number, one: () => Promise<number>) {
  const slow = await slowSockets(port, SOCKETS, { head, bodyBytes });
  try {
    const statuses = await wellBehaved(40, one);
    await poll("every slow socket closed by the server", () => slow.open() === 0, 60_000);
    const held = slow.states.map((s) => s.closedAt! - s.openedAt);
    return { statuses, longestMs: Math.max(...held), answers: slow.states.map((s) => s.answer) };
  } finally {
    slow.stop();
  }
}

const portOf = (url: string) => Number(new URL(url).port);

test("data plane: 2,000 trickling bodies are cut at the request timeout; a calm tenant is served throughout", async (t) => {
  const head = `POST /upload HTTP/1.1\r\nhost: gw.test\r\nx-api-key: ${slowKey}`;
  const { statuses, longestMs, answers } = await attack(
    portOf(p.platform.dps[0]!.url),
    head,
    100_000,
    async () => {
      const res = await call(`${p.platform.dps[0]!.url}/calm`, calmKey);
      return res.status;
    },
  );
  assert.deepEqual(statuses, Array(40).fill(200));
  t.diagnostic(`longest slow socket held ${Math.round(longestMs)} ms`);
  assert.ok(longestMs < REQUEST_TIMEOUT_MS + MARGIN_MS, `a slow socket was held ${Math.round(longestMs)} ms`);
  // each got a rejection: 408 once its time was up, or (beyond the tenant's concurrency) 429 at once
  assert.deepEqual(
    answers.filter((a) => !/^HTTP\/1\.1 (408|429) /.test(a)),
    [],
  );
  assert.ok(
    answers.some((a) => a.startsWith("HTTP/1.1 408 ")),
    "the admitted slow requests got 408",
  );
});

test("control plane: 2,000 trickling bodies are cut at the request timeout; operators are served throughout", async (t) => {
  const cp = p.platform.cpUrl;
  const head = `POST /admin/v1/tenants HTTP/1.1\r\nhost: cp.test\r\ncontent-type: application/json\r\nauthorization: Bearer ${p.platform.operatorToken}`;
  const { statuses, longestMs, answers } = await attack(portOf(cp), head, 60_000, async () => {
    // under the CP's 64 KiB body limit
    const res = await request(`${cp}/admin/v1/tenants`, {
      headers: { authorization: `Bearer ${p.platform.operatorToken}` },
      headersTimeout: 10_000,
      bodyTimeout: 10_000,
    });
    await res.body.dump();
    return res.statusCode;
  });
  assert.deepEqual(statuses, Array(40).fill(200));
  t.diagnostic(`longest slow socket held ${Math.round(longestMs)} ms`);
  assert.ok(longestMs < REQUEST_TIMEOUT_MS + MARGIN_MS, `a slow socket was held ${Math.round(longestMs)} ms`);
  assert.deepEqual(
    answers.filter((a) => !a.startsWith("HTTP/1.1 408 ")),
    [],
    "each got 408 (CORRAL_CP_REQUEST_TIMEOUT)",
  );
});

test("data plane: one source beyond CORRAL_MAX_CONNECTIONS_PER_SOURCE is cut at once; others are served", async (t) => {
  const dp = p.platform.dps[0]!;
  const busiest = async () =>
    (await metricValue(dp.ops, 'corral_dp_client_connections_busiest_source{protocol="http"}')) ?? -1;
  const refused = async () =>
    (await metricValue(dp.ops, 'corral_dp_client_connections_refused_total{protocol="http",cap="source"}')) ??
    -1;
  const refusedBefore = await refused();
  // the node's own count of the busiest source, read throughout: it never passes the cap
  let peak = 0;
  let opening = true;
  const sampler = (async () => {
    while (opening) peak = Math.max(peak, await busiest());
  })();
  // 3,000 silent connections from 127.0.0.3: those beyond the cap are closed as they arrive,
  // the rest only when the headers timeout (2 s here) runs out
  const idle = await slowSockets(portOf(dp.url), PER_SOURCE + 500, { from: "127.0.0.3" });
  try {
    assert.equal((await call(`${dp.url}/calm`, calmKey)).status, 200, "another source is served meanwhile");
    await poll("every silent socket closed by the server", () => idle.open() === 0, 60_000);
    opening = false;
    await sampler;
    t.diagnostic(`the busiest source held at most ${peak} connections (cap ${PER_SOURCE})`);
    assert.ok(peak > 0 && peak <= PER_SOURCE, `the busiest source held ${peak}, cap ${PER_SOURCE}`);
    // a socket the cap refused is closed without a byte; one admitted gets 408 at the timeout
    const cut = idle.states.filter((s) => s.answer === "").length;
    assert.equal(
      cut + idle.states.filter((s) => s.answer.startsWith("HTTP/1.1 408 ")).length,
      idle.states.length,
    );
    assert.equal((await refused()) - refusedBefore, cut, "the node counted each one it refused");
    // the sockets opened while the source still held the cap's worth must all have been cut at
    // once; on a loaded machine opening 3,000 sockets can outlast the headers timeout, after
    // which held ones expire and later ones are rightly admitted
    const firstExpiry = Math.min(...idle.states.filter((s) => s.answer !== "").map((s) => s.closedAt!));
    const whileFull = idle.states.filter((s) => s.openedAt < firstExpiry).length - PER_SOURCE;
    t.diagnostic(`${cut} cut at once; ${Math.max(0, whileFull)} arrived beyond the cap while it was full`);
    assert.ok(
      cut >= Math.min(500, whileFull),
      `${cut} connections cut at once, ${whileFull} arrived beyond the cap while it was full`,
    );
  } finally {
    opening = false;
    idle.stop();
  }
});
