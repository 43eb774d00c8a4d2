import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { credentialSlot, deriveNodeCredential, verifyNodeCredential } from "./node-credential.ts";

const SECRET = "fleet-secret-0123456789abcdef0123456789";

test("a credential verifies to its own slot and names it", () => {
  const cred = deriveNodeCredential(SECRET, "dp-0");
  assert.match(cred, /^crn_dp-0\.[0-9a-f]{64}$/);
  assert.equal(verifyNodeCredential(SECRET, cred), "dp-0");
  assert.equal(credentialSlot(cred), "dp-0");
});

test("a known vector (computed with sha256sum, as the Helm chart does) stays stable", () => {
  assert.equal(
    deriveNodeCredential(SECRET, "corral-dp-zone-a-0"),
    "crn_corral-dp-zone-a-0.4140251e153e390eb3c83104bf06d3f27c843a005da4356b763aa506c6e91277",
  );
});

test("another slot's MAC, another secret, a malformed or forged credential: refused", () => {
  const a = deriveNodeCredential(SECRET, "dp-0");
  const macA = a.split(".")[1];
  assert.equal(verifyNodeCredential(SECRET, `crn_dp-1.${macA}`), undefined);
  assert.equal(verifyNodeCredential(`${SECRET}x`, a), undefined);
  for (const bad of ["", "crn_dp-0", `crn_DP-0.${macA}`, `crn_dp-0.${macA}0`, `${a} `, `crn_.${macA}`])
    assert.equal(verifyNodeCredential(SECRET, bad), undefined, bad);
});

test("slot names a credential cannot carry and short secrets are refused when minting", () => {
  assert.throws(() => deriveNodeCredential(SECRET, "dp.0"), /slot name/);
  assert.throws(() => deriveNodeCredential(SECRET, "Dp-0"), /slot name/);
  assert.throws(() => deriveNodeCredential("short", "dp-0"), /at least 32/);
});

test("no credential of one slot verifies for another", () => {
  const slot = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,20}$/);
  fc.assert(
    fc.property(slot, slot, (a, b) => {
      const cred = deriveNodeCredential(SECRET, a);
      const forged = `crn_${b}.${cred.split(".")[1]}`;
      return verifyNodeCredential(SECRET, forged) === (a === b ? a : undefined);
    }),
    { seed: 20250801, numRuns: 300 },
  );
});
