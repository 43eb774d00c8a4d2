/**
 * Who sent a request (pure but for the HMAC): headers cannot lie (docs/design.md §8.9).
 *
 * - A front load balancer is believed only when the connection comes from an address in
 *   CORRAL_TRUSTED_PROXIES: then the client is the rightmost X-Forwarded-For entry that is not
 *   itself a trusted proxy, and its X-Forwarded-Proto (http or https) is taken. From anyone
 *   else these headers mean nothing: the client is the socket's peer.
 * - A shard member's forward (corral-forwarded-by) is believed only with a valid corral-hop:
 *   an HMAC-SHA256, keyed with the fleet's hop key (derived by the CP from the node secret and
 *   carried in the snapshot, which only fleet processes read), over the forwarding slot, the
 *   original client address and an expiry 30 s out. A hop without one is
 *   a client's forgery: the header is ignored (and never forwarded).
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { BlockList, isIP } from "node:net";

/** How long a signed hop stays valid: node clocks agree to well under this (README). */
export const HOP_TTL_MS = 30_000;

export interface ClientOrigin {
  /** the client's address as this node believes it */
  address: string;
  proto: "http" | "https";
  /** the slot of the shard member that forwarded the request, when its hop is signed */
  forwardedBy?: string;
}

/** CORRAL_TRUSTED_PROXIES: addresses and CIDR blocks, comma-separated (empty: trust none). */
export function parseTrustedProxies(raw: string): BlockList {
  const list = new BlockList();
  for (const item of raw
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [address = "", bits] = item.split("/");
    const family = isIP(address);
    const max = family === 6 ? 128 : 32;
    const prefix = bits === undefined ? max : Number(bits);
    if (family === 0 || !Number.isInteger(prefix) || prefix < 0 || prefix > max || bits === "")
      throw new Error(`expected addresses or CIDR blocks like 10.0.0.0/8, got ${JSON.stringify(item)}`);
    list.addSubnet(address, prefix, family === 6 ? "ipv6" : "ipv4");
  }
  return list;
}

function trusts(list: BlockList, address: string): boolean {
  const family = isIP(address);
  return family !== 0 && list.check(address, family === 6 ? "ipv6" : "ipv4");
}

function single(value: string | string[] | undefined): string {
  return Array.isArray(value) ? value.join(",") : (value ?? "");
}

/** The client behind trusted proxies: the rightmost X-Forwarded-For entry that is not one. */
function behindProxies(list: BlockList, peer: string, xff: string): string {
  const hops = xff
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  let client = peer;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!;
    if (isIP(hop) === 0) break; // garbage: the last address a trusted proxy vouched for stands
    client = hop;
    if (!trusts(list, hop)) break;
  }
  return client;
}

function hopMac(key: Buffer, slot: string, client: string, expires: number): Buffer {
  return createHmac("sha256", key).update(`${slot}\n${client}\n${expires}`).digest();
}

/** The corral-hop value a node sends with a forward: `for=<client>;exp=<ms>;sig=<hex>`. */
export function signHop(key: Buffer, slot: string, client: string, nowMs: number): string {
  const expires = nowMs + HOP_TTL_MS;
  return `for=${client};exp=${expires};sig=${hopMac(key, slot, client, expires).toString("hex")}`;
}

/** The original client of a signed, unexpired hop from `slot`; undefined for anything else. */
export function verifyHop(key: Buffer, slot: string, hop: string, nowMs: number): string | undefined {
  const m = /^for=([0-9a-fA-F.:]{2,45});exp=(\d{1,15});sig=([0-9a-f]{64})$/.exec(hop);
  if (!m || isIP(m[1]!) === 0) return undefined;
  const expires = Number(m[2]);
  if (expires < nowMs || expires > nowMs + 2 * HOP_TTL_MS) return undefined;
  const ok = timingSafeEqual(Buffer.from(m[3]!, "hex"), hopMac(key, slot, m[1]!, expires));
  return ok ? m[1] : undefined;
}

/** The peer is a trusted proxy (its connections carry many clients). */
export function trustsPeer(rules: OriginRules, peer: string): boolean {
  return trusts(rules.trustedProxies, peer);
}

export interface OriginRules {
  trustedProxies: BlockList;
  /** the fleet's current hop key (from the snapshot); undefined: no peer hop is believed */
  hopKey: () => Buffer | undefined;
  /** wall-clock ms (hops expire by it) */
  now: () => number;
}

/**
 * Where a request comes from, by the socket's peer and only the headers that peer may set.
 * peerTrusted: trustsPeer(rules, peer) when the caller decided it already (once per connection).
 */
export function clientOrigin(
  rules: OriginRules,
  peer: string,
  headers: Record<string, string | string[] | undefined>,
  peerTrusted?: boolean,
): ClientOrigin {
  const slot = single(headers["corral-forwarded-by"]);
  const key = slot ? rules.hopKey() : undefined;
  if (slot && key) {
    const client = verifyHop(key, slot, single(headers["corral-hop"]), rules.now());
    if (client) return { address: client, proto: "http", forwardedBy: slot };
  }
  if (!(peerTrusted ?? trusts(rules.trustedProxies, peer))) return { address: peer, proto: "http" };
  const proto = single(headers["x-forwarded-proto"]).trim().toLowerCase() === "https" ? "https" : "http";
  return { address: behindProxies(rules.trustedProxies, peer, single(headers["x-forwarded-for"])), proto };
}
