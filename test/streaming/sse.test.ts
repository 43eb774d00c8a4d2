/**
 * Streaming bodies through a real node: server-sent events arrive event by event, paced as the
 * upstream sends them (100 events 50 ms apart), the first one close to what a direct connection
 * sees; a stream longer than the route's timeout is not cut once its head arrived, but one
 * that stalls for the stream idle timeout is; a request body reaches the upstream while the client
 * is still sending it.
 */
import assert from "node:assert/strict";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";
import type { DataPlaneProcess } from "../../data-plane/main.ts";
import * as fx from "../data-plane/fixtures.ts";
import { startNode, type Workspace, workspace } from "../data-plane/support.ts";
import { closedPort } from "../support/ports.ts";
import { poll } from "../support/poll.ts";

const pair = fx.signingPair();
const key = fx.newKey();
let ws: Workspace;
let node: DataPlaneProcess;
let upstream: Server;
let upstreamUrl: string;
/** ms (performance.now) at which the upstream received each chunk of the last upload */
let uploadChunks: number[] = [];

function sseServer(): Server {
  return createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    if (url.pathname.endsWith("/upload")) {
      uploadChunks = [];
      req.on("data", () => uploadChunks.push(performance.now()));
      req.on("end", () => res.end(String(uploadChunks.length)));
      return;
    }
    const n = Number(url.searchParams.get("n") ?? 1);
    const gap = Number(url.searchParams.get("gap") ?? 50);
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    res.flushHeaders();
    let i = 0;
    const tick = () => {
      if (res.destroyed) return;
      res.write(`data: ${i}\n\n`);
      if (++i < n) setTimeout(tick, gap);
      else if (!url.pathname.endsWith("/stall")) res.end();
    };
    setTimeout(tick, gap);
  });
}

before(async () => {
  ws = await workspace();
  upstream = sseServer();
  await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  const snap = fx.snapshot(1, [
    fx.tenant({
      id: "feeds",
      upstream: upstreamUrl,
      keys: [{ id: key.id, hash: key.hash }],
      routes: [
        // the route's timeout (1 s) is far shorter than the streams: only the head must beat it
        { id: "events", pathPrefix: "/events", timeoutMs: 1000 },
        { id: "stall", pathPrefix: "/stall", timeoutMs: 1000, streaming: { streamIdleTimeoutMs: 1000 } },
      ],
    }),
  ]);
  await fx.publish(ws.store, fx.sign(snap, pair));
  node = await startNode({ ws, pair, cpUrl: `http://127.0.0.1:${await closedPort()}` });
  await poll("the node to apply LATEST", () => node.state.ready);
});

after(async () => {
  await node.close();
  upstream.closeAllConnections();
  upstream.close();
  await ws.remove();
});

interface Stream {
  /** ms from sending the request to each chunk */
  at: number[];
  text: string;
  /** the response ended cleanly (else it was cut) */
  complete: boolean;
}

function stream(base: string, path: string): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const sent = performance.now();
    const req = request(`${base}${path}`, { headers: { "x-api-key": key.key } }, (res) => {
      const out: Stream = { at: [], text: "", complete: false };
      res.on("data", (chunk: Buffer) => {
        out.at.push(performance.now() - sent);
        out.text += chunk.toString();
      });
      res.on("end", () => resolve({ ...out, complete: true }));
      res.on("error", () => resolve(out));
      res.on("aborted", () => resolve(out));
    });
    req.on("error", reject);
    req.end();
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

test("100 server-sent events 50 ms apart arrive one by one, 50 ms apart, for longer than the route's timeout", async () => {
  const direct = await stream(upstreamUrl, "/events?n=100&gap=50");
  const through = await stream(node.httpUrl, "/events?n=100&gap=50");
  assert.equal(through.complete, true, "the 5 s stream outlived the 1 s route timeout");
  assert.equal(through.text, direct.text);
  assert.ok(through.at.length >= 90, `events were buffered: ${through.at.length} chunks for 100 events`);
  const gaps = through.at.slice(1).map((t, i) => t - through.at[i]!);
  const m = median(gaps);
  assert.ok(m > 35 && m < 70, `median gap ${m.toFixed(1)} ms`);
  // wide margin for a loaded machine; the scenario measures the tight number
  const extra = through.at[0]! - direct.at[0]!;
  assert.ok(extra < 150, `first event ${extra.toFixed(1)} ms later through the gateway`);
});

test("a stream that stalls for the stream idle timeout is cut", async () => {
  const started = performance.now();
  const s = await stream(node.httpUrl, "/stall?n=1&gap=10");
  assert.equal(s.complete, false);
  assert.equal(s.text, "data: 0\n\n");
  assert.ok(performance.now() - started >= 900, "cut by the idle bound, not before");
});

test("a request body streams to the upstream while the client is still sending", async () => {
  const req = request(`${node.httpUrl}/events/upload`, {
    method: "POST",
    headers: { "x-api-key": key.key, "transfer-encoding": "chunked" },
  });
  const answered = new Promise<string>((resolve) =>
    req.on("response", (res) => {
      let body = "";
      res.on("data", (c) => (body += c));
      res.on("end", () => resolve(body));
    }),
  );
  req.write("first chunk");
  await poll("the upstream to get the first chunk before the body ends", () => uploadChunks.length >= 1);
  req.end("last chunk");
  assert.ok(Number(await answered) >= 2);
});
