/**
 * Closing a control plane drains the tenant gRPC API: a call in flight when close() starts
 * finishes with its answer, and afterwards the port takes no calls.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { status } from "@grpc/grpc-js";
import pg from "pg";
import { poll } from "../support/poll.ts";
import { call, callError, startWorld, type World } from "./support.ts";

let w: World;
before(async () => {
  w = await startWorld();
});
after(() => w.close());

test("close() lets a call in flight finish, then refuses calls", async () => {
  const key = w.alpha.manage;
  const holder = new pg.Client({ connectionString: w.h.pg.url });
  await holder.connect();
  try {
    // the change waits for this row lock, so the call is in flight while close() begins
    await holder.query("BEGIN");
    await holder.query("SELECT 1 FROM tenants WHERE id = 'alpha' FOR UPDATE");
    const request = {
      clientToken: "",
      name: "during-close",
      targets: ["a:1"],
      weights: [],
      healthCheck: undefined,
      outlier: undefined,
      retryBudget: undefined,
    };
    const inFlight = call(w.grpc, (x) => x.createUpstream, request, { key });
    await poll("the change waiting on the row lock", async () => {
      const { rows } = await holder.query(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()",
      );
      return rows[0].n > 0;
    });
    const closing = w.h.cp.close();
    await poll("the closing server refusing new calls", () =>
      call(w.grpc, (x) => x.getTenant, {}, { key, deadlineMs: 1000 }).then(
        () => false,
        () => true,
      ),
    );
    await holder.query("COMMIT");
    const done = await inFlight;
    assert.equal(done.response.upstream!.name, "during-close");
    await closing;
  } finally {
    await holder.end();
  }
  const refused = await callError(call(w.grpc, (x) => x.getTenant, {}, { key, deadlineMs: 1000 }));
  assert.ok(
    refused.code === status.UNAVAILABLE || refused.code === status.DEADLINE_EXCEEDED,
    String(refused.code),
  );
});
