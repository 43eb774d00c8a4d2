/**
 * Attack test, operator tokens (issue 8 item 10), black-box against a real control-plane process
 * (startPlatform, no data planes) on a private Postgres, driven by `corral admin` and raw HTTP:
 * roles hold, revocation is immediate, a revoked bootstrap token stays revoked across a restart,
 * guessing operator tokens or tenant keys (REST and gRPC) from one address is throttled (429)
 * while other addresses are not, and no secret reaches the logs.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { credentials, Metadata, type ServiceError, status } from "@grpc/grpc-js";
import { Agent, request } from "undici";
import { TenantServiceClient } from "../../proto/gen/corral/tenant/v1/tenant.ts";
import { type Platform, startPlatform } from "../../bin/dev/platform.ts";
import { startPostgres, type TestPostgres } from "../support/postgres.ts";

const BIN = fileURLToPath(new URL("../../bin/corral.ts", import.meta.url));
const FAIL_LIMIT = 5;
const PROBLEM = "application/problem+json; charset=utf-8";

let pg: TestPostgres;
let dir: string;
let platform: Platform;
const lines: string[] = [];
/** connections from other loopback addresses: each is its own source for the throttle */
const agents = new Map<string, Agent>();

before(async () => {
  pg = await startPostgres();
  dir = await mkdtemp(join(tmpdir(), "corral-security-tokens-"));
  platform = await startPlatform({
    dir,
    ports: "free",
    dataPlanes: 0,
    pg: { url: pg.url },
    demoUpstreams: false,
    logLevel: "debug",
    stopGraceMs: 3000,
    cpEnv: { CORRAL_AUTH_FAIL_LIMIT: String(FAIL_LIMIT), CORRAL_AUTH_FAIL_WINDOW_MS: "600000" },
    onEvent: (e) => {
      if (e.type === "line") lines.push(e.line);
    },
  });
});

after(async () => {
  await platform?.stop();
  await Promise.all([...agents.values()].map((a) => a.close()));
  await pg?.stop();
  await rm(dir, { recursive: true, force: true });
});

function from(localAddress: string): Agent {
  let agent = agents.get(localAddress);
  if (!agent) {
    agent = new Agent({ localAddress });
    agents.set(localAddress, agent);
  }
  return agent;
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  // biome-ignore lint/suspicious/noExplicitAny: problem and list bodies are checked field by field
  body: any;
}

async function call(
  method: "GET" | "POST" | "DELETE",
  path: string,
  opts: { token?: string; apiKey?: string; body?: unknown; source?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.apiKey) headers["x-api-key"] = opts.apiKey;
  if (opts.body !== undefined) headers["content-type"] = "application/json";
  const res = await request(`${platform.cpUrl}${path}`, {
    method,
    headers,
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    dispatcher: from(opts.source ?? "127.0.0.1"),
  });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

/** `corral admin …` as an operator runs it; its JSON output. */
async function corralAdmin(token: string, ...args: string[]): Promise<Answer["body"]> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("CORRAL_")));
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [BIN, "admin", "--url", platform.cpUrl, "--token", token, ...args],
    { env, timeout: 30_000 },
  );
  return stdout.trim() ? JSON.parse(stdout) : undefined;
}

const secrets: string[] = [];
let adminToken: string;
let adminId: string;

test("operators create tokens with roles; a viewer reads but cannot change anything or manage tokens", async () => {
  const created = await corralAdmin(platform.operatorToken, "tokens", "create", "ops", "--role", "admin");
  assert.equal(created.role, "admin");
  assert.match(created.token, /^cro_[A-Za-z0-9_-]{43}$/);
  adminToken = created.token;
  adminId = created.id;
  const viewer = await corralAdmin(adminToken, "tokens", "create", "auditor", "--role", "viewer");
  secrets.push(adminToken, viewer.token, platform.operatorToken);

  assert.equal((await call("GET", "/admin/v1/tenants", { token: viewer.token })).status, 200);
  const refused = [
    await call("POST", "/admin/v1/tenants", { token: viewer.token, body: { id: "by-viewer", name: "x" } }),
    await call("POST", "/admin/v1/operator-tokens", {
      token: viewer.token,
      body: { name: "escalate", role: "admin" },
    }),
    await call("GET", "/admin/v1/operator-tokens", { token: viewer.token }),
    await call("DELETE", `/admin/v1/operator-tokens/${adminId}`, { token: viewer.token }),
  ];
  for (const res of refused) {
    assert.equal(res.status, 403);
    assert.equal(res.body.code, "CORRAL_ADMIN_FORBIDDEN");
  }
  const list = await corralAdmin(adminToken, "tokens", "list");
  assert.deepEqual(list.items.map((t: { name: string }) => t.name).sort(), ["auditor", "bootstrap", "ops"]);
  assert.ok(list.items.every((t: { revokedAt: unknown }) => t.revokedAt === null));
  for (const secret of secrets) assert.ok(!JSON.stringify(list).includes(secret), "no secret is listed");
  assert.equal((await call("GET", "/admin/v1/tenants/by-viewer", { token: adminToken })).status, 404);

  await corralAdmin(adminToken, "tokens", "revoke", viewer.id);
  const revoked = await call("GET", "/admin/v1/tenants", { token: viewer.token });
  assert.equal(revoked.status, 401, "a revoked token is refused at once");
  assert.equal(revoked.body.code, "CORRAL_ADMIN_UNAUTHENTICATED");
});

test("a revoked bootstrap token stays revoked when the control-plane process restarts", async () => {
  const { items } = await corralAdmin(adminToken, "tokens", "list");
  const bootstrap = items.find((t: { kind: string }) => t.kind === "bootstrap");
  await corralAdmin(adminToken, "tokens", "revoke", bootstrap.id);
  assert.equal((await call("GET", "/admin/v1/tenants", { token: platform.operatorToken })).status, 401);

  const last = await call("DELETE", `/admin/v1/operator-tokens/${adminId}`, { token: adminToken });
  assert.equal(last.status, 409, "the last active admin token cannot be revoked");
  assert.equal(last.body.code, "CORRAL_ADMIN_LAST_ADMIN_TOKEN");

  const pidBefore = platform.cp.pid;
  await platform.cp.restart(); // same CORRAL_OPERATOR_TOKEN in its environment
  assert.notEqual(platform.cp.pid, pidBefore);
  const after = await call("GET", "/admin/v1/tenants", { token: platform.operatorToken });
  assert.equal(after.status, 401, "the restart did not re-enable the bootstrap token");
  assert.equal((await call("GET", "/admin/v1/tenants", { token: adminToken })).status, 200);
});

test("an address guessing tokens gets 429 after the limit; other addresses are unaffected", async () => {
  const guesser = "127.0.0.4";
  for (let i = 0; i < FAIL_LIMIT; i++) {
    const guess = await call("GET", "/admin/v1/tenants", { token: `cro_guess${i}`, source: guesser });
    assert.equal(guess.status, 401, `guess ${i}`);
  }
  const throttled = await call("GET", "/admin/v1/tenants", { token: "cro_guess-next", source: guesser });
  assert.equal(throttled.status, 429);
  assert.equal(throttled.body.code, "CORRAL_ADMIN_AUTH_THROTTLED");
  assert.equal(throttled.headers["content-type"], PROBLEM);
  const retryAfter = Number(throttled.headers["retry-after"]);
  assert.ok(retryAfter > 0 && retryAfter <= 600, `retry-after ${retryAfter}`);
  // documented: once throttled, the address is refused before any token is checked, valid or not
  const validSameAddress = await call("GET", "/admin/v1/tenants", { token: adminToken, source: guesser });
  assert.equal(validSameAddress.status, 429);
  const elsewhere = await call("GET", "/admin/v1/tenants", { token: adminToken, source: "127.0.0.2" });
  assert.equal(elsewhere.status, 200, "another address is not throttled");
});

test("tenant API keys: guessing is throttled per address too, without locking operators out", async () => {
  const guesser = "127.0.0.3";
  const key = (i: number) => `crl_${"0".repeat(12)}_${String(i).padStart(43, "x")}`;
  for (let i = 0; i < FAIL_LIMIT; i++) {
    const guess = await call("GET", "/v1/tenant", { apiKey: key(i), source: guesser });
    assert.equal(guess.status, 401, `guess ${i}`);
    assert.equal(guess.body.code, "CORRAL_TENANT_UNAUTHENTICATED");
  }
  const throttled = await call("GET", "/v1/tenant", { apiKey: key(99), source: guesser });
  assert.equal(throttled.status, 429);
  assert.equal(throttled.body.code, "CORRAL_TENANT_AUTH_THROTTLED");
  assert.ok(Number(throttled.headers["retry-after"]) > 0);
  const operator = await call("GET", "/admin/v1/tenants", { token: adminToken, source: guesser });
  assert.equal(operator.status, 200, "the admin API counts its own failures only");
});

test("tenant gRPC calls with bad keys count against the caller's address like REST calls", async () => {
  const client = new TenantServiceClient(platform.cp.grpc, credentials.createInsecure());
  const getTenant = (key: string) =>
    new Promise<ServiceError>((resolve, reject) => {
      const md = new Metadata();
      md.set("x-api-key", key);
      client.getTenant({}, md, (err) => (err ? resolve(err) : reject(new Error("the call succeeded"))));
    });
  try {
    const key = (i: number) => `crl_${"1".repeat(12)}_${String(i).padStart(43, "y")}`;
    for (let i = 0; i < FAIL_LIMIT; i++) assert.equal((await getTenant(key(i))).code, status.UNAUTHENTICATED);
    const throttled = await getTenant(key(99));
    assert.equal(throttled.code, status.RESOURCE_EXHAUSTED);
    assert.equal(throttled.metadata.get("corral-code")[0], "CORRAL_TENANT_AUTH_THROTTLED");
    const rest = await call("GET", "/v1/tenant", { apiKey: key(100), source: "127.0.0.1" });
    assert.equal(rest.status, 429, "REST from the same address shares the count");
  } finally {
    client.close();
  }
});

test("no token appears in the control plane's logs", async () => {
  const logDir = join(dir, "logs");
  const files = await Promise.all(
    (await readdir(logDir)).map((f) => readFile(join(logDir, f), "utf8").catch(() => "")),
  );
  const everything = [...lines, ...files].join("\n");
  assert.ok(everything.includes('"request"'), "the request log lines were captured");
  for (const secret of secrets) assert.ok(!everything.includes(secret), "a token was logged");
});
