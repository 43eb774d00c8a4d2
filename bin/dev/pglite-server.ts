/**
 * The dev Postgres: PGlite (one embedded backend) behind a Postgres-protocol socket, so the
 * control plane runs its real `pg` code against it.
 *
 * Why not PGLiteSocketServer's own multiplexer: it interleaves the messages of different
 * connections one by one, so two pool clients running parameterised queries at once clobber
 * each other's unnamed statement ("unnamed prepared statement does not exist") and hang.
 * Here a connection owns the backend from its first message until the backend is idle again
 * (after Sync or a simple Query, outside a transaction block); others wait their turn. The
 * backend's notifications are delivered to the connections that ran LISTEN on the channel.
 *
 * Shared-backend caveats: named prepared statements and SET are visible to every connection.
 * A client that holds a transaction open while waiting for another connection deadlocks.
 */
import { existsSync } from "node:fs";
import { rename, rm } from "node:fs/promises";
import { createServer, type Server, type Socket } from "node:net";
import { PGlite } from "@electric-sql/pglite";
import { boundPort } from "../../proto/bound-url.ts";
import {
  listenChanges,
  messageSql,
  notificationChannel,
  typedMessage,
  type WireMessage,
  WireFramer,
} from "./pg-wire.ts";

export interface PgliteServerOptions {
  /** data directory (persisted); undefined = in memory */
  dataDir?: string;
  host?: string;
  port?: number;
}

export interface PgliteServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

interface Connection {
  socket: Socket;
  framer: WireFramer;
  channels: Set<string>;
  chain: Promise<void>;
  closed: boolean;
}

/** Ownership of the single backend, handed to waiting connections in arrival order. */
class SessionLock {
  owner: Connection | undefined;
  #waiters: Array<{ conn: Connection; resolve: () => void }> = [];

  async acquire(conn: Connection): Promise<void> {
    if (this.owner === undefined || this.owner === conn) {
      this.owner = conn;
      return;
    }
    await new Promise<void>((resolve) => this.#waiters.push({ conn, resolve }));
  }

  release(conn: Connection): void {
    if (this.owner !== conn) return;
    const next = this.#waiters.shift();
    this.owner = next?.conn;
    next?.resolve();
  }
}

const READY_MESSAGE_TYPES = new Set(["S", "Q"]);
const SYNC = typedMessage("S");
const ROLLBACK = typedMessage("Q", Buffer.from("ROLLBACK\0"));

export async function startPgliteServer(opts: PgliteServerOptions = {}): Promise<PgliteServer> {
  if (opts.dataDir) await initialiseOnce(opts.dataDir);
  const db = await PGlite.create(opts.dataDir);
  const host = opts.host ?? "127.0.0.1";
  const backend = new Backend(db);
  const server = createServer((socket) => backend.accept(socket));
  const port = await listen(server, opts.port ?? 0, host);
  return {
    url: `postgres://postgres:postgres@${host}:${port}/postgres`,
    port,
    async close() {
      const closed = new Promise((resolve) => server.close(resolve));
      backend.destroyAll();
      await closed;
      await backend.idle();
      await db.close();
    },
  };
}

/**
 * A new database is created next to its final place and renamed into it once complete, so
 * a process killed during the (slow) initdb leaves no half-made directory behind.
 */
async function initialiseOnce(dataDir: string): Promise<void> {
  if (existsSync(dataDir)) return;
  const partial = `${dataDir}.partial-${process.pid}`;
  await rm(partial, { recursive: true, force: true });
  const db = await PGlite.create(partial);
  await db.close();
  await rename(partial, dataDir);
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      resolve(boundPort(server, port));
    });
  });
}

class Backend {
  readonly #db: PGlite;
  readonly #lock = new SessionLock();
  readonly #connections = new Set<Connection>();

  constructor(db: PGlite) {
    this.#db = db;
  }

  accept(socket: Socket): void {
    socket.setNoDelay(true);
    const conn: Connection = {
      socket,
      framer: new WireFramer("frontend"),
      channels: new Set(),
      chain: Promise.resolve(),
      closed: false,
    };
    this.#connections.add(conn);
    socket.on("data", (chunk) => this.#receive(conn, chunk));
    socket.on("error", () => socket.destroy());
    socket.on("close", () => {
      conn.closed = true;
      this.#connections.delete(conn);
      conn.chain = conn.chain.then(() => this.#finish(conn));
    });
  }

  destroyAll(): void {
    for (const conn of this.#connections) conn.socket.destroy();
  }

  async idle(): Promise<void> {
    await Promise.all([...this.#connections].map((c) => c.chain));
  }

  #receive(conn: Connection, chunk: Buffer): void {
    let messages: WireMessage[];
    try {
      messages = conn.framer.push(chunk);
    } catch {
      conn.socket.destroy();
      return;
    }
    for (const message of messages) conn.chain = conn.chain.then(() => this.#handle(conn, message));
  }

  async #handle(conn: Connection, message: WireMessage): Promise<void> {
    if (conn.closed) return;
    if (message.kind === "ssl" || message.kind === "gssenc") {
      conn.socket.write("N");
      return;
    }
    if (message.kind === "cancel" || message.type === "X") {
      conn.socket.end();
      return;
    }
    this.#trackListens(conn, message);
    await this.#lock.acquire(conn);
    if (conn.closed) return; // #finish releases the backend
    try {
      await this.#execute(conn, message.bytes);
    } catch {
      conn.socket.destroy();
      return;
    }
    const endsUnit = message.kind === "startup" || READY_MESSAGE_TYPES.has(message.type);
    if (endsUnit && !this.#db.isInTransaction()) this.#lock.release(conn);
  }

  #trackListens(conn: Connection, message: WireMessage): void {
    const sql = messageSql(message);
    if (sql === undefined || !/listen/i.test(sql)) return;
    const change = listenChanges(sql);
    if (change.unlistenAll) conn.channels.clear();
    for (const channel of change.unlisten) conn.channels.delete(channel);
    for (const channel of change.listen) conn.channels.add(channel);
  }

  async #execute(conn: Connection, bytes: Uint8Array): Promise<void> {
    const framer = new WireFramer("backend");
    await this.#db.runExclusive(() =>
      this.#db.execProtocolRawStream(bytes, {
        onRawData: (data) => this.#route(conn, framer.push(data)),
      }),
    );
  }

  /** Writes the backend's answer to its connection; notifications go to their listeners. */
  #route(conn: Connection, messages: WireMessage[]): void {
    const inline: Uint8Array[] = [];
    for (const message of messages) {
      if (message.type !== "A") inline.push(message.bytes);
      else
        for (const target of this.#listenersOf(message, conn)) {
          if (target === conn) inline.push(message.bytes);
          else if (target.socket.writable) target.socket.write(message.bytes);
        }
    }
    if (inline.length > 0 && conn.socket.writable) conn.socket.write(Buffer.concat(inline));
  }

  #listenersOf(message: WireMessage, executor: Connection): Connection[] {
    const channel = notificationChannel(message);
    const listeners = [...this.#connections].filter((c) => c.channels.has(channel));
    return listeners.length > 0 ? listeners : [executor];
  }

  /** A connection went away: if it owned the backend, end its pipeline and transaction. */
  async #finish(conn: Connection): Promise<void> {
    if (this.#lock.owner !== conn) return;
    try {
      await this.#db.runExclusive(() => this.#db.execProtocolRaw(SYNC));
      if (this.#db.isInTransaction()) await this.#db.runExclusive(() => this.#db.execProtocolRaw(ROLLBACK));
    } finally {
      this.#lock.release(conn);
    }
  }
}

function parseArgs(argv: string[]): PgliteServerOptions {
  const opts: PgliteServerOptions = {};
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1] ?? ""];
    if (flag === "--data-dir") opts.dataDir = value;
    else if (flag === "--host") opts.host = value;
    else if (flag === "--port") opts.port = Number(value);
    else throw new Error(`unknown argument ${flag}`);
  }
  return opts;
}

/** `node bin/dev/pglite-server.ts --data-dir DIR --port N`: the dev Postgres as a process. */
async function main(): Promise<void> {
  const server = await startPgliteServer(parseArgs(process.argv.slice(2)));
  process.stdout.write(`${JSON.stringify({ level: 30, msg: "listening", url: server.url })}\n`);
  let closing = false;
  const stop = () => {
    if (closing) return;
    closing = true;
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  process.channel?.unref();
  process.on("disconnect", stop);
}

if (import.meta.main) await main();
