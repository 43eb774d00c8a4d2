/**
 * A WebSocket echo upstream for the websockets scenario: every message back as it came; a GET
 * whose path ends in /events gets server-sent events (`?n=` of them, `?gap=` ms apart, the first
 * at once); other HTTP requests get 200 "ok" (so the harness's readiness checks pass).
 * Run as a script it serves in its own process and prints {"url":…,"pid":…} once listening.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { WebSocketServer } from "ws";

function events(req: IncomingMessage, res: ServerResponse): void {
  const q = new URL(req.url ?? "/", "http://x").searchParams;
  const n = Math.min(10_000, Number(q.get("n") ?? 1) || 1);
  const gap = Math.min(60_000, Number(q.get("gap") ?? 0) || 0);
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  let i = 0;
  const send = () => {
    if (res.destroyed) return;
    res.write(`data: ${i}\n\n`);
    if (++i < n) setTimeout(send, gap);
    else res.end();
  };
  send();
}

export async function startWsEchoServer(
  host = "127.0.0.1",
): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    if (new URL(req.url ?? "/", "http://x").pathname.endsWith("/events")) {
      events(req, res);
      return;
    }
    res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
  });
  const wss = new WebSocketServer({ server, perMessageDeflate: false });
  wss.on("connection", (socket) =>
    socket.on("message", (data, isBinary) => socket.send(data, { binary: isBinary })),
  );
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    close: () =>
      new Promise((resolve) => {
        for (const c of wss.clients) c.terminate();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

if (import.meta.main) {
  const server = await startWsEchoServer();
  process.stdout.write(`${JSON.stringify({ url: server.url, pid: process.pid })}\n`);
  process.on("SIGTERM", () => server.close().then(() => process.exit(0)));
}
