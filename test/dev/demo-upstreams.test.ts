import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { DEMO_MESSAGE, type DemoUpstreams, startDemoUpstreams } from "../../bin/dev/demo-upstreams.ts";
import { echoOnce, echoStream } from "../../bin/dev/echo-client.ts";

describe("demo upstreams", () => {
  let upstreams: DemoUpstreams;

  before(async () => {
    upstreams = await startDemoUpstreams();
  });

  after(() => upstreams?.close());

  it("HTTP: answers with what it received", async () => {
    const res = await fetch(`${upstreams.http}/hello/there?x=1`, {
      method: "POST",
      headers: { "corral-tenant": "demo", "content-type": "text/plain" },
      body: "ping",
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as Record<string, unknown>;
    assert.equal(body.message, DEMO_MESSAGE);
    assert.equal(body.method, "POST");
    assert.equal(body.path, "/hello/there");
    assert.deepEqual(body.query, { x: "1" });
    assert.equal(body.body, "ping");
    assert.equal((body.headers as Record<string, string>)["corral-tenant"], "demo");
  });

  it("HTTP: refuses bodies over 1 MiB", async () => {
    const res = await fetch(`${upstreams.http}/big`, {
      method: "POST",
      body: new Uint8Array(1024 * 1024 + 1),
    });
    assert.equal(res.status, 413);
  });

  it("gRPC: Echo answers the message, EchoStream three times", async () => {
    assert.equal(await echoOnce(upstreams.grpc, "hi"), "hi");
    assert.deepEqual(await echoStream(upstreams.grpc, "yo"), ["yo", "yo", "yo"]);
  });
});
