-- An upstream's traffic policy (issue 13): per-target weights, an opt-in active health check
-- and the passive outlier ejection settings. The APIs validate every field against the bounds
-- in proto/upstream-policy.ts and fill the defaults; the checks here keep the stored shape
-- sane whatever wrote it.
ALTER TABLE upstreams
  -- one weight (1-100) per target, in the targets' order; NULL = all targets equal
  ADD COLUMN weights integer[]
    CHECK (weights IS NULL OR (cardinality(weights) = cardinality(targets)
                               AND 1 <= ALL (weights) AND 100 >= ALL (weights))),
  -- {protocol, path, service, intervalMs, timeoutMs, healthyThreshold, unhealthyThreshold}; NULL = none
  ADD COLUMN health_check jsonb CHECK (health_check IS NULL OR jsonb_typeof(health_check) = 'object'),
  -- {consecutiveFailures, baseEjectionMs, maxEjectionMs, maxEjectedPercent, slowStartMs}; NULL = the defaults
  ADD COLUMN outlier jsonb CHECK (outlier IS NULL OR jsonb_typeof(outlier) = 'object');
