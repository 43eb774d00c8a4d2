import { execFile } from "node:child_process";
import { access, constants } from "node:fs/promises";
import { delimiter, join } from "node:path";
import { promisify } from "node:util";

/**
 * Locates an executable: an explicit environment variable first, then PATH, then
 * extra directories (e.g. `$(go env GOPATH)/bin` for Go-built tools, /usr/sbin for
 * nginx on Debian). Returns undefined when it is nowhere.
 */
async function isExecutable(path: string): Promise<boolean> {
  return access(path, constants.X_OK).then(
    () => true,
    () => false,
  );
}

export async function findBinary(name: string, options: { envVar?: string; extraDirs?: string[] } = {}) {
  const explicit = options.envVar ? process.env[options.envVar] : undefined;
  if (explicit) return (await isExecutable(explicit)) ? explicit : undefined;
  const dirs = [...(process.env.PATH ?? "").split(delimiter), ...(options.extraDirs ?? [])].filter(Boolean);
  for (const dir of dirs) {
    const candidate = join(dir, name);
    if (await isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** `$(go env GOPATH)/bin`, or [] when Go is not installed. */
export async function goBinDirs(): Promise<string[]> {
  try {
    const { stdout } = await promisify(execFile)("go", ["env", "GOPATH"], { timeout: 5000 });
    return stdout
      .trim()
      .split(delimiter)
      .filter(Boolean)
      .map((p) => join(p, "bin"));
  } catch {
    return [];
  }
}
