/**
 * One platform per state directory: PGlite's files and the data planes' caches must not be
 * shared by two running platforms. The lock file holds the owner's pid; a stale one (its
 * process gone) is taken over.
 */
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";

export const LOCK_FILE = "platform.lock";

export interface DirLock {
  release(): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

export async function lockDir(dir: string, pid = process.pid): Promise<DirLock> {
  const path = join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(path, `${pid}\n`, { flag: "wx" });
      return { release: () => rm(path, { force: true }) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const owner = Number((await readFile(path, "utf8").catch(() => "")).trim());
    if (Number.isInteger(owner) && owner > 0 && owner !== pid && alive(owner))
      throw new Error(
        `${dir} is in use by another platform (pid ${owner}); stop it or choose another directory`,
      );
    await rm(path, { force: true });
  }
  throw new Error(`could not lock ${dir}`);
}
