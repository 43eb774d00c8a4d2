/**
 * The egress policy (proto/egress-policy.ts) at connect time: every connection to an upstream
 * is checked on the address it actually dials. A target host that is an address is judged
 * before any socket exists; a name is resolved here (dns.lookup, all addresses) and refused when
 * any address it resolves to is refused, so a name that resolves, or later re-resolves, to an
 * internal address (DNS rebinding) never gets a connection. undici pools take egressConnector;
 * HTTP/2 sessions take egressSessionOptions.
 */
import dns from "node:dns";
import { type LookupFunction, Socket } from "node:net";
import { buildConnector } from "undici";
import { checkAddress, checkHost, type EgressPolicy } from "../../proto/egress-policy.ts";

export const EGRESS_DENIED = "CORRAL_EGRESS_DENIED";

export class EgressDeniedError extends Error {
  readonly code = EGRESS_DENIED;
  constructor(reason: string) {
    super(`egress refused: ${reason}`);
    this.name = "EgressDeniedError";
  }
}

/** Told of every refused connection: the target host and port, and why. */
export type EgressDenialListener = (host: string, port: number, reason: string) => void;

export interface EgressGuard {
  policy: EgressPolicy;
  onDenied: EgressDenialListener;
}

/** The port a connection to `origin` (scheme://host[:port]) dials. */
export function originPort(origin: string): number {
  const url = new URL(origin);
  return url.port ? Number(url.port) : url.protocol === "https:" ? 443 : 80;
}

function refuse(guard: EgressGuard, host: string, port: number, reason: string): EgressDeniedError {
  guard.onDenied(host, port, reason);
  return new EgressDeniedError(reason);
}

/** dns.lookup (looked up at call time) that fails when any address of the name is refused. */
export function guardedLookup(guard: EgressGuard, port: number): LookupFunction {
  return (hostname, options, callback) => {
    dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, "", undefined);
      for (const a of addresses) {
        const denial = checkAddress(guard.policy, a.address, port);
        if (denial !== undefined) return callback(refuse(guard, hostname, port, denial), "", undefined);
      }
      if (options.all) return callback(null, addresses);
      const first = addresses[0];
      if (!first)
        return callback(
          Object.assign(new Error(`${hostname} has no address`), { code: "ENOTFOUND" }),
          "",
          undefined,
        );
      callback(null, first.address, first.family);
    });
  };
}

/** An undici connector for one origin's pool: the host checked first, names resolved by guardedLookup. */
export function egressConnector(
  guard: EgressGuard,
  origin: string,
  timeoutMs: number,
): buildConnector.connector {
  const port = originPort(origin);
  const connect = buildConnector({ timeout: timeoutMs, lookup: guardedLookup(guard, port) });
  return (opts, callback) => {
    const denial = checkHost(guard.policy, opts.hostname, port);
    if (denial !== undefined) {
      callback(refuse(guard, opts.hostname, port, denial), null);
      return;
    }
    connect(opts, callback);
  };
}

/**
 * http2.connect options for a session to `origin`: names resolved by guardedLookup; a refused
 * host gets a socket that fails with EgressDeniedError instead of a connection.
 */
export function egressSessionOptions(
  guard: EgressGuard,
  origin: string,
): { lookup: LookupFunction; createConnection?: () => Socket } {
  const port = originPort(origin);
  const host = new URL(origin).hostname;
  const lookup = guardedLookup(guard, port);
  const denial = checkHost(guard.policy, host, port);
  if (denial === undefined) return { lookup };
  return {
    lookup,
    createConnection: () => {
      const socket = new Socket();
      const err = refuse(guard, host, port, denial);
      process.nextTick(() => socket.destroy(err));
      return socket;
    },
  };
}
