/**
 * Keyless public routes for gRPC calls through a real node: the call's :authority names the
 * public host, no key is needed, the per-client bucket limits the caller (RESOURCE_EXHAUSTED
 * with corral-reason client_rate); another authority gets nothing.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { credentials, Metadata, type ServiceError, status } from "@grpc/grpc-js";
import { EchoClient } from "../../proto/gen/corral/demo/v1/echo.ts";
import { type GrpcNode, grpcTenant, startGrpcNode } from "./grpc-node.ts";
import { GrpcUpstream } from "./grpc-upstream.ts";

let upstream: GrpcUpstream;
let node: GrpcNode;
const clients: EchoClient[] = [];

before(async () => {
  upstream = await GrpcUpstream.start();
  node = await startGrpcNode([
    grpcTenant({
      id: "shop",
      upstream: upstream.address,
      routes: [
        {
          id: "echo",
          pathPrefix: "/",
          hosts: ["echo.shop.test"],
          public: true,
          client: { rate: 1, burst: 3 },
        },
      ],
    }),
  ]);
});

after(async () => {
  for (const c of clients) c.close();
  await node.close();
  await upstream.close();
});

function clientFor(authority: string): EchoClient {
  const client = new EchoClient(node.node.grpcAddress, credentials.createInsecure(), {
    "grpc.default_authority": authority,
  });
  clients.push(client);
  return client;
}

function echo(client: EchoClient): Promise<ServiceError | null> {
  return new Promise((resolve) =>
    client.echo({ message: "hi" }, new Metadata(), { deadline: Date.now() + 5000 }, (err) => resolve(err)),
  );
}

test("a keyless call on the public host is served, then limited per client", async () => {
  const shop = clientFor("echo.shop.test");
  const results: (ServiceError | null)[] = [];
  for (let i = 0; i < 6; i++) results.push(await echo(shop));
  assert.equal(results[0], null, results[0]?.message);
  const limited = results.find((e) => e?.code === status.RESOURCE_EXHAUSTED);
  assert.ok(limited, `codes ${results.map((e) => e?.code ?? 0)}`);
  assert.deepEqual(limited.metadata.get("corral-reason"), ["client_rate"]);
});

test("a keyless call on another authority is UNAUTHENTICATED", async () => {
  const err = await echo(clientFor("other.example.com"));
  assert.equal(err?.code, status.UNAUTHENTICATED);
});
