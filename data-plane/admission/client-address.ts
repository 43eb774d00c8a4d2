/**
 * The key a public route's per-client bucket is kept under (pure). IPv4 (and IPv6 that embeds
 * an IPv4 address: mapped, NAT64, 6to4...) counts per address. An IPv6 client counts per
 * prefix, /64 by default: one subscriber or host usually gets a whole /64, so limiting per
 * address would let it rotate through 2^64 of them. Anything unparsable counts as itself.
 */
import { addressBytes, canonicalHost, effectiveAddress } from "../../proto/egress-policy.ts";

export const DEFAULT_IPV6_PREFIX = 64;

export function clientAddressKey(address: string, ipv6Prefix = DEFAULT_IPV6_PREFIX): string {
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(address)) return address;
  const host = canonicalHost(address);
  const raw = host === undefined ? undefined : addressBytes(host);
  if (!raw) return address;
  const bytes = effectiveAddress(raw);
  if (bytes.length === 4) return bytes.join(".");
  const kept = Buffer.from(bytes);
  for (let bit = ipv6Prefix; bit < 128; bit++) kept[bit >> 3]! &= ~(0x80 >> (bit & 7));
  return `${kept.toString("hex")}/${ipv6Prefix}`;
}
