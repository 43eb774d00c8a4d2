/**
 * Operator tokens through the admin API on a real control plane: validation, name reuse, bounds,
 * Idempotency-Key replays without the secret, expiry, last use, and bootstrap-token rotation
 * across restarts. The attack-side checks are in test/security/operator-tokens.test.ts.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, test } from "node:test";
import { MAX_ACTIVE_TOKENS } from "../../control-plane/store/operator-tokens.ts";
import { type Harness, startHarness } from "./harness.ts";
import { poll } from "../support/poll.ts";

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => h.close());

const TOKENS = "/admin/v1/operator-tokens";
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function activeCount(): Promise<number> {
  const { items } = (await h.api("GET", TOKENS)).body;
  const active = (t: { revokedAt: unknown; expiresAt: string | null }) =>
    t.revokedAt === null && (t.expiresAt === null || Date.parse(t.expiresAt) > Date.now());
  return items.filter(active).length;
}

test("whoami names the token in use and its role, for viewers too; no token: 401", async () => {
  const admin = await h.api("GET", "/admin/v1/whoami");
  assert.equal(admin.status, 200);
  assert.equal(admin.body.role, "admin");
  const issued = await h.api("POST", TOKENS, { name: "who-viewer", role: "viewer" });
  const viewer = await h.api("GET", "/admin/v1/whoami", undefined, bearer(issued.body.token));
  assert.deepEqual(viewer.body, { id: issued.body.id, name: "who-viewer", role: "viewer" });
  const anonymous = await fetch(`${h.cp.url}/admin/v1/whoami`);
  assert.equal(anonymous.status, 401);
});

test("bad requests get 400 and change nothing; an active name cannot be taken twice", async () => {
  const before = await activeCount();
  const inPast = new Date(Date.now() - 60_000).toISOString();
  const farAway = new Date(Date.now() + 11 * 365 * 24 * 3600 * 1000).toISOString();
  const cases: Array<[unknown, RegExp]> = [
    [{ name: "x", role: "root" }, /role must be equal to one of/],
    [{ name: "Bad Name", role: "viewer" }, /name must match pattern/],
    [{ name: "bootstrap", role: "admin" }, /name bootstrap is reserved for CORRAL_OPERATOR_TOKEN/],
    [{ role: "viewer" }, /required property 'name'/],
    [{ name: "x", role: "viewer", token: "chosen-by-caller" }, /additional properties \(token\)/],
    [{ name: "x", role: "viewer", expiresAt: "tomorrow" }, /expiresAt must match format/],
    [{ name: "x", role: "viewer", expiresAt: inPast }, /expiresAt must be in the future/],
    [{ name: "x", role: "viewer", expiresAt: farAway }, /expiresAt must be at most 10 years ahead/],
  ];
  for (const [body, detail] of cases) {
    const res = await h.api("POST", TOKENS, body);
    assert.equal(res.status, 400, JSON.stringify(body));
    assert.equal(res.body.code, "CORRAL_ADMIN_VALIDATION");
    assert.match(res.body.detail, detail);
  }
  assert.equal((await h.api("DELETE", `${TOKENS}/not-an-id`)).status, 400);
  const missing = await h.api("DELETE", `${TOKENS}/op_000000000000`);
  assert.equal(missing.status, 404);
  assert.equal(await activeCount(), before);

  const first = await h.api("POST", TOKENS, { name: "ci", role: "viewer" });
  assert.equal(first.status, 201);
  const twice = await h.api("POST", TOKENS, { name: "ci", role: "admin" });
  assert.equal(twice.status, 409);
  assert.equal(twice.body.code, "CORRAL_ADMIN_CONFLICT");
  assert.equal((await h.api("DELETE", `${TOKENS}/${first.body.id}`)).status, 204);
  assert.equal((await h.api("DELETE", `${TOKENS}/${first.body.id}`)).status, 204, "revoking twice is fine");
  const again = await h.api("POST", TOKENS, { name: "ci", role: "viewer" });
  assert.equal(again.status, 201, "a revoked token's name can be used again");
  await h.api("DELETE", `${TOKENS}/${again.body.id}`);
});

test("a retry with the same Idempotency-Key gets the first answer without the token", async () => {
  const headers = { "idempotency-key": "token-create-1" };
  const first = await h.api("POST", TOKENS, { name: "deployer", role: "admin" }, headers);
  assert.equal(first.status, 201);
  assert.match(first.body.token, /^cro_/);
  assert.equal(first.body.createdBy, (await bootstrapRow()).id);
  const replay = await h.api("POST", TOKENS, { name: "deployer", role: "admin" }, headers);
  assert.equal(replay.status, 201);
  assert.equal(replay.headers.get("idempotent-replayed"), "true");
  assert.equal(replay.body.id, first.body.id);
  assert.equal(replay.body.token, undefined, "the secret is shown once");
  const other = await h.api("POST", TOKENS, { name: "other", role: "admin" }, headers);
  assert.equal(other.status, 422);
  await h.api("DELETE", `${TOKENS}/${first.body.id}`);
});

test("a token stops working when it expires; its last use is recorded", async () => {
  const expiresAt = new Date(Date.now() + 3_000).toISOString();
  const short = await h.api("POST", TOKENS, { name: "short-lived", role: "viewer", expiresAt });
  assert.equal(short.body.expiresAt, expiresAt);
  assert.equal((await h.api("GET", "/admin/v1/tenants", undefined, bearer(short.body.token))).status, 200);
  const listed = (await h.api("GET", TOKENS)).body.items.find((t: { id: string }) => t.id === short.body.id);
  assert.ok(listed.lastUsedAt, "last use recorded");
  await poll(
    "the short-lived token refused",
    async () => (await h.api("GET", "/admin/v1/tenants", undefined, bearer(short.body.token))).status === 401,
    30_000,
  );
});

test("at most MAX_ACTIVE_TOKENS tokens are active", async () => {
  const ids: string[] = [];
  for (let i = await activeCount(); i < MAX_ACTIVE_TOKENS; i++) {
    ids.push((await h.api("POST", TOKENS, { name: `bulk-${i}`, role: "viewer" })).body.id);
  }
  const over = await h.api("POST", TOKENS, { name: "one-too-many", role: "viewer" });
  assert.equal(over.status, 409);
  assert.equal(over.body.code, "CORRAL_ADMIN_TOO_MANY_TOKENS");
  for (const id of ids) await h.api("DELETE", `${TOKENS}/${id}`);
});

async function bootstrapRow() {
  const { items } = (await h.api("GET", TOKENS)).body;
  return items.find((t: { kind: string; revokedAt: unknown }) => t.kind === "bootstrap" && !t.revokedAt);
}

test("a new CORRAL_OPERATOR_TOKEN replaces the old one at restart; the same one changes nothing", async () => {
  const oldToken = h.adminToken;
  const before = await bootstrapRow();
  await h.restart();
  assert.deepEqual(await bootstrapRow(), { ...before, lastUsedAt: (await bootstrapRow()).lastUsedAt });
  const rotated = `adm_${randomBytes(24).toString("base64url")}`;
  await h.restart({}, { CORRAL_OPERATOR_TOKEN: rotated });
  h.adminToken = rotated;
  assert.equal((await h.api("GET", "/admin/v1/tenants", undefined, bearer(oldToken))).status, 401);
  const now = await bootstrapRow();
  assert.notEqual(now.id, before.id);
  const { items } = (await h.api("GET", TOKENS)).body;
  assert.ok(items.find((t: { id: string }) => t.id === before.id).revokedAt, "the old one is revoked");
  assert.ok(!JSON.stringify(h.logs).includes(rotated));
});
