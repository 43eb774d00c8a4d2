/** Slots operators declare (PUT /admin/v1/slots/{name}): in the fleet even before a node connects. */
import type { DeclaredSlotRow } from "../placement/fleet-slots.ts";
import { changedRow, type Queryable } from "./db.ts";

export interface SlotDeclaration {
  zone: string;
  httpUrl?: string;
  grpcAddress?: string;
}

const COLUMNS = "name, zone, http_url, grpc_address, created_at, updated_at";

/** Creates or replaces a declaration; `created` tells which. */
export async function declareSlot(
  q: Queryable,
  name: string,
  d: SlotDeclaration,
): Promise<{ row: DeclaredSlotRow; created: boolean }> {
  const { rows } = await q.query<DeclaredSlotRow & { created: boolean }>(
    `INSERT INTO slots (name, zone, http_url, grpc_address) VALUES ($1, $2, $3, $4)
     ON CONFLICT (name) DO UPDATE SET zone = EXCLUDED.zone, http_url = EXCLUDED.http_url,
       grpc_address = EXCLUDED.grpc_address, updated_at = now()
     RETURNING ${COLUMNS}, (xmax = 0) AS created`,
    [name, d.zone, d.httpUrl ?? "", d.grpcAddress ?? ""],
  );
  const { created, ...row } = rows[0]!;
  return { row, created };
}

export async function undeclareSlot(q: Queryable, name: string): Promise<boolean> {
  return changedRow(q, "DELETE FROM slots WHERE name = $1", [name]);
}

export async function listDeclaredSlots(q: Queryable): Promise<DeclaredSlotRow[]> {
  const { rows } = await q.query<DeclaredSlotRow>(`SELECT ${COLUMNS} FROM slots ORDER BY name`);
  return rows;
}

/** The database's clock (ms), the one that wrote every last_seen. */
export async function databaseNowMs(q: Queryable): Promise<number> {
  const { rows } = await q.query<{ now_ms: number }>(
    "SELECT (extract(epoch FROM now()) * 1000)::float8 AS now_ms",
  );
  return rows[0]!.now_ms;
}
