-- Per-tenant resource quotas (issue 8 item 3: one tenant must never freeze the fleet).
--
-- Every plan bounds what a tenant on it may hold: routes, upstreams, live (non-revoked) keys,
-- targets summed over its upstreams, and the bytes of its compiled snapshot fragment (the
-- protobuf Tenant message). A tenant may override each; NULL = the plan's value. Tenants
-- cannot change their own quotas (only the admin API writes these columns).
--
-- tenants.config_bytes: the tenant's compiled fragment size as of its last change, written in
-- that change's transaction. The sum over all tenants (plus a fleet reserve) is checked against
-- the uncompressed payload bound before a growing change commits. 0 = not measured yet (rows
-- older than this migration): the control plane measures those at start.
ALTER TABLE plans
  ADD COLUMN max_routes       integer NOT NULL DEFAULT 100     CHECK (max_routes BETWEEN 0 AND 1000000),
  ADD COLUMN max_upstreams    integer NOT NULL DEFAULT 100     CHECK (max_upstreams BETWEEN 0 AND 1000000),
  ADD COLUMN max_keys         integer NOT NULL DEFAULT 50      CHECK (max_keys BETWEEN 0 AND 1000000),
  ADD COLUMN max_targets      integer NOT NULL DEFAULT 500     CHECK (max_targets BETWEEN 0 AND 10000000),
  ADD COLUMN max_config_bytes integer NOT NULL DEFAULT 262144  CHECK (max_config_bytes BETWEEN 0 AND 1073741824);

UPDATE plans SET max_routes = 20, max_upstreams = 20, max_keys = 10, max_targets = 100,
                 max_config_bytes = 65536 WHERE name = 'free';
UPDATE plans SET max_routes = 2000, max_upstreams = 2000, max_keys = 500, max_targets = 10000,
                 max_config_bytes = 1048576 WHERE name = 'enterprise';

ALTER TABLE tenants
  ADD COLUMN max_routes       integer CHECK (max_routes BETWEEN 0 AND 1000000),
  ADD COLUMN max_upstreams    integer CHECK (max_upstreams BETWEEN 0 AND 1000000),
  ADD COLUMN max_keys         integer CHECK (max_keys BETWEEN 0 AND 1000000),
  ADD COLUMN max_targets      integer CHECK (max_targets BETWEEN 0 AND 10000000),
  ADD COLUMN max_config_bytes integer CHECK (max_config_bytes BETWEEN 0 AND 1073741824),
  ADD COLUMN config_bytes     integer NOT NULL DEFAULT 0 CHECK (config_bytes >= 0);
