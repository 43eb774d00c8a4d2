/**
 * Public hosts are exclusive: a host is public for one tenant only, so a keyless request is
 * identified by its host alone (docs/design.md §5.1). Before a route is written, its hosts are
 * locked (transaction-scoped advisory locks, in sorted order so two writers cannot deadlock)
 * and checked against the other tenants' routes: a public route may not take a host any other
 * tenant's route names, and no route may name a host another tenant has public. Another
 * tenant's routes are only counted, never read or named.
 */
import { CorralError } from "../errors.ts";
import type { Queryable } from "./db.ts";

/** class of the per-host locks (objid = hashtext(host)) */
export const HOST_LOCK_CLASS = 0x486f7374; // "Host"

/** Throws CORRAL_ADMIN_CONFLICT when one of `hosts` is taken as described above. */
export async function claimRouteHosts(
  q: Queryable,
  tenantId: string,
  hosts: readonly string[],
  isPublic: boolean,
): Promise<void> {
  if (hosts.length === 0) return;
  const sorted = [...new Set(hosts.map((h) => h.toLowerCase()))].sort();
  for (const host of sorted)
    await q.query("SELECT pg_advisory_xact_lock($1, hashtext($2))", [HOST_LOCK_CLASS, host]);
  const { rows } = await q.query<{ host: string }>(
    `SELECT DISTINCT h AS host FROM routes, unnest(hosts) AS h
      WHERE tenant_id <> $1 AND hosts && $2::text[] AND lower(h) = ANY($2::text[]) AND (public OR $3)
      ORDER BY 1 LIMIT 1`,
    [tenantId, sorted, isPublic],
  );
  const taken = rows[0]?.host;
  if (taken === undefined) return;
  const what = isPublic ? "is used by another tenant's route" : "is public for another tenant";
  throw new CorralError(
    "CORRAL_ADMIN_CONFLICT",
    `host ${taken} ${what}: a public host belongs to one tenant`,
    {
      errors: [{ path: "body/hosts", message: `${taken} ${what}` }],
    },
  );
}
