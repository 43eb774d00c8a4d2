/** Opens the blob store a CORRAL_BLOB_URL names: file:///dir or s3://bucket/prefix. */
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { BlobStore } from "./blob-store.ts";
import { FsBlobStore } from "./fs-blob-store.ts";

export interface S3Settings {
  endpoint?: string;
  region?: string;
  forcePathStyle?: boolean;
}

export async function openBlobStore(url: string, s3: S3Settings = {}): Promise<BlobStore> {
  if (url.startsWith("file://")) return new FsBlobStore(fileURLToPath(url));
  if (url.startsWith("s3://")) {
    const { S3BlobStore } = await import("./s3-blob-store.ts");
    const parsed = new URL(url);
    return new S3BlobStore({ bucket: parsed.hostname, prefix: parsed.pathname.replace(/^\/+/, ""), ...s3 });
  }
  if (!url.includes("://")) return new FsBlobStore(resolve(url));
  throw new Error(`unsupported blob store URL ${url}: use file:///dir or s3://bucket/prefix`);
}
