/**
 * A private Postgres for one test file.
 *
 * - CORRAL_TEST_PG_URL set: creates a fresh database on that server and drops it on stop.
 * - otherwise: initdb into a temp dir and runs `postgres` on a free loopback port (no TCP
 *   beyond 127.0.0.1, socket in the temp dir, fsync off). initdb/postgres refuse to run as
 *   root, so as root both run as the `postgres` OS user (uid/gid of that account).
 * stop() shuts the server down (SIGINT = fast shutdown, SIGKILL after 5 s) and removes the dir.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { chown, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import pg from "pg";
import { freePort } from "./ports.ts";

export interface TestPostgres {
  url: string;
  stop(): Promise<void>;
  /** pid of the postmaster (undefined when using CORRAL_TEST_PG_URL) */
  pid: number | undefined;
  dataDir: string | undefined;
}

const READY_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 5_000;

export async function startPostgres(): Promise<TestPostgres> {
  const external = process.env.CORRAL_TEST_PG_URL;
  if (external) return createExternalDatabase(external);
  const binDir = findPostgresBinDir();
  const owner = postgresOwner();
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startLocalServer(binDir, owner);
    } catch (err) {
      lastError = err; // usually a port taken between freePort() and bind: try another
    }
  }
  throw lastError;
}

async function createExternalDatabase(baseUrl: string): Promise<TestPostgres> {
  const name = `corral_test_${randomBytes(6).toString("hex")}`;
  await withClient(baseUrl, (c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    pid: undefined,
    dataDir: undefined,
    stop: async () => {
      await withClient(baseUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}

/** Newest /usr/lib/postgresql/<v>/bin with initdb, else the first PATH entry that has initdb. */
export function findPostgresBinDir(): string {
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => /^\d+(\.\d+)?$/.test(v))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  for (const v of versions) {
    const dir = join(root, v, "bin");
    if (existsSync(join(dir, "initdb"))) return dir;
  }
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir && existsSync(join(dir, "initdb")) && existsSync(join(dir, "postgres"))) return dir;
  }
  throw new Error(
    "no Postgres server binaries found (install the postgresql package or set CORRAL_TEST_PG_URL)",
  );
}

interface Owner {
  uid: number;
  gid: number;
}

/** undefined when not root (run as the current user); the postgres account when root. */
function postgresOwner(): Owner | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .find((l) => l.startsWith("postgres:"));
  if (!line) throw new Error("running as root but there is no 'postgres' OS user to run the server as");
  const [, , uid, gid] = line.split(":");
  return { uid: Number(uid), gid: Number(gid) };
}

async function startLocalServer(binDir: string, owner: Owner | undefined): Promise<TestPostgres> {
  const dir = await mkdtemp(join(tmpdir(), "corral-pg-"));
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  try {
    if (owner) await chown(dir, owner.uid, owner.gid);
    const dataDir = join(dir, "data");
    await run(join(binDir, "initdb"), initdbArgs(dataDir), owner);
    const port = await freePort();
    const child = spawnServer(binDir, dataDir, dir, port, owner);
    const onExit = () => {
      child.kill("SIGKILL");
      removeDir();
    };
    process.once("exit", onExit);
    const url = `postgres://corral@127.0.0.1:${port}/corral`;
    try {
      await waitReady(child, `postgres://corral@127.0.0.1:${port}/postgres`);
      await withClient(`postgres://corral@127.0.0.1:${port}/postgres`, (c) =>
        c.query("CREATE DATABASE corral"),
      );
    } catch (err) {
      process.removeListener("exit", onExit);
      await stopChild(child);
      throw err;
    }
    const stop = async () => {
      process.removeListener("exit", onExit);
      await stopChild(child);
      removeDir();
    };
    return { url, stop, pid: child.pid, dataDir };
  } catch (err) {
    removeDir();
    throw err;
  }
}

function initdbArgs(dataDir: string): string[] {
  return ["-D", dataDir, "-U", "corral", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"];
}

function spawnServer(
  binDir: string,
  dataDir: string,
  socketDir: string,
  port: number,
  owner: Owner | undefined,
): ChildProcess {
  const settings = [
    "listen_addresses=127.0.0.1",
    `unix_socket_directories=${socketDir}`,
    "fsync=off",
    "synchronous_commit=off",
    "full_page_writes=off",
    "shared_buffers=16MB",
    "max_connections=60",
    "log_min_messages=warning",
  ];
  const args = ["-D", dataDir, "-p", String(port), ...settings.flatMap((s) => ["-c", s])];
  return spawn(join(binDir, "postgres"), args, {
    ...owner,
    env: { PATH: process.env.PATH ?? "", LC_ALL: "C" },
    stdio: ["ignore", "ignore", "pipe"],
  });
}

function run(bin: string, args: string[], owner: Owner | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, {
      ...owner,
      env: { PATH: process.env.PATH ?? "", LC_ALL: "C" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const output = captureTail(child);
    child.once("error", reject);
    child.once("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`${bin} exited with ${code}: ${output()}`)),
    );
  });
}

/** Keeps the last 4 KiB of a child's stdout+stderr for error messages. */
function captureTail(child: ChildProcess): () => string {
  let tail = "";
  const add = (chunk: Buffer) => {
    tail = (tail + chunk.toString("utf8")).slice(-4096);
  };
  child.stdout?.on("data", add);
  child.stderr?.on("data", add);
  return () => tail;
}

async function waitReady(child: ChildProcess, url: string): Promise<void> {
  const output = captureTail(child);
  let exited = false;
  child.once("exit", () => {
    exited = true;
  });
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (exited) throw new Error(`postgres exited during start: ${output()}`);
    try {
      await withClient(url, (c) => c.query("SELECT 1"));
      return;
    } catch (err) {
      if (Date.now() > deadline)
        throw new Error(`postgres not ready: ${(err as Error).message}; ${output()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGINT");
  const timer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  client.on("error", () => {});
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
