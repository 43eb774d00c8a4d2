import assert from "node:assert/strict";
import { BlockList } from "node:net";
import { test } from "node:test";
import { deriveHopKey } from "../../proto/node-credential.ts";
import { clientOrigin, HOP_TTL_MS, parseTrustedProxies, signHop, verifyHop } from "./client-origin.ts";

const key = deriveHopKey("a fleet secret of at least thirty-two characters");
const hopKey = () => key;
const now = () => 1_000_000;

test("forwarding headers mean nothing from an untrusted peer", () => {
  const rules = { trustedProxies: new BlockList(), hopKey, now };
  assert.deepEqual(
    clientOrigin(rules, "9.9.9.9", { "x-forwarded-for": "1.2.3.4", "x-forwarded-proto": "https" }),
    {
      address: "9.9.9.9",
      proto: "http",
    },
  );
});

test("behind trusted proxies the client is the rightmost untrusted X-Forwarded-For entry", () => {
  const rules = { trustedProxies: parseTrustedProxies("10.0.0.0/8, ::1"), hopKey: () => undefined, now };
  const headers = { "x-forwarded-for": "6.6.6.6, 1.2.3.4, 10.0.0.7", "x-forwarded-proto": "https" };
  assert.deepEqual(clientOrigin(rules, "10.0.0.2", headers), { address: "1.2.3.4", proto: "https" });
  assert.equal(clientOrigin(rules, "::1", { "x-forwarded-for": "junk, 10.0.0.9" }).address, "10.0.0.9");
  assert.throws(() => parseTrustedProxies("10.0.0.0/33"), /CIDR/);
  assert.throws(() => parseTrustedProxies("not-an-ip"), /CIDR/);
});

test("a peer hop counts only when signed with the fleet key, for its slot, unexpired", () => {
  const hop = signHop(key, "dp-1", "1.2.3.4", now());
  assert.equal(verifyHop(key, "dp-1", hop, now()), "1.2.3.4");
  assert.equal(verifyHop(key, "dp-2", hop, now()), undefined, "another slot");
  assert.equal(
    verifyHop(deriveHopKey("another fleet secret, also thirty-two characters"), "dp-1", hop, now()),
    undefined,
    "another key",
  );
  assert.equal(verifyHop(key, "dp-1", hop, now() + HOP_TTL_MS + 1), undefined, "expired");
  assert.equal(verifyHop(key, "dp-1", hop.replace("1.2.3.4", "6.6.6.6"), now()), undefined, "altered");
  const rules = { trustedProxies: new BlockList(), hopKey, now };
  assert.deepEqual(clientOrigin(rules, "10.0.0.5", { "corral-forwarded-by": "dp-1", "corral-hop": hop }), {
    address: "1.2.3.4",
    proto: "http",
    forwardedBy: "dp-1",
  });
  assert.deepEqual(clientOrigin(rules, "10.0.0.5", { "corral-forwarded-by": "dp-1", "corral-hop": "x" }), {
    address: "10.0.0.5",
    proto: "http",
  });
});
