/**
 * Preloaded into data-plane processes by the egress test (NODE_OPTIONS --import): names under
 * `.rebind.test` resolve to 127.0.0.1, as a hostile DNS server would answer for a public-looking
 * name (DNS rebinding). Every other name goes to the system resolver.
 */
import dns from "node:dns";

const REBIND_SUFFIX = ".rebind.test";
const systemLookup = dns.lookup;

type Callback = (
  err: NodeJS.ErrnoException | null,
  address: string | dns.LookupAddress[],
  family?: number,
) => void;

function rebindingLookup(hostname: string, options: unknown, callback?: Callback): void {
  const cb = (typeof options === "function" ? options : callback) as Callback;
  const opts = (typeof options === "object" && options !== null ? options : {}) as dns.LookupOptions;
  if (!hostname.endsWith(REBIND_SUFFIX)) {
    (systemLookup as (h: string, o: dns.LookupOptions, c: Callback) => void)(hostname, opts, cb);
    return;
  }
  process.nextTick(() =>
    opts.all ? cb(null, [{ address: "127.0.0.1", family: 4 }]) : cb(null, "127.0.0.1", 4),
  );
}

dns.lookup = rebindingLookup as typeof dns.lookup;
