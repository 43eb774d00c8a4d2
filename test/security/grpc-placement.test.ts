/**
 * Attack: gRPC calls skipping placement (issue 8 item 8). A client that sprays a tenant's gRPC
 * calls over every node must get the tenant's rate, not N/k times it, and a call must only ever
 * be served by a member of the tenant's shard. Real processes (startPlatform: Postgres, control
 * plane, 4 data planes), a grpc-js upstream in this process, grpc-js clients.
 *
 *  - a unary flood at 2R spread evenly over all 4 nodes (k = 2): admitted R ± 10 %, measured as
 *    in the HTTP accuracy test (OKs among the calls scheduled in seconds 1–11 of a 12 s run);
 *    before gRPC placement every node admitted its share 1/k, so 4 nodes admitted 2R;
 *  - every call kind through a non-member arrives intact: messages, custom trailers, the
 *    deadline, and the non-member counts it as forwarded;
 *  - a call that claims to be forwarded already is refused at a non-member (no second hop);
 *  - strict mode: UNAVAILABLE, corral-reason misdirected, corral-shard = the members' gRPC
 *    addresses;
 *  - the whole shard down: shard_unavailable, never served by a non-member.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { credentials, Metadata, type ServiceError, status } from "@grpc/grpc-js";
import { signHop } from "../../data-plane/pipeline/client-origin.ts";
import { EchoClient } from "../../proto/gen/corral/demo/v1/echo.ts";
import { deriveHopKey } from "../../proto/node-credential.ts";
import { GrpcUpstream, StreamsClient } from "../grpc/grpc-upstream.ts";
import { grpcEchoSender } from "../grpc/paced-grpc-sender.ts";
import { pacedLoad, type Sample } from "../isolation/paced-load.ts";
import { type IsolationPlatform, isolationPlatform, waitForShard } from "../isolation/support.ts";
import { createTenant } from "../support/tenants.ts";
import { poll } from "../support/poll.ts";

const R = 100;
const TENANT = "sprayer";
const ROUTES = [
  { pathPrefix: "/corral.demo.v1.Echo", protocol: "grpc" as const },
  { pathPrefix: "/corral.test.v1.Streams", protocol: "grpc" as const },
];

interface Node {
  slot: string;
  grpc: string;
  ops: string;
}

function nodesOf(env: IsolationPlatform): Node[] {
  return env.platform.dps.map((dp) => ({ slot: dp.slot, grpc: dp.grpc, ops: dp.ops }));
}

function metadata(key: string, extra: Record<string, string> = {}): Metadata {
  const md = new Metadata();
  md.set("x-api-key", key);
  for (const [name, value] of Object.entries(extra)) md.set(name, value);
  return md;
}

interface Unary {
  err: ServiceError | null;
  message?: string;
  headers?: Metadata;
  trailers?: Metadata;
}

function unary(address: string, key: string, message: string, extra: Record<string, string> = {}) {
  const client = new EchoClient(address, credentials.createInsecure());
  return new Promise<Unary>((resolve) => {
    const out: Unary = { err: null };
    const call = client.echo(
      { message },
      metadata(key, extra),
      { deadline: Date.now() + 5000 },
      (err, res) => {
        out.err = err;
        out.message = res?.message;
      },
    );
    call.on("metadata", (md) => {
      out.headers = md;
    });
    call.on("status", (s) => {
      out.trailers = s.metadata;
      client.close();
      resolve(out);
    });
  });
}

/** The count of a node's corral_dp_grpc_calls_total{code="ok",reason="forwarded"}. */
async function forwardedOk(node: Node): Promise<number> {
  const text = await (await fetch(`${node.ops}/metrics`)).text();
  const line = /^corral_dp_grpc_calls_total\{[^}]*\} (\d+)$/gm;
  let total = 0;
  for (const m of text.matchAll(line))
    if (m[0].includes('code="ok"') && m[0].includes('reason="forwarded"')) total += Number(m[1]);
  return total;
}

describe("gRPC obeys placement", { timeout: 240_000 }, () => {
  let env: IsolationPlatform;
  let upstream: GrpcUpstream;
  let key: string;
  let members: Node[];
  let others: Node[];

  before(async () => {
    upstream = await GrpcUpstream.start();
    env = await isolationPlatform({ dataPlanes: 4 });
    key = (
      await createTenant(env.admin, {
        id: TENANT,
        upstream: upstream.address,
        limits: { rate: R, burst: 10, shardSize: 2, concurrency: 0 },
        routes: ROUTES,
      })
    ).key;
    const shard = await waitForShard(env.platform, TENANT, key, 2);
    const inShard = new Set(shard.map((m) => m.slot));
    members = nodesOf(env).filter((n) => inShard.has(n.slot));
    others = nodesOf(env).filter((n) => !inShard.has(n.slot));
    assert.equal(others.length, 2);
    await poll("gRPC calls served through every node", async () => {
      const all = await Promise.all(nodesOf(env).map((n) => unary(n.grpc, key, "ready")));
      return all.every((r) => r.err === null);
    });
  });

  after(async () => {
    await env?.stop();
    await upstream?.close();
  });

  it("every call kind through a non-member reaches the upstream intact, trailers and deadline too", async () => {
    const via = others[0]!;
    const before = await forwardedOk(via);
    const seenBefore = upstream.seen.length;

    const u = await unary(via.grpc, key, "trailers");
    assert.equal(u.err, null);
    assert.equal(u.message, "trailers");
    assert.deepEqual(u.headers?.get("x-initial"), ["first"]);
    assert.deepEqual(u.trailers?.get("x-trailer"), ["last"]);
    assert.deepEqual(u.trailers?.get("x-bin-bin"), [Buffer.from([0, 1, 2, 255])]);

    const failed = await unary(via.grpc, key, "fail");
    assert.equal(failed.err?.code, status.INVALID_ARGUMENT);
    assert.equal(failed.err?.details, "message must not be fail");
    assert.deepEqual(failed.trailers?.get("x-why"), ["the upstream said no"]);

    const echo = new EchoClient(via.grpc, credentials.createInsecure());
    const streams = new StreamsClient(via.grpc, credentials.createInsecure());
    try {
      const server = await new Promise<{ messages: string[]; trailers: Metadata; code: number }>(
        (resolve) => {
          const messages: string[] = [];
          const call = echo.echoStream({ message: "s" }, metadata(key), { deadline: Date.now() + 5000 });
          call.on("data", (m: { message: string }) => messages.push(m.message));
          call.on("error", () => {});
          call.on("status", (s) => resolve({ messages, trailers: s.metadata, code: s.code }));
        },
      );
      assert.equal(server.code, status.OK);
      assert.deepEqual(server.messages, ["s #0", "s #1", "s #2"]);
      assert.deepEqual(server.trailers.get("x-ended-by"), ["echoStream"]);

      const collected = await new Promise<string>((resolve, reject) => {
        const call = streams.makeClientStreamRequest(
          "/corral.test.v1.Streams/Collect",
          (b: Buffer) => b,
          (b: Buffer) => b,
          metadata(key),
          { deadline: Date.now() + 5000 },
          (err: ServiceError | null, res?: Buffer) => (err ? reject(err) : resolve(res!.toString())),
        );
        for (const part of ["a", "b", "c"]) call.write(Buffer.from(part));
        call.end();
      });
      assert.equal(collected, "3:abc");

      const bidi = await new Promise<{ replies: string[]; trailers: Metadata; code: number }>((resolve) => {
        const replies: string[] = [];
        const call = streams.makeBidiStreamRequest(
          "/corral.test.v1.Streams/Chat",
          (b: Buffer) => b,
          (b: Buffer) => b,
          metadata(key),
          { deadline: Date.now() + 5000 },
        );
        call.on("data", (b: Buffer) => {
          replies.push(b.toString());
          if (replies.length === 1) call.write(Buffer.from("second"));
          else call.end();
        });
        call.on("error", () => {});
        call.on("status", (s) => resolve({ replies, trailers: s.metadata, code: s.code }));
        call.write(Buffer.from("first"));
      });
      assert.equal(bidi.code, status.OK);
      assert.deepEqual(bidi.replies, ["FIRST", "SECOND"]);
      assert.deepEqual(bidi.trailers.get("x-ended-by"), ["chat"]);
    } finally {
      echo.close();
      streams.close();
    }

    const seen = upstream.seen.slice(seenBefore);
    assert.equal(seen.length, 5, "each call reached the upstream once");
    for (const call of seen) {
      assert.ok(call.deadlineMs > 0 && call.deadlineMs <= 5000, `deadline left ${call.deadlineMs} ms`);
      assert.equal(call.metadata["corral-tenant"], TENANT);
      assert.equal(call.metadata["corral-forwarded-by"], undefined, "no hop marks upstream");
      assert.equal(call.metadata["x-api-key"], undefined, "no credentials upstream");
    }
    // the OK ones (all but "fail") went through the non-member as forwards
    await poll(
      "the non-member's forwarded calls counted",
      async () => (await forwardedOk(via)) >= before + 4,
    );
  });

  it("a call another node forwarded is never forwarded again: misdirected with the shard", async () => {
    // a client's own claim of a previous hop is not believed: forwarded to a member and served
    const forged = await unary(others[0]!.grpc, key, "x", { "corral-forwarded-by": members[0]!.slot });
    assert.equal(forged.err, null, "a forged hop is a client's header, forwarded as usual");
    // a hop signed with the fleet's key, as a node signs it, is believed: never forwarded again
    const signed = signHop(deriveHopKey(env.platform.nodeSecret), members[0]!.slot, "127.0.0.1", Date.now());
    const r = await unary(others[0]!.grpc, key, "x", {
      "corral-forwarded-by": members[0]!.slot,
      "corral-hop": signed,
    });
    assert.equal(r.err?.code, status.UNAVAILABLE);
    assert.deepEqual(r.trailers?.get("corral-reason"), ["misdirected"]);
    const shard = String(r.trailers?.get("corral-shard")[0]).split(", ").sort();
    assert.deepEqual(shard, members.map((m) => m.grpc).sort());
  });

  it("a unary flood sprayed over every node at 2R is admitted at R ± 10 %", async () => {
    const startEpochMs = performance.timeOrigin + performance.now() + 20;
    const target = {
      tenant: TENANT,
      origins: nodesOf(env).map((n) => n.grpc),
      path: "flood",
      headers: { "x-api-key": key },
      rate: 2 * R,
    };
    const samples: Sample[] = await pacedLoad(
      { targets: [target], startEpochMs, durationMs: 12_000 },
      grpcEchoSender(),
    );
    const inWindow = samples.filter((s) => s.atMs >= startEpochMs + 1000 && s.atMs < startEpochMs + 11_000);
    const rate = inWindow.filter((s) => s.outcome === "ok").length / 10;
    const outcomes: Record<string, number> = {};
    for (const s of samples) outcomes[s.outcome] = (outcomes[s.outcome] ?? 0) + 1;
    console.log(
      `# grpc placement: admitted ${rate.toFixed(1)} calls/s for R=${R} over 4 nodes, k=2 (${((rate / R - 1) * 100).toFixed(1)} %), outcomes ${JSON.stringify(outcomes)}`,
    );
    // a node under the machine's load may shed a few calls (before placement, as for HTTP)
    assert.deepEqual(
      Object.keys(outcomes).filter((o) => !["ok", "quota", "shed"].includes(o)),
      [],
    );
    assert.ok((outcomes.shed ?? 0) < 0.05 * samples.length, `${outcomes.shed} calls shed`);
    assert.ok(Math.abs(rate - R) <= 0.1 * R, `admitted ${rate} calls/s`);
  });

  it("the whole shard down: shard_unavailable at a non-member, never served there", async () => {
    const seenBefore = upstream.seen.length;
    for (const m of members) await env.platform.dps.find((dp) => dp.slot === m.slot)!.stop();
    const r = await unary(others[0]!.grpc, key, "x");
    assert.equal(r.err?.code, status.UNAVAILABLE);
    assert.deepEqual(r.trailers?.get("corral-reason"), ["shard_unavailable"]);
    assert.equal(upstream.seen.length, seenBefore, "the upstream never saw it");
  });
});

describe("gRPC strict placement", { timeout: 120_000 }, () => {
  let env: IsolationPlatform;
  let upstream: GrpcUpstream;
  let key: string;

  before(async () => {
    upstream = await GrpcUpstream.start();
    env = await isolationPlatform({ dataPlanes: 2, cpEnv: { CORRAL_PLACEMENT_STRICT: "true" } });
    key = (
      await createTenant(env.admin, {
        id: TENANT,
        upstream: upstream.address,
        limits: { shardSize: 1 },
        routes: ROUTES,
      })
    ).key;
    await waitForShard(env.platform, TENANT, key, 1);
  });

  after(async () => {
    await env?.stop();
    await upstream?.close();
  });

  it("a non-member answers UNAVAILABLE, misdirected, with the member's gRPC address; the member serves", async () => {
    const shard = await waitForShard(env.platform, TENANT, key, 1);
    const nodes = nodesOf(env);
    const member = nodes.find((n) => n.slot === shard[0]!.slot)!;
    const other = nodes.find((n) => n.slot !== shard[0]!.slot)!;
    await poll("the member serves the call", async () => (await unary(member.grpc, key, "x")).err === null);
    const seenBefore = upstream.seen.length;
    const r = await unary(other.grpc, key, "x");
    assert.equal(r.err?.code, status.UNAVAILABLE);
    assert.deepEqual(r.trailers?.get("corral-reason"), ["misdirected"]);
    assert.deepEqual(r.trailers?.get("corral-shard"), [member.grpc]);
    assert.match(String(r.err?.details), /^CORRAL_DP_MISDIRECTED: /);
    assert.equal(upstream.seen.length, seenBefore, "the upstream never saw it");
  });
});
