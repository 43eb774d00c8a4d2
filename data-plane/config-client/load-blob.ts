/**
 * The CPU-heavy half of the apply path, run in the snapshot worker (or inline in tests):
 * verify size, magic, format, digest and signature (proto/snapshot-codec.ts), the announced
 * whole-blob SHA-256, the version against the served one; then inflate, decode, validate, and
 * build the flat indexes. Pure.
 */
import type { KeyObject } from "node:crypto";
import { inflateAndDecode, sha256Hex, verifySnapshot } from "../../proto/snapshot-codec.ts";
import { ConfigApplyError } from "../errors.ts";
import type { SnapshotIndex } from "../model/snapshot-index.ts";
import { buildSnapshotIndex } from "./snapshot-index.ts";
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
