/**
 * One schema for CORRAL_* settings, validated once at start: defaults in one place,
 * errors that name the variable, unknown CORRAL_* variables refused, result frozen.
 * Shared by both sides so every process reports bad configuration the same way.
 */
export type Setting<T> = {
  /** parses the raw string; throws Error with a reason (the variable name is added) */
  parse: (raw: string) => T;
  default?: T;
  /** documentation, used in errors and --help */
  doc: string;
  secret?: boolean;
};

export type Schema = Record<string, Setting<unknown>>;
export type ConfigOf<S extends Schema> = {
  readonly [K in keyof S]: S[K] extends Setting<infer T> ? T : never;
};

export class ConfigError extends Error {
  readonly code = "CORRAL_CONFIG_INVALID";
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid configuration:\n  ${problems.join("\n  ")}`);
    this.name = "ConfigError";
    this.problems = problems;
  }
}

export function loadConfig<S extends Schema>(
  schema: S,
  env: Record<string, string | undefined>,
  opts: { allowUnknown?: readonly string[] } = {},
): ConfigOf<S> {
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  for (const [name, setting] of Object.entries(schema)) {
    const raw = env[name];
    if (raw === undefined || raw === "") {
      if (setting.default === undefined) problems.push(`${name} is required: ${setting.doc}`);
      else out[name] = setting.default;
      continue;
    }
    try {
      out[name] = setting.parse(raw);
    } catch (err) {
      problems.push(`${name}: ${(err as Error).message} (${setting.doc})`);
    }
  }
  const known = new Set([...Object.keys(schema), ...(opts.allowUnknown ?? [])]);
  for (const name of Object.keys(env)) {
    if (name.startsWith("CORRAL_") && !known.has(name))
      problems.push(`${name} is not a setting this process knows`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(out) as ConfigOf<S>;
}

// ---- parsers ---------------------------------------------------------------

export function port(raw: string): number {
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < 0 || n > 65535)
    throw new Error(`expected a port number 0-65535, got ${JSON.stringify(raw)}`);
  return n;
}

export function int(min: number, max: number): (raw: string) => number {
  return (raw) => {
    const n = Number(raw);
    if (!/^-?\d+$/.test(raw) || n < min || n > max) {
      throw new Error(`expected an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
    }
    return n;
  };
}

export function bool(raw: string): boolean {
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new Error(`expected true or false, got ${JSON.stringify(raw)}`);
}

/** A fraction from 0 to 1, as a decimal number (0, 1, 0.01, .5, 1e-3). */
export function fraction(raw: string): number {
  const n = Number(raw);
  if (!/^(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/.test(raw) || !(n >= 0 && n <= 1))
    throw new Error(`expected a fraction from 0 to 1 (e.g. 0.01), got ${JSON.stringify(raw)}`);
  return n;
}

export function str(raw: string): string {
  if (raw.length > 4096) throw new Error("value is longer than 4096 characters");
  return raw;
}

export function url(protocols: readonly string[]): (raw: string) => string {
  return (raw) => {
    let parsed: URL;
    try {
      parsed = new URL(raw);
    } catch {
      // never echo the value: URLs carry passwords
      throw new Error("expected a URL, and the value does not parse as one");
    }
    if (!protocols.includes(parsed.protocol))
      throw new Error(`expected a ${protocols.join(" or ")} URL, got ${parsed.protocol}`);
    return raw;
  };
}

export function oneOf<T extends string>(values: readonly T[]): (raw: string) => T {
  return (raw) => {
    if (!values.includes(raw as T))
      throw new Error(`expected one of ${values.join(", ")}, got ${JSON.stringify(raw)}`);
    return raw as T;
  };
}
