/** One contract, two backends: the filesystem store and S3 against a real MinIO. */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { BlobNotFoundError, type BlobStore, BlobTooLargeError } from "../../runtime/blob-store/blob-store.ts";
import { openBlobStore } from "../../runtime/blob-store/open-blob-store.ts";
import { type S3Server, startS3Server } from "../support/minio.ts";

function contract(name: string, open: () => Promise<BlobStore>) {
  describe(name, () => {
    let store: BlobStore;
    before(async () => {
      store = await open();
    });

    test("bytes round-trip exactly, including an 8 MiB blob", async () => {
      const big = randomBytes(8 * 1024 * 1024);
      await store.put("snapshots/00000000000000000001.snap", big);
      const back = await store.get("snapshots/00000000000000000001.snap", big.length);
      assert.equal(back.length, big.length);
      assert.ok(back.equals(big));
    });

    test("overwrite replaces the whole object", async () => {
      await store.put("snapshots/LATEST", Buffer.from("first, longer value"));
      await store.put("snapshots/LATEST", Buffer.from("second"));
      assert.equal((await store.get("snapshots/LATEST", 100)).toString(), "second");
    });

    test("missing keys raise BlobNotFoundError", async () => {
      await assert.rejects(store.get("snapshots/nope", 10), BlobNotFoundError);
    });

    test("objects larger than the limit are refused", async () => {
      await store.put("snapshots/big", Buffer.alloc(2048));
      await assert.rejects(store.get("snapshots/big", 1024), BlobTooLargeError);
    });

    test("delete removes the object; deleting an absent one succeeds", async () => {
      await store.put("snapshots/00000000000000000002.snap", Buffer.from("old"));
      await store.put("snapshots/00000000000000000003.snap", Buffer.from("kept"));
      await store.delete("snapshots/00000000000000000002.snap");
      await assert.rejects(store.get("snapshots/00000000000000000002.snap", 10), BlobNotFoundError);
      assert.equal((await store.get("snapshots/00000000000000000003.snap", 10)).toString(), "kept");
      await store.delete("snapshots/00000000000000000002.snap");
      await store.delete("snapshots/never-written");
    });

    test("traversal and odd keys are refused before any I/O", async () => {
      for (const key of ["../x", "/abs", "a//b", "a/../b", "", "a b"]) {
        await assert.rejects(store.put(key, Buffer.from("x")), /invalid blob key/);
        await assert.rejects(store.get(key, 10), /invalid blob key/);
        await assert.rejects(store.delete(key), /invalid blob key/);
      }
    });
  });
}

let dir: string;
let s3: S3Server;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "corral-blobs-"));
  s3 = await startS3Server();
  // the S3 store takes credentials the usual AWS way, from the environment
  Object.assign(process.env, s3.env);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
  await s3?.stop();
});

contract("filesystem blob store", async () => openBlobStore(`file://${dir}`));
contract("S3 blob store (MinIO)", async () =>
  openBlobStore(`s3://${s3.bucket}/corral/test`, { endpoint: s3.endpoint, region: "us-east-1" }),
);

test("filesystem writes leave no temp files behind", async () => {
  const names = await readdir(join(dir, "snapshots"));
  assert.deepEqual(
    names.filter((n) => n.endsWith(".tmp")),
    [],
  );
});
