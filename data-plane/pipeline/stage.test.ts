import assert from "node:assert/strict";
import { test } from "node:test";
import { reject } from "../errors.ts";
import { type RequestContext, runStages, type Stage } from "./stage.ts";

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
