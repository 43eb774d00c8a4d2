/** Postgres access: one pool per process, transactions, and the advisory-lock namespace. */
import pg from "pg";

/** Anything that runs a query: the pool or a client inside a transaction. */
export type Queryable = Pick<pg.ClientBase, "query">;
export type Pool = pg.Pool;
export type TxClient = pg.PoolClient;

/** Advisory locks use the two-int form: (CORRAL_LOCK_CLASS, one of LOCK_IDS). */
export const CORRAL_LOCK_CLASS = 0x436f7272; // "Corr"
export const LOCK_IDS = { migrations: 1, versionHistory: 2, operatorTokens: 10 } as const;
/** class of the per-key idempotency locks (objid = hashtext(scope, key)) */
export const IDEMPOTENCY_LOCK_CLASS = 0x49646d70; // "Idmp"

const INT8_OID = 20;

/** int8 columns (versions, epochs) arrive as JS numbers; they stay far below 2^53. */
const types = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === INT8_OID && format !== "binary"
      ? (value: string) => Number(value)
      : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

export interface PoolOptions {
  max?: number;
  applicationName?: string;
  /** a query not answered by then fails on the client side (default: none) */
  queryTimeoutMs?: number;
}

export function createPool(url: string, opts: PoolOptions = {}): Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.max ?? 10,
    application_name: opts.applicationName ?? "corral-control-plane",
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    query_timeout: opts.queryTimeoutMs,
    types,
  });
  // A client losing its connection (database restart, network) must not crash the process:
  // queries in flight fail on their own, the pool drops the client, the next query reconnects.
  pool.on("error", () => {});
  pool.on("connect", (client) => client.on("error", () => {}));
  return pool;
}

export type Isolation = "read committed" | "repeatable read" | "serializable";

export async function withTransaction<T>(
  pool: Pool,
  fn: (tx: TxClient) => Promise<T>,
  isolation: Isolation = "read committed",
): Promise<T> {
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query(`BEGIN ISOLATION LEVEL ${isolation.toUpperCase()}`);
    const result = await fn(client);
    await client.query("COMMIT");
    return result;
  } catch (err) {
    await client.query("ROLLBACK").catch(() => {
      broken = true;
    });
    throw err;
  } finally {
    client.release(broken);
  }
}

/** Runs a statement that changes rows (DELETE, UPDATE); true if it changed any. */
export async function changedRow(q: Queryable, sql: string, params: readonly unknown[]): Promise<boolean> {
  const { rowCount } = await q.query(sql, params as unknown[]);
  return (rowCount ?? 0) > 0;
}

/** SQLSTATE of a Postgres error, if it is one. */
export function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown })?.code;
  return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

export const SQLSTATE = {
  uniqueViolation: "23505",
  foreignKeyViolation: "23503",
  checkViolation: "23514",
} as const;

/** The constraint a Postgres integrity error names. */
export function violatedConstraint(err: unknown): string | undefined {
  const c = (err as { constraint?: unknown })?.constraint;
  return typeof c === "string" ? c : undefined;
}
