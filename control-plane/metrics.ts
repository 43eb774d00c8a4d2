/** The control plane's Prometheus metrics: one registry per CP, `corral_` prefix, bounded labels. */
import { collectDefaultMetrics, Registry } from "prom-client";
import { metricMakers, REQUEST_SECONDS_BUCKETS } from "../runtime/metric-makers.ts";
import { registerArrayBuffersGauge } from "../runtime/memory-metrics.ts";

// biome-ignore format: one metric a line (name, help, labels or buckets)
export class ControlPlaneMetrics {
  readonly registry = new Registry();
  readonly #m = metricMakers(this.registry);

  readonly httpRequests = this.#m.counter("corral_http_requests_total", "HTTP requests served, by method, route pattern and status", ["method", "route", "status"]);
  readonly httpDuration = this.#m.histogram("corral_http_request_duration_seconds", "HTTP request duration by method and route pattern", REQUEST_SECONDS_BUCKETS, ["method", "route"]);
  readonly snapshotUsage = this.#m.gauge("corral_snapshot_usage_ratio", "Used bytes of the last compiled snapshot divided by the capacity (refused above 1)");
  readonly snapshotBytes = this.#m.gauge("corral_snapshot_used_bytes", "Header plus compressed payload bytes of the last compiled snapshot");
  readonly snapshotPayloadBytes = this.#m.gauge("corral_snapshot_bytes", "Compressed payload bytes of the last compiled snapshot (the blob is always the capacity)");
  readonly compileDuration = this.#m.histogram("corral_snapshot_compile_seconds", "Time to read the configuration and compile it into a snapshot (or load a rolled-back one)", [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);
  /** set by the publisher lease: whether this replica may publish now, and the epoch it last saw */
  leadership: () => { leader: boolean; epoch: number } = () => ({ leader: false, epoch: 0 });
  readonly publisherIsLeader = this.#m.gauge("corral_publisher_is_leader", "1 while this replica holds the publisher lease and may publish, else 0", (g) => g.set(this.leadership().leader ? 1 : 0));
  readonly publisherEpoch = this.#m.gauge("corral_publisher_epoch", "Epoch (fencing token) of the publisher lease as this replica last saw it", (g) => g.set(this.leadership().epoch));
  readonly latestRewrites = this.#m.counter("corral_latest_rewrites_total", "Periodic rewrites of snapshots/LATEST by the lease holder, by result", ["result"]);
  readonly configVersion = this.#m.gauge("corral_config_version", "Newest config version this replica knows of");
  readonly publishes = this.#m.counter("corral_publish_total", "Publish attempts by result", ["result"]);
  readonly snapshotDeletes = this.#m.counter("corral_snapshot_deletes_total", "Snapshot blobs outside the retention window deleted from the blob store, by result", ["result"]);
  readonly publishDuration = this.#m.histogram("corral_publish_duration_seconds", "Time to load, compile, encode, store and point LATEST at a version", [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]);
  readonly propagation = this.#m.histogram("corral_config_propagation_seconds", "Time from publishing a version to a node's Ack of it", [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60]);
  readonly syncConnections = this.#m.gauge("corral_sync_connections", "Open /sync/v1 connections from data-plane nodes");
  readonly syncFrames = this.#m.counter("corral_sync_frames_total", "Sync frames by direction and type", ["direction", "type"]);
  readonly syncRejected = this.#m.counter("corral_sync_rejected_total", "Sync connections refused or closed for a protocol reason, by error code", ["code"]);
  readonly syncWrites = this.#m.counter("corral_sync_node_writes_total", "Database writes of node state from sync frames, by kind (after coalescing)", ["kind"]);
  readonly syncCoalesced = this.#m.counter("corral_sync_coalesced_total", "Node frames whose database write a newer frame of the same kind replaced before it ran", ["kind"]);
  readonly nodeReports = this.#m.counter("corral_node_reports_total", "Acks and Nacks received from nodes", ["result"]);
  readonly usageEntries = this.#m.counter("corral_usage_entries_total", "Usage entries nodes reported, by result: written, or refused (bad_id, bad_outcome, bad_hour, bad_count, not_member: the node does not serve the tenant, dropped: rollup full or write failed)", ["result"]);

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    if (opts.defaultMetrics ?? true) {
      collectDefaultMetrics({ register: this.registry, prefix: "corral_" });
      registerArrayBuffersGauge(this.registry, "corral_");
    }
  }
}
