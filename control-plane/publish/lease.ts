/**
 * Who may publish, under which fencing epoch (DESIGN §3.2). The publisher asks the lease
 * before every version and lets it check the epoch inside the version transaction.
 *
 * SingleReplicaLease is the trivial implementation for one CP replica: always the holder,
 * epoch 1. The Postgres lease (publisher_lease row, conditional UPDATE on the database
 * clock, epoch bumped on takeover) replaces it without changing the publisher.
 */
import type { Queryable } from "../store/db.ts";

export interface PublisherLease {
  /** the epoch to publish under now, or undefined when this replica must not publish */
  currentEpoch(): number | undefined;
  /** inside the version transaction: throws when `epoch` is no longer the lease's epoch */
  fence(tx: Queryable, epoch: number): Promise<void>;
  close?(): Promise<void>;
}

export class SingleReplicaLease implements PublisherLease {
  readonly epoch: number;

  constructor(epoch = 1) {
    this.epoch = epoch;
  }

  currentEpoch(): number {
    return this.epoch;
  }

  async fence(): Promise<void> {}
}
