/**
 * Makers of prom-client metrics that register in one registry, so a process's metric list
 * reads one line a metric: name, help, labels (and buckets for a histogram). Label names
 * are kept as a type, so `inc({ ... })` is checked against them.
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

/** Buckets for the time to serve a request or call (seconds): 1 ms to 5 s. */
export const REQUEST_SECONDS_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export interface MetricMakers {
  counter<L extends string = never>(name: string, help: string, labelNames?: readonly L[]): Counter<L>;
  /** `collect` runs on every scrape to set the value */
  gauge(name: string, help: string, collect?: (gauge: Gauge) => void): Gauge;
  histogram<L extends string = never>(
    name: string,
    help: string,
    buckets: number[],
    labelNames?: readonly L[],
  ): Histogram<L>;
}

export function metricMakers(registry: Registry): MetricMakers {
  const registers = [registry];
  return {
    counter: (name, help, labelNames = []) => new Counter({ name, help, labelNames, registers }),
    gauge: (name, help, collect) =>
      new Gauge({
        name,
        help,
        registers,
        collect: collect
          ? function (this: Gauge) {
              collect(this);
            }
          : undefined,
      }),
    histogram: (name, help, buckets, labelNames = []) =>
      new Histogram({ name, help, buckets, labelNames, registers }),
  };
}
