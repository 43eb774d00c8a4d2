import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * An upstream that answers every request after a fixed delay (±0.5 ms): the known quantity the
 * generator's accuracy and the proxies' added latency are measured against.
 * `stall(ms)` makes it hold every response (arriving or in flight) until the stall
 * ends, like a GC pause or a SIGSTOP, without blocking this thread.
 * Run as a script it serves in its own process: `node fixed-latency-server.ts --delay-ms=1`
 * prints {"url":…,"pid":…} on stdout once listening.
 */
export type Reply = { status: number; headers?: Record<string, string> };

export type FixedLatencyOptions = {
  delayMs: number;
  port?: number;
  host?: string;
  /** decides the reply of the n-th request (0-based); default 200 "ok" */
  reply?: (n: number) => Reply;
};

export type FixedLatencyServer = {
  url: string;
  server: Server;
  requests(): number;
  stall(ms: number): void;
  close(): Promise<void>;
};

const BODY = Buffer.from("ok\n");

/** `GET /__stats`: how long the server really held requests (its timers run late under load). */
export const STATS_PATH = "/__stats";

/** The server's own record of how long it held each request (the last 100k), for accuracy checks. */
class HoldTimes {
  private readonly ms: number[] = [];

  add(ms: number): void {
    if (this.ms.length >= 100_000) this.ms.shift();
    this.ms.push(ms);
  }

  stats(): { count: number; p50Ms: number } {
    const sorted = [...this.ms].sort((a, b) => a - b);
    return { count: sorted.length, p50Ms: sorted[Math.floor(sorted.length / 2)] ?? 0 };
  }
}

export async function startFixedLatencyServer(options: FixedLatencyOptions): Promise<FixedLatencyServer> {
  let count = 0;
  let stalledUntil = 0;
  const held = new HoldTimes();
  const answer = (n: number, res: ServerResponse, arrivedAt: number) => {
    held.add(performance.now() - arrivedAt);
    const reply = options.reply?.(n) ?? { status: 200 };
    res.writeHead(reply.status, {
      "content-type": "text/plain",
      "content-length": BODY.length,
      ...reply.headers,
    });
    res.end(BODY);
  };
  // One timer per request: Node timers count from the loop's cached millisecond, so a
  // single setTimeout(delay) lands within about ±0.5 ms of the delay on average;
  // re-checking and sleeping again would add up to a millisecond of lateness.
  const whenDue = (n: number, res: ServerResponse, dueAt: number, arrivedAt: number) => {
    const wait = Math.max(stalledUntil, dueAt) - performance.now();
    if (wait <= 0.5) return answer(n, res, arrivedAt);
    setTimeout(() => {
      if (stalledUntil - performance.now() > 0.5) whenDue(n, res, stalledUntil, arrivedAt);
      else answer(n, res, arrivedAt);
    }, wait + 0.5);
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.url === STATS_PATH) {
      res.setHeader("content-type", "application/json");
      return res.end(JSON.stringify(held.stats()));
    }
    const n = count++;
    const arrivedAt = performance.now();
    const dueAt = arrivedAt + options.delayMs;
    req.resume();
    req.on("end", () => whenDue(n, res, dueAt, arrivedAt));
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) =>
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", resolve),
  );
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    requests: () => count,
    stall: (ms) => {
      stalledUntil = performance.now() + ms;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function argValue(name: string, fallback: string): string {
  const prefix = `--${name}=`;
  return process.argv.find((a) => a.startsWith(prefix))?.slice(prefix.length) ?? fallback;
}

if (import.meta.main) {
  const server = await startFixedLatencyServer({
    delayMs: Number(argValue("delay-ms", "0")),
    port: Number(argValue("port", "0")),
  });
  process.stdout.write(`${JSON.stringify({ url: server.url, pid: process.pid })}\n`);
  process.on("SIGTERM", () => server.close().then(() => process.exit(0)));
}
