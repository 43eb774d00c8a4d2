-- Corral control plane: initial schema. Every tenant-owned table carries tenant_id and
-- is only ever queried with it; cross-tenant references are impossible by construction
-- (composite foreign keys on (tenant_id, id)).

CREATE TABLE plans (
  name        text PRIMARY KEY CHECK (name ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
  rate        double precision NOT NULL CHECK (rate >= 0),
  burst       double precision NOT NULL CHECK (burst >= 0),
  concurrency integer NOT NULL CHECK (concurrency >= 0),
  priority    text NOT NULL CHECK (priority IN ('batch', 'standard', 'critical')),
  shard_size  integer NOT NULL CHECK (shard_size >= 1)
);

INSERT INTO plans (name, rate, burst, concurrency, priority, shard_size) VALUES
  ('free',        10,   20,   10,   'batch',    2),
  ('standard',    100,  200,  100,  'standard', 3),
  ('enterprise',  1000, 2000, 1000, 'critical', 5);

CREATE TABLE tenants (
  id          text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  plan        text NOT NULL REFERENCES plans (name),
  status      text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
  -- per-tenant overrides of the plan's limits; NULL = use the plan's value
  rate        double precision CHECK (rate >= 0),
  burst       double precision CHECK (burst >= 0),
  concurrency integer CHECK (concurrency >= 0),
  priority    text CHECK (priority IN ('batch', 'standard', 'critical')),
  shard_size  integer CHECK (shard_size >= 1),
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
  id          text PRIMARY KEY,
  tenant_id   text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  name        text NOT NULL DEFAULT '',
  hash        bytea NOT NULL UNIQUE CHECK (length(hash) = 32),
  scopes      text[] NOT NULL CHECK (scopes <@ ARRAY['invoke', 'manage']::text[]),
  created_at  timestamptz NOT NULL DEFAULT now(),
  revoked_at  timestamptz
);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id, created_at);

CREATE TABLE upstreams (
  id                 text PRIMARY KEY,
  tenant_id          text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  name               text NOT NULL,
  targets            text[] NOT NULL CHECK (cardinality(targets) >= 1),
  connect_timeout_ms integer NOT NULL CHECK (connect_timeout_ms > 0),
  created_at         timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, id),
  UNIQUE (tenant_id, name)
);

CREATE TABLE routes (
  id           text PRIMARY KEY,
  tenant_id    text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  path_prefix  text NOT NULL CHECK (path_prefix LIKE '/%'),
  hosts        text[] NOT NULL DEFAULT '{}',
  methods      text[] NOT NULL DEFAULT '{}',
  upstream_id  text NOT NULL,
  timeout_ms   integer NOT NULL CHECK (timeout_ms > 0),
  protocol     text NOT NULL DEFAULT 'http' CHECK (protocol IN ('http', 'grpc')),
  strip_prefix boolean NOT NULL DEFAULT false,
  created_at   timestamptz NOT NULL DEFAULT now(),
  -- the upstream must belong to the same tenant, and cannot go while a route uses it
  FOREIGN KEY (tenant_id, upstream_id) REFERENCES upstreams (tenant_id, id) ON DELETE RESTRICT
);
CREATE INDEX routes_tenant ON routes (tenant_id, created_at);
CREATE INDEX routes_upstream ON routes (tenant_id, upstream_id);

CREATE SEQUENCE config_version_seq AS bigint START 1;

CREATE TABLE config_versions (
  version        bigint PRIMARY KEY,
  epoch          bigint NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  sha256         text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  blob_key       text NOT NULL,
  size_bytes     integer NOT NULL,      -- header + compressed payload (the blob itself is capacity bytes)
  capacity_bytes integer NOT NULL,
  tenants        integer NOT NULL,
  source         text NOT NULL,         -- why it was published: change, startup, rollback, ...
  publisher      text NOT NULL          -- CP replica id
);

-- What each node reported for each version (Ack or Nack): the fleet's propagation record.
CREATE TABLE version_reports (
  version     bigint NOT NULL REFERENCES config_versions (version) ON DELETE CASCADE,
  slot        text NOT NULL,
  ok          boolean NOT NULL,
  error       text,
  latency_ms  integer,
  reported_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (version, slot)
);

CREATE TABLE operator_tokens (
  id          text PRIMARY KEY,
  name        text NOT NULL UNIQUE,
  hash        bytea NOT NULL UNIQUE CHECK (length(hash) = 32),
  role        text NOT NULL CHECK (role IN ('admin', 'viewer')),
  created_at  timestamptz NOT NULL DEFAULT now(),
  revoked_at  timestamptz
);

CREATE TABLE idempotency_keys (
  scope           text NOT NULL,
  key             text NOT NULL,
  request_hash    bytea NOT NULL,
  response_status integer NOT NULL,
  response_body   jsonb,
  created_at      timestamptz NOT NULL DEFAULT now(),
  expires_at      timestamptz NOT NULL,
  PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);

CREATE TABLE nodes (
  slot            text PRIMARY KEY,
  zone            text NOT NULL,
  node_id         text NOT NULL,
  http_url        text NOT NULL DEFAULT '',
  grpc_address    text NOT NULL DEFAULT '',
  build           text NOT NULL DEFAULT '',
  applied_version bigint NOT NULL DEFAULT 0,
  last_seen       timestamptz NOT NULL DEFAULT now(),
  last_error      text,
  status          jsonb,                -- last Status frame
  connected_cp    text,                 -- CP replica holding its sync connection, NULL when none
  connection_id   text,
  first_seen      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE publisher_lease (
  name       text PRIMARY KEY,
  holder     text,
  epoch      bigint NOT NULL DEFAULT 0,
  expires_at timestamptz NOT NULL DEFAULT '-infinity'
);
INSERT INTO publisher_lease (name) VALUES ('publisher');
