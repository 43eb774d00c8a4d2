/**
 * Attack: a tenant floods a node with cheap successful gRPC calls (issue 14 item 3). Every call
 * used to write a log line, so the tenant decided how much of the node's CPU and disk went to
 * logging, at whatever rate its limit allowed. With CORRAL_LOG_SAMPLE_RATE the gRPC ingress
 * samples successes as the HTTP path does, and still logs every rejection and error. Black box:
 * a real node process (its log in a file, its /metrics over HTTP), a real grpc-js upstream and
 * clients.
 *
 *  - at rate 0, a flood of OK calls leaves no log line and is still counted in the metrics;
 *  - at rate 0, a rejection (unknown key) and an error (the upstream unreachable) are logged.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { credentials, Metadata, type ServiceError, status } from "@grpc/grpc-js";
import { request } from "undici";
import { EchoClient } from "../../proto/gen/corral/demo/v1/echo.ts";
import * as fx from "../data-plane/fixtures.ts";
import { poll } from "../support/poll.ts";
import { closedPort } from "../support/ports.ts";
import { GrpcUpstream } from "../grpc/grpc-upstream.ts";
import { grpcTenant } from "../grpc/grpc-node.ts";
import { type NodeProcess, startNodeProcess } from "../grpc/node-process.ts";

const FLOOD = 200;
const key = fx.newKey();
const goneKey = fx.newKey();
let dir: string;
let upstream: GrpcUpstream;
let node: NodeProcess;
let echo: EchoClient;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "corral-grpc-log-"));
  upstream = await GrpcUpstream.start();
  node = await startNodeProcess({
    dir,
    tenants: [
      grpcTenant({ id: "flooder", upstream: upstream.address, keys: [{ id: key.id, hash: key.hash }] }),
      grpcTenant({
        id: "gone",
        upstream: `127.0.0.1:${await closedPort()}`,
        keys: [{ id: goneKey.id, hash: goneKey.hash }],
      }),
    ],
    env: { CORRAL_LOG_SAMPLE_RATE: "0", CORRAL_LOG_LEVEL: "info" },
  });
  echo = new EchoClient(node.grpc, credentials.createInsecure());
});

after(async () => {
  echo?.close();
  await node?.stop();
  await upstream?.close();
  await rm(dir, { recursive: true, force: true });
});

function call(apiKey: string, message: string): Promise<ServiceError | null> {
  const md = new Metadata();
  md.set("x-api-key", apiKey);
  return new Promise((resolve) =>
    echo.echo({ message }, md, { deadline: Date.now() + 10_000 }, (err) => resolve(err)),
  );
}

async function requestLines(): Promise<Array<Record<string, unknown>>> {
  return (await node.logLines()).filter((l) => l.msg === "request" && l.protocol === "grpc");
}

/** The node's count of gRPC calls with this code and reason, from its /metrics. */
async function callCount(code: string, reason: string): Promise<number> {
  const res = await request(`${node.ops}/metrics`);
  const text = await res.body.text();
  const line = text
    .split("\n")
    .find((l) => l.startsWith(`corral_dp_grpc_calls_total{code="${code}",reason="${reason}"}`));
  return line ? Number(line.split(" ").at(-1)) : 0;
}

test("at sample rate 0 a flood of successful calls writes no log line, and every call is counted", async () => {
  const results = await Promise.all(Array.from({ length: FLOOD }, (_, i) => call(key.key, `m${i}`)));
  assert.deepEqual(
    results.filter((e) => e !== null).map((e) => e!.code),
    [],
    "every call of the flood succeeds",
  );
  // a rejection after the flood: once its line is in the log, any line of the flood would be too
  assert.equal((await call("crl_not-a-key", "marker"))?.code, status.UNAUTHENTICATED);
  await poll(
    "the rejection's log line",
    async () => (await requestLines()).some((l) => l.reason === "unauthorized"),
    20_000,
  );
  const successes = (await requestLines()).filter((l) => l.reason === "upstream");
  assert.equal(successes.length, 0, `no success logged at rate 0, got ${successes.length}`);
  assert.ok((await callCount("ok", "upstream")) >= FLOOD, "the metrics count every call");
});

test("at sample rate 0 rejections and errors are always logged", async () => {
  const count = async (reason: string) => (await requestLines()).filter((l) => l.reason === reason).length;
  const [rejectionsBefore, errorsBefore] = [await count("unauthorized"), await count("upstream_error")];
  assert.equal((await call("crl_not-a-key", "rejected"))?.code, status.UNAUTHENTICATED);
  assert.equal((await call(goneKey.key, "unreachable"))?.code, status.UNAVAILABLE);
  await poll(
    "the log lines of the rejection and the error",
    async () =>
      (await count("unauthorized")) > rejectionsBefore && (await count("upstream_error")) > errorsBefore,
    20_000,
  );
  const lines = await requestLines();
  const rejection = lines.filter((l) => l.reason === "unauthorized").at(-1)!;
  assert.equal(rejection.grpcStatus, status.UNAUTHENTICATED);
  const error = lines.filter((l) => l.reason === "upstream_error").at(-1)!;
  assert.equal(error.grpcStatus, status.UNAVAILABLE);
  assert.equal(error.tenant, "gone");
});
