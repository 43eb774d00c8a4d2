/**
 * WebSockets through real nodes (runDataPlane, in this process) with hand-made signed snapshots:
 * echo through the member and through a non-member that forwards (text, binary, 1 MiB, ping/pong,
 * close codes both ways), the route's opt-in (400), the route's socket cap (429 at the
 * handshake, relayed by the forwarding node), oversize messages (1009), a hostile upstream that
 * sends garbage after its 101 (1014), a client that never reads (the node stops reading the
 * upstream), config churn that never cuts a socket, route deletion closing exactly that route's
 * sockets with 1001, and a draining node closing its sockets with 1001.
 */
import assert from "node:assert/strict";
import { request } from "node:http";
import { connect } from "node:net";
import { after, before, test } from "node:test";
import { WebSocket } from "ws";
import type { DataPlaneProcess } from "../../data-plane/main.ts";
import { HIGH_WATER } from "../../data-plane/http/websocket-relay.ts";
import { Slot, Snapshot, type Tenant } from "../../proto/gen/corral/snapshot/v1/snapshot.ts";
import { deriveHopKey } from "../../proto/node-credential.ts";
import * as fx from "../data-plane/fixtures.ts";
import { startNode, type Workspace, workspace } from "../data-plane/support.ts";
import { closedPort } from "../support/ports.ts";
import { poll } from "../support/poll.ts";
import { type EchoUpstream, echoUpstream, garbageUpstream } from "./ws-upstream.ts";

const pair = fx.signingPair();
const chatKey = fx.newKey();
const hostileKey = fx.newKey();
const walledKey = fx.newKey();
const HOP_KEY = deriveHopKey("the websocket tests' node secret, thirty-two characters");
const FLOOD = 64 * 1024 * 1024;
let ws: Workspace;
let echo: EchoUpstream;
let garbage: Awaited<ReturnType<typeof garbageUpstream>>;
const nodes: DataPlaneProcess[] = [];
const urls: string[] = [];
let version = 0;

function chat(extraRoutes: boolean): Tenant {
  const routes = [
    {
      id: "ws",
      pathPrefix: "/ws",
      timeoutMs: 15_000,
      streaming: { websocket: true, websocketMaxMessageBytes: 2 << 20 },
    },
    { id: "plain", pathPrefix: "/plain" },
    { id: "limited", pathPrefix: "/limited", streaming: { websocket: true, websocketMaxConnections: 2 } },
    { id: "tiny", pathPrefix: "/tiny", streaming: { websocket: true, websocketMaxMessageBytes: 1024 } },
    ...(extraRoutes ? [{ id: "other", pathPrefix: "/other", streaming: { websocket: true } }] : []),
  ];
  const t = fx.tenant({
    id: "chat",
    upstream: echo.url,
    keys: [{ id: chatKey.id, hash: chatKey.hash }],
    routes,
  });
  return { ...t, shard: ["dp-0"] };
}

/** Publishes a new version (with or without the "other" route) and waits for every node to serve it. */
async function publish(withOther = true, name = "chat", status = "active"): Promise<void> {
  version++;
  const hostile = fx.tenant({
    id: "hostile",
    upstream: garbage.url,
    keys: [{ id: hostileKey.id, hash: hostileKey.hash }],
    routes: [{ id: "bad", pathPrefix: "/", streaming: { websocket: true } }],
  });
  // no egress exception: its loopback upstream must be refused at connect time
  const walled = fx.tenant({
    id: "walled",
    upstream: echo.url,
    keys: [{ id: walledKey.id, hash: walledKey.hash }],
    routes: [{ id: "w", pathPrefix: "/", streaming: { websocket: true } }],
    egressAllow: [],
  });
  const snap = Snapshot.fromPartial({
    version,
    epoch: 1,
    createdAtMs: Date.now(),
    settings: { hopKey: HOP_KEY },
    slots: urls.map((httpUrl, i) =>
      Slot.fromPartial({ name: `dp-${i}`, zone: "zone-a", httpUrl, live: true }),
    ),
    tenants: [{ ...chat(withOther), name, status }, hostile, walled],
  });
  await fx.publish(ws.store, fx.sign(snap, pair));
  await poll(`version ${version} on every node`, () => nodes.every((n) => n.state.version >= version));
}

before(async () => {
  ws = await workspace();
  echo = await echoUpstream(FLOOD);
  garbage = await garbageUpstream();
  const cpUrl = `http://127.0.0.1:${await closedPort()}`;
  const ports = [await closedPort(), await closedPort()];
  urls.push(...ports.map((p) => `http://127.0.0.1:${p}`));
  for (const [i, port] of ports.entries()) {
    const env = {
      CORRAL_SLOT: `dp-${i}`,
      CORRAL_HTTP_PORT: String(port),
      CORRAL_DATA_DIR: `${ws.dataDir}-${i}`,
      CORRAL_WS_CLOSE_GRACE_MS: "200",
    };
    nodes.push(await startNode({ ws, pair, cpUrl, pollMs: 100, env }));
  }
  await publish();
});

after(async () => {
  await Promise.all(nodes.map((n) => n.close()));
  await echo.close();
  await garbage.close();
  await ws.remove();
});

function open(
  nodeUrl: string,
  path: string,
  key = chatKey.key,
  protocols: string[] = [],
): Promise<WebSocket> {
  const socket = new WebSocket(`${nodeUrl.replace("http", "ws")}${path}`, protocols, {
    headers: { "x-api-key": key },
    maxPayload: 16 << 20,
  });
  return new Promise((resolve, reject) => {
    socket.once("open", () => resolve(socket));
    socket.once("error", reject);
    socket.once("unexpected-response", (_req, res) =>
      reject(
        Object.assign(new Error(`status ${res.statusCode}`), {
          status: res.statusCode,
          reason: res.headers["corral-reason"],
        }),
      ),
    );
  });
}

function next(socket: WebSocket): Promise<{ data: Buffer; binary: boolean }> {
  return new Promise((resolve) =>
    socket.once("message", (data: Buffer, binary) => resolve({ data, binary })),
  );
}

function closed(socket: WebSocket): Promise<{ code: number; reason: string }> {
  if (socket.readyState === WebSocket.CLOSED) return Promise.resolve({ code: -1, reason: "already closed" });
  return new Promise((resolve) =>
    socket.once("close", (code, reason) => resolve({ code, reason: reason.toString() })),
  );
}

async function refusal(nodeUrl: string, path: string, key = chatKey.key) {
  const err = await open(nodeUrl, path, key).then(
    (s) => {
      s.terminate();
      return undefined;
    },
    (e: { status?: number; reason?: string }) => e,
  );
  assert.ok(err, `${path}: the upgrade was accepted`);
  return err;
}

for (const [i, role] of [
  [0, "the member"],
  [1, "a non-member that forwards"],
] as const) {
  test(`echo through ${role}: text, binary, 1 MiB, ping/pong, close codes both ways`, async () => {
    const socket = await open(urls[i]!, "/ws/room", chatKey.key, ["chat.v1"]);
    assert.equal(socket.protocol, "chat.v1");
    const text = next(socket);
    socket.send("hello");
    assert.deepEqual(await text, { data: Buffer.from("hello"), binary: false });
    const big = Buffer.alloc(1 << 20, 0x5a);
    big[12345] = 1;
    const bin = next(socket);
    socket.send(big);
    const got = await bin;
    assert.equal(got.binary, true);
    assert.ok(got.data.equals(big));
    const pong = new Promise<Buffer>((resolve) => socket.once("pong", resolve));
    socket.ping("are you there");
    assert.equal((await pong).toString(), "are you there");
    // the upstream closes with its own code: the client sees it
    const byUpstream = closed(socket);
    socket.send("close:4002");
    assert.equal((await byUpstream).code, 4002);
    // the client closes with its code: the upstream sees it
    const again = await open(urls[i]!, "/ws/room");
    const before = echo.closes.length;
    again.close(4001, "bye");
    await poll("the upstream to see the client's close code", () => echo.closes.slice(before).includes(4001));
    const last = echo.upgrades.at(-1)!;
    assert.equal(last["x-api-key"], undefined, "the tenant's key never reaches the upstream");
    assert.equal(last["corral-tenant"], "chat");
  });
}

test("an upgrade to a route without websocket: true is 400 not_websocket", async () => {
  const err = await refusal(urls[0]!, "/plain/x");
  assert.equal(err.status, 400);
  assert.equal(err.reason, "not_websocket");
  const viaPeer = await refusal(urls[1]!, "/plain/x");
  assert.equal(viaPeer.status, 400);
});

test("a request asking for another protocol upgrade (h2c) is an ordinary request", async () => {
  const status = await new Promise<number>((resolve, reject) => {
    const req = request(`${urls[0]}/plain/x`, {
      headers: {
        "x-api-key": chatKey.key,
        connection: "Upgrade, HTTP2-Settings",
        upgrade: "h2c",
        "http2-settings": "",
      },
    });
    req.on("response", (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", reject);
    req.end();
  });
  assert.equal(status, 426, "the upstream's own answer to a plain request");
});

test("a tenant over its route's socket limit gets 429 at the handshake (also through a forwarding node)", async () => {
  const held = [await open(urls[0]!, "/limited"), await open(urls[1]!, "/limited")];
  const err = await refusal(urls[1]!, "/limited");
  assert.equal(err.status, 429);
  assert.equal(err.reason, "quota");
  assert.equal((await refusal(urls[0]!, "/limited")).status, 429);
  const gone = closed(held[0]!);
  held[0]!.close();
  await gone;
  const again = await poll("a slot free again", () => open(urls[0]!, "/limited").catch(() => undefined));
  for (const s of [again, held[1]!]) s.close();
});

test("a message past the route's size bound closes the socket with 1009", async () => {
  const socket = await open(urls[0]!, "/tiny");
  const end = closed(socket);
  socket.send(Buffer.alloc(4096));
  assert.equal((await end).code, 1009);
});

test("an upstream that sends garbage after its 101 gets the client a 1014 close, not a crash", async () => {
  const socket = await open(urls[0]!, "/", hostileKey.key);
  assert.equal((await closed(socket)).code, 1014);
  const still = await open(urls[0]!, "/ws");
  still.close();
});

test("the upstream's 101 headers reach the client filtered like any response's", async () => {
  const socket = new WebSocket(`${urls[0]!.replace("http", "ws")}/ws`, {
    headers: { "x-api-key": chatKey.key },
  });
  const headers = await new Promise<Record<string, string | string[] | undefined>>((resolve, reject) => {
    socket.once("upgrade", (res) => resolve(res.headers));
    socket.once("error", reject);
  });
  assert.equal(headers["x-from-upstream"], "yes");
  assert.equal(headers["corral-reason"], undefined, "an upstream cannot speak for the node");
  socket.close();
});

test("an upstream that never answers the upgrade gets the client 504; one that refuses with an endless body, its status and a bounded body", async () => {
  const silent = await refusal(urls[0]!, "/silent", hostileKey.key);
  assert.equal(silent.status, 504);
  assert.equal(silent.reason, "upstream_timeout");
  const refused = await new Promise<{ status: number; bytes: number }>((resolve, reject) => {
    const s = new WebSocket(`${urls[0]!.replace("http", "ws")}/refuse`, {
      headers: { "x-api-key": hostileKey.key },
    });
    s.once("unexpected-response", (_req, res) => {
      let bytes = 0;
      res.on("data", (c: Buffer) => (bytes += c.length));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, bytes }));
    });
    s.once("error", reject);
  });
  assert.equal(refused.status, 403);
  assert.ok(refused.bytes <= 64 * 1024, `${refused.bytes} bytes relayed`);
});

test("a client that never reads: the node stops reading the upstream (bounded buffer)", async () => {
  const port = Number(new URL(urls[0]!).port);
  const raw = connect(port, "127.0.0.1");
  raw.on("error", () => {});
  await new Promise((resolve) => raw.once("connect", resolve));
  const before = echo.floods.length;
  raw.write(
    "GET /ws/flood HTTP/1.1\r\nhost: x\r\nupgrade: websocket\r\nconnection: Upgrade\r\n" +
      `sec-websocket-key: ${Buffer.alloc(16, 1).toString("base64")}\r\nsec-websocket-version: 13\r\nx-api-key: ${chatKey.key}\r\n\r\n`,
  );
  raw.pause(); // never reads a byte
  const flood = await poll("the flood to start", () => echo.floods[before]);
  let last = -1;
  let steady = 0;
  // the upstream's queue stops draining once the node stops reading it
  await poll(
    "the upstream's queue to stop moving",
    () => {
      const now = flood.bufferedAmount;
      steady = now === last ? steady + 1 : 0;
      last = now;
      return steady >= 8;
    },
    60_000,
    100,
  );
  const absorbed = FLOOD - flood.bufferedAmount;
  // node: HIGH_WATER + a message or two; the rest sits in loopback socket buffers
  assert.ok(absorbed < FLOOD / 2, `the node took ${absorbed} of ${FLOOD} bytes from the upstream`);
  assert.ok(absorbed > HIGH_WATER, "something flowed before the brakes");
  raw.destroy();
});

test("200 open sockets survive 50 unrelated config changes with zero disconnects", async () => {
  const sockets = await Promise.all(Array.from({ length: 200 }, (_, i) => open(urls[i % 2]!, "/ws/churn")));
  let disconnects = 0;
  for (const s of sockets) s.on("close", () => disconnects++);
  for (let i = 0; i < 50; i++) await publish(true, `chat renamed ${i}`);
  assert.equal(disconnects, 0);
  const replies = sockets.map((s) => next(s));
  for (const s of sockets) s.send("still here");
  assert.equal((await Promise.all(replies)).filter((r) => r.data.toString() === "still here").length, 200);
  await Promise.all(
    sockets.map((s) => {
      const end = closed(s);
      s.close();
      return end;
    }),
  );
});

test("deleting a route closes exactly that route's sockets, with 1001, after the grace", async () => {
  const doomed = [await open(urls[0]!, "/other"), await open(urls[1]!, "/other")];
  const kept = [await open(urls[0]!, "/ws"), await open(urls[1]!, "/ws")];
  const ends = doomed.map(closed);
  let keptClosed = 0;
  for (const s of kept) s.on("close", () => keptClosed++);
  await publish(false);
  for (const end of ends) assert.equal((await end).code, 1001);
  assert.equal(keptClosed, 0);
  const reply = next(kept[1]!);
  kept[1]!.send("alive");
  assert.equal((await reply).data.toString(), "alive");
  for (const s of kept) s.close();
  await publish(true);
});

test("an upgrade to an upstream the egress policy refuses is 502 egress_denied, nothing dialled", async () => {
  const before = echo.upgrades.length;
  const err = await refusal(urls[0]!, "/", walledKey.key);
  assert.equal(err.status, 502);
  assert.equal(err.reason, "egress_denied");
  assert.equal(echo.upgrades.length, before);
});

test("suspending the tenant closes its sockets with 1001; new upgrades are 403", async () => {
  const sockets = [await open(urls[0]!, "/ws"), await open(urls[1]!, "/ws")];
  const ends = sockets.map(closed);
  await publish(true, "chat", "suspended");
  for (const end of ends) assert.equal((await end).code, 1001);
  assert.equal((await refusal(urls[0]!, "/ws")).status, 403);
  await publish(true);
});

test("the node's metrics count open sockets, messages and bytes", async () => {
  const socket = await open(urls[0]!, "/ws");
  const reply = next(socket);
  socket.send("count me");
  await reply;
  const metrics = await (await fetch(`${nodes[0]!.opsUrl}/metrics`)).text();
  assert.match(metrics, /corral_dp_websockets_open\{class="standard"\} [1-9]/);
  assert.match(metrics, /corral_dp_websocket_messages_total\{direction="to_upstream"\} [1-9]/);
  assert.match(metrics, /corral_dp_websocket_bytes_total\{direction="to_client"\} [1-9]/);
  const end = closed(socket);
  socket.close();
  await end;
});

test("a draining node closes its sockets with 1001", async () => {
  const socket = await open(urls[0]!, "/ws");
  const end = closed(socket);
  await nodes[0]!.close();
  assert.equal((await end).code, 1001);
});
