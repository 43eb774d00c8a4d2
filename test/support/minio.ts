/**
 * A private S3-compatible server (MinIO) on a free loopback port, or the one named by
 * CORRAL_TEST_S3_ENDPOINT (with AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY).
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { findBinary } from "./binaries.ts";
import { startChild } from "./child.ts";
import { freePort } from "./ports.ts";
import { waitForPort } from "./ports.ts";

export interface S3Server {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** a fresh bucket for this test file */
  bucket: string;
  client: S3Client;
  /** env for a CORRAL process using this server */
  env: Record<string, string>;
  pid?: number;
  stop(): Promise<void>;
}

function clientFor(endpoint: string, accessKeyId: string, secretAccessKey: string): S3Client {
  return new S3Client({
    endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId, secretAccessKey },
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
}

async function withBucket(
  endpoint: string,
  accessKeyId: string,
  secretAccessKey: string,
  stop: () => Promise<void>,
  pid?: number,
): Promise<S3Server> {
  const bucket = `corral-test-${randomBytes(4).toString("hex")}`;
  const client = clientFor(endpoint, accessKeyId, secretAccessKey);
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  const env = {
    CORRAL_S3_ENDPOINT: endpoint,
    AWS_ACCESS_KEY_ID: accessKeyId,
    AWS_SECRET_ACCESS_KEY: secretAccessKey,
    AWS_REGION: "us-east-1",
  };
  return { endpoint, accessKeyId, secretAccessKey, bucket, client, env, pid, stop };
}

export async function startS3Server(): Promise<S3Server> {
  const given = process.env.CORRAL_TEST_S3_ENDPOINT;
  if (given) {
    const id = process.env.AWS_ACCESS_KEY_ID ?? "";
    const secret = process.env.AWS_SECRET_ACCESS_KEY ?? "";
    return withBucket(given, id, secret, async () => {});
  }
  const dir = await mkdtemp(join(tmpdir(), "corral-minio-"));
  const port = await freePort();
  const consolePort = await freePort();
  const accessKeyId = "corraltest";
  const secretAccessKey = randomBytes(16).toString("hex");
  const child = startChild(
    findBinary("minio"),
    [
      "server",
      "--quiet",
      "--address",
      `127.0.0.1:${port}`,
      "--console-address",
      `127.0.0.1:${consolePort}`,
      dir,
    ],
    {
      env: {
        ...process.env,
        MINIO_ROOT_USER: accessKeyId,
        MINIO_ROOT_PASSWORD: secretAccessKey,
        MINIO_BROWSER: "off",
      },
    },
  );
  const stop = async () => {
    await child.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitForPort(port, 20_000);
    const endpoint = `http://127.0.0.1:${port}`;
    return await retry(() => withBucket(endpoint, accessKeyId, secretAccessKey, stop, child.proc.pid), 40);
  } catch (err) {
    await stop();
    throw new Error(`minio did not start: ${(err as Error).message}\n${child.output()}`);
  }
}

async function retry<T>(fn: () => Promise<T>, attempts: number): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= attempts) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}
