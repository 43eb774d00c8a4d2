/**
 * Fleet-wide admission settings (DESIGN §5): the node shedder's thresholds, and shadow mode
 * and kill switch of the shedder and the rate limiters. One JSON row in `settings`.
 */
import type { AdmissionSettings } from "../../proto/gen/corral/snapshot/v1/snapshot.ts";
import type { Queryable } from "./db.ts";

export const DEFAULT_ADMISSION: Readonly<AdmissionSettings> = Object.freeze({
  maxInflight: 0,
  maxEventLoopDelayMs: 0,
  shedShadow: false,
  shedDisabled: false,
  rateShadow: false,
  rateDisabled: false,
});

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

export async function getAdmission(q: Queryable): Promise<StoredAdmission> {
  const { rows } = await q.query<{ value: Partial<AdmissionSettings>; updated_at: Date }>(
    "SELECT value, updated_at FROM settings WHERE name = 'admission'",
  );
  return { admission: withDefaults(rows[0]?.value), updatedAt: rows[0]?.updated_at ?? null };
}

export async function putAdmission(q: Queryable, admission: AdmissionSettings): Promise<StoredAdmission> {
  const value = withDefaults(admission);
  const { rows } = await q.query<{ updated_at: Date }>(
    `INSERT INTO settings (name, value) VALUES ('admission', $1)
     ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value, updated_at = now()
     RETURNING updated_at`,
    [JSON.stringify(value)],
  );
  return { admission: value, updatedAt: rows[0]!.updated_at };
}
