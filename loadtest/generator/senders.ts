import { Client, credentials, Metadata, type ServiceError } from "@grpc/grpc-js";
import { Pool } from "undici";
import { EchoRequest, EchoResponse } from "../../proto/gen/corral/demo/v1/echo.ts";
import { classifyError, classifyGrpc, classifyHttp } from "./outcome.ts";
import type { GrpcTarget, HttpTarget, Target } from "./plan.ts";

/** Sends one request of a target and resolves with its outcome label; never rejects. */
export type Sender = {
  send(target: Target): Promise<string>;
  close(): Promise<void>;
};

export type SenderOptions = { connections: number; timeoutMs: number };

/** Errors raised before a request was sent: safe to send it to another origin of the shard. */
const CONNECT_FAILURES = new Set(["ECONNREFUSED", "UND_ERR_CONNECT_TIMEOUT", "EHOSTUNREACH", "ENETUNREACH"]);
/** How long an origin that refused a connection is skipped. */
const ORIGIN_DOWN_MS = 1000;

/** The value for `key`, made and kept on first use. */
function kept<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = make();
    map.set(key, value);
  }
  return value;
}

/**
 * HTTP over undici: one keep-alive Pool per origin, `connections` sockets each, no
 * pipelining. A target with `origins` is spread over them round-robin, failing over on
 * connect errors (see HttpTarget).
 */
export class HttpSender {
  readonly #pools = new Map<string, Pool>();
  readonly #turns = new WeakMap<HttpTarget, number>();
  readonly #downUntil = new Map<string, number>();
  readonly #options: SenderOptions;

  constructor(options: SenderOptions) {
    this.#options = options;
  }

  #pool(origin: string): Pool {
    const { connections, timeoutMs } = this.#options;
    return kept(this.#pools, origin, () => {
      const timeouts = { headersTimeout: timeoutMs, bodyTimeout: timeoutMs, connectTimeout: timeoutMs };
      return new Pool(origin, { connections, pipelining: 1, keepAliveTimeout: 30_000, ...timeouts });
    });
  }

  async send(target: HttpTarget): Promise<string> {
    const url = new URL(target.url);
    const path = url.pathname + url.search;
    const origins = target.origins;
    if (!origins || origins.length === 0) return (await this.#attempt(url.origin, path, target)).outcome;
    const turn = this.#turns.get(target) ?? 0;
    this.#turns.set(target, turn + 1);
    let outcome = "error";
    for (let i = 0; i < origins.length; i++) {
      const origin = origins[(turn + i) % origins.length]!;
      const last = i === origins.length - 1;
      if (!last && (this.#downUntil.get(origin) ?? 0) > performance.now()) continue;
      const attempt = await this.#attempt(origin, path, target);
      if (!attempt.connectFailed) return attempt.outcome;
      this.#downUntil.set(origin, performance.now() + ORIGIN_DOWN_MS);
      outcome = attempt.outcome;
    }
    return outcome;
  }

  async #attempt(origin: string, path: string, target: HttpTarget) {
    try {
      const res = await this.#pool(origin).request({
        path,
        method: target.method ?? "GET",
        headers: target.headers,
        body: target.body,
      });
      await res.body.dump();
      return { outcome: classifyHttp(res.statusCode, res.headers["corral-reason"]), connectFailed: false };
    } catch (err) {
      const code = (err as { code?: unknown })?.code;
      return { outcome: classifyError(err), connectFailed: CONNECT_FAILURES.has(code as string) };
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.#pools.values()].map((p) => p.destroy()));
    this.#pools.clear();
  }
}

const ECHO_PATH = "/corral.demo.v1.Echo/Echo";
const serialize = (value: EchoRequest): Buffer => Buffer.from(EchoRequest.encode(value).finish());
const deserialize = (bytes: Buffer): EchoResponse => EchoResponse.decode(bytes);

/** gRPC unary Echo over grpc-js: `connections` channels per address, used round-robin. */
export class GrpcSender {
  readonly #clients = new Map<string, { clients: Client[]; next: number }>();
  readonly #options: SenderOptions;

  constructor(options: SenderOptions) {
    this.#options = options;
  }

  #client(address: string): Client {
    const entry = kept(this.#clients, address, () => ({
      clients: Array.from(
        { length: this.#options.connections },
        () => new Client(address, credentials.createInsecure(), { "grpc.use_local_subchannel_pool": 1 }),
      ),
      next: 0,
    }));
    entry.next = (entry.next + 1) % entry.clients.length;
    return entry.clients[entry.next]!;
  }

  send(target: GrpcTarget): Promise<string> {
    const metadata = new Metadata();
    for (const [k, v] of Object.entries(target.metadata ?? {})) metadata.set(k, v);
    const deadline = Date.now() + this.#options.timeoutMs;
    return new Promise((resolve) => {
      this.#client(target.address).makeUnaryRequest(
        ECHO_PATH,
        serialize,
        deserialize,
        { message: target.message ?? "ping" },
        metadata,
        { deadline },
        (err: ServiceError | null) => {
          if (!err) return resolve(classifyGrpc(0, undefined));
          const reason = err.metadata?.get("corral-reason")[0];
          resolve(classifyGrpc(err.code, typeof reason === "string" ? reason : undefined));
        },
      );
    });
  }

  async close(): Promise<void> {
    for (const { clients } of this.#clients.values()) for (const c of clients) c.close();
    this.#clients.clear();
  }
}

/** Dispatches each target to the HTTP or gRPC sender. */
export function createSender(options: SenderOptions): Sender {
  const http = new HttpSender(options);
  const grpc = new GrpcSender(options);
  return {
    send: (target) => (target.kind === "http" ? http.send(target) : grpc.send(target)),
    close: async () => {
      await Promise.all([http.close(), grpc.close()]);
    },
  };
}
