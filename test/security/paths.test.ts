/**
 * Attack: paths that mean one thing to the node's router and another to the upstream
 * (docs/design.md §8.7 "one meaning per path"). A real data-plane process routes /api to one upstream
 * and /admin to another; hostile request targets go over a raw socket, byte for byte. Each must
 * be refused (400 bad_path, or 400/404 for what the parser or router cannot take), or reach the
 * upstream of the route whose prefix it stays under even when read by the most lenient server
 * (decoding repeatedly, "\" as "/", ";" parameters dropped, dot segments resolved), in a form
 * that leaves no room for a second reading. The same rule on gRPC's :path.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { recordingUpstream } from "../data-plane/support.ts";
import { startRawUpstream } from "../grpc/raw-h2-upstream.ts";
import { type IsolationPlatform, isolationPlatform } from "../isolation/support.ts";
import { createTenant } from "../support/tenants.ts";
import { egressAllowFor } from "../support/egress.ts";
import { rawRequest, unaryCall } from "./support.ts";

const HOSTILE = [
  "/api/..%2fadmin",
  "/api/..%2Fadmin",
  "/api/%2e%2e%2fadmin",
  "/api/%2E%2E%2Fadmin",
  "/api/%2e%2e/admin",
  "/api/.%2e/admin",
  "/api/%2e./admin",
  "/api/..;/admin",
  "/api;/../admin",
  "/api/x/..;/..;/admin",
  "/api/..\\admin",
  "/api\\..\\admin",
  "/api/..%5cadmin",
  "/api/..%5Cadmin",
  "/api/%252e%252e%252fadmin",
  "/api/%252e%252e/admin",
  "/api/..%252fadmin",
  "/api/%25252e%25252e/admin",
  "/api/%c0%ae%c0%ae/admin",
  "/api/%c0%af..%c0%afadmin",
  "/api/..%00/admin",
  "/api/%00../admin",
  "/api//..//admin",
  "/api/.../admin",
  "/api/%2e",
  "/api/%",
  "/api/%zz/../admin",
  "/api%2f..%2fadmin",
  "/api/x%2f..%2f..%2fadmin",
  "/api/..%u2216admin",
  "/%61pi/..%2f%61dmin",
  "/api/./../admin",
  "/api/..%09/admin",
  "/api/%2e%2e%5cadmin",
  "/api/x?y=/../admin",
];

/** The path as the most lenient server could read it. */
function lenientReading(url: string): string {
  let path = url.split("?")[0]!;
  for (let i = 0; i < 5; i++) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(path);
    } catch {
      decoded = unescape(path);
    }
    if (decoded === path) break;
    path = decoded;
  }
  const stack: string[] = [];
  for (const raw of path.replaceAll("\\", "/").split("/")) {
    const segment = raw.split(";")[0]!;
    if (segment === "" || segment === ".") continue;
    if (segment === "..") stack.pop();
    else stack.push(segment);
  }
  return `/${stack.join("/")}`;
}

const underPrefix = (path: string, prefix: string) => path === prefix || path.startsWith(`${prefix}/`);
/** What a forwarded path must never carry: anything a server could read in a second way. */
const AMBIGUOUS = /%2f|%5c|%25[0-9a-f]{2}|%2e|;|\\|\/\/|(^|\/)\.\.?(\/|$)|%00|%c0/i;

let p: IsolationPlatform;
let key: string;
let api: Awaited<ReturnType<typeof recordingUpstream>>;
let admin: Awaited<ReturnType<typeof recordingUpstream>>;
let grpc: Awaited<ReturnType<typeof startRawUpstream>>;
const grpcSeen: string[] = [];

before(async () => {
  [api, admin, grpc] = await Promise.all([
    recordingUpstream(),
    recordingUpstream(),
    startRawUpstream((h) => grpcSeen.push(String(h[":path"]))),
  ]);
  p = await isolationPlatform({ dataPlanes: 1 });
  key = (await createTenant(p.admin, { id: "paths", upstream: api.url, routes: [{ pathPrefix: "/api" }] }))
    .key;
  const base = "/admin/v1/tenants/paths";
  // the tenant's own egress exceptions: its three loopback upstreams (createTenant allows one)
  await p.admin.patch(base, { egressAllow: egressAllowFor(api.url, admin.url, `http://${grpc.address}`) });
  const second = await p.admin.post<{ id: string }>(`${base}/upstreams`, {
    name: "admin",
    targets: [admin.url],
  });
  await p.admin.post(`${base}/routes`, { pathPrefix: "/admin", upstreamId: second.id });
  const g = await p.admin.post<{ id: string }>(`${base}/upstreams`, {
    name: "grpc",
    targets: [`http://${grpc.address}`],
  });
  await p.admin.post(`${base}/routes`, { pathPrefix: "/raw.v1.Svc", upstreamId: g.id, protocol: "grpc" });
  await p.platform.waitUntilServing("/admin/x", key, 30_000);
});

after(async () => {
  await p?.stop();
  await Promise.all([api?.close(), admin?.close(), grpc?.close()]);
});

const port = () => Number(new URL(p.platform.dps[0]!.url).port);

async function send(target: string) {
  const seenBefore = { api: api.seen.length, admin: admin.seen.length };
  const answer = await rawRequest(port(), `GET ${target} HTTP/1.1\r\nhost: gw.test\r\nx-api-key: ${key}`);
  return {
    answer,
    atApi: api.seen.slice(seenBefore.api).map((s) => s.url),
    atAdmin: admin.seen.slice(seenBefore.admin).map((s) => s.url),
  };
}

test("well-formed paths reach their route's upstream, normalised once", async () => {
  const plain = await send("/api/ok?q=1");
  assert.equal(plain.answer.status, 200);
  assert.deepEqual(plain.atApi, ["/api/ok?q=1"]);
  const encoded = await send("/%61pi/v%7E1");
  assert.equal(encoded.answer.status, 200, "an unreserved character's escape is decoded before matching");
  assert.deepEqual(encoded.atApi, ["/api/v~1"]);
});

test("hostile paths are refused, or stay under the route they matched with one reading", async () => {
  assert.ok(HOSTILE.length >= 30);
  const failures: string[] = [];
  for (const target of HOSTILE) {
    const { answer, atApi, atAdmin } = await send(target);
    const refused = answer.status === 400 || answer.status === 404;
    if (refused) {
      if (atApi.length + atAdmin.length > 0) failures.push(`${target}: refused but forwarded`);
      continue;
    }
    for (const [seen, prefix] of [
      [atApi, "/api"],
      [atAdmin, "/admin"],
    ] as const)
      for (const url of seen) {
        if (!underPrefix(lenientReading(url), prefix))
          failures.push(`${target}: ${prefix}'s upstream got ${url}, read as ${lenientReading(url)}`);
        if (AMBIGUOUS.test(url.split("?")[0]!)) failures.push(`${target}: forwarded ambiguous ${url}`);
      }
    if (answer.status !== 200) failures.push(`${target}: unexpected ${answer.status}`);
  }
  assert.deepEqual(failures, []);
});

test("an ambiguous path is 400 bad_path with a problem body", async () => {
  const { answer, atApi, atAdmin } = await send("/api/..%2fadmin");
  assert.equal(answer.status, 400);
  assert.equal(answer.headers["corral-reason"], "bad_path");
  assert.equal(JSON.parse(answer.body).code, "CORRAL_DP_BAD_PATH");
  assert.equal(atApi.length + atAdmin.length, 0);
});

const grpcCall = (path: string) => unaryCall(p.platform.dps[0]!.grpc, path, { "x-api-key": key });

test("gRPC: a :path with dot segments or escapes is refused INVALID_ARGUMENT and never forwarded", async () => {
  const ok = await grpcCall("/raw.v1.Svc/Ok");
  assert.equal(ok["grpc-status"], "0");
  assert.deepEqual(grpcSeen, ["/raw.v1.Svc/Ok"]);
  for (const path of [
    "/raw.v1.Svc/..%2fOk",
    "/raw.v1.Svc/%2e%2e/Ok",
    "/raw.v1.Svc/../raw.v1.Svc/Ok",
    "/raw.v1.Svc/Ok;x",
    "/raw.v1.Svc/%252e%252e/Ok",
  ]) {
    const answer = await grpcCall(path);
    assert.equal(answer["grpc-status"], "3", path);
    assert.equal(answer["corral-reason"], "bad_path", path);
  }
  assert.deepEqual(grpcSeen, ["/raw.v1.Svc/Ok"]);
});
