import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { resolveShard, shardOrigins } from "./placement.ts";

const nodes = [
  { slot: "dp-0", url: "http://127.0.0.1:7500" },
  { slot: "dp-1", url: "http://127.0.0.1:7501" },
  { slot: "dp-2", url: "http://127.0.0.1:7502" },
];

test("slot names map to the known nodes, in the shard's order", () => {
  assert.deepEqual(shardOrigins({ shard: [{ slot: "dp-2" }, { slot: "dp-0", live: true }] }, nodes), {
    origins: ["http://127.0.0.1:7502", "http://127.0.0.1:7500"],
    slots: ["dp-2", "dp-0"],
  });
});

test("members with their own loopback URL use it; dead members go last; unknown slots are dropped", () => {
  const body = {
    tenant: "t1",
    shard: [
      { slot: "dp-1", live: false },
      { slot: "dp-9", url: "http://127.0.0.1:9999/" },
      { slot: "dp-8" },
      { slot: "dp-0", url: "http://10.0.0.1:7500" },
    ],
  };
  assert.deepEqual(shardOrigins(body, nodes), {
    origins: ["http://127.0.0.1:9999", "http://127.0.0.1:7500", "http://127.0.0.1:7501"],
    slots: ["dp-9", "dp-0", "dp-1"],
  });
});

test("answers without members give nothing", () => {
  for (const body of [
    null,
    "x",
    {},
    { shard: "dp-0" },
    { shard: [1, null] },
    { members: [{ slot: "dp-0" }] },
  ])
    assert.deepEqual(shardOrigins(body, nodes).origins, []);
});

let server: Server;
let url: string;
before(async () => {
  server = createServer((req, res) => {
    if (req.url === "/.well-known/corral/placement/known" && req.headers["x-api-key"] === "k") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ shard: [{ slot: "dp-1" }] }));
      return;
    }
    if (req.url === "/.well-known/corral/placement/empty") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ tenant: "empty", shard: [] }));
      return;
    }
    res.writeHead(404);
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((r) => server.close(() => r())));

test("resolveShard asks a node and falls back to every node on 404", async () => {
  const live = [
    { slot: "dp-0", url },
    { slot: "dp-1", url: "http://127.0.0.1:7501" },
  ];
  assert.deepEqual(await resolveShard(live, "known", "k"), {
    tenant: "known",
    origins: ["http://127.0.0.1:7501"],
    slots: ["dp-1"],
    source: "placement",
  });
  const fallback = await resolveShard(live, "unknown", "k");
  assert.equal(fallback.source, "fallback");
  assert.deepEqual(fallback.origins, [url, "http://127.0.0.1:7501"]);
  const empty = await resolveShard(live, "empty", "k");
  assert.equal(empty.source, "empty", "the endpoint exists but names no member yet");
  assert.deepEqual(empty.origins, [url, "http://127.0.0.1:7501"]);
});
