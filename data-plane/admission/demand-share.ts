/**
 * How a tenant's limit is split over its shard members when they report their demand (requests
 * per second offered to them for that tenant, e.g. through Redis every few hundred ms).
 *
 * share(m) = floor/k + (1 - floor) * part(m), where part(m) splits the limit by demand:
 *  - without `limit`, or when the total demand D is at least the limit L:
 *      part(m) = demand(m) / D            (the limit is shared in proportion to demand);
 *  - when `limit` is given and D < L:
 *      part(m) = (demand(m) + (L - D) / k) / L
 *    every member gets its own demand plus an equal part of the unused limit, so a member that
 *    is idle for a moment (sporadic traffic, a client just moved to it) keeps real headroom
 *    instead of dropping to the floor.
 * Every member keeps at least `floor` of an equal share, the shares sum to 1, and busier
 * members get more.
 * Only reports younger than `freshMs` count; a member without a fresh report has demand 0.
 * With no fresh report at all (Redis gone, or the tenant idle) the previous shares stay, if
 * they were for the same members; otherwise the split is equal (1/k each).
 * Reports are external input: non-members, and demand that is negative, non-finite or above
 * MAX_DEMAND (absurd) are ignored.
 */
export type DemandReport = { member: string; demand: number; atMs: number };
export type ShareSource = "demand" | "previous" | "equal";
export type DemandShares = { shares: Map<string, number>; source: ShareSource };

export type DemandShareInput = {
  members: readonly string[];
  reports: readonly DemandReport[];
  nowMs: number;
  /** reports older than this are ignored; default 2000 ms */
  freshMs?: number;
  /** fraction of an equal share every member keeps, in (0, 1]; default 0.1. Shares are never 0. */
  floor?: number;
  previous?: ReadonlyMap<string, number>;
  /** the whole limit (req/s) the shares divide; enables the split of unused limit (above) */
  limit?: number;
};

export const MAX_DEMAND = 1e9;

function checkInput(members: readonly string[], floor: number): void {
  if (members.length === 0) throw new RangeError("a shard needs at least one member");
  if (new Set(members).size !== members.length) throw new RangeError("shard members must be distinct");
  if (!(floor > 0 && floor <= 1)) throw new RangeError(`floor must be in (0, 1], got ${floor}`);
}

/** Latest fresh, valid demand per member. */
function freshDemand(input: DemandShareInput): Map<string, number> {
  const freshMs = input.freshMs ?? 2000;
  const members = new Set(input.members);
  const latest = new Map<string, DemandReport>();
  for (const report of input.reports) {
    const valid = members.has(report.member) && report.demand >= 0 && report.demand <= MAX_DEMAND;
    const fresh = Number.isFinite(report.atMs) && input.nowMs - report.atMs <= freshMs;
    if (!valid || !fresh) continue;
    const seen = latest.get(report.member);
    if (!seen || report.atMs > seen.atMs) latest.set(report.member, report);
  }
  return new Map([...latest].map(([member, report]) => [member, report.demand]));
}

function equalShares(members: readonly string[]): Map<string, number> {
  return new Map(members.map((member) => [member, 1 / members.length]));
}

function sameMembers(previous: ReadonlyMap<string, number> | undefined, members: readonly string[]): boolean {
  return previous !== undefined && previous.size === members.length && members.every((m) => previous.has(m));
}

export function computeDemandShares(input: DemandShareInput): DemandShares {
  const floor = input.floor ?? 0.1;
  checkInput(input.members, floor);
  const demand = freshDemand(input);
  if (demand.size === 0) {
    return sameMembers(input.previous, input.members)
      ? { shares: new Map(input.previous), source: "previous" }
      : { shares: equalShares(input.members), source: "equal" };
  }
  const total = [...demand.values()].reduce((sum, d) => sum + d, 0);
  if (total === 0) return { shares: equalShares(input.members), source: "demand" };
  const k = input.members.length;
  const limit =
    input.limit !== undefined && Number.isFinite(input.limit) && input.limit > 0 ? input.limit : 0;
  const part = (d: number) => (total >= limit ? d / total : (d + (limit - total) / k) / limit);
  const shares = new Map(input.members.map((m) => [m, floor / k + (1 - floor) * part(demand.get(m) ?? 0)]));
  return { shares, source: "demand" };
}
