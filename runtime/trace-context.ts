/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/) as plain strings, pure: parsing a
 * received `traceparent` strictly, checking a `tracestate` against the format and size limits,
 * formatting the `traceparent` a hop sends on, and new ids from an injected random source. No
 * OpenTelemetry objects: with export off this is all a request pays for its trace.
 */

/** The parts of a valid `traceparent` (version 00 layout). */
export interface TraceParent {
  /** 32 lower-case hex digits, not all zero */
  traceId: string;
  /** the sender's span: 16 lower-case hex digits, not all zero */
  parentId: string;
  /** the sampled flag (trace-flags bit 0) */
  sampled: boolean;
}

const HEX2 = /^[0-9a-f]{2}$/;
const TRACEPARENT_00 = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const ZERO_TRACE = "0".repeat(32);
const ZERO_SPAN = "0".repeat(16);
/** version 00 is exactly this long; later versions may append "-..." fields */
const TRACEPARENT_LENGTH = 55;

/**
 * The `traceparent` header, or undefined when absent or malformed (the receiver then starts a
 * new trace). Strict: lower-case hex, version ff refused, version 00 exactly 55 characters, a
 * later version's extra fields ignored, all-zero ids refused. Repeated headers (a list) are
 * malformed.
 */
export function parseTraceparent(value: string | string[] | undefined): TraceParent | undefined {
  if (typeof value !== "string" || value.length < TRACEPARENT_LENGTH) return undefined;
  const version = value.slice(0, 2);
  if (!HEX2.test(version) || version === "ff") return undefined;
  if (value.length > TRACEPARENT_LENGTH && (version === "00" || value[TRACEPARENT_LENGTH] !== "-"))
    return undefined;
  const m = TRACEPARENT_00.exec(value.slice(0, TRACEPARENT_LENGTH));
  if (!m || m[2] === ZERO_TRACE || m[3] === ZERO_SPAN) return undefined;
  return { traceId: m[2]!, parentId: m[3]!, sampled: (Number.parseInt(m[4]!, 16) & 1) === 1 };
}

/** The `traceparent` a hop sends: version 00, its own span as the parent. */
export function formatTraceparent(traceId: string, spanId: string, sampled: boolean): string {
  return `00-${traceId}-${spanId}-${sampled ? "01" : "00"}`;
}

/** W3C limits: at most 32 list members; 512 characters is the size every hop must propagate. */
export const TRACESTATE_MAX_MEMBERS = 32;
export const TRACESTATE_MAX_LENGTH = 512;
const SIMPLE_KEY = "[a-z][_0-9a-z\\-*/]{0,255}";
const TENANT_KEY = "[a-z0-9][_0-9a-z\\-*/]{0,240}@[a-z][_0-9a-z\\-*/]{0,13}";
const MEMBER = new RegExp(
  `^(${SIMPLE_KEY}|${TENANT_KEY})=([\\x20-\\x2b\\x2d-\\x3c\\x3e-\\x7e]{0,255}[\\x21-\\x2b\\x2d-\\x3c\\x3e-\\x7e])$`,
);

/**
 * The `tracestate` to pass on, or undefined when it is absent or not valid (a tracestate that
 * does not parse is dropped; the traceparent stays). Repeated headers are one list; at most 512
 * characters and 32 members, keys unique.
 */
export function validTracestate(value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  const joined = typeof value === "string" ? value : value.join(",");
  if (joined.length > TRACESTATE_MAX_LENGTH) return undefined;
  const keys = new Set<string>();
  const members: string[] = [];
  for (const raw of joined.split(",")) {
    const member = raw.trim();
    if (member === "") continue; // empty list members are allowed
    const m = MEMBER.exec(member);
    if (!m || keys.has(m[1]!)) return undefined;
    keys.add(m[1]!);
    members.push(member);
  }
  if (members.length === 0 || members.length > TRACESTATE_MAX_MEMBERS) return undefined;
  return members.join(",");
}

/** New trace and span ids from random bytes (crypto, drawn in blocks: one draw serves many ids). */
export class TraceIds {
  readonly #fill: (buf: Buffer) => void;
  readonly #pool: Buffer;
  #at: number;

  /** `fill`: writes random bytes into the buffer (crypto.randomFillSync; a seeded one in tests) */
  constructor(fill: (buf: Buffer) => void, poolBytes = 4096) {
    this.#fill = fill;
    this.#pool = Buffer.alloc(poolBytes);
    this.#at = poolBytes;
  }

  traceId(): string {
    return this.#hex(16, ZERO_TRACE);
  }

  spanId(): string {
    return this.#hex(8, ZERO_SPAN);
  }

  #hex(bytes: number, zero: string): string {
    for (;;) {
      if (this.#at + bytes > this.#pool.length) {
        this.#fill(this.#pool);
        this.#at = 0;
      }
      const id = this.#pool.toString("hex", this.#at, this.#at + bytes);
      this.#at += bytes;
      if (id !== zero) return id;
    }
  }
}

/** A request's place in its trace, as a hop passes it on. */
export interface RequestTrace {
  readonly traceId: string;
  /** this hop's span: the parent of whatever it calls */
  readonly spanId: string;
  readonly sampled: boolean;
  /** the received tracestate when valid, passed on unchanged */
  readonly tracestate?: string;
}

/** The trace headers a hop sends on: its own span as the parent. */
export function outgoingTraceHeaders(trace: RequestTrace): { traceparent: string; tracestate?: string } {
  const traceparent = formatTraceparent(trace.traceId, trace.spanId, trace.sampled);
  return trace.tracestate === undefined ? { traceparent } : { traceparent, tracestate: trace.tracestate };
}
