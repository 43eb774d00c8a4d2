/**
 * Attack test (issue 8, egress / SSRF), black-box against real processes: a tenant's manage key
 * must not point an upstream at the fleet's own or other internal addresses, in any spelling
 * (the CP refuses with 400 naming the field), a name that resolves to loopback at connect time
 * is refused by the node after resolution (502 egress_denied; the target never sees a
 * connection), and an operator's `host:port` exception opens exactly that port.
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";
import { pathToFileURL } from "node:url";
import { request } from "undici";
import { call, type IsolationPlatform, isolationPlatform } from "../isolation/support.ts";
import { createTenant } from "../support/tenants.ts";
import { poll } from "../support/poll.ts";

const RESOLVER = pathToFileURL(new URL("./rebind-resolver.ts", import.meta.url).pathname).href;

let p: IsolationPlatform;
let manageKey: string;
let invokeKey: string;

/** An upstream that counts the connections it accepts. */
async function countingUpstream(): Promise<{
  port: number;
  connections: () => number;
  close(): Promise<void>;
}> {
  let connections = 0;
  const server: Server = createServer((_req, res) => res.end("reached"));
  server.on("connection", () => connections++);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    connections: () => connections,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function tenantApi(method: string, path: string, body?: unknown) {
  const res = await request(`${p.platform.cpUrl}${path}`, {
    method: method as "POST",
    headers: { "x-api-key": manageKey, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.body.text();
  return { status: res.statusCode, body: (text ? JSON.parse(text) : undefined) as Record<string, unknown> };
}

/** An upstream and a route to it, made with the tenant's own manage key. */
async function routeTo(target: string, pathPrefix: string): Promise<void> {
  const up = await tenantApi("POST", "/v1/upstreams", { name: pathPrefix.slice(1), targets: [target] });
  assert.equal(up.status, 201, JSON.stringify(up.body));
  const rt = await tenantApi("POST", "/v1/routes", { pathPrefix, upstreamId: up.body.id });
  assert.equal(rt.status, 201, JSON.stringify(rt.body));
}

before(async () => {
  p = await isolationPlatform({ dataPlanes: 1, dpEnv: { NODE_OPTIONS: `--import=${RESOLVER}` } });
  await createTenant(p.admin, { id: "acme", upstream: "https://api.example.com", routes: [] });
  manageKey = (await p.admin.post<{ key: string }>("/admin/v1/tenants/acme/keys", { scopes: ["manage"] }))
    .key;
  invokeKey = (await p.admin.post<{ key: string }>("/admin/v1/tenants/acme/keys", { scopes: ["invoke"] }))
    .key;
});

after(async () => {
  await p?.stop();
});

test("a tenant cannot point an upstream at an internal address, in any spelling: 400 naming the field", async () => {
  const opsPort = new URL(p.platform.dps[0]!.ops).port;
  const ingressPort = new URL(p.platform.dps[0]!.url).port;
  const targets = [
    `http://127.0.0.1:${opsPort}`,
    `http://[::1]:${opsPort}`,
    `http://2130706433:${opsPort}`,
    `http://0x7f000001:${opsPort}`,
    `http://0177.0.0.1:${opsPort}`,
    `http://[::ffff:127.0.0.1]:${ingressPort}`,
    "http://169.254.169.254",
    "http://10.0.0.1:8080",
    `http://0.0.0.0:${opsPort}`,
    `http://localhost:${opsPort}`,
    `http://foo.localhost:${opsPort}`,
    `2130706433:${opsPort}`,
    "kubernetes.default.svc:443",
    `${new URL(p.platform.cpUrl).host}`,
  ];
  for (const target of targets) {
    const res = await tenantApi("POST", "/v1/upstreams", {
      name: "sneaky",
      targets: ["https://api.example.com", target],
    });
    assert.equal(res.status, 400, `${target}: ${JSON.stringify(res.body)}`);
    assert.equal(res.body.code, "CORRAL_TENANT_EGRESS_DENIED", target);
    assert.equal((res.body.errors as { path: string }[])[0]!.path, "body/targets/1", target);
  }
  const admin = await p.admin
    .post("/admin/v1/tenants/acme/upstreams", { name: "x", targets: [targets[0]] })
    .catch((e) => e);
  assert.equal((admin as { status?: number }).status, 400, "the admin API refuses too");
  const listed = await tenantApi("GET", "/v1/upstreams");
  assert.deepEqual(
    (listed.body.items as { name: string }[]).map((u) => u.name),
    ["api"],
    "nothing refused was stored",
  );
});

test("a name that resolves to loopback at connect time is refused by the node: 502 egress_denied, no connection", async () => {
  const target = await countingUpstream();
  try {
    await routeTo(`http://svc.rebind.test:${target.port}`, "/rebind");
    const dp = p.platform.dps[0]!;
    let res = await call(`${dp.url}/rebind/x`, invokeKey);
    await poll("the route on the node", async () => {
      res = await call(`${dp.url}/rebind/x`, invokeKey);
      // the key and the route reach the node in the same or a later snapshot than before()
      return res.status !== 404 && res.status !== 401;
    });
    assert.equal(res.status, 502);
    assert.equal(res.reason, "egress_denied");
    assert.equal(target.connections(), 0, "the target saw a connection");
    const metrics = await (await request(`${dp.ops}/metrics`)).body.text();
    assert.match(metrics, /corral_dp_egress_denied_total\{protocol="http"\} [1-9]/);
  } finally {
    await target.close();
  }
});

test("an operator's host:port exception opens exactly that port; other loopback ports stay refused", async () => {
  const allowed = await countingUpstream();
  const other = await countingUpstream();
  try {
    const put = await p.admin.put<{ allow: string[] }>("/admin/v1/settings/egress", {
      allow: [`2130706433:${allowed.port}`],
    });
    assert.deepEqual(put.allow, [`127.0.0.1:${allowed.port}`], "stored in canonical form");
    await routeTo(`http://127.0.0.1:${allowed.port}`, "/local");
    const dp = p.platform.dps[0]!;
    await poll(
      "the allowed upstream through the node",
      async () => (await call(`${dp.url}/local/x`, invokeKey)).status === 200,
    );
    assert.ok(allowed.connections() > 0);
    for (const target of [`http://127.0.0.1:${other.port}`, `http://127.0.0.1:${new URL(dp.ops).port}`]) {
      const res = await tenantApi("POST", "/v1/upstreams", { name: "other", targets: [target] });
      assert.equal(res.status, 400, target);
      assert.equal(res.body.code, "CORRAL_TENANT_EGRESS_DENIED");
    }
    assert.equal(other.connections(), 0);
  } finally {
    await Promise.all([allowed.close(), other.close()]);
  }
});
