import assert from "node:assert/strict";
import { test } from "node:test";
import { reject } from "../errors.ts";
import { type RequestContext, runStages, type Stage, type StageResult, whenStagesRun } from "./stage.ts";

function context(): RequestContext {
  return {
    method: "GET",
    host: "h",
    path: "/",
    url: "/",
    headers: {},
    remoteAddress: "127.0.0.1",
    proto: "http",
    receivedAt: 0,
    responseHeaders: {},
    onFinish: [],
  };
}

function stage(name: string, ran: string[], out?: ReturnType<Stage["run"]>): Stage {
  return {
    name,
    run: () => {
      ran.push(name);
      return out;
    },
  };
}

test("sync stages give a sync result: undefined when all admit, else the first rejection", () => {
  const ran: string[] = [];
  assert.equal(runStages([stage("a", ran), stage("b", ran)], context()), undefined);
  const quota = reject("CORRAL_DP_QUOTA");
  const out = runStages([stage("a", ran), stage("q", ran, quota), stage("c", ran)], context());
  assert.equal(out, quota);
  assert.deepEqual(ran, ["a", "b", "a", "q"], "nothing runs after a rejection");
});

test("from the first async stage on, the result is a promise and order is kept", async () => {
  const ran: string[] = [];
  const later = reject("CORRAL_DP_SHED");
  const out = runStages(
    [
      stage("a", ran),
      stage("async", ran, Promise.resolve(undefined)),
      stage("s", ran, later),
      stage("d", ran),
    ],
    context(),
  );
  assert.ok(out instanceof Promise);
  assert.deepEqual(ran, ["a", "async"], "stages after an async one wait for it");
  assert.equal(await out, later);
  assert.deepEqual(ran, ["a", "async", "s"]);
  const rejectedAsync = reject("CORRAL_DP_UNAUTHORIZED");
  assert.equal(
    await runStages([stage("x", [], Promise.resolve(rejectedAsync)), stage("y", ran)], context()),
    rejectedAsync,
  );
  assert.equal(ran.includes("y"), false);
});

test("whenStagesRun hands sync results over in the same turn, async ones once settled", async () => {
  const quota = reject("CORRAL_DP_QUOTA");
  const seen: StageResult[] = [];
  const failures: unknown[] = [];
  whenStagesRun(
    [stage("a", [], quota)],
    context(),
    (r) => seen.push(r),
    (e) => failures.push(e),
  );
  assert.deepEqual([...seen], [quota], "no turn of the microtask queue while every stage is sync");
  const settled = Promise.withResolvers<void>();
  whenStagesRun(
    [stage("b", [], Promise.resolve<StageResult>(undefined))],
    context(),
    (r) => {
      seen.push(r);
      settled.resolve();
    },
    (e) => failures.push(e),
  );
  assert.equal(seen.length, 1);
  await settled.promise;
  assert.deepEqual(seen, [quota, undefined]);
  assert.deepEqual(failures, []);
});

test("whenStagesRun sends a throwing stage, a rejecting stage and a throwing sync handler to failed", async () => {
  const boom = new Error("boom");
  const throwing: Stage = {
    name: "t",
    run: () => {
      throw boom;
    },
  };
  const failures: unknown[] = [];
  const never = () => assert.fail("then must not run");
  whenStagesRun([throwing], context(), never, (e) => failures.push(e));
  whenStagesRun(
    [stage("ok", [])],
    context(),
    () => {
      throw boom;
    },
    (e) => failures.push(e),
  );
  assert.deepEqual(failures, [boom, boom]);
  const failed = Promise.withResolvers<unknown>();
  whenStagesRun([stage("r", [], Promise.reject(boom))], context(), never, failed.resolve);
  assert.equal(await failed.promise, boom);
});
