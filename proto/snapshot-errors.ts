import { CodedError } from "./coded-error.ts";

/** Why a snapshot blob was refused. `code` is stable: it travels in Nacks and metrics. */
export type SnapshotErrorCode =
  | "CORRAL_SNAPSHOT_TRUNCATED"
  | "CORRAL_SNAPSHOT_BAD_MAGIC"
  | "CORRAL_SNAPSHOT_BAD_FORMAT"
  | "CORRAL_SNAPSHOT_SIZE_MISMATCH"
  | "CORRAL_SNAPSHOT_OVERSIZED"
  | "CORRAL_SNAPSHOT_DIGEST_MISMATCH"
  | "CORRAL_SNAPSHOT_BAD_SIGNATURE"
  | "CORRAL_SNAPSHOT_CAPACITY_EXCEEDED"
  | "CORRAL_SNAPSHOT_DECODE"
  | "CORRAL_SNAPSHOT_HEADER_MISMATCH"
  | "CORRAL_SNAPSHOT_BAD_PADDING";

export class SnapshotError extends CodedError<SnapshotErrorCode> {}
