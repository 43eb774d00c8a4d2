-- Placement and limits (DESIGN §4, §5): slots operators declare, fleet-wide admission
-- settings, per-tenant limiter shadow mode and kill switch, route buckets, and bounds on
-- every limit. Bounds on existing tenant rows are NOT VALID: they hold for every new or
-- changed row without failing on rows written under the older, looser API bounds.

-- Slots declared by an operator: part of the fleet even before a node connects.
-- Names and zones follow the same rule as a node's Hello.
CREATE TABLE slots (
  name         text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$'),
  zone         text NOT NULL CHECK (zone ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$'),
  http_url     text NOT NULL DEFAULT '' CHECK (length(http_url) <= 2048),
  grpc_address text NOT NULL DEFAULT '' CHECK (length(grpc_address) <= 512),
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now()
);

-- Fleet-wide settings, one JSON document per name (e.g. 'admission').
CREATE TABLE settings (
  name       text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_-]{0,62}$'),
  value      jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE plans
  ADD CONSTRAINT plans_rate_bound CHECK (rate <= 1e6),
  ADD CONSTRAINT plans_burst_bound CHECK (burst <= 1e7),
  ADD CONSTRAINT plans_burst_covers_rate CHECK (rate = 0 OR burst >= 1),
  ADD CONSTRAINT plans_concurrency_bound CHECK (concurrency <= 100000),
  ADD CONSTRAINT plans_shard_size_bound CHECK (shard_size <= 64);

-- NULL = not overridden (false)
ALTER TABLE tenants
  ADD COLUMN limits_shadow boolean,
  ADD COLUMN limits_disabled boolean;
ALTER TABLE tenants
  ADD CONSTRAINT tenants_rate_bound CHECK (rate <= 1e6) NOT VALID,
  ADD CONSTRAINT tenants_burst_bound CHECK (burst <= 1e7) NOT VALID,
  ADD CONSTRAINT tenants_concurrency_bound CHECK (concurrency <= 100000) NOT VALID,
  ADD CONSTRAINT tenants_shard_size_bound CHECK (shard_size <= 64) NOT VALID;

-- Route bucket: both set or both NULL (no route bucket).
ALTER TABLE routes
  ADD COLUMN rate double precision CHECK (rate > 0 AND rate <= 1e6),
  ADD COLUMN burst double precision CHECK (burst >= 1 AND burst <= 1e7),
  ADD CONSTRAINT routes_bucket_complete CHECK ((rate IS NULL) = (burst IS NULL));
