/**
 * A data-plane node in its own process (`corral data-plane`), serving a snapshot published to a
 * filesystem blob store, without a control plane (its sync URL is a closed port: it serves what
 * it pulled). Its log goes to a file, as in production behind a log shipper. For gRPC benches
 * and black-box tests of what the node logs.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { open, readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { DATA_PLANE_V8_FLAGS } from "../../data-plane/node-flags.ts";
import type { Tenant } from "../../proto/gen/corral/snapshot/v1/snapshot.ts";
import { FsBlobStore } from "../../runtime/blob-store/fs-blob-store.ts";
import * as fx from "../data-plane/fixtures.ts";
import { testNodeCredential } from "../data-plane/support.ts";
import { poll } from "../support/poll.ts";
import { closedPort } from "../support/ports.ts";

const BIN = fileURLToPath(new URL("../../bin/corral.ts", import.meta.url));

export interface NodeProcess {
  child: ChildProcess;
  /** host:port of its gRPC ingress */
  grpc: string;
  /** http://host:port of its ops endpoints */
  ops: string;
  /** every JSON line the node has logged so far */
  logLines(): Promise<Array<Record<string, unknown>>>;
  stop(): Promise<void>;
}

/** A fixture tenant whose routes are all gRPC routes. */
export async function startNodeProcess(o: {
  dir: string;
  tenants: Tenant[];
  /** CORRAL_* settings on top of the required ones (CORRAL_SLOT: its credential follows) */
  env?: Record<string, string>;
  /** node options before the script, e.g. --cpu-prof */
  nodeArgs?: string[];
}): Promise<NodeProcess> {
  const pair = fx.signingPair();
  await fx.publish(new FsBlobStore(join(o.dir, "blobs")), fx.sign(fx.snapshot(1, o.tenants), pair));
  const logPath = join(o.dir, "dp.log");
  const log = await open(logPath, "w");
  // the node credential must be the slot's (the node refuses to start otherwise)
  const slot = o.env?.CORRAL_SLOT ?? "dp-0";
  // the V8 flags a data-plane process runs with in production (data-plane/node-flags.ts)
  const child = spawn(process.execPath, [...DATA_PLANE_V8_FLAGS, ...(o.nodeArgs ?? []), BIN, "data-plane"], {
    cwd: o.dir,
    stdio: ["ignore", log.fd, "inherit"],
    env: {
      ...process.env,
      CORRAL_CP_URL: `http://127.0.0.1:${await closedPort()}`,
      CORRAL_NODE_TOKEN: testNodeCredential(slot),
      CORRAL_VERIFY_KEY: pair.verifyKeyText,
      CORRAL_BLOB_URL: pathToFileURL(join(o.dir, "blobs")).href,
      CORRAL_SLOT: slot,
      CORRAL_HTTP_PORT: "0",
      CORRAL_GRPC_PORT: "0",
      CORRAL_OPS_PORT: "0",
      CORRAL_SNAPSHOT_CAPACITY: String(fx.CAPACITY),
      ...o.env,
    },
  });
  await log.close();
  const exited = once(child, "exit");
  const logLines = async () =>
    (await readFile(logPath, "utf8"))
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited;
  };
  try {
    const listening = await poll(
      "the node to listen and apply its config",
      async () => {
        if (child.exitCode !== null) throw new Error(`the node exited: ${await readFile(logPath, "utf8")}`);
        const lines = await logLines();
        return lines.some((l) => l.msg === "config applied") && lines.find((l) => l.msg === "listening");
      },
      30_000,
    );
    return { child, grpc: listening.grpc as string, ops: listening.ops as string, logLines, stop };
  } catch (err) {
    child.kill("SIGKILL");
    throw err;
  }
}
