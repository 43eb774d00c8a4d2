/**
 * Bounds on slow and greedy clients (docs/design.md §8.8), the same settings for every HTTP server of the
 * fleet (the data plane's tenant ingress, the control plane's API): how long a request's headers
 * and whole body may take to arrive, how long a keep-alive connection may idle, how many
 * connections a server holds and how many requests one connection may carry. A request still
 * arriving when its time is up is answered 408 and its connection closed, however steadily its
 * bytes trickle in.
 */
import type { ServerOptions } from "node:http";
import type { Server as NetServer, Socket } from "node:net";
import { type ConfigOf, int, loadConfig } from "./env-config.ts";

export const HTTP_LIMITS_SCHEMA = {
  CORRAL_HEADERS_TIMEOUT_MS: {
    parse: int(100, 600_000),
    default: 10_000,
    doc: "longest a client may take to send a request's headers (ms)",
  },
  CORRAL_REQUEST_TIMEOUT_MS: {
    parse: int(100, 3_600_000),
    default: 30_000,
    doc: "longest a client may take to send a whole request, headers and body (ms); then 408 and the connection is closed",
  },
  CORRAL_IDLE_TIMEOUT_MS: {
    parse: int(100, 600_000),
    default: 30_000,
    doc: "a keep-alive connection with no request for this long is closed (ms)",
  },
  CORRAL_MAX_CONNECTIONS: {
    parse: int(1, 1_000_000),
    default: 10_000,
    doc: "connections a server holds at once; further ones are closed as they arrive",
  },
  CORRAL_MAX_CONNECTIONS_PER_SOURCE: {
    parse: int(0, 1_000_000),
    default: 0,
    doc: "connections one client address may hold at once (0: no per-source cap; behind NAT or a load balancer one address is many clients); trusted proxies are not counted",
  },
  CORRAL_MAX_REQUESTS_PER_CONNECTION: {
    parse: int(1, 10_000_000),
    default: 10_000,
    doc: "requests one keep-alive connection may carry; the last is answered with connection: close",
  },
};

export interface HttpLimits {
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  idleTimeoutMs: number;
  maxConnections: number;
  /** 0: no per-source cap */
  maxConnectionsPerSource: number;
  maxRequestsPerConnection: number;
}

export function httpLimits(c: ConfigOf<typeof HTTP_LIMITS_SCHEMA>): HttpLimits {
  return {
    headersTimeoutMs: Math.min(c.CORRAL_HEADERS_TIMEOUT_MS, c.CORRAL_REQUEST_TIMEOUT_MS),
    requestTimeoutMs: c.CORRAL_REQUEST_TIMEOUT_MS,
    idleTimeoutMs: c.CORRAL_IDLE_TIMEOUT_MS,
    maxConnections: c.CORRAL_MAX_CONNECTIONS,
    maxConnectionsPerSource: c.CORRAL_MAX_CONNECTIONS_PER_SOURCE,
    maxRequestsPerConnection: c.CORRAL_MAX_REQUESTS_PER_CONNECTION,
  };
}

/** The limits when no variable is set. */
export const DEFAULT_HTTP_LIMITS: HttpLimits = Object.freeze(httpLimits(loadConfig(HTTP_LIMITS_SCHEMA, {})));

/** How often node checks the request and headers timeouts: a tenth of the shorter, 100 ms to 1 s. */
function checkingIntervalMs(l: HttpLimits): number {
  return Math.max(100, Math.min(1000, Math.floor(l.headersTimeoutMs / 10)));
}

/** Fastify's options for these limits (node's http server options included). */
export function fastifyHttpLimits(l: HttpLimits, http: ServerOptions = {}) {
  return {
    requestTimeout: l.requestTimeoutMs,
    keepAliveTimeout: l.idleTimeoutMs,
    maxRequestsPerSocket: l.maxRequestsPerConnection,
    http: {
      ...http,
      headersTimeout: l.headersTimeoutMs,
      connectionsCheckingInterval: checkingIntervalMs(l),
    },
  };
}

/** Connections held per source address, admitted up to a cap (pure). */
export class SourceCounter {
  readonly #max: number;
  readonly #open = new Map<string, number>();

  constructor(max: number) {
    this.#max = max;
  }

  /** connections refused because their source was at the cap */
  refused = 0;

  /** Counts a new connection from source; false (not counted) when the source is at the cap. */
  admit(source: string): boolean {
    const n = this.#open.get(source) ?? 0;
    if (n >= this.#max) {
      this.refused++;
      return false;
    }
    this.#open.set(source, n + 1);
    return true;
  }

  release(source: string): void {
    const n = (this.#open.get(source) ?? 0) - 1;
    if (n > 0) this.#open.set(source, n);
    else this.#open.delete(source);
  }

  /** sources holding connections */
  get sources(): number {
    return this.#open.size;
  }

  /** connections the busiest source holds now (a walk over the sources: for scrapes, not per request) */
  busiest(): number {
    let most = 0;
    for (const n of this.#open.values()) if (n > most) most = n;
    return most;
  }
}

/** What a server's connection caps did, for its metrics. */
export interface ConnectionCaps {
  /** connections refused by the server-wide cap (CORRAL_MAX_CONNECTIONS) */
  refusedByServerCap(): number;
  /** connections refused by the per-source cap (0 when there is none) */
  refusedBySourceCap(): number;
  /** connections held now by the busiest counted source (0 when there is no per-source cap) */
  busiestSource(): number;
}

/**
 * What fastify's options cannot say: the connection caps, the server's and (when set) each
 * source address's; a connection beyond either is closed as it arrives. `exempt` sources (trusted
 * proxies, which carry many clients) are not counted per source. Call before listening.
 */
export function capConnections(
  server: Pick<NetServer, "maxConnections" | "on">,
  l: HttpLimits,
  exempt: (source: string) => boolean = () => false,
): ConnectionCaps {
  server.maxConnections = l.maxConnections;
  let dropped = 0;
  server.on("drop", () => dropped++);
  const caps = { refusedByServerCap: () => dropped, refusedBySourceCap: () => 0, busiestSource: () => 0 };
  if (l.maxConnectionsPerSource === 0) return caps;
  const counter = new SourceCounter(l.maxConnectionsPerSource);
  caps.refusedBySourceCap = () => counter.refused;
  caps.busiestSource = () => counter.busiest();
  server.on("connection", (socket: Socket) => {
    const source = socket.remoteAddress ?? "";
    if (exempt(source)) return;
    if (!counter.admit(source)) {
      socket.destroy();
      return;
    }
    socket.once("close", () => counter.release(source));
  });
  return caps;
}

/**
 * A raw answer on a connection node's server gave up on before a handler answered it (a parser
 * error, the request timeout), then the connection closes. A response already under way (headers
 * sent) is cut instead: raw bytes would corrupt it.
 */
export function answerOnSocket(
  socket: Socket,
  err: NodeJS.ErrnoException,
  answer: { status: number; title: string; headers: Record<string, string>; body: string },
): void {
  const answering = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (answering?.headersSent) {
    socket.destroy();
    return;
  }
  if (err.code === "ECONNRESET" || !socket.writable) return;
  let head = `HTTP/1.1 ${answer.status} ${answer.title}\r\nconnection: close\r\n`;
  for (const [name, value] of Object.entries(answer.headers)) head += `${name}: ${value}\r\n`;
  socket.end(`${head}content-length: ${Buffer.byteLength(answer.body)}\r\n\r\n${answer.body}`);
}
