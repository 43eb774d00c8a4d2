/**
 * Postgres wire-protocol framing, pure: turns a byte stream into whole messages.
 * Used by the dev Postgres (PGlite behind a socket) to serialise client sessions and
 * to fan notifications out to the connections that LISTEN.
 */

export const SSL_REQUEST_CODE = 80877103;
export const GSSENC_REQUEST_CODE = 80877104;
export const CANCEL_REQUEST_CODE = 80877102;
export const PROTOCOL_V3 = 196608;
/** larger messages are refused: the dev database never needs them */
export const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

export type FrontendKind = "ssl" | "gssenc" | "cancel" | "startup" | "typed";

export interface WireMessage {
  /** the type byte as a character ("Q", "S", "A", ...) or "" for untyped start-up messages */
  type: string;
  kind: FrontendKind;
  bytes: Uint8Array;
}

export class WireError extends Error {
  readonly code = "CORRAL_DEV_PG_PROTOCOL";
}

/** Splits a stream of length-prefixed messages; a frontend stream starts with untyped start-up messages. */
export class WireFramer {
  #buffer: Buffer = Buffer.alloc(0);
  #started: boolean;

  constructor(side: "frontend" | "backend") {
    this.#started = side === "backend";
  }

  push(chunk: Uint8Array): WireMessage[] {
    this.#buffer = this.#buffer.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.#buffer, chunk]);
    const out: WireMessage[] = [];
    for (;;) {
      const message = this.#started ? this.#nextTyped() : this.#nextUntyped();
      if (!message) return out;
      out.push(message);
    }
  }

  #nextTyped(): WireMessage | undefined {
    if (this.#buffer.length < 5) return undefined;
    const length = this.#buffer.readInt32BE(1);
    if (length < 4 || length > MAX_MESSAGE_BYTES) throw new WireError(`bad message length ${length}`);
    return this.#take(1 + length, String.fromCharCode(this.#buffer[0]!), "typed");
  }

  #nextUntyped(): WireMessage | undefined {
    if (this.#buffer.length < 8) return undefined;
    const length = this.#buffer.readInt32BE(0);
    if (length < 8 || length > 10_000) throw new WireError(`bad start-up message length ${length}`);
    const kind = untypedKind(this.#buffer.readInt32BE(4));
    const message = this.#take(length, "", kind);
    if (message && kind === "startup") this.#started = true;
    return message;
  }

  #take(total: number, type: string, kind: FrontendKind): WireMessage | undefined {
    if (this.#buffer.length < total) return undefined;
    const bytes = new Uint8Array(this.#buffer.subarray(0, total));
    this.#buffer = this.#buffer.subarray(total);
    return { type, kind, bytes };
  }
}

function untypedKind(code: number): FrontendKind {
  if (code === SSL_REQUEST_CODE) return "ssl";
  if (code === GSSENC_REQUEST_CODE) return "gssenc";
  if (code === CANCEL_REQUEST_CODE) return "cancel";
  if (code === PROTOCOL_V3) return "startup";
  throw new WireError(`unsupported protocol code ${code}`);
}

/** The zero-terminated string starting at `offset`, and the offset after it. */
export function readCString(bytes: Uint8Array, offset: number): [string, number] {
  const end = bytes.indexOf(0, offset);
  if (end < 0) throw new WireError("unterminated string");
  return [Buffer.from(bytes.subarray(offset, end)).toString("utf8"), end + 1];
}

/** Channel of a NotificationResponse ("A") message. */
export function notificationChannel(message: WireMessage): string {
  return readCString(message.bytes, 9)[0];
}

/** SQL text of a simple Query ("Q") or Parse ("P") message, else undefined. */
export function messageSql(message: WireMessage): string | undefined {
  if (message.type === "Q") return readCString(message.bytes, 5)[0];
  if (message.type === "P") return readCString(message.bytes, readCString(message.bytes, 5)[1])[0];
  return undefined;
}

export interface ListenChange {
  listen: string[];
  unlisten: string[];
  unlistenAll: boolean;
}

/** LISTEN / UNLISTEN statements in a piece of SQL (channel names folded like Postgres does). */
export function listenChanges(sql: string): ListenChange {
  const change: ListenChange = { listen: [], unlisten: [], unlistenAll: false };
  for (const statement of sql.split(";")) {
    const match = /^\s*(LISTEN|UNLISTEN)\s+("(?:[^"]|"")+"|\*|[A-Za-z_][\w$]*)\s*$/i.exec(statement);
    if (!match) continue;
    const verb = match[1]!.toUpperCase();
    if (match[2] === "*") change.unlistenAll ||= verb === "UNLISTEN";
    else (verb === "LISTEN" ? change.listen : change.unlisten).push(foldIdentifier(match[2]!));
  }
  return change;
}

function foldIdentifier(identifier: string): string {
  if (identifier.startsWith('"')) return identifier.slice(1, -1).replaceAll('""', '"');
  return identifier.toLowerCase();
}

/** A typed message with the given body (for messages the server injects itself). */
export function typedMessage(type: string, body: Uint8Array = new Uint8Array(0)): Uint8Array {
  const out = Buffer.alloc(5 + body.length);
  out.write(type, 0, "latin1");
  out.writeInt32BE(4 + body.length, 1);
  out.set(body, 5);
  return out;
}
