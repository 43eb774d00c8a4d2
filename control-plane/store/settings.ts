/**
 * Fleet-wide settings, one JSON row per name in `settings`: admission (docs/design.md §5: the node
 * shedder's thresholds, shadow mode and kill switch of the shedder and the rate limiters) and
 * egress (docs/design.md §8.3: the fleet's egress exceptions, canonical allow entries).
 */
import { AdmissionSettings } from "../../proto/gen/corral/snapshot/v1/snapshot.ts";
import type { Queryable } from "./db.ts";

/** Every field at its proto default: no shedding thresholds, nothing in shadow mode or disabled. */
export const DEFAULT_ADMISSION: Readonly<AdmissionSettings> = Object.freeze(AdmissionSettings.create());

export interface StoredAdmission {
  admission: AdmissionSettings;
  /** null while never set (defaults) */
  updatedAt: Date | null;
}

/** Stored values over the defaults: a field missing from the row (older writer) takes its default. */
function withDefaults(value: Partial<AdmissionSettings> | undefined): AdmissionSettings {
  const out = { ...DEFAULT_ADMISSION };
  for (const key of Object.keys(DEFAULT_ADMISSION) as (keyof AdmissionSettings)[]) {
    const v = value?.[key];
    if (typeof v === typeof DEFAULT_ADMISSION[key]) (out as Record<string, unknown>)[key] = v;
  }
  return out;
}

type SettingName = "admission" | "egress";

async function readSetting<T>(
  q: Queryable,
  name: SettingName,
): Promise<{ value?: T; updatedAt: Date | null }> {
  const { rows } = await q.query<{ value: T; updated_at: Date }>(
    "SELECT value, updated_at FROM settings WHERE name = $1",
    [name],
  );
  return { value: rows[0]?.value, updatedAt: rows[0]?.updated_at ?? null };
}

/** Replaces the row; returns when it was written. */
async function writeSetting(q: Queryable, name: SettingName, value: unknown): Promise<Date> {
  const { rows } = await q.query<{ updated_at: Date }>(
    `INSERT INTO settings (name, value) VALUES ($1, $2)
     ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value, updated_at = now()
     RETURNING updated_at`,
    [name, JSON.stringify(value)],
  );
  return rows[0]!.updated_at;
}

export async function getAdmission(q: Queryable): Promise<StoredAdmission> {
  const { value, updatedAt } = await readSetting<Partial<AdmissionSettings>>(q, "admission");
  return { admission: withDefaults(value), updatedAt };
}

export async function putAdmission(q: Queryable, admission: AdmissionSettings): Promise<StoredAdmission> {
  const value = withDefaults(admission);
  return { admission: value, updatedAt: await writeSetting(q, "admission", value) };
}

export interface StoredEgress {
  /** canonical allow entries (proto/egress-policy.ts normalizeAllowList) */
  allow: string[];
  /** null while never set (nothing allowed) */
  updatedAt: Date | null;
}

export async function getEgress(q: Queryable): Promise<StoredEgress> {
  const { value, updatedAt } = await readSetting<{ allow?: unknown }>(q, "egress");
  const allow = Array.isArray(value?.allow) ? value.allow.filter((e) => typeof e === "string") : [];
  return { allow, updatedAt };
}

/** `allow` already normalised. */
export async function putEgress(q: Queryable, allow: string[]): Promise<StoredEgress> {
  return { allow, updatedAt: await writeSetting(q, "egress", { allow }) };
}

/** The fleet's and the tenant's allow lists, for checking the tenant's upstream targets. */
export async function egressAllowOf(q: Queryable, tenantId: string): Promise<string[][]> {
  const { rows } = await q.query<{ egress_allow: string[] }>(
    "SELECT egress_allow FROM tenants WHERE id = $1",
    [tenantId],
  );
  return [(await getEgress(q)).allow, rows[0]?.egress_allow ?? []];
}
