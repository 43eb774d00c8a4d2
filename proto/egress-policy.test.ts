import assert from "node:assert/strict";
import { test } from "node:test";
import {
  canonicalHost,
  checkAddress,
  checkHost,
  checkTarget,
  DENY_ALL_EXCEPTIONS,
  egressPolicy,
  FLEET_INTERNAL,
  normalizeAllowList,
  parseAllowEntry,
} from "./egress-policy.ts";

const none = DENY_ALL_EXCEPTIONS;

test("odd spellings of a host are read the way the URL parser reads them", () => {
  const table: [string, string | undefined][] = [
    ["2130706433", "127.0.0.1"],
    ["0x7f000001", "127.0.0.1"],
    ["0177.0.0.1", "127.0.0.1"],
    ["0x7f.1", "127.0.0.1"],
    ["127.1", "127.0.0.1"],
    ["0", "0.0.0.0"],
    ["[::ffff:127.0.0.1]", "::ffff:7f00:1"],
    ["::1", "::1"],
    ["LOCALHOST.", "localhost"],
    ["Api.Example.COM", "api.example.com"],
    ["a b", undefined],
    ["a/b", undefined],
    ["a@b", undefined],
    ["a?b", undefined],
    ["", undefined],
  ];
  for (const [raw, want] of table) assert.equal(canonicalHost(raw), want, raw);
});

test("internal addresses and names are refused by default, in every spelling", () => {
  const refused = [
    "127.0.0.1",
    "127.255.0.9",
    "[::1]",
    "2130706433",
    "0x7f000001",
    "0177.0.0.1",
    "0x7f.1",
    "169.254.169.254",
    "10.0.0.1",
    "172.16.5.4",
    "172.31.255.255",
    "192.168.1.1",
    "100.64.0.1",
    "0.0.0.0",
    "[::]",
    "[::ffff:127.0.0.1]",
    "[::ffff:a00:1]",
    "[::127.0.0.1]",
    "[64:ff9b::7f00:1]",
    "[2002:7f00:1::]",
    "[fe80::1]",
    "[fd00::1]",
    "[fc12::1]",
    "[ff02::1]",
    "224.0.0.1",
    "255.255.255.255",
    "240.0.0.1",
    "192.0.2.1",
    "198.18.0.1",
    "[2001:db8::1]",
    "[2001::1]",
    "localhost",
    "foo.localhost",
    "x.local",
    "kubernetes.default.svc",
    "db.ns.svc.cluster.local",
    "metadata.google.internal",
    "router.home.arpa",
    "redis",
    "localhost.",
  ];
  for (const host of refused) assert.ok(checkHost(none, host, 80), `${host} should be refused`);
});

test("public addresses and names pass", () => {
  const passed = [
    "8.8.8.8",
    "1.1.1.1",
    "[2606:4700:4700::1111]",
    "api.example.com",
    "172.32.0.1",
    "100.128.0.1",
    "[::ffff:8.8.8.8]",
    "[64:ff9b::808:808]",
    "sub.localhost-like.com",
    "internal.example.com",
  ];
  for (const host of passed) assert.equal(checkHost(none, host, 443), undefined, host);
});

test("the reason names the address as the URL parser reads it and its kind", () => {
  assert.equal(checkHost(none, "2130706433", 80), "127.0.0.1 is a loopback address");
  assert.equal(checkHost(none, "[::ffff:169.254.169.254]", 80), "[::ffff:a9fe:a9fe] is a link-local address");
  assert.equal(checkHost(none, "foo.localhost", 80), "foo.localhost is an internal name (*.localhost)");
});

test("allow entries parse to canonical text; bad ones say why", () => {
  const table: [string, string][] = [
    ["10.1.0.0/16", "10.1.0.0/16"],
    ["10.1.2.3/16", "10.1.0.0/16"],
    ["fd00::/8", "fd00::/8"],
    ["127.0.0.1", "127.0.0.1/32"],
    ["::1", "::1/128"],
    ["Api.Internal", "api.internal"],
    ["127.0.0.1:3000", "127.0.0.1:3000"],
    ["2130706433:3000", "127.0.0.1:3000"],
    ["[::1]:3000", "[::1]:3000"],
    ["api.internal:8443", "api.internal:8443"],
  ];
  for (const [raw, text] of table) {
    const entry = parseAllowEntry(raw);
    assert.equal(typeof entry === "string" ? entry : entry.text, text, raw);
  }
  for (const bad of [
    "",
    "10.0.0.0/33",
    "api.internal/8",
    "127.0.0.1:0",
    "127.0.0.1:70000",
    "a b",
    "x".repeat(300),
    "::1:80:",
  ])
    assert.equal(typeof parseAllowEntry(bad), "string", bad);
  assert.deepEqual(normalizeAllowList(["127.0.0.1:3000", "2130706433:3000", "ok.example"]), [
    "127.0.0.1:3000",
    "ok.example",
  ]);
  assert.deepEqual(normalizeAllowList(["ok.example", "10.0.0.0/99"]), [1, "must have a prefix length 0-32"]);
});

test("a host:port entry opens exactly that port of that address, in every spelling", () => {
  const p = egressPolicy(["127.0.0.1:3000"]);
  assert.equal(checkHost(p, "127.0.0.1", 3000), undefined);
  assert.equal(checkHost(p, "2130706433", 3000), undefined);
  assert.equal(checkHost(p, "[::ffff:127.0.0.1]", 3000), undefined);
  assert.ok(checkHost(p, "127.0.0.1", 3001));
  assert.ok(checkHost(p, "127.0.0.2", 3000));
  assert.ok(checkHost(p, "[::1]", 3000));
});

test("a CIDR entry opens its range on every port; fleet and tenant lists add up", () => {
  const p = egressPolicy(["10.1.0.0/16"], ["fd00::/8"]);
  assert.equal(checkAddress(p, "10.1.200.3", 1), undefined);
  assert.equal(checkAddress(p, "::ffff:10.1.0.1", 80), undefined);
  assert.equal(checkAddress(p, "fd12::1", 80), undefined);
  assert.ok(checkAddress(p, "10.2.0.1", 80));
  assert.ok(checkAddress(p, "127.0.0.1", 80));
  assert.equal(p.key, "10.1.0.0/16,fd00::/8");
});

test("a host entry allows the name, not the internal address it resolves to (DNS rebinding)", () => {
  const p = egressPolicy(["api.internal", "db.svc:5432"]);
  assert.equal(checkHost(p, "api.internal", 80), undefined);
  assert.equal(checkHost(p, "API.internal.", 80), undefined);
  assert.equal(checkHost(p, "db.svc", 5432), undefined);
  assert.ok(checkHost(p, "db.svc", 5433));
  assert.ok(checkHost(p, "other.internal", 80));
  assert.ok(checkAddress(p, "127.0.0.1", 80));
  assert.ok(checkAddress(p, "10.0.0.1", 80));
});

test("targets: base URLs and gRPC host:port, default ports by scheme", () => {
  const p = egressPolicy(["127.0.0.1:80", "[::1]:443"]);
  assert.equal(checkTarget(p, "http://127.0.0.1/base"), undefined);
  assert.equal(checkTarget(p, "https://[::1]"), undefined);
  assert.ok(checkTarget(p, "https://127.0.0.1"));
  assert.ok(checkTarget(none, "2130706433:7700"));
  assert.ok(checkTarget(none, "http://0x7f000001:7700"));
  assert.equal(checkTarget(none, "api.example.com:9000"), undefined);
  assert.ok(checkTarget(none, "::"));
});

test("the fleet's own traffic is not checked", () => {
  assert.equal(checkHost(FLEET_INTERNAL, "127.0.0.1", 7500), undefined);
  assert.equal(checkHost(FLEET_INTERNAL, "dp-0.corral.svc", 7500), undefined);
  assert.equal(checkAddress(FLEET_INTERNAL, "10.0.0.7", 7500), undefined);
});

test("resolved addresses with a zone id are judged by the address", () => {
  assert.ok(checkAddress(none, "fe80::1%eth0", 80));
  assert.ok(checkAddress(none, "not an address", 80));
});
