/**
 * The demo upstreams of `corral dev`: an HTTP server that answers every request with JSON
 * describing what it received — but a path ending in `/events` gets server-sent events (five,
 * 200 ms apart; `?n=` and `?gap=` change that) and a WebSocket upgrade gets an echo (every
 * message back as it came) — and a gRPC server implementing corral.demo.v1.Echo.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import {
  type sendUnaryData,
  Server as GrpcServer,
  ServerCredentials,
  type ServerUnaryCall,
  type ServerWritableStream,
} from "@grpc/grpc-js";
import { WebSocketServer } from "ws";
import { boundPort } from "../../proto/bound-url.ts";
import { type EchoRequest, type EchoResponse, EchoService } from "../../proto/gen/corral/demo/v1/echo.ts";

export const DEMO_MESSAGE = "hello from the demo upstream";
export const ECHO_STREAM_COUNT = 3;
const MAX_BODY_BYTES = 1024 * 1024;
const MAX_EVENTS = 1000;
const MAX_EVENT_GAP_MS = 10_000;

export interface DemoUpstreamOptions {
  host?: string;
  httpPort?: number;
  grpcPort?: number;
}

export interface DemoUpstreams {
  /** http://host:port */
  http: string;
  /** host:port */
  grpc: string;
  close(): Promise<void>;
}

export async function startDemoUpstreams(opts: DemoUpstreamOptions = {}): Promise<DemoUpstreams> {
  const host = opts.host ?? "127.0.0.1";
  const http = await startHttp(host, opts.httpPort ?? 0);
  const grpc = await startGrpc(host, opts.grpcPort ?? 0).catch(async (err) => {
    await closeHttp(http.server);
    throw err;
  });
  return {
    http: `http://${host}:${http.port}`,
    grpc: `${host}:${grpc.port}`,
    async close() {
      await Promise.all([closeHttp(http.server), new Promise((r) => grpc.server.tryShutdown(r))]);
    },
  };
}

/** What the HTTP upstream answers: the request as it arrived, headers included. */
export function describeRequest(req: IncomingMessage, body: Buffer): Record<string, unknown> {
  const url = new URL(req.url ?? "/", "http://upstream");
  return {
    message: DEMO_MESSAGE,
    method: req.method,
    path: url.pathname,
    query: Object.fromEntries(url.searchParams),
    headers: req.headers,
    body: body.length > 0 ? body.toString("utf8") : undefined,
  };
}

/** Server-sent events: `data: {"n":i,...}` every gap ms, n of them, then the end. */
function sendEvents(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? "/", "http://upstream");
  const bounded = (name: string, fallback: number, max: number) => {
    const v = Number(url.searchParams.get(name) ?? fallback);
    return Number.isInteger(v) && v >= 0 ? Math.min(v, max) : fallback;
  };
  const n = bounded("n", 5, MAX_EVENTS);
  const gap = bounded("gap", 200, MAX_EVENT_GAP_MS);
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  res.flushHeaders();
  let i = 0;
  const timer = setInterval(() => {
    if (i >= n) {
      clearInterval(timer);
      res.end();
      return;
    }
    res.write(`data: ${JSON.stringify({ n: i++, message: DEMO_MESSAGE })}\n\n`);
  }, gap);
  res.on("close", () => clearInterval(timer));
}

function handleHttp(req: IncomingMessage, res: ServerResponse): void {
  if (req.method === "GET" && new URL(req.url ?? "/", "http://upstream").pathname.endsWith("/events")) {
    sendEvents(req, res);
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  req.on("error", () => res.destroy());
  req.on("data", (chunk: Buffer) => {
    size += chunk.length;
    if (size <= MAX_BODY_BYTES) chunks.push(chunk);
  });
  req.on("end", () => {
    if (size > MAX_BODY_BYTES) return reply(res, 413, { message: `body over ${MAX_BODY_BYTES} bytes` });
    reply(res, 200, describeRequest(req, Buffer.concat(chunks)));
  });
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

async function startHttp(host: string, port: number): Promise<{ server: Server; port: number }> {
  const server = createServer(handleHttp);
  server.keepAliveTimeout = 65_000;
  const echo = new WebSocketServer({ server, maxPayload: MAX_BODY_BYTES });
  echo.on("connection", (socket) =>
    socket.on("message", (data, isBinary) => socket.send(data, { binary: isBinary })),
  );
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  return { server, port: boundPort(server, port) };
}

function closeHttp(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

const echoImplementation = {
  echo(call: ServerUnaryCall<EchoRequest, EchoResponse>, callback: sendUnaryData<EchoResponse>) {
    callback(null, { message: call.request.message });
  },
  echoStream(call: ServerWritableStream<EchoRequest, EchoResponse>) {
    for (let i = 0; i < ECHO_STREAM_COUNT; i++) call.write({ message: call.request.message });
    call.end();
  },
};

async function startGrpc(host: string, port: number): Promise<{ server: GrpcServer; port: number }> {
  const server = new GrpcServer();
  server.addService(EchoService, echoImplementation);
  const bound = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host}:${port}`, ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    );
  });
  return { server, port: bound };
}

function parseArgs(argv: string[]): DemoUpstreamOptions {
  const opts: DemoUpstreamOptions = {};
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1] ?? ""];
    if (flag === "--host") opts.host = value;
    else if (flag === "--http-port") opts.httpPort = Number(value);
    else if (flag === "--grpc-port") opts.grpcPort = Number(value);
    else throw new Error(`unknown argument ${flag}`);
  }
  return opts;
}

/** `node bin/dev/demo-upstreams.ts --http-port N --grpc-port M`: both demo upstreams as a process. */
async function main(): Promise<void> {
  const upstreams = await startDemoUpstreams(parseArgs(process.argv.slice(2)));
  const line = { level: 30, msg: "listening", http: upstreams.http, grpc: upstreams.grpc };
  process.stdout.write(`${JSON.stringify(line)}\n`);
  const stop = () => upstreams.close().then(() => process.exit(0));
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
  process.channel?.unref();
  process.once("disconnect", stop);
}

if (import.meta.main) await main();
