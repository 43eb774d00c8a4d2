/**
 * An upstream target whose health a test or scenario switches at run time: HTTP/1.1 on one port
 * and gRPC (h2c, any method echoes its request message, plus grpc.health.v1.Health/Check) on
 * another, in its own process. Control, straight to the process (never through the gateway):
 * `POST /__mode/<mode>` and `GET /__count` (requests served since the last count, reset by it).
 * Modes: `ok`; `fail` (503, gRPC UNAVAILABLE; the health check fails too); `sick` (requests
 * answered, only the health check fails). Network faults (resets, latency, partitions) come from
 * toxiproxy in front of it. Run as a script it prints {"url","grpc","pid"} once listening.
 */
import { createServer as createHttpServer } from "node:http";
import { createServer as createH2Server, type ServerHttp2Stream } from "node:http2";
import type { AddressInfo } from "node:net";

export type BrownoutMode = "ok" | "fail" | "sick";
const MODES = new Set<string>(["ok", "fail", "sick"]);
const HEALTH_PATH = "/grpc.health.v1.Health/Check";

/** A length-prefixed gRPC message. */
function frame(message: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(message.length, 1);
  return Buffer.concat([head, message]);
}

export function startBrownoutUpstream(): Promise<{ url: string; grpc: string; close(): Promise<void> }> {
  let mode: BrownoutMode = "ok";
  let served = 0;
  const http = createHttpServer((req, res) => {
    req.resume();
    const url = req.url ?? "/";
    if (url.startsWith("/__mode/") && MODES.has(url.slice(8))) {
      mode = url.slice(8) as BrownoutMode;
      return res.end(mode);
    }
    if (url === "/__count") {
      const n = served;
      served = 0;
      return res.end(JSON.stringify({ served: n }));
    }
    if (url === "/healthz") {
      res.writeHead(mode === "ok" ? 200 : 503);
      return res.end();
    }
    served++;
    res.writeHead(mode === "fail" ? 503 : 200, { "content-type": "text/plain" });
    res.end(mode === "fail" ? "down\n" : "ok\n");
  });
  http.keepAliveTimeout = 60_000;
  const grpc = createH2Server();
  grpc.on("stream", (stream: ServerHttp2Stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("error", () => {});
    stream.on("end", () => {
      if (stream.destroyed) return;
      if (headers[":path"] === HEALTH_PATH) {
        stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
        stream.once("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
        return stream.end(frame(Buffer.from([0x08, mode === "ok" ? 1 : 2])));
      }
      served++;
      if (mode === "fail") {
        const trailersOnly = {
          "content-type": "application/grpc",
          "grpc-status": "14",
          "grpc-message": "down",
        };
        return stream.respond({ ":status": 200, ...trailersOnly }, { endStream: true });
      }
      stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
      stream.once("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
      stream.end(Buffer.concat(chunks));
    });
  });
  const listen = (server: typeof http | typeof grpc) =>
    new Promise<number>((resolve) =>
      server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)),
    );
  return Promise.all([listen(http), listen(grpc)]).then(([httpPort, grpcPort]) => ({
    url: `http://127.0.0.1:${httpPort}`,
    grpc: `127.0.0.1:${grpcPort}`,
    close: () =>
      new Promise<void>((resolve) => {
        http.closeAllConnections();
        grpc.close();
        http.close(() => resolve());
      }),
  }));
}

if (import.meta.main) {
  const up = await startBrownoutUpstream();
  process.stdout.write(`${JSON.stringify({ url: up.url, grpc: up.grpc, pid: process.pid })}\n`);
  process.on("SIGTERM", () => void up.close().then(() => process.exit(0)));
}
