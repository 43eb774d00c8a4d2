-- Usage plans (issue 10): a period quota per plan, per tenant (override) and per API key, and
-- the hourly usage the control plane rolls up from what the nodes report.
--
-- A quota is `quota_limit` requests per calendar `quota_period` in UTC, the period's start
-- shifted by `quota_offset_ms` (runtime/quota-period.ts; the offset stays below the shortest
-- instance of the period). On a plan a NULL limit means "no quota". On a tenant,
-- quota_override = false means "the plan's quota"; true with a NULL limit means "no quota"
-- whatever the plan says. On a key a NULL limit means the key has no quota of its own.
ALTER TABLE plans
  ADD COLUMN quota_limit     bigint CHECK (quota_limit BETWEEN 1 AND 1000000000000),
  ADD COLUMN quota_period    text   CHECK (quota_period IN ('minute', 'hour', 'day', 'week', 'month')),
  ADD COLUMN quota_offset_ms bigint NOT NULL DEFAULT 0 CHECK (quota_offset_ms BETWEEN 0 AND 2419199999),
  ADD CONSTRAINT plans_quota_whole CHECK ((quota_limit IS NULL) = (quota_period IS NULL));

ALTER TABLE tenants
  ADD COLUMN quota_override  boolean NOT NULL DEFAULT false,
  ADD COLUMN quota_limit     bigint CHECK (quota_limit BETWEEN 1 AND 1000000000000),
  ADD COLUMN quota_period    text   CHECK (quota_period IN ('minute', 'hour', 'day', 'week', 'month')),
  ADD COLUMN quota_offset_ms bigint NOT NULL DEFAULT 0 CHECK (quota_offset_ms BETWEEN 0 AND 2419199999),
  ADD CONSTRAINT tenants_quota_whole CHECK ((quota_limit IS NULL) = (quota_period IS NULL)),
  ADD CONSTRAINT tenants_quota_overridden CHECK (quota_override OR quota_limit IS NULL);

ALTER TABLE api_keys
  ADD COLUMN quota_limit     bigint CHECK (quota_limit BETWEEN 1 AND 1000000000000),
  ADD COLUMN quota_period    text   CHECK (quota_period IN ('minute', 'hour', 'day', 'week', 'month')),
  ADD COLUMN quota_offset_ms bigint NOT NULL DEFAULT 0 CHECK (quota_offset_ms BETWEEN 0 AND 2419199999),
  ADD CONSTRAINT api_keys_quota_whole CHECK ((quota_limit IS NULL) = (quota_period IS NULL));

-- Requests per tenant, key, route, outcome and hour, as the nodes serving the tenant counted
-- them. key_id / route_id '' = none (a request refused before its key or route was known).
-- outcome: 'admitted' or the refusal's corral-reason. Rows are upserted (count added) by the
-- replica a node reports to; rows older than CORRAL_USAGE_RETENTION_DAYS are pruned.
CREATE TABLE usage_hourly (
  tenant_id text        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  hour      timestamptz NOT NULL CHECK (extract(epoch FROM hour) % 3600 = 0),
  key_id    text        NOT NULL DEFAULT '',
  route_id  text        NOT NULL DEFAULT '',
  outcome   text        NOT NULL,
  count     bigint      NOT NULL CHECK (count >= 0),
  PRIMARY KEY (tenant_id, hour, key_id, route_id, outcome)
);

CREATE INDEX usage_hourly_hour ON usage_hourly (hour);
