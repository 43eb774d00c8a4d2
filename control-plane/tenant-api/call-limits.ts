/**
 * A call's deadline and cancellation, as the service layer sees them: nothing starts once the
 * deadline has passed or the caller went away, every statement of a change is bounded by the time
 * left (Postgres statement_timeout), and the change is rolled back when either happens before it
 * commits. A call may still commit in the instant after the last check: a retry with the same
 * client token then gets the stored response.
 */
import { CorralError } from "../errors.ts";
import { type Queryable, sqlState } from "../store/db.ts";

export interface CallLimits {
  /** epoch ms by which the call must be done; undefined: no deadline */
  deadline?: number;
  /** aborted when the caller cancels */
  signal?: AbortSignal;
}

const QUERY_CANCELED = "57014";

export class CallDeadline {
  readonly #limits: CallLimits;
  readonly #now: () => number;

  constructor(limits: CallLimits = {}, now: () => number = Date.now) {
    this.#limits = limits;
    this.#now = now;
  }

  /** ms left, at least 1; undefined without a deadline */
  remainingMs(): number | undefined {
    const { deadline } = this.#limits;
    return deadline === undefined ? undefined : Math.max(1, Math.floor(deadline - this.#now()));
  }

  /** Throws CORRAL_TENANT_DEADLINE_EXCEEDED once the caller went away or the deadline passed. */
  check(): void {
    if (this.#limits.signal?.aborted) {
      throw new CorralError("CORRAL_TENANT_DEADLINE_EXCEEDED", "the call was cancelled; nothing was changed");
    }
    const { deadline } = this.#limits;
    if (deadline !== undefined && this.#now() >= deadline) {
      throw new CorralError("CORRAL_TENANT_DEADLINE_EXCEEDED", "the deadline passed; nothing was changed");
    }
  }

  /** Bounds every later statement of the transaction by the time left. */
  async limitStatements(tx: Queryable): Promise<void> {
    const ms = this.remainingMs();
    if (ms !== undefined) await tx.query("SELECT set_config('statement_timeout', $1, true)", [String(ms)]);
  }

  /** A statement cancelled by the timeout set above, as the deadline error. */
  translate(err: unknown): unknown {
    if (this.#limits.deadline !== undefined && sqlState(err) === QUERY_CANCELED) {
      return new CorralError("CORRAL_TENANT_DEADLINE_EXCEEDED", "the deadline passed; nothing was changed");
    }
    return err;
  }
}
