/**
 * The gRPC proxy's HTTP/2 client sessions against real node:http2 servers: one session carries
 * many streams, GOAWAY and close lead to a fresh session, the upstream's stream limit queues
 * instead of refusing, unreachable targets fail fast and are skipped, idle sessions close.
 */
import assert from "node:assert/strict";
import {
  type ClientHttp2Session,
  createServer,
  type Http2Server,
  type Http2Session,
  type ServerHttp2Stream,
} from "node:http2";
import { type AddressInfo, createServer as createTcpServer, type Socket } from "node:net";
import { afterEach, test } from "node:test";
import { egressPolicy } from "../../proto/egress-policy.ts";
import { ManualTimers, systemTimers } from "../../data-plane/clock.ts";
import type { PlainUpstream } from "../../data-plane/model/plain-config.ts";
import {
  type BalancedSession,
  ConnectError,
  UpstreamSessions,
} from "../../data-plane/grpc/upstream-sessions.ts";
import { CIRCUIT_OPEN } from "../../data-plane/upstream/upstream-upkeep.ts";
import { plainUpstream } from "../data-plane/fixtures.ts";
import { poll } from "../support/poll.ts";
import { closedPort } from "../support/ports.ts";

const LOOPBACK = egressPolicy(["127.0.0.0/8"]);

interface TestServer {
  origin: string;
  sessions: Http2Session[];
  maxActive: number;
  close(): Promise<void>;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** An h2c server answering every stream after delayMs. */
async function h2Server(opts: { delayMs?: number; maxConcurrentStreams?: number } = {}): Promise<TestServer> {
  const server: Http2Server = createServer({ settings: { maxConcurrentStreams: opts.maxConcurrentStreams } });
  const t: TestServer = { origin: "", sessions: [], maxActive: 0, close: async () => {} };
  let active = 0;
  server.on("session", (s) => {
    t.sessions.push(s);
    s.on("error", () => {});
  });
  server.on("stream", (stream: ServerHttp2Stream) => {
    t.maxActive = Math.max(t.maxActive, ++active);
    stream.on("close", () => active--);
    stream.on("error", () => {});
    setTimeout(() => {
      if (stream.destroyed) return;
      stream.respond({ ":status": 200 });
      stream.end("ok");
    }, opts.delayMs ?? 0);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  t.close = () =>
    new Promise((resolve) => {
      for (const s of t.sessions) s.destroy();
      server.close(() => resolve());
    });
  cleanups.push(t.close);
  return t;
}

function upstream(origins: string[], connectTimeoutMs = 1000): PlainUpstream {
  return plainUpstream(origins, { name: "grpc", connectTimeoutMs });
}

/** The balancer draws 0 every time: the first target not down wins. */
function sessions(timers = systemTimers()): UpstreamSessions {
  const s = new UpstreamSessions(timers, { idleCloseMs: 1_000, random: () => 0 });
  cleanups.push(() => s.close(100));
  return s;
}

function pickOf(pool: UpstreamSessions, u: PlainUpstream): BalancedSession {
  const picked = pool.pick(u, LOOPBACK);
  assert.ok(picked && picked !== CIRCUIT_OPEN);
  return picked;
}

async function ready(pool: UpstreamSessions, u: PlainUpstream): Promise<ClientHttp2Session> {
  const picked = pickOf(pool, u);
  await picked.ready;
  return picked.session;
}

function get(session: ClientHttp2Session): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = session.request({ ":path": "/" }, { endStream: true });
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (c: string) => {
      body += c;
    });
    req.on("end", () => resolve(body));
    req.on("error", reject);
  });
}

test("one session per target carries concurrent streams", async () => {
  const server = await h2Server({ delayMs: 20 });
  const pool = sessions();
  const u = upstream([server.origin]);
  const bodies = await Promise.all(Array.from({ length: 20 }, async () => get(await ready(pool, u))));
  assert.deepEqual(new Set(bodies), new Set(["ok"]));
  assert.equal(server.sessions.length, 1);
  assert.equal(pool.size, 1);
});

test("streams beyond the upstream's limit wait for a free slot instead of being refused", async () => {
  const server = await h2Server({ delayMs: 30, maxConcurrentStreams: 2 });
  const pool = sessions();
  const u = upstream([server.origin]);
  const bodies = await Promise.all(Array.from({ length: 6 }, async () => get(await ready(pool, u))));
  assert.deepEqual(bodies, Array(6).fill("ok"));
  assert.equal(server.maxActive, 2);
});

test("after GOAWAY the next call dials a new session; the stream in flight on the old one finishes", async () => {
  const server = await h2Server({ delayMs: 100 });
  const pool = sessions();
  const u = upstream([server.origin]);
  const first = await ready(pool, u);
  const inFlight = get(first);
  await poll("the stream to reach the upstream", () => server.maxActive > 0);
  server.sessions[0]!.close(); // graceful: GOAWAY, then waits for its streams
  await new Promise<void>((resolve) => first.once("goaway", () => resolve()));
  const second = await ready(pool, u);
  assert.notEqual(second, first);
  assert.equal(await get(second), "ok");
  assert.equal(await inFlight, "ok");
  assert.equal(server.sessions.length, 2);
});

test("a session that closed is replaced on the next call", async () => {
  const server = await h2Server();
  const pool = sessions();
  const u = upstream([server.origin]);
  const first = await ready(pool, u);
  server.sessions[0]!.destroy();
  await new Promise<void>((resolve) => first.once("close", () => resolve()));
  assert.equal(await get(await ready(pool, u)), "ok");
});

test("a refused connection fails fast with a ConnectError; the target it ejects is skipped", async () => {
  const server = await h2Server();
  const dead = `http://127.0.0.1:${await closedPort()}`;
  const pool = sessions();
  const u = upstream([dead, server.origin]);
  const picked = pickOf(pool, u);
  assert.equal(picked.target.origin, dead);
  const failed = await pool.whenReady(picked);
  assert.ok(failed instanceof ConnectError && failed.code === "ECONNREFUSED");
  picked.lease.end("connect_failure");
  assert.equal(pool.down.down(picked.target.key), true);
  const next = pickOf(pool, u);
  assert.equal(next.target.origin, server.origin);
  await next.ready;
  assert.equal(await get(next.session), "ok");
});

test("a target that accepts TCP but never speaks HTTP/2 fails at the connect timeout", async () => {
  const sockets: Socket[] = [];
  const silent = createTcpServer((s) => sockets.push(s));
  await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
  cleanups.push(
    () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        silent.close(() => resolve());
      }),
  );
  const pool = sessions();
  const started = performance.now();
  const picked = pickOf(pool, upstream([`http://127.0.0.1:${(silent.address() as AddressInfo).port}`], 150));
  await assert.rejects(
    picked.ready!,
    (err: unknown) => err instanceof ConnectError && err.code === "ETIMEDOUT",
  );
  const took = performance.now() - started;
  // exact lower bound; the upper one only says "the 150 ms timeout fired", with room for load
  assert.ok(took >= 140 && took < 5000, `${took} ms`);
  assert.equal(pool.size, 0);
});

test("sessions unused for idleCloseMs are closed by the sweep; used ones stay", async () => {
  const server = await h2Server();
  const timers = new ManualTimers();
  const pool = sessions(timers);
  const u = upstream([server.origin]);
  const session = await ready(pool, u);
  timers.advance(600);
  assert.equal(pool.size, 1, "not idle long enough yet");
  timers.advance(600);
  assert.equal(pool.size, 0);
  await new Promise<void>((resolve) => (session.closed ? resolve() : session.once("close", () => resolve())));
  assert.ok(session.closed);
});
