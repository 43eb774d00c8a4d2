import assert from "node:assert/strict";
import { once } from "node:events";
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";
import { after, test } from "node:test";
import { Pool } from "undici";
import { ExchangeAborted, type RelayOutcome, UpstreamRelay } from "./upstream-relay.ts";

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

async function listen(handler: Handler): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

const closers: Array<() => Promise<unknown>> = [];
after(() => Promise.all(closers.map((c) => c())));

/** An upstream and a front server relaying every request to it; outcomes are recorded. */
async function relayPair(upstream: Handler, timeoutMs = 300) {
  const up = await listen(upstream);
  const pool = new Pool(up.url);
  const outcomes: RelayOutcome[] = [];
  const front = await listen((req, res) => {
    const relay = new UpstreamRelay({
      res,
      extraHeaders: { "x-extra": "1" },
      fromNode: false,
      timeoutMs,
      settle: (o) => {
        outcomes.push(o);
        if (o.kind === "failed" && !res.headersSent) res.writeHead(504).end("timeout");
      },
    });
    pool.dispatch({ path: req.url!, method: "GET", headers: {}, bodyTimeout: 0, headersTimeout: 0 }, relay);
  });
  closers.push(
    () => pool.destroy(),
    () => new Promise((r) => up.server.close(r).closeAllConnections()),
    () => new Promise((r) => front.server.close(r).closeAllConnections()),
  );
  return { url: front.url, outcomes };
}

function get(url: string, onResponse?: (res: IncomingMessage) => void) {
  return new Promise<{ status: number; headers: IncomingMessage["headers"]; body: Buffer; error?: Error }>(
    (resolve) => {
      const chunks: Buffer[] = [];
      const req = httpRequest(url, (res) => {
        onResponse?.(res);
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on("error", (error) =>
          resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks), error }),
        );
      });
      req.on("error", (error) => resolve({ status: 0, headers: {}, body: Buffer.concat(chunks), error }));
      req.end();
    },
  );
}

test("status, headers (hop-by-hop dropped, extras added) and body are relayed", async () => {
  const pair = await relayPair((_req, res) => {
    res.writeHead(201, {
      "content-type": "text/plain",
      "x-up": "yes",
      connection: "keep-alive, x-hop",
      "x-hop": "1",
    });
    res.end("hello");
  });
  const answer = await get(`${pair.url}/a`);
  assert.equal(answer.status, 201);
  assert.equal(answer.body.toString(), "hello");
  assert.equal(answer.headers["x-up"], "yes");
  assert.equal(answer.headers["x-extra"], "1");
  assert.equal(answer.headers["x-hop"], undefined, "a header the upstream's Connection names stays behind");
  assert.equal(pair.outcomes[0]?.kind, "head");
});

test("a large body reaches a slow reader intact (the upstream waits while the client's socket is full)", async () => {
  const body = Buffer.alloc(8 * 1024 * 1024, 7);
  const pair = await relayPair((_req, res) => {
    res.writeHead(200, { "content-length": body.length });
    res.end(body);
  }, 2000);
  const answer = await get(`${pair.url}/big`, (res) => {
    // read slowly: pause for 20 ms after every chunk for the first 40 chunks
    let n = 0;
    res.on("data", () => {
      if (n++ < 40) {
        res.pause();
        setTimeout(() => res.resume(), 20);
      }
    });
  });
  assert.equal(answer.error, undefined);
  assert.equal(answer.body.length, body.length);
  assert.ok(answer.body.equals(body));
});

test("no head within the timeout: the exchange fails with a timeout at once", async () => {
  const pair = await relayPair(() => {}, 150);
  const started = performance.now();
  const answer = await get(`${pair.url}/hang`);
  const ms = performance.now() - started;
  assert.equal(answer.status, 504);
  // the lower bound is exact (timers never fire early); the upper one only says "not hung",
  // with room for a loaded machine
  assert.ok(ms >= 140 && ms < 5000, `answered after ${ms} ms`);
  const outcome = pair.outcomes[0];
  assert.ok(outcome?.kind === "failed" && outcome.error instanceof ExchangeAborted);
  assert.equal((outcome.error as ExchangeAborted).why, "timeout");
});

test("a pause in the body longer than the timeout cuts the client's response", async () => {
  const pair = await relayPair((_req, res) => {
    res.writeHead(200, { "content-length": 10 });
    res.write("12345"); // and never the rest
  }, 200);
  const answer = await get(`${pair.url}/stall`);
  assert.equal(answer.status, 200);
  assert.equal(answer.body.toString(), "12345");
  assert.ok(answer.error, "the response was cut, not completed");
  assert.equal(pair.outcomes[0]?.kind, "head");
});

test("a client that goes away before the head ends the exchange as client_gone", async () => {
  let upstreamSawClose: () => void = () => {};
  const closed = new Promise<void>((r) => {
    upstreamSawClose = r;
  });
  const reached = Promise.withResolvers<void>();
  const pair = await relayPair((req) => {
    req.socket.on("close", () => upstreamSawClose());
    reached.resolve();
  }, 5000);
  const req = httpRequest(`${pair.url}/gone`);
  req.on("error", () => {});
  req.end();
  await reached.promise; // the exchange is under way: the client goes before the head
  req.destroy();
  await closed; // the upstream's connection was cut too
  const outcome = pair.outcomes[0];
  assert.ok(outcome?.kind === "failed" && outcome.error instanceof ExchangeAborted);
  assert.equal((outcome.error as ExchangeAborted).why, "client_gone");
});
