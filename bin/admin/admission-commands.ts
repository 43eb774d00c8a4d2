/**
 * `corral admin admission get|set`: the fleet's admission settings every node applies — the
 * shedder's thresholds, and shadow mode and kill switch of the shedder, the rate limiters and
 * the period quotas. The admin API replaces the whole setting (PUT), so `set` reads it first
 * and changes only the options given (`--quota-shadow` on, `--no-quota-shadow` off).
 */
import type { AdminClient } from "./admin-client.ts";
import { type AdminCommand, body, flag, integer, type Options } from "./admin-commands.ts";

const ADMISSION_PATH = "/admin/v1/settings/admission";

/** --option -> field of the admission setting: the thresholds (whole numbers), then the switches. */
const THRESHOLDS = {
  "max-inflight": "maxInflight",
  "max-event-loop-delay-ms": "maxEventLoopDelayMs",
} as const;
export const SWITCHES = {
  "shed-shadow": "shedShadow",
  "shed-disabled": "shedDisabled",
  "rate-shadow": "rateShadow",
  "rate-disabled": "rateDisabled",
  "quota-shadow": "quotaShadow",
  "quota-disabled": "quotaDisabled",
} as const;
export const ADMISSION_OPTIONS = [...Object.keys(THRESHOLDS), ...Object.keys(SWITCHES)];

/** The fields the options name (switches: true or false as given). Pure. */
export function admissionChanges(o: Options): Record<string, number | boolean> {
  const thresholds = Object.entries(THRESHOLDS).map(([option, field]) => [field, integer(o, option)]);
  const switches = Object.entries(SWITCHES).map(([option, field]) => [field, flag(o, option)]);
  return body(Object.fromEntries([...thresholds, ...switches])) as Record<string, number | boolean>;
}

/** The current setting with the changes over it (its updatedAt is the API's, not part of a PUT). */
async function setAdmission(c: AdminClient, o: Options): Promise<unknown> {
  const { updatedAt: _, ...current } = await c.get<Record<string, unknown>>(ADMISSION_PATH);
  return c.put(ADMISSION_PATH, { ...current, ...admissionChanges(o) });
}

export const ADMISSION_COMMANDS: Readonly<Record<string, AdminCommand>> = {
  "admission get": { args: [], options: [], run: (c) => c.get(ADMISSION_PATH) },
  "admission set": {
    args: [],
    options: ADMISSION_OPTIONS,
    mutates: true,
    run: (c, _a, o) => setAdmission(c, o),
  },
};
