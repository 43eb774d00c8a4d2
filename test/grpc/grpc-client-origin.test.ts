/**
 * Who a gRPC call comes from (pipeline/client-origin.ts) through a real node: the ingress judges
 * a connection's peer once, when it opens; the calls on it are then believed or not by that
 * verdict. A client's own X-Forwarded-For means nothing unless its peer is a trusted proxy.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Metadata, type ServiceError } from "@grpc/grpc-js";
import type { EchoClient } from "../../proto/gen/corral/demo/v1/echo.ts";
import * as fx from "../data-plane/fixtures.ts";
import { type GrpcNode, grpcTenant, startGrpcNode } from "./grpc-node.ts";
import { GrpcUpstream } from "./grpc-upstream.ts";

const key = fx.newKey();
let upstream: GrpcUpstream;
let trusting: GrpcNode;
let plain: GrpcNode;

before(async () => {
  upstream = await GrpcUpstream.start();
  const tenants = [
    grpcTenant({ id: "acme", upstream: upstream.address, keys: [{ id: key.id, hash: key.hash }] }),
  ];
  trusting = await startGrpcNode(tenants, { env: { CORRAL_TRUSTED_PROXIES: "127.0.0.1" } });
  plain = await startGrpcNode(tenants);
});

after(async () => {
  await Promise.all([trusting.close(), plain.close()]);
  await upstream.close();
});

/** The x-forwarded-for the upstream saw for each of `n` calls on one connection. */
async function forwardedFor(echo: EchoClient, xff: string, n: number): Promise<unknown[]> {
  const seen: unknown[] = [];
  for (let i = 0; i < n; i++) {
    const before = upstream.seen.length;
    const md = new Metadata();
    md.set("x-api-key", key.key);
    md.set("x-forwarded-for", xff);
    md.set("x-forwarded-proto", "https");
    const error = await new Promise<ServiceError | null>((resolve) =>
      echo.echo({ message: "who" }, md, { deadline: Date.now() + 10_000 }, (err) => resolve(err)),
    );
    assert.equal(error, null);
    seen.push(upstream.seen[before]?.metadata["x-forwarded-for"]);
  }
  return seen;
}

test("attack: a client that is no trusted proxy cannot name another client, on any call of its connection", async () => {
  assert.deepEqual(await forwardedFor(plain.echo, "203.0.113.7", 3), ["127.0.0.1", "127.0.0.1", "127.0.0.1"]);
});

test("behind a trusted proxy, every call on its connection is the client its X-Forwarded-For names", async () => {
  assert.deepEqual(await forwardedFor(trusting.echo, "203.0.113.7", 3), [
    "203.0.113.7",
    "203.0.113.7",
    "203.0.113.7",
  ]);
});
