/** Filesystem blob store: the embedded default (`file:///dir`). Writes are temp + fsync + rename. */
import { randomBytes } from "node:crypto";
import { mkdir, open, rename, stat, readFile, unlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import { assertValidKey, BlobNotFoundError, BlobTooLargeError, type BlobStore } from "./blob-store.ts";

export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  const fh = await open(tmp, "w");
  try {
    await fh.writeFile(bytes);
    await fh.sync();
  } catch (err) {
    await fh.close();
    await unlink(tmp).catch(() => {});
    throw err;
  }
  await fh.close();
  await rename(tmp, path);
}

export class FsBlobStore implements BlobStore {
  readonly root: string;
  readonly location: string;

  constructor(root: string) {
    this.root = root;
    this.location = `file://${root}`;
  }

  async put(key: string, bytes: Uint8Array): Promise<void> {
    assertValidKey(key);
    await writeFileAtomic(join(this.root, key), bytes);
  }

  async get(key: string, maxBytes: number): Promise<Buffer> {
    assertValidKey(key);
    const path = join(this.root, key);
    try {
      const { size } = await stat(path);
      if (size > maxBytes) throw new BlobTooLargeError(key, size, maxBytes);
      const bytes = await readFile(path);
      if (bytes.length > maxBytes) throw new BlobTooLargeError(key, bytes.length, maxBytes);
      return bytes;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new BlobNotFoundError(key);
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    assertValidKey(key);
    try {
      await unlink(join(this.root, key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
  }
}
