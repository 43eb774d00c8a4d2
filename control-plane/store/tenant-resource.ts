/**
 * The tenant-scoped CRUD statements of a tenant-owned resource (routes, upstreams), made from one
 * description of its table, as Kong's DAO makes each entity's statements from its schema. Every
 * statement is scoped by tenant_id; ids are the kind's prefix and 16 random hex digits; lists
 * run in creation order; a violated constraint becomes the error the description names.
 */
import { randomBytes } from "node:crypto";
import { type Queryable, sqlState } from "./db.ts";

/** The fields every tenant resource has, set by the store. */
export interface TenantOwned {
  id: string;
  tenantId: string;
  createdAt: string;
}

/** The columns behind them. */
export interface TenantOwnedRow {
  id: string;
  tenant_id: string;
  created_at: Date;
}

/** What differs between two kinds of tenant resource: the table and how fields map to columns. */
export interface TenantTableSpec<
  Row extends TenantOwnedRow,
  Item extends TenantOwned,
  New,
  P extends string,
> {
  table: string;
  /** ids are this prefix and 16 hex digits */
  idPrefix: string;
  /** fields stored as they are, each in the column of its snake_case name */
  plain: readonly P[];
  /** the other columns a create or replace writes, each with its value of the input */
  columns: Readonly<Record<string, (input: New) => unknown>>;
  /** the other fields, read from a row */
  fields(row: Row): Omit<Item, keyof TenantOwned | P>;
  /** a violated constraint (by SQLSTATE) on create or replace, in the API's terms */
  writeRefusals?: Readonly<Record<string, (input: New, tenantId: string) => Error>>;
  /** a violated constraint (by SQLSTATE) on delete, in the API's terms */
  deleteRefusals?: Readonly<Record<string, (id: string) => Error>>;
}

/** The statements of one kind; the caller of insert has checked the tenant exists in the same transaction. */
export interface TenantTable<Item, New> {
  newId(): string;
  insert(q: Queryable, tenantId: string, input: New): Promise<Item>;
  /** replaces the fields with `input` (the caller merged the patch); undefined: none with this id in the tenant */
  replace(q: Queryable, tenantId: string, id: string, input: New): Promise<Item | undefined>;
  list(q: Queryable, tenantId: string): Promise<Item[]>;
  get(q: Queryable, tenantId: string, id: string): Promise<Item | undefined>;
  /** false when there is none with this id in the tenant */
  remove(q: Queryable, tenantId: string, id: string): Promise<boolean>;
}

/** `pathPrefix` -> `path_prefix` */
export const columnOf = (field: string) => field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** Throws the refusal `refusals` names for the error's SQLSTATE, else the error itself. */
function refuse<A extends unknown[]>(
  err: unknown,
  refusals: Record<string, (...args: A) => Error> = {},
  ...args: A
): never {
  const refusal = refusals[sqlState(err) ?? ""];
  throw refusal ? refusal(...args) : err;
}

export function tenantTable<
  Row extends TenantOwnedRow,
  Item extends TenantOwned,
  New,
  P extends keyof New & keyof Item & string,
>(spec: TenantTableSpec<Row, Item, New, P>): TenantTable<Item, New> {
  const written = [...spec.plain.map(columnOf), ...Object.keys(spec.columns)];
  const writers = [...spec.plain.map((f) => (input: New) => input[f]), ...Object.values(spec.columns)];
  const returning = `RETURNING ${["id", "tenant_id", ...written, "created_at"].join(", ")}`;
  const select = `SELECT ${["id", "tenant_id", ...written, "created_at"].join(", ")} FROM ${spec.table}`;
  const placeholders = written.map((_, i) => `$${i + 3}`);
  const insertSql =
    `INSERT INTO ${spec.table} (id, tenant_id, ${written.join(", ")}) ` +
    `VALUES ($1, $2, ${placeholders.join(", ")}) ${returning}`;
  const replaceSql =
    `UPDATE ${spec.table} SET ${written.map((c, i) => `${c} = ${placeholders[i]}`).join(", ")} ` +
    `WHERE tenant_id = $2 AND id = $1 ${returning}`;

  const toItem = (row: Row): Item => {
    const plain = Object.fromEntries(spec.plain.map((f) => [f, row[columnOf(f) as keyof Row]]));
    const own = { id: row.id, tenantId: row.tenant_id, createdAt: row.created_at.toISOString() };
    return { ...own, ...plain, ...spec.fields(row) } as unknown as Item;
  };
  const write = async (q: Queryable, sql: string, id: string, tenantId: string, input: New) => {
    try {
      const { rows } = await q.query<Row>(sql, [id, tenantId, ...writers.map((w) => w(input))]);
      return rows[0] && toItem(rows[0]);
    } catch (err) {
      return refuse(err, spec.writeRefusals, input, tenantId);
    }
  };
  const newId = () => `${spec.idPrefix}${randomBytes(8).toString("hex")}`;

  return {
    newId,
    insert: async (q, tenantId, input) => (await write(q, insertSql, newId(), tenantId, input))!,
    replace: (q, tenantId, id, input) => write(q, replaceSql, id, tenantId, input),
    async list(q, tenantId) {
      const { rows } = await q.query<Row>(`${select} WHERE tenant_id = $1 ORDER BY created_at, id`, [
        tenantId,
      ]);
      return rows.map(toItem);
    },
    async get(q, tenantId, id) {
      const { rows } = await q.query<Row>(`${select} WHERE tenant_id = $1 AND id = $2`, [tenantId, id]);
      return rows[0] && toItem(rows[0]);
    },
    async remove(q, tenantId, id) {
      try {
        const { rowCount } = await q.query(`DELETE FROM ${spec.table} WHERE tenant_id = $1 AND id = $2`, [
          tenantId,
          id,
        ]);
        return (rowCount ?? 0) > 0;
      } catch (err) {
        return refuse(err, spec.deleteRefusals, id);
      }
    },
  };
}
