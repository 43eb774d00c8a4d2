/**
 * A database row as the API shows it: snake_case columns under camelCase names, timestamps as
 * ISO 8601 strings (a null timestamp stays null), every other value as it is. Pure.
 */
type CamelCase<S extends string> = S extends `${infer Head}_${infer Tail}`
  ? `${Head}${Capitalize<CamelCase<Tail>>}`
  : S;

type JsonValue<V> = V extends Date ? string : V;

export type RowJson<R> = { [K in keyof R as CamelCase<K & string>]: JsonValue<R[K]> };

export function rowJson<R extends object>(row: R): RowJson<R> {
  const out: Record<string, unknown> = {};
  for (const [column, value] of Object.entries(row)) {
    const name = column.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
    out[name] = value instanceof Date ? value.toISOString() : value;
  }
  return out as RowJson<R>;
}
