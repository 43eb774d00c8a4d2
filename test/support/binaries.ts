/** Finds the server binaries the tests start (installed by .ci/install-deps). */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

function goBin(): string | undefined {
  try {
    const out = execFileSync("go", ["env", "GOBIN", "GOPATH"], { encoding: "utf8" }).split("\n");
    return out[0] || (out[1] ? join(out[1], "bin") : undefined);
  } catch {
    return undefined;
  }
}

/** Absolute path of `name` from PATH or the Go bin directory; throws naming the install step. */
export function findBinary(name: string): string {
  for (const dir of (process.env.PATH ?? "").split(":")) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  const gb = goBin();
  if (gb && existsSync(join(gb, name))) return join(gb, name);
  throw new Error(`${name} not found on PATH or in the Go bin directory: run .ci/install-deps`);
}
