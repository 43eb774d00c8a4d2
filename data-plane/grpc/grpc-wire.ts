/**
 * gRPC-over-HTTP/2 wire details the proxy needs, without a gRPC library (pure): status codes,
 * the grpc-timeout and grpc-message encodings, and how HTTP statuses and RST_STREAM codes map
 * to gRPC statuses (grpc/doc/http-grpc-status-mapping.md, and what grpc-js does on a reset).
 */
import { GRPC_STATUS } from "../../proto/grpc-status.ts";
import { constants } from "node:http2";

/** gRPC status codes by name (the shared table in proto/). */
export const GRPC_CODES = GRPC_STATUS;

/** lower-cased once: names are looked up per call */
const CODE_NAMES = Object.keys(GRPC_CODES).map((name) => name.toLowerCase());

/** Lower-case name of a status code for logs and metric labels ("unknown_code" outside 0-16). */
export function grpcCodeName(code: number): string {
  return CODE_NAMES[code] ?? "unknown_code";
}

/** The HTTP status each gRPC code corresponds to (google.rpc.Code), for status classes. */
const HTTP_EQUIVALENT = [200, 499, 500, 400, 504, 404, 409, 403, 429, 400, 409, 400, 501, 500, 503, 500, 401];

export function httpEquivalent(code: number): number {
  return HTTP_EQUIVALENT[code] ?? 500;
}

/** The status a gRPC client derives from a non-gRPC HTTP answer (http-grpc-status-mapping.md). */
export function grpcCodeForHttpStatus(status: number): number {
  switch (status) {
    case 400:
      return GRPC_CODES.INTERNAL;
    case 401:
      return GRPC_CODES.UNAUTHENTICATED;
    case 403:
      return GRPC_CODES.PERMISSION_DENIED;
    case 404:
      return GRPC_CODES.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return GRPC_CODES.UNAVAILABLE;
    default:
      return GRPC_CODES.UNKNOWN;
  }
}

/** The status a gRPC client reports when its stream is reset with this RST_STREAM code. */
export function grpcCodeForReset(rstCode: number): number {
  switch (rstCode) {
    case constants.NGHTTP2_REFUSED_STREAM:
      return GRPC_CODES.UNAVAILABLE;
    case constants.NGHTTP2_CANCEL:
      return GRPC_CODES.CANCELLED;
    case constants.NGHTTP2_ENHANCE_YOUR_CALM:
      return GRPC_CODES.RESOURCE_EXHAUSTED;
    case constants.NGHTTP2_INADEQUATE_SECURITY:
      return GRPC_CODES.PERMISSION_DENIED;
    default:
      return GRPC_CODES.INTERNAL;
  }
}

/** gRPC bounds TimeoutValue to 8 digits. */
const MAX_TIMEOUT_VALUE = 99_999_999;
const TIMEOUT_UNITS: [string, number][] = [
  ["m", 1],
  ["S", 1000],
  ["M", 60_000],
  ["H", 3_600_000],
];

/**
 * A grpc-timeout value for `ms` (> 0), rounded down so the receiver never waits longer than we
 * do: "250m", "1500u" under a millisecond, coarser units when the value needs more than 8 digits.
 */
export function encodeGrpcTimeout(ms: number): string {
  if (ms < 1) return `${Math.max(1, Math.floor(ms * 1000))}u`;
  for (const [unit, factor] of TIMEOUT_UNITS) {
    const amount = Math.floor(ms / factor);
    if (amount <= MAX_TIMEOUT_VALUE) return `${amount}${unit}`;
  }
  return `${MAX_TIMEOUT_VALUE}H`;
}

/** grpc-message: UTF-8, every byte outside printable ASCII (and "%") percent-encoded. */
export function encodeGrpcMessage(text: string): string {
  let out = "";
  for (const byte of Buffer.from(text, "utf8")) {
    if (byte >= 0x20 && byte <= 0x7e && byte !== 0x25) out += String.fromCharCode(byte);
    else out += `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** The content types of gRPC over HTTP/2: application/grpc, application/grpc+proto, ... */
export function isGrpcContentType(value: string | string[] | undefined): boolean {
  return typeof value === "string" && /^application\/grpc(?:[+;]|$)/i.test(value);
}
