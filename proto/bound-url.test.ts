import assert from "node:assert/strict";
import { createServer } from "node:net";
import { test } from "node:test";
import { boundPort, boundUrl, hostPort } from "./bound-url.ts";

test("hostPort puts IPv6 literals in brackets", () => {
  assert.equal(hostPort("127.0.0.1", 80), "127.0.0.1:80");
  assert.equal(hostPort("::1", 8080), "[::1]:8080");
  assert.equal(hostPort("localhost", 1), "localhost:1");
});

test("a server listening on port 0 reports the port the OS chose", async (t) => {
  const server = createServer();
  assert.equal(boundPort(server, 1234), 1234, "not listening: the fallback");
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => server.close());
  const port = boundPort(server, 0);
  assert.ok(port > 0);
  assert.equal(boundUrl(server, "127.0.0.1", 0), `http://127.0.0.1:${port}`);
  assert.equal(boundUrl(server, "127.0.0.1", 0, "https"), `https://127.0.0.1:${port}`);
});
