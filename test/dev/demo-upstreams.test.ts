import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { DEMO_MESSAGE, type DemoUpstreams, startDemoUpstreams } from "../../bin/dev/demo-upstreams.ts";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { WebSocket } from "ws";
import { echoOnce, echoStream } from "../../bin/dev/echo-client.ts";

const run = promisify(execFile);

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

  it("WebSocket: echoes text and binary messages", async () => {
    const socket = new WebSocket(`${upstreams.http.replace("http", "ws")}/ws`);
    await new Promise((resolve, reject) => {
      socket.once("open", resolve);
      socket.once("error", reject);
    });
    const replies: string[] = [];
    const got = new Promise<void>((resolve) =>
      socket.on("message", (data, binary) => {
        replies.push(`${binary ? "b" : "t"}:${data.toString()}`);
        if (replies.length === 2) resolve();
      }),
    );
    socket.send("hello");
    socket.send(Buffer.from("bytes"));
    await got;
    assert.deepEqual(replies, ["t:hello", "b:bytes"]);
    socket.close();
  });

  it("corral ws: sends each message, prints the echoes, closes 1000 and exits 0", async () => {
    const bin = fileURLToPath(new URL("../../bin/corral.ts", import.meta.url));
    const url = `${upstreams.http.replace("http", "ws")}/ws`;
    const { stdout, stderr } = await run(process.execPath, [bin, "ws", url, "hello", "world"], {
      timeout: 20_000,
    });
    assert.equal(stdout, "hello\nworld\n");
    assert.match(stderr, /closed 1000/);
  });

  it("SSE: a path ending in /events streams n events", async () => {
    const res = await fetch(`${upstreams.http}/hello/events?n=3&gap=10`);
    assert.equal(res.headers.get("content-type"), "text/event-stream");
    const events = (await res.text()).split("\n\n").filter(Boolean);
    assert.equal(events.length, 3);
    assert.match(events[2]!, /^data: \{"n":2,/);
  });

  it("gRPC: Echo answers the message, EchoStream three times", async () => {
    assert.equal(await echoOnce(upstreams.grpc, "hi"), "hi");
    assert.deepEqual(await echoStream(upstreams.grpc, "yo"), ["yo", "yo", "yo"]);
  });
});
