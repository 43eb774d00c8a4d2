/**
 * A keyed gRPC call's two ends as the idempotency front sees them (pure apart from the stream
 * writes of replayAnswer): the request must be one length-prefixed message, and the answer the
 * client got from the upstream is captured (headers, messages up to a bound, trailers) into the
 * record format both protocols share (stored-answer.ts).
 */
import { constants, type ServerHttp2Stream } from "node:http2";
import { GRPC_STATUS } from "../../proto/grpc-status.ts";
import type { CallTap } from "../grpc/grpc-proxy.ts";
import { lowerCaseNames } from "../grpc/grpc-headers.ts";
import type { HeaderMap } from "../pipeline/forward-headers.ts";
import type { Finish } from "./idempotency-store.ts";
import type { StoredAnswer } from "./stored-answer.ts";
import { REPLAY_HEADER } from "./key-claim.ts";

/** True when `body` is exactly one gRPC message: a 5-byte prefix and the length it declares. */
export function isOneMessage(body: Buffer): boolean {
  return body.length >= 5 && body.readUInt32BE(1) === body.length - 5;
}

/** What the tap saw of the answer; `finish()` says how it ended once the client's stream closed. */
export class GrpcAnswerCapture implements CallTap {
  /** the request went to the upstream (else nothing ran and the key is free again) */
  wasSent = false;
  #headers: HeaderMap | undefined;
  #trailers: HeaderMap | undefined;
  #chunks: Buffer[] = [];
  #bytes = 0;
  readonly #limit: number;

  constructor(limit: number) {
    this.#limit = limit;
  }

  sent(): void {
    this.wasSent = true;
  }

  head(headers: HeaderMap, trailersOnly: boolean): void {
    this.#headers = headers;
    if (trailersOnly) this.#trailers = {};
  }

  data(chunk: Buffer): void {
    this.#bytes += chunk.length;
    if (this.#bytes <= this.#limit) this.#chunks.push(Buffer.from(chunk));
    else this.#chunks = [];
  }

  trailers(trailers: HeaderMap): void {
    this.#trailers = trailers;
  }

  /** done with the complete answer, too_large past the bound, unknown without the upstream's status */
  finish(): Finish {
    if (!this.#headers || !this.#trailers) return { state: "unknown" };
    if (this.#bytes > this.#limit) return { state: "too_large" };
    const body = Buffer.concat(this.#chunks);
    return { state: "done", status: 200, headers: this.#headers, body, trailers: this.#trailers };
  }
}

/** The stored answer on the client's stream, marked as a replay; the node's own headers are today's. */
export function replayAnswer(
  client: ServerHttp2Stream,
  answer: StoredAnswer,
  own: Record<string, string>,
): number {
  const trailersOnly = Object.keys(answer.trailers).length === 0;
  const last = trailersOnly ? answer.headers : answer.trailers;
  const code = Number(last["grpc-status"]);
  const head = { ...answer.headers, ...lowerCaseNames(own), [REPLAY_HEADER]: "true", ":status": 200 };
  const done = () => {
    if (!client.readableEnded) client.close(constants.NGHTTP2_NO_ERROR);
  };
  if (trailersOnly) {
    client.respond(head, { endStream: true });
    done();
  } else {
    client.respond(head, { waitForTrailers: true });
    client.once("wantTrailers", () => {
      client.sendTrailers(answer.trailers);
      done();
    });
    client.end(answer.body);
  }
  return Number.isInteger(code) ? code : GRPC_STATUS.UNKNOWN;
}
