-- Which tenants changed since a compile (issue 14 item 5: propagation at 100,000 tenants).
--
-- Every insert, update or delete of a tenants row (and so, through migration 0009's triggers,
-- of any of its keys, routes or upstreams) records the tenant's id with the id of the writing
-- transaction. A publisher remembers the snapshot (pg_current_snapshot()) its last compile read
-- under; the tenants changed since are the rows whose transaction that snapshot did not see:
--   xid >= pg_snapshot_xmin(position) AND NOT pg_visible_in_snapshot(xid, position)
-- (every transaction below the snapshot's xmin had finished when it was taken). Transaction
-- ids, unlike sequence values, tell what a snapshot saw whatever order transactions commit in.
--
-- Rows a compile no longer needs are pruned below a horizon (never lowered); a position whose
-- xmin is below the horizon cannot be answered from the log and the compiler scans every
-- tenant's revision instead (as it also does periodically and after taking the lease).
CREATE TABLE tenant_changes (
  xid       xid8 NOT NULL,
  tenant_id text NOT NULL,
  PRIMARY KEY (xid, tenant_id)
);

CREATE TABLE tenant_changes_horizon (
  one     boolean PRIMARY KEY DEFAULT true CHECK (one),
  horizon xid8 NOT NULL
);
INSERT INTO tenant_changes_horizon (horizon) VALUES (pg_current_xact_id());

CREATE FUNCTION tenants_record_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN
    INSERT INTO tenant_changes (xid, tenant_id) VALUES (pg_current_xact_id(), OLD.id)
      ON CONFLICT DO NOTHING;
  END IF;
  IF TG_OP <> 'DELETE' AND (TG_OP = 'INSERT' OR NEW.id IS DISTINCT FROM OLD.id) THEN
    INSERT INTO tenant_changes (xid, tenant_id) VALUES (pg_current_xact_id(), NEW.id)
      ON CONFLICT DO NOTHING;
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER tenants_record_change AFTER INSERT OR UPDATE OR DELETE ON tenants
  FOR EACH ROW EXECUTE FUNCTION tenants_record_change();
