-- Egress policy (DESIGN §7.1): a tenant's own egress exceptions, added to the fleet-wide ones
-- (settings row 'egress'). Entries are CIDR, host or host:port in canonical form
-- (proto/egress-policy.ts); only operators set them, through the admin API.
ALTER TABLE tenants
  ADD COLUMN egress_allow text[] NOT NULL DEFAULT '{}'
    CHECK (cardinality(egress_allow) <= 64);
