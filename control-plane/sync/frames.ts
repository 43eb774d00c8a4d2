/**
 * SyncFrame encoding and the checks every inbound frame passes before the CP acts on it.
 * Pure: bytes in, a typed frame or a CorralError (CORRAL_SYNC_BAD_FRAME) out.
 */
import { type Hello, SyncFrame } from "../../proto/gen/corral/sync/v1/sync.ts";
import { CorralError } from "../errors.ts";
import type { NodeHello } from "../store/nodes.ts";

export type FrameKind = keyof SyncFrame;
export const FRAME_KINDS: readonly FrameKind[] = [
  "hello",
  "welcome",
  "announce",
  "ack",
  "nack",
  "status",
  "drain",
];

export interface DecodedFrame {
  kind: FrameKind;
  frame: SyncFrame;
}

export function encodeFrame(frame: SyncFrame): Buffer {
  return Buffer.from(SyncFrame.encode(SyncFrame.fromPartial(frame)).finish());
}

/** Decodes one binary frame; it must carry exactly one member of the oneof. */
export function decodeFrame(bytes: Uint8Array): DecodedFrame {
  let frame: SyncFrame;
  try {
    frame = SyncFrame.decode(bytes);
  } catch (err) {
    throw new CorralError("CORRAL_SYNC_BAD_FRAME", `frame does not decode: ${(err as Error).message}`);
  }
  const kinds = FRAME_KINDS.filter((k) => frame[k] !== undefined);
  if (kinds.length !== 1)
    throw new CorralError("CORRAL_SYNC_BAD_FRAME", `frame carries ${kinds.length} messages, expected 1`);
  return { kind: kinds[0]!, frame };
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

function checkText(field: string, value: string, max: number, pattern?: RegExp): string {
  if (value.length > max)
    throw new CorralError("CORRAL_SYNC_BAD_FRAME", `hello.${field} is longer than ${max}`);
  if (pattern && !pattern.test(value))
    throw new CorralError(
      "CORRAL_SYNC_BAD_FRAME",
      `hello.${field} ${JSON.stringify(value.slice(0, 64))} is not valid`,
    );
  return value;
}

/** The node identity a Hello declares, checked. */
export function helloToNode(hello: Hello): NodeHello {
  if (!Number.isSafeInteger(hello.version) || hello.version < 0)
    throw new CorralError("CORRAL_SYNC_BAD_FRAME", "hello.version is not a valid version");
  return {
    slot: checkText("slot", hello.slot, 63, NAME_RE),
    zone: checkText("zone", hello.zone, 63, NAME_RE),
    nodeId: checkText("node", hello.node || hello.slot, 200, /^[\x21-\x7e]+$/),
    httpUrl: checkText("http_url", hello.httpUrl, 2048, /^(https?:\/\/\S+)?$/),
    grpcAddress: checkText("grpc_address", hello.grpcAddress, 512, /^\S*$/),
    build: checkText("build", hello.build, 200),
    version: hello.version,
  };
}

/** A short, bounded error string from a node (Nack reason, fetch error). */
export function boundedText(text: string, max = 1024): string {
  return text.length > max ? `${text.slice(0, max)}...` : text;
}
