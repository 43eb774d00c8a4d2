/**
 * Who may publish, under which fencing epoch (docs/design.md §3.2). The publisher asks the lease
 * before every version, and records each version row only under the fence the lease gives
 * for that epoch (store/config-versions.ts: the row is inserted in the same statement that
 * checks, with the lease row locked, that the epoch is still the holder's and unexpired).
 *
 * PostgresLease (postgres-lease.ts) is the one CP replicas use. SingleReplicaLease is the
 * trivial one (always the holder, no fence) for a control plane that is known to be alone.
 */
export interface LeaseFence {
  /** publisher_lease.name */
  name: string;
  holder: string;
  epoch: number;
}

export interface LeaseEvents {
  /** this replica won a new epoch (`first`: the first time since it started) */
  acquired(epoch: number, first: boolean): void;
  /** the database says another replica holds the lease, or ours expired there */
  lost(epoch: number): void;
}

export interface PublisherLease {
  /** the epoch to publish under now, or undefined when this replica must not publish */
  currentEpoch(): number | undefined;
  /** the condition a version row recorded under `epoch` must meet; undefined: none */
  fence(epoch: number): LeaseFence | undefined;
  /** the lease's epoch as last seen, whoever holds it (metrics) */
  readonly observedEpoch?: number;
  /** takes the lease if it can (resolves after the first attempt) and keeps it */
  start?(events: LeaseEvents): Promise<void>;
  /** stops renewing and gives the lease up */
  close?(): Promise<void>;
}

export class SingleReplicaLease implements PublisherLease {
  readonly epoch: number;

  constructor(epoch = 1) {
    this.epoch = epoch;
  }

  get observedEpoch(): number {
    return this.epoch;
  }

  currentEpoch(): number {
    return this.epoch;
  }

  fence(): undefined {
    return undefined;
  }

  async start(events: LeaseEvents): Promise<void> {
    events.acquired(this.epoch, true);
  }
}
