/**
 * `corral admin` against a real control plane: boolean options switched off on update
 * (`--no-public`, `--health-check none`), the fleet's admission switches (`admission get|set`,
 * published to the nodes), and `tenants list --q`. Bad input exits 2 and changes nothing; a
 * refused call exits 1 and changes nothing.
 */
import assert from "node:assert/strict";
import { tmpdir } from "node:os";
import { after, before, test } from "node:test";
import { runAdmin } from "../../bin/admin/admin-cli.ts";
import { LATEST_KEY, parsePointer } from "../../proto/blob-keys.ts";
import { decodeSnapshot } from "../../proto/snapshot-codec.ts";
import { egressAllowFor } from "../support/egress.ts";
import { type Harness, startHarness } from "./harness.ts";

let h: Harness;
let upId: string;
const out: string[] = [];
const errs: string[] = [];
const io = { out: (t: string) => out.push(t), err: (t: string) => errs.push(t), env: {}, cwd: tmpdir() };

/** Runs one command with the harness's operator token (or `token`); resolves with the exit code. */
const admin = (argv: string[], token = h.adminToken) =>
  runAdmin([...argv, "--url", h.cp.url, "--token", token], io);
// biome-ignore lint/suspicious/noExplicitAny: the printed JSON is checked field by field
const printed = (): any => JSON.parse(out.at(-1)!);

before(async () => {
  h = await startHarness();
  await h.api("POST", "/admin/v1/tenants", {
    id: "shop",
    name: "Shop",
    egressAllow: egressAllowFor("127.0.0.1:9001"),
  });
  const up = await h.api("POST", "/admin/v1/tenants/shop/upstreams", {
    name: "api",
    targets: ["127.0.0.1:9001"],
  });
  upId = up.body.id;
});
after(() => h.close());

test("routes update switches every boolean option off again", async () => {
  const create = [
    ...["routes", "create", "shop", "--path", "/on", "--upstream", upId, "--host", "shop.example"],
    ...[
      "--strip-prefix",
      "--idempotency",
      "--websocket",
      "--public",
      "--client-rate",
      "1",
      "--client-burst",
      "2",
    ],
  ];
  assert.equal(await admin(create), 0, errs.join(""));
  const made = printed();
  assert.deepEqual(
    [made.stripPrefix, made.idempotency, made.websocket, made.public, made.clientLimits],
    [true, true, true, true, { rate: 1, burst: 2 }],
  );
  const path = `/admin/v1/tenants/shop/routes/${made.id}`;

  // the API keeps client limits to public routes: switching public off alone is refused, nothing changes
  assert.equal(await admin(["routes", "update", "shop", made.id, "--no-public"]), 1);
  assert.match(errs.at(-1)!, /client limits apply to public routes only/);
  assert.deepEqual((await h.api("GET", path)).body, made);

  const off = [
    "--no-public",
    "--no-client-limits",
    "--no-idempotency",
    "--no-websocket",
    "--no-strip-prefix",
  ];
  assert.equal(await admin(["routes", "update", "shop", made.id, ...off]), 0, errs.join(""));
  const stored = (await h.api("GET", path)).body;
  assert.deepEqual(
    [stored.stripPrefix, stored.idempotency, stored.websocket, stored.public, stored.clientLimits],
    [false, false, false, false, null],
  );
  assert.deepEqual(stored.hosts, ["shop.example"], "what the update does not name stays");

  assert.equal(await admin(["routes", "update", "shop", made.id, "--idempotency"]), 0);
  assert.equal((await h.api("GET", path)).body.idempotency, true, "and on again");
});

test("contradictory or malformed switches are usage errors that change nothing", async () => {
  const made = (
    await h.api("POST", "/admin/v1/tenants/shop/routes", { pathPrefix: "/bad", upstreamId: upId })
  ).body;
  const path = `/admin/v1/tenants/shop/routes/${made.id}`;
  const usageErrors: [string[], RegExp][] = [
    [["--client-limits"], /--client-limits takes no value/],
    [["--no-client-limits", "--client-rate", "1", "--client-burst", "1"], /no --client-rate/],
    [["--public=false"], /does not take an argument/],
    [["--no-path"], /Unknown option '--no-path'/],
  ];
  for (const [argv, message] of usageErrors) {
    assert.equal(await admin(["routes", "update", "shop", made.id, ...argv]), 2, argv.join(" "));
    assert.match(errs.at(-1)!, message);
  }
  assert.deepEqual((await h.api("GET", path)).body, made);
});

test("upstreams update --health-check none turns the active checks off", async () => {
  const create = ["upstreams", "create", "shop", "--name", "checked", "--target", "127.0.0.1:9001"];
  assert.equal(await admin([...create, "--health-check", "http", "--health-path", "/health"]), 0);
  const made = printed();
  assert.equal(made.healthCheck.path, "/health");
  const path = `/admin/v1/tenants/shop/upstreams/${made.id}`;

  assert.equal(
    await admin(["upstreams", "update", "shop", made.id, "--health-check", "none", "--health-path", "/x"]),
    2,
  );
  assert.match(errs.at(-1)!, /--health-check http\|grpc is required/);
  assert.deepEqual((await h.api("GET", path)).body, made);

  assert.equal(await admin(["upstreams", "update", "shop", made.id, "--health-check", "none"]), 0);
  const stored = (await h.api("GET", path)).body;
  assert.equal(stored.healthCheck, null);
  assert.deepEqual(stored.targets, made.targets);

  const plain = ["upstreams", "create", "shop", "--name", "plain", "--target", "127.0.0.1:9001"];
  assert.equal(await admin([...plain, "--health-check", "none"]), 0, "none on create: no checks");
  assert.equal(printed().healthCheck, null);
});

test("admission set changes only the switches given, and the nodes get them in the snapshot", async () => {
  assert.equal(await admin(["admission", "get"]), 0);
  const defaults = printed();
  assert.deepEqual(
    [defaults.quotaShadow, defaults.quotaDisabled, defaults.rateShadow, defaults.rateDisabled],
    [false, false, false, false],
  );
  assert.equal(
    await admin(["admission", "set", "--quota-shadow", "--rate-disabled", "--max-inflight", "500"]),
    0,
  );
  assert.equal(await admin(["admission", "set", "--no-rate-disabled", "--quota-disabled"]), 0);
  const set = printed();
  assert.deepEqual(
    [set.quotaShadow, set.quotaDisabled, set.rateShadow, set.rateDisabled, set.shedShadow, set.maxInflight],
    [true, true, false, false, false, 500],
  );
  assert.deepEqual((await h.api("GET", "/admin/v1/settings/admission")).body, set);

  await h.cp.publisher.idle();
  const capacity = Number(h.env.CORRAL_SNAPSHOT_CAPACITY);
  const pointer = parsePointer(await h.blobs.get(LATEST_KEY, 4096));
  const snapshot = decodeSnapshot(await h.blobs.get(pointer.key, capacity), h.publicKey, capacity);
  const published = snapshot.settings!.admission!;
  assert.deepEqual(
    [published.quotaShadow, published.quotaDisabled, published.rateDisabled, published.maxInflight],
    [true, true, false, 500],
  );
});

test("admission set: bad values and viewer tokens are refused and change nothing", async () => {
  const before = (await h.api("GET", "/admin/v1/settings/admission")).body;
  assert.equal(await admin(["admission", "set", "--max-inflight", "-1"]), 2);
  assert.equal(await admin(["admission", "set", "--quota-shadow=yes"]), 2);
  assert.equal(await admin(["admission", "set", "--max-inflight", "2000000"]), 1);
  assert.match(errs.at(-1)!, /maxInflight/);
  const viewer = await h.api("POST", "/admin/v1/operator-tokens", { name: "auditor", role: "viewer" });
  assert.equal(await admin(["admission", "get"], viewer.body.token), 0, "a viewer reads");
  assert.equal(await admin(["admission", "set", "--no-quota-disabled"], viewer.body.token), 1);
  assert.match(errs.at(-1)!, /403/);
  assert.deepEqual((await h.api("GET", "/admin/v1/settings/admission")).body, before);
});

test("tenants list --q finds tenants by id or name, a page or --all", async () => {
  for (const [id, name] of [
    ["acme-one", "Acme One"],
    ["acme-two", "Second"],
    ["zeta", "Wile E. ACME"],
    ["other", "Other"],
  ])
    await h.api("POST", "/admin/v1/tenants", { id, name });
  const ids = () => printed().items.map((t: { id: string }) => t.id);
  assert.equal(await admin(["tenants", "list", "--q", "acme"]), 0);
  assert.deepEqual(ids(), ["acme-one", "acme-two", "zeta"]);
  assert.equal(await admin(["tenants", "list", "--q", "acme", "--limit", "2"]), 0);
  assert.deepEqual(ids(), ["acme-one", "acme-two"]);
  const next = printed().nextCursor;
  assert.equal(await admin(["tenants", "list", "--q", "acme", "--limit", "2", "--cursor", next]), 0);
  assert.deepEqual(ids(), ["zeta"]);
  assert.equal(await admin(["tenants", "list", "--q", "ACME", "--all"]), 0);
  assert.deepEqual(ids(), ["acme-one", "acme-two", "zeta"]);
  // text the API would read as a pattern or a second parameter is only text
  for (const q of ["%", "_", "acme&limit=1", "' OR 1=1 --"]) {
    assert.equal(await admin(["tenants", "list", "--q", q]), 0, q);
    assert.deepEqual(ids(), [], q);
  }
  assert.equal(await admin(["tenants", "list", "--q", "x".repeat(65)]), 1, "the API bounds q");
});
