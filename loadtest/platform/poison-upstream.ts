import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * The poison tenant's upstream: answers every request "ok" after `--delay-ms`, and marks
 * the answers to paths containing `/poison` with the header the data planes are told to
 * crash on (CORRAL_FAULT_CRASH_ON_HEADER, a test-only fault hook): the request of death.
 * Prints {"url","pid"} once listening; SIGTERM closes it.
 */
export const POISON_HEADER = "x-corral-poison";

function argValue(name: string, fallback: string): string {
  const prefix = `--${name}=`;
  return process.argv.find((a) => a.startsWith(prefix))?.slice(prefix.length) ?? fallback;
}

if (import.meta.main) {
  const delayMs = Number(argValue("delay-ms", "0"));
  const body = Buffer.from("ok\n");
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () =>
      setTimeout(() => {
        const poison = (req.url ?? "").includes("/poison") ? { [POISON_HEADER]: "1" } : {};
        res.writeHead(200, { "content-type": "text/plain", "content-length": body.length, ...poison });
        res.end(body);
      }, delayMs),
    );
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, "127.0.0.1", () => {
    const { port } = server.address() as AddressInfo;
    process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}`, pid: process.pid })}\n`);
  });
  process.on("SIGTERM", () => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  });
}
