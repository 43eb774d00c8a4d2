/**
 * Theory for shard overlap between two tenants.
 *
 * Zone-blind shuffle sharding draws a uniform k-subset of N slots, so the overlap of two shards is
 * hypergeometric: P(overlap = j) = C(a,j) C(N-a, b-j) / C(N, b). Zone-spread placement draws a
 * stratified sample instead: each zone gets a quota (water-filled, the extra places going to a
 * uniformly random subset of the zones that still have room, since zone ranks are uniformly random)
 * and a uniform subset of that zone's slots. zoneSpreadOverlap() computes that law exactly, by a
 * dynamic program over zones; with one zone it equals the hypergeometric law. Full overlap is more
 * likely under zone spread (e.g. 3 zones x 4 slots, k=3: 1/64 instead of 1/220), the price of
 * surviving a zone loss.
 */

/** ln C(n, r); -Infinity when r is outside 0..n. */
export function lnChoose(n: number, r: number): number {
  if (r < 0 || r > n) return Number.NEGATIVE_INFINITY;
  const m = Math.min(r, n - r);
  let sum = 0;
  for (let i = 0; i < m; i++) sum += Math.log((n - i) / (i + 1));
  return sum;
}

export function choose(n: number, r: number): number {
  return Math.round(Math.exp(lnChoose(n, r)));
}

/** P(|A ∩ B| = j), j = 0..min(a,b), for uniform random subsets of sizes a and b of n items. */
export function hypergeometricOverlap(n: number, a: number, b: number): number[] {
  const out: number[] = [];
  const lnTotal = lnChoose(n, b);
  for (let j = 0; j <= Math.min(a, b); j++) {
    out.push(Math.exp(lnChoose(a, j) + lnChoose(n - a, b - j) - lnTotal));
  }
  return out;
}

/** Per-zone quota under the round walk: fixed, or `base` plus one for `extras` of the open zones. */
type ZoneQuotas = { quota: (zone: number) => { base: number; open: boolean }; extras: number; open: number };

export function zoneQuotas(zoneSizes: readonly number[], k: number): ZoneQuotas {
  const total = zoneSizes.reduce((sum, size) => sum + size, 0);
  const target = Math.min(k, total);
  let level = 0;
  while (zoneSizes.reduce((sum, size) => sum + Math.min(size, level), 0) < target) level++;
  const below = zoneSizes.reduce((sum, size) => sum + Math.min(size, level - 1), 0);
  const open = zoneSizes.filter((size) => size >= level && level > 0).length;
  return {
    quota: (zone) => {
      const size = zoneSizes[zone]!;
      return size >= level && level > 0 ? { base: level - 1, open: true } : { base: size, open: false };
    },
    extras: target - below,
    open,
  };
}

function convolve(p: readonly number[], q: readonly number[]): number[] {
  const out = new Array<number>(p.length + q.length - 1).fill(0);
  for (let i = 0; i < p.length; i++) for (let j = 0; j < q.length; j++) out[i + j]! += p[i]! * q[j]!;
  return out;
}

function options(quotas: ZoneQuotas, zone: number): { size: number; extra: number }[] {
  const { base, open } = quotas.quota(zone);
  return open
    ? [
        { size: base, extra: 0 },
        { size: base + 1, extra: 1 },
      ]
    : [{ size: base, extra: 0 }];
}

/**
 * Exact P(overlap = j) between a tenant with shard size kA and one with kB under zone-spread
 * placement over zones of the given sizes. Index j runs 0..min(kA, kB, N).
 */
export function zoneSpreadOverlap(zoneSizes: readonly number[], kA: number, kB: number): number[] {
  const qa = zoneQuotas(zoneSizes, kA);
  const qb = zoneQuotas(zoneSizes, kB);
  let states = new Map<string, { a: number; b: number; poly: number[] }>([
    ["0,0", { a: 0, b: 0, poly: [1] }],
  ]);
  zoneSizes.forEach((size, zone) => {
    const next = new Map<string, { a: number; b: number; poly: number[] }>();
    for (const state of states.values()) {
      for (const oa of options(qa, zone)) {
        for (const ob of options(qb, zone)) {
          const a = state.a + oa.extra;
          const b = state.b + ob.extra;
          if (a > qa.extras || b > qb.extras) continue;
          const poly = convolve(state.poly, hypergeometricOverlap(size, oa.size, ob.size));
          const key = `${a},${b}`;
          const seen = next.get(key);
          next.set(key, { a, b, poly: seen ? addPolys(seen.poly, poly) : poly });
        }
      }
    }
    states = next;
  });
  const final = states.get(`${qa.extras},${qb.extras}`)!.poly;
  const ways = Math.exp(lnChoose(qa.open, qa.extras) + lnChoose(qb.open, qb.extras));
  const maxOverlap = Math.min(
    kA,
    kB,
    zoneSizes.reduce((sum, size) => sum + size, 0),
  );
  return Array.from({ length: maxOverlap + 1 }, (_, j) => (final[j] ?? 0) / ways);
}

function addPolys(p: readonly number[], q: readonly number[]): number[] {
  return Array.from({ length: Math.max(p.length, q.length) }, (_, i) => (p[i] ?? 0) + (q[i] ?? 0));
}
