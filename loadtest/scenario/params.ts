import { LoadtestError } from "../errors.ts";
import type { ParamValue } from "../report/model.ts";
import type { Params } from "./types.ts";

/**
 * Applies `--name=value` overrides to a scenario's default parameters. Each value is
 * parsed as the type of its default (number, boolean, string); a bare `--flag` sets a
 * boolean to true. Unknown names and unparsable values are refused, naming the
 * known parameters. Pure.
 */
export function applyOverrides<P extends Params>(defaults: P, overrides: Record<string, string | true>): P {
  const out: Params = { ...defaults };
  for (const [name, raw] of Object.entries(overrides)) {
    if (!Object.hasOwn(defaults, name))
      throw new LoadtestError(
        "CORRAL_LOADTEST_BAD_PARAM",
        `unknown parameter --${name}; known: ${
          Object.keys(defaults)
            .map((k) => `--${k}`)
            .join(", ") || "(none)"
        }`,
      );
    out[name] = parseAs(name, defaults[name]!, raw);
  }
  return out as P;
}

function parseAs(name: string, example: ParamValue, raw: string | true): ParamValue {
  if (typeof example === "boolean") {
    if (raw === true || raw === "true" || raw === "1") return true;
    if (raw === "false" || raw === "0") return false;
    throw new LoadtestError("CORRAL_LOADTEST_BAD_PARAM", `--${name} takes true or false, got ${raw}`);
  }
  if (raw === true)
    throw new LoadtestError("CORRAL_LOADTEST_BAD_PARAM", `--${name} needs a value (--${name}=…)`);
  if (typeof example === "number") {
    const value = Number(raw);
    if (raw.trim() === "" || !Number.isFinite(value))
      throw new LoadtestError(
        "CORRAL_LOADTEST_BAD_PARAM",
        `--${name} takes a number, got ${JSON.stringify(raw)}`,
      );
    return value;
  }
  return raw;
}

/** Splits argv into a positional list and `--name[=value]` options. Pure. */
export function parseArgs(argv: string[]): { positional: string[]; options: Record<string, string | true> } {
  const positional: string[] = [];
  const options: Record<string, string | true> = {};
  for (const arg of argv) {
    if (!arg.startsWith("--")) {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    if (eq === -1) options[arg.slice(2)] = true;
    else options[arg.slice(2, eq)] = arg.slice(eq + 1);
  }
  return { positional, options };
}
