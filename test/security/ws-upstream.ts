/**
 * WebSocket upstreams for the tests: an echo server (same frame type back; "close:<code>" makes
 * it close with that code; "/flood" sends `floodBytes` at once on connect and keeps the socket for
 * the test to watch), and a hostile one that answers a proper 101 and then writes garbage.
 */
import { createHash } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type WebSocket, WebSocketServer } from "ws";

export interface EchoUpstream {
  url: string;
  /** headers of every upgrade it accepted */
  upgrades: IncomingHttpHeaders[];
  /** close codes its sockets received */
  closes: number[];
  /** sockets of /flood connections */
  floods: WebSocket[];
  close(): Promise<void>;
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    ),
  );
}

function closer(server: Server, wss?: WebSocketServer): () => Promise<void> {
  return () =>
    new Promise((resolve) => {
      for (const c of wss?.clients ?? []) c.terminate();
      server.closeAllConnections();
      server.close(() => resolve());
    });
}

export async function echoUpstream(floodBytes = 64 * 1024 * 1024): Promise<EchoUpstream> {
  const server = createServer((_req, res) => res.writeHead(426).end("upgrade required"));
  const wss = new WebSocketServer({
    server,
    maxPayload: 64 * 1024 * 1024,
    handleProtocols: (p) => [...p][0] ?? false,
  });
  const out: Omit<EchoUpstream, "url" | "close"> = { upgrades: [], closes: [], floods: [] };
  // its 101 carries one header of its own and one it must not be able to set (corral-*)
  wss.on("headers", (lines) => lines.push("x-from-upstream: yes", "corral-reason: forged"));
  wss.on("connection", (socket, req) => {
    out.upgrades.push(req.headers);
    socket.on("close", (code) => out.closes.push(code));
    if (req.url?.endsWith("/flood")) {
      out.floods.push(socket);
      const chunk = Buffer.alloc(1024 * 1024, 7);
      for (let sent = 0; sent < floodBytes; sent += chunk.length) socket.send(chunk);
      return;
    }
    socket.on("message", (data, isBinary) => {
      const text = isBinary ? "" : data.toString();
      if (text.startsWith("close:")) socket.close(Number(text.slice(6)), "as asked");
      else socket.send(data, { binary: isBinary });
    });
  });
  const url = await listen(server);
  return { url, ...out, close: closer(server, wss) };
}

/**
 * Answers the handshake properly, then sends bytes that are no WebSocket frame; on a path with
 * /silent it never answers; on /refuse it answers 403 with a body that never ends.
 */
export async function garbageUpstream(): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer();
  server.on("upgrade", (req, socket) => {
    socket.on("error", () => {});
    if (req.url?.includes("/silent")) return;
    if (req.url?.includes("/refuse")) {
      socket.write(
        "HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n",
      );
      const chunk = `4000\r\n${"x".repeat(0x4000)}\r\n`;
      const drip = setInterval(() => socket.write(chunk), 5);
      socket.on("close", () => clearInterval(drip));
      return;
    }
    const accept = createHash("sha1")
      .update(`${req.headers["sec-websocket-key"]}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
      .digest("base64");
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-accept: ${accept}\r\n\r\n`,
    );
    socket.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x00, 0x13, 0x37]));
    socket.on("error", () => {});
  });
  const url = await listen(server);
  return { url, close: closer(server) };
}
