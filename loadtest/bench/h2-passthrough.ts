import { connect, createServer, type Http2Server, type IncomingHttpHeaders } from "node:http2";
import { assertLoopbackUrl } from "../generator/loopback.ts";

/**
 * The bare `node:http2` passthrough the data plane's gRPC relay is compared with: an h2c server
 * that opens each incoming stream on one HTTP/2 session to the upstream with the same headers,
 * pipes the request body up and the response body down, and passes the response headers and
 * trailers on (a trailers-only answer as such). No auth, no limits, no logging, no metrics,
 * no timeouts. Run as a script it is its own process (one event loop, one core):
 * `node h2-passthrough.ts --upstream=127.0.0.1:PORT` prints {"address":…,"pid":…}.
 */
export async function startH2Passthrough(
  upstream: string,
): Promise<{ server: Http2Server; address: string }> {
  const origin = `http://${upstream}`;
  assertLoopbackUrl(origin);
  let session = connect(origin);
  session.on("error", () => {});
  const server = createServer();
  server.on("stream", (client, headers) => {
    if (session.closed || session.destroyed) {
      session = connect(origin);
      session.on("error", () => {});
    }
    const up = session.request(headers, { endStream: false });
    let trailers: IncomingHttpHeaders | undefined;
    client.pipe(up);
    up.on("response", (head) => {
      if (client.destroyed) return;
      if (head["grpc-status"] !== undefined) {
        client.respond(head, { endStream: true });
        return;
      }
      client.respond(head, { waitForTrailers: true });
      up.pipe(client);
    });
    up.on("trailers", (t) => {
      trailers = t;
    });
    client.on("wantTrailers", () => client.sendTrailers(trailers ?? {}));
    up.on("close", () => {
      if (!client.destroyed && up.rstCode) client.close(up.rstCode);
    });
    client.on("close", () => {
      if (!up.destroyed) up.close();
    });
    up.on("error", () => {});
    client.on("error", () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return { server, address: `127.0.0.1:${port}` };
}

if (import.meta.main) {
  const upstream = process.argv.find((a) => a.startsWith("--upstream="))?.slice("--upstream=".length);
  if (!upstream) throw new Error("usage: h2-passthrough.ts --upstream=127.0.0.1:PORT");
  const { server, address } = await startH2Passthrough(upstream);
  process.stdout.write(`${JSON.stringify({ address, pid: process.pid })}\n`);
  process.on("SIGTERM", () => server.close(() => process.exit(0)));
}
