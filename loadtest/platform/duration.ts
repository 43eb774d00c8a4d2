/**
 * Durations on the command line: "90s", "35m", "2h", "1h30m" or a bare number of
 * seconds. Pure; throws a RangeError naming the bad value.
 */
const UNIT_SEC: Record<string, number> = { h: 3600, m: 60, s: 1 };

export function parseDurationSec(text: string): number {
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed);
  const parts = [...trimmed.matchAll(/(\d+(?:\.\d+)?)([hms])/g)];
  const rebuilt = parts.map((m) => m[0]).join("");
  if (parts.length === 0 || rebuilt !== trimmed)
    throw new RangeError(`expected a duration like 90s, 35m, 2h or 1h30m, got ${JSON.stringify(text)}`);
  return parts.reduce((sum, m) => sum + Number(m[1]) * UNIT_SEC[m[2]!]!, 0);
}
