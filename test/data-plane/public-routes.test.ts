/**
 * Keyless public routes through a real node: identified by host alone, only the host's tenant's
 * public routes, never another tenant's host; the per-client-address bucket (the node believes
 * X-Forwarded-For from loopback here, so one test process can be several clients).
 */
import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { after, before, test } from "node:test";
import type { DataPlaneProcess } from "../../data-plane/main.ts";
import { closedPort } from "../support/ports.ts";
import { poll } from "../support/poll.ts";
import * as fx from "./fixtures.ts";
import { recordingUpstream, startNode, type Workspace, workspace } from "./support.ts";

const pair = fx.signingPair();
const otherKey = fx.newKey();
let ws: Workspace;
let shopUpstream: Awaited<ReturnType<typeof recordingUpstream>>;
let otherUpstream: Awaited<ReturnType<typeof recordingUpstream>>;
let node: DataPlaneProcess;

const CLIENT = { rate: 1, burst: 5 };

before(async () => {
  ws = await workspace();
  shopUpstream = await recordingUpstream({ "x-tenant": "shop" });
  otherUpstream = await recordingUpstream({ "x-tenant": "other" });
  const snap = fx.snapshot(1, [
    fx.tenant({
      id: "shop",
      upstream: shopUpstream.url,
      routes: [
        { id: "storefront", pathPrefix: "/", hosts: ["shop.example.com"], public: true, client: CLIENT },
        { id: "open", pathPrefix: "/open", hosts: ["shop.example.com"], public: true },
        { id: "admin", pathPrefix: "/admin", hosts: ["shop.example.com"] },
      ],
    }),
    fx.tenant({
      id: "other",
      upstream: otherUpstream.url,
      keys: [{ id: otherKey.id, hash: otherKey.hash }],
      routes: [{ id: "any", pathPrefix: "/" }],
    }),
  ]);
  await fx.publish(ws.store, fx.sign(snap, pair));
  node = await startNode({
    ws,
    pair,
    cpUrl: `http://127.0.0.1:${await closedPort()}`,
    env: { CORRAL_TRUSTED_PROXIES: "127.0.0.1" },
  });
  await poll("the node to apply LATEST", () => node.state.ready);
});

after(async () => {
  await node.close();
  await shopUpstream.close();
  await otherUpstream.close();
  await ws.remove();
});

interface Answer {
  status: number;
  reason: string;
  tenant: string;
  retryAfter: string;
}

function send(path: string, headers: Record<string, string>): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(node.httpUrl, { path, headers });
    req.on("response", (res) => {
      res.resume();
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          reason: String(res.headers["corral-reason"] ?? ""),
          tenant: String(res.headers["x-tenant"] ?? ""),
          retryAfter: String(res.headers["retry-after"] ?? ""),
        }),
      );
    });
    req.on("error", reject);
    req.end();
  });
}

test("a keyless request on a public host reaches that tenant's public routes, and only those", async () => {
  const open = await send("/open/x", { host: "shop.example.com" });
  assert.equal(open.status, 200);
  assert.equal(open.tenant, "shop");
  const admin = await send("/admin/users", { host: "SHOP.example.com:8080" });
  assert.deepEqual(
    [admin.status, admin.reason],
    [401, "unauthorized"],
    "a route that is not public needs a key",
  );
  const nowhere = await send("/open/x", { host: "unknown.example.com" });
  assert.deepEqual([nowhere.status, nowhere.reason], [401, "unauthorized"]);
});

test("attack: a public route cannot be reached on another tenant's host, nor another tenant's key reach it", async () => {
  const viaOtherHost = await send("/open/x", { host: "other.example.com" });
  assert.deepEqual([viaOtherHost.status, viaOtherHost.reason], [401, "unauthorized"]);
  const otherKeyed = await send("/open/x", { host: "shop.example.com", "x-api-key": otherKey.key });
  assert.equal(otherKeyed.status, 200);
  assert.equal(otherKeyed.tenant, "other", "a key identifies its own tenant, whatever the host");
  const badKey = await send("/open/x", { host: "shop.example.com", "x-api-key": "ck_not-a-real-key" });
  assert.equal(badKey.tenant, "shop", "an unknown key on a public host is a keyless caller");
});

test("one client address is limited to its bucket; another address is not affected", async () => {
  const from = (ip: string) => ({ host: "shop.example.com", "x-forwarded-for": ip });
  const answers: Answer[] = [];
  for (let i = 0; i < CLIENT.burst + 5; i++) answers.push(await send("/p", from("198.51.100.7")));
  const admitted = answers.filter((a) => a.status === 200).length;
  // the burst, plus what the bucket refilled while the requests ran (1/s; wide margin)
  assert.ok(admitted >= CLIENT.burst && admitted < CLIENT.burst + 5, `${admitted} admitted`);
  const refused = answers.find((a) => a.status === 429)!;
  assert.equal(refused.reason, "client_rate");
  assert.ok(Number(refused.retryAfter) >= 1);
  const sameSlash64 = await send("/p", from("2001:db8:1:2::1"));
  assert.equal(sameSlash64.status, 200);
  for (let i = 0; i < CLIENT.burst + 5; i++) await send("/p", from(`2001:db8:1:2::${i + 2}`));
  const stillLimited = await send("/p", from("2001:db8:1:2:ffff::9"));
  assert.equal(stillLimited.reason, "client_rate", "IPv6 clients count per /64");
  const neighbour = await send("/p", from("198.51.100.8"));
  assert.equal(neighbour.status, 200, "another client keeps its own bucket");
  const unlimitedRoute = await send("/open/y", from("198.51.100.7"));
  assert.equal(
    unlimitedRoute.status,
    200,
    "a public route without a client bucket does not limit per client",
  );
});
