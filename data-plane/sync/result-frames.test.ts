import assert from "node:assert/strict";
import { test } from "node:test";
import type { ApplyOutcome } from "../config-client/config-applier.ts";
import type { TriggerKind } from "../config-client/version-policy.ts";
import { ResultFrames } from "./result-frames.ts";

const ok = (kind: TriggerKind, version: number, changed: boolean): ApplyOutcome => ({
  ok: true,
  trigger: { kind },
  version,
  changed,
  applyMs: 12,
});
const bad = (kind: TriggerKind, version: number, code: string, fetchFailed = false): ApplyOutcome => ({
  ok: false,
  trigger: { kind },
  version,
  error: { code, message: "why" },
  fetchFailed,
  applyMs: 3,
});

test("the control plane's triggers always get an Ack or a Nack", () => {
  const f = new ResultFrames();
  assert.deepEqual(f.frameFor(ok("announce", 4, false)), { ack: { version: 4, applyMs: 12 } });
  assert.deepEqual(f.frameFor(ok("welcome", 4, true)), { ack: { version: 4, applyMs: 12 } });
  assert.deepEqual(f.frameFor(bad("announce", 5, "CORRAL_DP_CONFIG_FETCH", true)), {
    nack: { version: 5, error: "CORRAL_DP_CONFIG_FETCH: why" },
  });
});

test("pulls are acked when they change the version and nacked once per refused blob", () => {
  const f = new ResultFrames();
  assert.equal(f.frameFor(ok("pull", 4, false)), undefined);
  assert.deepEqual(f.frameFor(ok("pull", 5, true)), { ack: { version: 5, applyMs: 12 } });
  assert.equal(
    f.frameFor(bad("pull", 6, "CORRAL_DP_CONFIG_FETCH", true)),
    undefined,
    "fetch errors go in Status",
  );
  const nack = f.frameFor(bad("pull", 6, "CORRAL_SNAPSHOT_BAD_SIGNATURE"));
  assert.equal(nack?.nack?.version, 6);
  assert.equal(f.frameFor(bad("pull", 6, "CORRAL_SNAPSHOT_BAD_SIGNATURE")), undefined, "not again and again");
  assert.ok(f.frameFor(bad("pull", 7, "CORRAL_SNAPSHOT_BAD_SIGNATURE"))?.nack);
  f.frameFor(ok("pull", 5, false));
  assert.ok(f.frameFor(bad("pull", 7, "CORRAL_SNAPSHOT_BAD_SIGNATURE"))?.nack, "again after a good pull");
  assert.equal(f.frameFor(bad("boot", 0, "CORRAL_SNAPSHOT_DIGEST_MISMATCH")), undefined);
  assert.deepEqual(f.frameFor(ok("boot", 3, true)), { ack: { version: 3, applyMs: 12 } });
});
