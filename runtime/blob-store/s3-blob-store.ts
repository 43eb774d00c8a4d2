/**
 * S3 blob store (`s3://bucket/prefix`) through @aws-sdk/client-s3, for AWS or any
 * S3-compatible server (CORRAL_S3_ENDPOINT). Checksums are computed only when the
 * operation requires them: the SDK's newer defaults add CRC trailers that some
 * S3-compatible servers store or reject, and we verify our own SHA-256 anyway.
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { assertValidKey, BlobNotFoundError, BlobTooLargeError, type BlobStore } from "./blob-store.ts";

export interface S3BlobStoreOptions {
  bucket: string;
  prefix?: string;
  endpoint?: string;
  region?: string;
  forcePathStyle?: boolean;
  client?: S3Client;
}

export class S3BlobStore implements BlobStore {
  readonly location: string;
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;

  constructor(opts: S3BlobStoreOptions) {
    this.bucket = opts.bucket;
    this.prefix = (opts.prefix ?? "").replace(/\/+$/, "");
    this.location = `s3://${this.bucket}/${this.prefix}`;
    this.client =
      opts.client ??
      new S3Client({
        endpoint: opts.endpoint,
        region: opts.region ?? process.env.AWS_REGION ?? "us-east-1",
        forcePathStyle: opts.forcePathStyle ?? Boolean(opts.endpoint),
        requestChecksumCalculation: "WHEN_REQUIRED",
        responseChecksumValidation: "WHEN_REQUIRED",
        maxAttempts: 2,
      });
  }

  private objectKey(key: string): string {
    assertValidKey(key);
    return this.prefix ? `${this.prefix}/${key}` : key;
  }

  async put(key: string, bytes: Uint8Array): Promise<void> {
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: this.objectKey(key),
        Body: bytes,
        ContentLength: bytes.length,
        ContentType: "application/octet-stream",
      }),
    );
  }

  async get(key: string, maxBytes: number): Promise<Buffer> {
    try {
      const res = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }),
      );
      const size = res.ContentLength ?? 0;
      if (size > maxBytes) {
        res.Body?.transformToWebStream().cancel();
        throw new BlobTooLargeError(key, size, maxBytes);
      }
      const bytes = Buffer.from((await res.Body?.transformToByteArray()) ?? []);
      if (bytes.length > maxBytes) throw new BlobTooLargeError(key, bytes.length, maxBytes);
      return bytes;
    } catch (err) {
      if (err instanceof NoSuchKey || (err as { name?: string }).name === "NoSuchKey")
        throw new BlobNotFoundError(key);
      throw err;
    }
  }

  /** S3 answers 204 for an absent key too. */
  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}
