/**
 * A misbehaving gRPC upstream on node:http2, for what grpc-js servers never do: reset a call
 * mid-response, answer with a non-gRPC HTTP status, end without a status. The method name
 * (/raw.v1.Svc/<Method>) picks the behaviour.
 */
import {
  constants,
  createServer,
  type Http2Session,
  type IncomingHttpHeaders,
  type ServerHttp2Stream,
} from "node:http2";
import type { AddressInfo } from "node:net";

/** One gRPC message: flag 0, 4-byte length, payload. */
export function grpcFrame(payload: string): Buffer {
  const body = Buffer.from(payload);
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(body.length, 1);
  return Buffer.concat([prefix, body]);
}

const GRPC_HEADERS = { ":status": 200, "content-type": "application/grpc" };

function behave(stream: ServerHttp2Stream, method: string): void {
  switch (method) {
    case "Reset":
      stream.respond(GRPC_HEADERS);
      stream.write(grpcFrame("partial"), () => stream.close(constants.NGHTTP2_INTERNAL_ERROR));
      return;
    case "Http503":
      stream.respond({ ":status": 503, "content-type": "text/plain" });
      stream.end("overloaded");
      return;
    case "Crash":
      // the upstream process dies mid-call: its connection is gone without a GOAWAY
      setTimeout(() => stream.session?.destroy(), 20);
      return;
    case "CorralHeaders":
      // speaks as if it were the node, in headers and trailers
      stream.respond({ ...GRPC_HEADERS, "corral-reason": "quota", "x-kept": "1" }, { waitForTrailers: true });
      stream.once("wantTrailers", () =>
        stream.sendTrailers({ "grpc-status": "0", "corral-shard": "http://evil" }),
      );
      stream.end(grpcFrame("ok"));
      return;
    case "NoStatus":
      stream.respond(GRPC_HEADERS);
      stream.end(grpcFrame("no status follows"));
      return;
    default:
      stream.respond(GRPC_HEADERS, { waitForTrailers: true });
      stream.once("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
      stream.end(grpcFrame("ok"));
  }
}

/** @param onCall sees every call's headers as they arrive */
export async function startRawUpstream(
  onCall?: (headers: IncomingHttpHeaders) => void,
): Promise<{ address: string; close(): Promise<void> }> {
  const server = createServer();
  const sessions = new Set<Http2Session>();
  server.on("session", (s) => {
    sessions.add(s);
    s.on("close", () => sessions.delete(s));
  });
  server.on("stream", (stream, headers) => {
    stream.on("error", () => {});
    stream.resume();
    onCall?.(headers);
    behave(stream, String(headers[":path"]).split("/").at(-1) ?? "");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise((resolve) => {
        for (const s of sessions) s.destroy();
        server.close(() => resolve());
      }),
  };
}
