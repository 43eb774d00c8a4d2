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

/** HTTP over undici: one keep-alive Pool per origin, `connections` sockets each, no pipelining. */
export class HttpSender {
  readonly #pools = new Map<string, Pool>();
  readonly #options: SenderOptions;

  constructor(options: SenderOptions) {
    this.#options = options;
  }

  #pool(origin: string): Pool {
    let pool = this.#pools.get(origin);
    if (!pool) {
      pool = new Pool(origin, {
        connections: this.#options.connections,
        pipelining: 1,
        keepAliveTimeout: 30_000,
        headersTimeout: this.#options.timeoutMs,
        bodyTimeout: this.#options.timeoutMs,
        connectTimeout: this.#options.timeoutMs,
      });
      this.#pools.set(origin, pool);
    }
    return pool;
  }

  async send(target: HttpTarget): Promise<string> {
    const url = new URL(target.url);
    try {
      const res = await this.#pool(url.origin).request({
        path: url.pathname + url.search,
        method: target.method ?? "GET",
        headers: target.headers,
        body: target.body,
      });
      await res.body.dump();
      return classifyHttp(res.statusCode, res.headers["corral-reason"]);
    } catch (err) {
      return classifyError(err);
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
    let entry = this.#clients.get(address);
    if (!entry) {
      const clients = Array.from(
        { length: this.#options.connections },
        () => new Client(address, credentials.createInsecure(), { "grpc.use_local_subchannel_pool": 1 }),
      );
      entry = { clients, next: 0 };
      this.#clients.set(address, entry);
    }
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
