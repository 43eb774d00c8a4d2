/**
 * The CPU-heavy half of the apply path, run in the snapshot worker (or inline in tests):
 * verify size, magic, format, digest and signature (proto/snapshot-codec.ts), the announced
 * whole-blob SHA-256, the version against the served one; then inflate, decode, validate, and
 * build the flat indexes. Pure.
 */
import type { KeyObject } from "node:crypto";
import { gunzipSync } from "node:zlib";
import { Snapshot } from "../../proto/gen/corral/snapshot/v1/snapshot.ts";
import {
  MAX_DECODED_BYTES,
  type SnapshotHeader,
  sha256Hex,
  verifySnapshot,
} from "../../proto/snapshot-codec.ts";
import { SnapshotError } from "../../proto/snapshot-errors.ts";
import { ConfigApplyError } from "../errors.ts";
import { buildSnapshotIndex, type SnapshotIndex } from "./snapshot-index.ts";
import { validateSnapshot } from "./validate-snapshot.ts";
import { decideVersion, type ServedVersion } from "./version-policy.ts";

export interface LoadRequest {
  blob: Uint8Array;
  maxCapacity: number;
  /** hex SHA-256 of the whole blob, when an Announce or LATEST named one */
  expectedSha256?: string;
  served?: ServedVersion;
}

export interface BlobHeaderInfo {
  version: number;
  epoch: number;
  createdAtMs: number;
  digestHex: string;
}

export type LoadResult =
  | { outcome: "same"; header: BlobHeaderInfo }
  | { outcome: "new"; header: BlobHeaderInfo; index: SnapshotIndex };

const FLAG_GZIP = 1;

/**
 * The codec's decodePayload, keeping the inflated bytes (the index points into them). Same
 * checks, same error codes.
 */
function inflateAndDecode(header: SnapshotHeader, payload: Buffer): { raw: Buffer; snapshot: Snapshot } {
  let raw: Buffer;
  let snapshot: Snapshot;
  try {
    raw =
      header.flags & FLAG_GZIP
        ? gunzipSync(payload, { maxOutputLength: MAX_DECODED_BYTES })
        : Buffer.from(payload);
    snapshot = Snapshot.decode(raw);
  } catch (err) {
    throw new SnapshotError("CORRAL_SNAPSHOT_DECODE", `payload does not decode: ${(err as Error).message}`);
  }
  if (snapshot.version !== header.version || snapshot.epoch !== header.epoch)
    throw new SnapshotError(
      "CORRAL_SNAPSHOT_HEADER_MISMATCH",
      "header and payload disagree on version or epoch",
    );
  return { raw, snapshot };
}

function checkVersion(req: LoadRequest, info: BlobHeaderInfo): "apply" | "same" {
  const decision = decideVersion(req.served, info);
  if (decision === "regression") {
    throw new ConfigApplyError(
      "CORRAL_DP_CONFIG_VERSION_REGRESSION",
      `blob has version ${info.version}, this node serves ${req.served?.version}`,
    );
  }
  if (decision === "conflict") {
    throw new ConfigApplyError(
      "CORRAL_DP_CONFIG_VERSION_CONFLICT",
      `blob has version ${info.version} with content different from the served one`,
    );
  }
  return decision;
}

export function loadBlob(req: LoadRequest, publicKey: KeyObject): LoadResult {
  const { header, payload } = verifySnapshot(req.blob, publicKey, req.maxCapacity);
  if (req.expectedSha256 !== undefined && sha256Hex(req.blob) !== req.expectedSha256) {
    throw new ConfigApplyError(
      "CORRAL_DP_CONFIG_SHA_MISMATCH",
      `blob of version ${header.version} does not have the announced sha256`,
    );
  }
  const info: BlobHeaderInfo = {
    version: header.version,
    epoch: header.epoch,
    createdAtMs: header.createdAtMs,
    digestHex: header.digest.toString("hex"),
  };
  if (checkVersion(req, info) === "same") return { outcome: "same", header: info };
  const { raw, snapshot } = inflateAndDecode(header, payload);
  validateSnapshot(snapshot);
  const meta = {
    ...info,
    slots: snapshot.slots,
    settings: snapshot.settings,
    tenantCount: snapshot.tenants.length,
  };
  return { outcome: "new", header: info, index: buildSnapshotIndex(meta, raw, snapshot) };
}
