/**
 * The active health check of a gRPC target: grpc.health.v1.Health/Check for the configured
 * service on the target's shared HTTP/2 session (upstream-sessions.ts, so it connects through
 * the tenant's egress policy like any call). Passes only on grpc-status 0 with status SERVING;
 * anything else — another status, NOT_SERVING, an unimplemented health service, a reset, no
 * answer within the check's timeout — fails. The answer is read up to 1 KiB.
 */
import { constants } from "node:http2";
import type { HealthProbe } from "../upstream/health-checker.ts";
import type { UpstreamSessions } from "./upstream-sessions.ts";

const CHECK_PATH = "/grpc.health.v1.Health/Check";
const MAX_ANSWER_BYTES = 1024;
const SERVING = 1;

/** A length-prefixed HealthCheckRequest { string service = 1 }. */
export function healthCheckRequest(service: string): Buffer {
  const name = Buffer.from(service, "utf8");
  const message =
    name.length === 0 ? Buffer.alloc(0) : Buffer.concat([Buffer.from([0x0a]), varint(name.length), name]);
  const frame = Buffer.alloc(5);
  frame.writeUInt32BE(message.length, 1);
  return Buffer.concat([frame, message]);
}

/** The status of a length-prefixed HealthCheckResponse { ServingStatus status = 1 } (0 when absent). */
export function servingStatus(answer: Buffer): number {
  if (answer.length < 5 || answer[0] !== 0) return 0;
  const end = Math.min(answer.length, 5 + answer.readUInt32BE(1));
  for (let i = 5; i < end; ) {
    const tag = answer[i++]!;
    const [value, next] = readVarint(answer, i, end);
    if (tag === 0x08) return value;
    if ((tag & 7) === 2)
      i = next + value; // a length-delimited field we do not know
    else if ((tag & 7) === 0) i = next;
    else return 0;
  }
  return 0;
}

function varint(n: number): Buffer {
  const out: number[] = [];
  for (; n >= 0x80; n >>>= 7) out.push((n & 0x7f) | 0x80);
  out.push(n);
  return Buffer.from(out);
}

function readVarint(b: Buffer, i: number, end: number): [number, number] {
  let value = 0;
  for (let shift = 0; i < end && shift < 35; shift += 7) {
    const byte = b[i++]!;
    value += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) return [value, i];
  }
  return [0, end];
}

export function grpcHealthProbe(sessions: UpstreamSessions): HealthProbe {
  return async ({ target, upstream, egress, hc }) => {
    const picked = sessions.sessionTo(target, egress, upstream.connectTimeoutMs);
    if (await sessions.whenReady(picked)) return false;
    return new Promise<boolean>((resolve) => {
      let stream: ReturnType<typeof picked.session.request>;
      try {
        stream = picked.session.request({
          ":method": "POST",
          ":path": CHECK_PATH,
          "content-type": "application/grpc",
          te: "trailers",
          "user-agent": "corral-health-check",
        });
      } catch {
        resolve(false);
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      let status: unknown;
      const timer = setTimeout(() => stream.close(constants.NGHTTP2_CANCEL), hc.timeoutMs);
      stream.on("response", (headers) => {
        status = headers["grpc-status"];
      });
      stream.on("trailers", (trailers) => {
        status = trailers["grpc-status"];
      });
      stream.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_ANSWER_BYTES) stream.close(constants.NGHTTP2_CANCEL);
        else chunks.push(chunk);
      });
      stream.on("error", () => {});
      stream.once("close", () => {
        clearTimeout(timer);
        const answered = status === "0" && stream.rstCode === constants.NGHTTP2_NO_ERROR;
        resolve(answered && servingStatus(Buffer.concat(chunks)) === SERVING);
      });
      stream.end(healthCheckRequest(hc.grpcService));
    });
  };
}
