/** Loopback TCP ports for the servers the tests start: a free one, and a wait until one listens. */
import { connect } from "node:net";
import { freePort } from "../../bin/dev/ports.ts";
import { poll } from "./poll.ts";

export { freePort };

/** A loopback port nothing listens on (a free port, released): connections to it are refused. */
export const closedPort = freePort;

function accepts(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect(port, host);
    sock.once("connect", () => {
      sock.destroy();
      resolve(true);
    });
    sock.once("error", () => resolve(false));
  });
}

/** Resolves once something accepts TCP connections on host:port, or rejects after timeoutMs. */
export async function waitForPort(port: number, timeoutMs = 10_000, host = "127.0.0.1"): Promise<void> {
  await poll(`something listening on ${host}:${port}`, () => accepts(port, host), timeoutMs, 50);
}
