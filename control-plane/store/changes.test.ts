import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { hasUnpublishedChange } from "./changes.ts";

test("nothing published yet: publish", () => {
  assert.equal(hasUnpublishedChange({ counter: 0, covered: undefined }), true);
});

test("the newest version covers the counter: nothing to do; behind it: publish", () => {
  assert.equal(hasUnpublishedChange({ counter: 7, covered: 7 }), false);
  assert.equal(hasUnpublishedChange({ counter: 8, covered: 7 }), true);
});

/**
 * A model of the protocol: changes commit on any replica (bumping the counter, notifying or
 * not — notifications get lost); the publisher reads the counter with the content, possibly
 * while more changes commit, and records it with the version. Whatever the interleaving and
 * whichever notifications are lost, once the publisher's poll finds nothing to do, the
 * newest version covers every committed change.
 */
type Step =
  | { kind: "commit"; notified: boolean }
  | { kind: "startPublish" }
  | { kind: "finishPublish" }
  | { kind: "poll" };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant("commit" as const), notified: fc.boolean() }),
  fc.constant({ kind: "startPublish" as const }),
  fc.constant({ kind: "finishPublish" as const }),
  fc.constant({ kind: "poll" as const }),
);

test("property: after any interleaving, a poll that finds nothing pending means every change is published", () => {
  fc.assert(
    fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
      let counter = 0;
      let covered: number | undefined;
      let inFlight: number | undefined;
      let requested = false;
      const finish = () => {
        if (inFlight !== undefined) covered = inFlight;
        inFlight = undefined;
      };
      const poll = () => {
        if (hasUnpublishedChange({ counter, covered })) requested = true;
      };
      for (const s of steps) {
        if (s.kind === "commit") {
          counter++;
          if (s.notified) poll();
        } else if (s.kind === "startPublish" && requested && inFlight === undefined) {
          requested = false;
          inFlight = counter;
        } else if (s.kind === "finishPublish") finish();
        else if (s.kind === "poll") poll();
      }
      // quiesce: no more commits; the publisher keeps publishing while its poll asks for it
      for (let i = 0; i < 10; i++) {
        finish();
        poll();
        if (!requested) break;
        requested = false;
        inFlight = counter;
      }
      assert.equal(hasUnpublishedChange({ counter, covered }), false);
      assert.equal(covered, counter);
    }),
  );
});
