/**
 * Issue 14: the constant-work pull must cost the request path nothing. A real `corral
 * data-plane` process pulls an unchanged 8 MiB snapshot every 100 ms; the pull, checks and
 * re-verification happen (its apply histogram counts them), but the event loop's thread must
 * not read the blob: before the pull moved into the worker, each period put 8 MiB on the main
 * heap, and V8 answered with a major (mark-compact) GC, a whole-loop pause, about once a pull.
 */
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { pathToFileURL } from "node:url";
import { parsePromText, sumByLabel } from "../../loadtest/platform/prom-text.ts";
import { DEFAULT_CAPACITY } from "../../proto/snapshot-codec.ts";
import * as fx from "../data-plane/fixtures.ts";
import { testNodeCredential, workspace } from "../data-plane/support.ts";
import { startChild } from "../support/child.ts";
import { closedPort, freePort } from "../support/ports.ts";
import { poll } from "../support/poll.ts";

const PULLS = 40;

async function scrape(opsUrl: string) {
  const samples = parsePromText(await (await fetch(`${opsUrl}/metrics`)).text());
  const pulls = samples.find(
    (s) => s.name === "corral_dp_apply_seconds_count" && s.labels.result === "same",
  )?.value;
  const gcs = sumByLabel(samples, "corral_dp_nodejs_gc_duration_seconds_count", "kind");
  return { pulls: pulls ?? 0, majorGcs: gcs.get("major") ?? 0 };
}

test("unchanged periodic pulls of an 8 MiB snapshot cause no major GC on the request thread", async (t) => {
  const ws = await workspace();
  after(() => ws.remove());
  const pair = fx.signingPair();
  const key = fx.newKey();
  const snap = fx.snapshot(1, [
    fx.tenant({ id: "acme", upstream: "http://127.0.0.1:9", keys: [{ id: key.id, hash: key.hash }] }),
  ]);
  await fx.publish(ws.store, fx.sign(snap, pair, DEFAULT_CAPACITY));
  const opsPort = await freePort();
  const node = startChild(process.execPath, ["bin/corral.ts", "data-plane"], {
    env: {
      ...process.env,
      CORRAL_CP_URL: `http://127.0.0.1:${await closedPort()}`,
      CORRAL_NODE_TOKEN: testNodeCredential("dp-0"),
      CORRAL_VERIFY_KEY: pair.verifyKeyText,
      CORRAL_BLOB_URL: pathToFileURL(ws.blobDir).href,
      CORRAL_SLOT: "dp-0",
      CORRAL_HOST: "127.0.0.1",
      CORRAL_HTTP_PORT: "0",
      CORRAL_GRPC_PORT: "0",
      CORRAL_OPS_PORT: String(opsPort),
      CORRAL_DATA_DIR: ws.dataDir,
      CORRAL_POLL_INTERVAL_MS: "100",
      CORRAL_LOG_LEVEL: "warn",
    },
  });
  after(() => node.stop());
  const opsUrl = `http://127.0.0.1:${opsPort}`;
  const settled = await poll(
    "the node to serve version 1 and re-verify it once",
    () =>
      scrape(opsUrl).then(
        (m) => (m.pulls >= 1 ? m : undefined),
        () => undefined,
      ),
    60_000,
  ).catch((err: Error) => {
    throw new Error(`${err.message}\n${node.output()}`);
  });
  const end = await poll(
    `${PULLS} more unchanged pulls`,
    () => scrape(opsUrl).then((m) => (m.pulls >= settled.pulls + PULLS ? m : undefined)),
    120_000,
  );
  const majorGcs = end.majorGcs - settled.majorGcs;
  t.diagnostic(`${majorGcs} major GCs during ${end.pulls - settled.pulls} unchanged pulls`);
  assert.ok(
    majorGcs <= 2,
    `${majorGcs} major GCs on the request thread during ${end.pulls - settled.pulls} unchanged pulls`,
  );
});
