-- Per-tenant config revision (issue 14 item 5: propagation without recompiling the world).
--
-- tenants.config_rev changes whenever anything that goes into the tenant's snapshot fragment
-- may have changed: the tenant row itself, or any of its api_keys, routes or upstreams. The
-- publisher keeps each tenant's encoded fragment keyed by this revision and re-encodes only the
-- tenants whose revision differs from the one it cached. Revisions are compared for equality
-- only (never ordered), so values handed out by concurrent transactions may commit in any order.
--
-- Triggers, not the application, keep it: every write path (admin API, tenant API, SQL seeding,
-- cascades) bumps it in the writing transaction. The sequence is deliberately not owned by the
-- column, so TRUNCATE ... RESTART IDENTITY never hands out a revision a cache has already seen.
CREATE SEQUENCE tenant_config_rev_seq AS bigint START 1;

ALTER TABLE tenants ADD COLUMN config_rev bigint NOT NULL DEFAULT nextval('tenant_config_rev_seq');

CREATE FUNCTION tenants_bump_config_rev() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.config_rev := nextval('tenant_config_rev_seq');
  RETURN NEW;
END $$;

CREATE TRIGGER tenants_config_rev BEFORE UPDATE ON tenants
  FOR EACH ROW EXECUTE FUNCTION tenants_bump_config_rev();

-- A child row's tenant gets a new revision (the 0 written here is replaced by the tenants
-- trigger with the next value); a tenant deleted by the same statement (cascade)
-- matches nothing. A child moved to another tenant (never done, but possible) bumps both.
CREATE FUNCTION tenant_child_bump_config_rev() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN
    UPDATE tenants SET config_rev = 0 WHERE id = OLD.tenant_id;
  END IF;
  IF TG_OP <> 'DELETE' AND (TG_OP = 'INSERT' OR NEW.tenant_id IS DISTINCT FROM OLD.tenant_id) THEN
    UPDATE tenants SET config_rev = 0 WHERE id = NEW.tenant_id;
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER api_keys_config_rev AFTER INSERT OR UPDATE OR DELETE ON api_keys
  FOR EACH ROW EXECUTE FUNCTION tenant_child_bump_config_rev();
CREATE TRIGGER routes_config_rev AFTER INSERT OR UPDATE OR DELETE ON routes
  FOR EACH ROW EXECUTE FUNCTION tenant_child_bump_config_rev();
CREATE TRIGGER upstreams_config_rev AFTER INSERT OR UPDATE OR DELETE ON upstreams
  FOR EACH ROW EXECUTE FUNCTION tenant_child_bump_config_rev();
