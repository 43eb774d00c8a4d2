-- Retries (issue 13): per route, how many times a failed attempt may be retried and on which
-- statuses (HTTP statuses on http routes, gRPC codes on grpc routes; empty = the default);
-- per upstream, the retry budget each node keeps (retries <= percent of the requests over the
-- window + a floor per second). Bounds match the snapshot consistency check
-- (proto/snapshot-consistency.ts).
ALTER TABLE routes
  ADD COLUMN retry_attempts smallint NOT NULL DEFAULT 0 CHECK (retry_attempts BETWEEN 0 AND 10),
  ADD COLUMN retry_statuses integer[] NOT NULL DEFAULT '{}' CHECK (cardinality(retry_statuses) <= 16);

ALTER TABLE upstreams
  ADD COLUMN retry_budget_percent smallint NOT NULL DEFAULT 10
    CHECK (retry_budget_percent BETWEEN 1 AND 100),
  ADD COLUMN retry_budget_min_per_second integer NOT NULL DEFAULT 3
    CHECK (retry_budget_min_per_second BETWEEN 0 AND 1000),
  ADD COLUMN retry_budget_window_ms integer NOT NULL DEFAULT 10000
    CHECK (retry_budget_window_ms BETWEEN 1000 AND 60000);
