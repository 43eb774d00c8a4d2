import { startEchoGrpcServer } from "./echo-grpc-server.ts";

/**
 * The gRPC Echo upstream in its own process, for the gRPC side-by-side bench:
 * `node echo-grpc-main.ts --delay-ms=0` prints {"address","pid"} once listening.
 */
const delay = process.argv.find((a) => a.startsWith("--delay-ms="))?.slice("--delay-ms=".length) ?? "0";
const server = await startEchoGrpcServer({ delayMs: Number(delay) });
process.stdout.write(`${JSON.stringify({ address: server.address, pid: process.pid })}\n`);
process.on("SIGTERM", () => server.close().then(() => process.exit(0)));
