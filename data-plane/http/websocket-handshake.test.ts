import assert from "node:assert/strict";
import type { IncomingMessage } from "node:http";
import { test } from "node:test";
import { handshakeProblem } from "./websocket-proxy.ts";
import { sendableCode } from "./websocket-relay.ts";

const KEY = Buffer.alloc(16, 3).toString("base64");

function req(method: string, headers: Record<string, string>): IncomingMessage {
  return { method, headers } as unknown as IncomingMessage;
}

test("a handshake is well formed only as a GET with Upgrade: websocket, a 16-byte key and version 13", () => {
  const good = { upgrade: "WebSocket", "sec-websocket-key": KEY, "sec-websocket-version": "13" };
  assert.equal(handshakeProblem(req("GET", good)), undefined);
  assert.match(handshakeProblem(req("POST", good))!, /GET/);
  assert.match(handshakeProblem(req("GET", { ...good, upgrade: "h2c" }))!, /websocket/);
  assert.match(handshakeProblem(req("GET", { ...good, "sec-websocket-key": "short" }))!, /Key/);
  assert.match(handshakeProblem(req("GET", { ...good, "sec-websocket-version": "7" }))!, /13/);
});

test("only codes an endpoint may send are passed on as they are", () => {
  for (const code of [1000, 1001, 1003, 1008, 1009, 1011, 1014, 3000, 4999])
    assert.equal(sendableCode(code), true);
  for (const code of [999, 1004, 1005, 1006, 1015, 2000, 5000]) assert.equal(sendableCode(code), false);
});
