/**
 * A tenant cannot fill a node with WebSockets by spreading them over many routes: past
 * CORRAL_WS_MAX_SOCKETS_PER_TENANT its handshakes are 429 quota on every route (each route's
 * own cap is far away), while another tenant on the same node still gets its sockets; a
 * closed socket frees its tenant's slot. Real node, real clients, a real echo upstream.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { WebSocket } from "ws";
import type { DataPlaneProcess } from "../../data-plane/main.ts";
import { Slot, Snapshot } from "../../proto/gen/corral/snapshot/v1/snapshot.ts";
import * as fx from "../data-plane/fixtures.ts";
import { startNode, type Workspace, workspace } from "../data-plane/support.ts";
import { closedPort } from "../support/ports.ts";
import { poll } from "../support/poll.ts";
import { type EchoUpstream, echoUpstream } from "./ws-upstream.ts";

const PER_TENANT = 3;
const pair = fx.signingPair();
const greedyKey = fx.newKey();
const quietKey = fx.newKey();
const ROUTES = ["a", "b", "c", "d"].map((id) => ({
  id,
  pathPrefix: `/${id}`,
  streaming: { websocket: true },
}));
let ws: Workspace;
let echo: EchoUpstream;
let node: DataPlaneProcess;
let url: string;

before(async () => {
  ws = await workspace();
  echo = await echoUpstream(1 << 20);
  url = `http://127.0.0.1:${await closedPort()}`;
  const env = {
    CORRAL_SLOT: "dp-0",
    CORRAL_HTTP_PORT: new URL(url).port,
    CORRAL_WS_MAX_SOCKETS: "100",
    CORRAL_WS_MAX_SOCKETS_PER_TENANT: String(PER_TENANT),
  };
  node = await startNode({ ws, pair, cpUrl: `http://127.0.0.1:${await closedPort()}`, pollMs: 100, env });
  const tenants = [
    ["greedy", greedyKey],
    ["quiet", quietKey],
  ] as const;
  const snap = Snapshot.fromPartial({
    version: 1,
    epoch: 1,
    createdAtMs: Date.now(),
    slots: [Slot.fromPartial({ name: "dp-0", zone: "zone-a", httpUrl: url, live: true })],
    tenants: tenants.map(([id, key]) => ({
      ...fx.tenant({ id, upstream: echo.url, keys: [{ id: key.id, hash: key.hash }], routes: ROUTES }),
      shard: ["dp-0"],
    })),
  });
  await fx.publish(ws.store, fx.sign(snap, pair));
  await poll("the node serves version 1", () => node.state.version >= 1);
});

after(async () => {
  await node.close();
  await echo.close();
  await ws.remove();
});

/** Opens a socket, or resolves with the refusal's status and corral-reason. */
function open(path: string, key: string): Promise<WebSocket | { status?: number; reason?: unknown }> {
  const socket = new WebSocket(`${url.replace("http", "ws")}${path}`, { headers: { "x-api-key": key } });
  return new Promise((resolve, reject) => {
    socket.once("open", () => resolve(socket));
    socket.once("error", reject);
    socket.once("unexpected-response", (_req, res) => {
      res.resume();
      resolve({ status: res.statusCode, reason: res.headers["corral-reason"] });
    });
  });
}

test("a tenant's sockets over all its routes stop at the per-tenant cap; another tenant is untouched", async () => {
  const held: WebSocket[] = [];
  for (const route of ["/a", "/b", "/c"]) {
    const s = await open(route, greedyKey.key);
    assert.ok(s instanceof WebSocket, `${route}: ${JSON.stringify(s)}`);
    held.push(s);
  }
  for (const route of ["/a", "/d"]) {
    assert.deepEqual(await open(route, greedyKey.key), { status: 429, reason: "quota" }, route);
  }
  const quiet = await open("/a", quietKey.key);
  assert.ok(quiet instanceof WebSocket, "the other tenant still opens a socket");
  quiet.close();

  const gone = new Promise((resolve) => held[0]!.once("close", resolve));
  held[0]!.close();
  await gone;
  const again = await poll("the closed socket frees a slot of its tenant", async () => {
    const s = await open("/d", greedyKey.key);
    return s instanceof WebSocket ? s : undefined;
  });
  for (const s of [again, ...held.slice(1)]) s.close();
});
