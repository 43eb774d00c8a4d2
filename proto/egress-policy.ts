/**
 * Egress policy (docs/design.md §8.3): which upstream addresses a tenant's traffic may reach. Pure; the
 * control plane checks every upstream target with it when the target is created, and the data
 * plane again at connect time, on every address the target's name resolves to.
 *
 * Refused unless allowed:
 * - addresses: loopback (127/8, ::1), unspecified (0/8, ::), link-local (169.254/16, fe80::/10),
 *   private (10/8, 172.16/12, 192.168/16), CGNAT (100.64/10), ULA (fc00::/7), site-local
 *   (fec0::/10), multicast (224/4, ff00::/8), reserved and broadcast (240/4), IETF and
 *   documentation ranges (192.0.0/24, 192.0.2/24, 198.18/15, 198.51.100/24, 203.0.113/24,
 *   100::/64, 2001:db8::/32), Teredo (2001::/32), local NAT64 (64:ff9b:1::/48); an IPv6 address
 *   embedding an IPv4 one (IPv4-mapped ::ffff:0:0/96, IPv4-compatible ::/96, NAT64 64:ff9b::/96,
 *   6to4 2002::/16) is judged by the IPv4 address it embeds.
 * - names: `localhost` and `*.localhost`, `*.local` (so `*.cluster.local`), `*.localdomain`,
 *   `*.internal`, `*.svc`, `*.home.arpa`, and names without a dot (resolved through search
 *   domains, e.g. cluster service names).
 *
 * Host spellings are read the way the WHATWG URL parser reads them (`2130706433`, `0x7f.1` and
 * `0177.0.0.1` are 127.0.0.1; `[::ffff:127.0.0.1]` is IPv4-mapped), so every spelling of an
 * address is judged as that address.
 *
 * Operators allow exceptions (fleet-wide and per tenant) with entries of three kinds:
 * - CIDR `10.1.0.0/16`, `fd00::/8` (a bare address is a /32 or /128): those addresses;
 * - host `api.internal`: that name may be a target; the addresses it resolves to are still
 *   checked (a name allowed does not let it resolve to loopback: DNS rebinding);
 * - `host:port` `127.0.0.1:3000`, `[::1]:3000`, `api.internal:8443`: the address (or name) on
 *   that port only.
 */

export const MAX_ALLOW_ENTRIES = 64;
export const MAX_ALLOW_ENTRY_LENGTH = 260;

export type AllowEntry =
  | { kind: "cidr"; bytes: Uint8Array; prefix: number; text: string }
  | { kind: "host"; host: string; text: string }
  | { kind: "hostPort"; host: string; port: number; text: string };

export interface EgressPolicy {
  /** the entries in canonical text, sorted and joined: equal policies have equal keys */
  readonly key: string;
  readonly cidrs: readonly Extract<AllowEntry, { kind: "cidr" }>[];
  readonly hosts: ReadonlySet<string>;
  /** `host:port` (IPv6 hosts in brackets) */
  readonly hostPorts: ReadonlySet<string>;
  /** the fleet's own traffic (a node forwarding to a shard member): not a tenant's, not checked */
  readonly fleetInternal: boolean;
}

/** Why a host or address is refused; undefined means allowed. */
export type EgressDenial = string | undefined;

// ---- addresses --------------------------------------------------------------------

/**
 * A host the way a URL reads it: lower case, IPv4 spellings as dotted quads, IPv6 compressed and
 * without brackets, trailing dots dropped. Undefined when it is not a valid host.
 */
export function canonicalHost(host: string): string | undefined {
  if (host.length === 0 || host.length > 255) return undefined;
  const bare = host.startsWith("[") ? host : host.includes(":") ? `[${host}]` : host;
  let hostname: string;
  try {
    const url = new URL(`http://${bare}/`);
    if (url.port !== "" || url.pathname !== "/" || url.username || url.search || url.hash) return undefined;
    hostname = url.hostname;
  } catch {
    return undefined;
  }
  if (hostname.startsWith("[")) return hostname.slice(1, -1);
  const name = hostname.replace(/\.+$/, "");
  return /^[a-z0-9_]([a-z0-9_.-]*[a-z0-9_])?$/.test(name) && !name.includes("..") ? name : undefined;
}

/** The 4 or 16 bytes of a canonical address (canonicalHost), else undefined (a name). */
export function addressBytes(host: string): Uint8Array | undefined {
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(host)) return Uint8Array.from(host.split(".").map(Number));
  if (!host.includes(":")) return undefined;
  const [head, tail] = host.split("::") as [string, string | undefined];
  const groups = (s: string | undefined) => (s ? s.split(":").map((g) => Number.parseInt(g, 16)) : []);
  const left = groups(head);
  const right = groups(tail);
  const all =
    tail === undefined ? left : [...left, ...new Array(8 - left.length - right.length).fill(0), ...right];
  if (all.length !== 8 || all.some((g) => !(g >= 0 && g <= 0xffff))) return undefined;
  const bytes = new Uint8Array(16);
  all.forEach((g, i) => {
    bytes[2 * i] = g >> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  return bytes;
}

function inPrefix(bytes: Uint8Array, net: Uint8Array, prefix: number): boolean {
  if (bytes.length !== net.length) return false;
  for (let bit = 0; bit < prefix; bit += 8) {
    const bits = Math.min(8, prefix - bit);
    const mask = (0xff << (8 - bits)) & 0xff;
    if ((bytes[bit / 8]! & mask) !== (net[bit / 8]! & mask)) return false;
  }
  return true;
}

interface Range {
  net: Uint8Array;
  prefix: number;
  what: string;
}

const range = (cidr: string, what: string): Range => {
  const [addr, prefix] = cidr.split("/") as [string, string];
  return { net: addressBytes(canonicalHost(addr)!)!, prefix: Number(prefix), what };
};

const DENIED_V4: readonly Range[] = [
  range("0.0.0.0/8", "unspecified"),
  range("10.0.0.0/8", "private"),
  range("100.64.0.0/10", "shared (CGNAT)"),
  range("127.0.0.0/8", "loopback"),
  range("169.254.0.0/16", "link-local"),
  range("172.16.0.0/12", "private"),
  range("192.0.0.0/24", "IETF protocol assignments"),
  range("192.0.2.0/24", "documentation"),
  range("192.168.0.0/16", "private"),
  range("198.18.0.0/15", "benchmarking"),
  range("198.51.100.0/24", "documentation"),
  range("203.0.113.0/24", "documentation"),
  range("224.0.0.0/4", "multicast"),
  range("240.0.0.0/4", "reserved or broadcast"),
];

const DENIED_V6: readonly Range[] = [
  range("::/128", "unspecified"),
  range("::1/128", "loopback"),
  range("64:ff9b:1::/48", "local-use NAT64"),
  range("100::/64", "discard-only"),
  range("2001::/32", "Teredo"),
  range("2001:db8::/32", "documentation"),
  range("fc00::/7", "unique local"),
  range("fe80::/10", "link-local"),
  range("fec0::/10", "site-local"),
  range("ff00::/8", "multicast"),
];

/** IPv6 forms that carry an IPv4 address: the range, and where the 4 bytes sit. */
const EMBEDDING_V4: readonly (Range & { at: number })[] = [
  { ...range("::ffff:0:0/96", "IPv4-mapped"), at: 12 },
  { ...range("::/96", "IPv4-compatible"), at: 12 },
  { ...range("64:ff9b::/96", "NAT64"), at: 12 },
  { ...range("2002::/16", "6to4"), at: 2 },
];

/** The IPv4 address an IPv6 address stands for, if it embeds one; else the address itself. */
export function effectiveAddress(bytes: Uint8Array): Uint8Array {
  if (bytes.length !== 16) return bytes;
  if (inPrefix(bytes, DENIED_V6[0]!.net, 127)) return bytes; // :: and ::1 are themselves
  const embedding = EMBEDDING_V4.find((r) => inPrefix(bytes, r.net, r.prefix));
  return embedding ? bytes.slice(embedding.at, embedding.at + 4) : bytes;
}

/** What kind of non-public address this is ("loopback", "private", ...); undefined when public. */
export function addressClass(bytes: Uint8Array): string | undefined {
  const effective = effectiveAddress(bytes);
  const ranges = effective.length === 4 ? DENIED_V4 : DENIED_V6;
  return ranges.find((r) => inPrefix(effective, r.net, r.prefix))?.what;
}

const DENIED_SUFFIXES = ["localhost", "local", "localdomain", "internal", "svc", "home.arpa"];

/** Why a (canonical) name is internal, or undefined. */
export function nameClass(name: string): string | undefined {
  if (!name.includes(".")) return "a name without a dot (resolved through search domains)";
  const suffix = DENIED_SUFFIXES.find((s) => name === s || name.endsWith(`.${s}`));
  return suffix && `an internal name (*.${suffix})`;
}

function formatHost(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}

function formatAddress(bytes: Uint8Array): string {
  if (bytes.length === 4) return bytes.join(".");
  return canonicalHost(
    Array.from({ length: 8 }, (_, i) => ((bytes[2 * i]! << 8) | bytes[2 * i + 1]!).toString(16)).join(":"),
  )!;
}

// ---- allow entries ----------------------------------------------------------------

function parsePort(text: string): number | undefined {
  if (!/^\d{1,5}$/.test(text)) return undefined;
  const port = Number(text);
  return port >= 1 && port <= 65535 ? port : undefined;
}

function parseCidr(raw: string): AllowEntry | string {
  const [addr = "", prefixText = ""] = raw.split("/");
  const host = canonicalHost(addr);
  const bytes = host === undefined ? undefined : addressBytes(host);
  if (!bytes) return "must be an IP address before the /";
  const max = bytes.length * 8;
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max) return `must have a prefix length 0-${max}`;
  const prefix = Number(prefixText);
  const net = bytes.map((b, i) =>
    i * 8 >= prefix ? 0 : i * 8 + 8 <= prefix ? b : b & ((0xff << (8 - (prefix - i * 8))) & 0xff),
  );
  return { kind: "cidr", bytes: net, prefix, text: `${formatAddress(net)}/${prefix}` };
}

/** Splits `host:port` or `[v6]:port`; undefined when there is no port. */
function splitHostPort(raw: string): [string, string] | undefined {
  const bracketed = /^(\[[^\]]+\]):([^:]*)$/.exec(raw);
  if (bracketed) return [bracketed[1]!, bracketed[2]!];
  const plain = /^([^:[\]]+):([^:]*)$/.exec(raw);
  return plain ? [plain[1]!, plain[2]!] : undefined;
}

/** One allow entry (CIDR, host or host:port) in canonical form, or why it is not one. */
export function parseAllowEntry(raw: string): AllowEntry | string {
  if (raw.length === 0 || raw.length > MAX_ALLOW_ENTRY_LENGTH)
    return `must be 1-${MAX_ALLOW_ENTRY_LENGTH} characters`;
  if (raw.includes("/")) return parseCidr(raw);
  const split = splitHostPort(raw);
  const host = canonicalHost(split ? split[0] : raw);
  if (host === undefined) return "must be a CIDR, a host or host:port";
  const bytes = addressBytes(host);
  if (!split) {
    if (bytes) return { kind: "cidr", bytes, prefix: bytes.length * 8, text: `${host}/${bytes.length * 8}` };
    return { kind: "host", host, text: host };
  }
  const port = parsePort(split[1]);
  if (port === undefined) return "has a port outside 1-65535";
  return { kind: "hostPort", host, port, text: `${formatHost(host)}:${port}` };
}

/** The canonical text of each entry, or the first problem as [index, message]. */
export function normalizeAllowList(raw: readonly string[]): string[] | [number, string] {
  const out: string[] = [];
  for (const [i, entry] of raw.entries()) {
    const parsed = parseAllowEntry(entry);
    if (typeof parsed === "string") return [i, parsed];
    if (!out.includes(parsed.text)) out.push(parsed.text);
  }
  return out;
}

/** A policy from allow lists (fleet-wide and the tenant's); entries that do not parse are skipped. */
export function egressPolicy(...lists: readonly (readonly string[])[]): EgressPolicy {
  const entries = lists
    .flat()
    .map(parseAllowEntry)
    .filter((e): e is AllowEntry => typeof e !== "string");
  const cidrs = entries.filter((e) => e.kind === "cidr");
  const hosts = new Set(entries.flatMap((e) => (e.kind === "host" ? [e.host] : [])));
  const hostPorts = new Set(
    entries.flatMap((e) => (e.kind === "hostPort" ? [`${formatHost(e.host)}:${e.port}`] : [])),
  );
  const key = [...new Set(entries.map((e) => e.text))].sort().join(",");
  return { key, cidrs, hosts, hostPorts, fleetInternal: false };
}

export const DENY_ALL_EXCEPTIONS: EgressPolicy = egressPolicy();

/** For connections between fleet processes (addresses from the fleet's own slot table). */
export const FLEET_INTERNAL: EgressPolicy = Object.freeze({
  ...DENY_ALL_EXCEPTIONS,
  key: "fleet-internal",
  fleetInternal: true,
});

// ---- decisions --------------------------------------------------------------------

/** Whether `address` (any spelling) on `port` may be connected to; the reason if not. */
export function checkAddress(policy: EgressPolicy, address: string, port: number): EgressDenial {
  if (policy.fleetInternal) return undefined;
  const host = canonicalHost(address.replace(/%.*$/, ""));
  const bytes = host === undefined ? undefined : addressBytes(host);
  if (!bytes) return `${address} is not an IP address`;
  const what = addressClass(bytes);
  if (what === undefined) return undefined;
  const effective = effectiveAddress(bytes);
  const candidates = effective === bytes ? [bytes] : [bytes, effective];
  for (const b of candidates) {
    if (policy.cidrs.some((c) => inPrefix(b, c.bytes, c.prefix))) return undefined;
    if (policy.hostPorts.has(`${formatHost(formatAddress(b))}:${port}`)) return undefined;
  }
  return `${formatHost(host!)} is a ${what} address`;
}

/**
 * Whether a target host (name or address, any spelling) on `port` may be used, before any
 * name is resolved: addresses by checkAddress, names by nameClass and the host entries.
 */
export function checkHost(policy: EgressPolicy, host: string, port: number): EgressDenial {
  if (policy.fleetInternal) return undefined;
  const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  const canonical = canonicalHost(bare);
  if (canonical === undefined) return `${host} is not a valid host`;
  if (addressBytes(canonical)) return checkAddress(policy, canonical, port);
  const what = nameClass(canonical);
  if (what === undefined) return undefined;
  if (policy.hosts.has(canonical) || policy.hostPorts.has(`${canonical}:${port}`)) return undefined;
  return `${canonical} is ${what}`;
}

/** Host and port of an upstream target (base URL or gRPC host:port), else undefined. */
export function targetHostPort(target: string): { host: string; port: number } | undefined {
  try {
    const url = new URL(target.includes("://") ? target : `http://${target}`);
    const port = url.port ? Number(url.port) : url.protocol === "https:" ? 443 : 80;
    return { host: url.hostname, port };
  } catch {
    return undefined;
  }
}

/** checkHost on an upstream target. */
export function checkTarget(policy: EgressPolicy, target: string): EgressDenial {
  const hp = targetHostPort(target);
  if (!hp) return `${target} is not a valid target`;
  return checkHost(policy, hp.host, hp.port);
}
