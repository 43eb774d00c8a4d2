import assert from "node:assert/strict";
import { test } from "node:test";
import { ManualTimers } from "./clock.ts";
import type { ApplyOutcome } from "./config-client/config-applier.ts";
import { NodeState } from "./node-state.ts";
import { Snapshot } from "../proto/gen/corral/snapshot/v1/snapshot.ts";
import * as fx from "../test/data-plane/fixtures.ts";

const pair = fx.signingPair();

function config(version: number, createdAtMs: number) {
  return fx.liveConfig(Snapshot.fromPartial({ version, epoch: 1, createdAtMs }), pair);
}

const applied = (kind: "pull" | "announce", version: number): ApplyOutcome => ({
  ok: true,
  trigger: { kind },
  version,
  changed: true,
  applyMs: 1,
});

test("config age counts from the control plane's last confirmation", () => {
  const timers = new ManualTimers(1_000_000);
  const state = new NodeState("dp-0", "zone-a", timers);
  assert.equal(state.configAgeMs(), null);
  assert.equal(state.ready, false);
  state.install(config(3, 990_000));
  assert.equal(state.configAgeMs(), 10_000, "before any confirmation: age of the snapshot");
  state.recordOutcome(applied("announce", 3));
  timers.advance(4_000);
  assert.equal(state.configAgeMs(), 4_000);
  state.recordOutcome(applied("pull", 3));
  assert.equal(state.configAgeMs(), 4_000, "a pull alone does not confirm");
  state.contact();
  assert.equal(state.configAgeMs(), 0, "contact while in step with the control plane confirms");
  state.noteCpVersion(4);
  timers.advance(2_000);
  state.contact();
  assert.equal(state.configAgeMs(), 2_000, "behind the control plane: contact does not confirm");
});

test("errors are recorded; fetch errors clear when a fetch works; draining is not ready", () => {
  const timers = new ManualTimers(5_000);
  const state = new NodeState("dp-0", "zone-a", timers);
  state.recordOutcome({
    ok: false,
    trigger: { kind: "boot" },
    version: 0,
    error: { code: "CORRAL_DP_CONFIG_NO_CACHE", message: "none" },
    fetchFailed: true,
    applyMs: 0,
  });
  assert.equal(state.lastError, null, "an empty cache is the normal first boot");
  state.recordOutcome({
    ok: false,
    trigger: { kind: "pull" },
    version: 2,
    error: { code: "CORRAL_DP_CONFIG_FETCH", message: "store down" },
    fetchFailed: true,
    applyMs: 0,
  });
  assert.deepEqual(state.lastError, {
    code: "CORRAL_DP_CONFIG_FETCH",
    message: "store down",
    version: 2,
    trigger: "pull",
    atMs: 5_000,
  });
  assert.equal(state.fetchError, "store down");
  state.install(config(2, 0));
  state.recordOutcome(applied("pull", 2));
  assert.equal(state.fetchError, null);
  assert.equal(state.ready, true);
  state.draining = true;
  assert.equal(state.ready, false);
  assert.equal(state.view().version, 2);
});
